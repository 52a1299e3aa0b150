"""The registry is the one list of the twelve: every layer that names them agrees with it."""

import importlib
import os
import re

import pytest

import _skyutils_hook
import skyutils
from skyutils import _dispatch, _patch, _pure, _registry, bench, check, migrate
from skyutils.bench import reference

ROOT = os.path.join(os.path.dirname(__file__), '..')
HEADER = os.path.join(ROOT, 'native', 'include', 'skyutils.h')
RUST = os.path.join(ROOT, 'native', 'src')
# Exports that serve no one function: the ABI handshake, the panic self-test, the bench floors.
INFRASTRUCTURE = {
    'skyutils_abi_version',
    'skyutils_version',
    'skyutils_selftest_panic',
    'skyutils_floor_ns',
    # The workdir zip and blob id (served SkyPilot waits beyond the twelve: skyutils/skypilot/).
    'skyutils_zip_start',
    'skyutils_zip_add',
    'skyutils_zip_write',
    'skyutils_zip_results',
    'skyutils_zip_end',
    'skyutils_zip_hash',
    'skyutils_zip_extract',
}


def test_twelve_rows_with_one_reason_each():
    assert len(_registry.FUNCTIONS) == 12 == len(set(_registry.NAMES))
    for row in _registry.FUNCTIONS:
        assert (row.native is None) != (row.python is None), row.name
        assert row.domain in ('text', 'files', 'system', 'process'), row.name
        # A binding exists exactly when native may serve the function.
        assert bool(row.c_symbols) == (row.native is not None), row.name
    for implementation, reasons in _registry.PYTHON_ON.items():
        assert set(reasons) <= set(_dispatch.NATIVE_REASONS), implementation


def test_public_api_is_the_registry():
    assert [name for name in skyutils.__all__ if name in _registry.BY_NAME] == list(_registry.NAMES)
    for name in _registry.NAMES:
        assert getattr(skyutils, name) is _dispatch.serve(name), name
        assert name in _dispatch._choices


@pytest.mark.parametrize('row', _registry.FUNCTIONS, ids=lambda row: row.name)
def test_twins_are_where_the_row_says(row):
    pure = importlib.import_module(f'skyutils._pure.{row.domain}')
    assert getattr(pure, row.name) is getattr(_pure, row.name)
    if not row.c_symbols:
        return
    bindings_dir = os.path.join(os.path.dirname(skyutils.__file__), '_bindings')  # as installed
    with open(os.path.join(bindings_dir, f'{row.domain}.py'), encoding='utf-8') as f:
        binding = f.read()
    assert re.search(rf'^def {row.name}\(', binding, re.M), row.name
    # The binding's own symbol has the function's name.
    own = [symbol for symbol in row.c_symbols if symbol == f'skyutils_{row.name}']
    shared = set(row.c_symbols) - set(own)
    assert own or row.name in ('get_max_workers_for_file_mounts', 'estimate_fd_for_directory')
    bindings = ''.join(
        open(os.path.join(bindings_dir, name), encoding='utf-8').read()
        for name in os.listdir(bindings_dir)
        if name.endswith('.py')
    )
    for symbol in own:
        assert re.search(rf'\b{symbol}\b', binding), symbol
    for symbol in shared:
        assert re.search(rf'\b{symbol}\b', bindings), symbol


def _rust_exports():
    """C symbol -> the Rust source (with the doc comment above it) that defines it."""
    found = {}
    for directory, _, names in os.walk(RUST):
        for name in names:
            with open(os.path.join(directory, name), encoding='utf-8') as f:
                source = f.read()
            for match in re.finditer(
                r'((?:^\s*///.*\n|^#\[no_mangle\]\n)+)'
                r'pub (?:unsafe )?extern "C" fn (skyutils_\w+)',
                source,
                re.M,
            ):
                found[match.group(2)] = match.group(1)
    return found


@pytest.mark.skipif(not os.path.isdir(RUST), reason='native/ is not in this tree')
def test_every_export_is_found_by_the_name_of_what_it_serves():
    exports = _rust_exports()
    with open(HEADER, encoding='utf-8') as f:
        header = f.read()
    served = {symbol for row in _registry.FUNCTIONS for symbol in row.c_symbols}
    assert set(exports) == served | INFRASTRUCTURE
    for row in _registry.FUNCTIONS:
        for symbol in row.c_symbols:
            # `git grep <name>` lands on the Rust export and its header prototype.
            assert symbol == f'skyutils_{row.name}' or row.name in exports[symbol], symbol
            prototype = re.search(rf'\b{symbol}\(', header).start()
            comment = header[header.rindex(';', 0, prototype) : prototype]
            assert symbol == f'skyutils_{row.name}' or row.name in comment, symbol


def test_skypilot_modules_feed_patch_migrate_and_the_hook():
    modules = _registry.skypilot_modules()
    assert migrate.MOVABLE == modules
    waits = {wait.skypilot_module for wait in _registry.WAITS}
    assert set(_patch.TARGETS) == set(_skyutils_hook.TARGETS) <= set(modules) | waits
    native = {row.name for row in _registry.FUNCTIONS if row.native and row.skypilot_module}
    native |= {wait.name for wait in _registry.WAITS}
    import _skyutils_verified

    assert {n for names in _skyutils_verified.SERVED.values() for n in names} == native
    assert _skyutils_verified.PYTHON_ON == {
        k: tuple(sorted(v)) for k, v in _registry.PYTHON_ON.items()
    }
    inlined = {row.name for row in _registry.FUNCTIONS if row.skypilot_module is None}
    assert inlined == {'estimate_fd_for_directory', 'is_process_alive'}


def test_tools_cover_every_function(tmp_path):
    sampled = {function for function, _, _ in check.samples(str(tmp_path))}
    assert sampled == set(_registry.NAMES)

    class Unbuilt:  # the makers only read `quick` until one is called
        quick = True

    assert set(bench.case_makers(Unbuilt())) == set(_registry.NAMES)
    assert set(reference.reference_inline()) == {
        row.name for row in _registry.FUNCTIONS if row.skypilot_module is None
    }


def test_pure_exports_the_registry_literally():
    assert _pure.__all__ == list(_registry.NAMES)


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(ROOT, 'skyutils', '__init__.py')),
    reason='needs the source tree',
)
def test_a_type_checker_sees_the_public_signatures(tmp_path):
    """py.typed ships: mypy, run on a user's file, sees each function's signature."""
    import shutil
    import subprocess

    mypy = shutil.which('mypy', path=os.environ.get('SKYUTILS_TOOLS_BIN') or None)
    if mypy is None:
        if os.environ.get('SKYUTILS_REQUIRE_TOOLS') == '1':
            pytest.fail('mypy is not installed (wheelhouse-config/requirements-tools.txt)')
        pytest.skip('mypy is not installed')
    user = tmp_path / 'user.py'
    user.write_text(
        'import skyutils\n'
        + ''.join(f'reveal_type(skyutils.{name})\n' for name in _registry.NAMES)
        + "skyutils.read_last_n_lines('log', '10')\n"  # a str for n: an error to report
    )
    done = subprocess.run(
        [mypy, '--no-incremental', '--python-version', '3.10', str(user)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, MYPYPATH=ROOT),
        cwd=str(tmp_path),
    )
    revealed = [line for line in done.stdout.splitlines() if 'Revealed type is' in line]
    assert len(revealed) == len(_registry.NAMES), done.stdout
    assert all('def (' in line for line in revealed), done.stdout
    assert 'read_last_n_lines' in done.stdout and 'incompatible type "str"' in done.stdout

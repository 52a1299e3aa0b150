"""The startup hook's table of verified releases (_skyutils_verified.py) against SkyPilot's
published wheels (`pip download --no-deps`, nothing installed): made again from the wheels it
must equal the file; what it says a function reads covers what SkyPilot's tests mock; and a
module-level edit that changes what a function does changes its fingerprint."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

import _skyutils_hook
import _skyutils_verified as verified
from skyutils import _release

# The table is made with the symtable module, which PyPy does not have.
pytest.importorskip('symtable', reason='symtable (CPython only) reads what functions read')

REQUIRED = os.environ.get('SKYUTILS_REQUIRE_REFERENCE') == '1'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def wheels():
    """Every release's wheel, downloaded once into a cache outside the clone."""
    try:
        return _release.download(os.path.expanduser(_release.CACHE))
    except (subprocess.CalledProcessError, OSError) as e:
        if REQUIRED:
            pytest.fail(f'cannot download the releases: {e}')
        pytest.skip(f'cannot download the releases: {e}')


def test_the_table_is_what_the_wheels_make(wheels):
    """tests/ travels without the checkout (ci/test-wheels): the installed table is compared."""
    with open(verified.__file__, encoding='utf-8') as f:
        assert _release.table(wheels) == f.read(), 'run: python -m skyutils._release'


def test_the_hook_answers_for_the_table_s_modules():
    assert set(_skyutils_hook.TARGETS) == set(verified.RELEASES)
    lazy = {m for reads in verified.READS.values() for _, pairs in reads.values() for _, m in pairs}
    assert lazy <= {'psutil'}  # the one lazily imported module the hook resolves (_resolve_lazy)
    assert verified.SERVED == _release.served_functions()


def _digest(wheel, module):
    with zipfile.ZipFile(wheel) as f:
        return _release.file_digest(f.read(module.replace('.', '/') + '.py'))


# Served from 0.14.0 on (the tail block, the extraction), and 0.13.0 on (the log stream).
_FROM_0_14 = ('sky.server.stream_utils', 'sky.server.server', 'sky.client.sdk')


@pytest.mark.parametrize('version', ['0.14.1', '1.0.0.dev20261027', '0.12.3.post1'])
def test_these_releases_serve_every_function(wheels, version):
    for module, names in verified.SERVED.items():
        if module in _FROM_0_14 and version == '0.12.3.post1':
            continue  # another tail block, no extraction function: see the tests below
        versions, profile = verified.RELEASES[module][_digest(wheels[version], module)]
        assert version in versions.split(', ')
        assert set(verified.READS[profile]) == set(names)


def _served_versions(wheels, module):
    """The releases whose file of `module` the table serves."""
    return {v for v, wheel in wheels.items() if _digest(wheel, module) in verified.RELEASES[module]}


def test_the_extraction_of_these_releases_is_served(wheels):
    """The server's `_extract_members` came with 0.14.0 (before, unzip_file extracted inline)
    and is the same in 0.14.1 and the nightly."""
    assert _served_versions(wheels, 'sky.server.server') == {
        '0.14.0',
        '0.14.1',
        '1.0.0.dev20261027',
    }


def test_the_tail_block_of_these_releases_is_served(wheels):
    """The log tailer's tail block is 0.14.1's in 0.14.0 and the nightly (whose follow code
    differs); the releases before 0.14.0 have another (they read the file otherwise)."""
    assert _served_versions(wheels, 'sky.server.stream_utils') == {
        '0.14.0',
        '0.14.1',
        '1.0.0.dev20261027',
    }


def test_older_releases_serve_only_what_is_the_reference_s(wheels):
    """0.10.0 has no read_last_n_lines, and its get_mem_size_gb ignores the bytes limit;
    find_free_port lacks its debug line before 0.11.2: those stay SkyPilot's own."""
    module = 'sky.utils.common_utils'
    _, profile = verified.RELEASES[module][_digest(wheels['0.10.0'], module)]
    assert set(verified.READS[profile]) == {'base36_encode', 'get_cpu_count'}
    _, profile = verified.RELEASES[module][_digest(wheels['0.11.1'], module)]
    assert 'find_free_port' not in verified.READS[profile]


def test_what_a_function_reads_covers_what_skypilot_s_tests_mock():
    reads = {}
    for digests in verified.RELEASES.values():
        for _, profile in digests.values():
            for name, (chains, _) in verified.READS[profile].items():
                reads.setdefault(name, set()).update(chains)
    assert {
        '_get_cgroup_cpu_limit',
        'psutil.cpu_count',
        'os.sched_getaffinity',
        'os.getenv',
        'open',
        'os.path.isfile',
    } <= reads['get_cpu_count']
    assert {'_get_cgroup_memory_limit', 'psutil.virtual_memory'} <= reads['get_mem_size_gb']
    assert {'get_parallel_threads', '_get_thread_multiplier', 'os.listdir', 'logger'} <= reads[
        'get_max_workers_for_file_mounts'
    ]
    assert {'socket.socket', 'logger'} <= reads['find_free_port']


EDITS = {
    # A helper rebound after its def, a globals() write, an exception class shadowed, an
    # import alias changed, a redefinition in an if block, a star import: no body touched.
    'helper rebound': ('\n_get_cgroup_cpu_limit = lambda: 1.0\n', 'get_cpu_count'),
    'globals() write': (
        "\nglobals()['_get_cgroup_memory_limit'] = lambda: 1 << 30\n",
        'get_mem_size_gb',
    ),
    'builtin shadowed': (
        "\nclass RuntimeError(Exception):\n    pass\n",
        'read_last_n_lines',
    ),
    'import alias': ('\nimport posixpath as os\n', 'read_last_n_lines'),
    'if-block redefinition': (
        '\nif True:\n    def _is_cgroup_v2():\n        return True\n',
        'get_cpu_count',
    ),
    'changed LazyImport': ("\npsutil = adaptors_common.LazyImport('os')\n", 'get_cpu_count'),
    'star import': ('\nfrom posixpath import *\n', 'read_last_n_lines'),
}
# Edits that name nothing the AST can tie to a function: the file's digest alone sees them.
DIGEST_ONLY = ('globals() write', 'star import')


@pytest.mark.parametrize('edit', sorted(EDITS))
def test_a_module_level_edit_changes_the_fingerprint_and_the_file(wheels, edit):
    """Either change leaves the module alone: the hook compares the file's digest, and the
    table admits a file only where the function's fingerprint is the reference's."""
    added, function = EDITS[edit]
    with zipfile.ZipFile(wheels['0.14.1']) as f:
        source = f.read('sky/utils/common_utils.py').decode()
    edited = source + added
    assert _release.file_digest(edited.encode()) not in verified.RELEASES['sky.utils.common_utils']
    if edit not in DIGEST_ONLY:
        assert _release.Module(edited).fingerprint(function) != _release.Module(source).fingerprint(
            function
        )


def test_fingerprints_do_not_depend_on_comments_or_docstrings():
    source = (
        'X = 3\n\ndef helper():\n    return X\n\n'
        'def f(a):\n    """Doc."""\n    return helper() + a[1]\n'
    )
    other = source.replace('"""Doc."""', '"""Other."""').replace('return X', 'return X  # c')
    changed = source.replace('X = 3', 'X = 4')
    fingerprints = [_release.Module(s).fingerprint('f') for s in (source, other, changed)]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]


def test_state_a_function_keeps_is_not_a_name_it_reads():
    source = 'shown = False\n\ndef f():\n    global shown\n    shown = True\n    return len([])\n'
    assert _release.Module(source).reads('f').chains == ('len',)


def _install_nightly(wheels, tmp_path):
    """skypilot-nightly's wheel unpacked into a directory of its own (no dependencies)."""
    target = tmp_path / 'nightly'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--disable-pip-version-check',
         '--target', str(target), wheels['1.0.0.dev20261027']],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return target


def test_patch_on_an_installed_nightly(wheels, tmp_path):
    """skypilot-nightly installed (its wheel, ahead of the reference on sys.path, whose
    dependencies it uses): found by its distribution name, its files verified, every function
    the library serves replaced, no warning."""
    import reference

    reference.load()  # SkyPilot's dependencies: skip (or fail in CI) without them
    target = _install_nightly(wheels, tmp_path)
    code = (
        'import json, skyutils\n'
        'from sky.utils import common_utils\n'
        'from skyutils import _patch\n'
        'summary = skyutils.patch_skypilot()\n'
        'status = _patch.status()\n'
        'print(json.dumps([common_utils.__file__, status["distribution"], status["version"],\n'
        '                  sorted(summary),\n'
        '                  {m: v["release"] for m, v in status["modules"].items()},\n'
        '                  common_utils.base36_encode("ff")]))\n'
    )
    done = subprocess.run(
        [sys.executable, '-W', 'error::RuntimeWarning', '-c', code],
        env=dict(os.environ, PYTHONPATH=str(target)),
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
    )
    path, distribution, version, replaced, releases, answer = json.loads(
        done.stdout.strip().splitlines()[-1]
    )
    assert path.startswith(str(target)) and answer == '73'
    assert (distribution, version) == ('skypilot-nightly', '1.0.0.dev20261027')
    # Each module's file is the nightly's (some are also earlier releases' files, byte for byte).
    assert all('1.0.0.dev20261027' in r.split(', ') for r in releases.values()), releases
    native = verified.native_here(sys.implementation.name)
    from skyutils import _patch

    want = {
        f'{m}.{n}'
        for m, names in verified.SERVED.items()
        for n in names
        if n in native and m not in _patch.IMPORTED_ONLY  # the API server's: not imported here
    }
    assert set(replaced) == want

"""Loading the native library: every way it can be broken gives the pure path, exactly one
warning naming the file and the reason, and correct results; never a crash.

Each case runs in a child interpreter on a copy of the installed package whose library
has been replaced, since the library is loaded once, at import, from the package itself.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap

import pytest

import skyutils
from skyutils import _abi, _dispatch, _fallbacks, _native

PACKAGE_DIR = os.path.dirname(skyutils.__file__)
needs_library = pytest.mark.skipif(_native.LIB is None, reason='no native library loaded')
if _native.LIB is not None:
    from skyutils._bindings.state import State

CHILD = textwrap.dedent('''
    import json, os, sys, warnings
    # An editable install's finder would import the source tree, not the copy on PYTHONPATH.
    sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in type(f).__module__]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        import skyutils
    info = skyutils.backend_info()
    log = os.path.join(sys.argv[1], 'log')
    with open(log, 'wb') as f:
        f.write(b'a\\nb\\r\\nc\\n')
    print(json.dumps({
        'warnings': [str(w.message) for w in caught if 'skyutils' in str(w.message)],
        'backend': info['backend'],
        'loaded': info['library']['loaded'],
        'reason': info['library']['reason'],
        'use_rust': info['use_rust'],
        'native': sorted(n for n, c in info['functions'].items() if c['backend'] == 'native'),
        'results': [skyutils.base36_encode('ff'), skyutils.read_last_n_lines(log, 2),
                    skyutils.estimate_fd_for_directory(sys.argv[1]),
                    skyutils.is_process_alive(os.getpid()), skyutils.get_cpu_count() > 0],
    }))
''')
GOOD_RESULTS = ['73', ['b\n', 'c'], 5, True, True]


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the installed skyutils package, importable from tmp_path/site."""
    site = tmp_path / 'site'
    shutil.copytree(PACKAGE_DIR, site / 'skyutils', ignore=shutil.ignore_patterns('__pycache__'))
    return site


def run_child(site, tmp_path, **env):
    work = tmp_path / 'work'
    work.mkdir(exist_ok=True)
    child_env = dict(os.environ, PYTHONPATH=str(site), **env)
    if 'SKYPILOT_USE_RUST' not in env:
        child_env.pop('SKYPILOT_USE_RUST', None)
    done = subprocess.run(
        [sys.executable, '-c', CHILD, str(work)],
        env=child_env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def library_in(site):
    return site / 'skyutils' / '_lib' / _native.LIB_NAME


def compile_library(tmp_path, source):
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        pytest.skip('no C compiler to build a stand-in library')
    # Under emulation (an aarch64 Python on an x86_64 host) the host's compiler would build a
    # library this interpreter cannot load, whatever it contains.
    target = subprocess.run(
        [compiler, '-dumpmachine'], capture_output=True, text=True, check=False
    ).stdout
    if not target.startswith(platform.machine()):
        pytest.skip(f'the C compiler here builds for {target.strip()}, not {platform.machine()}')
    src = tmp_path / 'standin.c'
    src.write_text(source)
    out = tmp_path / 'standin.so'
    subprocess.run([compiler, '-shared', '-fPIC', '-o', str(out), str(src)], check=True)
    return out.read_bytes()


def elf_with(field_offset, value):
    def mutate(tmp_path, original):
        data = bytearray(original)
        data[field_offset : field_offset + len(value)] = value
        return bytes(data)

    return mutate


BROKEN = {
    'empty': (lambda tmp_path, original: b'', 'cannot load'),
    'truncated': (lambda tmp_path, original: original[:4096], 'cannot load'),
    'not an ELF': (lambda tmp_path, original: b'#!/bin/sh\necho not a library\n', 'cannot load'),
    # e_machine of another architecture than this host's: EM_AARCH64 (183), or on an aarch64
    # host EM_X86_64 (62).
    'other architecture': (
        elf_with(18, (62 if platform.machine() == 'aarch64' else 183).to_bytes(2, 'little')),
        'cannot load',
    ),
    # EI_CLASS = ELFCLASS32: a 32-bit build.
    '32-bit': (elf_with(4, b'\x01'), 'cannot load'),
    'other ABI version': (
        lambda tmp_path, original: compile_library(
            tmp_path, 'unsigned skyutils_abi_version(void) { return 999; }\n'
        ),
        'ABI version 999',
    ),
    'symbols missing': (
        lambda tmp_path, original: compile_library(
            tmp_path, 'unsigned skyutils_abi_version(void) { return %d; }\n' % _abi.ABI_VERSION
        ),
        'lacks a symbol',
    ),
    'not skyutils': (
        lambda tmp_path, original: compile_library(tmp_path, 'int unrelated(void) { return 0; }\n'),
        'no skyutils_abi_version',
    ),
}


@needs_library
@pytest.mark.parametrize('case', sorted(BROKEN))
def test_broken_library_falls_back_with_one_warning(package_copy, tmp_path, case):
    if not sys.platform.startswith('linux') and case in ('other architecture', '32-bit'):
        pytest.skip('ELF header cases')
    mutate, reason = BROKEN[case]
    lib = library_in(package_copy)
    lib.write_bytes(mutate(tmp_path, lib.read_bytes()))
    got = run_child(package_copy, tmp_path)
    assert len(got['warnings']) == 1, got['warnings']
    assert str(lib) in got['warnings'][0]
    assert reason in got['warnings'][0]
    assert reason in got['reason']
    assert not got['loaded']
    assert got['backend'] == 'python'
    assert got['results'] == GOOD_RESULTS


@needs_library
def test_missing_library_file_warns(package_copy, tmp_path):
    library_in(package_copy).unlink()
    got = run_child(package_copy, tmp_path)
    assert len(got['warnings']) == 1
    assert 'is missing' in got['warnings'][0]
    assert got['backend'] == 'python' and got['results'] == GOOD_RESULTS


def test_python_only_install_is_silent(package_copy, tmp_path):
    shutil.rmtree(package_copy / 'skyutils' / '_lib', ignore_errors=True)
    got = run_child(package_copy, tmp_path)
    assert got['warnings'] == []
    assert 'Python-only' in got['reason']
    assert got['backend'] == 'python' and got['results'] == GOOD_RESULTS


@needs_library
def test_use_rust_0_forces_python_silently(package_copy, tmp_path):
    got = run_child(package_copy, tmp_path, SKYPILOT_USE_RUST='0')
    assert got['warnings'] == []
    assert 'SKYPILOT_USE_RUST=0' in got['reason']
    assert got['backend'] == 'python' and got['results'] == GOOD_RESULTS


@needs_library
def test_intact_library_serves_eight_functions(package_copy, tmp_path):
    got = run_child(package_copy, tmp_path, SKYPILOT_USE_RUST='1')
    assert got['warnings'] == []
    assert got['loaded'] and got['backend'] == 'mixed'
    assert got['native'] == sorted(set(_dispatch.NATIVE_REASONS) - set(_dispatch.python_reasons()))
    assert len(got['native']) >= (8 if sys.implementation.name == 'cpython' else 6)
    assert got['results'] == GOOD_RESULTS


@needs_library
def test_dispatch_chooses_per_implementation():
    """Where ctypes costs more than the work (PyPy: base36, tails), Python serves there alone."""
    on_pypy = {
        name: _dispatch._choose(name, 'pypy')['backend'] for name in _dispatch.FUNCTION_NAMES
    }
    on_cpython = {
        name: _dispatch._choose(name, 'cpython')['backend'] for name in _dispatch.FUNCTION_NAMES
    }
    assert on_pypy['base36_encode'] == on_pypy['read_last_n_lines'] == 'python'
    assert on_cpython['base36_encode'] == on_cpython['read_last_n_lines'] == 'native'
    assert {n for n, b in on_pypy.items() if b == 'native'} == {
        n for n, b in on_cpython.items() if b == 'native'
    } - {'base36_encode', 'read_last_n_lines'}
    served = skyutils.backend_info()['functions']
    for name in _dispatch.FUNCTION_NAMES:
        expected = _dispatch._choose(name)['backend']
        assert served[name]['backend'] == expected, name


@needs_library
def test_panic_is_caught_at_the_boundary():
    assert _native.LIB.skyutils_selftest_panic() == _abi.ERR_PANIC
    assert skyutils.base36_encode('ff') == '73'  # the interpreter and library go on


@needs_library
def test_null_pointers_are_refused():
    import ctypes

    lib = _native.LIB
    state = State()
    assert lib.skyutils_count_dir_entries(None, 5, state) == _abi.ERR_ARG
    assert lib.skyutils_count_dir_entries(b'/', 1, None) == _abi.ERR_ARG
    assert lib.skyutils_count_dir_entries(b'/', -1, state) == _abi.ERR_ARG
    assert lib.skyutils_close_state(None) == _abi.ERR_ARG
    assert lib.skyutils_get_cpu_count(None, 4) == _abi.ERR_ARG
    assert lib.skyutils_get_mem_size_gb(b'/sys/fs/cgroup', -1) == _abi.ERR_ARG
    assert lib.skyutils_is_process_alive(-5) == 0 and lib.skyutils_is_process_alive(1) == 1
    assert lib.skyutils_find_free_port(80, None, None) == _abi.ERR_ARG
    out = ctypes.create_string_buffer(8)
    assert lib.skyutils_base36_encode(b'ff', -1, out, 8) is None
    assert lib.skyutils_base36_encode(None, 2, out, 8) is None
    assert lib.skyutils_base36_encode(b'ff', 2, None, 8) is None
    assert lib.skyutils_base36_encode(b'ff', 2, out, 4) is None  # shorter than the header asks
    assert lib.skyutils_base36_encode(b'ff', 2, out, 8) == b'73'
    assert lib.skyutils_text_flags(None, 5) == _abi.ERR_ARG
    state[_abi.TAIL_N] = 1
    zero_n = State()
    for args in [
        (None, 4, out, 8, state),
        (b'/etc/hostname', 13, None, 8, state),
        (b'/etc/hostname', 13, out, 8, None),
        (b'/etc/hostname', 13, out, 8, zero_n),
        (b'/etc/hostname', -1, out, 8, state),
        (b'/etc/hostname', 13, out, -8, state),
    ]:
        assert lib.skyutils_read_last_n_lines(*args) == _abi.ERR_ARG, args
        assert state[_abi.STATE_FD] == 0


@needs_library
def test_a_state_that_is_not_the_library_s_own_is_refused_and_kept():
    """A descriptor in a state whose other slots the library did not write: refused, and left
    where it is (the caller's to close), never closed or read."""
    import ctypes

    fd = os.open('/etc/hostname', os.O_RDONLY)
    state = State()
    state[_abi.STATE_FD] = fd + 1
    state[_abi.TAIL_N] = 1
    out = ctypes.create_string_buffer(8)
    assert (
        _native.LIB.skyutils_read_last_n_lines(b'/etc/hostname', 13, out, 8, state) == _abi.ERR_ARG
    )
    assert state.descriptor() == fd
    os.fstat(fd)  # still open
    state.release()
    assert state[_abi.STATE_FD] == 0
    with pytest.raises(OSError):
        os.fstat(fd)


@needs_library
def test_nul_in_path_is_refused_by_the_library():
    import ctypes

    status = _native.LIB.skyutils_count_dir_entries(b'/tmp\0x', 6, State())
    assert status == _abi.ERR_ARG
    out = ctypes.create_string_buffer(8)
    state = State()
    state[_abi.TAIL_N] = 1
    assert _native.LIB.skyutils_read_last_n_lines(b'/tmp\0x', 6, out, 8, state) == _abi.ERR_ARG


@needs_library
def test_deferred_calls_are_counted():
    if 'base36_encode' in _dispatch.python_reasons():
        pytest.skip(f'base36_encode is served by Python on {sys.implementation.name}')
    before = _fallbacks.counts['base36_encode']
    for deferred in ('-' + 'f' * 31, 'g' * 32):  # long enough for the library; it defers
        with pytest.raises(ValueError):
            skyutils.base36_encode(deferred)
    assert skyutils.base36_encode(b'ff') == '73'  # bytes are Python's by design: not counted
    info = skyutils.backend_info()['functions']['base36_encode']
    assert info['fallbacks'] == before + 2
    assert info['backend'] == 'native'


@needs_library
@pytest.mark.parametrize('value', ['0', 'false', 'FALSE', ' no ', 'Off', ' 0\n'])
def test_every_spelling_of_off_forces_python(package_copy, tmp_path, value):
    got = run_child(package_copy, tmp_path, SKYPILOT_USE_RUST=value)
    assert (got['backend'], got['loaded'], got['use_rust']) == ('python', False, False)
    assert got['warnings'] == []
    assert f'SKYPILOT_USE_RUST={value.strip()} forces the pure-Python backend' == got['reason']
    assert got['results'] == GOOD_RESULTS


@needs_library
@pytest.mark.parametrize('value', [None, '', '1', 'true', ' Yes ', 'ON'])
def test_every_spelling_of_on_allows_native(package_copy, tmp_path, value):
    env = {} if value is None else {'SKYPILOT_USE_RUST': value}
    got = run_child(package_copy, tmp_path, **env)
    assert (got['backend'], got['loaded'], got['use_rust']) == ('mixed', True, True)
    assert got['warnings'] == []


@needs_library
def test_an_unknown_switch_value_warns_once_and_allows_native(package_copy, tmp_path):
    got = run_child(package_copy, tmp_path, SKYPILOT_USE_RUST='flase')
    assert (got['backend'], got['loaded'], got['use_rust']) == ('mixed', True, True)
    assert len(got['warnings']) == 1 and "'flase'" in got['warnings'][0]


@needs_library
def test_a_zip_archive_gives_the_true_reason(package_copy, tmp_path):
    """zipimport can import the package from a zip; the dynamic loader cannot map a library
    from inside one. The reason says so, once, and Python serves every function."""
    archive = tmp_path / 'skyutils.zip'
    shutil.make_archive(str(archive)[: -len('.zip')], 'zip', str(package_copy))
    got = run_child(archive, tmp_path)
    assert got['reason'].startswith(f'cannot load a library from a zip archive ({archive})')
    assert len(got['warnings']) == 1 and 'zip archive' in got['warnings'][0]
    assert (got['backend'], got['loaded']) == ('python', False)
    assert got['results'] == GOOD_RESULTS


def test_a_zip_archive_without_a_library_is_python_only(package_copy, tmp_path):
    shutil.rmtree(package_copy / 'skyutils' / '_lib', ignore_errors=True)
    archive = tmp_path / 'pure.zip'
    shutil.make_archive(str(archive)[: -len('.zip')], 'zip', str(package_copy))
    got = run_child(archive, tmp_path)
    assert got['reason'] == _native.PYTHON_ONLY
    assert got['warnings'] == []

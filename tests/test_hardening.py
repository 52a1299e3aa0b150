"""What a long-lived SkyPilot controller needs: bad input never crashes and fails alike on both
backends; fork, threads and long runs leave the library working and nothing leaked.

Short by default; SKYUTILS_LONG=1 runs the long versions (a minute of threads, 10^5 calls)."""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from conftest import BACKENDS
from skyutils import _native

LONG = os.environ.get('SKYUTILS_LONG') == '1'
needs_native = pytest.mark.skipif('native' not in BACKENDS, reason='no native library loaded')


def outcome(fn, *args):
    try:
        return ('ok', fn(*args))
    except Exception as e:  # noqa: BLE001 - compared between backends
        return ('raises', type(e), str(e))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('hardening')
    (root / 'log').write_bytes(b'a\nb\n')
    (root / 'dir').mkdir()
    os.symlink('loop', root / 'loop')
    return root


def bad_calls(root):
    log, directory, loop = str(root / 'log'), str(root / 'dir'), str(root / 'loop')
    surrogate_path = os.fsdecode(os.fsencode(str(root)) + b'/\xff\xfe')
    return [
        ('read_last_n_lines', (None, 1)), ('read_last_n_lines', (log, None)),
        ('read_last_n_lines', (log, -(2**70))), ('read_last_n_lines', (log, 2**70)),
        ('read_last_n_lines', (log, 1, 0)), ('read_last_n_lines', ('a\x00b', 1)),
        ('read_last_n_lines', (surrogate_path, 1)), ('read_last_n_lines', (os.fsencode(log), 1)),
        ('read_last_n_lines', (loop, 1)), ('read_last_n_lines', (directory, 1)),
        ('read_last_n_lines', (log, 1, 8192, 'utf-8', 'no-such-handler')),
        ('read_last_n_lines', (log + '/below', 1)),
        ('estimate_fd_for_directory', (None,)), ('estimate_fd_for_directory', (b'a\x00b',)),
        ('estimate_fd_for_directory', (surrogate_path,)), ('estimate_fd_for_directory', (loop,)),
        ('estimate_fd_for_directory', (log,)), ('estimate_fd_for_directory', (2**70,)),
        ('base36_encode', (None,)), ('base36_encode', ('\ud800' * 40,)),
        ('base36_encode', ('f' * 39 + '\x00',)), ('base36_encode', ('-' + 'f' * 40,)),
        ('base36_encode', ('0x' + '_' * 30,)),
        ('truncate_long_string', ('\ud800\udfff' * 30, 7, True)),
        ('format_float', (float('nan'), 2**70)),
        ('is_process_alive', (None,)), ('is_process_alive', (2**70,)),
        ('is_process_alive', (-(2**70),)),
        ('find_free_port', (None,)), ('find_free_port', (2**70,)), ('find_free_port', (-(2**70),)),
        ('get_max_workers_for_file_mounts', ({'x': None},)),
        ('get_max_workers_for_file_mounts', ({'x': loop, 'y': 'a\x00b'},)),
        ('hash_file', (loop, 'md5')), ('hash_file', (directory, 'sha256')),
        ('hash_file', ('a\x00b', 'md5')), ('hash_file', (log, None)),
    ]


@needs_native
def test_bad_input_fails_alike_on_both_backends(files):
    native, pure = BACKENDS['native'], BACKENDS['python']
    for name, args in bad_calls(files):
        assert outcome(getattr(native, name), *args) == outcome(getattr(pure, name), *args), \
            (name, args)


def test_fork_after_load_child_works(tmp_path):
    script = (
        'import os, skyutils\n'
        f'open({str(tmp_path / "log")!r}, "w").write("x\\ny\\n")\n'
        'pid = os.fork()\n'
        'if pid == 0:\n'
        f'    ok = skyutils.read_last_n_lines({str(tmp_path / "log")!r}, 1) == ["y"]\n'
        '    ok = ok and skyutils.is_process_alive(os.getpid()) and skyutils.get_cpu_count() > 0\n'
        '    ok = ok and skyutils.base36_encode("f" * 32) == "f5lxx1zz5pnorynqglhzmsp33"\n'
        '    os._exit(0 if ok else 1)\n'
        '_, status = os.waitpid(pid, 0)\n'
        'raise SystemExit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")'
        ' else status >> 8)\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60, check=False, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr


def every_function(impl, log, directory):
    """One successful call of each of the twelve functions."""
    return [
        lambda: impl.read_last_n_lines(log, 1),
        lambda: impl.estimate_fd_for_directory(directory),
        lambda: impl.get_max_workers_for_file_mounts({'/r': directory}),
        lambda: impl.get_cpu_count(),
        lambda: impl.get_mem_size_gb(),
        lambda: impl.get_parallel_threads('kubernetes'),
        lambda: impl.is_process_alive(os.getpid()),
        lambda: impl.is_process_alive(2**31 - 2),
        lambda: impl.base36_encode('f' * 32),
        lambda: impl.find_free_port(50000),
        lambda: impl.hash_file(log, 'sha256'),
        lambda: impl.format_float(2.25),
        lambda: impl.truncate_long_string('x ' * 30, 9),
    ]


def open_descriptors():
    return len(os.listdir('/proc/self/fd'))


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc/self/fd')
def test_no_descriptor_leaks(files, impl):
    log, directory = str(files / 'log'), str(files / 'dir')
    calls = 100_000 if LONG else 200  # of each function
    workload = every_function(impl, log, directory)
    failing = [
        lambda: impl.read_last_n_lines(directory, 1),
        lambda: impl.estimate_fd_for_directory(log),
        lambda: impl.base36_encode('g' * 32),
        lambda: impl.hash_file(directory, 'md5'),
        lambda: impl.find_free_port(65535),
    ]
    before = open_descriptors()
    for _ in range(calls):
        for call in workload:
            call()
        for call in failing:
            with pytest.raises(Exception):  # noqa: B017 - any of their documented errors
                call()
    assert open_descriptors() == before


PARTIAL_LINE = re.compile(r'(?:l(?:i(?:n(?:e(?: \d{0,8})?)?)?)?)?')


def test_threads_against_a_growing_file_and_directory(tmp_path, impl):
    seconds = 60 if LONG else 3
    log = tmp_path / 'growing.log'
    log.write_bytes(b'')
    directory = tmp_path / 'filling'
    directory.mkdir()
    stop = threading.Event()
    errors = []

    def writer():
        i = 0
        with open(log, 'ab', buffering=0) as f:
            while not stop.is_set():
                f.write(b'line %08d\n' % i)
                if i % 10 == 0:
                    open(directory / f'f{i}', 'w').close()
                i += 1

    def reader():
        try:
            while not stop.is_set():
                lines = impl.read_last_n_lines(str(log), 5)
                # Every line but the last is whole; the last may be one the writer is still
                # appending (a reader can see a write() half done), so it is a prefix of one.
                assert all(re.fullmatch(r'line \d{8}\n', line) for line in lines[:-1]), lines
                assert not lines or PARTIAL_LINE.fullmatch(lines[-1]), lines
                assert impl.estimate_fd_for_directory(str(directory)) % 5 == 0
                assert impl.is_process_alive(os.getpid()) is True
                assert impl.base36_encode('f' * 32) == 'f5lxx1zz5pnorynqglhzmsp33'
                assert impl.get_cpu_count() >= 0
                assert impl.get_mem_size_gb() > 0
                assert impl.format_float(2.25) == '2.2'
                assert impl.truncate_long_string('abcdefghijklmnopqrstuvwxyz', 10) == \
                    'abcdefghij...'
                assert impl.hash_file(str(log), 'md5').digest_size == 16
                assert impl.get_parallel_threads('kubernetes') >= 16
                assert impl.get_max_workers_for_file_mounts({'/r': str(directory)}) >= 1
                assert 0 <= impl.find_free_port(50000) < 65535
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(8)]  # every function, 8 threads
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _native.LIB is None or _native.LIB.skyutils_abi_version() == _native.ABI_VERSION


@needs_native
def test_file_that_shrinks_while_read_is_served_by_python(tmp_path, monkeypatch):
    from skyutils import _fallbacks
    from skyutils._bindings import files
    log = tmp_path / 'log'
    lines = [f'line {i}\n' for i in range(100_000)]  # a 1 MiB tail: more than the buffer
    log.write_text(''.join(lines))
    real_pread = os.pread
    # The file loses its tail between the library's scan and Python's read (only long tails,
    # beyond the library's buffer, are read by Python after the scan).
    monkeypatch.setattr(files.os, 'pread', lambda fd, size, offset: real_pread(fd, size, offset)[:-1])
    before = _fallbacks.counts['read_last_n_lines']
    expected = lines[-90_000:]
    expected[-1] = expected[-1].rstrip('\n')
    assert files.read_last_n_lines(str(log), 90_000) == expected
    assert _fallbacks.counts['read_last_n_lines'] == before + 1


def test_signals_do_not_interrupt_calls(tmp_path, impl):
    import signal
    log = tmp_path / 'log'
    log.write_bytes(b''.join(b'line %d\n' % i for i in range(50_000)))
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)  # EINTR for slow system calls
    try:
        for _ in range(30):
            assert impl.read_last_n_lines(str(log), 20_000)[-1] == 'line 49999'
            assert impl.estimate_fd_for_directory(str(tmp_path)) == 5
            assert impl.get_cpu_count() > 0
            assert impl.is_process_alive(os.getpid())
    finally:
        # An alarm still pending when the default action is back would kill the process:
        # block it, stop the timer, let pending alarms reach our handler, then restore.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        if hasattr(signal, 'sigtimedwait'):
            while signal.sigtimedwait({signal.SIGALRM}, 0) is not None:
                pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
        time.sleep(0.05)  # (where sigtimedwait is missing, the handler takes them here)
        signal.signal(signal.SIGALRM, previous)
    assert fired  # the timer really interrupted the calls


@needs_native
def test_only_the_package_library_is_loaded(tmp_path):
    # A decoy with another ABI version in the current directory and on LD_LIBRARY_PATH.
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        pytest.skip('no C compiler to build a decoy library')
    source = tmp_path / 'decoy.c'
    source.write_text('unsigned skyutils_abi_version(void) { return 999; }\n')
    subprocess.run([compiler, '-shared', '-fPIC', '-o', str(tmp_path / _native.LIB_NAME),
                    str(source)], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, '-W', 'error', '-c',
         'import skyutils; i = skyutils.backend_info()["library"]; print(i["loaded"], i["path"])'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded, path = done.stdout.split()
    assert loaded == 'True' and path == _native.LIB_PATH


def resident_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


@pytest.mark.skipif(not os.path.isfile('/proc/self/statm'), reason='needs /proc/self/statm')
def test_memory_stays_flat(files, impl):
    log, directory = str(files / 'log'), str(files / 'dir')
    rounds = 100_000 if LONG else 1_000

    calls = every_function(impl, log, directory)

    def round_():
        for call in calls:
            call()
        try:
            impl.read_last_n_lines(directory, 1)
        except RuntimeError:
            pass

    for _ in range(300):  # warm caches and allocators first
        round_()
    before = resident_bytes()
    for _ in range(rounds):
        round_()
    assert resident_bytes() - before < 4 * 1024 * 1024

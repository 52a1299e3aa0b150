"""What a long-lived SkyPilot controller needs: bad input never crashes and fails alike on both
backends; fork, threads and long runs leave the library working and nothing leaked.

Short by default; SKYUTILS_LONG=1 runs the long versions (a minute of threads, 10^5 calls)."""

import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from alarms import stop_alarms
from conftest import BACKENDS
from pyio import not_seekable_message

from skyutils import _abi, _dispatch, _native

LONG = os.environ.get('SKYUTILS_LONG') == '1'
needs_native = pytest.mark.skipif('native' not in BACKENDS, reason='no native library loaded')


def outcome(fn, *args):
    try:
        return ('ok', fn(*args))
    except Exception as e:
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
        ('read_last_n_lines', (None, 1)),
        ('read_last_n_lines', (log, None)),
        ('read_last_n_lines', (log, -(2**70))),
        ('read_last_n_lines', (log, 2**70)),
        ('read_last_n_lines', (log, 1, 0)),
        ('read_last_n_lines', ('a\x00b', 1)),
        ('read_last_n_lines', (surrogate_path, 1)),
        ('read_last_n_lines', (os.fsencode(log), 1)),
        ('read_last_n_lines', (loop, 1)),
        ('read_last_n_lines', (directory, 1)),
        ('read_last_n_lines', (log, 1, 8192, 'utf-8', 'no-such-handler')),
        ('read_last_n_lines', (log + '/below', 1)),
        ('estimate_fd_for_directory', (None,)),
        ('estimate_fd_for_directory', (b'a\x00b',)),
        ('estimate_fd_for_directory', (surrogate_path,)),
        ('estimate_fd_for_directory', (loop,)),
        ('estimate_fd_for_directory', (log,)),
        ('estimate_fd_for_directory', (2**70,)),
        ('base36_encode', (None,)),
        ('base36_encode', ('\ud800' * 40,)),
        ('base36_encode', ('f' * 39 + '\x00',)),
        ('base36_encode', ('-' + 'f' * 40,)),
        ('base36_encode', ('0x' + '_' * 30,)),
        ('truncate_long_string', ('\ud800\udfff' * 30, 7, True)),
        ('format_float', (float('nan'), 2**70)),
        ('is_process_alive', (None,)),
        ('is_process_alive', (2**70,)),
        ('is_process_alive', (-(2**70),)),
        ('find_free_port', (None,)),
        ('find_free_port', (2**70,)),
        ('find_free_port', (-(2**70),)),
        ('get_max_workers_for_file_mounts', ({'x': None},)),
        ('get_max_workers_for_file_mounts', ({'x': loop, 'y': 'a\x00b'},)),
        ('hash_file', (loop, 'md5')),
        ('hash_file', (directory, 'sha256')),
        ('hash_file', ('a\x00b', 'md5')),
        ('hash_file', (log, None)),
    ]


@needs_native
def test_bad_input_fails_alike_on_both_backends(files):
    native, pure = BACKENDS['native'], BACKENDS['python']
    for name, args in bad_calls(files):
        assert outcome(getattr(native, name), *args) == outcome(getattr(pure, name), *args), (
            name,
            args,
        )


def test_fork_after_load_child_works(tmp_path):
    script = (
        'import os, skyutils\n'
        # Closed before the fork: PyPy closes (and flushes) a file only when collected.
        f'with open({str(tmp_path / "log")!r}, "w") as f: f.write("x\\ny\\n")\n'
        'pid = os.fork()\n'
        'if pid == 0:\n'
        f'    ok = skyutils.read_last_n_lines({str(tmp_path / "log")!r}, 1) == ["y"]\n'
        '    ok = ok and skyutils.is_process_alive(os.getpid()) and skyutils.get_cpu_count() > 0\n'
        '    ok = ok and skyutils.base36_encode("f" * 32) == "f5lxx1zz5pnorynqglhzmsp33"\n'
        '    os._exit(0 if ok else 1)\n'
        '_, status = os.waitpid(pid, 0)\n'
        'raise SystemExit(os.waitstatus_to_exitcode(status)'
        ' if hasattr(os, "waitstatus_to_exitcode") else status >> 8)\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=str(tmp_path),
    )
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
                assert (
                    impl.truncate_long_string('abcdefghijklmnopqrstuvwxyz', 10) == 'abcdefghij...'
                )
                assert impl.hash_file(str(log), 'md5').digest_size == 16
                assert impl.get_parallel_threads('kubernetes') >= 16
                assert impl.get_max_workers_for_file_mounts({'/r': str(directory)}) >= 1
                assert 0 <= impl.find_free_port(50000) < 65535
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(8)
    ]  # every function, 8 threads
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _native.LIB is None or _native.LIB.skyutils_abi_version() == _abi.ABI_VERSION


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
    monkeypatch.setattr(
        files.os, 'pread', lambda fd, size, offset: real_pread(fd, size, offset)[:-1]
    )
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
        stop_alarms(previous)
    assert fired  # the timer really interrupted the calls


@needs_native
def test_only_the_package_library_is_loaded(tmp_path):
    # A decoy with another ABI version in the current directory and on LD_LIBRARY_PATH.
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        pytest.skip('no C compiler to build a decoy library')
    source = tmp_path / 'decoy.c'
    source.write_text('unsigned skyutils_abi_version(void) { return 999; }\n')
    subprocess.run(
        [compiler, '-shared', '-fPIC', '-o', str(tmp_path / _native.LIB_NAME), str(source)],
        check=True,
    )
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path))
    done = subprocess.run(
        [
            sys.executable,
            '-W',
            'error',
            '-c',
            'import skyutils; i = skyutils.backend_info()["library"]; '
            'print(i["loaded"], i["path"])',
        ],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded, path = done.stdout.split()
    assert loaded == 'True' and path == _native.LIB_PATH


def resident_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def malloc_in_use():
    """The bytes glibc's malloc has handed out and not had back (mallinfo2), or None where
    there is no mallinfo2 (musl, glibc before 2.33)."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in 'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks '
            'fordblks keepcost'.split()
        ]

    libc = ctypes.CDLL(None)
    if not hasattr(libc, 'mallinfo2'):
        return None
    libc.mallinfo2.restype = Mallinfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd  # small blocks in use + mmap'd blocks


def memory_growth(backend, log, directory, rounds, blocks, measure):
    """Growth (bytes) of `measure` ('resident' or 'malloc') over up to `blocks` blocks of
    `rounds` rounds, each round one call of every function and one failing call, after a
    warm-up; it stops at the first block that grew under 4 MiB."""
    impl = BACKENDS[backend]
    calls = every_function(impl, log, directory)
    size = resident_bytes if measure == 'resident' else malloc_in_use

    def round_():
        for call in calls:
            call()
        try:
            impl.read_last_n_lines(directory, 1)
        except RuntimeError:
            pass

    for _ in range(300):  # warm caches and allocators first
        round_()
    collecting = sys.implementation.name != 'cpython'
    if collecting:  # PyPy's heap first grows to its working size (tens of MiB), then holds
        for _ in range(rounds):
            round_()
        gc.collect()
    growth = []
    for _ in range(blocks):
        before = size()
        for _ in range(rounds):
            round_()
        if collecting:
            gc.collect()
        growth.append(size() - before)
        if growth[-1] < 4 * 1024 * 1024:
            break
    return growth


@pytest.mark.skipif(not os.path.isfile('/proc/self/statm'), reason='needs /proc/self/statm')
def test_memory_stays_flat(files, impl):
    """A leak of 4 KiB a call or more grows every block of rounds by 4 MiB or more. Measured in
    a fresh interpreter: in this one, after the earlier tests' big reads, PyPy's heap held 2 GiB.

    CPython: the resident size. A collecting interpreter (PyPy): its resident size hides a leak
    (8 KiB malloc'd and written each round grew it by 0.4 MiB over five blocks, and without a
    leak it swung by up to 137 MiB a block, as CI's PyPy suite saw), so there the measure is
    what malloc has handed out (glibc's mallinfo2: the library's and the C runtime's heap,
    which the collector does not move), over up to three blocks of which one must be flat."""
    collecting = sys.implementation.name != 'cpython'
    if collecting and malloc_in_use() is None:
        pytest.skip('a collecting interpreter without glibc mallinfo2: no measure holds still')
    backend = next(name for name, functions in BACKENDS.items() if functions is impl)
    log, directory = str(files / 'log'), str(files / 'dir')
    rounds = 100_000 if LONG else 1_000
    blocks, measure = (3, 'malloc') if collecting else (1, 'resident')
    code = (
        'import json, test_hardening as t; '
        f'print(json.dumps(t.memory_growth({backend!r}, {log!r}, {directory!r}, {rounds}, '
        f'{blocks}, {measure!r})))'
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        capture_output=True,
        text=True,
        timeout=None if LONG else 600,
    )
    assert done.returncode == 0, done.stderr
    growth = json.loads(done.stdout.splitlines()[-1])
    assert min(growth) < 4 * 1024 * 1024, (measure, growth)


# --- Special files, interrupts, many threads, odd processes -------------------------------


def in_thread(call, timeout: float):
    """call() in a thread: (finished, what it returned or raised), waiting `timeout` s."""
    result = []

    def run():
        try:
            result.append(('ok', call()))
        except BaseException as e:
            result.append(('raises', type(e), str(e)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return (not thread.is_alive(), result[0] if result else None, thread)


def late_writer(fifo: str, delay: float, data: bytes = b'one line\n', patience: float = 3.0):
    """A writer that comes `delay` s late, writes `data` and closes. It waits for a reader at
    most `patience` s (a non-blocking open fails with ENXIO until one is there)."""

    def run():
        time.sleep(delay)
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.01)
                continue
            try:
                os.write(fd, data)
            except OSError:
                pass  # EPIPE: the reader has gone already
            finally:
                os.close(fd)
            return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@needs_native
@pytest.mark.parametrize('writer_delay', [None, 0.3])
def test_a_fifo_tail_fails_at_once_as_python_does_once_a_writer_comes(tmp_path, writer_delay):
    """SkyPilot's open() waits for a writer, then its seek fails (not seekable): RuntimeError. The
    native path gives that RuntimeError at once, with or without a writer, ten times in a row,
    opening the FIFO once (a second open would wait, or take a writer's line)."""
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    expected = (
        'raises',
        RuntimeError,
        f'Failed to read last 1 lines from {fifo}: {not_seekable_message()}',
    )
    for _ in range(10):
        writer = late_writer(fifo, writer_delay, patience=1.0) if writer_delay else None
        started = time.monotonic()
        done, got, thread = in_thread(lambda: BACKENDS['native'].read_last_n_lines(fifo, 1), 5)
        if not done:  # give the blocked call a writer, so that the run can go on
            late_writer(fifo, 0).join()
            thread.join(5)
        assert done, 'the native path waited on the FIFO'
        assert time.monotonic() - started < 1.0
        assert got == expected
        if writer:
            writer.join()
    # Python's own path, once its writer has come, fails the same way.
    late_writer(fifo, 0.3)
    done, got, _ = in_thread(lambda: BACKENDS['python'].read_last_n_lines(fifo, 1), 10)
    assert done and got == expected


def interrupted_child(setup: str, call: str, tmp_path, env=None, limit_memory=False):
    """Runs `call` in a fresh interpreter, sends SIGINT 0.3 s into it, and returns the child's
    last line and the seconds from SIGINT to its exit ('interrupted' when KeyboardInterrupt
    reached Python)."""
    code = '\n'.join(
        [
            'import os, resource, sys, skyutils',
            # A call that was not interrupted must not then fill this machine's memory.
            'resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))' if limit_memory else '',
            setup,
            'print("ready", flush=True)',
            'try:',
            f'    {call}',
            'except KeyboardInterrupt:',
            '    print("interrupted", flush=True)',
            'else:',
            '    print("finished", flush=True)',
        ]
    )
    child = subprocess.Popen(
        [sys.executable, '-c', code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
        env=dict(os.environ, **(env or {})),
    )
    try:
        assert child.stdout.readline().strip() == 'ready'
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            return 'never', 15.0
        return child.stdout.read().strip().splitlines()[-1:] or [''], time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


@needs_native
@pytest.mark.parametrize('case', ['base36_encode', 'read_last_n_lines', 'get_cpu_count'])
def test_ctrl_c_reaches_python_within_a_second(tmp_path, case):
    """Ctrl-C during the longest call each function can make: it arrives within a second.
    The tail scans 16 GiB of a sparse file with no line break; the cgroup file is a FIFO
    that no writer opens (Python's own open waits for one, interruptibly)."""
    env = {}
    if case == 'base36_encode':
        setup, call = '', 'skyutils.base36_encode("f" * 10**6)'
    elif case == 'read_last_n_lines':
        with open(tmp_path / 'sparse.log', 'wb') as f:
            f.truncate(16 << 30)
        setup, call = '', 'skyutils.read_last_n_lines("sparse.log", 1)'
    else:
        cgroup = tmp_path / 'cgroup'
        cgroup.mkdir()
        (cgroup / 'cgroup.controllers').write_text('cpu memory\n')
        os.mkfifo(cgroup / 'cpu.max')
        setup = f'from skyutils._pure import cgroup; cgroup.root = {str(cgroup)!r}'
        call = 'skyutils.get_cpu_count()'
    last, seconds = interrupted_child(setup, call, tmp_path, env, limit_memory=True)
    print(f'\nCtrl-C, {case}: {last}, {seconds:.3f} s after SIGINT')
    assert last == ['interrupted'] and seconds < 1.0, (last, seconds)


@needs_native
def test_a_cgroup_fifo_gets_python_s_answer(cgroup_tree, clean_env):
    """A FIFO at cpu.max whose writer comes late: the library does not open it for reading
    (that would block where Ctrl-C cannot reach, or take the writer's line); Python reads it
    as SkyPilot does, and both backends give the same answer."""
    cgroup_tree.v2(memory_max='max\n')
    fifo = os.path.join(cgroup_tree.root, 'cpu.max')
    os.mkfifo(fifo)
    answers = {}
    for name in ('python', 'native'):
        late_writer(fifo, 0.3, b'50000 100000\n')
        done, answers[name], _ = in_thread(BACKENDS[name].get_cpu_count, 10)
        assert done
    assert answers['native'] == answers['python'] == ('ok', 0)


def thread_memory(tmp_path, lines: int, use_rust: str):
    """Memory of a process whose 1000 threads each read a tail of `lines` lines, in bytes over
    the process before them: resident with the threads alive after their call ('alive'), and
    once they have exited, resident ('after') and what the C heap holds from the system
    ('heap', glibc's mallinfo2: its arenas and mmapped blocks, in use or kept for reuse; None
    where the libc has no mallinfo2). The heap is where the library's memory lives; Python's
    own objects and the threads' stacks are not in it."""
    log = tmp_path / 'log'
    if not log.exists():
        log.write_bytes(
            b''.join(b'2026-12-01 INFO worker %06d finished its step\n' % i for i in range(20_000))
        )
    code = textwrap.dedent('''
        import ctypes, gc, json, os, sys, threading, skyutils
        class Mallinfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'
            ).split()]
        mallinfo2 = getattr(ctypes.CDLL(None), 'mallinfo2', None)
        if mallinfo2 is not None:
            mallinfo2.restype = Mallinfo2
        def heap():
            gc.collect()
            if mallinfo2 is None:
                return None
            info = mallinfo2()
            return info.arena + info.hblkhd  # arenas' memory (used or free) + mmapped blocks
        def rss():
            with open('/proc/self/statm') as f:
                return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
        log, n = sys.argv[1], int(sys.argv[2])
        skyutils.read_last_n_lines(log, n)
        heap_before, before = heap(), rss()
        called, release = threading.Barrier(1001), threading.Event()
        def work():
            skyutils.read_last_n_lines(log, n)
            called.wait()
            release.wait()
        threads = [threading.Thread(target=work) for _ in range(1000)]
        for thread in threads:
            thread.start()
        called.wait()
        alive = rss() - before
        release.set()
        for thread in threads:
            thread.join()
        heap_after = heap()
        print(json.dumps({
            'alive': alive, 'after': rss() - before,
            'heap': None if heap_after is None else heap_after - heap_before,
            'backend': skyutils.backend_info()['functions']['read_last_n_lines']['backend']}))
    ''')
    done = subprocess.run(
        [sys.executable, '-c', code, str(log), str(lines)],
        env=dict(os.environ, SKYPILOT_USE_RUST=use_rust),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@needs_native
@pytest.mark.skipif(not os.path.isfile('/proc/self/statm'), reason='needs /proc/self/statm')
@pytest.mark.parametrize('lines', [3, 5000])  # in the library's buffer / read from the file
def test_a_thousand_threads_keep_no_memory_of_their_calls(tmp_path, lines):
    """A thread that called skyutils keeps at most 16 KiB more than on the pure path, and
    nothing once it has exited: skyutils keeps nothing per thread (no thread-local buffers).
    After exit, what counts is what the C heap holds, where the libc says (glibc): the
    process's resident memory then also holds what Python's allocator keeps, which on the
    free-threaded build (mimalloc heaps abandoned by exiting threads) varied by 150 MiB
    between runs of the same backend here (CI failed on it: +112 MiB native, +51 pure),
    while the C heap's varied by 1.6 MiB. Without mallinfo2 (musl), resident memory. The
    library before ABI 3 kept 256 KiB a thread: +253 MiB of C heap after exit (pure +3)."""
    if 'read_last_n_lines' in _dispatch.python_reasons():
        pytest.skip(f'tails are served by Python on {sys.implementation.name}')
    pure = thread_memory(tmp_path, lines, '0')
    native = thread_memory(tmp_path, lines, '1')
    assert (pure['backend'], native['backend']) == ('python', 'native')
    mib = 1 << 20
    print(
        f'\n1000 threads, {lines} lines: alive +{native["alive"] / mib:.1f} MiB native, '
        f'+{pure["alive"] / mib:.1f} MiB pure; after exit +{native["after"] / mib:.1f} / '
        f'+{pure["after"] / mib:.1f} MiB resident, C heap {native["heap"]} / {pure["heap"]} bytes'
    )
    assert native['alive'] - pure['alive'] <= 1000 * 16 * 1024, (native, pure)
    if native['heap'] is not None:
        assert native['heap'] - pure['heap'] <= 1000 * 8 * 1024, (native, pure)
    else:
        assert native['after'] - pure['after'] <= 1000 * 8 * 1024, (native, pure)


def test_a_zombie_leader_is_not_alive(impl):
    """A process whose main thread has exited while another thread runs on: /proc shows its
    leader as a zombie ('Z'), psutil says zombie, and so is_process_alive says False."""
    psutil = pytest.importorskip('psutil')
    code = (
        'import ctypes, threading, time\n'
        'threading.Thread(target=time.sleep, args=(60,)).start()\n'
        'print("ready", flush=True)\n'
        'ctypes.CDLL(None).pthread_exit(None)\n'
    )
    child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'ready'
        deadline = time.monotonic() + 10
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, 'the leader never became a zombie'
            time.sleep(0.01)
        assert len(os.listdir(f'/proc/{child.pid}/task')) >= 1  # its other thread runs on
        assert impl.is_process_alive(child.pid) is False
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


@needs_native
@pytest.mark.volume
def test_a_tail_over_2_gib_is_read_once(tmp_path):
    """os.pread reads at most 0x7ffff000 bytes a call: a longer tail is read in parts, not
    taken for a file that shrank (which would read it all again in Python)."""
    from skyutils import _fallbacks

    path = tmp_path / 'big.log'
    size = (2 << 30) + (16 << 20)
    with open(path, 'wb') as f:
        f.write(b'head\n')
        f.seek(size - 1)
        f.write(b'x')  # one line of NULs (a hole) ending in 'x', longer than 2 GiB
    before = _fallbacks.counts['read_last_n_lines']
    lines = BACKENDS['native'].read_last_n_lines(str(path), 1)
    assert _fallbacks.counts['read_last_n_lines'] == before
    assert len(lines) == 1 and len(lines[0]) == size - 5
    assert lines[0].endswith('\0x') and lines[0].count('\0') == size - 6

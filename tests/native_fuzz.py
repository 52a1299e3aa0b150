"""Fuzz targets: every exported C function driven through ctypes with random bytes, lengths,
integers and descriptors. Each target checks that the status is one the header documents and
that answers agree with Python; a crash ends the process (the runner sees the signal).

The buffers handed over are always as long as the lengths passed: the library must cope with
any content and any in-bounds length, and it checks null pointers and impossible lengths itself.
Used by tests/test_fuzz_native.py (a few thousand cases) and ci/fuzz-native (10^6 a target).
"""

import ctypes
import os
import random
import shutil
import tempfile
from ctypes import byref, c_int, create_string_buffer

from pyio import not_seekable_message

from skyutils import _abi, _native

if _native.LIB is not None:  # a Python-only install has no bindings to fuzz
    from skyutils._bindings.state import State

OK, MORE, ERR_OS, ERR_ARG, DEFER, NOT_FOUND = (
    _abi.OK,
    _abi.MORE,
    _abi.ERR_OS,
    _abi.ERR_ARG,
    _abi.DEFER,
    _abi.NOT_FOUND,
)
HEX_ALPHABET = b'0123456789abcdefABCDEF_xX+- \t\n\x0b\x0c\x1cg\x00\xff'


def random_bytes(rng: random.Random, alphabet: bytes, most: int) -> bytes:
    return bytes(rng.choice(alphabet) for _ in range(rng.randrange(most + 1)))


def fuzz_base36(rng: random.Random, lib) -> None:
    data = random_bytes(rng, HEX_ALPHABET if rng.random() < 0.8 else bytes(range(256)), 80)
    length = rng.choice([rng.randrange(len(data) + 1), -1, -(1 << 31)])  # in bounds, or bad
    needed = max(length, 0) - max(length, 0) // 5 + 3  # what the header asks of out_cap
    cap = rng.choice([needed, needed - 1, 0, 200, -1])
    out = create_string_buffer(max(cap, 1))
    result = lib.skyutils_base36_encode(data, length, out, cap)
    if cap < needed:
        assert result is None, (data[:length], cap)
    if result is not None:
        # Whatever the library encodes, Python's int() must read the same number.
        value = int(data[:length].decode('ascii'), 16)
        digits = result.decode('ascii')
        assert length >= 0 and value >= 0 and int(digits, 36) == value, (data[:length], digits)


class Files:
    """Descriptors of every kind for the tail target; closed by close()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='skyutils-fuzz-')
        self.path = os.path.join(self.dir, 'file')
        self.read_fd, self.write_fd = os.pipe()
        self.dir_fd = os.open(self.dir, os.O_RDONLY)
        self.fifo = os.path.join(self.dir, 'fifo')  # no writer ever: nothing may block on it
        os.mkfifo(self.fifo)

    def regular(self, data: bytes) -> int:
        with open(self.path, 'wb') as f:
            f.write(data)
        return os.open(self.path, os.O_RDONLY)

    def close(self):
        for fd in (self.read_fd, self.write_fd, self.dir_fd):
            os.close(fd)
        shutil.rmtree(self.dir)


def call_until_done(function, *args) -> int:
    """Calls a resumable export (the state array last in `args`) while it says MORE."""
    status = function(*args)
    while status == MORE:
        assert args[-1][_abi.STATE_FD] > 0  # MORE always keeps a descriptor
        status = function(*args)
    return status


def fuzz_read_tail(rng: random.Random, lib, files: Files) -> None:
    n = rng.choice([0, 1, 2, 3, 10, rng.randrange(-(1 << 63), 1 << 63)])
    data = random_bytes(rng, b'ab\n\r\x00\xff', rng.choice([30, 300, 3000]))
    path = rng.choice(
        [
            files.path.encode(),
            files.dir.encode(),
            files.fifo.encode(),
            b'/dev/null',
            b'/nonexistent',
            b'',
            random_bytes(rng, b'/ab\x00\xff', 20),
        ]
    )
    path_len = rng.choice([len(path), -1]) if rng.random() < 0.1 else len(path)
    cap = rng.choice([0, 1, 16, 256, 4096])
    out = create_string_buffer(max(cap, 1))
    state = State()
    for slot in range(len(state)):  # whatever a reused state holds, but no descriptor
        state[slot] = rng.randrange(-(1 << 63), 1 << 63)
    state[_abi.STATE_FD] = 0
    state[_abi.TAIL_N] = n
    with open(files.path, 'wb') as f:
        f.write(data)
    status = call_until_done(lib.skyutils_read_last_n_lines, path, path_len, out, cap, state)
    assert status in (OK, ERR_OS, ERR_ARG, DEFER), status
    if n < 1 or path_len < 0 or b'\0' in path:
        assert status == ERR_ARG
    fd = state.descriptor()
    if status != OK:
        assert fd == -1  # any other status leaves nothing open
        if status == ERR_OS and path == files.fifo.encode():
            assert state[_abi.STATE_FLAGS] & _abi.TAIL_NOT_SEEKABLE
        return
    start, length, flags = (
        state[_abi.TAIL_START],
        state[_abi.TAIL_LEN],
        state[_abi.STATE_FLAGS],
    )
    if fd >= 0:
        try:
            tail = os.pread(fd, length, start)
        finally:
            state.release()
        assert state[_abi.STATE_FD] == 0
    else:
        tail = out.raw[start : start + length]
        assert start + length <= max(cap, 0), (start, length, cap)
    if path == files.path.encode():
        if not data:
            assert flags & _abi.TAIL_EMPTY_FILE
            return
        expected = data[:-1] if data.endswith(b'\n') else data
        assert expected.endswith(tail) and expected.split(b'\n')[-n:] == tail.split(b'\n')
        plain = tail.isascii() and not any(c in tail for c in b'\r\x0b\x0c\x1c\x1d\x1e')
        if fd < 0:
            assert bool(flags & _abi.TAIL_PLAIN) == plain, (tail, flags)


def fuzz_close_state(rng: random.Random, lib, files: Files) -> None:
    state = State()
    if rng.random() < 0.5:
        state[_abi.STATE_FD] = 1 + os.open(
            files.path if os.path.exists(files.path) else '/', os.O_RDONLY
        )
    assert lib.skyutils_close_state(state) == OK
    assert state[_abi.STATE_FD] == 0
    assert lib.skyutils_close_state(state) == OK  # a second release is a no-op
    assert lib.skyutils_close_state(None) == ERR_ARG


def fuzz_text_flags(rng: random.Random, lib, files: Files) -> None:
    data = random_bytes(rng, b'ab\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x7f\x80\xff', 200)
    length = rng.choice([rng.randrange(len(data) + 1), -1])
    flags = lib.skyutils_text_flags(data, length)
    if length < 0:
        assert flags == ERR_ARG
        return
    part = data[:length]
    plain = part.isascii() and not any(c in part for c in b'\r\x0b\x0c\x1c\x1d\x1e')
    assert flags == (_abi.TAIL_PLAIN if plain else 0), (part, flags)


def fuzz_count_dir_entries(rng: random.Random, lib, files: Files) -> None:
    choices = [
        files.dir.encode(),
        files.path.encode(),
        b'/',
        b'',
        b'/proc/self/fd',
        random_bytes(rng, b'/.ab\x00\xff', 30),
    ]
    path = rng.choice(choices + [files.fifo.encode()])
    state = State()
    status = call_until_done(lib.skyutils_count_dir_entries, path, len(path), state)
    assert status in (OK, ERR_OS, ERR_ARG), status
    assert state[_abi.STATE_FD] == 0
    if status == OK and b'\0' not in path and path != b'/proc/self/fd':
        assert state[_abi.DIR_COUNT] == len(os.listdir(path)), path
    if b'\0' in path:
        assert status == ERR_ARG


def fuzz_cgroup(rng: random.Random, lib, files: Files) -> None:
    root = rng.choice(
        [
            b'/sys/fs/cgroup',
            files.dir.encode(),
            b'',
            b'/nonexistent',
            random_bytes(rng, b'/ab\x00\xff', 20),
        ]
    )
    length = rng.choice([len(root), -1]) if rng.random() < 0.1 else len(root)
    for answer in (
        lib.skyutils_get_cpu_count(root, length),
        lib.skyutils_get_mem_size_gb(root, length),
    ):
        assert answer >= 0 or answer in (DEFER, ERR_ARG), answer
        assert (answer == ERR_ARG) == (length < 0), (root, length, answer)


def fuzz_process_alive(rng: random.Random, lib) -> None:
    pid = rng.choice(
        [
            rng.randrange(-(1 << 31), 1 << 31),
            rng.randrange(-5, 1 << 22),
            os.getpid(),
            0,
            1,
            2**31 - 1,
            -(1 << 31),
        ]
    )
    assert lib.skyutils_is_process_alive(pid) in (0, 1, DEFER)


def fuzz_find_free_port(rng: random.Random, lib) -> None:
    # Starts near the top or out of range: a fuzz case must not bind 65,000 sockets.
    start = rng.choice(
        [rng.randrange(65500, 65536), rng.randrange(-(1 << 31), 0), rng.randrange(65536, 1 << 31)]
    )
    port, errno = ctypes.c_int32(), c_int()
    status = lib.skyutils_find_free_port(start, byref(port), byref(errno))
    if 0 <= start <= 65535:
        assert status in (OK, NOT_FOUND, ERR_OS), status
        if status == OK:
            assert start <= port.value < 65535
    else:
        assert status == ERR_ARG


class Interrupted(BaseException):
    """Raised by the interrupting timer's handler in the middle of a call (a BaseException, as
    KeyboardInterrupt is: code that catches Exception does not stop it)."""


def interrupt_calls(files: Files):
    """Calls of the native bindings, each with the answer Python's twin gives (computed once)."""
    from skyutils import _bindings, _pure

    if not hasattr(files, 'long_log'):
        files.long_log = os.path.join(files.dir, 'long.log')
        with open(files.long_log, 'wb') as f:
            f.write(b''.join(b'line %d\n' % i for i in range(200_000)))
        files.many = os.path.join(files.dir, 'many')
        os.mkdir(files.many)
        for i in range(300):
            open(os.path.join(files.many, str(i)), 'w').close()
    calls = [
        ('read_last_n_lines', (files.long_log, 150_000)),
        ('read_last_n_lines', (files.long_log, 3)),
        ('estimate_fd_for_directory', (files.many,)),
        ('base36_encode', ('f' * 32,)),
        ('base36_encode', ('ab' * 200,)),
        ('get_cpu_count', ()),
        ('get_mem_size_gb', ()),
        ('is_process_alive', (os.getpid(),)),
        ('get_max_workers_for_file_mounts', ({'/r': files.many},)),
    ]
    found = [
        (getattr(_bindings, name), args, outcome(getattr(_pure, name), *args))
        for name, args in calls
    ]
    # Python's twin waits for a writer here, forever; once one came, it would fail the seek.
    fifo_error = f'Failed to read last 1 lines from {files.fifo}: {not_seekable_message()}'
    return found + [
        (_bindings.read_last_n_lines, (files.fifo, 1), ('raises', RuntimeError, fifo_error))
    ]


def outcome(function, *args):
    try:
        return ('ok', function(*args))
    except Exception as e:
        return ('raises', type(e), str(e))


def fuzz_interrupted(rng: random.Random, lib, files: Files) -> None:
    """A native binding's call while a timer interrupts it: its handler re-enters the library
    (another call, whose answer it checks) or raises. Unless interrupted, the answer is
    Python's; run() checks that no descriptor was left open."""
    calls = files.interrupt_calls
    function, args, expected = rng.choice(calls)
    try:
        _ARMED[0] = True  # the handler raises only inside this try
        got = outcome(function, *args)
        _ARMED[0] = False
        assert got == expected, (function, args, got, expected)
    except Interrupted:
        pass
    finally:
        _ARMED[0] = False


_ARMED = [False]
_IN_HANDLER = [False]


def _interrupting_handler(rng: random.Random, calls):
    # The handler's own calls are the quick ones; the main loop has the long tail too.
    quick = [call for call in calls if call[1] != calls[0][1]]

    def handler(signum, frame):
        if _IN_HANDLER[0]:
            return  # an alarm during the handler's own call: one handler at a time
        if _ARMED[0] and rng.random() < 0.4:
            _ARMED[0] = False
            raise Interrupted()
        _IN_HANDLER[0] = True
        try:
            function, args, expected = rng.choice(quick)
            got = outcome(function, *args)
        finally:
            _IN_HANDLER[0] = False
        assert got == expected, ('in a handler', function, args, got)

    return handler


class _OwnEncode(str):
    """A path whose encode() names another file: open() never asks it."""

    def encode(self, *args, **kwargs):
        return b'/etc/passwd'


def fuzz_odd_arguments(rng: random.Random, lib, files: Files) -> None:
    """The bindings with arguments of odd types (floats, bools, str subclasses, huge and
    negative numbers), against the pure twins: the same answer, or the same error type and
    message."""
    from skyutils import _bindings, _pure

    if not os.path.exists(files.path) or rng.random() < 0.05:
        lines = rng.randrange(0, 3000)
        with open(files.path, 'wb') as f:
            f.write(b''.join(b'x' * rng.randrange(30) + b'\n' for _ in range(lines)))
    number = rng.choice(
        [0, 1, 3, 2000, -1, 1.5, 0.0, 4096.0, True, False, 2**63, -(2**70), '3', None]
    )
    path = rng.choice([files.path, _OwnEncode(files.path), files.dir, _OwnEncode(files.dir)])
    if rng.random() < 0.5:
        args = (path, number)
    else:
        args = (path, rng.choice([1, 10, 100]), number)
    name = rng.choice(['read_last_n_lines', 'estimate_fd_for_directory'])
    if name == 'estimate_fd_for_directory':
        args = (path,)
    want = outcome(getattr(_pure, name), *args)
    got = outcome(getattr(_bindings, name), *args)
    assert got == want, (name, args, got, want)


TARGETS = {
    'base36_encode': lambda rng, lib, files: fuzz_base36(rng, lib),
    'read_tail': fuzz_read_tail,
    'text_flags': fuzz_text_flags,
    'close_state': fuzz_close_state,
    'count_dir_entries': fuzz_count_dir_entries,
    'cgroup': fuzz_cgroup,
    'process_alive': lambda rng, lib, files: fuzz_process_alive(rng, lib),
    'find_free_port': lambda rng, lib, files: fuzz_find_free_port(rng, lib),
    'interrupted': fuzz_interrupted,
    'odd_arguments': fuzz_odd_arguments,
}


def run(target: str, cases: int, seed: int) -> int:
    """Runs `cases` random cases of one target; returns how many ran."""
    lib = _native.LIB
    assert lib is not None, _native.LOADED.reason
    rng = random.Random(seed)
    files = Files()
    try:
        if target == 'interrupted':
            _run_interrupted(rng, lib, files, cases)
        else:
            for _ in range(cases):
                TARGETS[target](rng, lib, files)
    finally:
        files.close()
    return cases


def _run_interrupted(rng: random.Random, lib, files: Files, cases: int) -> None:
    """The interrupting mode: a SIGALRM every 50-500 us whose handler re-enters or raises."""
    import signal

    files.interrupt_calls = interrupt_calls(files)
    before = len(os.listdir('/proc/self/fd'))
    previous = signal.signal(
        signal.SIGALRM, _interrupting_handler(random.Random(rng.random()), files.interrupt_calls)
    )
    try:
        for _ in range(cases):
            interval = rng.uniform(50e-6, 500e-6)
            signal.setitimer(signal.ITIMER_REAL, interval, interval)
            TARGETS['interrupted'](rng, lib, files)
    finally:
        from alarms import stop_alarms

        stop_alarms(previous)
    import gc

    gc.collect()
    # A long read cut short past its release and its finalizer is released by the next read.
    from skyutils._bindings import state

    state.sweep()
    assert len(os.listdir('/proc/self/fd')) == before, 'a descriptor was left open'

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
import tempfile
from ctypes import byref, c_int, c_int64, c_uint32, c_uint64, create_string_buffer

from skyutils import _native

OK, ERR_OS, ERR_ARG, DEFER, NOT_FOUND = (_native.OK, _native.ERR_OS, _native.ERR_ARG,
                                         _native.DEFER, _native.NOT_FOUND)
HEX_ALPHABET = b'0123456789abcdefABCDEF_xX+- \t\n\x0b\x0c\x1cg\x00\xff'


def random_bytes(rng: random.Random, alphabet: bytes, most: int) -> bytes:
    return bytes(rng.choice(alphabet) for _ in range(rng.randrange(most + 1)))


def fuzz_base36(rng: random.Random, lib) -> None:
    data = random_bytes(rng, HEX_ALPHABET if rng.random() < 0.8 else bytes(range(256)), 80)
    length = rng.choice([rng.randrange(len(data) + 1), -1, -(1 << 31)])  # in bounds, or bad
    result = lib.skyutils_base36_encode(data, length)
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

    def regular(self, data: bytes) -> int:
        with open(self.path, 'wb') as f:
            f.write(data)
        return os.open(self.path, os.O_RDONLY)

    def close(self):
        for fd in (self.read_fd, self.write_fd, self.dir_fd):
            os.close(fd)
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def fuzz_tail_range(rng: random.Random, lib, files: Files) -> None:
    n = rng.choice([0, 1, 2, 3, 10, rng.randrange(1 << 64)])
    start, end, flags, errno = c_uint64(), c_uint64(), c_uint32(), c_int()
    kind = rng.randrange(4)
    data = random_bytes(rng, b'ab\n\r\x00', 300)
    fd = {0: None, 1: files.dir_fd, 2: files.read_fd, 3: rng.choice([-1, 1 << 20, 2**31 - 1])}[kind]
    opened = fd is None
    if opened:
        fd = files.regular(data)
    try:
        status = lib.skyutils_tail_range(fd, n, byref(start), byref(end), byref(flags),
                                         byref(errno))
    finally:
        if opened:
            os.close(fd)
    assert status in (OK, ERR_OS, ERR_ARG, DEFER), status
    if status == OK and kind == 0 and not flags.value & _native.TAIL_EMPTY_FILE and n:
        tail = data[start.value:end.value]
        expected = data[:-1] if data.endswith(b'\n') else data
        assert end.value <= len(data) and expected.endswith(tail)
        assert expected.split(b'\n')[-n:] == tail.split(b'\n'), (data, n, tail)


def fuzz_read_tail(rng: random.Random, lib, files: Files) -> None:
    n = rng.choice([0, 1, 2, 3, 10, rng.randrange(-(1 << 31), 1 << 31)])
    data = random_bytes(rng, b'ab\n\r\x00\xff', rng.choice([30, 300, 3000]))
    path = rng.choice([files.path.encode(), files.dir.encode(), b'/nonexistent', b'',
                       random_bytes(rng, b'/ab\x00\xff', 20)])
    path_len = rng.choice([len(path), -1]) if rng.random() < 0.1 else len(path)
    cap = rng.choice([0, 1, 16, 256, 4096])
    out = create_string_buffer(max(cap, 1))
    info = (c_int64 * 4)()
    with open(files.path, 'wb') as f:
        f.write(data)
    status = lib.skyutils_read_tail(path, path_len, n, out, cap, info)
    assert status in (OK, ERR_OS, ERR_ARG, DEFER), status
    if n < 1 or path_len < 0:
        assert status == ERR_ARG
    if status != OK:
        return
    length, flags, fd, start = info
    if fd >= 0:
        try:
            tail = os.pread(fd, length, start)
        finally:
            os.close(fd)
    else:
        tail = out.raw[start:start + length]
        assert start + length <= max(cap, 0), (start, length, cap)
    if path == files.path.encode():
        if not data:
            assert flags & _native.TAIL_EMPTY_FILE
            return
        expected = data[:-1] if data.endswith(b'\n') else data
        assert expected.endswith(tail) and expected.split(b'\n')[-n:] == tail.split(b'\n')
        plain = tail.isascii() and not any(c in tail for c in b'\r\x0b\x0c\x1c\x1d\x1e')
        if fd < 0:
            assert bool(flags & _native.TAIL_PLAIN) == plain, (tail, flags)


def fuzz_text_flags(rng: random.Random, lib, files: Files) -> None:
    data = random_bytes(rng, b'ab\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x7f\x80\xff', 200)
    length = rng.choice([rng.randrange(len(data) + 1), -1])
    flags = lib.skyutils_text_flags(data, length)
    if length < 0:
        assert flags == ERR_ARG
        return
    part = data[:length]
    plain = part.isascii() and not any(c in part for c in b'\r\x0b\x0c\x1c\x1d\x1e')
    assert flags == (_native.TAIL_PLAIN if plain else 0), (part, flags)


def fuzz_count_dir_entries(rng: random.Random, lib, files: Files) -> None:
    choices = [files.dir.encode(), files.path.encode(), b'/', b'', b'/proc/self/fd',
               random_bytes(rng, b'/.ab\x00\xff', 30)]
    path = rng.choice(choices)
    count, errno = c_uint64(), c_int()
    status = lib.skyutils_count_dir_entries(path, len(path), byref(count), byref(errno))
    assert status in (OK, ERR_OS, ERR_ARG), status
    if status == OK and b'\0' not in path and path != b'/proc/self/fd':
        assert count.value == len(os.listdir(path)), path
    if b'\0' in path:
        assert status == ERR_ARG


def fuzz_cgroup(rng: random.Random, lib, files: Files) -> None:
    root = rng.choice([b'/sys/fs/cgroup', files.dir.encode(), b'', b'/nonexistent',
                       random_bytes(rng, b'/ab\x00\xff', 20)])
    length = rng.choice([len(root), -1]) if rng.random() < 0.1 else len(root)
    for answer in (lib.skyutils_cpu_count(root, length), lib.skyutils_memory_bytes(root, length)):
        assert answer >= 0 or answer in (DEFER, ERR_ARG), answer
        assert (answer == ERR_ARG) == (length < 0), (root, length, answer)


def fuzz_process_alive(rng: random.Random, lib) -> None:
    pid = rng.choice([rng.randrange(-(1 << 31), 1 << 31), rng.randrange(-5, 1 << 22),
                      os.getpid(), 0, 1, 2**31 - 1, -(1 << 31)])
    assert lib.skyutils_process_alive(pid) in (0, 1, DEFER)


def fuzz_find_free_port(rng: random.Random, lib) -> None:
    # Starts near the top or out of range: a fuzz case must not bind 65,000 sockets.
    start = rng.choice([rng.randrange(65500, 65536), rng.randrange(-(1 << 31), 0),
                        rng.randrange(65536, 1 << 31)])
    port, errno = ctypes.c_int32(), c_int()
    status = lib.skyutils_find_free_port(start, byref(port), byref(errno))
    if 0 <= start <= 65535:
        assert status in (OK, NOT_FOUND, ERR_OS), status
        if status == OK:
            assert start <= port.value < 65535
    else:
        assert status == ERR_ARG


TARGETS = {
    'base36_encode': lambda rng, lib, files: fuzz_base36(rng, lib),
    'read_tail': fuzz_read_tail,
    'text_flags': fuzz_text_flags,
    'tail_range': fuzz_tail_range,
    'count_dir_entries': fuzz_count_dir_entries,
    'cgroup': fuzz_cgroup,
    'process_alive': lambda rng, lib, files: fuzz_process_alive(rng, lib),
    'find_free_port': lambda rng, lib, files: fuzz_find_free_port(rng, lib),
}


def run(target: str, cases: int, seed: int) -> int:
    """Runs `cases` random cases of one target; returns how many ran."""
    lib = _native.LIB
    assert lib is not None, _native.LOADED.reason
    rng = random.Random(seed)
    files = Files()
    try:
        for _ in range(cases):
            TARGETS[target](rng, lib, files)
    finally:
        files.close()
    return cases

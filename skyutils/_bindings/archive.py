"""Native bindings of the workdir upload's work: a job that compresses files in parallel and
hands their data back in order (`ZipJob`), the SHA-256 of a zip's members (`hash_members`), and
the server's extraction of members in order (`extract`).

All are used by skyutils/skypilot/, which serves SkyPilot's own functions with them; nothing
here decides what goes in a zip.
"""

import os
from ctypes import c_char, c_int64, c_void_p
from typing import List, Optional, Tuple

from skyutils import _abi, _native
from skyutils._bindings.state import State

_LIB = _native.LIB
assert _LIB is not None, 'bindings are imported only once the library is loaded'
# With argtypes (a pointer and 64-bit ints, which direct() cannot pass): calls made once a
# batch, not once an entry.
_start = _LIB.skyutils_zip_start
_add = _LIB.skyutils_zip_add
_write = _LIB.skyutils_zip_write
_results = _LIB.skyutils_zip_results
_end = _LIB.skyutils_zip_end
_hash = _LIB.skyutils_zip_hash
_extract = _LIB.skyutils_zip_extract

# A block of a large file: what one worker compresses at a time (pigz uses 128 KiB; a larger
# block loses less to each block's restart, and the window is 2 blocks a worker).
BLOCK = 1 << 20
_WAIT_MS = 50  # the longest a wait keeps Python from its signal handlers (Ctrl-C)
THREADS_ENV = 'SKYUTILS_THREADS'  # the benchmark's: the threads a zip may use


class Changed(Exception):
    """A file changed while it was read, or could not be read: SkyPilot's own code decides."""


def threads() -> int:
    """The threads a zip uses: the CPUs this process may run on (SKYUTILS_THREADS caps it)."""
    try:
        found = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        found = os.cpu_count() or 1
    cap = os.environ.get(THREADS_ENV, '')
    if cap.isdigit() and int(cap) > 0:
        found = min(found, int(cap))
    return max(1, found)


class ZipJob:
    """An archive written in order by the library: its files (`paths`, with their planned
    `sizes`) are compressed at `level` (None: stored) from the start, while the caller adds
    the entries in order: bytes zipfile made (`add_bytes`) and each file with the local header
    zipfile made for it (`add_file`). `write(fd, offset)` writes what is ready; `finish()`
    the rest; `results()` gives each entry's (header offset, CRC-32, compressed size, size)
    and a file's SHA-256. Use as a context manager: leaving it stops the workers."""

    def __init__(self, paths: List[bytes], sizes: List[int], level: Optional[int],
                 block: Optional[int] = None) -> None:  # fmt: skip
        self._handle: Optional[c_void_p] = None
        joined = b''.join(p + b'\0' for p in paths)
        array = (c_int64 * max(1, len(sizes)))(*sizes)
        code = _abi.ZIP_STORED if level is None else level
        block = BLOCK if block is None else block
        handle = _start(joined, len(joined), array, len(paths), code, threads(), block)
        if not handle:
            raise ValueError('the library refused the zip job')
        self._handle = c_void_p(handle)
        self._layout: List[int] = []
        self._blob = bytearray()
        self._count = 0
        self._state = State()
        self._fd = -1

    def __enter__(self) -> 'ZipJob':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            _end(handle)

    def add_bytes(self, data: bytes) -> None:
        self._layout += (0, 0, 0, len(self._blob), len(data), 0)
        self._blob += data

    def add_file(self, header: bytes) -> None:
        self._layout += (1, 0, 0, len(self._blob), len(header), 0)
        self._blob += header

    def _add(self) -> None:
        layout, blob = self._layout, bytes(self._blob)
        if not layout:
            return
        count = len(layout) // _abi.ZIP_ENTRY_FIELDS
        if _add(self._handle, (c_int64 * len(layout))(*layout), count, blob, len(blob)) != _abi.OK:
            raise ValueError('the library refused the entries')
        self._count += count
        self._layout, self._blob = [], bytearray()

    def write(self, fd: int, offset: int, wait_ms: int = 0) -> bool:
        """Adds the entries given since the last call and writes what is ready of them (the
        first call at `offset`, the next where the last stopped); True when all are written.
        Raises Changed where a file changed while read (or could not be read)."""
        self._add()
        state = self._state
        if self._fd < 0:
            self._fd = fd
            state[_abi.ZIP_OFFSET] = offset
        code = _write(self._handle, fd, state, wait_ms)
        if code == _abi.OK:
            return True
        if code == _abi.MORE:
            return False
        raise Changed(f'entry {state[_abi.ZIP_ENTRY]}: status {code}, errno '
                      f'{state[_abi.STATE_ERRNO]}')  # fmt: skip

    def finish(self, fd: int, offset: int) -> int:
        """Writes everything left; returns where the writing ended."""
        while not self.write(fd, offset, _WAIT_MS):
            pass  # between waits Python runs its signal handlers (Ctrl-C)
        return self._state[_abi.ZIP_OFFSET]

    def results(self) -> Tuple[List[int], bytes]:
        """The flat results (ZIP_RESULT_FIELDS per entry) and the digests (32 bytes each)."""
        count = self._count
        results = (c_int64 * max(1, count * _abi.ZIP_RESULT_FIELDS))()
        digests = (c_char * max(1, 32 * count))()
        if _results(self._handle, results, digests, count) != _abi.OK:
            raise ValueError('the zip job has no results')
        return list(results), digests.raw


def hash_members(
    path: bytes, members: List[Tuple[int, int, int, int, int, bytes, int]]
) -> Optional[List[bytes]]:
    """The SHA-256 of each member (header offset, compressed size, size, method, CRC, raw
    name, end offset or -1) of the zip at `path`; None where zipfile must read it. OSError
    as the open raises."""
    count = len(members)
    fields = (c_int64 * max(1, count * _abi.MEMBER_FIELDS))()
    names = []
    for i, (offset, csize, size, method, crc, name, end) in enumerate(members):
        at = i * _abi.MEMBER_FIELDS
        fields[at : at + _abi.MEMBER_FIELDS] = [offset, csize, size, method, crc, len(name), end]
        names.append(name)
    joined = b''.join(names)
    out = (c_char * max(1, 32 * count))()
    state = State()
    code = _hash(path, len(path), fields, joined, len(joined), count, threads(), out, state)
    if code == _abi.OK:
        raw = bytes(out)
        return [raw[i * 32 : i * 32 + 32] for i in range(count)]
    if code == _abi.ERR_OS:
        errno = state[_abi.STATE_ERRNO]
        raise OSError(errno, os.strerror(errno), os.fsdecode(path))
    return None


def extract(zip_fd: int, directory: bytes, fields: List[int], names: bytes) -> int:
    """Extracts the members described by `fields` (EXTRACT_FIELDS each) and `names` from the zip
    open at `zip_fd` into `directory`, in order; returns how many were done (the rest are the
    caller's to do), or raises ValueError where the library refused the arguments."""
    count = len(fields) // _abi.EXTRACT_FIELDS
    array = (c_int64 * max(1, len(fields)))(*fields)
    done = _extract(zip_fd, directory, len(directory), array, names, len(names), count)
    if done < 0:
        raise ValueError(f'the library refused the extraction (status {done})')
    return done

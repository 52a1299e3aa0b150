"""Floors: the least any implementation must do for a case (bare system calls timed in the
library, or the Python objects Python must build), as timers."""

import os
import time
from typing import Callable, Optional

from skyutils import _abi, _native
from skyutils.bench.fixtures import LINE

# A timer: given a repeat count, runs that many calls and returns seconds per call.
Timer = Callable[[int], float]


def library_floor(kind: int, arg: bytes = b'', amount: int = 0) -> Optional[Timer]:
    """A timer of the bare system calls of floor `kind`, one ctypes call per round as the
    functions themselves are called (the least a ctypes library can pay); None without a
    library or where it has no such floor (not Linux)."""
    if _native.LIB is None:
        return None
    floor_ns = _native.direct('skyutils_floor_ns')
    if floor_ns(kind, arg, len(arg), amount, 1) < 0:  # also prepares it on this thread
        return None
    return python_timer(lambda: floor_ns(kind, arg, len(arg), amount, 1))


def python_timer(fn: Callable[[], object]) -> Timer:
    def timer(repeat: int) -> float:
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - start) / repeat

    return timer


def tail_bytes(path: str, n: int) -> bytes:
    """The last n lines of the bench's log, as bytes without the final newline."""
    with open(path, 'rb') as f:
        size = f.seek(0, os.SEEK_END)
        step = min(size, (n + 1) * (len(LINE) + 8))
        f.seek(size - step)
        return b'\n'.join(f.read(step).split(b'\n')[-n - 1 : -1])


def tail_floor(path: str, n: int) -> Optional[Timer]:
    """Reading the tail's bytes with one pread (system calls, in the library) plus building
    the result from them (decode, split into n str: CPython's work, which holds the GIL)."""
    data = tail_bytes(path, n)
    build = python_timer(lambda: data.decode('utf-8', 'replace').splitlines(True))
    read = library_floor(_abi.FLOOR_TAIL_READ, os.fsencode(path), len(data) + 1)
    if read is None:
        return None
    return lambda repeat: build(repeat) + read(repeat)


def cgroup_root() -> bytes:
    from skyutils._pure import cgroup

    return os.fsencode(cgroup.root)

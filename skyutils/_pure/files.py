"""Pure-Python file functions: read_last_n_lines, hash_file, estimate_fd_for_directory."""

import operator
import os
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    import hashlib

# The tail is read in blocks from 8 KiB (SkyPilot's size, right for short tails) doubling
# to 1 MiB (few reads for long ones); the result never depends on them.
_FIRST_TAIL_BLOCK = 8 * 1024
_MAX_TAIL_BLOCK = 1024 * 1024
_HASH_BLOCK = 1024 * 1024


def check_tail_args(file_path: str, n: int, chunk_size: int) -> None:
    """The reference's argument checks, in its order, shared by both backends."""
    assert n >= 0, f'n must be non-negative. Got {n}'
    assert chunk_size > 0, f'chunk_size must be positive. Got {chunk_size}'
    assert os.path.exists(file_path), f'File not found: {file_path}'


def decode_tail_lines(raw_lines: List[bytes], encoding: str, errors: str) -> List[str]:
    """Decodes each line on its own, strips trailing '\\r', ends all but the last with '\\n'."""
    lines = [line.decode(encoding, errors).rstrip('\r') + '\n' for line in raw_lines[:-1]]
    lines.append(raw_lines[-1].decode(encoding, errors).rstrip('\r'))
    return lines


def tail_read_error(n: int, file_path: str, error: OSError) -> RuntimeError:
    """The RuntimeError the reference raises for an OSError while reading."""
    return RuntimeError(f'Failed to read last {n} lines from {file_path}: {error}')


def _read_tail_bytes(f, size: int, n: int) -> bytes:
    """Reads blocks backwards from `size` until they hold n + 1 newlines or the file starts."""
    blocks = []
    newlines = 0
    pos = size
    block = _FIRST_TAIL_BLOCK
    while pos > 0 and newlines <= n:
        step = min(block, pos)
        block = min(block * 2, _MAX_TAIL_BLOCK)
        pos -= step
        f.seek(pos)
        data = f.read(step)
        blocks.append(data)
        newlines += data.count(b'\n')
    blocks.reverse()
    return b''.join(blocks)


def read_last_n_lines(
    file_path: str, n: int, chunk_size: int = 8192, encoding: str = 'utf-8', errors: str = 'replace'
) -> List[str]:
    """Returns the last n lines of a file; all but the last end with '\\n'."""
    check_tail_args(file_path, n, chunk_size)
    if n == 0:
        return []
    try:
        with open(file_path, 'rb') as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return []
            n = operator.index(n)
            data = _read_tail_bytes(f, size, n)
    except OSError as e:
        raise tail_read_error(n, file_path, e) from e
    if data.endswith(b'\n'):
        # A final newline ends the last line; it does not start an empty one.
        data = data[:-1]
    raw_lines = data.split(b'\n')[-n:]
    return decode_tail_lines(raw_lines, encoding, errors)


def hash_file(path: str, hash_alg: str) -> 'hashlib._Hash':
    """Returns a hashlib object fed with the whole file, read in bounded blocks."""
    import hashlib  # here: OpenSSL's module is a few ms of `import skyutils` otherwise

    with open(path, 'rb') as f:
        file_hash = hashlib.new(hash_alg)
        buf = bytearray(_HASH_BLOCK)
        view = memoryview(buf)
        while True:
            size = f.readinto(buf)
            if not size:
                break
            file_hash.update(view[:size])
        return file_hash


def estimate_fd_for_directory(path: str) -> int:
    """Five descriptors per entry directly in `path` (SkyPilot's rsync heuristic)."""
    return 5 * len(os.listdir(path))

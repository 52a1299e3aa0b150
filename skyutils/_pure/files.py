"""Pure-Python file functions: read_last_n_lines, hash_file, estimate_fd_for_directory."""

import os
from typing import TYPE_CHECKING, List, Optional

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


def _tail_in_chunks(f, size, n, chunk_size, encoding: str, errors: str) -> List[str]:
    """The contract's steps one by one, in `chunk_size` blocks from the end, for what the
    block reader below does not take: arguments of other types than int (a float chunk size
    fails at the seek, a float n at the slice, True is 1, as in SkyPilot) and files that read
    shorter than their size (a sysfs attribute of size 4096 that reads empty: IndexError)."""
    pos, newlines, blocks = size, 0, []
    while pos > 0 and newlines <= n:
        step = min(chunk_size, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        blocks.append(block)
        newlines += block.count(b'\n')
    lines = b''.join(reversed(blocks)).split(b'\n')
    picked = lines[-n - 1 : -1] if lines and lines[-1] == b'' else lines[-n:]
    decoded = [line.decode(encoding, errors=errors).rstrip('\r') + '\n' for line in picked[:-1]]
    decoded.append(picked[-1].decode(encoding, errors=errors).rstrip('\r'))
    return decoded


def _read_tail_bytes(f, size: int, n: int) -> Optional[bytes]:
    """Reads blocks backwards from `size` until they hold n + 1 newlines or the file starts;
    None when a block reads short (the file shrank, or is not what its size says)."""
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
        if len(data) != step:
            return None
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
    plain = type(n) is int and type(chunk_size) is int
    try:
        with open(file_path, 'rb') as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return []
            data = _read_tail_bytes(f, size, n) if plain else None
            if data is None:  # odd argument types, or a file that reads short
                return _tail_in_chunks(f, size, n, chunk_size, encoding, errors)
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

"""Native bindings of read_last_n_lines and estimate_fd_for_directory."""
import os
import sys
import threading
from ctypes import byref, c_int, c_int64, c_uint32, c_uint64, create_string_buffer
from typing import List, Optional, Tuple

from skyutils import _fallbacks, _native
from skyutils._native import ERR_OS, LIB, OK, TAIL_EMPTY_FILE, TAIL_ERROR_UNNAMED, TAIL_PLAIN
from skyutils._pure import files as pure

_read_tail = _native.direct('skyutils_read_tail')
_text_flags = _native.direct('skyutils_text_flags')
_tail_range = LIB.skyutils_tail_range
_count_entries = LIB.skyutils_count_dir_entries
_U64_MAX = 2**64 - 1
# Decoding the whole tail at once equals decoding line by line when b'\n' can never sit
# inside a character or an error range: ASCII-compatible codecs, the standard handlers.
_WHOLE_TAIL_CODECS = frozenset(['utf-8', 'utf8', 'UTF-8', 'ascii', 'latin-1', 'latin1'])
_WHOLE_TAIL_ERRORS = frozenset(['replace', 'strict', 'ignore', 'surrogateescape',
                                'backslashreplace'])
# str.splitlines() also breaks at \r, \x0b, \x0c, \x1c-\x1e (checked as bytes below) and at
# these; SkyPilot splits at b'\n' only (and strips '\r').
_OTHER_BREAK_CHARS = ('\x85', '\u2028', '\u2029')
# The library reads a tail straight into this buffer of the calling thread while everything
# its scan read fits (the scan reads 8, 16, 32, 64, 128 KiB blocks: tails to about 248 KiB,
# a thousand 200-byte lines); longer ones Python reads from the descriptor it left open.
_TAIL_BUFFER_SIZE = 256 * 1024
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
_per_thread = threading.local()


def _tail_buffers():
    """This thread's tail buffer and the library's four info slots (ctypes releases the GIL
    during the call, so threads must not share them)."""
    try:
        return _per_thread.tail
    except AttributeError:
        _per_thread.tail = (create_string_buffer(_TAIL_BUFFER_SIZE), (c_int64 * 4)())
        return _per_thread.tail


def _os_error(errno: int, path=None) -> OSError:
    """The OSError (subclass chosen by errno) Python's own call would have raised."""
    if path is None:
        return OSError(errno, os.strerror(errno))
    return OSError(errno, os.strerror(errno), path)


def decode_tail(data: bytes, encoding: str, errors: str, plain: bool = False) -> List[str]:
    """The lines of `data` (a tail without the file's final newline), decoded as SkyPilot does.
    `plain`: the library found `data` ASCII with no line break but b'\n' (TAIL_PLAIN)."""
    if encoding in _WHOLE_TAIL_CODECS and errors in _WHOLE_TAIL_ERRORS:
        if plain:
            # ASCII decodes alike in these codecs, and splitlines() finds only the b'\n' breaks.
            return _whole_tail_lines(data.decode(encoding, errors))
        # Chained `in` (memchr each) rather than any() over a generator: a short tail pays
        # ~1 us for the generator alone.
        if (b'\r' not in data and b'\x0b' not in data and b'\x0c' not in data and
                b'\x1c' not in data and b'\x1d' not in data and b'\x1e' not in data):
            try:
                text = data.decode(encoding, errors)
            except UnicodeDecodeError:
                text = None  # Decode line by line below: same error, same place in its line.
            if text is not None and (data.isascii() or
                                     not any(mark in text for mark in _OTHER_BREAK_CHARS)):
                return _whole_tail_lines(text)  # Only '\n' breaks lines here: checked above.
    return pure.decode_tail_lines(data.split(b'\n'), encoding, errors)


def _whole_tail_lines(text: str) -> List[str]:
    """A tail decoded whole, split at its '\n's (the only breaks in it): all but the last line
    keep their '\n', and a tail ending in '\n' (or empty) has an empty last line."""
    lines = text.splitlines(True)
    if not lines or text.endswith('\n'):
        lines.append('')
    return lines


def read_last_n_lines(file_path: str,
                      n: int,
                      chunk_size: int = 8192,
                      encoding: str = 'utf-8',
                      errors: str = 'replace') -> List[str]:
    """Returns the last n lines of a file; all but the last end with '\\n'."""
    if (type(n) is int and n > 0 and type(chunk_size) is int and chunk_size > 0 and
            isinstance(file_path, (str, bytes, os.PathLike))):
        # The path's existence is checked (as SkyPilot does) only if opening it fails: an
        # open descriptor proves it, and the stat would be a fifth of a short tail's cost.
        lines = None
        if n <= _native.INT_MAX:
            lines = _one_call_tail(file_path, n, encoding, errors)
        if lines is None:
            lines = _native_tail(file_path, n, encoding, errors)
        if lines is not None:
            return lines
    else:
        pure.check_tail_args(file_path, n, chunk_size)
        if n == 0:
            return []
    # Not a regular file, a file that shrank while read, or odd argument types.
    _fallbacks.record('read_last_n_lines')
    return pure.read_last_n_lines(file_path, n, chunk_size, encoding, errors)


def _one_call_tail(file_path, n: int, encoding: str, errors: str) -> Optional[List[str]]:
    """The lines, read by one library call, or None when anything went wrong: _native_tail
    then serves the call and raises exactly what Python's own calls would."""
    read = tail_bytes(file_path, n)
    if read is None:
        return None
    data, flags = read
    if flags & TAIL_EMPTY_FILE:
        return []
    return decode_tail(data, encoding, errors, flags & TAIL_PLAIN != 0)


def tail_bytes(file_path, n: int) -> Optional[Tuple[bytes, int]]:
    """The tail's bytes and flags (TAIL_EMPTY_FILE, TAIL_PLAIN): the part of a call that runs
    without the GIL (the library, os.pread). None when anything went wrong; `n` <= INT_MAX."""
    try:
        # os.fsencode's own steps for a str, inline: a short tail is 10 us all told.
        raw = (file_path.encode(_FS_ENCODING, _FS_ERRORS) if type(file_path) is str else
               os.fsencode(file_path))
    except TypeError:  # a PathLike that gives neither str nor bytes: os.open decides
        return None
    out, info = _tail_buffers()
    if len(raw) > _native.INT_MAX or _read_tail(raw, len(raw), n, out, _TAIL_BUFFER_SIZE,
                                                info) != OK:
        return None
    # Indexing the ctypes array: unpacking it iterates, three times slower.
    length, flags, fd = info[0], info[1], info[2]
    if fd < 0:
        start = info[3]  # where in `out` the scan put the tail
        return out[start:start + length], flags
    try:
        data = _pread_all(fd, length, info[3])
    except OSError as e:
        raise pure.tail_read_error(n, file_path, e) from e
    finally:
        os.close(fd)
    return None if data is None else (data, TAIL_PLAIN if _is_plain(data) else 0)


def _pread_all(fd: int, length: int, start: int) -> Optional[bytes]:
    """The `length` bytes at `start`, or None when the file shrank since the scan."""
    data = os.pread(fd, length, start) if length else b''
    return data if len(data) == length else None


def _is_plain(data: bytes) -> bool:
    """Whether the library finds `data` plain ASCII text (TAIL_PLAIN), checked without the GIL."""
    return len(data) <= _native.INT_MAX and _text_flags(data, len(data)) == TAIL_PLAIN


def _native_tail(file_path, n: int, encoding: str, errors: str) -> Optional[List[str]]:
    """The lines, or None when Python must serve the call. Python owns the descriptor:
    os.open and os.pread raise exactly the OSErrors SkyPilot's open() and read() would."""
    try:
        fd = os.open(file_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        assert os.path.exists(file_path), f'File not found: {file_path}'
        raise pure.tail_read_error(n, file_path, e) from e
    except ValueError:  # a NUL byte: os.path.exists says False, so SkyPilot asserts
        assert os.path.exists(file_path), f'File not found: {file_path}'
        raise
    try:
        start, end, flags, errno = c_uint64(), c_uint64(), c_uint32(), c_int()
        status = _tail_range(fd, min(n, _U64_MAX), byref(start), byref(end), byref(flags),
                             byref(errno))
        if status == OK:
            if flags.value & TAIL_EMPTY_FILE:
                return []
            data = _pread_all(fd, end.value - start.value, start.value)
        elif status == ERR_OS:
            named = not flags.value & TAIL_ERROR_UNNAMED
            raise _os_error(errno.value, os.fspath(file_path) if named else None)
        else:
            return None
    except OSError as e:
        raise pure.tail_read_error(n, file_path, e) from e
    finally:
        os.close(fd)
    return None if data is None else decode_tail(data, encoding, errors, _is_plain(data))


def estimate_fd_for_directory(path: str) -> int:
    """Five descriptors per entry directly in `path` (SkyPilot's rsync heuristic)."""
    if isinstance(path, (str, bytes, os.PathLike)):
        raw = os.fsencode(path)
        if b'\0' not in raw:
            count = c_uint64()
            errno = c_int()
            status = _count_entries(raw, len(raw), byref(count), byref(errno))
            if status == OK:
                return 5 * count.value
            if status == ERR_OS:
                raise _os_error(errno.value, path)
    _fallbacks.record('estimate_fd_for_directory')
    return pure.estimate_fd_for_directory(path)

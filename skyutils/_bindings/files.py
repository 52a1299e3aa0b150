"""Native bindings of read_last_n_lines and estimate_fd_for_directory."""
import io
import os
from ctypes import POINTER, byref, c_int, c_size_t, c_uint8, c_uint32, c_uint64, string_at
from typing import List

from skyutils import _fallbacks
from skyutils._native import ERR_OS, LIB, OK, TAIL_EMPTY_FILE, TAIL_ERROR_UNNAMED
from skyutils._pure import files as pure

_read_tail = LIB.skyutils_read_tail
_free_buffer = LIB.skyutils_free_buffer
_count_entries = LIB.skyutils_count_dir_entries
_U64_MAX = 2**64 - 1
# Decoding the whole tail at once equals decoding line by line when b'\n' can never sit
# inside a character or an error range: ASCII-compatible codecs, the standard handlers.
_WHOLE_TAIL_CODECS = frozenset(['utf-8', 'utf8', 'UTF-8', 'ascii', 'latin-1', 'latin1'])
_WHOLE_TAIL_ERRORS = frozenset(['replace', 'strict', 'ignore', 'surrogateescape',
                                'backslashreplace'])


def decode_tail(data: bytes, encoding: str, errors: str) -> List[str]:
    """The lines of `data` (a tail without the file's final newline), decoded as SkyPilot does."""
    if encoding in _WHOLE_TAIL_CODECS and errors in _WHOLE_TAIL_ERRORS and b'\r' not in data:
        try:
            text = data.decode(encoding, errors)
        except UnicodeDecodeError:
            text = None  # Decode line by line below: same error, same position in its line.
        if text is not None:
            lines = io.StringIO(text, newline='\n').readlines()  # splits on '\n' only, in C
            if not lines or text.endswith('\n'):
                lines.append('')
            return lines
    return pure.decode_tail_lines(data.split(b'\n'), encoding, errors)


def _os_error(errno: int, path=None) -> OSError:
    """The OSError (subclass chosen by errno) Python's own call would have raised."""
    if path is None:
        return OSError(errno, os.strerror(errno))
    return OSError(errno, os.strerror(errno), path)


def read_last_n_lines(file_path: str,
                      n: int,
                      chunk_size: int = 8192,
                      encoding: str = 'utf-8',
                      errors: str = 'replace') -> List[str]:
    """Returns the last n lines of a file; all but the last end with '\\n'."""
    pure.check_tail_args(file_path, n, chunk_size)
    if n == 0:
        return []
    if type(n) is int and isinstance(file_path, (str, bytes, os.PathLike)):
        path = os.fsencode(file_path)
        buffer = POINTER(c_uint8)()
        size = c_size_t()
        flags = c_uint32()
        errno = c_int()
        status = _read_tail(path, len(path), min(n, _U64_MAX), byref(buffer), byref(size),
                            byref(flags), byref(errno))
        if status == OK:
            if flags.value & TAIL_EMPTY_FILE:
                return []
            try:
                data = string_at(buffer, size.value)
            finally:
                _free_buffer(buffer, size.value)
            return decode_tail(data, encoding, errors)
        if status == ERR_OS:
            named = not flags.value & TAIL_ERROR_UNNAMED
            error = _os_error(errno.value, os.fspath(file_path) if named else None)
            raise pure.tail_read_error(n, file_path, error) from error
    # Not a regular file, a file that shrank while read, or odd argument types.
    _fallbacks.record('read_last_n_lines')
    return pure.read_last_n_lines(file_path, n, chunk_size, encoding, errors)


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

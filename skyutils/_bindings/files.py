"""Native bindings of read_last_n_lines and estimate_fd_for_directory."""

import io
import os
import sys
from ctypes import create_string_buffer
from typing import List, Optional, Tuple

from skyutils import _fallbacks, _native
from skyutils._abi import (
    DIR_COUNT,
    ERR_OS,
    MORE,
    OK,
    STATE_ERRNO,
    STATE_FD,
    STATE_FLAGS,
    TAIL_EMPTY_FILE,
    TAIL_ERROR_UNNAMED,
    TAIL_LEN,
    TAIL_N,
    TAIL_NOT_SEEKABLE,
    TAIL_OFFSET,
    TAIL_PLAIN,
    TAIL_START,
)
from skyutils._bindings import state as _states
from skyutils._bindings.state import State, hold
from skyutils._pure import files as pure

_read_tail = _native.direct('skyutils_read_last_n_lines')
_text_flags = _native.direct('skyutils_text_flags')
_count_entries = _native.direct('skyutils_count_dir_entries')
_I64_MAX = 2**63 - 1
# Decoding the whole tail at once equals decoding line by line when b'\n' can never sit
# inside a character or an error range: ASCII-compatible codecs, the standard handlers.
_WHOLE_TAIL_CODECS = frozenset(['utf-8', 'utf8', 'UTF-8', 'ascii', 'latin-1', 'latin1'])
_WHOLE_TAIL_ERRORS = frozenset(
    ['replace', 'strict', 'ignore', 'surrogateescape', 'backslashreplace']
)
# str.splitlines() also breaks at \r, \x0b, \x0c, \x1c-\x1e (checked as bytes below) and at
# these; SkyPilot splits at b'\n' only (and strips '\r').
_OTHER_BREAK_CHARS = ('\x85', '\u2028', '\u2029')
# The library reads a tail straight into a buffer of this size while everything its scan read
# fits (the first 8 KiB block: short tails such as SkyPilot's n=10); longer ones Python reads
# from the descriptor the library left open. Buffers are pooled, not per thread: each call
# takes one (with its state array) and gives it back once the tail is copied out, so a nested
# call (a signal handler's) never shares one, and a thousand threads keep no more than
# _POOL_KEEP of them between them.
_TAIL_BUFFER_SIZE = 8 * 1024
_POOL_KEEP = 16
_free_calls: list = []
# os.pread reads at most 0x7ffff000 bytes a call on Linux: longer tails are read in parts of
# this size, each short enough (~0.1 s) to let Ctrl-C through between them.
_PREAD_PART = 1 << 28
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


# CPython's open() and os.listdir encode a str subclass's characters; PyPy's call its encode()
# method, as os.fsencode does.
_OPEN_ENCODES_CHARACTERS = sys.implementation.name != 'pypy'


def path_bytes(path) -> bytes:
    """The bytes this Python's open() opens for `path`: os.fsencode's, except that on CPython a
    str subclass's own encode() is not called (open() encodes the characters)."""
    path = os.fspath(path)
    if isinstance(path, str) and _OPEN_ENCODES_CHARACTERS:
        return str.encode(path, _FS_ENCODING, _FS_ERRORS)
    return os.fsencode(path)


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
        if (
            b'\r' not in data
            and b'\x0b' not in data
            and b'\x0c' not in data
            and b'\x1c' not in data
            and b'\x1d' not in data
            and b'\x1e' not in data
        ):
            try:
                text = data.decode(encoding, errors)
            except UnicodeDecodeError:
                text = None  # Decode line by line below: same error, same place in its line.
            if text is not None and (
                data.isascii() or not any(mark in text for mark in _OTHER_BREAK_CHARS)
            ):
                return _whole_tail_lines(text)  # Only '\n' breaks lines here: checked above.
    return pure.decode_tail_lines(data.split(b'\n'), encoding, errors)


def _whole_tail_lines(text: str) -> List[str]:
    """A tail decoded whole, split at its '\n's (the only breaks in it): all but the last line
    keep their '\n', and a tail ending in '\n' (or empty) has an empty last line."""
    lines = text.splitlines(True)
    if not lines or text.endswith('\n'):
        lines.append('')
    return lines


def read_last_n_lines(
    file_path: str, n: int, chunk_size: int = 8192, encoding: str = 'utf-8', errors: str = 'replace'
) -> List[str]:
    """Returns the last n lines of a file; all but the last end with '\\n'."""
    if (
        type(n) is int
        and n > 0
        and type(chunk_size) is int
        and chunk_size > 0
        and isinstance(file_path, (str, bytes, os.PathLike))
    ):
        # The path's existence is checked (as SkyPilot does) only if opening it fails: an
        # open descriptor proves it, and the stat would be a fifth of a short tail's cost.
        read = tail_bytes(file_path, n)
        if read is not None:
            data, flags = read
            if flags & TAIL_EMPTY_FILE:
                return []
            return decode_tail(data, encoding, errors, flags & TAIL_PLAIN != 0)
    else:
        pure.check_tail_args(file_path, n, chunk_size)
        if n == 0:
            return []
    # A file that shrank while read, a device, a NUL in the path, or odd argument types.
    _fallbacks.record('read_last_n_lines')
    return pure.read_last_n_lines(file_path, n, chunk_size, encoding, errors)


def tail_bytes(file_path, n: int) -> Optional[Tuple[bytes, int]]:
    """The tail's bytes and flags (TAIL_EMPTY_FILE, TAIL_PLAIN): the part of a call that runs
    without the GIL (the library, os.pread). Raises what SkyPilot's reads raise; None when
    Python must serve the call. `n` >= 1."""
    try:
        # os.fsencode's own steps for a str, inline: a short tail is 10 us all told.
        raw = (
            file_path.encode(_FS_ENCODING, _FS_ERRORS)
            if type(file_path) is str
            else path_bytes(file_path)
        )
    except TypeError:  # a PathLike that gives neither str nor bytes: Python's open() decides
        return None
    if len(raw) > _native.INT_MAX:
        return None
    if _states._open:  # a long read cut short earlier left its state here: release it now
        _states.sweep()
    try:
        out, state = _free_calls.pop()
    except IndexError:
        out, state = create_string_buffer(_TAIL_BUFFER_SIZE), State()
    state[TAIL_N] = n if n <= _I64_MAX else _I64_MAX
    # From the first library call until the descriptor it may leave is closed, one `try`: an
    # interrupt anywhere in it, the normal path's release() included, lands in the `except`,
    # which closes the descriptor before the call ends, on every interpreter (PyPy runs
    # finalizers only when it collects). Only a second interrupt, inside that `except`, leaves
    # it to the state held for the next read's sweep.
    try:
        status = _read_tail(raw, len(raw), out, _TAIL_BUFFER_SIZE, state)
        if state[STATE_FD]:  # a long read: held until released, whatever interrupts it
            hold(state)
        while status == MORE:  # a long scan, in bounded steps: Ctrl-C gets through between them
            status = _read_tail(raw, len(raw), out, _TAIL_BUFFER_SIZE, state)
        data = None
        if status == OK and state[STATE_FD]:
            data = _read_left_open(state, n, file_path)
            state.release()
            # The scan counted n lines in the bytes it read; os.pread read them again. A file
            # rewritten in between (or shrunk) gives other bytes: Python's twin reads it,
            # counting the lines of the very bytes it returns.
            if data is None or not _holds_lines(data, n, state[TAIL_OFFSET]):
                return None
    except BaseException:
        state.release()
        raise
    if status != OK:  # nothing is left open: the buffer and state can serve again
        # Read before giving back: from then a signal handler's call may take and refill them.
        errno, flags = state[STATE_ERRNO], state[STATE_FLAGS]
        _give_back(out, state)
        if status == ERR_OS:
            _raise_tail_error(file_path, n, errno, flags)
        return None
    if data is None:  # the tail is in the library's buffer
        start = state[TAIL_START]
        data, flags = out[start : start + state[TAIL_LEN]], state[STATE_FLAGS]
    else:
        flags = TAIL_PLAIN if _is_plain(data) else 0
    _give_back(out, state)
    return data, flags


def _holds_lines(data: bytes, n: int, offset: int) -> bool:
    """Whether `data` (a tail without the final newline) is n lines, or fewer from the file's
    start, as the scan found it."""
    lines = data.count(b'\n') + 1
    return lines == n or (offset == 0 and lines <= n)


def _read_left_open(state: State, n: int, file_path) -> Optional[bytes]:
    """The tail the library left in the state's open descriptor (None: the file shrank).
    A function of its own: a `try` nested in tail_bytes' own would open a gap (the `try`
    line) that tail_bytes' handler does not cover under CPython's tracing."""
    try:
        return _pread_all(state.descriptor(), state[TAIL_LEN], state[TAIL_START])
    except OSError as e:
        raise pure.tail_read_error(n, file_path, e) from e


def _give_back(out, state: State) -> None:
    if len(_free_calls) < _POOL_KEEP:
        _free_calls.append((out, state))


_not_seekable: List[tuple] = []


class _Unseekable(io.RawIOBase):
    """A raw stream that says it cannot seek: what a FIFO's FileIO says."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _not_seekable_args() -> tuple:
    """The arguments of the error this Python's io raises on seeking an unseekable file, got
    from io itself once: the text differs between implementations (PyPy has no final period).
    Asked of a stream with no descriptor: a pipe's two could leak when an interrupt lands
    between their closes (CI saw 'a descriptor was left open' in the interrupted fuzzer)."""
    if not _not_seekable:
        try:
            io.BufferedReader(_Unseekable()).seek(0, os.SEEK_END)
            args: tuple = ('File or stream is not seekable.',)  # not reached
        except io.UnsupportedOperation as e:
            args = e.args
        _not_seekable.append(args)
    return _not_seekable[0]


def _raise_tail_error(file_path, n: int, errno: int, flags: int) -> None:
    """Raises what SkyPilot raises for the library's ERR_OS: an open() error names the file
    (once SkyPilot's existence check has passed), a seek or read error does not."""
    if flags & TAIL_NOT_SEEKABLE:
        # What SkyPilot's buffered reader raises before it tries to seek (errno is ESPIPE).
        error: OSError = io.UnsupportedOperation(*_not_seekable_args())
    elif flags & TAIL_ERROR_UNNAMED:
        error = _os_error(errno)
    else:
        assert os.path.exists(file_path), f'File not found: {file_path}'
        error = _os_error(errno, os.fspath(file_path))
    raise pure.tail_read_error(n, file_path, error) from error


def _pread_all(fd: int, length: int, start: int) -> Optional[bytes]:
    """The `length` bytes at `start`, or None when the file shrank since the scan."""
    data = os.pread(fd, min(length, _PREAD_PART), start) if length else b''
    if len(data) == length:
        return data
    parts = [data]
    done = len(data)
    while done < length:
        part = os.pread(fd, min(length - done, _PREAD_PART), start + done)
        if not part:
            return None
        parts.append(part)
        done += len(part)
    return b''.join(parts)


def _is_plain(data: bytes) -> bool:
    """Whether the library finds `data` plain ASCII text (TAIL_PLAIN), checked without the GIL."""
    return len(data) <= _native.INT_MAX and _text_flags(data, len(data)) == TAIL_PLAIN


def estimate_fd_for_directory(path: str) -> int:
    """Five descriptors per entry directly in `path` (SkyPilot's rsync heuristic)."""
    if isinstance(path, (str, bytes, os.PathLike)):
        raw = path_bytes(path)
        if b'\0' not in raw and len(raw) <= _native.INT_MAX:
            if _states._open:  # see tail_bytes
                _states.sweep()
            state = State()
            try:
                status = _count_entries(raw, len(raw), state)
                if state[STATE_FD]:  # a huge directory: held until released (see tail_bytes)
                    hold(state)
                while status == MORE:  # a huge directory, in bounded steps (see tail_bytes)
                    status = _count_entries(raw, len(raw), state)
            except BaseException:
                state.release()
                raise
            if status == OK:
                return 5 * state[DIR_COUNT]
            if status == ERR_OS:
                raise _os_error(state[STATE_ERRNO], path)
    _fallbacks.record('estimate_fd_for_directory')
    return pure.estimate_fd_for_directory(path)

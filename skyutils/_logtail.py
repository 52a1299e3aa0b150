"""The tail block of SkyPilot's log streamer (`sky.server.stream_utils._tail_log_file`, what
`sky api logs --tail N` and the request, server and provision logs wait on), found from the
end of the file instead of by reading all of it a line at a time.

SkyPilot's block reads every line of the open file (split at b'\\n'), decodes each as UTF-8
with errors='replace', drops those its own `decode_payload(..., raise_for_mismatch=False)`
calls payloads, and keeps the last N in a deque; the follow phase then reads on from where
that read stopped, the file's end. `last_lines()` gives the same lines and the same end: the
library's tail scan finds the last lines, which are decoded and asked of `decode_payload` one
by one from the last, and where payloads among them leave fewer than N, the scan goes on
backwards in blocks. Memory follows the N lines (and the payload lines among them), never the
file. It runs in a worker thread, as SkyPilot's own reads do.
"""

import os
import stat
from typing import Callable, List, Optional, Tuple

from skyutils._abi import TAIL_EMPTY_FILE
from skyutils._bindings import files

_MARGIN = 8  # lines asked beyond N at first, for payload lines among the last ones
_BLOCK = 1 << 20  # the backward scan's read where payloads leave fewer than N lines
_FD_PATHS = '/proc/self/fd'  # the open file by path, as the library opens paths: same inode


def last_lines_of(raw, tail: int, decode_payload: Callable) -> Optional[Tuple[List[str], int]]:
    """last_lines() of the buffered file `raw` (aiofiles' file's own), read from its start;
    None where SkyPilot's own read must decide (not at its start, not a regular file, no
    /proc/self/fd, an error, a file that shrank)."""
    try:
        if raw.tell() != 0:
            return None
        fd = os.dup(raw.fileno())  # the streamer may close its file while this thread reads
    except (OSError, ValueError, AttributeError):
        return None
    try:
        return last_lines(fd, tail, decode_payload)
    finally:
        os.close(fd)


def last_lines(fd: int, tail: int, decode_payload: Callable) -> Optional[Tuple[List[str], int]]:
    """(the last `tail` lines SkyPilot's block keeps, as it yields them; the offset its read
    ends at) for the regular file open at `fd`; None where Python must read it all."""
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or not os.path.isdir(_FD_PATHS):
            return None
        size = found.st_size
        if tail == 0:
            return [], size  # SkyPilot reads to the end and keeps nothing
        span = files.tail_span(f'{_FD_PATHS}/{fd}', tail + _MARGIN)
        if span is None:
            return None
        data, flags, start = span
        if flags & TAIL_EMPTY_FILE:
            return [], 0
        # The tail leaves the file's final newline out: the byte after it says whether the
        # last line has one (a byte written since is the follow phase's, as SkyPilot's
        # read would have stopped before it too, or read it as part of the line).
        newline = os.pread(fd, 1, start + len(data)) == b'\n'
        end = start + len(data) + newline
        raw = data.split(b'\n')
        newest = [raw.pop() + (b'\n' if newline else b'')]
        newest.extend(line + b'\n' for line in reversed(raw))
    except (OSError, RuntimeError):  # SkyPilot's own read meets the error, as ever
        return None
    kept: List[str] = []
    if _keep(newest, tail, kept, decode_payload):
        return kept[::-1], end
    carry, pos = b'', start  # lines before `start` are whole: each ends with b'\n'
    while pos > 0:
        step = min(_BLOCK, pos)
        pos -= step
        try:
            block = os.pread(fd, step, pos)
        except OSError:
            return None
        if len(block) != step:
            return None  # the file shrank: SkyPilot's own read
        parts = (block + carry).split(b'\n')
        parts.pop()  # the block ends with b'\n': nothing follows it
        carry = b'' if pos == 0 else parts.pop(0) + b'\n'  # its first line may start earlier
        older = [line + b'\n' for line in reversed(parts)]
        if _keep(older, tail, kept, decode_payload):
            return kept[::-1], end
    return kept[::-1], end


def _keep(newest_first: List[bytes], tail: int, kept: List[str], decode_payload) -> bool:
    """Adds the lines that are not payloads to `kept` (newest first), as SkyPilot decides
    them; True once `kept` holds `tail` lines."""
    for line in newest_first:
        is_payload, text = decode_payload(
            line.decode('utf-8', errors='replace'), raise_for_mismatch=False
        )
        if not is_payload:
            kept.append(text)
            if len(kept) == tail:
                return True
    return False

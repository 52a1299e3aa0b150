"""The tail block of SkyPilot's log streamer (`sky.server.stream_utils._tail_log_file`, what
`sky api logs --tail N` and the request, server and provision logs wait on), found from the
end of the file instead of by reading all of it a line at a time.

SkyPilot's block reads every line of the open file (split at b'\\n'), decodes each as UTF-8
with errors='replace', drops those its own `decode_payload(..., raise_for_mismatch=False)`
calls payloads, keeps the last N in a deque and yields them; the follow phase then reads on
from where that read stopped, the file's end. `Tail` gives the same lines and the same end in
short steps, each one executor job (at most `_STEP` bytes read and decided), so the event loop's
executor stays free for everyone else and a cancelled stream stops within one step:

1. `find_start` steps backwards from the end to the offset the last N kept lines start at:
   first counting newlines only (where the file has no more than N lines, all of it is kept:
   nothing is decoded twice), then deciding lines from the newest until N are kept.
2. `next_lines` steps forwards from there, deciding each line as SkyPilot's block does and
   giving the kept ones, in the file's order, to be yielded as they come.

Memory follows one step, never N nor the file.
"""

import os
import stat
import threading
from typing import Callable, List, Optional

_FIRST = 64 << 10  # the first backward step: a short tail needs no more
_STEP = 64 << 10  # a step decides at most this many bytes: a few ms of executor time
_COUNT_STEP = 1 << 20  # counting newlines alone (no decoding) goes this far in one step


class Tail:
    """The tail block of one open log file, served in steps (see the module's docstring)."""

    def __init__(self, fd: int, end: int):
        self._fd = fd  # our own duplicate: the streamer may close its file meanwhile
        self._lock = threading.Lock()  # a step in a worker thread against close() in the loop
        self.end = end  # where SkyPilot's read of every line ends: the size when opened
        self.start = -1  # where the kept lines start, once find_start has found it
        self._pos = end  # the backward search: everything from here on is decided
        self._lines = 0  # lines from _pos to the end (while counting) or kept (while deciding)
        self._counting = True
        self._step = _FIRST
        self._forward = False
        self._carry: List[bytes] = []  # forwards: the start of a line that goes on
        self._done = False

    @classmethod
    def open(cls, raw) -> Optional['Tail']:
        """A Tail of aiofiles' buffered file `raw`, read from its start; None where SkyPilot's
        own read must decide (not at its start, not a regular file, a size that is no file's
        length, as /proc's 0 and sysfs' 4096, an error)."""
        try:
            if raw.tell() != 0:
                return None
            fd = os.dup(raw.fileno())
        except (OSError, ValueError, AttributeError):
            return None
        try:
            found = os.fstat(fd)
            end = found.st_size
            # The last byte must be there: the size of a file that has none is no length.
            if stat.S_ISREG(found.st_mode) and end > 0 and len(os.pread(fd, 1, end - 1)) == 1:
                return cls(fd, end)
        except OSError:
            pass
        os.close(fd)
        return None

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _pread(self, length: int, offset: int) -> bytes:
        with self._lock:
            if self._fd < 0:
                raise OSError('the tail was closed')
            return os.pread(self._fd, length, offset)

    def find_start(self, tail: int, decode_payload: Callable) -> Optional[bool]:
        """One step of finding where the last `tail` kept lines start: True once found
        (`start`), None while not yet, False where SkyPilot's own read must decide (the file
        shrank, an error)."""
        if tail == 0 or (self._counting and self.end <= tail):  # no more lines than bytes
            self.start = self.end if tail == 0 else 0
            return True
        lo = max(0, self._pos - (_COUNT_STEP if self._counting else self._step))
        try:
            data = self._pread(self._pos - lo, lo)
        except OSError:
            return False
        if len(data) != self._pos - lo:
            return False  # the file shrank: SkyPilot's own read
        if self._counting:
            return self._count(data, lo, tail)
        return self._decide(data, lo, tail, decode_payload)

    def _count(self, data: bytes, lo: int, tail: int) -> Optional[bool]:
        """Newlines only: a file of no more than `tail` lines is kept whole."""
        if self._pos == self.end and not data.endswith(b'\n'):
            self._lines += 1  # the last line, without its newline
        self._lines += data.count(b'\n')
        self._pos = lo
        if self._lines > tail:  # more lines than kept: decide them from the end
            self._counting, self._pos, self._lines = False, self.end, 0
            return None
        if lo == 0:
            self.start = 0
            return True
        return None

    def _decide(self, data: bytes, lo: int, tail: int, decode_payload: Callable) -> Optional[bool]:
        """Lines from the newest, as SkyPilot decides them, until `tail` are kept."""
        parts = data.split(b'\n')
        if len(parts) == 1:  # no newline: one line (from the end), or part of one
            newest_first = [data] if lo == 0 else []
        else:
            # After the last newline: the file's last line (from the end only; else b'').
            newest_first = [parts[-1]] if parts[-1] else []
            newest_first.extend(line + b'\n' for line in reversed(parts[1:-1]))
            if lo == 0:
                newest_first.append(parts[0] + b'\n')  # else it may start before the block
        if not newest_first:
            self._step *= 2  # no whole line here: read further back at once
            return None
        pos = self._pos
        for line in newest_first:
            is_payload, _ = decode_payload(
                line.decode('utf-8', errors='replace'), raise_for_mismatch=False
            )
            pos -= len(line)
            if not is_payload:
                self._lines += 1
                if self._lines == tail:
                    self.start = pos
                    return True
        self._pos = pos
        self._step = min(self._step * 2, _STEP)
        if pos == 0:
            self.start = 0
            return True
        return None

    def next_lines(self, decode_payload: Callable) -> Optional[List[str]]:
        """The next step's kept lines from `start` on, as SkyPilot's block yields them; None at
        the end (then `end` is where its read ended: earlier if the file shrank)."""
        if self._done:
            return None
        if not self._forward:
            self._forward, self._pos = True, self.start
        length = min(_STEP, self.end - self._pos)
        data = self._pread(length, self._pos) if length > 0 else b''
        self._pos += len(data)
        if len(data) < length:
            self.end = self._pos  # the file shrank: SkyPilot's read would end here too
        parts = data.split(b'\n')
        rest = parts.pop()
        if parts and self._carry:
            parts[0] = b''.join(self._carry) + parts[0]
            self._carry = []
        if rest:
            self._carry.append(rest)
        lines = [part + b'\n' for part in parts]
        if self._pos >= self.end:
            self._done = True
            if self._carry:
                lines.append(b''.join(self._carry))  # the last line, without a newline
                self._carry = []
        kept = []
        for line in lines:
            is_payload, text = decode_payload(
                line.decode('utf-8', errors='replace'), raise_for_mismatch=False
            )
            if not is_payload:
                kept.append(text)
        return kept

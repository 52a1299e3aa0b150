"""SkyPilot's `stream_response` (sky.client.sdk), served: every streamed log a SkyPilot user
reads (`sky logs`, `sky jobs logs`, `sky api logs`, what `sky launch` streams) reaches the
terminal at the speed of the pipe.

SkyPilot decodes each received chunk into lines (`rich_utils.decode_rich_status`) and prints
and flushes each line: one write system call a line. Served, the chunk is decoded step for
step as SkyPilot's decoder does (the same UTF-8 handling across chunks, the same line
splitting and carried partial line, the same `\\r\\n`), and while no spinner is on, each run of
its lines that holds no payload (rich status, heartbeat, retry) or interactive-auth mark is
written and flushed at once; every marked line goes through SkyPilot's own steps, as SkyPilot's
code takes it (payloads, spinners, interactive auth, errors), and so does every line once the
stream has started a spinner. The line
count a resumable stream restarts from and the retry progress counter advance by the lines of
each chunk, as SkyPilot's advance line by line. So the bytes written are SkyPilot's, in the
same order; what changes is how often they are flushed: once per received chunk.

Served only where the decoder and the two helpers whose work a plain line skips
(`message_utils.decode_payload`, `interactive_utils.handle_interactive_auth`) are those of a
file whose function has the reference release's fingerprint (HELPER_FILES of the table), are
SkyPilot's own functions (not a mock), and their patterns are the ones relied on; otherwise
the whole call is SkyPilot's own.
"""

import hashlib
import sys
import threading
from bisect import bisect_right
from itertools import accumulate
from types import FunctionType, ModuleType
from typing import Callable, Dict, List, Optional, Tuple

from skyutils.skypilot import note

# What a line must contain to be a payload or an interactive-auth line (the helpers' patterns,
# checked at each call to be these).
PAYLOAD_PATTERN = r'<sky-payload(.*?)>(.*?)</sky-payload>'
PAYLOAD_MARK = '<sky-payload'
INTERACTIVE_PATTERN = r'<sky-interactive session="([^"]+)"/>'
INTERACTIVE_MARK = '<sky-interactive session="'

last: Dict[str, Optional[str]] = {'outcome': None}
_verified_files: Dict[str, bool] = {}  # a helper module's file -> whether HELPER_FILES has it
_lock = threading.Lock()


class Block:
    """A chunk's plain lines: written at once."""

    __slots__ = ('lines', 'text')

    def __init__(self, lines: List[str], text: str):
        self.lines = lines
        self.text = text


def make(module, original: Callable) -> Callable:
    def stream_response(request_id, response, output_stream=None, resumable=False,
                        get_result=True, relay_rich_status=False):  # fmt: skip
        why = _why_not(module)
        if why is not None:
            note(last, 'stream_response', f"SkyPilot's own: {why}")
            return original(
                request_id, response, output_stream, resumable, get_result, relay_rich_status
            )
        note(last, 'stream_response', 'served')
        return _stream(module, request_id, response, output_stream, resumable, get_result,
                       relay_rich_status)  # fmt: skip

    return stream_response


def _genuine(function, module) -> bool:
    return (
        type(function) is FunctionType
        and function.__module__ == module.__name__
        and function.__code__.co_filename == getattr(module, '__file__', None)
    )


def _verified_file(module) -> bool:
    """Whether `module`'s file is one HELPER_FILES lists (hashed once a process)."""
    path = getattr(module, '__file__', None)
    if not isinstance(path, str):
        return False
    with _lock:
        known = _verified_files.get(path)
    if known is None:
        import _skyutils_hook

        files = _skyutils_hook.verified_table().HELPER_FILES.get(module.__name__, {})
        try:
            with open(path, 'rb') as f:
                known = hashlib.sha256(f.read()).hexdigest() in files
        except OSError:
            known = False
        with _lock:
            _verified_files[path] = known
    return known


def _why_not(sdk) -> Optional[str]:
    """Why this call must be SkyPilot's own, or None."""
    rich_utils = getattr(sdk, 'rich_utils', None)
    interactive_utils = getattr(sdk, 'interactive_utils', None)
    message_utils = getattr(rich_utils, 'message_utils', None)
    if not all(type(m) is ModuleType for m in (rich_utils, interactive_utils, message_utils)):
        return 'a module it reads is not a module (a stand-in)'
    helpers: Tuple[Tuple[ModuleType, str], ...] = (
        (rich_utils, 'decode_rich_status'),  # type: ignore[assignment]
        (message_utils, 'decode_payload'),
        (interactive_utils, 'handle_interactive_auth'),
    )
    for module, name in helpers:
        if not _genuine(module.__dict__.get(name), module):
            return f'{module.__name__}.{name} is not its own function (a mock?)'
        if not _verified_file(module):
            return f"{module.__name__}'s file is no verified release's"
    payload = getattr(message_utils, '_PAYLOAD_PATTERN', None)
    interactive = getattr(interactive_utils, 'SKY_INTERACTIVE_PATTERN', None)
    if getattr(payload, 'pattern', None) != PAYLOAD_PATTERN:
        return 'the payload pattern is not the one verified'
    if getattr(interactive, 'pattern', None) != INTERACTIVE_PATTERN:
        return 'the interactive-auth pattern is not the one verified'
    return None


def _stream(sdk, request_id, response, output_stream, resumable, get_result, relay_rich_status):
    """SkyPilot's stream_response, each Block written at once."""
    retry_context = sdk.rest.get_retry_context()
    # Where a rich display has taken stdout over (a spinner of the caller's), each write is
    # rendered as it comes: lines then go one by one, as SkyPilot writes them.
    target = sys.stdout if output_stream is None else output_stream
    batch = not type(target).__module__.startswith('rich')
    try:
        line_count = 0
        for item in blocks(sdk.rich_utils, response, relay_rich_status, batch):
            if type(item) is Block:
                count = len(item.lines)
                if retry_context is not None:
                    retry_context.progress_count += count
                start, line_count = line_count, line_count + count
                skip = 0
                if resumable and retry_context is not None:
                    skip = min(count, max(0, retry_context.line_processed - start))
                if skip < count:
                    text = item.text if skip == 0 else ''.join(item.lines[skip:])
                    print(text, flush=True, end='', file=output_stream)
                    if retry_context is not None and resumable:
                        retry_context.line_processed = line_count
                continue
            # SkyPilot's own steps, for a line of a chunk that is not plain.
            line = item
            if retry_context is not None:
                retry_context.progress_count += 1
            if line is not None:
                line_count += 1
                line = sdk.interactive_utils.handle_interactive_auth(line)
                if line is None:
                    continue
                if (
                    resumable
                    and retry_context is not None
                    and line_count <= retry_context.line_processed
                ):
                    continue
                print(line, flush=True, end='', file=output_stream)
                if retry_context is not None and resumable:
                    retry_context.line_processed = line_count
        if request_id is not None and get_result:
            return sdk.get(request_id)
        return None
    except Exception:
        sdk.logger.debug(f'To stream request logs: sky api logs {request_id}')
        raise


def _decoded(undecoded_buffer: bytes, chunk: bytes):
    """SkyPilot's decoding of a chunk after the bytes left from the last: (text, bytes left)."""
    current_bytes = undecoded_buffer + chunk
    try:
        return current_bytes.decode('utf-8'), b''
    except UnicodeDecodeError as e:
        if e.start > 0:
            encoded_msg = current_bytes[: e.start].decode('utf-8')
            remaining_bytes = current_bytes[e.start :]
            if len(remaining_bytes) < 4:  # a character's start, maybe: kept for the next chunk
                return encoded_msg, remaining_bytes
            return encoded_msg + remaining_bytes.decode('utf-8', errors='replace'), b''
        return current_bytes.decode('utf-8', errors='replace'), b''


def _marked(lines: List[str]) -> List[int]:
    """The indices of the lines holding a payload or an interactive-auth mark, ascending."""
    text = ''.join(lines)
    positions = []
    for mark in (PAYLOAD_MARK, INTERACTIVE_MARK):
        at = text.find(mark)
        while at >= 0:
            positions.append(at)
            at = text.find(mark, at + 1)
    if not positions:
        return []
    ends = list(accumulate(map(len, lines)))  # a mark has no line break: it is in one line
    return sorted({bisect_right(ends, p) for p in positions})


def blocks(rich_utils, response, relay_rich_status, batch=True):
    """SkyPilot's decode_rich_status, chunk by chunk: what it yields (a line, or None for a
    control message), with each run of a chunk's lines that holds no payload or
    interactive-auth mark as one Block, where `batch` is asked for and no spinner is on."""
    decoding_status = None
    try:
        last_line = ''
        undecoded_buffer = b''
        for chunk in response.iter_content(chunk_size=None):
            if chunk is None:
                return
            encoded_msg, undecoded_buffer = _decoded(undecoded_buffer, chunk)
            lines = encoded_msg.splitlines(keepends=True)
            if not lines:
                continue
            lines[0] = last_line + lines[0]
            last_line = lines[-1]
            if not last_line.strip(' ').endswith('\r') and not last_line.strip(' ').endswith('\n'):
                lines = lines[:-1]
            else:
                last_line = ''
            marked = _marked(lines) if batch and decoding_status is None else []
            marked.append(len(lines))  # past the last line: the end of the last run
            at = m = 0
            while at < len(lines):
                while marked[m] < at:
                    m += 1
                if batch and decoding_status is None and marked[m] != at:
                    # The plain lines up to the next marked one: one Block.
                    end = marked[m]
                    run = lines[at:end]
                    text = ''.join(run)
                    if '\r\n' in text:  # only ever at a line's end: SkyPilot's replacement
                        run = [line[:-2] + '\n' if line.endswith('\r\n') else line for line in run]
                        text = ''.join(run)
                    yield Block(run, text)
                    at = end
                    continue
                line = lines[at]
                at += 1
                if line.endswith('\r\n'):
                    line = line[:-2] + '\n'
                is_payload, decoded_line = rich_utils.message_utils.decode_payload(
                    line, raise_for_mismatch=False
                )
                if not is_payload:
                    yield line
                    continue
                control, encoded_status = rich_utils.Control.decode(decoded_line)
                if control is None:
                    continue
                if control == rich_utils.Control.RETRY:
                    raise rich_utils.exceptions.RequestInterruptedError(
                        'Streaming interrupted. Please retry.'
                    )
                if relay_rich_status:
                    if control != rich_utils.Control.HEARTBEAT:
                        yield line
                    else:
                        yield None
                    continue
                threading_ = rich_utils.threading
                if threading_.current_thread() is not threading_.main_thread():
                    yield None
                    continue
                if control == rich_utils.Control.INIT:
                    decoding_status = rich_utils.client_status(encoded_status)
                else:
                    if decoding_status is None:
                        continue
                    if control == rich_utils.Control.UPDATE:
                        decoding_status.update(encoded_status)
                    elif control == rich_utils.Control.STOP:
                        decoding_status.stop()
                    elif control == rich_utils.Control.EXIT:
                        decoding_status.__exit__(None, None, None)
                    elif control == rich_utils.Control.START:
                        decoding_status.start()
    finally:
        if decoding_status is not None:
            decoding_status.__exit__(None, None, None)

"""The served log stream against SkyPilot's own `sky.client.sdk.stream_response`: the same text
written, in the same order, for generated streams (hypothesis: lines ending in `\\n`, `\\r\\n`,
`\\r` or nothing, payload lines, heartbeats, multi-byte and invalid UTF-8 split anywhere across
chunks), the same line count and retry progress for a resumed stream, the same errors raised
where SkyPilot raises them (a RETRY control), and fewer writes; SkyPilot's own wherever a
helper is mocked or a rich display holds stdout."""

import io
import threading

import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')


@pytest.fixture(scope='module')
def streamers():
    """SkyPilot's own stream_response (never the hook's stub: proven) and the served one."""
    import reference

    reference.load()
    from sky.client import sdk

    import _skyutils_hook
    from skyutils import _served

    own = _skyutils_hook.original_of(sdk.stream_response)
    assert '_skyutils_entry' not in own.__dict__
    assert own.__code__.co_filename.replace('\\', '/').endswith('sky/client/sdk.py')
    served, why = _served.serve('stream_response', sdk, own)
    assert served is not None, why
    return own, served


class Response:
    """What stream_response reads of a requests.Response: iter_content(chunk_size=None)."""

    def __init__(self, chunks):
        self.chunks = chunks

    def iter_content(self, chunk_size=None):
        assert chunk_size is None
        return iter(self.chunks)


class Counting(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


def run(function, chunks, resumable=False, processed=None, relay=False):
    """(what was written, how it ended, the retry context's counters, writes)."""
    from sky.server import rest

    out = Counting()
    context = None
    token = None
    if processed is not None:
        context = rest.RetryContext()
        context.line_processed = processed
        token = rest._RETRY_CONTEXT.set(context)
    try:
        function(None, Response(chunks), out, resumable, True, relay)
        ended = ('ok',)
    except Exception as e:
        ended = ('raises', type(e).__name__, str(e))
    finally:
        if token is not None:
            rest._RETRY_CONTEXT.reset(token)
    counters = (context.line_processed, context.progress_count) if context else None
    return out.getvalue(), ended, counters, out.writes


def compare(streamers, chunks, **kwargs):
    from skyutils.skypilot import stream

    own, served = streamers
    theirs = run(own, chunks, **kwargs)
    stream.last['outcome'] = None
    mine = run(served, chunks, **kwargs)
    assert mine[:3] == theirs[:3]
    assert stream.last['outcome'] == 'served', stream.last['outcome']
    return theirs, mine


def payload(control, text=''):
    from sky.utils import message_utils, rich_utils

    return message_utils.encode_payload(getattr(rich_utils.Control, control).encode(text))


def test_plain_lines_written_once_per_chunk(streamers):
    chunks = [b'line %d\n' % i * 1 for i in range(3)] + [b''.join(b'x%d\n' % i for i in range(500))]
    theirs, mine = compare(streamers, chunks)
    assert theirs[3] >= 503 and mine[3] <= len(chunks) * 2  # print: the text, then end=''


def test_a_payload_splits_a_chunk_into_runs(streamers):
    """A payload line among plain ones: the plain runs around it are still written at once."""
    plain = b''.join(b'x%d\n' % i for i in range(300))
    chunk = plain + payload('HEARTBEAT').encode() + plain + b'<sky-payload>{"a": 1}</sky-payload>\n'
    theirs, mine = compare(streamers, [chunk + plain])
    assert theirs[3] >= 900 and mine[3] <= 3 * 2


PIECES = st.sampled_from(
    [b'plain line\n', b'crlf line\r\n', b'progress 10%\r', b'progress 20%\r', b'no end',
     b'\n', b'\r\n', b'  \n', b'tab\t\r  ', 'caf\u00e9 \u2603 \U0001f600\n'.encode(),
     b'bad \xff\xfe utf8\n', b'\xe2\x82', b'\xac\n', b'vt\x0bff\x0c\n', b'\x85 nel\n',
     b'<sky-payload>not json</sky-payload>\n', b'HEARTBEAT', b'UPDATE', b'DICT',
     b'text with <sky-payload in it\n', b'<sky-interactive session="x"> not a marker\n']
)  # fmt: skip


@st.composite
def streams(draw):
    pieces = draw(st.lists(PIECES, min_size=1, max_size=30))
    data = bytearray()
    for piece in pieces:
        if piece == b'HEARTBEAT':
            data += payload('HEARTBEAT').encode()
        elif piece == b'UPDATE':
            data += payload('UPDATE', 'status').encode()  # no INIT before it: ignored
        elif piece == b'DICT':
            from sky.utils import message_utils

            data += message_utils.encode_payload({'a': 1}).encode()
        else:
            data += piece
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    chunks, at = [], 0
    for cut in cuts + [len(data)]:
        chunks.append(bytes(data[at:cut]))
        at = cut
    return chunks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.booleans(), st.none() | st.integers(0, 12), st.booleans())
def test_generated_streams(streamers, chunks, resumable, processed, relay):
    compare(streamers, chunks, resumable=resumable, processed=processed, relay=relay)


def test_retry_control_raises_where_skypilot_raises(streamers):
    chunks = [b'a\nb\n', (payload('RETRY') + 'c\n').encode(), b'd\n']
    theirs, _ = compare(streamers, chunks, resumable=True, processed=0)
    assert theirs[1][1] == 'RequestInterruptedError' and theirs[0] == 'a\nb\n'


def test_resumed_stream_skips_what_was_printed(streamers):
    chunks = [b''.join(b'line %d\n' % i for i in range(10)), b'tail\n']
    for processed in (0, 3, 10, 11, 50):
        theirs, _ = compare(streamers, chunks, resumable=True, processed=processed)
        assert theirs[2][0] == max(processed, 11 if processed < 11 else processed)


def test_a_spinner_of_the_stream_turns_lines_one_by_one(streamers):
    """After an INIT control the decoder holds a spinner: lines go one by one, as SkyPilot's."""
    chunks = [b'before\n', (payload('INIT', 'working') + 'after 1\nafter 2\n').encode(),
              (payload('EXIT') + 'done\n').encode()]  # fmt: skip
    theirs, mine = compare(streamers, chunks)
    assert mine[3] == theirs[3]  # after the first chunk, a write a line, as SkyPilot's


def test_in_a_thread(streamers):
    """Off the main thread the decoder yields None for controls (SkyPilot's progress count)."""
    found = []
    chunks = [b'x\n', (payload('INIT', 's') + 'y\n').encode(), payload('HEARTBEAT').encode()]
    thread = threading.Thread(
        target=lambda: found.append(compare(streamers, chunks, resumable=True, processed=0))
    )
    thread.start()
    thread.join()
    assert found


def test_mocked_helper_is_skypilots_own(streamers):
    """A mock of a helper the served stream skips for plain lines makes the call SkyPilot's own
    (the mock is then called for every line, as SkyPilot calls it)."""
    from unittest import mock

    from skyutils.skypilot import stream

    own, served = streamers
    with mock.patch('sky.utils.message_utils.decode_payload', return_value=(True, 'X')) as m:
        out = run(served, [b'a\nb\n'])  # every line a payload, of no control: none printed
        assert out[0] == '' and m.call_count == 2
    assert stream.last['outcome'].startswith("SkyPilot's own")
    with mock.patch('sky.client.interactive_utils.handle_interactive_auth', side_effect=str.upper):
        assert run(served, [b'a\nb\n'])[0] == 'A\nB\n'
    assert run(served, [b'a\nb\n'])[0] == 'a\nb\n' and stream.last['outcome'] == 'served'


def test_rich_display_on_stdout_goes_line_by_line(streamers, monkeypatch):
    """Where a rich display holds stdout (a caller's spinner), lines are written one by one."""
    import sys

    from rich.console import Console
    from rich.file_proxy import FileProxy

    own, served = streamers
    results = []
    for function in (own, served):
        sink = Counting()
        proxy = FileProxy(Console(file=sink, force_terminal=False), sink)
        monkeypatch.setattr(sys, 'stdout', proxy)
        function(None, Response([b'a\nb\nc\n']), None, False, True, False)
        monkeypatch.undo()
        proxy.flush()
        results.append((sink.getvalue(), sink.writes))
    assert results[0] == results[1] and results[0][0] == 'a\nb\nc\n'

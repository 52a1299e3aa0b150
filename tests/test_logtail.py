"""The served tail block of SkyPilot's log streamer against SkyPilot's own
`sky.server.stream_utils._tail_log_file`: the same stream on generated logs (hypothesis), for
the installed reference and for the nightly (its wheel, in a child), and the cases the issue
names: tail 0, 1, more than the lines, None; plain_logs; follow on and off; empty files; no
final newline; \\r; invalid UTF-8; lines of megabytes; payloads among and after the last lines,
a file of payloads only; a file growing during the call."""

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')
aiofiles = pytest.importorskip('aiofiles', reason="SkyPilot's log streamer needs aiofiles")
TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope='module')
def tailers():
    """(SkyPilot's own _tail_log_file, the served one)."""
    import reference

    reference.load()
    from sky.server import stream_utils

    import _skyutils_hook
    from skyutils import _served

    original = _skyutils_hook.original_of(stream_utils._tail_log_file)
    served, why = _served.serve('_tail_log_file', stream_utils, original)
    assert served is not None, why
    return original, served


async def _stream(tailer, path, follow_append=None, want=0, **kwargs):
    """What `tailer` yields for the file at `path`, and where it leaves the file. With
    `follow_append` (bytes): follow=True, `want` chunks read, then the bytes appended and the
    first chunk after them read."""
    f = await aiofiles.open(path, 'rb')
    out = []
    try:
        if follow_append is None:
            async for chunk in tailer(f, follow=False, **kwargs):
                out.append(chunk)
        else:
            stream = tailer(f, follow=True, **kwargs)
            while len(out) < want:
                out.append(await asyncio.wait_for(stream.__anext__(), 30))
            after = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.3)  # the stream is following by now: then the file grows
            with open(path, 'ab') as w:
                w.write(follow_append)
            out.append(await asyncio.wait_for(after, 30))
            await stream.aclose()
        return out, await f.tell()
    finally:
        await f.close()


def both(tailers, path, **kwargs):
    original, served = tailers
    return [asyncio.run(_stream(t, str(path), **kwargs)) for t in (original, served)]


LINES = st.one_of(
    st.sampled_from(
        [
            b'plain line',
            b'',
            b'\r',
            b'with \r carriage',
            b'caf\xc3\xa9',
            b'bad \xff\xfe bytes',
            b'cut \xe2\x82',
            b'<sky-payload>{"a": 1}</sky-payload>',
            b'<sky-payload>{not json</sky-payload>',
            b'text <sky-payload>"x"</sky-payload> around',
            b'\x1b[1mrich\x1b[0m',
        ]
    ),
    st.binary(max_size=40).map(lambda b: b.replace(b'\n', b' ')),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    lines=st.lists(LINES, max_size=60),
    final_newline=st.booleans(),
    tail=st.sampled_from([0, 1, 2, 5, 30, 10**6]),
    plain_logs=st.booleans(),
)
def test_the_served_block_streams_what_skypilot_s_streams(
    tailers, tmp_path_factory, lines, final_newline, tail, plain_logs
):
    path = tmp_path_factory.mktemp('log') / 'a.log'
    data = b'\n'.join(lines) + (b'\n' if final_newline and lines else b'')
    path.write_bytes(data)
    theirs, ours = both(tailers, path, tail=tail, plain_logs=plain_logs)
    assert ours == theirs


@pytest.mark.parametrize(
    'data',
    [
        b'',
        b'one line, no newline',
        b'\n\n\n',
        b'<sky-payload>{"a": 1}</sky-payload>\n' * 5000,  # payloads only
        b''.join(b'line %d\n' % i for i in range(50)) + b'<sky-payload>1</sky-payload>\n' * 3000,
        b'x' * (3 << 20) + b'\n' + b'y' * (2 << 20),  # lines of megabytes
    ],
    ids=['empty', 'no newline', 'empty lines', 'payloads only', 'payloads after', 'megabytes'],
)
@pytest.mark.parametrize('tail', [0, 1, 3, 100])
def test_the_issue_s_cases(tailers, tmp_path, data, tail):
    path = tmp_path / 'a.log'
    path.write_bytes(data)
    theirs, ours = both(tailers, path, tail=tail)
    assert ours == theirs


def test_tail_none_and_odd_tails_are_skypilot_s_own(tailers, tmp_path):
    path = tmp_path / 'a.log'
    path.write_bytes(b'a\nb\n')
    for tail in (None, -1, True, 2.0):
        try:
            theirs = both(tailers, path, tail=tail)
        except (TypeError, ValueError) as e:
            with pytest.raises(type(e)):
                asyncio.run(_stream(tailers[1], str(path), tail=tail))
        else:
            assert theirs[0] == theirs[1], tail


def test_following_goes_on_as_skypilot_s(tailers, tmp_path):
    """follow=True: the tail, then what is appended, from where SkyPilot's read stopped."""
    for tail in (0, 2, 10):
        streams = []
        for tailer in tailers:
            path = tmp_path / f'{tail}-{len(streams)}.log'
            path.write_bytes(b''.join(b'line %d\n' % i for i in range(20)) + b'partial')
            streams.append(
                asyncio.run(
                    _stream(
                        tailer, str(path), follow_append=b' end\nnew line\n', tail=tail, want=tail
                    )
                )[0]
            )
        assert streams[0] == streams[1], tail


def test_a_file_growing_during_the_call(tailers, tmp_path):
    """A writer appends whole lines while the tail is read: the stream is still a suffix of
    the file with no line lost, doubled or cut, and its first 100 lines are the last 100 at
    some moment. (What may differ from SkyPilot: which appended lines come in the tail rather
    than in the follow phase.)"""
    path = tmp_path / 'growing.log'
    path.write_bytes(b''.join(b'old line %d\n' % i for i in range(200_000)))
    done = threading.Event()

    def writer():
        with open(path, 'ab', buffering=0) as f:
            i = 0
            while not done.is_set():
                f.write(b'new line %d\n' % i)
                i += 1
                time.sleep(0.0001)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out, _ = asyncio.run(_stream(tailers[1], str(path), tail=100))
    finally:
        done.set()
        thread.join()
    text = ''.join(out)
    final = path.read_bytes().decode()
    start = final.find(text)  # what was written after the stream ended follows it
    assert start >= 0 and (start == 0 or final[start - 1] == '\n') and text.endswith('\n')
    lines = text.splitlines()
    assert len(lines) >= 100 and len(set(lines)) == len(lines)


NIGHTLY = '''
import asyncio, json, random, sys
sys.path.insert(0, sys.argv[2])
from sky.server import stream_utils
import _skyutils_hook
from skyutils import _served
from test_logtail import _stream
assert stream_utils.__file__.startswith(sys.argv[1]), stream_utils.__file__
original = _skyutils_hook.original_of(stream_utils._tail_log_file)
served, why = _served.serve('_tail_log_file', stream_utils, original)
assert served is not None, why
rng = random.Random(20261203)
kinds = [b'plain', b'', b'\\r', b'bad \\xff', b'<sky-payload>{"a": 1}</sky-payload>',
         b'<sky-payload>{bad</sky-payload>', b'caf\\xc3\\xa9']
different = 0
for case in range(150):
    data = b'\\n'.join(rng.choice(kinds) for _ in range(rng.randrange(40)))
    data += rng.choice([b'', b'\\n'])
    path = f'{sys.argv[3]}/{case}.log'
    with open(path, 'wb') as f:
        f.write(data)
    kwargs = dict(tail=rng.choice([0, 1, 3, 10**6]), plain_logs=rng.random() < 0.5)
    got = [asyncio.run(_stream(t, path, **kwargs)) for t in (original, served)]
    different += got[0] != got[1]
print(json.dumps(different))
'''


def test_the_nightly_s_tail_block_is_served_alike(tmp_path):
    """skypilot-nightly 1.0.0.dev20261027 (its wheel, ahead of the reference on sys.path):
    its follow code differs, its tail block does not; 150 generated logs, no difference."""
    import reference

    from skyutils import _release

    reference.load()
    wheel = _release.download(os.path.expanduser(_release.CACHE))['1.0.0.dev20261027']
    target = tmp_path / 'nightly'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--disable-pip-version-check',
         '--target', str(target), wheel],
        check=True,
        capture_output=True,
    )  # fmt: skip
    logs = tmp_path / 'logs'
    logs.mkdir()
    done = subprocess.run(
        [sys.executable, '-c', NIGHTLY, str(target), TESTS, str(logs)],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), TESTS])),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == '0'

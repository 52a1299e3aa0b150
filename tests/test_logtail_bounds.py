"""The served tail block is bounded like SkyPilot's own (issue 27, findings 1-4): peak memory
at a huge N, short executor jobs under concurrent large tails, a cancelled stream that stops,
and the edges where SkyPilot's own decides (a /proc file, a tail deque() refuses)."""

import asyncio
import os
import time

import pytest
import test_logtail
from conftest import BACKENDS
from test_startup_hook import child

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')
aiofiles = pytest.importorskip('aiofiles', reason="SkyPilot's log streamer needs aiofiles")
TESTS = os.path.dirname(os.path.abspath(__file__))

# A fresh interpreter streams the log with SkyPilot's own tailer or the served one and says
# how far its peak resident memory grew over what the imports left.
PEAK = '''
import asyncio, json, sys


def peak():  # this process's own peak RSS (ru_maxrss would count the parent's before exec)
    with open('/proc/self/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))

sys.path.insert(0, sys.argv[1])
import aiofiles
from sky.server import stream_utils
import _skyutils_hook
from skyutils import _served
original = _skyutils_hook.original_of(stream_utils._tail_log_file)
tailer = original
if sys.argv[3] == 'served':
    tailer, why = _served.serve('_tail_log_file', stream_utils, original)
    assert tailer is not None, why

async def main(path):
    f = await aiofiles.open(path, 'rb')
    size = 0
    async for chunk in tailer(f, tail=int(sys.argv[4]), follow=False):
        size += len(chunk)
    await f.close()
    return size

asyncio.run(main(sys.argv[2] + '.small'))  # loads what streaming loads, then the measure
before = peak()
size = asyncio.run(main(sys.argv[2]))
grown = peak() - before
print(json.dumps([size, grown * 1024]))
'''


def _peak(path, kind, tail):
    with open(f'{path}.small', 'wb') as small:
        small.write(b'a line\n' * 100)
    return child(PEAK, dict(os.environ), os.path.dirname(path), TESTS, str(path), kind, str(tail))


tailers = test_logtail.tailers  # (SkyPilot's own _tail_log_file, the served one)


def test_a_huge_tail_peaks_below_skypilot_s_own(tailers, tmp_path):
    """tail=10**9 (what users type to mean "all") of a 12 MiB log of 1 KiB lines: SkyPilot's own
    holds every line in its deque; the served block holds one step. (Before: 3.5x SkyPilot's.)"""
    path = tmp_path / 'big.log'
    line = b'x' * 1000 + b'\n'
    path.write_bytes(line * (12 << 10))
    own_size, own = _peak(path, 'own', 10**9)
    served_size, served = _peak(path, 'served', 10**9)
    print(f'peak growth, 12 MiB log, tail=10**9: SkyPilot {own >> 20} MiB, served {served >> 20}')
    assert own_size == served_size == path.stat().st_size
    assert own > (8 << 20), (own, served)  # the measure sees SkyPilot's deque: it can tell
    assert served < own / 4


async def _latency_under_tails(served, path, tails, probes=40):
    """The worst wait of a trivial default-executor job while `tails` streams run."""
    loop = asyncio.get_running_loop()

    async def stream():
        f = await aiofiles.open(path, 'rb')
        try:
            async for _ in served(f, tail=10**9, follow=False):
                pass
        finally:
            await f.close()

    tasks = [asyncio.ensure_future(stream()) for _ in range(tails)]
    await asyncio.sleep(0.05)
    worst = 0.0
    for _ in range(probes):
        started = time.perf_counter()
        await loop.run_in_executor(None, int)
        worst = max(worst, time.perf_counter() - started)
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return worst


def test_six_large_tails_leave_the_executor_free(tailers, tmp_path):
    """Six concurrent tail=10**9 streams of a 32 MiB log: a trivial executor job waits
    milliseconds, not the seconds one long job per tail made it wait."""
    path = tmp_path / 'big.log'
    lines = b''.join(b'step %08d loss 0.%06d some more words\n' % (i, i) for i in range(40_000))
    path.write_bytes(lines * 19)  # 32 MiB
    worst = asyncio.run(_latency_under_tails(tailers[1], str(path), 6))
    print(f'worst executor wait under six tails: {worst * 1000:.1f} ms')
    assert worst < 0.5


def test_a_cancelled_stream_stops_within_a_step(tailers, tmp_path):
    """After the client goes (the stream is cancelled), no more of the file is read: the
    served block stops at its next step. (Before: the worker went on over the whole log.)"""
    path = tmp_path / 'big.log'
    path.write_bytes(b'%0100d\n' % 7 * 600_000)  # 58 MiB
    reads = []
    real = os.pread

    def counting(fd, length, offset):
        reads.append(length)
        return real(fd, length, offset)

    async def main():
        f = await aiofiles.open(str(path), 'rb')
        stream = tailers[1](f, tail=10**9, follow=False)
        for _ in range(10):
            await stream.__anext__()
        await stream.aclose()
        await asyncio.sleep(0.5)  # a worker that went on would read meanwhile
        await f.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, 'pread', counting)
        asyncio.run(main())
    print(f'{len(reads)} reads, {sum(reads) >> 10} KiB, of a {path.stat().st_size >> 20} MiB log')
    assert sum(reads) < (4 << 20)
    assert _open_on(path) == 0  # the served block's own descriptor is closed


def _open_on(path) -> int:
    """How many of this process's descriptors are open on `path`."""
    found = 0
    for fd in os.listdir('/proc/self/fd'):
        try:
            found += os.readlink(f'/proc/self/fd/{fd}') == str(path)
        except OSError:
            pass
    return found


# A real SIGINT (Ctrl-C) while the served block streams a large log in a fresh interpreter:
# KeyboardInterrupt reaches the caller, and no descriptor is left open on the log.
CTRL_C = """
import asyncio, json, os, signal, sys, threading
sys.path.insert(0, sys.argv[1])
import aiofiles
from sky.server import stream_utils
import _skyutils_hook
from skyutils import _served
from test_logtail_bounds import _open_on
served, why = _served.serve(
    '_tail_log_file', stream_utils, _skyutils_hook.original_of(stream_utils._tail_log_file))
lines = 0

async def main():
    global lines
    f = await aiofiles.open(sys.argv[2], 'rb')
    try:
        async for _ in served(f, tail=10**9, follow=False):
            lines += 1
            if lines == 1000:  # streaming: Ctrl-C comes now
                threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
    finally:
        await f.close()

try:
    asyncio.run(main())
    interrupted = False
except KeyboardInterrupt:
    interrupted = True
print(json.dumps([interrupted, lines, _open_on(sys.argv[2])]))
"""


def test_ctrl_c_mid_stream_leaves_no_descriptor(tmp_path):
    import reference

    reference.load()
    path = tmp_path / 'big.log'
    path.write_bytes(b'%0100d\n' % 7 * 600_000)  # 58 MiB: seconds of streaming
    interrupted, lines, still_open = child(CTRL_C, dict(os.environ), tmp_path, TESTS, str(path))
    print(f'interrupted after {lines} of 600000 lines; descriptors left on the log: {still_open}')
    assert interrupted and 1000 <= lines < 600_000
    assert still_open == 0


def test_a_file_truncated_while_streamed(tailers, tmp_path):
    """The log cut to a tenth while the served block streams it: the stream ends without an
    error, holds only the file's own lines in order, and leaves no descriptor open."""
    path = tmp_path / 'big.log'
    original = b''.join(b'line %08d\n' % i for i in range(400_000))
    path.write_bytes(original)

    async def main():
        f = await aiofiles.open(str(path), 'rb')
        out = []
        try:
            async for chunk in tailers[1](f, tail=10**9, follow=False):
                out.append(chunk)
                if len(out) == 10:
                    os.truncate(path, len(original) // 10)
        finally:
            await f.close()
        return ''.join(out)

    got = asyncio.run(main())
    assert original.decode().startswith(got) and got.endswith('\n')
    assert len(got) < len(original)  # the cut was seen
    assert _open_on(path) == 0


def _both(tailers, path, **kwargs):
    async def stream(tailer):
        f = await aiofiles.open(path, 'rb')
        out = []
        try:
            async for chunk in tailer(f, follow=False, **kwargs):
                out.append(chunk)
        except Exception as e:
            out.append(type(e).__name__)
        finally:
            await f.close()
        return out

    return [asyncio.run(stream(tailer)) for tailer in tailers]


def test_tail_zero_of_a_file_whose_size_reads_zero(tailers):
    """/proc/self/status reads 0 bytes long and has content: with tail=0 SkyPilot's read
    reaches its real end and streams nothing. (Before: the served block streamed it all.)"""
    own, served = _both(tailers, '/proc/self/status', tail=0)
    assert own == served == []


@pytest.mark.parametrize('tail', [2**63, 2**63 + 5, 10**30])
def test_a_tail_deque_refuses_is_skypilot_s_error(tailers, tmp_path, tail):
    """deque(maxlen=2**63) raises OverflowError in SkyPilot's own: the same error, and no line.
    (Before: the served block streamed the log.)"""
    path = tmp_path / 'log'
    path.write_bytes(b'one\ntwo\n')
    own, served = _both(tailers, str(path), tail=tail)
    assert own == served == ['OverflowError']

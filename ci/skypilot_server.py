"""A real local SkyPilot API server, as a user runs one, for ci/test-skypilot-server and
ci/bench-skypilot: its own HOME and a private port (never the default: `sky api stop` ends
API servers by command line, machine-wide, so this module ends its own by pid instead).

Run it with the Python of a venv that has skypilot and skypilot-rust installed:
  python ci/skypilot_server.py test  [--mib 64]      the .ci/run check (exit 1 on a failure)
  python ci/skypilot_server.py bench [--quick]       the figures of docs/benchmarks.md
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, Iterator, List

import psutil

BIN = os.path.dirname(sys.executable)
LINE = b'2026-12-03 10:%02d:%02d,%03d INFO worker %5d: step %8d of the job finished in %4d ms, '


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def environment(home: str, port: int, hook: bool) -> Dict[str, str]:
    env = dict(os.environ, HOME=home, SKYPILOT_API_SERVER_LOCAL_PORT=str(port))
    env.pop('SKYPILOT_USE_RUST', None)
    if not hook:
        env['SKYPILOT_USE_RUST'] = '0'
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    return env


def sky(env, *args, check=True, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.path.join(BIN, 'sky'), *args],
        env=env,
        capture_output=True,
        timeout=timeout,
        check=check,
    )


def server_processes(port: int) -> List[psutil.Process]:
    """The API server on `port` and every process under it."""
    found = []
    for process in psutil.process_iter(['cmdline']):
        cmdline = process.info['cmdline'] or []
        if 'sky.server.server' in cmdline and f'--port={port}' in cmdline:
            found.append(process)
            with contextlib.suppress(psutil.Error):
                found.extend(process.children(recursive=True))
    return found


def loaded_library(processes: List[psutil.Process]) -> Dict[int, bool]:
    """pid -> whether the process has skyutils' library mapped."""
    found = {}
    for process in processes:
        try:
            with open(f'/proc/{process.pid}/maps') as f:
                found[process.pid] = 'libskyutils' in f.read()
        except OSError:
            pass
    return found


@contextlib.contextmanager
def api_server(hook: bool) -> Iterator[Dict]:
    """A started API server: {'env', 'home', 'port', 'start_s'}; ended by pid on exit."""
    home = tempfile.mkdtemp(prefix='sky-home-')
    port = free_port()
    env = environment(home, port, hook)
    started = time.perf_counter()
    try:
        sky(env, 'api', 'start', timeout=300)
        found = {'env': env, 'home': home, 'port': port, 'start_s': time.perf_counter() - started}
        yield found
    finally:
        processes = server_processes(port)
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=15)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        shutil.rmtree(home, ignore_errors=True)


def write_log(path: str, mib: int) -> None:
    """A log of `mib` MiB of ~120-byte lines, a payload line among them now and then."""
    rng = random.Random(mib)
    with open(path, 'wb') as f:
        written, step = 0, 0
        while written < mib << 20:
            block = []
            for _ in range(4096):
                step += 1
                if step % 997 == 0:
                    block.append(b'<sky-payload>{"step": %d}</sky-payload>\n' % step)
                    continue
                line = LINE % (step % 60, step % 59, step % 1000, rng.randrange(99999), step,
                               rng.randrange(9999))  # fmt: skip
                block.append(line + b'x' * rng.randrange(40) + b'\n')
            data = b''.join(block)
            f.write(data)
            written += len(data)


def expected_tail(path: str, n: int) -> bytes:
    """The last n lines `tail` prints, payload lines left out (as SkyPilot's streamer leaves
    them: a payload comes every 997 lines, so `tail -n 2n` holds n others)."""
    done = subprocess.run(['tail', '-n', str(2 * n), path], capture_output=True, check=True)
    lines = done.stdout.splitlines(keepends=True)
    return b''.join([line for line in lines if not line.startswith(b'<sky-payload>')][-n:])


def logs_tail(server, path: str, n: int) -> subprocess.CompletedProcess:
    return sky(server['env'], 'api', 'logs', '-l', path, '--tail', str(n), '--no-follow')


def place_log(server, mib: int) -> str:
    """A generated log in the server's ~/sky_logs, where `sky api logs -l` may read."""
    logs = os.path.join(server['home'], 'sky_logs')
    os.makedirs(logs, exist_ok=True)
    path = os.path.join(logs, f'big-{mib}.log')
    write_log(path, mib)
    return path


def test(args) -> int:
    """A real server, a generated log, `sky api logs --tail 100`: the lines are tail's, and
    the server loaded the library (the hook served it)."""
    with api_server(hook=True) as server:
        path = place_log(server, args.mib)
        started = time.perf_counter()
        done = logs_tail(server, os.path.basename(path), 100)
        took = time.perf_counter() - started
        want = expected_tail(path, 100)
        got = done.stdout
        processes = server_processes(server['port'])
        loaded = loaded_library(processes)
        main = [p.pid for p in processes if 'sky.server.server' in (p.cmdline() or [])]
        print(
            f'API server on port {server["port"]} started in {server["start_s"]:.1f} s; '
            f'sky api logs --tail 100 of {args.mib} MiB: {took:.2f} s; '
            f'{sum(loaded.values())} of {len(loaded)} server processes loaded the library'
        )
        problems = []
        if got != want:
            problems.append(f'the lines differ from tail -n 100 ({len(got)} bytes, {len(want)})')
        if not main or not loaded.get(main[0]):
            problems.append('the API server process did not load the library')
        for problem in problems:
            print(f'ci/test-skypilot-server: {problem}', file=sys.stderr)
        return 1 if problems else 0


def _median_spread(values: List[float]):
    values = sorted(values)
    quarter = len(values) // 4
    return statistics.median(values), values[quarter], values[-quarter - 1]


def _interleaved(commands: Dict[str, List[str]], envs: Dict[str, Dict], runs: int):
    """{(command, mode): [seconds...]}: each command in fresh processes, modes alternating."""
    times: Dict = {}
    for index in range(runs + 1):  # the first round warms caches and bytecode
        modes = list(envs) if index % 2 else list(envs)[::-1]
        for name, argv in commands.items():
            for mode in modes:
                started = time.perf_counter()
                subprocess.run(argv, env=envs[mode], capture_output=True, timeout=900, check=False)
                if index:
                    times.setdefault((name, mode), []).append(time.perf_counter() - started)
    return times


def bench(args) -> int:
    """Hook on and off, in one run: SkyPilot's import and CLI commands, a server's start, the
    log tail in process and through the server."""
    runs = 7 if args.quick else 21
    cli_runs = 5 if args.quick else 11
    work = tempfile.mkdtemp(prefix='bench-skypilot-')
    try:
        print(
            f'Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}'
        )
        with api_server(hook=True) as server:
            envs = {'on': server['env'], 'off': dict(server['env'], SKYPILOT_USE_RUST='0')}
            python = [sys.executable, '-c', 'import sky.utils.common_utils']
            times = _interleaved({'import': python}, envs, runs)
            _report('python -c "import sky.utils.common_utils"', times, 'import', runs)
            own = []
            for _ in range(runs):  # the hook's own share, timed inside the process
                done = subprocess.run(
                    [sys.executable, '-c', 'import sky.utils.common_utils, _skyutils_hook as h; '
                     'print(h.state["patch_seconds"])'],
                    env=envs['on'], capture_output=True, text=True, check=True,
                )  # fmt: skip
                own.append(float(done.stdout.split()[-1]))
            print(
                f"  the hook's own patching of SkyPilot's modules there: median "
                f'{statistics.median(own) * 1000:.2f} ms, at most {max(own) * 1000:.2f} ms'
            )
            commands = {
                'sky status': [os.path.join(BIN, 'sky'), 'status'],
                'sky check': [os.path.join(BIN, 'sky'), 'check'],
                'sky api status': [os.path.join(BIN, 'sky'), 'api', 'status'],
            }
            times = _interleaved(commands, envs, cli_runs)
            for name in commands:
                _report(name, times, name, cli_runs)
            processes = server_processes(server['port'])
            loaded = loaded_library(processes)
            names = {p.pid: ' '.join(p.cmdline()[:3])[:60] for p in processes}
            print(
                f'Server processes that loaded the library: {sum(loaded.values())} of {len(loaded)}'
            )
            for pid, has in sorted(loaded.items()):
                print(f'  {pid} {"loaded " if has else "not    "} {names.get(pid, "")}')
        _server_starts(args)
        _check_cost()
        if not args.hook_only:
            _tail_bench(args, work)
            _large_tail_bench(args, work)
            _server_under_tails(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(label, times, name, runs):
    on, low_on, high_on = _median_spread(times[(name, 'on')])
    off, low_off, high_off = _median_spread(times[(name, 'off')])
    differences = [a - b for a, b in zip(times[(name, 'on')], times[(name, 'off')])]
    difference, low, high = _median_spread(differences)
    print(
        f'{label}: hook on {on * 1000:.1f} ms [{low_on * 1000:.1f}-{high_on * 1000:.1f}], '
        f'off {off * 1000:.1f} ms [{low_off * 1000:.1f}-{high_off * 1000:.1f}]; difference '
        f'{difference * 1000:+.1f} ms (middle half {low * 1000:+.1f} to {high * 1000:+.1f}; '
        f'{runs} fresh processes each, interleaved)'
    )


def _tail_bench(args, work):
    """_tail_log_file(tail=100, follow=False) in this process: SkyPilot's own and served."""
    import asyncio

    import aiofiles
    from sky.server import stream_utils

    import _skyutils_hook
    from skyutils import _served

    original = _skyutils_hook.original_of(stream_utils._tail_log_file)
    served, why = _served.serve('_tail_log_file', stream_utils, original)
    assert served is not None, why

    async def tail(function, path):
        f = await aiofiles.open(path, 'rb')
        try:
            started = time.perf_counter()
            out = [chunk async for chunk in function(f, tail=100, follow=False)]
            return time.perf_counter() - started, out
        finally:
            await f.close()

    sizes = [16, 256] if args.quick else [256, 2048]
    for mib in sizes:
        path = os.path.join(work, f'{mib}.log')
        write_log(path, mib)
        served_times, out = [], None
        for _ in range(11):
            took, out = asyncio.run(tail(served, path))
            served_times.append(took)
        line = f'_tail_log_file(tail=100, follow=False), {mib} MiB: served ' + '{:.2f} ms'.format(
            statistics.median(served_times) * 1000
        )
        if mib <= args.skypilot_mib:
            took, theirs = asyncio.run(tail(original, path))
            assert theirs == out, 'the served tail differs from SkyPilot\'s'
            line += f", SkyPilot's own {took:.1f} s: {took / statistics.median(served_times):,.0f}x"
        else:
            line += f" (SkyPilot's own not run above {args.skypilot_mib} MiB: --skypilot-mib)"
        print(line, flush=True)
        os.remove(path)
    # End to end, through a real server each way.
    mib = 16 if args.quick else 256
    for hook in (True, False):
        with api_server(hook=hook) as server:
            path = place_log(server, mib)
            info = []
            for _ in range(5):
                started = time.perf_counter()
                sky(server['env'], 'api', 'info')
                info.append(time.perf_counter() - started)
            started = time.perf_counter()
            done = logs_tail(server, os.path.basename(path), 100)
            took = time.perf_counter() - started
            assert done.stdout == expected_tail(path, 100)
            print(
                f'sky api logs -l FILE --tail 100 --no-follow, {mib} MiB, hook '
                f'{"on" if hook else "off"}: {took:.2f} s; sky api info round trip '
                f'{statistics.median(info):.2f} s: {took - statistics.median(info):+.2f} s',
                flush=True,
            )


def _check_cost():
    """What a served function's stub adds to each call before the served function runs (the
    check of every name its answer depends on, by identity, and of tracers), per function, in
    this process."""
    import timeit

    from sky.utils import common_utils, subprocess_utils

    import _skyutils_hook as hook

    common_utils.get_cpu_count()
    common_utils.get_mem_size_gb()  # psutil imported: its internals are checked too
    subprocess_utils.get_max_workers_for_file_mounts({})
    parts = []
    for entries in hook._entries.values():
        for entry in entries:
            if entry.served is None:
                continue  # never called here: nothing to time
            hook._pick(entry)  # the quick check made, as after any first call
            runs = 100_000
            check = min(timeit.repeat(
                lambda entry=entry: hook._pick(entry), number=runs, repeat=5
            )) / runs  # fmt: skip
            nothing = min(timeit.repeat(lambda: None, number=runs, repeat=5)) / runs
            names = len(entry.deps) + len(entry.lazy_deps)
            parts.append(f'{entry.name} {(check - nothing) * 1e6:.2f} us ({names} names)')
    print(f'the per-call check of each stub (Python {sys.version.split()[0]}): ' + ', '.join(parts))


# A fresh interpreter runs _tail_log_file(tail=10**9, follow=False) of a log, SkyPilot's own or
# served, and prints [seconds, peak resident growth in bytes, bytes streamed].
# The child scripts' start: `tailer` is SkyPilot's own _tail_log_file, or with argv[2] 'on'
# the served one.
_TAILER = """
import asyncio, json, statistics, sys, time
import aiofiles
from sky.server import stream_utils
import _skyutils_hook
from skyutils import _served
tailer = _skyutils_hook.original_of(stream_utils._tail_log_file)
if sys.argv[2] == 'on':
    tailer, why = _served.serve('_tail_log_file', stream_utils, tailer)
"""

_LARGE_TAIL = (
    _TAILER
    + """
def peak():
    with open('/proc/self/status') as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith('VmHWM:'))
async def main():
    f = await aiofiles.open(sys.argv[1], 'rb')
    size = 0
    async for chunk in tailer(f, tail=10**9, follow=False):
        size += len(chunk)
    await f.close()
    return size
before = peak()
started = time.perf_counter()
size = asyncio.run(main())
print(json.dumps([time.perf_counter() - started, peak() - before, size]))
"""
)

# Six concurrent tail=10**9 streams in one event loop while a trivial default-executor job is
# timed every 10 ms: [the worst wait, the median wait] in seconds.
_EXECUTOR = (
    _TAILER
    + """
async def stream():
    f = await aiofiles.open(sys.argv[1], 'rb')
    try:
        async for _ in tailer(f, tail=10**9, follow=False):
            pass
    finally:
        await f.close()
async def main():
    loop = asyncio.get_running_loop()
    tasks = [asyncio.ensure_future(stream()) for _ in range(6)]
    waits = []
    for _ in range(200):
        started = time.perf_counter()
        await loop.run_in_executor(None, int)
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [max(waits), statistics.median(waits)]
print(json.dumps(asyncio.run(main())))
"""
)


def _fresh(script, *args):
    done = subprocess.run(
        [sys.executable, '-c', script, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _large_tail_bench(args, work):
    """tail=10**9 ("all"), the hook's serving against SkyPilot's own: time and peak memory in
    fresh processes, and the default executor's wait under six concurrent tails."""
    sizes = [16, 64] if args.quick else [64, 256, 2048]
    for mib in sizes:
        path = os.path.join(work, f'all-{mib}.log')
        write_log(path, mib)
        sides = ['on', 'off'] if mib <= args.skypilot_mib else ['on']
        got = {side: _fresh(_LARGE_TAIL, path, side) for side in sides}
        line = f'_tail_log_file(tail=10**9), {mib} MiB, fresh process: served ' + (
            f"{got['on'][0]:.2f} s, peak +{got['on'][1] >> 20} MiB"
        )
        if 'off' in got:
            assert got['on'][2] == got['off'][2], 'the served tail streamed other bytes'
            line += (
                f"; SkyPilot's own {got['off'][0]:.1f} s, peak +{got['off'][1] >> 20} MiB: "
                f"{got['off'][0] / got['on'][0]:.0f}x faster, "
                f"{got['on'][1] / max(got['off'][1], 1):.2f}x the memory"
            )
        else:
            line += f" (SkyPilot's own not run above {args.skypilot_mib} MiB: --skypilot-mib)"
        print(line, flush=True)
        if mib == sizes[0]:
            waits = {side: _fresh(_EXECUTOR, path, side) for side in ('on', 'off')}
            print(
                f'a trivial executor job under six concurrent tail=10**9 streams of {mib} MiB: '
                + '; '.join(
                    f"{'served' if side == 'on' else 'SkyPilot alone'} worst "
                    f'{w[0] * 1000:.1f} ms, median {w[1] * 1000:.2f} ms'
                    for side, w in waits.items()
                ),
                flush=True,
            )
        os.remove(path)


def _server_under_tails(args):
    """Through a real server, each way: a `sky api logs --tail 1` request's time while six
    `--tail 1000000000` ("all") clients stream a large log, against a `sky api info` round
    trip; then the six clients go (the server should stop their work)."""
    mib = 16 if args.quick else 64
    for hook in (True, False):
        with api_server(hook=hook) as server:
            path = place_log(server, mib)
            small = os.path.join(os.path.dirname(path), 'small.log')
            with open(small, 'w') as f:
                f.write('one line\n')
            info = []
            for _ in range(3):
                started = time.perf_counter()
                sky(server['env'], 'api', 'info')
                info.append(time.perf_counter() - started)
            clients = [
                subprocess.Popen(
                    [
                        os.path.join(BIN, 'sky'),
                        'api',
                        'logs',
                        '-l',
                        os.path.basename(path),
                        '--tail',
                        '1000000000',
                        '--no-follow',
                    ],
                    env=server['env'],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
                for _ in range(6)
            ]
            try:
                time.sleep(8)  # the clients' own start (SkyPilot's import), then their streams
                waits = []
                for _ in range(3):
                    started = time.perf_counter()
                    logs_tail(server, 'small.log', 1)
                    waits.append(time.perf_counter() - started)
                running = sum(client.poll() is None for client in clients)
            finally:
                for client in clients:
                    client.kill()
                    client.wait()
            print(
                f'sky api logs --tail 1 while six --tail 1000000000 clients stream {mib} MiB, '
                f'hook {"on" if hook else "off"}: median {statistics.median(waits):.2f} s '
                f'(a sky api info round trip {statistics.median(info):.2f} s; '
                f'{running} of the six still streaming)',
                flush=True,
            )


def _server_starts(args):
    starts = {True: [], False: []}
    for index in range(2 if args.quick else 3):
        for hook in (True, False) if index % 2 == 0 else (False, True):
            with api_server(hook=hook) as server:
                starts[hook].append(server['start_s'])
    print(
        f'sky api start (own HOME and port): hook on {statistics.median(starts[True]):.2f} s, '
        f'off {statistics.median(starts[False]):.2f} s (median of {len(starts[True])} each, '
        'interleaved)'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    check = commands.add_parser('test', help='the .ci/run check')
    check.add_argument('--mib', type=int, default=64)
    measure = commands.add_parser('bench', help='hook on and off, in one run')
    measure.add_argument('--quick', action='store_true')
    measure.add_argument(
        '--hook-only',
        action='store_true',
        help="the hook's costs alone (imports, commands, server starts): no log tails",
    )
    measure.add_argument(
        '--skypilot-mib',
        type=int,
        default=256,
        help="the largest log SkyPilot's own tail reads in process (it takes ~1 s a MiB)",
    )
    args = parser.parse_args()
    return test(args) if args.command == 'test' else bench(args)


if __name__ == '__main__':
    sys.exit(main())

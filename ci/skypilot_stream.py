"""Streamed logs through a real local API server (issue 29), as a user meets them:
`sky api logs -l FILE --no-follow`, the client with the startup hook on and off.

  test    a log with payload lines, `\\r` progress lines, CRLF, non-ASCII and invalid UTF-8:
          stdout byte for byte the same on and off, and the served stream said so
          (SKYUTILS_SERVED_LOG of the client); run by ci/test-skypilot-server
  bench   16 / 64 / 256 MiB logs (ci/skypilot_server.write_log), on and off interleaved in
          fresh processes, curl of the same URL as the floor, and the client's and the
          server's CPU time; run by ci/bench-skypilot
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import psutil
import skypilot_server as servers

LOG_ENV = 'SKYUTILS_SERVED_LOG'  # skyutils.skypilot.LOG_ENV, without importing skyutils


def write_odd_log(path: str) -> None:
    """~6 MiB of what logs hold besides plain lines: payloads, progress bars, CRLF, UTF-8
    multi-byte characters, bytes that are not UTF-8."""
    with open(path, 'wb') as f:
        for i in range(60_000):
            if i % 997 == 0:
                f.write(b'<sky-payload>{"step": %d}</sky-payload>\n' % i)
            elif i % 101 == 0:
                f.write(b''.join(b'progress %d%%\r' % p for p in range(0, 100, 7)) + b'done\n')
            elif i % 53 == 0:
                f.write(b'windows line %d\r\n' % i)
            elif i % 37 == 0:
                f.write('caf\u00e9 \u2603 \U0001f600 %d\n'.encode() % i)
            elif i % 41 == 0:
                f.write(b'not utf-8 \xff\xfe\xc3 %d\n' % i)
            else:
                f.write(b'2026-12-07 plain line %d of the job, with some text after it\n' % i)


def client_env(server, hook: bool, log: str = '') -> Dict[str, str]:
    env = dict(server['env'])
    env.pop('SKYPILOT_USE_RUST', None)
    env.pop(LOG_ENV, None)
    if not hook:
        env['SKYPILOT_USE_RUST'] = '0'
    if log:
        env[LOG_ENV] = log
    return env


def logs(server, name: str, hook: bool, log: str = '') -> Tuple[float, bytes, float]:
    """(seconds, stdout, client CPU seconds) of `sky api logs -l NAME --no-follow`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [os.path.join(servers.BIN, 'sky'), 'api', 'logs', '-l', name, '--no-follow'],
        env=client_env(server, hook, log), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out = process.stdout.read()
    _, _, usage = os.wait4(process.pid, 0)  # the client's own CPU time, and its children's
    process.returncode = 0
    took = time.perf_counter() - started
    return took, out, usage.ru_utime + usage.ru_stime


def test(args) -> int:
    problems = []
    work = tempfile.mkdtemp(prefix='stream-test-')
    try:
        with servers.api_server(hook=True) as server:
            logs_dir = os.path.join(server['home'], 'sky_logs')
            os.makedirs(logs_dir, exist_ok=True)
            write_odd_log(os.path.join(logs_dir, 'odd.log'))
            served_log = os.path.join(work, 'served.jsonl')
            _, on, _ = logs(server, 'odd.log', True, served_log)
            _, off, _ = logs(server, 'odd.log', False)
        with open(served_log, encoding='utf-8') as f:
            calls = [json.loads(line) for line in f if line.strip()]
        outcomes = [c['outcome'] for c in calls if c['function'] == 'stream_response']
        print(f'sky api logs -l odd.log --no-follow: {len(on)} bytes on, {len(off)} off; '
              f'served: {outcomes}')  # fmt: skip
        if on != off:
            at = next(
                (i for i, (a, b) in enumerate(zip(on, off)) if a != b), min(len(on), len(off))
            )
            problems.append(f'stdout differs at byte {at}: {on[at - 40 : at + 40]!r} against '
                            f'{off[at - 40 : at + 40]!r}')  # fmt: skip
        if len(off) < 3 << 20:
            problems.append(f'the stream is short: {len(off)} bytes')
        if outcomes != ['served']:
            problems.append(f'the client should stream served once: {outcomes}')
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f'ci/test-skypilot-server (stream): {problem}', file=sys.stderr)
    return 1 if problems else 0


def _server_cpu(port: int) -> float:
    total = 0.0
    for process in servers.server_processes(port):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def bench(args) -> int:
    mibs = [int(m) for m in args.mib.split(',')]
    runs = args.runs
    print(f'Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}')
    with servers.api_server(hook=True) as server:
        logs_dir = os.path.join(server['home'], 'sky_logs')
        os.makedirs(logs_dir, exist_ok=True)
        open(os.path.join(logs_dir, 'one.log'), 'wb').write(b'one line\n')
        for mib in mibs:
            servers.write_log(os.path.join(logs_dir, f'big-{mib}.log'), mib)
        url = f'http://127.0.0.1:{server["port"]}/api/stream'
        got: Dict[Tuple[str, str], List[Tuple[float, float, float]]] = {}
        for index in range(runs + 1):  # the first round warms caches
            for name in ['one.log'] + [f'big-{m}.log' for m in mibs]:
                sides = ['on', 'off'] if index % 2 else ['off', 'on']
                for side in sides + ['curl']:
                    before = _server_cpu(server['port'])
                    if side == 'curl':
                        started = time.perf_counter()
                        query = ['--data-urlencode', f'log_path={name}', '-d', 'follow=false',
                                 '-d', 'format=console']  # fmt: skip
                        subprocess.run(['curl', '-s', '-o', '/dev/null', '-G', url, *query],
                                       check=True)  # fmt: skip
                        took, cpu = time.perf_counter() - started, 0.0
                    else:
                        took, _, cpu = logs(server, name, side == 'on')
                    server_cpu = _server_cpu(server['port']) - before
                    if index:
                        got.setdefault((name, side), []).append((took, cpu, server_cpu))

    def median(name, side, i):
        return statistics.median(r[i] for r in got[(name, side)])

    fixed = {side: median('one.log', side, 0) for side in ('on', 'off')}
    print(f'sky api logs -l FILE --no-follow, a one-line log (the CLI\'s fixed cost): hook on '
          f'{fixed["on"]:.2f} s, off {fixed["off"]:.2f} s ({runs} fresh processes each, '
          'interleaved)')  # fmt: skip
    for mib in mibs:
        name = f'big-{mib}.log'
        on, off, curl = median(name, 'on', 0), median(name, 'off', 0), median(name, 'curl', 0)
        added_on, added_off = on - fixed['on'], off - fixed['off']
        walls = [r[0] for r in got[(name, 'on')]]
        noisy = max(walls) / max(min(walls), 1e-9) > 1.3
        print(
            f'{mib} MiB: hook on {on:.2f} s (+{added_on:.2f} over the fixed cost; client '
            f'{median(name, "on", 1):.2f} s CPU, server {median(name, "on", 2):.2f} s CPU = '
            f'{median(name, "on", 2) * 1000 / mib:.1f} ms/MiB), off {off:.2f} s '
            f'(+{added_off:.2f}; client {median(name, "off", 1):.2f} s CPU, server '
            f'{median(name, "off", 2):.2f} s CPU); curl {curl:.2f} s; on adds '
            f'{added_on / max(added_off, 1e-9):.2f} of what off adds'
            + ('; noisy: the served runs spread over 1.3x' if noisy else '')
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('test', help='the .ci/run check')
    measure = commands.add_parser('bench', help='hook on and off, in one run')
    measure.add_argument('--mib', default='16,64,256', help='log sizes, comma-separated')
    measure.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    return test(args) if args.command == 'test' else bench(args)


if __name__ == '__main__':
    sys.exit(main())

"""`skyutils bench`: each function on its hot case, timed four ways in one process.

The four: `skyutils` (the public function, default dispatch), `native` (the library binding,
where there is one), `python` (the pure-Python twin) and `skypilot` (the published function,
when importable; for the two helpers SkyPilot inlines, its inline code). Every round times a
batch of each in shuffled order; a case reports medians and the median of per-round ratios.
"""
import contextlib
import hashlib
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional

import psutil

import skyutils
from skyutils import _dispatch, _native, _pure

LINE = b'x' * 99 + b'\n'  # the spec's log: 100-byte lines


class Case:
    """One measurement: a function, its arguments, and how many calls one timing covers."""

    def __init__(self, function: str, label: str, args: tuple = (), calls: int = 1,
                 floor: Optional[Callable] = None):
        self.function = function
        self.label = label
        self.args = args
        self.calls = calls  # > 1: `args[0]` is a list, one call per item (e.g. 500 pids)
        # The least work any implementation returning the same Python objects must do; timed
        # beside the others, so `skypilot / floor` is the best ratio this machine allows.
        self.floor = floor


def _reference_functions() -> Dict[str, Callable]:
    try:
        from sky.utils import common_utils, subprocess_utils
    except Exception:  # noqa: BLE001 - any import failure means "no reference"
        return {}
    found = {name: getattr(common_utils, name) for name in (
        'base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
        'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb')}
    found['get_parallel_threads'] = subprocess_utils.get_parallel_threads
    found['get_max_workers_for_file_mounts'] = subprocess_utils.get_max_workers_for_file_mounts
    # SkyPilot inlines these two; its inline code is the reference.
    found['estimate_fd_for_directory'] = lambda path: len(os.listdir(path)) * 5
    found['is_process_alive'] = _psutil_alive
    return found


def _psutil_alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _write_log(path: str, size: int) -> None:
    block = LINE * (1024 * 1024 // len(LINE))
    with open(path, 'wb') as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


class Fixtures:
    """Files, directories, processes and sockets the cases need; all removed on close."""

    def __init__(self, quick: bool, say: Callable[[str], None]):
        self.quick = quick
        self.say = say
        self.dir = tempfile.mkdtemp(prefix='skyutils-bench-')
        self.children: List[subprocess.Popen] = []
        self.sockets: List[socket.socket] = []

    def log(self, size: int) -> str:
        path = os.path.join(self.dir, f'log-{size}')
        if not os.path.exists(path):
            self.say(f'writing a {size >> 20} MiB log')
            _write_log(path, size)
        return path

    def blob(self, size: int) -> str:
        path = os.path.join(self.dir, f'blob-{size}')
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                for _ in range(size >> 20):
                    f.write(os.urandom(1 << 20))
        return path

    def directory(self, entries: int) -> str:
        path = os.path.join(self.dir, f'dir-{entries}')
        if not os.path.exists(path):
            self.say(f'creating a directory of {entries} entries')
            os.mkdir(path)
            for i in range(entries):
                os.close(os.open(os.path.join(path, f'entry-{i:07d}'), os.O_CREAT | os.O_WRONLY))
        return path

    def live_pids(self, count: int) -> List[int]:
        self.say(f'starting {count} sleeping processes')
        while len(self.children) < count:
            self.children.append(subprocess.Popen(['sleep', '3600']))
        return [child.pid for child in self.children[:count]]

    def busy_ports(self, count: int) -> int:
        """A start port with `count` listening ports from it on; the next one is free."""
        for _ in range(100):
            with socket.socket() as probe:
                probe.bind(('127.0.0.1', 0))
                start = probe.getsockname()[1]
            start = start % 20000 + 20000  # keep the run inside 20000..40000+count
            held = []
            try:
                for port in range(start, start + count):
                    s = socket.socket()
                    held.append(s)
                    s.bind(('', port))
                    s.listen()
                self.sockets.extend(held)
                return start
            except OSError:
                for s in held:
                    s.close()
        raise RuntimeError(f'found no run of {count} free ports')

    def close(self) -> None:
        for child in self.children:
            child.kill()
            child.wait()
        for s in self.sockets:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _tail_floor(path: str, n: int) -> Callable:
    """Building the result from the tail bytes already in memory: decode, split into n str."""
    with open(path, 'rb') as f:
        size = f.seek(0, os.SEEK_END)
        step = min(size, (n + 1) * (len(LINE) + 8))
        f.seek(size - step)
        data = b'\n'.join(f.read(step).split(b'\n')[-n - 1:-1])

    def floor():
        return data.decode('utf-8', 'replace').splitlines(True)
    return floor


def _tail_case(label: str, path: str, n: int) -> Case:
    return Case('read_last_n_lines', label, (path, n), floor=_tail_floor(path, n))


def build_cases(fx: Fixtures, functions: Optional[List[str]] = None) -> List[Case]:
    """The cases of `functions` (all when None); fixtures are made only for those."""
    quick = fx.quick
    big = (64 if quick else 1024) << 20
    big_name = f'{big >> 20} MiB'
    entries = 10_000 if quick else 100_000
    pids = 100 if quick else 500
    busy = 100 if quick else 500
    hashed = (16 if quick else 64) << 20
    makers = [
        ('read_last_n_lines', lambda: [
            _tail_case(f'n={n}, {big_name} log', fx.log(big), n)
            for n in (10, 1000, 100_000)] + [
            _tail_case('n=1000, 10 MiB log', fx.log(10 << 20), 1000)]),
        ('estimate_fd_for_directory', lambda: [Case(
            'estimate_fd_for_directory', f'{entries} entries', (fx.directory(entries),))]),
        ('get_max_workers_for_file_mounts', lambda: [Case(
            'get_max_workers_for_file_mounts', f'one dir of {entries} entries',
            ({'/remote': fx.directory(entries)},))]),
        ('get_cpu_count', lambda: [Case('get_cpu_count', 'cgroup and affinity read')]),
        ('get_mem_size_gb', lambda: [Case('get_mem_size_gb', 'physical memory and cgroup limit')]),
        ('is_process_alive', lambda: [Case('is_process_alive', f'{pids} live pids',
                                           (fx.live_pids(pids),), calls=pids)]),
        ('find_free_port', lambda: [Case('find_free_port', f'{busy} busy ports ahead',
                                         (fx.busy_ports(busy),))]),
        ('base36_encode', lambda: [Case('base36_encode', '32-digit hex',
                                        (hashlib.md5(b'bench').hexdigest(),))]),
        ('hash_file', lambda: [Case('hash_file', f'sha256, {hashed >> 20} MiB',
                                    (fx.blob(hashed), 'sha256'))]),
        ('format_float', lambda: [Case('format_float', '2.25', (2.25,))]),
        ('truncate_long_string', lambda: [Case(
            'truncate_long_string', '35 of a 60-char command',
            ('sky launch --cloud aws --gpus A100:8 task.yaml --env FOO=bar --detach',))]),
        ('get_parallel_threads', lambda: [Case('get_parallel_threads', "'kubernetes'",
                                               ('kubernetes',))]),
    ]
    cases = []
    for function, make in makers:
        if not functions or function in functions:
            cases.extend(make())
    return cases


def _batch(fn: Callable, case: Case, repeat: int) -> float:
    """Seconds per call over `repeat` runs of the case."""
    args = case.args
    if case.calls > 1:
        items = args[0]
        start = time.perf_counter()
        for _ in range(repeat):
            for item in items:
                fn(item)
        return (time.perf_counter() - start) / repeat
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat


def _calibrate(fn: Callable, case: Case, budget: float) -> int:
    """How many runs make one timing last about `budget` seconds."""
    repeat = 1
    while True:
        took = _batch(fn, case, repeat) * repeat
        if took >= budget / 10 or repeat >= 1 << 20:
            return max(1, int(repeat * budget / max(took, 1e-9)))
        repeat *= 10


def measure(case: Case, implementations: Dict[str, Callable], rounds: int,
            budget: float) -> Dict[str, object]:
    """Interleaved rounds; per implementation the median time, and median per-round ratios."""
    repeats = {name: _calibrate(fn, case, budget) for name, fn in implementations.items()}
    times: Dict[str, List[float]] = {name: [] for name in implementations}
    order = list(implementations)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            times[name].append(_batch(implementations[name], case, repeats[name]))
    result: Dict[str, object] = {
        'function': case.function, 'case': case.label,
        'seconds': {name: statistics.median(values) for name, values in times.items()},
        'speedup': {},
    }
    for other in ('skypilot', 'python'):
        if other in times:
            ratios = [o / s for o, s in zip(times[other], times['skyutils'])]
            result['speedup'][f'{other}/skyutils'] = statistics.median(ratios)
    if 'native' in times:
        ratios = [p / n for p, n in zip(times['python'], times['native'])]
        result['speedup']['python/native'] = statistics.median(ratios)
    if 'floor' in times and 'skypilot' in times:
        ratios = [r / f for r, f in zip(times['skypilot'], times['floor'])]
        result['speedup']['skypilot/floor'] = statistics.median(ratios)
    return result


def thread_scaling(path: str, n: int, calls: int) -> float:
    """Throughput of two threads over one, each calling read_last_n_lines `calls` times.

    The library releases the GIL while it scans and os.pread while it reads; decoding and
    splitting into str objects hold it, so the ratio shows how much of a call runs in parallel.
    """
    import threading

    def work():
        for _ in range(calls):
            skyutils.read_last_n_lines(path, n)

    start = time.perf_counter()
    work()
    work()
    one_thread = time.perf_counter() - start
    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return one_thread / (time.perf_counter() - start)


def machine() -> Dict[str, str]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    return {
        'platform': platform.platform(), 'cpu': model, 'cpus': str(os.cpu_count()),
        'python': sys.version.split()[0], 'skyutils': skyutils.__version__,
        'library': str(_native.LOADED.version),
    }


def summarize(results: List[Dict[str, object]]) -> Dict[str, float]:
    """Geometric and arithmetic means and the minimum of skypilot/skyutils over all cases."""
    ratios = [r['speedup']['skypilot/skyutils'] for r in results
              if 'skypilot/skyutils' in r['speedup']]
    if not ratios:
        return {}
    return {
        'cases': len(ratios),
        'geometric_mean': math.exp(sum(math.log(r) for r in ratios) / len(ratios)),
        'arithmetic_mean': sum(ratios) / len(ratios),
        'minimum': min(ratios),
    }


def run(quick: bool = False, functions: Optional[List[str]] = None,
        progress: Callable[[str], None] = lambda text: None) -> Dict[str, object]:
    """Builds the fixtures, measures every case (or those of `functions`), cleans up."""
    reference = _reference_functions()
    fx = Fixtures(quick, progress)
    rounds, budget = (5, 0.02) if quick else (15, 0.05)
    try:
        cases = build_cases(fx, functions)
        results = []
        for index, case in enumerate(cases, 1):
            progress(f'[{index}/{len(cases)}] {case.function}: {case.label}')
            implementations = {'skyutils': getattr(skyutils, case.function),
                               'python': getattr(_pure, case.function)}
            if (_native.LIB is not None and
                    case.function in _dispatch.NATIVE_REASONS):
                from skyutils import _bindings
                implementations['native'] = getattr(_bindings, case.function)
            if case.function in reference:
                implementations['skypilot'] = reference[case.function]
            if case.floor is not None:
                implementations['floor'] = lambda *args, _floor=case.floor: _floor()
            results.append(measure(case, implementations, rounds, budget))
        scaling = {}
        if not functions or 'read_last_n_lines' in functions:
            progress('read_last_n_lines: two threads against one')
            big_log = fx.log((64 if quick else 1024) << 20)
            for n in (1000, 100_000):
                samples = [thread_scaling(big_log, n, 2 if n > 1000 else 50)
                           for _ in range(rounds // 3)]
                scaling[f'read_last_n_lines n={n}'] = statistics.median(samples)
    finally:
        fx.close()
    return {'machine': machine(), 'quick': quick, 'rounds': rounds,
            'backends': {name: choice['backend'] for name, choice in
                         skyutils.backend_info()['functions'].items()},
            'results': results, 'summary': summarize(results), 'thread_scaling': scaling}


def _fmt_time(seconds: float) -> str:
    for unit, scale in (('s', 1), ('ms', 1e-3), ('us', 1e-6)):
        if seconds >= scale:
            return f'{seconds / scale:.3g} {unit}'
    return f'{seconds * 1e9:.3g} ns'


def table(report: Dict[str, object]) -> Iterator[str]:
    """A Markdown table of the report, one row per case."""
    m = report['machine']
    yield f"Machine: {m['cpu']} ({m['cpus']} CPUs), {m['platform']}, Python {m['python']}, " \
          f"skyutils {m['skyutils']}{' (quick run)' if report['quick'] else ''}"
    yield ''
    yield '| function | case | serves | skyutils | native | python | skypilot | ' \
          'skypilot / skyutils | floor | skypilot / floor |'
    yield '|---|---|---|---|---|---|---|---|---|---|'
    for r in report['results']:
        s = r['seconds']
        cells = [_fmt_time(s[k]) if k in s else '-' for k in
                 ('skyutils', 'native', 'python', 'skypilot')]
        ratio = r['speedup'].get('skypilot/skyutils')
        best = r['speedup'].get('skypilot/floor')
        yield (f"| {r['function']} | {r['case']} | {report['backends'][r['function']]} | "
               + ' | '.join(cells) + f" | {f'{ratio:.2f}x' if ratio else '-'} | "
               f"{_fmt_time(s['floor']) if 'floor' in s else '-'} | "
               f"{f'{best:.2f}x' if best else '-'} |")
    for label, ratio in report.get('thread_scaling', {}).items():
        yield ''
        yield (f'{label}: two threads do {ratio:.2f}x the work of one in the same time '
               f'(2.00x would be perfect parallelism)')
    summary = report['summary']
    if summary:
        yield ''
        yield (f"Over {summary['cases']} cases, skypilot / skyutils: geometric mean "
               f"{summary['geometric_mean']:.2f}x, arithmetic mean "
               f"{summary['arithmetic_mean']:.2f}x, minimum {summary['minimum']:.2f}x.")


def save_json(report: Dict[str, object], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)


def html(report: Dict[str, object]) -> str:
    """A self-contained HTML page: the table, and the skypilot/skyutils ratios as bars."""
    import html as escape
    rows = [r for r in report['results'] if 'skypilot/skyutils' in r['speedup']]
    bar_height, label_width, chart_width = 22, 380, 460
    top = max([r['speedup']['skypilot/skyutils'] for r in rows] + [1.0])
    scale = chart_width / math.log10(top * 1.25) if top > 1 else chart_width
    bars = []
    for index, r in enumerate(rows):
        ratio = r['speedup']['skypilot/skyutils']
        y = index * bar_height
        # Log scale from 0.5x, so slower and faster cases are both visible.
        width = max(2.0, (math.log10(max(ratio, 0.5)) - math.log10(0.5)) * scale * 0.7)
        color = '#2e7d32' if ratio >= 1 else '#c62828'
        label = escape.escape(f"{r['function']}: {r['case']}")
        bars.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{label}</text>'
                    f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="16" '
                    f'fill="{color}"/><text x="{label_width + width + 4:.1f}" y="{y + 15}">'
                    f'{ratio:.2f}x</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + chart_width + 80}" '
           f'height="{len(rows) * bar_height + 4}" font-family="sans-serif" font-size="12">'
           + ''.join(bars) + '</svg>')
    table_lines = list(table(report))
    body_rows = ''.join(
        '<tr>' + ''.join(f'<td>{escape.escape(cell.strip())}</td>'
                         for cell in line.strip('|').split('|')) + '</tr>'
        for line in table_lines[4:] if line.startswith('| '))
    headers = ''.join(f'<th>{escape.escape(cell.strip())}</th>'
                      for cell in table_lines[2].strip('|').split('|'))
    notes = ''.join(f'<p>{escape.escape(line)}</p>' for line in table_lines
                    if line and not line.startswith('|'))
    return ('<!doctype html><html><head><meta charset="utf-8"><title>skyutils bench</title>'
            '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
            'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}'
            'td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}</style></head><body>'
            '<h1>skyutils bench</h1><h2>SkyPilot time / skyutils time (higher is better)</h2>'
            f'{svg}<h2>Medians</h2><table><tr>{headers}</tr>{body_rows}</table>{notes}'
            '</body></html>')


def save_html(report: Dict[str, object], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(html(report))

"""`skyutils bench`: each function on its hot case, timed four ways in one process.

The four: `skyutils` (the public function, default dispatch), `native` (the library binding,
where there is one), `python` (the pure-Python twin) and `skypilot` (the published function,
when importable; for the two helpers SkyPilot inlines, its inline code). Every round times a
batch of each in shuffled order; a case reports medians and the median of per-round ratios.
Where a case has one, its `floor` (the least any implementation must do: bare system calls
timed inside the library, the Python objects built by Python) is timed in the same rounds, and
each case gets a verdict against issue 6's target: met, bound by the floor, or missed.
"""
import contextlib
import hashlib
import json
import importlib.util
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
from skyutils import _dispatch, _native, _pure, _registry

LINE = b'x' * 99 + b'\n'  # the spec's log: 100-byte lines


# A timer: given a repeat count, runs that many calls and returns seconds per call.
Timer = Callable[[int], float]


class Case:
    """One measurement: a function, its arguments, and how many calls one timing covers."""

    def __init__(self, function: str, label: str, args: tuple = (), calls: int = 1,
                 floor: Optional[Timer] = None, floor_note: str = ''):
        self.function = function
        self.label = label
        self.args = args
        self.calls = calls  # > 1: `args[0]` is a list, one call per item (e.g. 500 pids)
        # The least work any implementation returning the same Python objects must do, timed
        # in the same rounds as the others: `skypilot / floor` is the best ratio this machine
        # allows. None when there is nothing to time it with (no library) or no such floor.
        self.floor = floor
        self.floor_note = floor_note


# Issue 6's targets: skypilot time / skyutils time, per (function, case label prefix). A
# target marked 'floor' means "within 10% of the floor" (directory counting: the kernel's time).
TARGETS = {
    ('read_last_n_lines', 'n=10,'): 3.0,
    ('read_last_n_lines', 'n=1000,'): 8.0,
    ('read_last_n_lines', 'n=100000,'): 8.0,
    ('estimate_fd_for_directory', ''): 'floor',
    ('get_max_workers_for_file_mounts', ''): 'floor',
    ('get_cpu_count', ''): 5.0,
    ('get_mem_size_gb', ''): 15.0,
    ('is_process_alive', ''): 15.0,
    ('find_free_port', ''): 3.0,
    ('base36_encode', ''): 4.0,
    ('hash_file', ''): 0.97,
    ('format_float', ''): 1.0,
    ('truncate_long_string', ''): 1.0,
    ('get_parallel_threads', ''): 1.0,
}
FLOOR_SLACK = 1.10  # 'within 10% of the floor'
MEAN_TARGETS = {'geometric_mean': 4.0, 'arithmetic_mean': 8.5, 'minimum': 1.0}


def target_of(function: str, label: str):
    for (name, prefix), target in TARGETS.items():
        if name == function and label.startswith(prefix):
            return target
    return None


def _reference_functions() -> Dict[str, Callable]:
    found = {}
    for module_name, names in _registry.skypilot_modules().items():
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - any import failure means "no reference"
            return {}
        found.update({name: getattr(module, name) for name in names})
    return dict(found, **_reference_inline())


def _reference_inline() -> Dict[str, Callable]:
    """The functions SkyPilot inlines (no module row): its inline code is the reference."""
    return {'estimate_fd_for_directory': lambda path: len(os.listdir(path)) * 5,
            'is_process_alive': _psutil_alive}


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


def _library_floor(kind: int, arg: bytes = b'', amount: int = 0) -> Optional[Timer]:
    """A timer of the bare system calls of floor `kind`, one ctypes call per round as the
    functions themselves are called (the least a ctypes library can pay); None without a
    library or where it has no such floor (not Linux)."""
    if _native.LIB is None:
        return None
    floor_ns = _native.direct('skyutils_floor_ns')
    if floor_ns(kind, arg, len(arg), amount, 1) < 0:  # also prepares it on this thread
        return None
    return _python_timer(lambda: floor_ns(kind, arg, len(arg), amount, 1))


def _python_timer(fn: Callable[[], object]) -> Timer:
    def timer(repeat: int) -> float:
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - start) / repeat
    return timer


def _tail_bytes(path: str, n: int) -> bytes:
    """The last n lines of the bench's log, as bytes without the final newline."""
    with open(path, 'rb') as f:
        size = f.seek(0, os.SEEK_END)
        step = min(size, (n + 1) * (len(LINE) + 8))
        f.seek(size - step)
        return b'\n'.join(f.read(step).split(b'\n')[-n - 1:-1])


def _tail_floor(path: str, n: int) -> Optional[Timer]:
    """Reading the tail's bytes with one pread (system calls, in the library) plus building
    the result from them (decode, split into n str: CPython's work, which holds the GIL)."""
    data = _tail_bytes(path, n)
    build = _python_timer(lambda: data.decode('utf-8', 'replace').splitlines(True))
    read = _library_floor(_native.FLOOR_TAIL_READ, os.fsencode(path), len(data) + 1)
    if read is None:
        return None
    return lambda repeat: build(repeat) + read(repeat)


def _tail_case(label: str, path: str, n: int) -> Case:
    return Case('read_last_n_lines', label, (path, n), floor=_tail_floor(path, n),
                floor_note='open, fstat, lseek, one pread of the tail, close; then decode '
                           'and split into n str')


def _cgroup_root() -> bytes:
    from skyutils._pure import cgroup
    return os.fsencode(cgroup.root)


def build_cases(fx: Fixtures, functions: Optional[List[str]] = None) -> List[Case]:
    """The cases of `functions` (all when None); fixtures are made only for those."""
    cases = []
    for function, make in case_makers(fx).items():
        if not functions or function in functions:
            cases.extend(make())
    return cases


def case_makers(fx: Fixtures) -> Dict[str, Callable[[], List[Case]]]:
    """function -> what builds its cases (and their fixtures) when called."""
    quick = fx.quick
    big = (64 if quick else 1024) << 20
    big_name = f'{big >> 20} MiB'
    entries = 10_000 if quick else 100_000
    pids = 100 if quick else 500
    busy = 100 if quick else 500
    hashed = (16 if quick else 64) << 20
    return dict([
        ('read_last_n_lines', lambda: [
            _tail_case(f'n={n}, {big_name} log', fx.log(big), n)
            for n in (10, 1000, 100_000)] + [
            _tail_case('n=1000, 10 MiB log', fx.log(10 << 20), 1000)]),
        ('estimate_fd_for_directory', lambda: [Case(
            'estimate_fd_for_directory', f'{entries} entries', (fx.directory(entries),),
            floor=_library_floor(_native.FLOOR_DIRECTORY, os.fsencode(fx.directory(entries))),
            floor_note='open, getdents64 into 32 KiB until done, close')]),
        ('get_max_workers_for_file_mounts', lambda: [Case(
            'get_max_workers_for_file_mounts', f'one dir of {entries} entries',
            ({'/remote': fx.directory(entries)},),
            floor=_library_floor(_native.FLOOR_DIRECTORY, os.fsencode(fx.directory(entries))),
            floor_note='the directory count above')]),
        ('get_cpu_count', lambda: [Case(
            'get_cpu_count', 'cgroup and affinity read',
            floor=_library_floor(_native.FLOOR_CPU_COUNT, _cgroup_root()),
            floor_note='sysconf (reads sysfs), sched_getaffinity, stat, the cgroup CPU files '
                       'SkyPilot reads here')]),
        ('get_mem_size_gb', lambda: [Case(
            'get_mem_size_gb', 'physical memory and cgroup limit',
            floor=_library_floor(_native.FLOOR_MEMORY, _cgroup_root()),
            floor_note='sysinfo, stat, the cgroup memory file (open, fstat, read, close)')]),
        ('is_process_alive', lambda: [_alive_case(fx.live_pids(pids))]),
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
    ])


def _alive_case(pids: List[int]) -> Case:
    return Case('is_process_alive', f'{len(pids)} live pids', (pids,), calls=len(pids),
                floor=_library_floor(_native.FLOOR_PROCESS, amount=pids[0]),
                floor_note='pidfd_open, close, open + read + close of /proc/<pid>/stat (per pid)')


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


def _calibrate(timer: Timer, budget: float) -> int:
    """How many runs make one timing last about `budget` seconds."""
    repeat = 1
    while True:
        took = timer(repeat) * repeat
        if took >= budget / 10 or repeat >= 1 << 20:
            return max(1, int(repeat * budget / max(took, 1e-9)))
        repeat *= 10


def measure(case: Case, implementations: Dict[str, Callable], rounds: int,
            budget: float) -> Dict[str, object]:
    """Interleaved rounds; per implementation the median time, and median per-round ratios."""
    timers: Dict[str, Timer] = {
        name: (lambda repeat, fn=fn: _batch(fn, case, repeat))
        for name, fn in implementations.items()}
    if case.floor is not None:
        floor, calls = case.floor, case.calls  # the floor times one call: scale to a batch
        timers['floor'] = lambda repeat: floor(repeat * calls) * calls
    repeats = {name: _calibrate(timer, budget) for name, timer in timers.items()}
    times: Dict[str, List[float]] = {name: [] for name in timers}
    order = list(timers)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            times[name].append(timers[name](repeats[name]))
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
    if 'floor' in times:
        result['floor_note'] = case.floor_note
        ratios = [s / f for s, f in zip(times['skyutils'], times['floor'])]
        result['speedup']['skyutils/floor'] = statistics.median(ratios)
        if 'skypilot' in times:
            ratios = [r / f for r, f in zip(times['skypilot'], times['floor'])]
            result['speedup']['skypilot/floor'] = statistics.median(ratios)
    result['target'] = target_of(case.function, case.label)
    result['verdict'] = verdict(result)
    return result


def verdict(result: Dict[str, object]) -> str:
    """'met', 'floor' (the target asks for more than this machine's floor allows), 'missed',
    or '' when there is no target or no reference to compare with."""
    target = result.get('target')
    speedup = result['speedup']
    if target is None or 'skypilot/skyutils' not in speedup:
        return ''
    if target == 'floor':
        at_floor = speedup.get('skyutils/floor')
        return 'met' if at_floor is not None and at_floor <= FLOOR_SLACK else 'missed'
    if speedup['skypilot/skyutils'] >= target:
        return 'met'
    best = speedup.get('skypilot/floor')
    return 'floor' if best is not None and best < target else 'missed'


def _two_threads_over_one(work: Callable[[], object], calls: int) -> float:
    """How much more work two threads do than one in the same time, each running `work`
    `calls` times (one thread runs it twice as often)."""
    import threading

    def run():
        for _ in range(calls):
            work()

    start = time.perf_counter()
    run()
    run()
    one_thread = time.perf_counter() - start
    threads = [threading.Thread(target=run) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return one_thread / (time.perf_counter() - start)


def thread_scaling(path: str, n: int, calls: int) -> Dict[str, float]:
    """Two threads against one calling read_last_n_lines, and the most Amdahl's law allows:
    the library releases the GIL while it scans and os.pread while it reads; decoding and
    splitting into str objects hold it (share `gil_held`), so two threads can do at most
    2 / (1 + gil_held) the work of one. `library`: the same for the GIL-free part alone (the
    library call and the read), which shows whether that part runs in parallel, and
    `system_calls` for the bare system calls under it (open, pread, close, looped in Rust)."""
    scaling = {'ratio': _two_threads_over_one(lambda: skyutils.read_last_n_lines(path, n),
                                              calls)}
    data = _tail_bytes(path, n)
    build = _python_timer(lambda: data.decode('utf-8', 'replace').splitlines(True))
    per_call = _python_timer(lambda: skyutils.read_last_n_lines(path, n))(calls)
    # A free-threaded build with the GIL off (3.13t, PYTHON_GIL=0) decodes in parallel too:
    # then only the cores bound two threads.
    scaling['gil'] = 1.0 if getattr(sys, '_is_gil_enabled', lambda: True)() else 0.0
    scaling['gil_held'] = min(1.0, build(calls) / per_call) if scaling['gil'] else 0.0
    scaling['bound'] = min(2.0, float(os.cpu_count() or 1)) / (1 + scaling['gil_held'])
    if _dispatch.serve('read_last_n_lines') is not getattr(_pure, 'read_last_n_lines'):
        from skyutils._bindings import files
        scaling['library'] = _two_threads_over_one(lambda: files.tail_bytes(path, n), calls)
        # The bare system calls of the floor, 20 at a time in Rust: what the machine allows.
        raw, floor_ns = os.fsencode(path), _native.direct('skyutils_floor_ns')
        scaling['system_calls'] = _two_threads_over_one(
            lambda: floor_ns(_native.FLOOR_TAIL_READ, raw, len(raw), len(data) + 1, 20), calls)
    return scaling


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


def summarize(results: List[Dict[str, object]]) -> Dict[str, object]:
    """Over all cases with a reference: the means and minimum of skypilot/skyutils, the same
    with every case that has a floor taken to it (the best this machine allows), the verdicts,
    and how the n=1000 tail's time changes from the 10 MiB to the big log."""
    rows = [r for r in results if 'skypilot/skyutils' in r['speedup']]
    if not rows:
        return {}
    ratios = [r['speedup']['skypilot/skyutils'] for r in rows]
    best = [max(r['speedup']['skypilot/skyutils'], r['speedup'].get('skypilot/floor', 0))
            for r in rows]
    summary: Dict[str, object] = {'cases': len(ratios), **_means(ratios),
                                  'at_floors': _means(best)}
    verdicts = [r['verdict'] for r in rows if r['verdict']]
    summary['verdicts'] = {v: verdicts.count(v) for v in ('met', 'floor', 'missed')}
    summary['means_met'] = all(
        (summary[key] >= target) for key, target in MEAN_TARGETS.items())
    tails = {r['case'].split(', ', 1)[1]: r['seconds']['skyutils'] for r in results
             if r['function'] == 'read_last_n_lines' and r['case'].startswith('n=1000,')}
    small = tails.pop('10 MiB log', None)
    if small and tails:
        summary['tail_big_over_small'] = next(iter(tails.values())) / small
    return summary


def _means(ratios: List[float]) -> Dict[str, float]:
    return {'geometric_mean': math.exp(sum(math.log(r) for r in ratios) / len(ratios)),
            'arithmetic_mean': sum(ratios) / len(ratios), 'minimum': min(ratios)}


STARTUP_RUNS = 15
STARTUP_TARGET_US = 1000.0  # the hook may add under 1 ms to an interpreter's start


def startup_hook(runs: int = STARTUP_RUNS) -> Optional[Dict[str, object]]:
    """What the startup hook (skypilot_rust.pth -> _skyutils_hook) adds to the start of an
    interpreter that never imports SkyPilot: its import time by `-X importtime` (cumulative,
    microseconds; median of `runs` fresh interpreters), and whether skyutils or psutil were
    imported. The installed hook, or in a source checkout the checkout's files on a site
    directory. None when neither is there."""
    import py_compile
    import re
    import site
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(skyutils.__file__)))
    installed = any(os.path.isfile(os.path.join(directory, 'skypilot_rust.pth'))
                    for directory in site.getsitepackages() + [site.getusersitepackages()])
    with tempfile.TemporaryDirectory() as site_dir:
        source = 'installed'
        if not installed:
            files = [os.path.join(checkout, name)
                     for name in ('_skyutils_hook.py', 'skypilot_rust.pth')]
            if not all(os.path.isfile(f) for f in files):
                return None
            for path in files:
                shutil.copy(path, site_dir)
            # As pip does at install: the module's bytecode is there before the first start.
            copied = os.path.join(site_dir, '_skyutils_hook.py')
            py_compile.compile(copied, cfile=importlib.util.cache_from_source(copied))
            with open(os.path.join(site_dir, 'sitecustomize.py'), 'w') as f:
                f.write('import os, site\n'
                        'site.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n')
            env['PYTHONPATH'] = os.pathsep.join(filter(None, [site_dir, env.get('PYTHONPATH')]))
            source = 'checkout'
        times, imported = [], set()
        code = ('import sys; print(" ".join(m for m in ("skyutils", "psutil", "_skyutils_hook")'
                ' if m in sys.modules))')
        for _ in range(runs):
            done = subprocess.run([sys.executable, '-X', 'importtime', '-c', code], env=env,
                                  capture_output=True, text=True, timeout=60, check=True)
            imported.update(done.stdout.split())
            line = re.search(r'import time:\s*\d+\s*\|\s*(\d+)\s*\|\s*_skyutils_hook\s*$',
                             done.stderr, re.M)
            if line:
                times.append(int(line.group(1)))
    if not times:
        return None
    return {'us': statistics.median(times), 'max_us': max(times), 'runs': len(times),
            'source': source, 'imported': sorted(imported - {'_skyutils_hook'}),
            'target_us': STARTUP_TARGET_US}


IMPORT_TARGET_US = 15000.0  # `import skyutils`, library loaded and serving (issue 14)


def import_skyutils(runs: int = STARTUP_RUNS) -> Dict[str, object]:
    """What `import skyutils` costs a fresh interpreter, beside `import json`: `-X importtime`'s
    cumulative microseconds, median of `runs` interpreters each, bytecode cached as an
    installed package has it. Says whether the native library served in those interpreters."""
    import re
    env = dict(os.environ)
    env.pop('PYTHONDONTWRITEBYTECODE', None)  # an installed package has its .pyc files
    code = ('import {0}; import sys; '
            'print(sys.modules["skyutils"].backend_info()["library"]["loaded"]'
            ' if "skyutils" in sys.modules else "")')
    found: Dict[str, object] = {'runs': runs, 'target_us': IMPORT_TARGET_US}
    for module in ('skyutils', 'json'):
        times, served = [], set()
        for index in range(runs + 1):  # the first run writes the bytecode a checkout lacks
            done = subprocess.run([sys.executable, '-X', 'importtime', '-c', code.format(module)],
                                  env=env, capture_output=True, text=True, timeout=60,
                                  check=True)
            line = re.search(rf'import time:\s*\d+\s*\|\s*(\d+)\s*\|\s*{module}\s*$',
                             done.stderr, re.M)
            if index and line:
                times.append(int(line.group(1)))
                served.add(done.stdout.strip())
        found[module] = {'us': statistics.median(times), 'max_us': max(times)}
        if module == 'skyutils':
            found['native'] = served == {'True'}
    return found


def run(quick: bool = False, functions: Optional[List[str]] = None,
        progress: Callable[[str], None] = lambda text: None,
        startup_only: bool = False) -> Dict[str, object]:
    """Builds the fixtures, measures every case (or those of `functions`), cleans up; with
    `startup_only`, only what the hook and `import skyutils` add to an interpreter's start."""
    if startup_only:
        progress('startup: fresh interpreters')
        return {'machine': machine(), 'quick': quick, 'rounds': 0, 'startup_hook': startup_hook(),
                'import': import_skyutils(), 'backends': {}, 'results': [],
                'summary': summarize([]), 'thread_scaling': {}}
    reference = _reference_functions()
    fx = Fixtures(quick, progress)
    rounds, budget = (5, 0.02) if quick else (31, 0.025)
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
            results.append(measure(case, implementations, rounds, budget))
        scaling = {}
        if not functions or 'read_last_n_lines' in functions:
            progress('read_last_n_lines: two threads against one')
            big_log = fx.log((64 if quick else 1024) << 20)
            for n in (1000, 100_000):
                samples = [thread_scaling(big_log, n, 6 if n > 1000 else 50)
                           for _ in range(rounds // 3)]
                scaling[f'read_last_n_lines n={n}'] = {
                    key: statistics.median(sample[key] for sample in samples)
                    for key in samples[0]}
    finally:
        fx.close()
    hook = imported = None
    if not functions:
        progress('startup: fresh interpreters')
        hook, imported = startup_hook(), import_skyutils()
    return {'machine': machine(), 'quick': quick, 'rounds': rounds, 'startup_hook': hook,
            'import': imported,
            'backends': {name: choice['backend'] for name, choice in
                         skyutils.backend_info()['functions'].items()},
            'results': results, 'summary': summarize(results), 'thread_scaling': scaling}


def _fmt_time(seconds: float) -> str:
    for unit, scale in (('s', 1), ('ms', 1e-3), ('us', 1e-6)):
        if seconds >= scale:
            return f'{seconds / scale:.3g} {unit}'
    return f'{seconds * 1e9:.3g} ns'


def _ratio(value: Optional[float]) -> str:
    return f'{value:.2f}x' if value else '-'


def table(report: Dict[str, object]) -> Iterator[str]:
    """A Markdown table of the report, one row per case, then the notes and the summary."""
    m = report['machine']
    yield f"Machine: {m['cpu']} ({m['cpus']} CPUs), {m['platform']}, Python {m['python']}, " \
          f"skyutils {m['skyutils']}{' (quick run)' if report['quick'] else ''}"
    if report['results']:
        yield ''
        yield '| function | case | serves | skyutils | native | python | skypilot | floor | ' \
              'skypilot / skyutils | skypilot / floor | target | verdict |'
        yield '|---|---|---|---|---|---|---|---|---|---|---|---|'
    notes = {}
    for r in report['results']:
        s = r['seconds']
        cells = [_fmt_time(s[k]) if k in s else '-' for k in
                 ('skyutils', 'native', 'python', 'skypilot', 'floor')]
        speedup = r['speedup']
        target = r.get('target')
        target_text = ('-' if target is None else
                       'floor +10%' if target == 'floor' else f'>= {target:g}x')
        if r.get('floor_note'):
            notes.setdefault(r['function'], r['floor_note'])
        yield (f"| {r['function']} | {r['case']} | {report['backends'][r['function']]} | "
               + ' | '.join(cells) + f" | {_ratio(speedup.get('skypilot/skyutils'))} | "
               f"{_ratio(speedup.get('skypilot/floor'))} | {target_text} | "
               f"{r.get('verdict') or '-'} |")
    if notes:
        yield ''
        yield ('floor: the least any implementation must do, timed in the same rounds: one '
               'ctypes call a round that makes only the bare system calls (prepared once), and '
               'Python work as Python. Verdict `floor`: the target asks for more than '
               'skypilot / floor, the best ratio this machine allows.')
        for function, note in notes.items():
            yield f'- {function}: {note}'
    for label, scaling in report.get('thread_scaling', {}).items():
        yield ''
        library = ''
        if 'library' in scaling:
            library = (f"; the GIL-free part alone (library call and read) scales "
                       f"{scaling['library']:.2f}x")
        if 'system_calls' in scaling:
            library += (f", the bare system calls under it (in Rust, no Python) "
                        f"{scaling['system_calls']:.2f}x")
        if scaling.get('gil', 1.0):
            bound = (f"the GIL is held for {scaling['gil_held']:.0%} of a call (decoding and "
                     f"splitting into str), so Amdahl's law allows at most "
                     f"{scaling['bound']:.2f}x")
        else:
            bound = (f"free-threaded build with the GIL off: decoding runs in parallel too, "
                     f"so only the cores bound it, at {scaling['bound']:.2f}x")
        yield (f"{label}: two threads do {scaling['ratio']:.2f}x the work of one in the same "
               f"time; {bound}{library}")
    summary = report['summary']
    if summary:
        best = summary['at_floors']
        yield ''
        yield (f"Over {summary['cases']} cases, skypilot / skyutils: geometric mean "
               f"{summary['geometric_mean']:.2f}x, arithmetic mean "
               f"{summary['arithmetic_mean']:.2f}x, minimum {summary['minimum']:.2f}x "
               f"(targets {MEAN_TARGETS['geometric_mean']:g}x, "
               f"{MEAN_TARGETS['arithmetic_mean']:g}x, {MEAN_TARGETS['minimum']:g}x). "
               f"With every case that has a floor at that floor: "
               f"{best['geometric_mean']:.2f}x, {best['arithmetic_mean']:.2f}x.")
        counts = summary['verdicts']
        yield (f"Verdicts: {counts['met']} met, {counts['floor']} bound by this machine's "
               f"floor, {counts['missed']} missed.")
        same = [r['speedup']['python/skyutils'] for r in report['results']
                if report['backends'][r['function']] == 'python' and
                'python/skyutils' in r['speedup']]
        if same:
            yield (f"Noise: where Python serves, `skyutils` and `python` are the same "
                   f"function, and their ratio ran from {min(same):.2f}x to {max(same):.2f}x "
                   f"in this run.")
        if 'tail_big_over_small' in summary:
            yield (f"read_last_n_lines n=1000 on the big log takes "
                   f"{summary['tail_big_over_small']:.2f}x its time on the 10 MiB log "
                   f"(target: within 20%, 0.80x to 1.20x).")
    yield from _startup_lines(report)


def _startup_lines(report: Dict[str, object]) -> Iterator[str]:
    """What the hook and `import skyutils` add to an interpreter's start, when measured."""
    hook = report.get('startup_hook')
    if hook:
        imported = ', '.join(hook['imported']) or 'neither skyutils nor psutil'
        verdict_word = 'met' if hook['us'] < hook['target_us'] else 'missed'
        yield (f"Startup hook ({hook['source']}): importing _skyutils_hook takes "
               f"{hook['us']:.0f} us at an interpreter's start (median of {hook['runs']} "
               f"fresh interpreters, -X importtime; the slowest {hook['max_us']:.0f} us; "
               f"target under {hook['target_us']:.0f} us: {verdict_word}); imported: "
               f"{imported}.")
    imported = report.get('import')
    if imported:
        verdict_word = 'met' if imported['skyutils']['us'] < imported['target_us'] else 'missed'
        served = 'native library serving' if imported['native'] else 'pure Python only'
        yield (f"import skyutils ({served}): {imported['skyutils']['us'] / 1000:.1f} ms "
               f"(median of {imported['runs']} fresh interpreters, -X importtime; the "
               f"slowest {imported['skyutils']['max_us'] / 1000:.1f} ms; import json "
               f"{imported['json']['us'] / 1000:.1f} ms; target under "
               f"{imported['target_us'] / 1000:.0f} ms: {verdict_word}).")


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

"""Timing: rounds of shuffled batches, medians and per-round ratios, verdicts, thread scaling."""

import contextlib
import functools
import os
import platform
import random
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

import skyutils
from skyutils import _abi, _dispatch, _native, _pure
from skyutils.bench.cases import Case, target_of
from skyutils.bench.floors import Timer, python_timer, tail_bytes
from skyutils.bench.judge import quartiles, verdict


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


def measure(
    case: Case, implementations: Dict[str, Callable], rounds: int, budget: float
) -> Dict[str, Any]:
    """Interleaved rounds; per implementation the median time, and median per-round ratios."""
    timers: Dict[str, Timer] = {
        name: functools.partial(_batch, fn, case) for name, fn in implementations.items()
    }
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
    result: Dict[str, Any] = {
        'function': case.function,
        'case': case.label,
        'seconds': {name: statistics.median(values) for name, values in times.items()},
        'spread_seconds': {name: list(quartiles(values)) for name, values in times.items()},
        'speedup': {},
        'spread': {},
    }

    def ratio(key: str, over: str, under: str) -> None:
        ratios = [o / u for o, u in zip(times[over], times[under])]
        result['speedup'][key] = statistics.median(ratios)
        result['spread'][key] = list(quartiles(ratios))

    for other in ('skypilot', 'python'):
        if other in times:
            ratio(f'{other}/skyutils', other, 'skyutils')
    if 'native' in times:
        ratio('python/native', 'python', 'native')
    if 'floor' in times:
        result['floor_note'] = case.floor_note
        ratio('skyutils/floor', 'skyutils', 'floor')
        if 'skypilot' in times:
            ratio('skypilot/floor', 'skypilot', 'floor')
    result['target'] = target_of(case.function, case.label)
    result['verdict'] = verdict(result)  # without the run's noise; run() judges again with it
    return result


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
    scaling = {'ratio': _two_threads_over_one(lambda: skyutils.read_last_n_lines(path, n), calls)}
    data = tail_bytes(path, n)
    build = python_timer(lambda: data.decode('utf-8', 'replace').splitlines(True))
    per_call = python_timer(lambda: skyutils.read_last_n_lines(path, n))(calls)
    # A free-threaded build with the GIL off (3.13t, PYTHON_GIL=0) decodes in parallel too:
    # then only the cores bound two threads.
    scaling['gil'] = 1.0 if getattr(sys, '_is_gil_enabled', lambda: True)() else 0.0
    scaling['gil_held'] = min(1.0, build(calls) / per_call) if scaling['gil'] else 0.0
    scaling['bound'] = min(2.0, float(os.cpu_count() or 1)) / (1 + scaling['gil_held'])
    if _dispatch.serve('read_last_n_lines') is not _pure.read_last_n_lines:
        from skyutils._bindings import files

        scaling['library'] = _two_threads_over_one(lambda: files.tail_bytes(path, n), calls)
        # The bare system calls of the floor, 20 at a time in Rust: what the machine allows.
        raw, floor_ns = os.fsencode(path), _native.direct('skyutils_floor_ns')
        scaling['system_calls'] = _two_threads_over_one(
            lambda: floor_ns(_abi.FLOOR_TAIL_READ, raw, len(raw), len(data) + 1, 20), calls
        )
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
        'platform': platform.platform(),
        'cpu': model,
        'cpus': str(os.cpu_count()),
        'python': sys.version.split()[0],
        'skyutils': skyutils.__version__,
        'library': str(_native.LOADED.version),
    }

"""`skyutils bench`: each function on its hot case, timed four ways in one process.

The four: `skyutils` (the public function, default dispatch), `native` (the library binding,
where there is one), `python` (the pure-Python twin) and `skypilot` (the published function,
when importable; for the two helpers SkyPilot inlines, its inline code). Every round times a
batch of each in shuffled order; a case reports medians and the median of per-round ratios.
Where a case has one, its `floor` (the least any implementation must do: bare system calls
timed inside the library, the Python objects built by Python) is timed in the same rounds, and
each case gets a verdict against its target: met, bound by the floor, missed, or noise when
the margin is inside the run's own noise (judge.py). Without SkyPilot, skyutils is compared
with its pure-Python twin, and no verdict is given.

Modules: fixtures (what cases run on), cases (each function's cases and targets), floors,
reference (SkyPilot's side), timing, judge (noise and verdicts), startup (fresh
interpreters), report (table, JSON, HTML).
"""

import statistics
from typing import Any, Callable, Dict, List, Optional

import skyutils
from skyutils import _dispatch, _native, _pure
from skyutils.bench.cases import TARGETS, Case, build_cases, case_makers, target_of
from skyutils.bench.fixtures import LINE, Fixtures
from skyutils.bench.judge import load_average, run_noise, verdict
from skyutils.bench.reference import reference_functions
from skyutils.bench.report import html, save_html, save_json, summarize, table
from skyutils.bench.startup import import_skyutils, skypilot_process, startup_hook
from skyutils.bench.timing import machine, measure, thread_scaling

__all__ = [
    'LINE',
    'TARGETS',
    'Case',
    'Fixtures',
    'build_cases',
    'case_makers',
    'html',
    'import_skyutils',
    'machine',
    'measure',
    'run',
    'save_html',
    'save_json',
    'skypilot_process',
    'startup_hook',
    'summarize',
    'table',
    'target_of',
    'thread_scaling',
    'verdict',
]


def run(
    quick: bool = False,
    functions: Optional[List[str]] = None,
    progress: Callable[[str], None] = lambda text: None,
    startup_only: bool = False,
    runs: Optional[int] = None,
) -> Dict[str, Any]:
    """Builds the fixtures, measures every case (or those of `functions`), judges them against
    the run's own noise, cleans up; with `startup_only`, only what the hook and `import
    skyutils` add to an interpreter's start."""
    report: Dict[str, Any] = {
        'machine': machine(),
        'quick': quick,
        'rounds': 0,
        'reference': reference_version(),
        'startup_hook': None,
        'import': None,
        'skypilot_process': None,
        'backends': {},
        'results': [],
        'thread_scaling': {},
    }
    if startup_only:
        _startup(report, progress, runs)
        report['summary'] = summarize([])
        return report
    load = {'before': load_average(), 'cpus': int(report['machine']['cpus'] or 1)}
    reference = reference_functions()
    fx = Fixtures(quick, progress)
    rounds, budget = (5, 0.02) if quick else (31, 0.025)
    try:
        cases = build_cases(fx, functions)
        results = []
        for index, case in enumerate(cases, 1):
            progress(f'[{index}/{len(cases)}] {case.function}: {case.label}')
            implementations = {
                'skyutils': getattr(skyutils, case.function),
                'python': getattr(_pure, case.function),
            }
            if _native.LIB is not None and case.function in _dispatch.NATIVE_REASONS:
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
                samples = [
                    thread_scaling(big_log, n, 6 if n > 1000 else 50)
                    for _ in range(max(3, rounds // 3))
                ]
                found: Dict[str, Any] = {
                    key: statistics.median(s[key] for s in samples) for key in samples[0]
                }
                found['ratio_range'] = [
                    min(s['ratio'] for s in samples),
                    max(s['ratio'] for s in samples),
                ]
                scaling[f'read_last_n_lines n={n}'] = found
    finally:
        fx.close()
    load['after'] = load_average()
    if not functions:
        _startup(report, progress, runs)
    report['backends'] = {
        name: choice['backend'] for name, choice in skyutils.backend_info()['functions'].items()
    }
    noise = run_noise(results, report['backends'], load)
    for result in results:
        result['verdict'] = verdict(result, noise['margin'], noise['noisy'])
    report.update(
        rounds=rounds,
        results=results,
        thread_scaling=scaling,
        noise=noise,
        summary=summarize(results, noise['margin']),
    )
    return report


def reference_version() -> Optional[str]:
    """The installed SkyPilot's distribution and version, or None."""
    from skyutils import _patch

    distribution, version = _patch.installed_skypilot()
    return f'{distribution} {version}' if distribution else None


def _startup(report: Dict[str, Any], progress: Callable[[str], None], runs: Optional[int]) -> None:
    progress('startup: fresh interpreters')
    counts = {} if runs is None else {'runs': runs}
    report['startup_hook'], report['import'] = startup_hook(**counts), import_skyutils(**counts)
    progress('startup: SkyPilot processes, hook on and off')
    report['skypilot_process'] = skypilot_process(**counts)

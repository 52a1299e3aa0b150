"""What `skyutils bench` says: noise-aware verdicts, statements only where the run supports
them, a report without SkyPilot, and a chart that headless Chromium draws as intended."""

import os
import shutil
import subprocess
import sys

import pngread
import pytest

from skyutils import bench
from skyutils.bench import chart, judge

REQUIRED = os.environ.get('SKYUTILS_REQUIRE_TOOLS') == '1'


def case(function, label, skyutils, other, spread=None, floor=None, key='skypilot'):
    """A measured case as bench.measure() returns it, with its ratios' spreads."""
    seconds = {'skyutils': skyutils, key: other, 'python': other}
    speedup = {f'{key}/skyutils': other / skyutils, 'python/skyutils': other / skyutils}
    ratio = other / skyutils
    found = {
        'function': function,
        'case': label,
        'seconds': seconds,
        'spread_seconds': {'skyutils': [skyutils, skyutils]},
        'speedup': speedup,
        'spread': {f'{key}/skyutils': spread or [ratio, ratio]},
        'target': bench.target_of(function, label),
    }
    if floor is not None:
        seconds['floor'] = floor
        speedup['skyutils/floor'] = skyutils / floor
        found['spread']['skyutils/floor'] = [skyutils / floor] * 2
        if key == 'skypilot':
            speedup['skypilot/floor'] = other / floor
    if key != 'skypilot':
        del speedup['python/skyutils']
    found['verdict'] = judge.verdict(found, 0.03)
    return found


def test_a_margin_inside_the_noise_reads_noise():
    # 4.9x against 5x: missed without noise, noise once the run's noise is 3%.
    near = case('get_cpu_count', 'x', 10, 49)
    assert judge.verdict(near) == 'missed'
    assert judge.verdict(near, 0.03) == 'noise'
    # The target inside the rounds' spread is noise even when the median is well off it.
    wide = case('get_cpu_count', 'x', 10, 40, spread=[3.0, 5.5])
    assert judge.verdict(wide, 0.03) == 'noise'
    # Far from the target, beyond both: a verdict.
    assert judge.verdict(case('get_cpu_count', 'x', 10, 30), 0.03) == 'missed'
    assert judge.verdict(case('get_cpu_count', 'x', 10, 80), 0.03) == 'met'
    # A run flagged noisy widens the spread by its noise: the busy run's get_cpu_count.
    busy = case('get_cpu_count', 'x', 10, 29.3, spread=[2.03, 4.09])
    assert judge.verdict(busy, 0.28) == 'missed'
    assert judge.verdict(busy, 0.28, noisy=True) == 'noise'
    # The directory target (within 10% of the floor) too.
    assert judge.verdict(case('estimate_fd_for_directory', 'x', 11.1, 14, floor=10), 0.03) == (
        'noise'
    )


def test_a_floor_skyutils_beats_is_reported_wrong_and_bounds_nothing():
    # The case: skyutils 46.5 us under a 53 us floor, SkyPilot 3.8x of skyutils.
    beaten = case('get_cpu_count', 'cgroup and affinity read', 46.5, 176.7, floor=53)
    assert judge.floor_beaten(beaten, 0.03)
    assert judge.verdict(beaten, 0.03) == 'missed'  # not `floor`: that floor is no bound
    summary = bench.summarize([beaten], 0.03)
    assert summary['floors_beaten'] == ['get_cpu_count: cgroup and affinity read']
    report = _report([beaten])
    assert any(
        'The floor of get_cpu_count: cgroup and affinity read is wrong' in line
        for line in bench.table(report)
    )


def test_thread_line_claims_a_bound_only_when_the_run_is_consistent():
    consistent = {
        'ratio': 0.9,
        'ratio_range': [0.8, 1.0],
        'gil': 1.0,
        'gil_held': 0.75,
        'bound': 1.14,
    }
    # The run: 1.39x where the same run's GIL share allowed at most 1.00x.
    broken = dict(consistent, ratio=1.39, ratio_range=[1.3, 1.5], gil_held=1.0, bound=1.0)
    above = dict(consistent, ratio=1.25)  # above its own bound, with a plausible GIL share
    report = _report(
        [],
        scaling={
            'read_last_n_lines n=1000': consistent,
            'read_last_n_lines n=100000': broken,
            'read_last_n_lines n=10': above,
        },
    )
    lines = [line for line in bench.table(report) if line.startswith('read_last_n_lines n=')]
    assert "Amdahl's law allows at most 1.14x" in lines[0]
    for line in lines[1:]:
        assert 'Amdahl' not in line and 'allows' not in line and 'noise' in line, line


def test_tail_statement_is_judged_only_outside_the_noise():
    big = case('read_last_n_lines', 'n=1000, 1024 MiB log', 0.35, 1)
    small = case('read_last_n_lines', 'n=1000, 10 MiB log', 1.0, 3)
    assert judge.tail_ratio_verdict(big, small)['verdict'] == 'missed'
    big['spread_seconds']['skyutils'] = [0.3, 0.9]
    assert judge.tail_ratio_verdict(big, small)['verdict'] == 'noise'
    line = [line for line in bench.table(_report([big, small])) if 'on the big log' in line][0]
    assert 'not judged: noise' in line


def test_tail_statement_judges_skyutils_own_cost_when_the_machine_moved():
    # This machine's run: 211 us on the big log, 140 us on the small one, but the floors (the
    # same system calls) moved alike, 174 and 112 us: skyutils' own cost did not change.
    big = case('read_last_n_lines', 'n=1000, 1024 MiB log', 211, 564, floor=174)
    small = case('read_last_n_lines', 'n=1000, 10 MiB log', 140, 327, floor=112)
    found = judge.tail_ratio_verdict(big, small)
    assert found['time_ratio'] == pytest.approx(1.507, abs=1e-3)
    assert found['own'] == pytest.approx(0.970, abs=1e-3) and found['verdict'] == 'met'
    line = [line for line in bench.table(_report([big, small])) if 'on the big log' in line][0]
    assert 'moved 1.55x' in line and "skyutils' own cost" in line and line.endswith('met).')


def test_noise_is_measured_and_a_busy_run_says_so():
    served_by_python = case('format_float', '2.25', 1.0, 1.08, key='skypilot')
    results = [served_by_python, case('base36_encode', '32-digit hex', 1, 4.4)]
    backends = {'format_float': 'python', 'base36_encode': 'native'}
    quiet = judge.run_noise(results, backends, {'before': 0.2, 'after': 1.1, 'cpus': 2})
    assert quiet['same_function'] == [pytest.approx(1.08), pytest.approx(1.08)]
    assert quiet['margin'] == pytest.approx(0.08) and not quiet['busy']
    busy = judge.run_noise(results, backends, {'before': 2.3, 'after': 2.9, 'cpus': 2})
    assert busy['busy'] and busy['noisy']
    lines = list(bench.table(_report(results, noise=busy)))
    assert any(line.startswith('Warning: this run was too noisy') for line in lines)


def test_without_skypilot_the_report_compares_with_python(tmp_path, monkeypatch):
    # A real run (one cheap function) in a process that cannot import SkyPilot.
    monkeypatch.setattr(bench, 'reference_functions', lambda: {})
    monkeypatch.setattr(bench, 'reference_version', lambda: None)
    report = bench.run(quick=True, functions=['format_float'])
    lines = list(bench.table(report))
    assert any(
        'SkyPilot is not installed here' in line and 'pip install skypilot==0.14.1' in line
        for line in lines
    )
    assert report['summary']['ratio'] == 'python/skyutils'
    assert any(line.startswith('Over 1 cases, python / skyutils') for line in lines)
    assert all(r['verdict'] == '' for r in report['results'])
    page = bench.html(report)
    assert 'no SkyPilot here' in page and '<svg' in page and 'format_float: 2.25' in page


def _report(results, scaling=None, noise=None):
    return {
        'machine': {'cpu': 'cpu', 'cpus': '2', 'platform': 'p', 'python': '3', 'skyutils': '0'},
        'quick': True,
        'reference': 'skypilot 0.14.1',
        'results': results,
        'backends': {r['function']: 'native' for r in results},
        'thread_scaling': scaling or {},
        'noise': noise,
        'summary': bench.summarize(results, noise['margin'] if noise else 0.03),
    }


def _chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    if REQUIRED:
        pytest.fail('no Chromium to screenshot the chart (ci/platform-deps installs chromium)')
    pytest.skip('no Chromium to screenshot the chart')


def _screenshot(path, width, height, out):
    done = subprocess.run(
        [
            _chromium(),
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--hide-scrollbars',
            '--force-device-scale-factor=1',
            f'--window-size={width},{height}',
            f'--screenshot={out}',
            f'file://{path}',
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert os.path.isfile(out), done.stderr[-2000:]
    return pngread.read(str(out))


def _near(pixel, colour, tolerance=40):
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target))


def _dark(pixel):
    return sum(pixel) < 3 * 110


@pytest.mark.volume
def test_chart_screenshot_draws_what_the_numbers_say(tmp_path):
    results = [
        case('base36_encode', '32-digit hex', 1.0, 4.0, spread=[3.0, 5.0]),
        case('hash_file', 'sha256, 64 MiB', 2.0, 1.0, spread=[0.45, 0.6]),
    ]
    rows = chart.chart_rows(results, 'skypilot/skyutils')
    g = chart.geometry(rows)
    svg_path = tmp_path / 'chart.svg'
    svg_path.write_text(chart.svg(rows, 'SkyPilot time / skyutils time'), encoding='utf-8')
    image = _screenshot(svg_path, g.width, g.height, tmp_path / 'chart.png')
    assert len(image) == g.height and len(image[0]) == g.width

    def at(x, y):
        return image[int(round(y))][int(round(x))]

    one = g.x(1.0)
    fast_y, slow_y = g.y(0), g.y(1)
    # The 1x line crosses both rows; the faster bar lies right of it, the slower one left.
    assert _dark(at(one, fast_y - 12)) and _dark(at(one, slow_y + 10))
    assert _near(at((one + g.x(3.0)) / 2, fast_y - 5), chart.FASTER)
    assert not _near(at(one - 15, fast_y - 5), chart.FASTER)
    assert _near(at((g.x(0.5) + one) / 2, slow_y - 5), chart.SLOWER)
    assert not _near(at(one + 15, slow_y - 5), chart.SLOWER)
    # A 0.5x bar is as long as a 2x one would be: log scale around 1x.
    assert abs((one - g.x(0.5)) - (g.x(2.0) - one)) < 1
    # Whisker caps at the quartiles of the rounds.
    for x in (g.x(3.0), g.x(5.0)):
        assert any(_dark(at(x + dx, fast_y + 4)) for dx in (-1, 0, 1))
    # Text beside each bar (its ratio in words), and a label under every tick of the axis.
    bottom = g.top + g.row * len(rows)
    assert any(_dark(at(x, fast_y)) for x in range(int(g.x(5.0)) + 8, int(g.x(5.0)) + 80))
    assert any(_dark(at(x, slow_y)) for x in range(int(g.x(0.45)) - 80, int(g.x(0.45)) - 8))
    ratio = g.low
    while ratio <= g.high:
        box = [at(g.x(ratio) + dx, bottom + 14 + dy) for dx in range(-8, 9) for dy in (-3, 0, 3)]
        assert any(_dark(p) for p in box), f'no tick label at {ratio}x'
        ratio *= 2
    # The whole HTML report renders the same chart.
    report = _report(results)
    page = tmp_path / 'bench.html'
    page.write_text(bench.html(report), encoding='utf-8')
    shot = _screenshot(page, 1100, 900, tmp_path / 'page.png')
    colours = {pixel for row in shot for pixel in row[::3]}
    assert any(_near(p, chart.FASTER, 10) for p in colours)
    assert any(_near(p, chart.SLOWER, 10) for p in colours)


def test_startup_measures_import_on_any_interpreter_and_says_when_the_hook_cannot_be():
    """`import skyutils` is timed inside the child on every interpreter (PyPy has no -X
    importtime: CI's PyPy suite saw `bench --startup` end with 'no median for empty data');
    the hook, which only -X importtime can isolate, is reported as not measured there."""
    from skyutils.bench import startup

    cost = startup.import_skyutils(runs=2)
    assert 0 < cost['json']['us'] and 0 < cost['skyutils']['us'] < 10e6
    hook = startup.startup_hook(runs=2)
    report = {'startup_hook': hook, 'import': cost, 'noise': None}
    lines = list(bench.report._startup_lines(report))
    assert any(line.startswith('import skyutils (') for line in lines), lines
    if sys.implementation.name != 'cpython':
        assert hook and 'skipped' in hook
        assert lines[0].startswith('Startup hook: not measured here: ')


def _process(difference_us, low_us, high_us):
    times = {'import_us': 3e6, 'first_us': 7000.0, 'second_us': 30.0, 'hook_us': 150.0}
    return {
        'runs': 21,
        'source': 'installed',
        'served': True,
        'on': dict(times, import_us=3e6 + difference_us),
        'off': dict(times, hook_us=0.0),
        'import_difference_us': difference_us,
        'import_difference_middle_half_us': [low_us, high_us],
        'target_us': 2000.0,
    }


def test_the_skypilot_process_line_says_noise_where_the_spread_exceeds_the_target():
    """SkyPilot's import takes seconds here: a run whose differences spread wider than the
    2 ms target cannot tell it met it, and says so, beside the hook's own time."""
    quiet = list(bench.report._startup_lines({'skypilot_process': _process(500, 100, 900)}))
    noisy = list(bench.report._startup_lines({'skypilot_process': _process(500, -60e3, 60e3)}))
    assert 'target at most 2 ms: met' in quiet[0] and 'own patching' in quiet[0]
    assert 'noise: the differences spread wider than the target' in noisy[0]
    missed = list(bench.report._startup_lines({'skypilot_process': _process(5000, 4000, 5500)}))
    assert 'target at most 2 ms: missed' in missed[0]

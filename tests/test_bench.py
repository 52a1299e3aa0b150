"""The benchmark's own logic: verdicts, summaries and the library's floors (its timings are
reported, never asserted)."""

import os
import sys

import pytest

from skyutils import _abi, _dispatch, _native, bench
from skyutils.bench import floors


def result(function, case, skyutils, skypilot, floor=None):
    seconds = {'skyutils': skyutils, 'skypilot': skypilot}
    speedup = {'skypilot/skyutils': skypilot / skyutils}
    if floor is not None:
        seconds['floor'] = floor
        speedup['skyutils/floor'] = skyutils / floor
        speedup['skypilot/floor'] = skypilot / floor
    found = {
        'function': function,
        'case': case,
        'seconds': seconds,
        'speedup': speedup,
        'target': bench.target_of(function, case),
    }
    found['verdict'] = bench.verdict(found)
    return found


def test_verdicts():
    assert result('get_cpu_count', 'x', 10, 60)['verdict'] == 'met'
    # 4x where 5x is asked, but the floor allows only 4.6x: bound by the machine.
    assert result('get_cpu_count', 'x', 15, 60, floor=13)['verdict'] == 'floor'
    # The floor would allow 6x: a miss.
    assert result('get_cpu_count', 'x', 15, 60, floor=10)['verdict'] == 'missed'
    assert result('get_cpu_count', 'x', 15, 60)['verdict'] == 'missed'
    assert result('estimate_fd_for_directory', 'x', 10.5, 14, floor=10)['verdict'] == 'met'
    assert result('estimate_fd_for_directory', 'x', 12, 14, floor=10)['verdict'] == 'missed'
    assert result('read_last_n_lines', 'n=10, 1 GiB', 1, 2.9)['verdict'] == 'missed'
    assert result('read_last_n_lines', 'n=1000, 1 GiB', 1, 8)['verdict'] == 'met'
    assert bench.target_of('read_last_n_lines', 'n=100000, 1 GiB') == 8.0
    assert bench.target_of('no_such_function', 'x') is None


def test_summary_takes_floor_bound_cases_to_their_floor():
    results = [
        result('get_cpu_count', 'x', 20, 60, floor=15),  # 3x, floor 4x
        result('base36_encode', 'x', 1, 5),
        result('read_last_n_lines', 'n=1000, 1 GiB log', 1.1, 8),
        result('read_last_n_lines', 'n=1000, 10 MiB log', 1.0, 8),
    ]
    summary = bench.summarize(results)
    assert summary['cases'] == 4 and summary['minimum'] == pytest.approx(3)
    assert summary['at_floors']['minimum'] == pytest.approx(4)
    assert summary['verdicts'] == {'met': 2, 'floor': 1, 'missed': 1, 'noise': 0}
    assert summary['tail_big_over_small'] == pytest.approx(1.1)
    assert summary['means_met'] is False


@pytest.mark.skipif(
    _native.LIB is None or not os.path.exists('/proc/self'),
    reason='the floors time Linux system calls in the library',
)
def test_library_floors_time_something(tmp_path):
    log = tmp_path / 'log'
    log.write_bytes(bench.LINE * 100)
    timers = [
        floors.library_floor(_abi.FLOOR_CPU_COUNT, floors.cgroup_root()),
        floors.library_floor(_abi.FLOOR_MEMORY, floors.cgroup_root()),
        floors.library_floor(_abi.FLOOR_PROCESS, amount=os.getpid()),
        floors.library_floor(_abi.FLOOR_DIRECTORY, os.fsencode(tmp_path)),
        floors.tail_floor(str(log), 10),
    ]
    for timer in timers:
        assert timer is not None and 0 < timer(3) < 1
    assert floors.library_floor(99) is None  # no such floor
    lib = _native.LIB
    assert lib.skyutils_floor_ns(_abi.FLOOR_MEMORY, b'/', 1, 0, 0) == _abi.ERR_ARG
    assert lib.skyutils_floor_ns(_abi.FLOOR_TAIL_READ, b'x', 1, -1, 1) == _abi.DEFER


def test_thread_scaling_reports_the_amdahl_bound(tmp_path):
    log = tmp_path / 'log'
    log.write_bytes(bench.LINE * 3000)
    scaling = bench.thread_scaling(str(log), 1000, 3)
    cores = min(2, os.cpu_count() or 1)
    if getattr(sys, '_is_gil_enabled', lambda: True)():
        assert 0 < scaling['gil_held'] <= 1
    else:  # free-threaded, GIL off: decoding is no serial part
        assert scaling['gil_held'] == 0
    assert scaling['bound'] == pytest.approx(cores / (1 + scaling['gil_held']))
    assert scaling['ratio'] > 0
    if _native.LIB is not None and 'read_last_n_lines' not in _dispatch.python_reasons():
        assert scaling['library'] > 0 and scaling['system_calls'] > 0

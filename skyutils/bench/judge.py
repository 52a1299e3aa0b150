"""Judging a run: how noisy it was, and verdicts that say `noise` when a margin is inside it.

A ratio is the median of per-round ratios; its spread is their interquartile range. A verdict
is `noise` when the target lies within that spread, or within the run's own noise of the
median (in a run flagged noisy: within the spread widened by that noise). The run's noise is
the same-function band (where Python serves, `skyutils` and `python` are one function,
so any distance of their ratio from 1x is noise) and the median spread of rounds. A floor that
skyutils beats beyond the noise is reported as wrong, and bounds no verdict.
"""

import os
import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

from skyutils.bench.cases import FLOOR_SLACK

# The least noise a verdict allows for: one round's timer resolution and scheduling jitter.
MIN_NOISE = 0.03
# A run whose noise is above this, or whose machine was busy with other work, is flagged.
NOISY = 0.10
BUSY_LOAD = 0.5  # load average besides the benchmark's own process, in runnable tasks


def quartiles(values: Sequence[float]) -> Tuple[float, float]:
    """The lower and upper quartile (the middle half of the rounds lies between them)."""
    ordered = sorted(values)
    if len(ordered) < 4:
        return ordered[0], ordered[-1]
    q = statistics.quantiles(ordered, n=4, method='inclusive')
    return q[0], q[2]


def load_average() -> Optional[float]:
    """The 1-minute load average, or None where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def run_noise(
    results: List[Dict[str, Any]], backends: Dict[str, str], load: Dict[str, Any]
) -> Dict[str, Any]:
    """The run's noise: the same-function band, the median spread of rounds, the load."""
    same = [
        r['speedup']['python/skyutils']
        for r in results
        if backends.get(r['function']) == 'python' and 'python/skyutils' in r['speedup']
    ]
    band = max((abs(ratio - 1) for ratio in same), default=0.0)
    spreads = []
    for r in results:
        key = primary_ratio(r)
        if key and key in r.get('spread', {}):
            low, high = r['spread'][key]
            spreads.append((high - low) / r['speedup'][key])
    rounds = statistics.median(spreads) if spreads else 0.0
    loads = [value for value in (load.get('before'), load.get('after')) if value is not None]
    # The benchmark itself keeps one CPU busy: the load besides it is what competes.
    others = max((value - 1 for value in loads), default=0.0)
    busy = others >= BUSY_LOAD * load.get('cpus', 1)
    margin = max(MIN_NOISE, band, rounds / 2)
    return {
        'same_function': [min(same), max(same)] if same else None,
        'rounds_spread': rounds,
        'load': load,
        'busy': busy,
        'margin': margin,
        'noisy': busy or margin > NOISY,
    }


def primary_ratio(result: Dict[str, Any]) -> Optional[str]:
    """The ratio a case is judged and charted by: against SkyPilot, else against Python."""
    for key in ('skypilot/skyutils', 'python/skyutils'):
        if key in result['speedup']:
            return key
    return None


def _within(
    value: float, target: float, spread: Optional[Sequence[float]], noise: float, noisy: bool
) -> bool:
    """Whether the target is inside the noise: in the case's spread of rounds, or within the
    run's noise of the median; in a run flagged noisy, in the spread widened by that noise."""
    low, high = spread if spread else (value, value)
    low, high = min(low, value), max(high, value)
    if noisy:
        return low / (1 + noise) <= target <= high * (1 + noise)
    return low <= target <= high or abs(value / target - 1) <= noise


def floor_beaten(result: Dict[str, Any], noise: float = 0.0) -> bool:
    """skyutils ran faster than the floor (the least any implementation must do), beyond the
    noise: the floor then measures something else, and is wrong."""
    at_floor = result['speedup'].get('skyutils/floor')
    if at_floor is None:
        return False
    spread = result.get('spread', {}).get('skyutils/floor')
    upper = spread[1] if spread else at_floor
    return upper < 1 and at_floor < 1 - noise


def verdict(result: Dict[str, Any], noise: float = 0.0, noisy: bool = False) -> str:
    """'met', 'floor' (the target asks for more than this machine's floor allows), 'missed',
    'noise' (the margin to the target is inside the run's noise), or '' when there is no
    target or no SkyPilot to compare with."""
    target = result.get('target')
    speedup = result['speedup']
    spread = result.get('spread', {})
    if target is None or 'skypilot/skyutils' not in speedup:
        return ''
    if target == 'floor':
        at_floor = speedup.get('skyutils/floor')
        if at_floor is None:
            return 'missed'
        if noise and _within(at_floor, FLOOR_SLACK, spread.get('skyutils/floor'), noise, noisy):
            return 'noise'
        return 'met' if at_floor <= FLOOR_SLACK else 'missed'
    ratio = speedup['skypilot/skyutils']
    if noise and _within(ratio, target, spread.get('skypilot/skyutils'), noise, noisy):
        return 'noise'
    if ratio >= target:
        return 'met'
    best = speedup.get('skypilot/floor')
    if best is not None and best < target and not floor_beaten(result, noise):
        return 'floor'
    return 'missed'


def thread_consistent(scaling: Dict[str, Any]) -> bool:
    """Whether the thread figures agree with each other: two threads may not do more than the
    bound the same run measured (Amdahl's law from the GIL share, or the cores), and the GIL
    share may not reach the whole call (decoding alone cannot outlast the call that does it).
    When they disagree, one of the measurements is noise and no bound is claimed."""
    if scaling.get('gil', 1.0) and scaling['gil_held'] >= 1.0:
        return False
    return scaling['ratio'] <= scaling['bound'] * (1 + MIN_NOISE)


def target_word(value: float, target: float, noise: Optional[Dict[str, Any]]) -> str:
    """'met' or 'missed' for a value that must stay under `target`; 'noise' when a noisy run's
    margin covers the distance."""
    if noise and noise['noisy'] and abs(value / target - 1) <= noise['margin']:
        return 'noise'
    return 'met' if value < target else 'missed'


def tail_ratio_verdict(big: Dict[str, Any], small: Dict[str, Any]) -> Dict[str, Any]:
    """n=1000 on the big log over the 10 MiB log, against 0.8x-1.2x (cost follows the tail,
    not the file). The two cases run at different moments, and the machine's own speed moves
    between them: where both have floors (the same system calls, timed in the same rounds),
    skyutils' own cost is its time over its floor, and that is what is judged. 'noise' when the
    rounds' spread reaches into the band."""

    time_ratio = big['seconds']['skyutils'] / small['seconds']['skyutils']
    big_low, big_high = big.get('spread_seconds', {}).get(
        'skyutils', [big['seconds']['skyutils']] * 2
    )
    small_low, small_high = small.get('spread_seconds', {}).get(
        'skyutils', [small['seconds']['skyutils']] * 2
    )
    found: Dict[str, Any] = {
        'time_ratio': time_ratio,
        'time_range': [big_low / small_high, big_high / small_low],
    }
    if 'floor' in big['seconds'] and 'floor' in small['seconds']:
        found['floor_ratio'] = big['seconds']['floor'] / small['seconds']['floor']
        big_spread = big.get('spread', {}).get('skyutils/floor')
        small_spread = small.get('spread', {}).get('skyutils/floor')
        own = big['speedup']['skyutils/floor'] / small['speedup']['skyutils/floor']
        judged, judged_range = own, [own, own]
        if big_spread and small_spread:
            judged_range = [big_spread[0] / small_spread[1], big_spread[1] / small_spread[0]]
        found['own'] = own
    else:
        judged, judged_range = time_ratio, found['time_range']
    found['judged'], found['range'] = judged, judged_range
    if 0.8 <= judged <= 1.2:
        found['verdict'] = 'met'
    elif judged_range[0] <= 1.2 and judged_range[1] >= 0.8:
        found['verdict'] = 'noise'
    else:
        found['verdict'] = 'missed'
    return found

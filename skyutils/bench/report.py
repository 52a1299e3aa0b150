"""The report: the Markdown table and its summary lines, JSON, HTML."""

import json
import math
from typing import Any, Dict, Iterator, List, Optional

from skyutils.bench.cases import MEAN_TARGETS
from skyutils.bench.judge import (
    NOISY,
    floor_beaten,
    primary_ratio,
    tail_ratio_verdict,
    target_word,
    thread_consistent,
)


def summarize(results: List[Dict[str, Any]], noise: float = 0.0) -> Dict[str, Any]:
    """Over all cases: the means and minimum of the ratio each is judged by (skypilot/skyutils,
    or python/skyutils where SkyPilot is absent), the same with every case that has a floor
    taken to it (the best this machine allows), the verdicts, the floors skyutils beat (so
    wrong), and how the n=1000 tail's time changes from the 10 MiB to the big log."""
    summary: Dict[str, Any] = {}
    tails = {
        r['case'].split(', ', 1)[1]: r
        for r in results
        if r['function'] == 'read_last_n_lines' and r['case'].startswith('n=1000,')
    }
    small = tails.pop('10 MiB log', None)
    if small and tails:
        found = tail_ratio_verdict(next(iter(tails.values())), small)
        summary.update(tail_big_over_small=found['time_ratio'], tail=found)
    summary['floors_beaten'] = [
        f"{r['function']}: {r['case']}" for r in results if floor_beaten(r, noise)
    ]
    keys = {primary_ratio(r) for r in results} - {None}
    if not keys:
        return summary
    key = 'skypilot/skyutils' if 'skypilot/skyutils' in keys else 'python/skyutils'
    rows = [r for r in results if key in r['speedup']]
    ratios = [r['speedup'][key] for r in rows]
    best = [max(r['speedup'][key], r['speedup'].get('skypilot/floor', 0)) for r in rows]
    summary.update({'ratio': key, 'cases': len(ratios), **_means(ratios)})
    if key == 'skypilot/skyutils':
        summary['at_floors'] = _means(best)
        verdicts = [r['verdict'] for r in rows if r['verdict']]
        summary['verdicts'] = {v: verdicts.count(v) for v in ('met', 'floor', 'missed', 'noise')}
        summary['means_met'] = all(
            (summary[name] >= target) for name, target in MEAN_TARGETS.items()
        )
    return summary


def _means(ratios: List[float]) -> Dict[str, float]:
    return {
        'geometric_mean': math.exp(sum(math.log(r) for r in ratios) / len(ratios)),
        'arithmetic_mean': sum(ratios) / len(ratios),
        'minimum': min(ratios),
    }


def _fmt_time(seconds: float) -> str:
    for unit, scale in (('s', 1), ('ms', 1e-3), ('us', 1e-6)):
        if seconds >= scale:
            return f'{seconds / scale:.3g} {unit}'
    return f'{seconds * 1e9:.3g} ns'


def _ratio(value: Optional[float]) -> str:
    return f'{value:.2f}x' if value else '-'


def _ratio_cell(result: Dict[str, Any], key: str) -> str:
    value = result['speedup'].get(key)
    if not value:
        return '-'
    spread = result.get('spread', {}).get(key)
    return f'{value:.2f}x ({spread[0]:.2f}-{spread[1]:.2f})' if spread else f'{value:.2f}x'


def table(report: Dict[str, Any]) -> Iterator[str]:
    """The report as Markdown: the machine, the reference and the noise, a row per case,
    then the notes and the summary. Every statement is one the run's numbers support."""
    m = report['machine']
    yield (
        f"Machine: {m['cpu']} ({m['cpus']} CPUs), {m['platform']}, Python {m['python']}, "
        f"skyutils {m['skyutils']}{' (quick run)' if report['quick'] else ''}"
    )
    if report['results']:
        yield from _reference_lines(report)
        yield from _noise_lines(report.get('noise'))
        yield ''
        yield (
            '| function | case | serves | skyutils | native | python | skypilot | floor | '
            'python / skyutils | skypilot / skyutils | skypilot / floor | target | verdict |'
        )
        yield '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
    notes: Dict[str, str] = {}
    for r in report['results']:
        s = r['seconds']
        cells = [
            _fmt_time(s[k]) if k in s else '-'
            for k in ('skyutils', 'native', 'python', 'skypilot', 'floor')
        ]
        target = r.get('target')
        target_text = (
            '-' if target is None else 'floor +10%' if target == 'floor' else f'>= {target:g}x'
        )
        if r.get('floor_note'):
            notes.setdefault(r['function'], r['floor_note'])
        yield (
            f"| {r['function']} | {r['case']} | {report['backends'][r['function']]} | "
            + ' | '.join(cells)
            + f" | {_ratio_cell(r, 'python/skyutils')} | {_ratio_cell(r, 'skypilot/skyutils')}"
            f" | {_ratio(r['speedup'].get('skypilot/floor'))} | {target_text} | "
            f"{r.get('verdict') or '-'} |"
        )
    if report['results']:
        yield ''
        yield (
            'Ratios are medians of per-round ratios, with the middle half of the rounds in '
            'brackets (higher is faster for skyutils).'
        )
    summary = report['summary']
    if notes:
        yield ''
        yield (
            'floor: the least any implementation must do, timed in the same rounds: one '
            'ctypes call a round that makes only the bare system calls (prepared once), and '
            'Python work as Python. Verdict `floor`: the target asks for more than '
            'skypilot / floor, the best ratio this machine allows.'
        )
        for function, note in notes.items():
            yield f'- {function}: {note}'
    for case in summary.get('floors_beaten', []):
        yield (
            f'The floor of {case} is wrong: skyutils ran faster than it beyond the noise, so '
            'it is not the least an implementation must do, and it bounds no verdict.'
        )
    for label, scaling in report.get('thread_scaling', {}).items():
        yield ''
        yield from _thread_lines(label, scaling)
    if summary.get('cases'):
        yield ''
        yield from _summary_lines(summary)
    if 'tail' in summary:
        yield _tail_line(summary['tail'])
    yield from _startup_lines(report)


def _tail_line(tail: Dict[str, Any]) -> str:
    judged = {
        'met': 'met',
        'missed': 'missed',
        'noise': 'not judged: noise, its rounds reach into the band',
    }[tail['verdict']]
    low, high = tail['time_range']
    line = (
        f"read_last_n_lines n=1000 on the big log takes {tail['time_ratio']:.2f}x "
        f"({low:.2f}-{high:.2f}) its time on the 10 MiB log"
    )
    if 'own' in tail:
        low, high = tail['range']
        line += (
            f"; the floor (the same system calls, timed beside it) moved "
            f"{tail['floor_ratio']:.2f}x between the two cases, so skyutils' own cost, its time "
            f"over its floor, changed {tail['own']:.2f}x ({low:.2f}-{high:.2f})"
        )
    return f'{line} (target: within 20%, 0.80x to 1.20x: {judged}).'


def _reference_lines(report: Dict[str, Any]) -> Iterator[str]:
    if report.get('reference'):
        yield f"Reference: {report['reference']} (its functions, imported in this process)."
    else:
        yield (
            "SkyPilot is not installed here: each case compares skyutils with its own "
            "pure-Python twin (python / skyutils), and no verdict is given; "
            "`pip install skypilot==0.14.1` adds SkyPilot's functions as the reference."
        )


def _noise_lines(noise: Optional[Dict[str, Any]]) -> Iterator[str]:
    if not noise:
        return
    load = noise['load']
    parts = []
    loads = [value for value in (load.get('before'), load.get('after')) if value is not None]
    if loads:
        parts.append(
            f"load average {' then '.join(f'{value:.2f}' for value in loads)} on "
            f"{load['cpus']} CPUs (this benchmark itself adds about 1)"
        )
    parts.append(
        f"per-round ratios spread {noise['rounds_spread']:.0%} (median interquartile range)"
    )
    if noise['same_function']:
        low, high = noise['same_function']
        parts.append(
            f'where Python serves, skyutils against python (one function) ran '
            f'{low:.2f}x-{high:.2f}x'
        )
    if noise['noisy']:
        rule = (
            f"A verdict whose target lies inside the case's spread widened by "
            f"{noise['margin']:.0%} reads `noise`."
        )
    else:
        rule = (
            f"A verdict whose margin is within {noise['margin']:.0%}, or whose target lies "
            f"inside the case's spread, reads `noise`."
        )
    yield f"Noise: {'; '.join(parts)}. {rule}"
    if noise['noisy']:
        why = (
            'the machine was busy with other work'
            if noise['busy']
            else (f"its noise ({noise['margin']:.0%}) is above {NOISY:.0%}")
        )
        yield (
            f'Warning: this run was too noisy to trust ({why}): read its ratios as rough and '
            'rerun on a quiet machine before acting on a verdict.'
        )


def _thread_lines(label: str, scaling: Dict[str, Any]) -> Iterator[str]:
    spread = scaling.get('ratio_range')
    measured = f"{scaling['ratio']:.2f}x" + (
        f' ({spread[0]:.2f}-{spread[1]:.2f} over samples)' if spread else ''
    )
    library = ''
    if 'library' in scaling:
        library = (
            f"; the GIL-free part alone (library call and read) scales {scaling['library']:.2f}x"
        )
    if 'system_calls' in scaling:
        library += (
            f", the bare system calls under it (in Rust, no Python) {scaling['system_calls']:.2f}x"
        )
    if not thread_consistent(scaling):
        yield (
            f"{label}: two threads do {measured} the work of one in the same time; the "
            f"same run's share of the call that holds the GIL ({scaling['gil_held']:.0%}) "
            f"does not agree with it, so this run's thread figures are noise and no bound is "
            f"claimed{library}."
        )
        return
    if scaling.get('gil', 1.0):
        bound = (
            f"the GIL is held for {scaling['gil_held']:.0%} of a call (decoding and "
            f"splitting into str), so Amdahl's law allows at most {scaling['bound']:.2f}x"
        )
    else:
        bound = (
            f"free-threaded build with the GIL off: decoding runs in parallel too, "
            f"so only the cores bound it, at {scaling['bound']:.2f}x"
        )
    yield f"{label}: two threads do {measured} the work of one in the same time; {bound}{library}"


def _summary_lines(summary: Dict[str, Any]) -> Iterator[str]:
    key = summary['ratio']
    means = (
        f"Over {summary['cases']} cases, {key.replace('/', ' / ')}: geometric mean "
        f"{summary['geometric_mean']:.2f}x, arithmetic mean {summary['arithmetic_mean']:.2f}x, "
        f"minimum {summary['minimum']:.2f}x"
    )
    if key != 'skypilot/skyutils':
        yield means + ' (the targets are against SkyPilot, so none is judged).'
        return
    best = summary['at_floors']
    yield (
        f"{means} (targets {MEAN_TARGETS['geometric_mean']:g}x, "
        f"{MEAN_TARGETS['arithmetic_mean']:g}x, {MEAN_TARGETS['minimum']:g}x). "
        f"With every case that has a floor at that floor: "
        f"{best['geometric_mean']:.2f}x, {best['arithmetic_mean']:.2f}x."
    )
    counts = summary['verdicts']
    yield (
        f"Verdicts: {counts['met']} met, {counts['floor']} bound by this machine's "
        f"floor, {counts['missed']} missed, {counts['noise']} inside the noise."
    )


def _startup_lines(report: Dict[str, Any]) -> Iterator[str]:
    """What the hook and `import skyutils` add to an interpreter's start, when measured."""
    hook = report.get('startup_hook')
    if hook and 'skipped' in hook:
        yield f"Startup hook: not measured here: {hook['skipped']}."
    elif hook:
        imported = ', '.join(hook['imported']) or 'neither skyutils nor psutil'
        verdict_word = target_word(hook['us'], hook['target_us'], report.get('noise'))
        yield (
            f"Startup hook ({hook['source']}): importing _skyutils_hook takes "
            f"{hook['us']:.0f} us at an interpreter's start (median of {hook['runs']} "
            f"fresh interpreters, -X importtime; the slowest {hook['max_us']:.0f} us; "
            f"target under {hook['target_us']:.0f} us: {verdict_word}); imported: "
            f"{imported}."
        )
    process = report.get('skypilot_process')
    if process:
        on, off = process['on'], process['off']
        low, high = process['import_difference_middle_half_us']
        if high - low > process['target_us']:  # the run cannot tell the target from noise
            verdict_word = 'noise: the differences spread wider than the target'
        else:
            verdict_word = target_word(
                process['import_difference_us'], process['target_us'], report.get('noise')
            )
        served = 'served natively' if process['served'] else 'SkyPilot\'s own (not served here)'
        yield (
            f"SkyPilot process ({process['source']} hook, {process['runs']} fresh interpreters "
            f"each way, interleaved): `from sky.utils import common_utils` "
            f"{on['import_us'] / 1000:.1f} ms with the hook, {off['import_us'] / 1000:.1f} ms "
            f"with SKYPILOT_USE_RUST=0: {process['import_difference_us'] / 1000:+.2f} ms "
            f"(middle half of the differences {low / 1000:+.2f} to {high / 1000:+.2f} ms; "
            f"target at most {process['target_us'] / 1000:.0f} ms: {verdict_word}); the hook's "
            f"own patching of SkyPilot's modules there: {on['hook_us'] / 1000:.2f} ms. "
            f"get_cpu_count ({served}): first call {on['first_us'] / 1000:.2f} ms against "
            f"SkyPilot's {off['first_us'] / 1000:.2f} ms (skyutils and the library load "
            f"there), the next {on['second_us']:.1f} us against {off['second_us']:.1f} us."
        )
    cost = report.get('import')
    if cost:
        verdict_word = target_word(cost['skyutils']['us'], cost['target_us'], report.get('noise'))
        served = 'native library serving' if cost['native'] else 'pure Python only'
        yield (
            f"import skyutils ({served}): {cost['skyutils']['us'] / 1000:.1f} ms "
            f"(median of {cost['runs']} fresh interpreters, the import statement timed; the "
            f"slowest {cost['skyutils']['max_us'] / 1000:.1f} ms; import json "
            f"{cost['json']['us'] / 1000:.1f} ms; target under "
            f"{cost['target_us'] / 1000:.0f} ms: {verdict_word})."
        )


def save_json(report: Dict[str, Any], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)


def html(report: Dict[str, Any]) -> str:
    """A self-contained HTML page: the chart, the table, and every statement of the report."""
    import html as escape

    from skyutils.bench import chart

    key = report['summary'].get('ratio')
    if key == 'skypilot/skyutils':
        title = 'SkyPilot time / skyutils time, per case'
    else:
        title = "skyutils' pure-Python twin time / skyutils time, per case (no SkyPilot here)"
    rows = chart.chart_rows(report['results'], key) if key else []
    figure = chart.svg(rows, title) if rows else '<p>No case was measured.</p>'
    table_lines = list(table(report))
    header_at = next((i for i, line in enumerate(table_lines) if line.startswith('| ')), None)
    headers = body_rows = ''
    if header_at is not None:
        headers = ''.join(
            f'<th>{escape.escape(cell.strip())}</th>'
            for cell in table_lines[header_at].strip('|').split('|')
        )
        body_rows = ''.join(
            '<tr>'
            + ''.join(
                f'<td>{escape.escape(cell.strip())}</td>' for cell in line.strip('|').split('|')
            )
            + '</tr>'
            for line in table_lines[header_at + 2 :]
            if line.startswith('| ')
        )
    notes = ''.join(
        f'<p>{escape.escape(line)}</p>' for line in table_lines if line and not line.startswith('|')
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>skyutils bench</title>'
        '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
        'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}'
        'td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}</style></head><body>'
        f'<h1>skyutils bench</h1><figure>{figure}</figure>'
        f'<h2>Medians</h2><table><tr>{headers}</tr>{body_rows}</table>{notes}'
        '</body></html>'
    )


def save_html(report: Dict[str, Any], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(html(report))

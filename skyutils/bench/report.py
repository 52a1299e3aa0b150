"""The report: the Markdown table and its summary lines, JSON, HTML."""

import json
import math
from typing import Any, Dict, Iterator, List, Optional

from skyutils.bench.cases import MEAN_TARGETS


def summarize(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Over all cases with a reference: the means and minimum of skypilot/skyutils, the same
    with every case that has a floor taken to it (the best this machine allows), the verdicts,
    and how the n=1000 tail's time changes from the 10 MiB to the big log."""
    rows = [r for r in results if 'skypilot/skyutils' in r['speedup']]
    if not rows:
        return {}
    ratios = [r['speedup']['skypilot/skyutils'] for r in rows]
    best = [
        max(r['speedup']['skypilot/skyutils'], r['speedup'].get('skypilot/floor', 0)) for r in rows
    ]
    summary: Dict[str, Any] = {'cases': len(ratios), **_means(ratios), 'at_floors': _means(best)}
    verdicts = [r['verdict'] for r in rows if r['verdict']]
    summary['verdicts'] = {v: verdicts.count(v) for v in ('met', 'floor', 'missed')}
    summary['means_met'] = all((summary[key] >= target) for key, target in MEAN_TARGETS.items())
    tails = {
        r['case'].split(', ', 1)[1]: r['seconds']['skyutils']
        for r in results
        if r['function'] == 'read_last_n_lines' and r['case'].startswith('n=1000,')
    }
    small = tails.pop('10 MiB log', None)
    if small and tails:
        summary['tail_big_over_small'] = next(iter(tails.values())) / small
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


def table(report: Dict[str, Any]) -> Iterator[str]:
    """A Markdown table of the report, one row per case, then the notes and the summary."""
    m = report['machine']
    yield (
        f"Machine: {m['cpu']} ({m['cpus']} CPUs), {m['platform']}, Python {m['python']}, "
        f"skyutils {m['skyutils']}{' (quick run)' if report['quick'] else ''}"
    )
    if report['results']:
        yield ''
        yield (
            '| function | case | serves | skyutils | native | python | skypilot | floor | '
            'skypilot / skyutils | skypilot / floor | target | verdict |'
        )
        yield '|---|---|---|---|---|---|---|---|---|---|---|---|'
    notes: Dict[str, str] = {}
    for r in report['results']:
        s = r['seconds']
        cells = [
            _fmt_time(s[k]) if k in s else '-'
            for k in ('skyutils', 'native', 'python', 'skypilot', 'floor')
        ]
        speedup = r['speedup']
        target = r.get('target')
        target_text = (
            '-' if target is None else 'floor +10%' if target == 'floor' else f'>= {target:g}x'
        )
        if r.get('floor_note'):
            notes.setdefault(r['function'], r['floor_note'])
        yield (
            f"| {r['function']} | {r['case']} | {report['backends'][r['function']]} | "
            + ' | '.join(cells)
            + f" | {_ratio(speedup.get('skypilot/skyutils'))} | "
            f"{_ratio(speedup.get('skypilot/floor'))} | {target_text} | "
            f"{r.get('verdict') or '-'} |"
        )
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
    for label, scaling in report.get('thread_scaling', {}).items():
        yield ''
        library = ''
        if 'library' in scaling:
            library = (
                f"; the GIL-free part alone (library call and read) scales "
                f"{scaling['library']:.2f}x"
            )
        if 'system_calls' in scaling:
            library += (
                f", the bare system calls under it (in Rust, no Python) "
                f"{scaling['system_calls']:.2f}x"
            )
        if scaling.get('gil', 1.0):
            bound = (
                f"the GIL is held for {scaling['gil_held']:.0%} of a call (decoding and "
                f"splitting into str), so Amdahl's law allows at most "
                f"{scaling['bound']:.2f}x"
            )
        else:
            bound = (
                f"free-threaded build with the GIL off: decoding runs in parallel too, "
                f"so only the cores bound it, at {scaling['bound']:.2f}x"
            )
        yield (
            f"{label}: two threads do {scaling['ratio']:.2f}x the work of one in the same "
            f"time; {bound}{library}"
        )
    summary = report['summary']
    if summary:
        best = summary['at_floors']
        yield ''
        yield (
            f"Over {summary['cases']} cases, skypilot / skyutils: geometric mean "
            f"{summary['geometric_mean']:.2f}x, arithmetic mean "
            f"{summary['arithmetic_mean']:.2f}x, minimum {summary['minimum']:.2f}x "
            f"(targets {MEAN_TARGETS['geometric_mean']:g}x, "
            f"{MEAN_TARGETS['arithmetic_mean']:g}x, {MEAN_TARGETS['minimum']:g}x). "
            f"With every case that has a floor at that floor: "
            f"{best['geometric_mean']:.2f}x, {best['arithmetic_mean']:.2f}x."
        )
        counts = summary['verdicts']
        yield (
            f"Verdicts: {counts['met']} met, {counts['floor']} bound by this machine's "
            f"floor, {counts['missed']} missed."
        )
        same = [
            r['speedup']['python/skyutils']
            for r in report['results']
            if report['backends'][r['function']] == 'python' and 'python/skyutils' in r['speedup']
        ]
        if same:
            yield (
                f"Noise: where Python serves, `skyutils` and `python` are the same "
                f"function, and their ratio ran from {min(same):.2f}x to {max(same):.2f}x "
                f"in this run."
            )
        if 'tail_big_over_small' in summary:
            yield (
                f"read_last_n_lines n=1000 on the big log takes "
                f"{summary['tail_big_over_small']:.2f}x its time on the 10 MiB log "
                f"(target: within 20%, 0.80x to 1.20x)."
            )
    yield from _startup_lines(report)


def _startup_lines(report: Dict[str, Any]) -> Iterator[str]:
    """What the hook and `import skyutils` add to an interpreter's start, when measured."""
    hook = report.get('startup_hook')
    if hook:
        imported = ', '.join(hook['imported']) or 'neither skyutils nor psutil'
        verdict_word = 'met' if hook['us'] < hook['target_us'] else 'missed'
        yield (
            f"Startup hook ({hook['source']}): importing _skyutils_hook takes "
            f"{hook['us']:.0f} us at an interpreter's start (median of {hook['runs']} "
            f"fresh interpreters, -X importtime; the slowest {hook['max_us']:.0f} us; "
            f"target under {hook['target_us']:.0f} us: {verdict_word}); imported: "
            f"{imported}."
        )
    cost = report.get('import')
    if cost:
        verdict_word = 'met' if cost['skyutils']['us'] < cost['target_us'] else 'missed'
        served = 'native library serving' if cost['native'] else 'pure Python only'
        yield (
            f"import skyutils ({served}): {cost['skyutils']['us'] / 1000:.1f} ms "
            f"(median of {cost['runs']} fresh interpreters, -X importtime; the "
            f"slowest {cost['skyutils']['max_us'] / 1000:.1f} ms; import json "
            f"{cost['json']['us'] / 1000:.1f} ms; target under "
            f"{cost['target_us'] / 1000:.0f} ms: {verdict_word})."
        )


def save_json(report: Dict[str, Any], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)


def html(report: Dict[str, Any]) -> str:
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
        bars.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{label}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="16" '
            f'fill="{color}"/><text x="{label_width + width + 4:.1f}" y="{y + 15}">'
            f'{ratio:.2f}x</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + chart_width + 80}" '
        f'height="{len(rows) * bar_height + 4}" font-family="sans-serif" font-size="12">'
        + ''.join(bars)
        + '</svg>'
    )
    table_lines = list(table(report))
    body_rows = ''.join(
        '<tr>'
        + ''.join(f'<td>{escape.escape(cell.strip())}</td>' for cell in line.strip('|').split('|'))
        + '</tr>'
        for line in table_lines[4:]
        if line.startswith('| ')
    )
    headers = ''.join(
        f'<th>{escape.escape(cell.strip())}</th>' for cell in table_lines[2].strip('|').split('|')
    )
    notes = ''.join(
        f'<p>{escape.escape(line)}</p>' for line in table_lines if line and not line.startswith('|')
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>skyutils bench</title>'
        '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
        'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}'
        'td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}</style></head><body>'
        '<h1>skyutils bench</h1><h2>SkyPilot time / skyutils time (higher is better)</h2>'
        f'{svg}<h2>Medians</h2><table><tr>{headers}</tr>{body_rows}</table>{notes}'
        '</body></html>'
    )


def save_html(report: Dict[str, Any], path: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(html(report))

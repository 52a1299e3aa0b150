"""The report's chart: one bar per case, on a log axis that says it is one.

Bars start at 1x (the same speed) and run right when skyutils is faster, left when it is
slower, so a 0.5x case is as long as a 2x one. A whisker spans the middle half of the rounds'
ratios. Colour is doubled by text ("3.71x faster", "0.85x, slower"), so the chart reads
without colour too. Hand-written SVG: no plotting library to install for one chart.
"""

import html
import math
from typing import Any, Dict, List, NamedTuple

FASTER = '#2e7d32'  # green
SLOWER = '#c62828'  # red
INK = '#222222'
GRID = '#dddddd'


class Geometry(NamedTuple):
    """Where things are drawn, for whoever needs to find them (the screenshot test)."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    low: float  # the axis' smallest ratio
    high: float  # and its largest
    top: float  # y of the first bar's top
    row: float  # height of one row

    def x(self, ratio: float) -> float:
        span = math.log2(self.high) - math.log2(self.low)
        share = (math.log2(ratio) - math.log2(self.low)) / span
        return self.plot_left + share * (self.plot_right - self.plot_left)

    def y(self, index: int) -> float:
        """The centre line of bar `index`."""
        return self.top + index * self.row + self.row / 2


def geometry(rows: List[Dict[str, Any]]) -> Geometry:
    """The axis spans powers of two around every ratio and spread, and always 0.5x-2x."""
    values = [1.0]
    for row in rows:
        values += [row['ratio'], *row['spread']]
    low = 2.0 ** min(-1, math.floor(math.log2(min(values) / 1.1)))
    high = 2.0 ** max(1, math.ceil(math.log2(max(values) * 1.1)))
    row_height = 28.0
    top = 66.0
    return Geometry(
        width=960,
        height=int(top + row_height * len(rows) + 70),
        plot_left=330.0,
        plot_right=840.0,
        low=low,
        high=high,
        top=top,
        row=row_height,
    )


def chart_rows(results: List[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
    """What the chart draws for each case that has the ratio `key`."""
    rows = []
    for result in results:
        ratio = result['speedup'].get(key)
        if not ratio:
            continue
        spread = result.get('spread', {}).get(key) or [ratio, ratio]
        rows.append(
            {
                'label': f"{result['function']}: {result['case']}",
                'ratio': ratio,
                'spread': [min(spread[0], ratio), max(spread[1], ratio)],
            }
        )
    return rows


def svg(rows: List[Dict[str, Any]], title: str) -> str:
    """The chart of `rows` (chart_rows) as a standalone SVG document."""
    g = geometry(rows)
    bottom = g.top + g.row * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{g.width}" height="{g.height}" '
        f'viewBox="0 0 {g.width} {g.height}" font-family="sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{g.width}" height="{g.height}" fill="white"/>',
        f'<text x="{g.plot_left}" y="18" font-size="14" font-weight="bold" fill="{INK}">'
        f'{html.escape(title)}</text>',
        f'<text x="{g.plot_left}" y="36" fill="{INK}">log scale: each tick doubles; right of '
        f'1x skyutils is faster, left of it slower; whiskers: middle half of the rounds</text>',
    ]
    # Ticks and grid: every power of two on the axis.
    ratio = g.low
    while ratio <= g.high * 1.0001:
        x = g.x(ratio)
        text = f'{ratio:g}x'
        parts.append(
            f'<line x1="{x:.1f}" y1="{g.top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>'
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="{INK}"/>'
            f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" fill="{INK}">{text}</text>'
        )
        ratio *= 2
    parts.append(
        f'<line x1="{g.plot_left}" y1="{bottom}" x2="{g.plot_right}" y2="{bottom}" '
        f'stroke="{INK}"/>'
        f'<text x="{(g.plot_left + g.plot_right) / 2}" y="{bottom + 36}" text-anchor="middle" '
        f'fill="{INK}">ratio of times (log scale)</text>'
    )
    for index, row in enumerate(rows):
        y = g.y(index)
        one, end = g.x(1.0), g.x(row['ratio'])
        faster = row['ratio'] >= 1
        left, width = (one, end - one) if faster else (end, one - end)
        parts.append(
            f'<text x="{g.plot_left - 8}" y="{y + 4}" text-anchor="end" fill="{INK}">'
            f'{html.escape(row["label"])}</text>'
            f'<rect x="{left:.1f}" y="{y - 8}" width="{max(width, 1.0):.1f}" height="16" '
            f'fill="{FASTER if faster else SLOWER}"/>'
        )
        low, high = g.x(row['spread'][0]), g.x(row['spread'][1])
        parts.append(
            f'<line x1="{low:.1f}" y1="{y}" x2="{high:.1f}" y2="{y}" stroke="{INK}" '
            f'stroke-width="1.5"/>'
            f'<line x1="{low:.1f}" y1="{y - 5}" x2="{low:.1f}" y2="{y + 5}" stroke="{INK}" '
            f'stroke-width="1.5"/>'
            f'<line x1="{high:.1f}" y1="{y - 5}" x2="{high:.1f}" y2="{y + 5}" stroke="{INK}" '
            f'stroke-width="1.5"/>'
        )
        words = f"{row['ratio']:.2f}x faster" if faster else f"{row['ratio']:.2f}x, slower"
        text_x = max(high, end) + 6 if faster else min(low, end) - 6
        anchor = 'start' if faster else 'end'
        parts.append(
            f'<text x="{text_x:.1f}" y="{y + 4}" text-anchor="{anchor}" fill="{INK}">{words}</text>'
        )
    # The 1x line last, over the bars: the reference every bar starts from.
    one = g.x(1.0)
    parts.append(
        f'<line x1="{one:.1f}" y1="{g.top - 8}" x2="{one:.1f}" y2="{bottom}" stroke="{INK}" '
        f'stroke-width="2"/>'
        f'<text x="{one:.1f}" y="{g.top - 12}" text-anchor="middle" fill="{INK}">1x: same '
        f'speed</text>'
    )
    parts.append('</svg>')
    return ''.join(parts)

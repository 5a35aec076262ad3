"""Small inline SVG line charts for the published site: one figure by run, no script, no external file.

The y axis starts at zero so that bar heights compare honestly; a run without the figure (a failed run, a
phase skipped) is drawn as a cross on the axis, not left out, and every point carries a tooltip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 390, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 42  # margins around the plot area
OK_COLOUR, BAD_COLOUR, LINE_COLOUR = "#1f77b4", "#d62728", "#9ab8d8"


@dataclass(frozen=True)
class Point:
    label: str  # the x tick, e.g. "#2 x2"
    value: float | None
    tooltip: str  # run id, status and value
    ok: bool  # the run succeeded


def nice_top(largest: float) -> tuple[float, float]:
    """A round axis top at or above `largest`, and its tick step (1, 2, 2.5 or 5 times a power of ten)."""
    if largest <= 0:
        return 1.0, 0.25
    raw_step = largest / 4
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw_step)
    return step * math.ceil(largest / step - 1e-9), step


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def line_chart(title: str, points: list[Point], scale_top: float | None = None) -> str:
    """An <svg> element: `points` left to right, y from 0 to `scale_top` (e.g. 100 for a percentage) or else
    to a round value above the largest."""
    values = [p.value for p in points if p.value is not None]
    top, step = nice_top(max([*values, scale_top or 0.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    gap = plot_w / max(len(points), 1)

    def x(index: int) -> float:
        return LEFT + gap * (index + 0.5)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>']
    ticks = int(round(top / step))
    for i in range(ticks + 1):
        value = step * i
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'class="grid"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="tick" '
                     f'text-anchor="end">{_tick_text(value)}</text>')
    line = [f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points) if p.value is not None]
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    for i, point in enumerate(points):
        colour = OK_COLOUR if point.ok else BAD_COLOUR
        tip = f"<title>{escape(point.tooltip)}</title>"
        if point.value is None:  # a cross on the axis: this run has no such figure
            cx, cy = x(i), y(0)
            parts.append(f'<g class="missing" stroke="{colour}" stroke-width="2.5">{tip}'
                         f'<line x1="{cx - 5:.1f}" y1="{cy - 5:.1f}" x2="{cx + 5:.1f}" y2="{cy + 5:.1f}"/>'
                         f'<line x1="{cx - 5:.1f}" y1="{cy + 5:.1f}" x2="{cx + 5:.1f}" y2="{cy - 5:.1f}"/></g>')
        else:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(point.value):.1f}" r="4.5" fill="{colour}">{tip}</circle>')
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" class="tick" text-anchor="middle">'
                     f'{escape(point.label)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" class="axis"/>'
                 f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" class="axis"/>'
                 f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" class="tick" text-anchor="middle">'
                 'run (number, ranks), oldest first</text></svg>')
    return "\n".join(parts)

"""The one chart engine: matplotlib, as inline SVG for the site and as PNG for `history --plot`.

One colour rule everywhere: a point is blue when its run succeeded and red when it did not (below_target
included); an unstable run's point is hollow; a run without the figure is a red cross on the axis; a
regression is a black ring. y axes start at zero so that heights compare honestly; a percentage axis
ends at 100, and a single point gets headroom above it rather than an axis of its own value.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html import escape

OK_COLOUR, BAD_COLOUR, REFERENCE_COLOUR = "#1f77b4", "#d62728", "#7f7f7f"
LINE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def status_colour(status: str | None) -> str:
    return OK_COLOUR if status == "success" else BAD_COLOUR


@dataclass(frozen=True)
class Point:
    x: int  # index into the chart's x labels
    value: float | None  # None: the run has no such figure
    status: str | None
    tooltip: str
    low: float | None = None  # the p10-p90 spread, where the run measured one
    high: float | None = None
    unstable: bool = False
    regressed: bool = False


@dataclass
class Line:
    label: str  # the configuration
    points: list[Point] = field(default_factory=list)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "googlenet-bench", "font.size": 8})
    return plt


def _y_top(values: list[float], percent: bool) -> float:
    if percent:
        return 100.0
    largest = max(values, default=0.0)
    return largest * 1.15 if largest > 0 else 1.0


def draw_trend(axis, x_labels: list[str], lines: list[Line], ylabel: str, percent: bool = False) -> None:
    """`lines` over the x labels (commits), one colour per line, with the spread as error bars."""
    values = [p.high if p.high is not None else p.value for line in lines for p in line.points if p.value is not None]
    for number, line in enumerate(lines):
        colour = LINE_COLOURS[number % len(LINE_COLOURS)]
        drawn = [p for p in line.points if p.value is not None and p.status == "success"]
        axis.plot([p.x for p in drawn], [p.value for p in drawn], color=colour, linewidth=1.5, label=line.label,
                  gid=f"config-{number}")
        for index, point in enumerate(line.points):
            gid = f"point-{number}-{index}"
            if point.value is None:  # a cross on the axis: the run has no such figure
                axis.plot([point.x], [0], marker="x", markersize=7, color=BAD_COLOUR, linestyle="none", gid=gid,
                          clip_on=False)
                if point.regressed:  # e.g. a run that failed where the line's previous run succeeded
                    axis.plot([point.x], [0], marker="o", markersize=12, markerfacecolor="none",
                              markeredgecolor="black", linestyle="none", clip_on=False)
                continue
            face = "white" if point.unstable else status_colour(point.status)
            edge = status_colour(point.status) if point.status != "success" else colour
            if point.low is not None and point.high is not None:
                axis.errorbar([point.x], [point.value], yerr=[[max(point.value - point.low, 0)], [max(point.high - point.value, 0)]],
                              color=edge, capsize=3, linewidth=1, linestyle="none")
            axis.plot([point.x], [point.value], marker="o", markersize=6, markerfacecolor=face,
                      markeredgecolor=edge, linestyle="none", gid=gid)
            if point.regressed:
                axis.plot([point.x], [point.value], marker="o", markersize=12, markerfacecolor="none",
                          markeredgecolor="black", linestyle="none")
    axis.set_xlim(-0.5, max(len(x_labels) - 0.5, 0.5))
    axis.set_ylim(0, _y_top(values, percent))
    axis.set_xticks(range(len(x_labels)))
    axis.set_xticklabels(x_labels, fontsize=7)
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    if lines:  # below the plot, so that it hides no point
        axis.legend(fontsize=6, loc="upper left", bbox_to_anchor=(0, -0.22), ncol=2, frameon=False)


def _svg(fig, tooltips: dict[str, str], title: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML prologue inside HTML
    for gid, tip in tooltips.items():  # a hover text on each point, as SVG's <title>
        text = text.replace(f'<g id="{gid}">', f'<g id="{gid}" class="point"><title>{escape(tip)}</title>', 1)
    return re.sub(r"^<svg ", f'<svg class="chart" role="img" aria-label="{escape(title)}" ', text, count=1)


def trend_svg(title: str, x_labels: list[str], lines: list[Line], ylabel: str, percent: bool = False,
              width: float = 5.6) -> str:
    """An inline <svg> of a trend chart."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(width, 3.0 + 0.12 * ((len(lines) + 1) // 2)), dpi=72)
    try:
        draw_trend(axis, x_labels, lines, ylabel, percent)
        axis.set_title(title, fontsize=9, loc="left")
        fig.tight_layout()
        tooltips = {f"point-{n}-{i}": p.tooltip for n, line in enumerate(lines) for i, p in enumerate(line.points)}
        return _svg(fig, tooltips, title)
    finally:
        plt.close(fig)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    reference: bool = False  # published by the zoo, not measured here
    status: str | None = "success"


def bars_svg(title: str, bars: list[Bar], xlabel: str) -> str:
    """Horizontal bars (e.g. ms/step per backend), reference bars grey and hatched, with the spread."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(7.2, 0.4 * len(bars) + 1.0), dpi=72)
    try:
        for index, bar in enumerate(bars):
            if bar.value is None:
                continue
            colour = REFERENCE_COLOUR if bar.reference else status_colour(bar.status)
            axis.barh([index], [bar.value], color=colour, hatch="//" if bar.reference else None,
                      edgecolor="white" if bar.reference else colour, gid=f"bar-{index}")
            if bar.low is not None and bar.high is not None:
                axis.errorbar([bar.value], [index], xerr=[[max(bar.value - bar.low, 0)], [max(bar.high - bar.value, 0)]],
                              color="black", capsize=3, linewidth=1)
        axis.set_yticks(range(len(bars)))
        axis.set_yticklabels([bar.label for bar in bars], fontsize=7)
        axis.invert_yaxis()
        axis.set_xlim(0, _y_top([b.high or b.value for b in bars if b.value is not None], False))
        axis.set_xlabel(xlabel)
        axis.set_title(title, fontsize=9, loc="left")
        axis.grid(True, axis="x", alpha=0.3)
        fig.tight_layout()
        return _svg(fig, {}, title)
    finally:
        plt.close(fig)


def breakdown_svg(title: str, runs: list[tuple[str, list[tuple[str, float]]]]) -> str:
    """One stacked horizontal bar per run: its profiled step's ms by category (the profile pass), one
    colour per category across the bars, the legend below."""
    plt = _pyplot()
    categories = list(dict.fromkeys(name for _, parts in runs for name, ms in parts if ms > 0))
    colours = {name: plt.get_cmap("tab20")(index % 20) for index, name in enumerate(categories)}
    fig, axis = plt.subplots(figsize=(7.2, 0.45 * len(runs) + 1.2 + 0.18 * len(categories)), dpi=72)
    try:
        for index, (_, parts) in enumerate(runs):
            left = 0.0
            for name, ms in parts:
                if ms > 0:
                    axis.barh([index], [ms], left=left, color=colours[name], label=name if index == 0 else None)
                    left += ms
        axis.set_yticks(range(len(runs)))
        axis.set_yticklabels([label for label, _ in runs], fontsize=7)
        axis.invert_yaxis()
        axis.set_xlabel("ms per profiled step")
        axis.set_title(title, fontsize=9, loc="left")
        handles = [plt.Rectangle((0, 0), 1, 1, color=colours[name]) for name in categories]
        axis.legend(handles, categories, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2,
                    frameon=False)
        fig.tight_layout()
        return _svg(fig, {}, title)
    finally:
        plt.close(fig)


def save_png(draw, path, panels: int) -> None:
    """A PNG of `panels` stacked axes, drawn by draw(axes)."""
    plt = _pyplot()
    fig, axes = plt.subplots(panels, 1, figsize=(6.4, 3.0 * panels + 0.6), dpi=100, squeeze=False)
    try:
        draw([row[0] for row in axes])
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)

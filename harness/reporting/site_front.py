"""The site's front page: per suite, its backends side by side with the zoo's published rows (a table and
a chart, googlenet_bench.harness.reporting.side_by_side), scaling rows, trends by commit with one line per
configuration over every backend, the regressions check found, then links to the pages per backend."""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path

from googlenet_bench.harness.reporting.charts import Bar, bars_svg, trend_svg
from googlenet_bench.harness.reporting.side_by_side import (HEADERS, PUBLISHED, SCALING_HEADERS, scaling_rows,
                                                          suite_rows)
from googlenet_bench.harness.reporting.site_pages import (TRENDS_NOTE, Run, cell, document, regressions_table,
                                                          status_cell, table)
from googlenet_bench.harness.reporting.trends import FIGURES, chart_lines, trends

FRONT_CHARTS = ("ms/step (median, p10-p90)", "top-1 (%)")


def _comparison(suite: str, runs: list[Run], reference: dict, page_of: dict[str, str]) -> list[str]:
    rows = suite_rows(suite, [(run.record, run.link) for run in runs], reference)
    if not any(row.kind == "run" for row in rows):
        return [f'<p class="note">No run of {escape(suite)} succeeded yet, so no row of this machine is shown; '
                "the runs are on the pages below.</p>"]
    cells = []
    for row in rows:
        line = [escape(row.cells[header]) for header in HEADERS]
        if row.link:
            line[-1] = f'<a href="{escape(row.link)}">{line[-1]}</a>'
        if row.kind == "run" and row.cells["configuration"].split(" ")[0] in page_of:
            backend = row.cells["configuration"].split(" ")[0]
            line[0] = f'<a href="{escape(page_of[backend])}">{line[0]}</a>'
        cells.append(line)
    html = [table(HEADERS, cells, ["zoo" if row.kind == "zoo" else "" for row in rows])]
    bars = [Bar(row.configuration, row.ms_per_step, row.low, row.high, reference=row.kind == "zoo") for row in rows]
    html.append(f'<div class="charts">{bars_svg(f"{suite}: ms/step, this machine and {PUBLISHED}", bars, "ms/step")}'
                "</div>")
    html.append('<p class="note">Grey, hatched: ' + PUBLISHED + ", on the hardware its row names, with the "
                "zoo's recipe (see the deviations column); not measured here. Error bars: the run's p10-p90 "
                "step time.</p>")
    scaling = scaling_rows([(run.record, run.link) for run in runs])
    if scaling:
        html += ["<h3>Scaling</h3>", table(SCALING_HEADERS, [[escape(c) for c in row] for row in scaling])]
    return html


def render_front(results_dir: Path, pages: list[tuple[str, str, str, list[Run]]], skipped: list[str],
                 reference: dict) -> str:
    suites: dict[str, list[Run]] = {}
    for _, suite, _, runs in pages:
        suites.setdefault(suite, []).extend(runs)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<p>Results directory {escape(str(results_dir))}, published {generated}. Per suite: one row per "
            "backend, ranks and precision (its newest successful run), beside the model zoo's published figures.</p>"]
    for suite, runs in sorted(suites.items()):
        runs = sorted(runs, key=lambda run: (run.record.get("started") or "", run.record.get("run_id") or ""))
        page_of = {backend: name for name, page_suite, backend, _ in pages if page_suite == suite}
        body += [f'<h2 id="suite-{escape(suite)}">{escape(suite)}: backends side by side</h2>',
                 *_comparison(suite, runs, reference, page_of)]
        trend = trends([(run.record, run.link) for run in runs])
        charts = [trend_svg(f"{suite}: {title}", trend.commits, chart_lines(trend, title), title,
                            percent=FIGURES[title][1], width=7.2) for title in FRONT_CHARTS]
        body += [f"<h3>{escape(suite)}: trends by commit</h3>", TRENDS_NOTE,
                 '<div class="charts">' + "".join(charts) + "</div>",
                 f"<h3>{escape(suite)}: regressions</h3>", regressions_table(runs)]
    rows = []
    for name, suite, backend, runs in pages:
        statuses: dict = {}
        for run in runs:
            statuses[run.record.get("status")] = statuses.get(run.record.get("status"), 0) + 1
        rows.append([f'<a href="{escape(name)}">{escape(suite)} on {escape(backend)}</a>', str(len(runs)),
                     escape(", ".join(f"{count} {status}" for status, count in statuses.items())),
                     cell(runs[-1].record.get("started")), status_cell(runs[-1].record)])
    body += ["<h2>Every run, per suite and backend</h2>",
             table(["suite and backend", "runs", "statuses", "newest run", "its status"], rows)]
    if skipped:
        body += ["<h2>Files skipped (not results records)</h2>",
                 "<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in skipped) + "</ul>"]
    return document("googlenet-bench: backends side by side", "\n".join(body))

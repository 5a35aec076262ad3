"""The HTML of the published site: one page per (suite, backend) and the index, rendered from records alone.

A page holds its runs, oldest first (failed, diverged and aborted ones marked, not dropped), trend charts as
inline SVG (googlenet_bench.harness.reporting.svgchart), the zoo table of its newest successful run (googlenet_bench.harness.reporting.report), the compare view
of all its runs (googlenet_bench.harness.reporting.compare), the environment of each run, and a link to each raw record in records/.
Pages are self-contained: inline style, no script, nothing from a network.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from tabulate import tabulate

from googlenet_bench.harness.reporting.compare import compare
from googlenet_bench.harness.results.figures import MISSING, headline
from googlenet_bench.harness.reporting.history import HEADERS, history_row
from googlenet_bench.harness.reporting.report import zoo_table
from googlenet_bench.harness.reporting.svgchart import Point, line_chart

RECORDS = "records"  # the site's folder of raw records, which the pages link to
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f3f5f8; text-align: left; } .wide { overflow-x: auto; }
.status-success { color: #17692e; font-weight: 600; } .status-bad { color: #b3151b; font-weight: 600; }
tr.bad td { background: #fdf0f0; } .charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid #ddd; background: #fff; } .chart-title { font-size: 14px; font-weight: 600; }
.error { display: inline-block; max-width: 22em; overflow-wrap: anywhere; }
.tick { font-size: 11px; fill: #555; } .grid { stroke: #eee; } .axis { stroke: #888; } .note { color: #666; }
"""


@dataclass(frozen=True)
class Run:
    number: int  # 1-based, oldest first, within its page
    path: Path  # the record file
    record: dict

    @property
    def ok(self) -> bool:
        return self.record.get("status") == "success"

    @property
    def link(self) -> str:
        return f"{RECORDS}/{self.path.name}"

    @property
    def ranks(self) -> int:
        """The ranks the run trained with, or, for a run that died before its figures, was launched with."""
        figures = self.record["figures"]
        return (figures.get("train") or {}).get("ranks") or (figures.get("launch") or {}).get("ranks") or 1

    @property
    def label(self) -> str:
        return f"#{self.number} x{self.ranks}"


def time_to_target_s(record: dict) -> float | None:
    """figures.train.time_to_target_s: training seconds to the suite's target top-1; None if not reached or not set."""
    return (record["figures"].get("train") or {}).get("time_to_target_s")


CHARTS = (  # title, the figure of a record, the y axis top if fixed
    ("ms/step (median)", lambda record: headline(record).ms_per_step, None),
    ("images/s", lambda record: headline(record).images_per_s, None),
    ("top-1 (%)", lambda record: None if headline(record).top1 is None else headline(record).top1 * 100, 100.0),
    ("time to target (s)", time_to_target_s, None),
)
INDEX_CHARTS = ("top-1 (%)", "ms/step (median)")  # each page's headline trends, on the index


def _cell(value) -> str:
    return escape(MISSING if value is None or value == "" else str(value))


def _table(headers: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """An HTML table of cells that are already HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                   for row, cls in zip(rows, row_classes or [""] * len(rows)))
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _status(record: dict) -> str:
    status = record.get("status") or "unknown"
    return f'<span class="status-{"success" if status == "success" else "bad"}">{escape(status)}</span>'


def _runs_table(runs: list[Run]) -> str:
    headers = ["#", *HEADERS, "ranks", "time to target", "error", "record"]
    rows = []
    for run in runs:
        cells = [_cell(value) for value in history_row(run.record)]
        cells[HEADERS.index("status")] = _status(run.record)
        target = time_to_target_s(run.record)
        rows.append([str(run.number), *cells, str(run.ranks), _cell(None if target is None else f"{target:.1f} s"),
                     f'<span class="error">{_cell(run.record.get("error"))}</span>',
                     f'<a href="{escape(run.link)}" title="{escape(run.path.name)}">raw JSON</a>'])
    return _table(headers, rows, ["" if run.ok else "bad" for run in runs])


def _charts(runs: list[Run], titles: tuple[str, ...] = tuple(chart[0] for chart in CHARTS)) -> str:
    svgs = []
    for title, figure, scale_top in (chart for chart in CHARTS if chart[0] in titles):
        values = [figure(run.record) for run in runs]
        if title.startswith("time to target") and all(v is None for v in values):
            continue  # recorded only by suites that set a target
        points = [Point(run.label, value, f"{run.label} {run.record.get('run_id')}: {run.record.get('status')}, "
                                          f"{title} {MISSING if value is None else f'{value:,.2f}'}", run.ok)
                  for run, value in zip(runs, values)]
        svgs.append(line_chart(title, points, scale_top))
    return '<div class="charts">' + "".join(svgs) + "</div>"


def _flatten(mapping: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _environment_table(runs: list[Run]) -> str:
    environments = [_flatten(run.record["environment"]) for run in runs]
    keys = list(dict.fromkeys(key for env in environments for key in env))
    rows = [[escape(key), *(_cell(env.get(key)) for env in environments)] for key in keys]
    return _table(["environment", *(f"{run.label} {run.record.get('run_id') or ''}" for run in runs)], rows)


def _html_tabulate(headers: list[str], rows: list[list[str]]) -> str:
    """tabulate's html format escapes every cell."""
    table = tabulate(rows, headers=headers, tablefmt="html", disable_numparse=True, missingval=MISSING)
    return f'<div class="wide">{table}</div>'


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def render_page(suite: str, backend: str, runs: list[Run]) -> str:
    newest_ok = next((run for run in reversed(runs) if run.ok), runs[-1])
    comparison = compare([run.record for run in runs], [run.link for run in runs])
    failed = sum(not run.ok for run in runs)
    body = [
        '<p><a href="index.html">all suites and backends</a></p>',
        f"<p>{len(runs)} run{'s' * (len(runs) != 1)}, oldest first"
        + (f"; {failed} did not succeed (marked in red)" if failed else "") + ".</p>",
        "<h2>Runs</h2>", _runs_table(runs),
        "<h2>Trends</h2>", '<p class="note">Blue: the run succeeded; red: it did not. A cross on the axis: the run '
        "has no such figure. Hover over a point for its run.</p>", _charts(runs),
        f"<h2>Zoo table: run {newest_ok.label} {escape(newest_ok.record.get('run_id') or '')}"
        f" ({escape(newest_ok.record.get('status') or '')})</h2>",
        f'<div class="wide">{zoo_table([newest_ok.record], "html")}</div>',
        "<h2>Compare: every run against run #1</h2>",
        _html_tabulate(comparison.headers(), comparison.rows()),
        "<h2>Environment</h2>", _environment_table(runs),
    ]
    return _document(f"{suite} on {backend}", "\n".join(body))


def render_index(results_dir: Path, pages: list[tuple[str, str, str, list[Run]]], skipped: list[str]) -> str:
    rows = []
    for name, suite, backend, runs in pages:
        statuses = {}
        for run in runs:
            statuses[run.record.get("status")] = statuses.get(run.record.get("status"), 0) + 1
        newest = dict(zip(HEADERS, history_row(runs[-1].record)))
        rows.append([f'<a href="{escape(name)}">{escape(suite)} on {escape(backend)}</a>', str(len(runs)),
                     escape(", ".join(f"{count} {status}" for status, count in statuses.items())),
                     _cell(newest["started"]), _status(runs[-1].record), _cell(newest["top-1"])])
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<p>Results directory {escape(str(results_dir))}, published {generated}.</p>",
            _table(["suite and backend", "runs", "statuses", "newest run", "its status", "its top-1"], rows)]
    for name, suite, backend, runs in pages:
        body += [f'<h2><a href="{escape(name)}">{escape(suite)} on {escape(backend)}</a></h2>',
                 _charts(runs, INDEX_CHARTS)]
    if skipped:
        body += ["<h2>Files skipped (not results records)</h2>",
                 "<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in skipped) + "</ul>"]
    return _document("googlenet-bench results", "\n".join(body))


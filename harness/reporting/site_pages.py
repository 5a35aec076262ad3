"""The HTML of the published site's pages per (suite, backend), rendered from records alone (the front
page, backends side by side: googlenet_bench.harness.reporting.site_front).

A page holds its runs, oldest first (failed, diverged and aborted ones marked, not dropped), trend charts by
commit as inline SVG (googlenet_bench.harness.reporting.charts), the regressions check found, the zoo table of
its newest successful run, the compare view of all its runs, each run's files with size and SHA-256, the
environment of each run, and a link to each raw record in records/. Pages are self-contained: inline style,
no script, nothing from a network.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from tabulate import tabulate

from googlenet_bench.harness.reporting.compare import compare
from googlenet_bench.harness.results.figures import MISSING
from googlenet_bench.harness.reporting.history import HEADERS, history_row
from googlenet_bench.harness.reporting.report import zoo_table
from googlenet_bench.harness.reporting.charts import trend_svg
from googlenet_bench.harness.reporting.trends import FIGURES, chart_lines, launched_ranks, trends

RECORDS = "records"  # the site's folder of raw records, which the pages link to
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f3f5f8; text-align: left; } .wide { overflow-x: auto; }
.status-success { color: #17692e; font-weight: 600; } .status-bad { color: #b3151b; font-weight: 600; }
tr.bad td { background: #fdf0f0; } .charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid #ddd; background: #fff; } .chart-title { font-size: 14px; font-weight: 600; }
.error { display: inline-block; min-width: 16em; max-width: 36em; overflow-wrap: break-word; }
tr.zoo td { background: #f4f4f4; font-style: italic; } .chart { max-width: 100%; height: auto; }
.note { color: #666; } code { font-size: 12px; }
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
        return launched_ranks(self.record)

    @property
    def label(self) -> str:
        return f"#{self.number} x{self.ranks}"


def cell(value) -> str:
    return escape(MISSING if value is None or value == "" else str(value))


def table(headers: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """An HTML table of cells that are already HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                   for row, cls in zip(rows, row_classes or [""] * len(rows)))
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def status_cell(record: dict) -> str:
    status = record.get("status") or "unknown"
    return f'<span class="status-{"success" if status == "success" else "bad"}">{escape(status)}</span>'


def _runs_table(runs: list[Run]) -> str:
    headers = ["#", *HEADERS, "ranks", "error", "record"]
    rows = []
    for run in runs:
        cells = [cell(value) for value in history_row(run.record)]
        cells[HEADERS.index("status")] = status_cell(run.record)
        rows.append([str(run.number), *cells, str(run.ranks),
                     f'<span class="error">{cell(run.record.get("error"))}</span>',
                     f'<a href="{escape(run.link)}" title="{escape(run.path.name)}">raw JSON</a>'])
    return table(headers, rows, ["" if run.ok else "bad" for run in runs])


def _trend_charts(runs: list[Run], titles: tuple[str, ...] = tuple(FIGURES)) -> str:
    """Trend charts by commit, one line per configuration (googlenet_bench.harness.reporting.trends)."""
    trend = trends([(run.record, run.link) for run in runs])
    svgs = []
    for title in titles:
        lines = chart_lines(trend, title)
        if title.startswith("time to target") and all(p.value is None for line in lines for p in line.points):
            continue  # recorded only by suites that set a target
        svgs.append(trend_svg(title, trend.commits, lines, title, percent=FIGURES[title][1]))
    return '<div class="charts">' + "".join(svgs) + "</div>"


def regressions_table(runs: list[Run]) -> str:
    found = trends([(run.record, run.link) for run in runs]).regressions
    if not found:
        return '<p class="note">No regression: each point is within check\'s default tolerances of the one before.</p>'
    rows = [[escape(r.configuration), escape(r.commit), escape(r.against), escape(r.finding),
             f'<a href="{escape(r.link)}">{escape(r.run_id or "record")}</a>' if r.link else cell(r.run_id)]
            for r in found]
    return table(["configuration", "commit", "against", "what check found", "run"], rows, ["bad"] * len(rows))


TRENDS_NOTE = ('<p class="note">x: the commit and its date, oldest first; one line per configuration (backend, ranks, '
               "precision, epochs, batch, image size, settings). Blue: the run succeeded; red: it did not; hollow: "
               "its step times were unstable; a red cross on the axis: no such figure; a black ring: a regression "
               "that check found against the line's previous point. Bars: the run's p10-p90 step time. Hover over "
               "a point for its run.</p>")


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
    rows = [[escape(key), *(cell(env.get(key)) for env in environments)] for key in keys]
    return table(["environment", *(f"{run.label} {run.record.get('run_id') or ''}" for run in runs)], rows)


def _html_tabulate(headers: list[str], rows: list[list[str]]) -> str:
    """tabulate's html format escapes every cell."""
    table = tabulate(rows, headers=headers, tablefmt="html", disable_numparse=True, missingval=MISSING)
    return f'<div class="wide">{table}</div>'


def document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def _artifacts_table(runs: list[Run]) -> str:
    """Each run's files as its record lists them, linked where they are on this machine."""
    rows = []
    for run in runs:
        block = run.record["figures"].get("artifacts") or {}
        for entry in block.get("files", []):
            target = Path(block["dir"]) / entry["path"]
            rows.append([escape(f"{run.label} {run.record.get('run_id') or ''}"),
                         f'<a href="{escape(target.as_uri())}">{escape(entry["path"])}</a>',
                         f"{entry['bytes'] / 1e6:,.1f} MB", f'<code title="{escape(entry["sha256"])}">'
                                                          f'{escape(entry["sha256"][:16])}</code>'])
    if not rows:
        return '<p class="note">No run here lists its files (records made before artifacts were recorded).</p>'
    return table(["run", "file (on the machine that ran it)", "size", "SHA-256 (hover for all of it)"], rows)


def _profile_section(runs: list[Run], newest: int = 5) -> list[str]:
    """The newest profiled runs' steps by operator category (`--profile`), as stacked bars."""
    from googlenet_bench.harness.reporting.charts import breakdown_svg

    profiled = [run for run in runs if (run.record["figures"].get("profile") or {}).get("by_category")][-newest:]
    if not profiled:
        return []
    bars = [(f"{run.label} {run.record.get('run_id') or ''}",
             [(c["category"], c["ms_per_step"]) for c in run.record["figures"]["profile"]["by_category"]])
            for run in profiled]
    return ["<h2>Where the step time goes</h2>",
            '<p class="note">The profile pass (<code>--profile</code>): steps after the timed ones, under '
            "MindSpore's profiler; not used for ms/step.</p>", breakdown_svg("profiled step by category", bars)]


def render_page(suite: str, backend: str, runs: list[Run]) -> str:
    newest_ok = next((run for run in reversed(runs) if run.ok), None)
    comparison = compare([run.record for run in runs], [run.link for run in runs])
    failed = sum(not run.ok for run in runs)
    body = [
        '<p><a href="index.html">all suites and backends, side by side</a></p>',
        f"<p>{len(runs)} run{'s' * (len(runs) != 1)}, oldest first"
        + (f"; {failed} did not succeed (marked in red)" if failed else "") + ".</p>",
        "<h2>Runs</h2>", _runs_table(runs),
        "<h2>Trends by commit</h2>", TRENDS_NOTE, _trend_charts(runs),
        "<h2>Regressions</h2>", regressions_table(runs),
    ]
    if newest_ok is not None:
        body += [f"<h2>Zoo table: the newest successful run, {newest_ok.label} "
                 f"{escape(newest_ok.record.get('run_id') or '')}</h2>",
                 f'<div class="wide">{zoo_table([newest_ok.record], "html")}</div>']
    else:
        body += ["<h2>Zoo table</h2>", '<p class="note">No run here succeeded, so there is no zoo table.</p>']
    body += _profile_section(runs)
    body += ["<h2>Compare: every run against run #1</h2>", _html_tabulate(comparison.headers(), comparison.rows()),
             "<h2>Files</h2>", _artifacts_table(runs),
             "<h2>Environment</h2>", _environment_table(runs)]
    return document(f"{suite} on {backend}", "\n".join(body))

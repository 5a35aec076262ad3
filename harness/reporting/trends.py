"""Trends by commit: one line per configuration, one point per commit, regressions found by `check`.

A configuration is everything that changes what a run measures: the backend, the ranks, the precision,
the speed settings and every suite key but those that only name or file things (IGNORED). Runs of
different configurations never share a line. A line's point at a commit is its newest successful run
there (with the run's p10-p90 step-time spread); the other runs at that commit that did not succeed
are drawn too, in red. Each point is checked against the line's previous point with `check`'s default
tolerances, speed gated: what it calls a regression is ringed on the chart and listed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from googlenet_bench.harness.reporting.charts import Line, Point
from googlenet_bench.harness.results.figures import headline, other_load, trained_epochs

IGNORED = {"name", "description", "data", "ckpt_every_epochs", "ckpt_keep", "min_top1", "export_formats",
           "export_batch_size", "epochs"}  # epochs: the epochs trained (a run stopped at its target trained fewer)
LABELLED = ("epochs", "batch_size", "image_size", "train_samples")  # named in every line's label


def precision(record: dict) -> str:
    return str(record["figures"].get("amp_level") or record["config"].get("amp_level") or "?")


def settings(record: dict) -> dict:
    return ((record["environment"].get("speed_settings") or {}).get("settings")) or {}


def launched_ranks(record: dict) -> int:
    """The ranks a run trained with, or, for a run that died before its figures, was launched with."""
    figures = record["figures"]
    return (figures.get("train") or {}).get("ranks") or (figures.get("launch") or {}).get("ranks") or 1


def configuration(record: dict) -> dict:
    """What a run's line is made of, as a mapping (its keys sorted when compared)."""
    config = {key: value for key, value in record["config"].items() if key not in IGNORED}
    return {"backend": record["backend"], "ranks": launched_ranks(record), "precision": precision(record),
            "epochs": trained_epochs(record) or record["config"].get("epochs"), "settings": settings(record), **config}


def configuration_key(record: dict) -> str:
    return json.dumps(configuration(record), sort_keys=True, default=str)


def configuration_label(record: dict, varying: set[str] = frozenset()) -> str:
    """"cpu x1 O0, 10 ep, batch 64, 32 px" and any other key that differs between the lines shown."""
    config = configuration(record)
    parts = [f"{config['backend']} x{config['ranks']} {config['precision']}", f"{config['epochs']} ep",
             f"batch {config.get('batch_size')}", f"{config.get('image_size')} px"]
    if config.get("train_samples"):
        parts.append(f"{config['train_samples']} images")
    parts += [f"{key}={config[key]}" for key in sorted(varying - {"backend", "ranks", "precision", *LABELLED})
              if key in config]
    return ", ".join(parts)


def commit_of(record: dict) -> str:
    git = record["environment"].get("git") or {}
    return ((git.get("commit") or "no commit")[:7]) + ("+" if git.get("dirty") else "")


def commit_date(record: dict) -> str:
    """The commit's date where the record has it, else the run's."""
    when = (record["environment"].get("git") or {}).get("date") or record.get("started")
    try:
        return datetime.fromisoformat(when).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return "no date"


@dataclass(frozen=True)
class Regression:
    configuration: str
    commit: str
    against: str  # the commit of the line's previous point
    finding: str  # check's line, e.g. "REGRESSION ms/step: baseline 216.49, new 260.00 (...)"
    run_id: str | None
    link: str | None


@dataclass
class Trends:
    commits: list[str]  # x labels: "abc1234\n2026-12-04", oldest first
    lines: dict[str, list[tuple[int, list[tuple[dict, str | None]]]]]  # key -> [(commit index, [(record, link)])]
    labels: dict[str, str]
    regressions: list[Regression]
    regressed: set[tuple[str, int, str]]  # (configuration key, commit index, check's figure) ringed on the charts


def _spread(record: dict) -> tuple[float | None, float | None]:
    spread = (record["figures"].get("train") or {}).get("ms_per_step_spread") or {}
    low, high = spread.get("p10"), spread.get("p90")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    return (float(low), float(high)) if numbers else (None, None)


def stability(record: dict) -> str:
    return ((record["figures"].get("train") or {}).get("ms_per_step_spread") or {}).get("stability") or "unknown"


def trends(runs: list[tuple[dict, str | None]]) -> Trends:
    """`runs` (record, link), oldest first, grouped by configuration and commit."""
    commits: list[str] = []
    for record, _ in runs:
        label = f"{commit_of(record)}\n{commit_date(record)}"
        if label not in commits:
            commits.append(label)
    index_of = {label: number for number, label in enumerate(commits)}
    lines: dict[str, dict[int, list]] = {}
    first_of: dict[str, dict] = {}
    for record, link in runs:
        key = configuration_key(record)
        first_of.setdefault(key, record)
        at = index_of[f"{commit_of(record)}\n{commit_date(record)}"]
        lines.setdefault(key, {}).setdefault(at, []).append((record, link))
    varying = {name for name in set().union(*(configuration(r) for r in first_of.values()))
               if len({json.dumps(configuration(r).get(name), sort_keys=True, default=str)
                       for r in first_of.values()}) > 1}
    labels = {key: configuration_label(record, varying) for key, record in first_of.items()}
    ordered = {key: sorted(points.items()) for key, points in lines.items()}
    regressions, regressed = _regressions(ordered, labels, commits)
    return Trends(commits, ordered, labels, regressions, regressed)


def newest_success(group: list[tuple[dict, str | None]]) -> tuple[dict, str | None] | None:
    return next((run for run in reversed(group) if run[0].get("status") == "success"), None)


def _regressions(lines, labels, commits) -> tuple[list[Regression], set]:
    from googlenet_bench.harness.errors import BenchError
    from googlenet_bench.harness.reporting.check import DEFAULT_TOLERANCES, Tolerances, check

    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    found, ringed = [], set()
    for key, points in lines.items():
        previous = None
        for at, group in points:
            current = newest_success(group) or group[-1]
            if previous is not None:
                try:
                    verdict = check(current[0], previous[1][0], tolerances, gate_speed=True)
                except BenchError:  # a figure check needs is missing: nothing to gate
                    verdict = None
                for finding in verdict.regressions if verdict else []:
                    found.append(Regression(labels[key], commits[at].split("\n")[0],
                                            commits[previous[0]].split("\n")[0], finding.line(),
                                            current[0].get("run_id"), current[1]))
                    ringed.add((key, at, finding.figure))
            if current[0].get("status") == "success":
                previous = (at, current)
    return found, ringed


FIGURES = {  # chart title -> (the figure of a record, a percentage axis)
    "ms/step (median, p10-p90)": (lambda record: headline(record).ms_per_step, False),
    "images/s": (lambda record: headline(record).images_per_s, False),
    "top-1 (%)": (lambda record: None if headline(record).top1 is None else headline(record).top1 * 100, True),
    "time to target (s)": (lambda record: headline(record).time_to_target_s, False),
}


def chart_lines(trend: Trends, title: str) -> list[Line]:
    """The chart's lines for one figure: each line's points, then its runs that did not succeed."""
    figure, _ = FIGURES[title]
    result = []
    for key, points in trend.lines.items():
        line = Line(trend.labels[key])
        for at, group in points:
            best = newest_success(group)
            shown = ([best] if best else []) + [run for run in group if run[0].get("status") != "success"]
            for record, _ in shown:
                value = figure(record)
                low, high = _spread(record) if title.startswith("ms/step") and value is not None else (None, None)
                line.points.append(Point(at, value, record.get("status"), _tooltip(record, title, value), low, high,
                                         unstable=stability(record) == "unstable",
                                         regressed=record is (best or group[-1])[0] and bool(
                                             {(key, at, "status"), (key, at, title.split(" (")[0])} & trend.regressed)))
        result.append(line)
    return result


def other_load_shown(record: dict) -> str:
    """Other processes' load during the timed epochs (median, in cores), as the run measured it."""
    busy = other_load(record)
    return f"{busy[0]:.2f} cores" if busy else "not measured"


def _tooltip(record: dict, title: str, value) -> str:
    shown = "none" if value is None else f"{value:,.2f}"
    return (f"{record.get('run_id')} at {commit_of(record)}: {record.get('status')}, {title} {shown}, "
            f"stability {stability(record)}, other load {other_load_shown(record)}")

"""Backends side by side: per suite, one row per (backend, ranks, precision), each its newest successful
run, beside the zoo's published rows; and scaling rows where N-rank runs exist. The site's front page
(googlenet_bench.harness.reporting.site_pages) and `bench.py compare --by backend` render these rows.

A suite the zoo published no figures for (digits) is shown beside the zoo's CIFAR-10 rows, labelled
with their suite: the zoo's Ascend 910 and V100 step times are the figures users compare against.
The deviations column names how a run's recipe differs from the zoo's (dataset, image size, batch,
epochs), so that a step time is not read as comparable when it is not.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

from googlenet_bench.harness.measure.scaling import efficiency
from googlenet_bench.harness.reporting.report import DATASET_NAMES
from googlenet_bench.harness.reporting.trends import newest_success, precision, stability
from googlenet_bench.harness.results.figures import MISSING, headline, per_rank_batch, ranks, trained_epochs

STAND_IN_SUITE = "cifar10-full"  # the zoo rows shown beside a suite the zoo did not publish
ZOO_IMAGE_SIZE = {"cifar10": 224, "imagenet": 224}  # the zoo recipes' input size (suites/cifar10-full.yaml)
PUBLISHED = "published by the zoo"
HEADERS = ["configuration", "ms/step (p10-p90)", "images/s", "top-1", "time to target", "total", "stability",
           "deviations from the zoo", "run or source"]


@dataclass(frozen=True)
class Row:
    kind: str  # "run" or "zoo"
    configuration: str
    cells: dict[str, str]
    ms_per_step: float | None = None
    low: float | None = None
    high: float | None = None
    link: str | None = None  # a run's record on the site
    status: str | None = "success"


def _fmt(value: float | None, pattern: str, suffix: str = "") -> str:
    return MISSING if value is None else format(value, pattern) + suffix


def zoo_entries(suite: str, reference: dict) -> list[dict]:
    runs = reference.get("runs", [])
    own = [entry for entry in runs if entry["suite"] == suite]
    return own or [entry for entry in runs if entry["suite"] == STAND_IN_SUITE]


def deviations(record: dict, entry: dict | None) -> str:
    """How this run's recipe differs from the zoo's published one; "none" if it does not."""
    if entry is None:
        return MISSING
    config, family = record["config"], entry["suite"].split("-")[0]
    found = []
    if config.get("dataset") != family:
        found.append(f"{config.get('dataset')} vs {DATASET_NAMES.get(family, family)}")
    for name, ours, theirs in (("px", config.get("image_size"), ZOO_IMAGE_SIZE.get(family)),
                               ("batch", per_rank_batch(record), entry.get("batch_size")),
                               ("epochs", trained_epochs(record) or config.get("epochs"), entry.get("epochs"))):
        if theirs is not None and ours != theirs:
            found.append(f"{name} {ours} vs {theirs}")
    return "; ".join(found) or "none"


def _time_to_target(record: dict) -> str:
    figures = headline(record)
    target = (record["figures"].get("train") or {}).get("target_top1")
    if target is None:
        return MISSING
    reached = "not reached" if figures.time_to_target_s is None else f"{figures.time_to_target_s:.1f} s"
    return f"{reached} ({target * 100:g}%)"


def configuration(record: dict) -> str:
    return f"{record['backend']} x{ranks(record)} {precision(record)}"


def run_row(record: dict, link: str | None, zoo: dict | None) -> Row:
    figures = headline(record)
    spread = (record["figures"].get("train") or {}).get("ms_per_step_spread") or {}
    low, high = spread.get("p10"), spread.get("p90")
    speed = _fmt(figures.ms_per_step, ".1f")
    if figures.ms_per_step is not None and low is not None and high is not None:
        speed += f" ({low:.0f}-{high:.0f})"
    cells = {"configuration": configuration(record), "ms/step (p10-p90)": speed,
             "images/s": _fmt(figures.images_per_s, ",.1f"),
             "top-1": _fmt(None if figures.top1 is None else figures.top1 * 100, ".2f", "%"),
             "time to target": _time_to_target(record),
             "total": _fmt(None if figures.total_s is None else figures.total_s / 60, ".2f", " min"),
             "stability": stability(record), "deviations from the zoo": deviations(record, zoo),
             "run or source": record.get("run_id") or MISSING}
    return Row("run", cells["configuration"], cells, figures.ms_per_step, low, high, link, record.get("status"))


def zoo_row(entry: dict, reference: dict) -> Row:
    device = entry["device"].split(" (")[0]
    label = f"{device} x{entry.get('ranks') or 1} ({PUBLISHED})"
    total = (f"{entry['total_minutes']:g} min" if entry.get("total_minutes")
             else f"{entry['total_hours']:g} h" if entry.get("total_hours") else MISSING)
    recipe = ", ".join(part for part in (entry["suite"], f"batch {entry['batch_size']}" if entry.get("batch_size") else "",
                                         f"{entry['epochs']} epochs" if entry.get("epochs") else "") if part)
    cells = {"configuration": label, "ms/step (p10-p90)": _fmt(entry.get("ms_per_step"), "g"),
             "images/s": MISSING, "top-1": _fmt(None if entry.get("top1") is None else entry["top1"] * 100, ".2f", "%"),
             "time to target": MISSING, "total": total, "stability": MISSING,
             "deviations from the zoo": f"the zoo's own run: {recipe}; hardware {entry['device']}",
             "run or source": f"{reference.get('source')} (MindSpore {reference.get('mindspore_version')})"}
    return Row("zoo", label, cells, entry.get("ms_per_step"))


def newest_by_configuration(runs: list[tuple[dict, str | None]]) -> list[tuple[dict, str | None]]:
    """The newest successful run of each (backend, ranks, precision), in order of first appearance."""
    groups: dict[tuple, list] = {}
    for record, link in runs:
        groups.setdefault((record["backend"], ranks(record), precision(record)), []).append((record, link))
    return [best for best in (newest_success(group) for group in groups.values()) if best]


def suite_rows(suite: str, runs: list[tuple[dict, str | None]], reference: dict) -> list[Row]:
    """`runs` of one suite (record, link), oldest first: its rows, then the zoo's."""
    entries = zoo_entries(suite, reference)
    zoo = next((entry for entry in entries if entry.get("ranks") == 1), entries[0] if entries else None)
    rows = [run_row(record, link, zoo) for record, link in newest_by_configuration(runs)]
    return rows + [zoo_row(entry, reference) for entry in entries]


SCALING_HEADERS = ["configuration", "ranks", "ms/step", "images/s", "vs 1 rank", "scaling efficiency"]


def scaling_rows(runs: list[tuple[dict, str | None]]) -> list[list[str]]:
    """Each N-rank row against the 1-rank row of the same backend and precision (weak scaling: ms/step ratio)."""
    best = newest_by_configuration(runs)
    singles = {(r["backend"], precision(r)): r for r, _ in best if ranks(r) == 1}
    rows = []
    for record, _ in best:
        single = singles.get((record["backend"], precision(record)))
        if ranks(record) == 1 or single is None:
            continue
        new, old = headline(record), headline(single)
        scaling = efficiency(old.ms_per_step, new.ms_per_step) if old.ms_per_step and new.ms_per_step else None
        speedup = new.images_per_s / old.images_per_s if new.images_per_s and old.images_per_s else None
        rows.append([f"{record['backend']} {precision(record)}", f"{ranks(record)} vs 1",
                     f"{_fmt(new.ms_per_step, '.1f')} vs {_fmt(old.ms_per_step, '.1f')}",
                     f"{_fmt(new.images_per_s, ',.1f')} vs {_fmt(old.images_per_s, ',.1f')}",
                     _fmt(speedup, ".2f", "x images/s"), _fmt(None if scaling is None else scaling * 100, ".0f", "%")])
    return rows


TERMINAL_COLUMNS = {"configuration": 18, "ms/step (p10-p90)": 11, "images/s": 8, "top-1": 7, "time to target": 11,
                    "total": 9, "stability": 9, "deviations from the zoo": 21}  # 94 + 8 columns of 3 = 118


def terminal_table(suite: str, rows: list[Row], scaling: list[list[str]]) -> str:
    """The rows as a plain table within 120 columns: long cells wrapped, the source column left out."""
    from tabulate import tabulate

    def wrap(text: str, width: int) -> str:
        return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text

    headers = [wrap(h, TERMINAL_COLUMNS[h]) for h in TERMINAL_COLUMNS]
    body = [[wrap(row.cells[h], width) for h, width in TERMINAL_COLUMNS.items()] for row in rows]
    parts = [f"{suite}: one row per backend, ranks and precision (its newest successful run), and the zoo's "
             "published rows", tabulate(body, headers=headers, tablefmt="simple_grid", disable_numparse=True)]
    if scaling:
        parts += ["scaling", tabulate(scaling, headers=SCALING_HEADERS, tablefmt="simple_grid", disable_numparse=True)]
    return "\n".join(parts)


def by_backend(paths: list[str], reference: dict) -> str:
    """`compare --by backend`: the tables of every suite among `paths` (records or results directories)."""
    from pathlib import Path

    from googlenet_bench.harness.errors import BenchError
    from googlenet_bench.harness.reporting.history import read_records
    from googlenet_bench.harness.results.record import read_record

    found = []
    for path in map(Path, paths):
        found += read_records(path)[0] if path.is_dir() else [(path, read_record(path))]
    if not found:
        raise BenchError(f"no results records in {', '.join(paths)}: give records or the --results directory of runs")
    suites: dict[str, list] = {}
    for path, record in sorted(found, key=lambda run: (run[1].get("started") or "", str(run[0]))):
        suites.setdefault(record["suite"], []).append((record, None))
    return "\n\n".join(terminal_table(suite, suite_rows(suite, runs, reference), scaling_rows(runs))
                       + profile_differences(newest_by_configuration(runs))
                       for suite, runs in sorted(suites.items()))


def profile_differences(runs: list[tuple[dict, str | None]], top: int = 5) -> str:
    """Where two or more configurations both have a profile pass: the operator categories whose ms per
    profiled step differ most between them."""
    from tabulate import tabulate

    profiled = [(configuration(record), {c["category"]: c["ms_per_step"] for c in record["figures"]["profile"]["by_category"]})
                for record, _ in runs if (record["figures"].get("profile") or {}).get("by_category")]
    if len(profiled) < 2:
        return ""
    categories = sorted({name for _, parts in profiled for name in parts},
                        key=lambda name: -(max(p.get(name, 0.0) for _, p in profiled) - min(p.get(name, 0.0) for _, p in profiled)))
    rows = [[name, *(f"{parts.get(name, 0.0):.1f}" for _, parts in profiled)] for name in categories[:top]]
    return ("\nwhere the profiled steps differ most (ms per step, by operator category; --profile)\n"
            + tabulate(rows, headers=["category", *(title for title, _ in profiled)], tablefmt="simple_grid",
                       disable_numparse=True))

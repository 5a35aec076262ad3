"""Runs side by side in the zoo README's row layout, rendered from records alone.

One column per run; after each run but the first, a column of its ratios against the
first run (speed: ms/step, images/s, total time) and its top-1 difference. Runs of
another suite, data set, image size or batch size get no ratios: the column says why.
`--reference zoo` adds the zoo's published figures (harness/reference/zoo_published.yaml).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.figures import (MISSING, headline, ranks, same_target, speed_stability, unlike,
                                                     unlike_work)
from googlenet_bench.harness.measure.scaling import efficiency
from googlenet_bench.harness.reporting.report import DATASET_NAMES, ROW_LABELS, pcs, percent, column_title, zoo_rows

ZOO_REFERENCE = Path(__file__).resolve().parent / "reference" / "zoo_published.yaml"
TABLE_FORMATS = {"github": "github", "markdown": "pipe", "plain": "plain"}
FORMATS = (*TABLE_FORMATS, "csv", "json")

RUN_ROW = "Run"
THROUGHPUT_ROW = "Throughput"
_AFTER_SPEED = ROW_LABELS.index("Speed") + 1
COMPARE_ROWS = (RUN_ROW, *ROW_LABELS[:_AFTER_SPEED], THROUGHPUT_ROW, *ROW_LABELS[_AFTER_SPEED:])


# -- ratios against the first run ----------------------------------------------------------

def ratio(new: float | None, old: float | None) -> float | None:
    return None if new is None or not old else new / old


@dataclass
class Versus:
    """One run against the first: ratios are this run over the first; top-1 difference is this minus first."""

    run: int
    against: int
    unlike: list[str]
    unlike_work: list[str] = field(default_factory=list)  # why total times are not compared
    ms_per_step_ratio: float | None = None
    images_per_s_ratio: float | None = None
    total_s_ratio: float | None = None
    time_to_target_ratio: float | None = None  # only between runs with the same target_top1
    top1_difference: float | None = None
    # Weak scaling (same batch per rank): ms/step with the first run's ranks over ms/step with these.
    scaling_efficiency: float | None = None
    ranks: tuple[int, int] | None = None

    @property
    def comparable(self) -> bool:
        return not self.unlike

    def cells(self) -> dict[str, str]:
        figure_rows = ("Speed", THROUGHPUT_ROW, "Total time", "Time to target", "Accuracy")
        if not self.comparable:
            return {RUN_ROW: "not comparable: " + ", ".join(self.unlike),
                    **{row: "not compared" for row in figure_rows}}
        times = [None if r is None else f"x{r:.2f}" for r in (self.ms_per_step_ratio, self.images_per_s_ratio,
                                                             self.total_s_ratio, self.time_to_target_ratio)]
        if self.unlike_work:
            times[2] = "not compared: " + ", ".join(self.unlike_work)
        if self.scaling_efficiency is not None and times[0]:
            times[0] += (f" (scaling efficiency {self.scaling_efficiency * 100:.0f}% at "
                         f"{self.ranks[1]} vs {self.ranks[0]} ranks)")
        top1 = None if self.top1_difference is None else f"top-1 {self.top1_difference * 100:+.2f} pp"
        return {row: text or MISSING for row, text in zip(figure_rows, (*times, top1))}


def versus(first: dict, other: dict, run: int) -> Versus:
    reasons = unlike(first, other)
    if reasons:
        return Versus(run=run, against=1, unlike=reasons)
    old, new = headline(first), headline(other)
    work_reasons = unlike_work(first, other)
    return Versus(run=run, against=1, unlike=[], unlike_work=work_reasons,
                  ms_per_step_ratio=ratio(new.ms_per_step, old.ms_per_step),
                  images_per_s_ratio=ratio(new.images_per_s, old.images_per_s),
                  total_s_ratio=None if work_reasons else ratio(new.total_s, old.total_s),
                  time_to_target_ratio=(ratio(new.time_to_target_s, old.time_to_target_s)
                                        if same_target(first, other) else None),
                  top1_difference=None if new.top1 is None or old.top1 is None else new.top1 - old.top1,
                  scaling_efficiency=(efficiency(old.ms_per_step, new.ms_per_step)
                                      if ranks(first) != ranks(other) else None),
                  ranks=(ranks(first), ranks(other)))


# -- the zoo's published figures -----------------------------------------------------------

def load_zoo_reference(path: Path = ZOO_REFERENCE) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BenchError(f"zoo reference {path} cannot be read ({exc.__class__.__name__}): "
                         "restore it from ../shared/reference/zoo_published.yaml") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list) or not all(isinstance(r, dict) and "suite" in r and "device" in r for r in runs):
        raise BenchError(f"zoo reference {path} is malformed: expected 'runs', a list with suite and device each")
    try:
        date.fromisoformat(data.get("uploaded") or "0001-01-01")
    except (TypeError, ValueError):
        raise BenchError(f"zoo reference {path}: 'uploaded' must be a quoted YYYY-MM-DD date") from None
    return data


def zoo_title(entry: dict) -> str:
    ranks = f" x{entry['ranks']}" if entry.get("ranks") else ""
    return f"zoo {entry['device'].split(' (')[0]}{ranks} ({entry['suite']})"


def zoo_published_rows(entry: dict, reference: dict) -> dict[str, str]:
    """One published zoo run in the rows of `report.zoo_rows`, numbers as published; what it did not publish is "–"."""
    ranks = entry.get("ranks")
    if entry.get("total_minutes"):
        total = f"{entry['total_minutes']:g} mins"
    else:
        total = f"{entry['total_hours']:g} hours" if entry.get("total_hours") else None
    exports = [f"{entry[key]:g}M (.{key.removesuffix('_mb')} file)"
               for key in ("mindir_mb", "onnx_mb", "air_mb") if entry.get(key)]
    training = ", ".join(f"{name}={entry.get(key, MISSING)}" for name, key in
                         (("epoch", "epochs"), ("steps", "steps_per_epoch"), ("batch_size", "batch_size"),
                          ("lr", "lr_init")))
    accuracy = f"top-1 {percent(entry['top1'])}" if entry.get("top1") is not None else None
    if accuracy and entry.get("top5") is not None:
        accuracy += f", top-5 {percent(entry['top5'])}"
    uploaded = reference.get("uploaded")
    published = {
        RUN_ROW: reference.get("source"),
        "Model Version": "Inception V1",
        "Resource": entry["device"],
        "Uploaded Date": f"{date.fromisoformat(uploaded):%m/%d/%Y} (month/day/year)" if uploaded else None,
        "MindSpore Version": reference.get("mindspore_version"),
        "Dataset": DATASET_NAMES.get(entry["suite"].split("-")[0]),
        "Training Parameters": training if entry.get("epochs") else None,
        "Loss": f"{entry['final_loss']:g}" if entry.get("final_loss") is not None else None,
        "Speed": f"{pcs(ranks)}: {entry['ms_per_step']:g} ms/step" if ranks and entry.get("ms_per_step") else None,
        "Total time": f"{pcs(ranks)}: {total}" if ranks and total else None,
        "Checkpoint for Fine tuning": f"{entry['checkpoint_mb']:g}M (.ckpt file)" if entry.get("checkpoint_mb") else None,
        "Model for inference": ", ".join(exports) or None,
        "Accuracy": accuracy,
    }
    return {row: published.get(row) or MISSING for row in COMPARE_ROWS}


# -- the table -----------------------------------------------------------------------------

@dataclass
class Column:
    title: str
    kind: str  # "run", "versus" or "reference"
    cells: dict[str, str]
    source: str | None = None  # the record file, for runs


@dataclass
class Comparison:
    columns: list[Column] = field(default_factory=list)
    versus: list[Versus] = field(default_factory=list)

    def rows(self) -> list[list[str]]:
        return [[label, *(column.cells.get(label, "") for column in self.columns)] for label in COMPARE_ROWS]

    def headers(self) -> list[str]:
        return ["Parameters", *(column.title for column in self.columns)]


def run_cells(record: dict) -> dict[str, str]:
    images_per_s = headline(record).images_per_s
    train = record["figures"].get("train") or {}
    timed = train.get("timed_epochs")
    run = (f"{record.get('run_id') or MISSING} ({record.get('status')}"
           + (f", {timed} timed epoch{'s' * (timed != 1)}" if isinstance(timed, int) else "") + ")")
    return {**zoo_rows(record), RUN_ROW: run,
            THROUGHPUT_ROW: f"{images_per_s:,.1f} images/s" if images_per_s else MISSING}


def _unsteady(record: dict) -> str:
    """"unstable" or "no spread" for a run whose ms/step is not a steady figure, else ""."""
    stability = speed_stability(record)
    return stability[0] if stability and stability[0] in ("unstable", "no spread") else ""


def compare(records: list[dict], sources: list[str] | None = None, reference: dict | None = None) -> Comparison:
    """Columns for `records` (the first is what the others are measured against), then the reference's runs."""
    if not records:
        raise BenchError("compare needs at least one results record")
    sources = sources or [None] * len(records)
    comparison = Comparison()
    for number, (record, source) in enumerate(zip(records, sources), start=1):
        comparison.columns.append(Column(f"run {number}: {column_title(record)}", "run", run_cells(record), source))
        if number > 1:
            against_first = versus(records[0], record, number)
            comparison.versus.append(against_first)
            cells = against_first.cells()
            shaky = [f"run {n} {tag}" for n, tag in ((1, _unsteady(records[0])), (number, _unsteady(record))) if tag]
            if shaky and against_first.ms_per_step_ratio is not None:
                cells["Speed"] += f" ({', '.join(shaky)})"
            comparison.columns.append(Column(f"run {number} vs run 1", "versus", cells))
    for entry in (reference or {}).get("runs", []):
        comparison.columns.append(Column(zoo_title(entry), "reference", zoo_published_rows(entry, reference)))
    return comparison


def render_table(headers: list[str], rows: list[list], output_format: str) -> str:
    """github / markdown / plain through tabulate, or csv."""
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    if output_format not in TABLE_FORMATS:
        raise BenchError(f"--format {output_format}: choose one of {', '.join(FORMATS)}")
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt=TABLE_FORMATS[output_format], missingval=MISSING,
                    disable_numparse=True)


def render(comparison: Comparison, output_format: str = "github") -> str:
    if output_format == "json":
        return json.dumps({"rows": list(COMPARE_ROWS),
                           "columns": [asdict(column) for column in comparison.columns],
                           "versus": [{**asdict(v), "comparable": v.comparable} for v in comparison.versus]},
                          indent=2, ensure_ascii=False)
    return render_table(comparison.headers(), comparison.rows(), output_format)

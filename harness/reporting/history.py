"""The runs of one suite on one backend in a results directory, oldest first: a trend, as lines and a plot."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from googlenet_bench.harness.results.figures import MISSING, accuracy_curve, headline, trained_epochs
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.record import read_record

HEADERS = ["started", "run", "status", "commit", "epochs", "lr", "top-1", "ms/step", "to target", "images/s", "total",
           "loss"]


@dataclass
class History:
    suite: str
    backend: str
    runs: list[tuple[Path, dict]]  # (record file, record), oldest first
    skipped: list[str]  # one line per file that is not a usable record


def start_time(record: dict) -> str:
    """The ISO start time ("" if absent; the schema checked it is one): records sort by it."""
    return record.get("started") or ""


def run_order(run: tuple[Path, dict]) -> tuple[str, str]:
    """Sort key of a (record file, record) pair: oldest first, then by run id."""
    path, record = run
    return start_time(record), record.get("run_id") or path.stem


def read_records(directory: str | Path) -> tuple[list[tuple[Path, dict]], list[str]]:
    """Every record in `directory` (not its subfolders), oldest first, and one line per .json file that is not one."""
    directory = Path(directory)
    if not directory.is_dir():
        problem = "is a file, not a directory" if directory.exists() else "not found"
        raise BenchError(f"results directory {directory} {problem}: give the --results directory of your runs")
    runs, skipped = [], []
    for path in sorted(directory.glob("*.json")):
        try:
            if sitting_line(path) is not None:
                continue  # an A/B comparison or a seed summary: `sittings` lists those
        except BenchError:
            continue  # a malformed one: `sittings` says so
        try:
            runs.append((path, read_record(path)))
        except BenchError as exc:
            skipped.append(str(exc))
    return sorted(runs, key=run_order), skipped


def sitting_line(path: Path, suite: str | None = None, backend: str | None = None) -> str | None:
    """The one-line summary of an A/B comparison or seed summary file (of `suite` on `backend` when
    given), else None: a run's record, or anything else."""
    from googlenet_bench.harness.results import comparison, seed_summary

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if comparison.is_comparison(document):
        read, describe = (lambda: comparison.validate_comparison(document, str(path))), comparison.summary_line
    elif seed_summary.is_summary(document):
        read, describe = (lambda: seed_summary.validate_summary(document, str(path))), seed_summary.summary_line
    else:
        return None
    document = read()  # a malformed one: BenchError
    if suite is not None and (document["suite"], document["backend"]) != (suite, backend):
        return ""
    return f"{document.get('started') or ''} {describe(document)} ({path.name})".strip()


def sittings(directory: str | Path, suite: str, backend: str) -> list[str]:
    """One line per A/B comparison and seed summary of `suite` on `backend` in `directory`, by file name."""
    lines = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            lines.append(sitting_line(path, suite, backend))
        except BenchError as exc:
            lines.append(f"unreadable: {exc}")
    return [line for line in lines if line]


def collect(directory: str | Path, suite: str, backend: str) -> History:
    """Every record of `suite` on `backend` in `directory` (not its subfolders), ordered by start time."""
    found, skipped = read_records(directory)
    runs = [(path, record) for path, record in found if record["suite"] == suite and record["backend"] == backend]
    if not runs:
        raise BenchError(f"no runs of suite {suite!r} on backend {backend!r} in {directory}: "
                         f"run `bench.py --suite {suite} --backend {backend} --results {directory}`")
    return History(suite, backend, runs, skipped)


def _fmt(value: float | None, pattern: str) -> str:
    return MISSING if value is None else format(value, pattern)


def history_row(record: dict) -> list[str]:
    figures, config = headline(record), record["config"]
    git = record["environment"].get("git") or {}
    commit = (git.get("commit") or MISSING)[:7] + ("+" if git.get("dirty") else "")
    started = start_time(record)
    return [
        datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M") if started else MISSING,
        record.get("run_id") or MISSING,
        record.get("status") or MISSING,
        commit,
        str(trained_epochs(record) or config.get("epochs") or MISSING),
        str(config.get("lr_init", MISSING)),
        MISSING if figures.top1 is None else f"{figures.top1 * 100:.2f}%",
        _fmt(figures.ms_per_step, ".1f"),
        _to_target(record, figures),
        _fmt(figures.images_per_s, ".1f"),
        MISSING if figures.total_s is None else f"{figures.total_s / 60:.2f} min",
        _fmt(figures.final_loss, ".4f"),
    ]


def _to_target(record: dict, figures) -> str:
    target = (record["figures"].get("train") or {}).get("target_top1")
    if target is None:
        return MISSING
    reached = "not reached" if figures.time_to_target_s is None else f"{figures.time_to_target_s:.1f} s"
    return f"{reached} ({target * 100:g}%)"


def history_json(history: History) -> list[dict]:
    """One object per run with the figures as numbers (None where absent)."""
    return [{"record": str(path), "run_id": record.get("run_id"), "started": start_time(record) or None,
             "status": record.get("status"), "config": {key: record["config"].get(key) for key in ("epochs", "lr_init")},
             **asdict(headline(record))}
            for path, record in history.runs]


def plot_target(path: str | Path) -> Path:
    """The --plot file, refused before any work if its directory does not exist."""
    from googlenet_bench.harness.targets import writable_file

    return writable_file(path, "--plot")


def plot(history: History, path: str | Path) -> Path:
    """Top-1 (%) and ms/step by commit, one line per configuration, drawn by the site's chart module with its
    colour rule (googlenet_bench.harness.reporting.charts), and, when runs evaluated while training, a third
    panel: each run's top-1 over its training clock (the accuracy curve), as a PNG."""
    from googlenet_bench.harness.reporting.charts import draw_trend, save_png
    from googlenet_bench.harness.reporting.trends import chart_lines, trends

    path = plot_target(path)
    trend = trends([(record, None) for _, record in history.runs])
    labels = [history_row(record)[0] for _, record in history.runs]
    curves = [(label, accuracy_curve(record)) for label, (_, record) in zip(labels, history.runs)]
    curves = [(label, curve) for label, curve in curves if curve]

    def draw(axes):
        count = len(history.runs)
        for axis, title, percent in zip(axes, ("top-1 (%)", "ms/step (median, p10-p90)"), (True, False)):
            draw_trend(axis, trend.commits, chart_lines(trend, title), title, percent)
        axes[0].set_title(f"{history.suite} on {history.backend}: {count} run{'s' * (count != 1)}, by commit")
        if curves:
            _curve_panel(axes[2], curves, history.runs)
            axes[2].grid(True, alpha=0.3)

    try:
        save_png(draw, path, 3 if curves else 2)
    except OSError as exc:
        raise BenchError(f"--plot {path}: cannot write it ({exc.strerror})") from None
    return path


def _curve_panel(axis, curves: list[tuple[str, list[dict]]], runs) -> object:
    """Top-1 (%) against seconds of training (evaluation excluded), one line per run; the target as a dashed line."""
    for label, curve in curves:
        axis.plot([p["train_s"] for p in curve], [p["top1"] * 100 for p in curve], marker=".", label=label)
    targets = {(record["figures"].get("train") or {}).get("target_top1") for _, record in runs} - {None}
    for target in targets:
        axis.axhline(target * 100, linestyle="--", color="grey", linewidth=1)
    axis.set_xlabel("training time (s, evaluation excluded)")
    axis.set_ylabel("top-1 (%)")
    axis.legend(fontsize=6, loc="lower right")
    return axis

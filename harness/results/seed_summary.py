"""Seed summaries: the runs of one suite with consecutive seeds (`bench.py --repeat N`) in one file,
written and read here only: `<results>/seeds-<suite>-<backend>-<UTC stamp>.json`, "kind": "seed-summary".

It holds top-1's mean, standard deviation, min and max over the seeds; the time to target as MLPerf
Training scores it (of 5 runs drop the fastest and the slowest and average the other 3; a run that
did not reach the target counts as the slowest); ms/step; and, as `representative`, the record of the
run with the median ms/step (without its event log), which `check` compares speed and machine with.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.figures import headline
from googlenet_bench.harness.results.record import validate_record, write_json_atomic
from googlenet_bench.harness.results.shapes import (ANY_MAPPING, COUNT, NUMBER, TEXT, Fields, conformed, refuse_newer,
                                                    list_of, nullable)

KIND = "seed-summary"
FORMAT = 1
MLPERF_RUNS = 5

_STATS = Fields({"mean": NUMBER, "std": NUMBER, "min": NUMBER, "max": NUMBER, "values": list_of(NUMBER)},
                required=("mean", "std", "min", "max", "values"))
SUMMARY = Fields({"kind": TEXT, "format": COUNT, "suite": TEXT, "backend": TEXT, "seeds": list_of(COUNT),
                  "runs": list_of(TEXT), "top1": _STATS, "ms_per_step": ANY_MAPPING,
                  "time_to_target_s": ANY_MAPPING, "representative": ANY_MAPPING, "tolerances": nullable(ANY_MAPPING)},
                 required=("kind", "format", "suite", "backend", "seeds", "runs", "top1", "representative"),
                 expected="a seed summary (a JSON mapping)")


def is_summary(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == KIND


def _stats(values: list[float], digits: int = 6) -> dict:
    return {"mean": round(statistics.fmean(values), digits),
            "std": round(statistics.stdev(values), digits) if len(values) > 1 else 0.0,
            "min": round(min(values), digits), "max": round(max(values), digits),
            "values": [round(v, digits) for v in values]}


def mlperf_time_to_target(times: list[float | None]) -> dict:
    """MLPerf Training's score of 5 runs: drop the fastest and the slowest, average the rest (None:
    not reached, the slowest of all). Other run counts get no score, said in `note`."""
    result = {"values": times, "reached": sum(t is not None for t in times), "rule": (
        f"MLPerf: of {MLPERF_RUNS} runs drop the fastest and the slowest (a run that missed the target counts as "
        "the slowest) and average the other 3")}
    if len(times) != MLPERF_RUNS:
        return {**result, "score": None, "note": f"{len(times)} runs: MLPerf scores exactly {MLPERF_RUNS}"}
    ordered = sorted(times, key=lambda t: float("inf") if t is None else t)[1:-1]
    if any(t is None for t in ordered):
        return {**result, "score": None, "note": "2 or more runs missed the target: no score"}
    return {**result, "score": round(statistics.fmean(ordered), 2)}


def summarise(runs: list[tuple[str, dict]], seeds: list[int]) -> dict:
    """The summary of successful runs [(record path, record)] made with `seeds`; BenchError when one lacks top-1."""
    top1, ms = [], []
    for path, record in runs:
        figures = headline(record)
        if record.get("status") != "success" or figures.top1 is None or figures.ms_per_step is None:
            raise BenchError(f"{path} ended {record.get('status')!r} without top-1 and ms/step: a seed summary "
                             "needs every run to succeed with its train and eval phases")
        top1.append(figures.top1)
        ms.append(figures.ms_per_step)
    first = runs[0][1]
    ranked = sorted(range(len(runs)), key=lambda i: ms[i])
    middle = runs[ranked[(len(ranked) - 1) // 2]]
    representative = {key: value for key, value in middle[1].items() if key not in ("events", "tolerances")}
    return {"kind": KIND, "format": FORMAT, "suite": first["suite"], "backend": first["backend"], "seeds": seeds,
            "runs": [path for path, _ in runs], "started": first.get("started"),
            "top1": _stats(top1),
            "ms_per_step": {**_stats(ms, 2), "median": round(statistics.median(ms), 2)},
            "time_to_target_s": mlperf_time_to_target([headline(r).time_to_target_s for _, r in runs]),
            "representative_of": middle[0], "representative": representative}


def summary_line(summary: dict) -> str:
    top1, ms, target = summary["top1"], summary["ms_per_step"], summary["time_to_target_s"]
    seeds = summary["seeds"]
    score = f"{target['score']:.1f} s" if target.get("score") is not None else f"no score ({target.get('note')})"
    return (f"seed summary {summary['suite']} on {summary['backend']}, seeds {seeds[0]}..{seeds[-1]} "
            f"({len(seeds)} runs): top-1 mean {top1['mean'] * 100:.2f}%, std {top1['std'] * 100:.2f} pp, "
            f"min {top1['min'] * 100:.2f}%, max {top1['max'] * 100:.2f}%; time to target (MLPerf) {score}; "
            f"ms/step median {ms['median']:.2f} (min {ms['min']:.2f}, max {ms['max']:.2f})")


def write_summary(results_dir: Path, summary: dict) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return write_json_atomic(Path(results_dir) / f"seeds-{summary['suite']}-{summary['backend']}-{stamp}.json",
                             summary)


def validate_summary(document: Any, origin: str) -> dict:
    if not is_summary(document):
        raise BenchError(f"{origin} is not a seed summary (no \"kind\": \"{KIND}\")")
    refuse_newer(document.get("format"), FORMAT, origin, "seed-summary format")
    document = conformed(document, SUMMARY, origin)
    document["representative"] = validate_record(document["representative"], f"{origin}: representative")
    return document


def read_json(path: str | Path) -> Any:
    """A JSON file for the readers that take a record or a summary (check's --baseline)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path} not found: give a record or a seed summary file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BenchError(f"{path} cannot be read as JSON ({type(exc).__name__}): give a file bench.py wrote") from None

"""Comparison records: one JSON file per speed A/B sitting (`bench.py ab`), written and read here only.

`<results>/ab-<suite>-<backend>-<UTC stamp>.json`, with "kind": "ab-comparison" so readers of run
records (history, publish) can tell it from a run's record and show it in its own place.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.record import cpu_model, write_json_atomic
from googlenet_bench.harness.results.shapes import (COUNT, NUMBER, TEXT, Fields, conformed, refuse_newer, list_of,
                                                    nullable)

KIND = "ab-comparison"
FORMAT = 1
VERDICTS = ("slower", "faster", "no change", "inconclusive (noise)")

_RUN = Fields({"side": TEXT, "ms_per_step": NUMBER, "timed_epochs": nullable(COUNT), "stability": nullable(TEXT),
               "other_cores_max": nullable(NUMBER)}, required=("side", "ms_per_step"))
COMPARISON = Fields({
    "kind": TEXT, "format": COUNT, "suite": TEXT, "backend": TEXT, "started": TEXT, "cpu_model": TEXT,
    "base": Fields({"rev": TEXT, "commit": TEXT}, required=("rev", "commit")),
    "new": Fields({"commit": nullable(TEXT)}), "runs": list_of(_RUN), "ratio": NUMBER, "ci": list_of(NUMBER),
    "verdict": TEXT, "wall_s": NUMBER,
    "median": Fields({"ratio": NUMBER, "ci": list_of(NUMBER), "verdict": TEXT}, required=("ratio", "ci", "verdict")),
}, required=("kind", "format", "suite", "backend", "base", "runs", "ratio", "ci", "verdict"),
   expected="an A/B comparison record (a JSON mapping)")


def is_comparison(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == KIND


def write_comparison(results_dir: Path, sitting: dict) -> Path:
    record = {"kind": KIND, "format": FORMAT, "cpu_model": cpu_model(), **sitting}
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return write_json_atomic(Path(results_dir) / f"ab-{sitting['suite']}-{sitting['backend']}-{stamp}.json",
                             validate_comparison(record, "the new comparison"))


def validate_comparison(document: Any, origin: str) -> dict:
    if not is_comparison(document):
        raise BenchError(f"{origin} is not an A/B comparison record (no \"kind\": \"{KIND}\")")
    refuse_newer(document.get("format"), FORMAT, origin, "comparison format")
    document = conformed(document, COMPARISON, origin)
    if document["verdict"] not in VERDICTS or len(document["ci"]) != 2:
        raise BenchError(f"{origin} is malformed: verdict must be one of {', '.join(VERDICTS)} with a 2-value ci")
    return document


def read_comparison(path: str | Path) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchError(f"comparison record {path} cannot be read ({exc}): give a file `bench.py ab` wrote") from None
    return validate_comparison(document, f"comparison record {path}")


def summary_line(comparison: dict) -> str:
    """One line: the verdict, the ratio with its interval, and what was compared."""
    runs = comparison["runs"]
    counts = {side: sum(1 for run in runs if run["side"] == side) for side in ("base", "new")}
    low, high = comparison["ci"]
    dirty = " (uncommitted changes)" if comparison["new"].get("dirty") else ""
    new = (comparison["new"].get("commit") or "the current tree")[:12] + dirty
    return (f"speed A/B {comparison['suite']} on {comparison['backend']}: new {new} x{comparison['ratio']:.3f} "
            f"of base {comparison['base']['rev']} ({comparison['base']['commit'][:12]}), "
            f"{comparison.get('confidence', 0.95):.0%} interval x{low:.3f}..x{high:.3f}, "
            f"{counts['base']}+{counts['new']} runs alternated, on {comparison.get('figure', 'wall ms/step')}: "
            f"{comparison['verdict']}")


def median_line(comparison: dict) -> str:
    """The sides' medians compared, for information (the verdict is on the fastest runs); older records
    decided on the medians and have no separate figure."""
    median = comparison.get("median")
    if not median:
        return "  (this comparison's verdict is on the sides' medians)"
    low, high = median["ci"]
    return f"  medians: x{median['ratio']:.3f}, interval x{low:.3f}..x{high:.3f} ({median['verdict']}; not the verdict)"


def run_lines(comparison: dict) -> list[str]:
    """One line per timed run, in the order they ran."""
    return [f"  run {n:2d} {run['side']:<4} {run['ms_per_step']:8.2f} ms/step, {run.get('timed_epochs')} timed epochs, "
            f"{run.get('stability') or 'unknown'}"
            + (f", other processes up to {run['other_cores_max']:.2f} cores" if run.get("other_cores_max") is not None
               else "") for n, run in enumerate(comparison["runs"], 1)]

"""Does the speed gate work on this noisy machine? A sitting that makes a baseline from 3 runs, then
alternates unchanged runs with runs slowed by the testing knob (GOOGLENET_BENCH_EXTRA_WORK: real
compute on the same kernels inside each timed step), each checked as `.ci/run` checks:

    .venv/bin/python tests/benchmarks/speed_gate.py --rounds 10 --extra-work 0.55 --out /tmp/gate-sitting \
        --per-hold 100 --set epochs=6 --set eval_every_epochs=null --set target_top1=null --set min_top1=null

The script takes the shared lock (/tmp/gb-train.lock) for --per-hold runs at a time, so other
people's work can run between groups of runs. --set passes suite overrides to every run, the
baseline's included. Prints one line per run with what `bench.py check --speed` said under
CI=true, then, for each candidate speed figure, its spread across the unchanged runs (relative to
the baseline) and how many runs it would call a regression at --tolerance, then a Markdown table
of the runs and the counts of `check`'s verdicts (regression, inconclusive, ok). `--rescore`
checks an earlier sitting's records again with this tree's code, running nothing. Run it from a
copy of the tree that nobody edits during the sitting. About 2 minutes per run on a quiet machine.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCK = "/tmp/gb-train.lock"
PHASES = "train,eval"  # what the gate reads; export and infer add time and nothing to it


class Lock:
    """The shared training lock, held for `per_hold` runs at a time."""

    def __init__(self, per_hold: int):
        self.per_hold, self.runs, self.handle = per_hold, 0, None

    def before_run(self) -> None:
        if self.handle is not None and self.runs % self.per_hold == 0:
            self.handle.close()  # let others in
            self.handle = None
        if self.handle is None:
            self.handle = open(LOCK, "a")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.runs += 1


def bench_run(results: Path, extra_work: float, overrides: list[str], lock: Lock) -> dict:
    env = {**os.environ, "GOOGLENET_BENCH_EXTRA_WORK": str(extra_work) if extra_work else ""}
    results.mkdir(parents=True, exist_ok=True)
    before = set(results.glob("*.json"))
    lock.before_run()
    sets = [arg for override in overrides for arg in ("--set", override)]
    done = subprocess.run([sys.executable, "bench.py", "--phases", PHASES, "--results", str(results), *sets],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench.py failed: {done.stderr.strip().splitlines()[-1:]}")
    (record,) = set(results.glob("*.json")) - before
    return {"path": record, "record": json.loads(record.read_text())}


def gate(record: Path, baseline: Path) -> tuple[str, str]:
    """What `bench.py check --speed` says under CI: ("REGRESSION" | "inconclusive" | "ok", its speed line)."""
    done = subprocess.run([sys.executable, "bench.py", "check", str(record), "--baseline", str(baseline), "--speed"],
                          cwd=PROJECT_ROOT, env={**os.environ, "CI": "true"}, capture_output=True, text=True)
    if done.returncode == 2:
        raise SystemExit(f"bench.py check: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    line = next((l for l in lines if l.startswith(("REGRESSION ms/step", "ok ms/step", "speed: inconclusive",
                                                   "speed: not gated"))), done.stdout.strip())
    verdict = "REGRESSION" if done.returncode == 1 else "inconclusive" if "inconclusive" in line else "ok"
    return verdict, line.strip()


def _timed_windows(train: dict) -> list[list[float]]:
    windows = train["calibration"]["windows"]
    first = windows[0][0]
    return [w for w in windows if w[0] != first] or windows


def _median_of_window_ratios(train: dict) -> float:
    return statistics.median(step / ref for _, step, ref in _timed_windows(train))


def _mean_over_mean(train: dict) -> float:
    windows = _timed_windows(train)
    return sum(step for _, step, _ in windows) / sum(ref for _, _, ref in windows)


# Candidate speed figures, each read from a record's figures.train; a run is slower by new/baseline.
CANDIDATES = {
    "raw median ms/step": lambda t: t["ms_per_step_median"],
    "raw fastest epoch ms/step": lambda t: t["ms_per_step_min"],
    "normalised, median step over median reference (gated)": lambda t: t["normalised_step"],
    "normalised, median of per-window ratios": _median_of_window_ratios,
    "normalised, mean step over mean reference": _mean_over_mean,
    "own CPU ms per step (fastest epoch)": lambda t: t["cpu_ms_per_step_min"],
}


def _has(figure, train: dict) -> bool:
    try:
        return figure(train) is not None
    except (KeyError, IndexError, TypeError):
        return False


def spread_line(name: str, values: list[float]) -> str:
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 else 0.0
    return (f"{name}: min {min(values):.3f}, median {statistics.median(values):.3f}, max {max(values):.3f}; "
            f"max/min {max(values) / min(values):.3f}, CV {cv:.1%}")


def rates(rows: list[dict], base: dict, tolerance: float) -> list[str]:
    """Per candidate figure: spread across unchanged runs, false regressions, slowdowns caught."""
    lines = []
    for name, figure in CANDIDATES.items():
        if not all(_has(figure, r["train"]) for r in rows) or not _has(figure, base):
            continue
        unchanged = [figure(r["train"]) / figure(base) for r in rows if not r["extra"]]
        slowed = [figure(r["train"]) / figure(base) for r in rows if r["extra"]]
        lines.append(spread_line(f"{name}, unchanged/baseline", unchanged))
        lines.append(f"  at tolerance x{tolerance}: false regressions {sum(v > tolerance for v in unchanged)} of "
                     f"{len(unchanged)}, slowdowns caught {sum(v > tolerance for v in slowed)} of {len(slowed)}; "
                     f"median slowed/unchanged x{statistics.median(slowed) / statistics.median(unchanged):.3f}")
    return lines


def make_baseline(out: Path, paths: list[Path]) -> Path:
    baseline = out / "baseline.json"
    done = subprocess.run([sys.executable, "bench.py", "baseline", *map(str, paths), "--to", str(baseline),
                           "--max-slowdown", "1.12"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench.py baseline: {done.stderr.strip()}")
    return baseline


def row(path: Path, record: dict, extra: float, baseline: Path) -> dict:
    verdict, line = gate(path, baseline)
    return {"extra": extra, "path": str(path), "started": record["started"], "train": record["figures"]["train"],
            "verdict": verdict, "check": line}


def sitting(args) -> list[dict]:
    lock = Lock(args.per_hold)
    firsts = [bench_run(args.out / "baseline-runs", 0, args.overrides, lock) for _ in range(args.baseline_runs)]
    for first in firsts:
        train = first["record"]["figures"]["train"]
        print(f"{time.strftime('%H:%M:%S')} baseline run: ms/step {train['ms_per_step_median']:8.2f}  "
              f"reference {train['calibration']['ms_median']:6.2f} ms", flush=True)
    baseline = make_baseline(args.out, [first["path"] for first in firsts])
    rows = []
    for round_ in range(args.rounds):
        variants = (0.0, args.extra_work) if round_ % 2 == 0 else (args.extra_work, 0.0)
        for extra in variants:
            run = bench_run(args.out / ("slowed" if extra else "unchanged"), extra, args.overrides, lock)
            rows.append(row(run["path"], run["record"], extra, baseline))
            train = run["record"]["figures"]["train"]
            print(f"{time.strftime('%H:%M:%S')} round {round_ + 1} {'slowed   ' if extra else 'unchanged'} "
                  f"ms/step {train['ms_per_step_median']:8.2f}  reference {train['calibration']['ms_median']:6.2f} ms"
                  f"  check: {rows[-1]['check']}", flush=True)
    return rows


def rescore(out: Path) -> list[dict]:
    """The records of an earlier sitting in `out`, checked again by this tree's `bench.py baseline` and
    `check`: the slowed ones are told apart by GOOGLENET_BENCH_EXTRA_WORK in their directory name."""
    (out / "baseline.json").unlink(missing_ok=True)  # made afresh, with this tree's rules and tolerances
    baseline = make_baseline(out, sorted((out / "baseline-runs").glob("*.json")))
    rows = []
    for kind in ("unchanged", "slowed"):
        for path in sorted((out / kind).glob("*.json")):
            rows.append(row(path, json.loads(path.read_text()), float(kind == "slowed"), baseline))
    return sorted(rows, key=lambda r: r["started"])


def table(rows: list[dict], base: dict) -> str:
    """A Markdown table: each run's ms/step, drift reference and other processes' load against the
    baseline's, and what `check --speed` said."""
    bt = base["figures"]["train"]
    lines = ["| start (UTC) | run | ms/step | x baseline | reference ms | x baseline | other cores | check |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        t = r["train"]
        others = statistics.median(load["other_cores"] for load in t["other_load_per_epoch"][1:])
        lines.append(f"| {r['started'][11:16]} | {'slowed' if r['extra'] else 'unchanged'} | "
                     f"{t['ms_per_step_median']:.1f} | {t['ms_per_step_median'] / bt['ms_per_step_median']:.3f} | "
                     f"{t['calibration']['ms_median']:.1f} | "
                     f"{t['calibration']['ms_median'] / bt['calibration']['ms_median']:.2f} | {others:.2f} | "
                     f"{r['verdict']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--extra-work", type=float, default=0.55,
                        help="calibration workloads added per step (0.55: about +25%% on a quiet machine)")
    parser.add_argument("--tolerance", type=float, default=1.12, help="slowdown a candidate figure may show")
    parser.add_argument("--out", type=Path, default=Path("/tmp/googlenet-bench-gate-sitting"))
    parser.add_argument("--per-hold", type=int, default=3, help="runs per hold of the shared lock")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs the baseline is the median of")
    parser.add_argument("--rescore", action="store_true",
                        help="run nothing: check an earlier sitting's records in --out again with this tree's code")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.rescore:
        rows = rescore(args.out)
    else:
        rows = sitting(args)
    base = json.loads((args.out / "baseline.json").read_text())
    (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    for line in rates(rows, base["figures"]["train"], args.tolerance):
        print(line)
    print(table(rows, base))
    for kind, extra in (("unchanged", False), ("slowed", True)):
        runs = [r for r in rows if bool(r["extra"]) == extra]
        counts = {v: sum(r["verdict"] == v for r in runs) for v in ("REGRESSION", "inconclusive", "ok")}
        print(f"check --speed (CI=true), {kind} runs: {len(runs)}; regression {counts['REGRESSION']}, "
              f"inconclusive {counts['inconclusive']}, ok {counts['ok']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

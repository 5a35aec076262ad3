"""Does the speed gate work on this noisy machine? A sitting of the default suite, alternating
unchanged runs with runs slowed by the testing knob (GOOGLENET_BENCH_EXTRA_WORK, real compute on
the same kernels inside each timed epoch), each checked against one baseline made at the start:

    .venv/bin/python tests/benchmarks/speed_gate.py --rounds 10 --extra-work 0.4 --out /tmp/gate-sitting \
        --set epochs=4 --set eval_every_epochs=null --set target_top1=null --set min_top1=null

The script takes the shared lock (/tmp/gb-train.lock) for --per-hold runs at a time, so other
people's work runs between groups of runs, as on a shared CI machine. --set passes suite
overrides to every run, the baseline's included. Prints one line per run (with what
`bench.py check --speed` said under CI=true), then, for each candidate speed figure: its spread
across the unchanged runs (relative to the baseline), how many unchanged runs it would call a
regression at --tolerance, and how many slowed runs it would catch. Run it from a copy of the
tree that nobody edits during the sitting. About 1 minute per run on a quiet machine.
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


def gate(record: Path, baseline: Path) -> tuple[bool, str]:
    """What `bench.py check` says under CI: (a regression?, its speed line)."""
    done = subprocess.run([sys.executable, "bench.py", "check", str(record), "--baseline", str(baseline), "--speed"],
                          cwd=PROJECT_ROOT, env={**os.environ, "CI": "true"}, capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if "top-1" not in l and ("baseline" in l or "speed" in l)),
                done.stdout.strip())
    return done.returncode == 1, line.strip()


# Candidate speed figures, each read from a record's figures.train; a run is slower by new/baseline.
CANDIDATES = {
    "raw median ms/step": lambda t: t["ms_per_step_median"],
    "raw fastest epoch ms/step": lambda t: t["ms_per_step_min"],
    "normalised, fastest epoch over fastest reference":
        lambda t: t.get("normalised_step_fastest", t["normalised_step"]),
    "normalised, each epoch over its own reference (median; gated)":
        lambda t: statistics.median(t["normalised_step_per_epoch"][1:]),
    "own CPU ms per step (fastest epoch)": lambda t: t["cpu_ms_per_step_min"],
}


def spread_line(name: str, values: list[float]) -> str:
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 else 0.0
    return (f"{name}: min {min(values):.3f}, median {statistics.median(values):.3f}, max {max(values):.3f}; "
            f"max/min {max(values) / min(values):.3f}, CV {cv:.1%}")


def rates(rows: list[dict], base: dict, tolerance: float) -> list[str]:
    """Per candidate figure: spread across unchanged runs, false regressions, slowdowns caught."""
    lines = []
    for name, figure in CANDIDATES.items():
        unchanged = [figure(r["train"]) / figure(base) for r in rows if not r["extra"]]
        slowed = [figure(r["train"]) / figure(base) for r in rows if r["extra"]]
        lines.append(spread_line(f"{name}, unchanged/baseline", unchanged))
        lines.append(f"  at tolerance x{tolerance}: false regressions {sum(v > tolerance for v in unchanged)} of "
                     f"{len(unchanged)}, slowdowns caught {sum(v > tolerance for v in slowed)} of {len(slowed)}; "
                     f"median slowed/unchanged x{statistics.median(slowed) / statistics.median(unchanged):.3f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--extra-work", type=float, default=0.4,
                        help="calibration workloads added per step (0.4: about +30% on a quiet machine)")
    parser.add_argument("--tolerance", type=float, default=1.12, help="slowdown a candidate figure may show")
    parser.add_argument("--out", type=Path, default=Path("/tmp/googlenet-bench-gate-sitting"))
    parser.add_argument("--per-hold", type=int, default=3, help="runs per hold of the shared lock")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    lock = Lock(args.per_hold)
    baseline = args.out / "baseline.json"
    first = bench_run(args.out / "baseline-run", 0, args.overrides, lock)
    subprocess.run([sys.executable, "bench.py", "baseline", str(first["path"]), "--to", str(baseline)],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    rows = []
    for round_ in range(args.rounds):
        variants = (0.0, args.extra_work) if round_ % 2 == 0 else (args.extra_work, 0.0)
        for extra in variants:
            run = bench_run(args.out / ("slowed" if extra else "unchanged"), extra, args.overrides, lock)
            train = run["record"]["figures"]["train"]
            regressed, line = gate(run["path"], baseline)
            others = max(load["other_cores"] for load in train["other_load_per_epoch"][1:] or [{"other_cores": 0}])
            rows.append({"extra": extra, "path": str(run["path"]), "train": train, "regressed": regressed})
            print(f"{time.strftime('%H:%M:%S')} round {round_ + 1} {'slowed   ' if extra else 'unchanged'} "
                  f"ms/step {train['ms_per_step_median']:8.2f} (fastest {train['ms_per_step_min']:8.2f})  "
                  f"reference {train['calibration']['ms_min']:6.2f} ms  normalised {train['normalised_step']:.3f}  "
                  f"(others up to {others:.2f} cores)  check: {line}", flush=True)
    (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    for line in rates(rows, first["record"]["figures"]["train"], args.tolerance):
        print(line)
    unchanged = [r for r in rows if not r["extra"]]
    slowed = [r for r in rows if r["extra"]]
    print(f"check (CI=true): false regressions {sum(r['regressed'] for r in unchanged)} of {len(unchanged)} "
          f"unchanged runs; slowdowns caught {sum(r['regressed'] for r in slowed)} of {len(slowed)} slowed runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

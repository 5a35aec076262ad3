"""How often does `bench.py ab` (CI's speed gate) raise a false alarm on unchanged code, and how often
does it catch a commit that adds the testing knob (GOOGLENET_BENCH_EXTRA_WORK's default set to
--knob calibration workloads per step)? Alternates the two kinds of sitting, as CI runs them:

    .venv/bin/python tests/benchmarks/ab_rates.py --pairs 10 --knob 0.18 --out /tmp/ab-rates

It clones this checkout's HEAD twice into --out: `unchanged` (ab --base HEAD: the same code both sides)
and `knob` (one commit on top that sets the knob's default: ab --base HEAD^1), and runs each clone's own
bench.py with this interpreter. The shared training lock (/work/locks/train.lock, --lock) is taken for one
sitting at a time, so others can train between sittings. Prints one line per sitting, then the counts
and the sittings' wall times; the comparison records stay in --out/records. Each line gives the verdict
the sitting printed, on the figure that decided it, and the one this tree's `bench.py ab` rule gives the same
runs (`rule now`: it differs for records made before the rule changed). `--rescore` prints the lines and
counts of finished sittings' records again, running nothing.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
from collections import Counter
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KNOB_FILE = "harness/measure/machine_profile.py"
KNOB_LINE = 'text = environ.get(EXTRA_WORK_ENV, "").strip()'


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=ab-rates", "-c", "user.email=ab@rates", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def clone(out: Path, name: str, knob: float | None) -> Path:
    tree = out / name
    if not tree.exists():
        git(out, "clone", "-q", str(PROJECT_ROOT), name)
        if knob is not None:
            path = tree / KNOB_FILE
            text = path.read_text()
            assert KNOB_LINE in text, f"{KNOB_FILE} no longer has {KNOB_LINE!r}"
            path.write_text(text.replace(KNOB_LINE, KNOB_LINE.replace('""', f'"{knob}"')))
            git(tree, "commit", "-qam", f"testing knob: {knob} calibration workloads per step by default")
    shim = out / f"path-{name}"
    shim.mkdir(exist_ok=True)
    if not (shim / "googlenet_bench").exists():
        (shim / "googlenet_bench").symlink_to(tree, target_is_directory=True)
    return tree


def sitting(tree: Path, base: str, records: Path, lock: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree.parent / f"path-{tree.name}"), "CI": "true"}
    env.pop("GOOGLENET_BENCH_EXTRA_WORK", None)
    before = set(records.glob("ab-*.json"))
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = subprocess.run([sys.executable, "bench.py", "ab", "--base", base, "--results", str(records)],
                              cwd=tree, env=env, capture_output=True, text=True)
    new = sorted(set(records.glob("ab-*.json")) - before)
    if len(new) != 1:
        raise SystemExit(f"ab in {tree} wrote no record (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    record = json.loads(new[0].read_text())
    record["exit"] = done.returncode
    return record


def short(record: dict) -> str:
    if record.get("median"):
        return "fastest runs"
    return record.get("figure") or "median wall ms/step"  # records from before the rule changed


def rule_now(record: dict) -> dict:
    from googlenet_bench.harness.measure.ab import decide

    return decide(record["runs"])


def line(name: str, number: int, record: dict) -> str:
    now = rule_now(record)
    return (f"{name:<9} #{number:2d} {record['verdict']:<22} on {short(record)}: x{record['ratio']:.3f} "
            f"[{record['ci'][0]:.3f}, {record['ci'][1]:.3f}], {len(record['runs'])} runs, {record['wall_s']:.0f} s; "
            f"rule now: {now['verdict']} x{now['ratio']:.3f}")


def counts(seen: dict) -> None:
    for name, sittings in seen.items():
        if not sittings:
            continue
        walls = [s["wall_s"] for s in sittings]
        now = Counter(rule_now(s)["verdict"] for s in sittings)
        print(f"{name}: " + ", ".join(f"{v} {n}" for v, n in sorted(Counter(s["verdict"] for s in sittings).items()))
              + f" (rule now: {', '.join(f'{v} {n}' for v, n in sorted(now.items()))}); of {len(sittings)} sittings; "
              f"median ratio x{statistics.median(s['ratio'] for s in sittings):.3f}; wall s median "
              f"{statistics.median(walls):.0f}, max {max(walls):.0f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--knob", type=float, default=0.18)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lock", default="/work/locks/train.lock")
    parser.add_argument("--rescore", action="store_true")
    args = parser.parse_args()
    if args.rescore:
        seen = {"unchanged": [], "knob": []}
        for path in sorted((args.out / "records").glob("ab-*.json")):
            record = json.loads(path.read_text())
            name = "knob" if "/knob" in record["new"]["tree"] else "unchanged"
            seen[name].append(record)
            print(line(name, len(seen[name]), record))
        counts(seen)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    records = args.out / "records"
    records.mkdir(exist_ok=True)
    trees = {"unchanged": (clone(args.out, "unchanged", None), "HEAD"),
             "knob": (clone(args.out, "knob", args.knob), "HEAD^1")}
    seen = {name: [] for name in trees}
    for pair in range(args.pairs):
        for name, (tree, base) in (trees.items() if pair % 2 == 0 else reversed(trees.items())):
            record = sitting(tree, base, records, args.lock)
            seen[name].append(record)
            print(line(name, len(seen[name]), record), flush=True)
    counts(seen)
    return 0


if __name__ == "__main__":
    sys.exit(main())

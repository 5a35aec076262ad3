"""`bench.py --repeat N [run options]`: the run N times with consecutive seeds, one after another, each
a real run in its own process with its own record, then a seed summary (googlenet_bench.harness.results.seed_summary)."""
from __future__ import annotations

import subprocess
import sys

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.lifecycle.options import RunOptions


def seeds_of(args) -> list[int]:
    """The suite's seed (after --set) and the N-1 after it; refused before anything runs."""
    from googlenet_bench.harness.suites import load_suite

    if args.resume:
        raise BenchError("--repeat starts new runs: it cannot --resume one; leave out one of them")
    if any(override.split("=", 1)[0].strip() == "seed" for override in args.overrides):
        raise BenchError("--repeat sets the seed of each run (the suite's seed, then +1, +2, ...): "
                         "drop --set seed=..., or change the suite's seed")
    first = load_suite(args.suite or RunOptions.suite, list(args.overrides))["seed"]
    return list(range(first, first + args.repeat))


def one_run(argv: list[str], seed: int) -> tuple[int, str | None]:
    """(exit code, the record it names), its output passed through as it comes."""
    command = [sys.executable, "-m", "googlenet_bench", *argv, "--repeat", "1", "--set", f"seed={seed}"]
    record = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1) as child:
        for line in child.stdout:
            sys.stdout.write(line)
            if line.startswith("record: "):
                record = line.removeprefix("record: ").strip()
    return child.returncode, record


def run_repeated(argv: list[str], args) -> int:
    from pathlib import Path

    from googlenet_bench.harness.results.record import read_record
    from googlenet_bench.harness.results.seed_summary import summarise, summary_line, write_summary

    seeds = seeds_of(args)
    runs = []
    for index, seed in enumerate(seeds, 1):
        print(f"--repeat: run {index} of {len(seeds)}, seed {seed}", file=sys.stderr, flush=True)
        code, record = one_run(argv, seed)
        if code != 0 or record is None:
            done = f"; the records so far: {', '.join(path for path, _ in runs)}" if runs else ""
            print(f"--repeat: run {index} (seed {seed}) did not succeed (exit {code}): no summary{done}",
                  file=sys.stderr)
            return code or 1
        runs.append((record, read_record(record)))
    summary = summarise(runs, seeds)
    path = write_summary(Path(args.results), summary)
    print(summary_line(summary))
    print(f"seed summary: {path}")
    return 0

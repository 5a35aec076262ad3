"""Simulated A/B sittings, to choose `bench.py ab`'s rounds and threshold for a host before spending hours
of real sittings on them. It replays the run-to-run jumps of real comparison records:

    .venv/bin/python tests/benchmarks/ab_simulate.py /tmp/ab-rates3/records /tmp/ab-rates4/records

Each record's runs are divided by its fastest run (a knob sitting's new side first by --effect); a run over
x1.08 of that is "slowed". A two-state chain (slowed or not, with the measured chance of each after each)
draws the runs of a simulated sitting, each from the measured ratios of its state. The sitting then goes as
`bench.py ab` goes: ABBA rounds, `ab_verdict` on the sides' --statistic after --rounds and each further
round up to --max-rounds. Prints the false alarms over --sittings unchanged sittings and the catches of an
--effect slowdown (and the unchanged sittings called faster). A guide only: the measured rates (tests/benchmarks/ab_rates.py) are the evidence.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from googlenet_bench.harness.measure import timing

SLOWED = 1.08  # a run over this times its sitting's fastest counts as slowed
ORDER = ("base", "new", "new", "base")


def measured(directories: list[Path], effect: float) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """The fast and slowed runs' ratios to their sitting's fastest, the share slowed, and the chance of a
    slowed run after a slowed one and after a fast one."""
    fast, slowed, after = [], [], {(a, b): 0 for a in (0, 1) for b in (0, 1)}
    for directory in directories:
        for path in sorted(directory.glob("ab-*.json")):
            record = json.loads(path.read_text())
            knob = "/knob" in str(record["new"].get("tree", ""))
            times = [run["ms_per_step"] / (effect if knob and run["side"] == "new" else 1.0) for run in record["runs"]]
            states = [int(t > SLOWED * min(times)) for t in times]
            for t, state in zip(times, states):
                (slowed if state else fast).append(t / min(times))
            for pair in zip(states, states[1:]):
                after[pair] += 1
    share = len(slowed) / (len(fast) + len(slowed))
    return (np.array(fast), np.array(slowed), share, after[1, 1] / (after[1, 1] + after[1, 0]),
            after[0, 1] / (after[0, 1] + after[0, 0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("records", nargs="+", type=Path, help="folders of comparison records (ab_rates.py --out/records)")
    parser.add_argument("--effect", type=float, default=1.075, help="the knob's measured slowdown; default x1.075")
    parser.add_argument("--statistic", choices=sorted(timing.AB_STATISTICS), default="min")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-rounds", type=int, default=4)
    parser.add_argument("--min-effect", type=float, default=timing.AB_MIN_EFFECT)
    parser.add_argument("--sittings", type=int, default=400)
    args = parser.parse_args()
    fast, slowed, share, slowed_after_slowed, slowed_after_fast = measured(args.records, args.effect)
    print(f"{len(fast) + len(slowed)} runs: {share:.0%} slowed; a slowed run after a slowed one {slowed_after_slowed:.2f}, "
          f"after a fast one {slowed_after_fast:.2f}")
    rng = np.random.default_rng(1)

    def sitting(effect: float) -> str:
        state, times = rng.random() < share, []
        for _ in range(len(ORDER) * args.max_rounds):
            times.append(rng.choice(slowed if state else fast))
            state = rng.random() < (slowed_after_slowed if state else slowed_after_fast)
        for rounds in range(args.rounds, args.max_rounds + 1):
            runs = list(zip(ORDER * rounds, times))
            base = [t for side, t in runs if side == "base"]
            new = [t * effect for side, t in runs if side == "new"]
            verdict = timing.ab_verdict(base, new, args.statistic, args.min_effect, resamples=1000)["verdict"]
            if verdict != "inconclusive (noise)":
                break
        return verdict

    unchanged = [sitting(1.0) for _ in range(args.sittings)]
    catches = sum(sitting(args.effect) == "slower" for _ in range(args.sittings))
    print(f"{args.statistic}, rounds {args.rounds}-{args.max_rounds}, min effect {args.min_effect:.0%}: of "
          f"{args.sittings} unchanged sittings {unchanged.count('slower')} slower (false alarms) and "
          f"{unchanged.count('faster')} faster; catches of x{args.effect}: {catches} of {args.sittings}")


if __name__ == "__main__":
    main()

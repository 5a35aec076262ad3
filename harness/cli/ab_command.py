"""`bench.py ab --base REV`: parsing and printing of the speed A/B (the work: googlenet_bench.harness.measure.ab)."""
from __future__ import annotations

import sys
from pathlib import Path

from googlenet_bench.harness.cli.arguments import OneLineParser, non_empty, whole_number


def main(argv: list[str]) -> int:
    from googlenet_bench.harness import interrupts
    from googlenet_bench.harness.measure.ab import ORDER, SHORT_RUN, Sitting, run_sitting
    from googlenet_bench.harness.results.comparison import median_line, summary_line, write_comparison

    parser = OneLineParser(prog="bench.py ab", description=(
        "Time the code at a base revision against the current code on this machine, now: short runs "
        f"({', '.join(SHORT_RUN)}, train only), each in its own process, alternated ABBA "
        f"({', '.join(ORDER)}) per round. Prints new/base of the sides' fastest runs' ms/step with a 95%% interval and a "
        "verdict (the medians' ratio too); exit 1 when slower, 0 otherwise. It trains: run nothing else meanwhile."))
    parser.add_argument("--base", required=True, type=non_empty, metavar="REV",
                        help="the revision to compare with: a commit, branch or tag, e.g. HEAD^1")
    parser.add_argument("--suite", default="digits", type=non_empty, help="suite name or .yaml path; default digits")
    parser.add_argument("--backend", default="cpu", type=non_empty, help="backend plugin; default cpu")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a suite override for both sides' runs, e.g. --set batch_size=32")
    parser.add_argument("--rounds", type=whole_number(1, 20), default=3,
                        help="ABBA rounds before the first verdict; default 3 (12 runs)")
    parser.add_argument("--max-rounds", type=whole_number(1, 20), default=4,
                        help="while the verdict is 'inconclusive (noise)', add rounds up to this; default 4 (CI: worst case 16 runs)")
    parser.add_argument("--results", default="results", type=non_empty,
                        help="where the comparison record goes; default results/")
    args = parser.parse_args(argv)
    sitting = Sitting(args.base, args.suite, args.backend, tuple(args.overrides), args.rounds,
                      max(args.rounds, args.max_rounds))
    try:
        comparison = run_sitting(sitting)
    except KeyboardInterrupt:  # SIGINT or SIGTERM: the runs so far are stopped and removed
        print(f"ab: stopped by {interrupts.signal_name(interrupts.received())}; no comparison written",
              file=sys.stderr)
        return interrupts.exit_code()
    path = write_comparison(Path(args.results), comparison)
    print(summary_line(comparison))
    print(median_line(comparison))
    print(f"comparison record: {path}")
    unsteady = [run for run in comparison["runs"] if run.get("stability") == "unstable"]
    if unsteady:
        print(f"note: {len(unsteady)} of {len(comparison['runs'])} runs were unstable (their timed epochs spread over 10%)",
              file=sys.stderr)
    return 1 if comparison["verdict"] == "slower" else 0

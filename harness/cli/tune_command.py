"""`bench.py tune`: parsing and printing (the work: googlenet_bench.harness.tuning.tune)."""
from __future__ import annotations

import sys

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.cli.arguments import add_grace, command_parser
from googlenet_bench.harness.errors import BenchError


def main(argv: list[str]) -> int:
    from googlenet_bench.harness.measure.machine_profile import profile_path, write_profile
    from googlenet_bench.harness.plugins import Backends
    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.tuning.tune import gain_line, tune

    parser = command_parser("tune", "Measure, one process per candidate, the settings that change speed without changing "
                             "the recipe, and write this machine's profile, which later runs apply.")
    parser.add_argument("--backend", default="cpu", help="backend to train with; default cpu")
    parser.add_argument("--suite", default="digits", help="suite whose network and data are timed; default digits")
    parser.add_argument("--steps", type=int, default=8, help="steps per timed epoch (2 timed epochs); default 8")
    parser.add_argument("--data", help="the suite's data directory, for a suite that reads one (e.g. cifar10-full)")
    add_grace(parser)
    args = parser.parse_args(argv)
    interrupts.set_grace(args.grace)
    if args.steps < 1:
        raise BenchError(f"--steps must be at least 1, got {args.steps}")
    config = load_suite(args.suite)
    if args.data is not None:
        config["data"] = args.data
    Backends().select(args.backend).require_available()
    from googlenet_bench.datasets import validate_data

    validate_data(config, splits=("train",), world_size=1)  # a suite that needs data: found now, not in a worker
    path = profile_path()
    print(f"tuning {args.backend} on {args.suite}, one process per candidate (a few minutes)", file=sys.stderr)
    settings, measurements, against_untuned, stages = tune(args.backend, args.suite, args.steps, data=args.data)
    write_profile(path, settings, measurements, args.backend, args.suite, against_untuned, stages)
    print(f"profile {path}: isa={settings['isa']} threads={settings['threads'] or 'default'} "
          f"workers={settings['workers'] or 'default'}; {gain_line(against_untuned)}")
    return 0

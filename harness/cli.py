"""The command line: `bench.py [run options]` or `bench.py COMMAND ...`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import BenchError, RunFailed

COMMANDS = {}


def command(name: str, help_text: str):
    def register(fn):
        COMMANDS[name] = (fn, help_text)
        return fn
    return register


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench.py",
        description="Run a GoogleNet suite end to end: set-up, data, train, eval, export, infer, record.",
        epilog="commands: " + "; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items())
               + ". Use `bench.py COMMAND -h` for each.")
    parser.add_argument("--suite", default="digits", help="suite name (bench.py suites) or a .yaml path; default digits")
    parser.add_argument("--backend", default="cpu", help="backend plugin (bench.py backends); default cpu")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a suite key, e.g. --set epochs=1 --set train_samples=512")
    parser.add_argument("--data", help="data directory (CIFAR-10 binary folder, ImageNet root with train/ and val/)")
    parser.add_argument("--phases", help="comma-separated subset of setup,data,train,eval,export,infer,record")
    parser.add_argument("--checkpoint", help="weights to start from when train is not among the phases")
    parser.add_argument("--model", dest="models", action="append", default=[],
                        help="an exported .mindir/.onnx file to infer from (repeatable)")
    parser.add_argument("--results", default="results", help="results directory; default results/")
    return parser


def cmd_run(argv: list[str]) -> int:
    from harness.report import run_summary, zoo_table
    from harness.record import read_record
    from harness.runner import Run, RunOptions

    args = run_parser().parse_args(argv)
    options = RunOptions(suite=args.suite, backend=args.backend, overrides=args.overrides, data=args.data,
                         phases=args.phases.split(",") if args.phases else None, checkpoint=args.checkpoint,
                         models=args.models, results_dir=Path(args.results))
    run = Run(options)
    try:
        record_path = run.execute()
    except KeyboardInterrupt:
        if hasattr(run, "record_path"):
            print(f"aborted; record written to {run.record_path}", file=sys.stderr)
        return 130
    except RunFailed:
        if hasattr(run, "record_path"):
            print(f"record: {run.record_path}", file=sys.stderr)
        raise
    record = read_record(record_path)
    print(zoo_table([record]))
    print(run_summary(record))
    print(f"record: {record_path}")
    return 0


@command("suites", "list the suites, one line each")
def cmd_suites(argv: list[str]) -> int:
    from harness.suites import suite_summaries

    argparse.ArgumentParser(prog="bench.py suites", description="List the suites.").parse_args(argv)
    rows = suite_summaries()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


@command("backends", "list the backend plugins, whether each device is usable here, and their hooks")
def cmd_backends(argv: list[str]) -> int:
    from tabulate import tabulate

    from harness.plugins import Backends

    parser = argparse.ArgumentParser(prog="bench.py backends", description="List the backend plugins.")
    parser.add_argument("--hooks", action="store_true", help="also list the hooks each plugin implements")
    args = parser.parse_args(argv)
    backends = Backends()
    rows = []
    for name in backends.names():
        backend = backends.select(name)
        availability = backend.available()
        row = [name, "yes" if availability.ok else "no", availability.reason, backend.describe()]
        if args.hooks:
            row.append(", ".join(h.removeprefix("bench_") for h in backends.hooks_of(name)))
        rows.append(row)
    headers = ["backend", "usable", "why", "device"] + (["hooks"] if args.hooks else [])
    print(tabulate(rows, headers=headers, tablefmt="plain"))
    return 0


@command("report", "print the zoo table of a results record")
def cmd_report(argv: list[str]) -> int:
    from harness.record import read_record
    from harness.report import run_summary, zoo_table

    parser = argparse.ArgumentParser(prog="bench.py report", description="Print a results record as the zoo table.")
    parser.add_argument("record", help="results/<run>.json")
    parser.add_argument("--format", default="github", help="tabulate format: github, plain, pipe, ...")
    args = parser.parse_args(argv)
    record = read_record(args.record)
    print(zoo_table([record], args.format))
    print(run_summary(record))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return COMMANDS[argv[0]][0](argv[1:])
        return cmd_run(argv)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except RunFailed as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return exc.exit_code

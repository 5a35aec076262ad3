"""The command line: `bench.py [run options]` or `bench.py COMMAND ...`."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.errors import BenchError, RunFailed, did_you_mean

COMMANDS = {}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (a BenchError: exit 2) instead of the whole usage block."""

    def error(self, message: str):
        raise BenchError(f"{' '.join(message.split())}; see `{self.prog} -h`")


# -- argument types: a value is refused while the command line is read, in one line --------------

def whole_number(least: int, most: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < least or (most is not None and value > most):
            bound = f"from {least} to {most}" if most is not None else f"at least {least}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    return parse


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def phase_list(text: str) -> list[str]:
    """`train,eval` -> ["train", "eval"]; a list naming no phase ("", ",,,") is refused, not read as "all"."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        from harness.runner import PHASES

        raise argparse.ArgumentTypeError(f"names no phase ({text!r}): give some of {','.join(PHASES)}, "
                                         "or leave --phases out for all")
    return names


PORT = whole_number(1, 65535)


def command(name: str, help_text: str):
    def register(fn):
        COMMANDS[name] = (fn, help_text)
        return fn
    return register


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="bench.py",
        description="Run a GoogleNet suite end to end: set-up, data, train, eval, export, infer, record.",
        epilog="commands: " + "; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items())
               + ". Use `bench.py COMMAND -h` for each.")
    parser.add_argument("--suite", default="digits", type=non_empty,
                        help="suite name (bench.py suites) or a .yaml path; default digits")
    parser.add_argument("--backend", default="cpu", type=non_empty, help="backend plugin (bench.py backends); default cpu")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a suite key, e.g. --set epochs=1 --set train_samples=512")
    parser.add_argument("--data", type=non_empty,
                        help="data directory (CIFAR-10 binary folder, ImageNet root with train/ and val/)")
    parser.add_argument("--phases", type=phase_list,
                        help="comma-separated subset of setup,data,train,eval,export,infer,record")
    parser.add_argument("--checkpoint", type=non_empty, help="weights to start from when train is not among the phases")
    parser.add_argument("--model", dest="models", action="append", default=[], type=non_empty,
                        help="an exported .mindir/.onnx file to infer from (repeatable)")
    parser.add_argument("--results", default="results", type=non_empty, help="results directory; default results/")
    parser.add_argument("--resume", metavar="RUN_DIR", type=non_empty,
                        help="continue an interrupted run from its newest valid checkpoint")
    parser.add_argument("--pretrained", metavar="CKPT", type=non_empty,
                        help="start training from these weights (weights only)")
    parser.add_argument("--ranks", type=whole_number(1), default=1, help="data-parallel ranks (processes); default 1")
    parser.add_argument("--nodes", type=whole_number(1), default=1, help="machines in a multi-machine run; default 1")
    parser.add_argument("--node-rank", type=whole_number(0), default=0, help="this machine's index among --nodes")
    parser.add_argument("--master-addr", default="127.0.0.1", type=non_empty, help="address of node 0 (multi-machine runs)")
    parser.add_argument("--master-port", type=PORT, help="port on node 0; default: a free port (one machine)")
    parser.add_argument("--rank-table", type=non_empty, help="HCCL rank-table JSON: start ranks the zoo's way (ascend)")
    # Hidden: marks a process started by a launcher (named so msrun's own prefix-matching
    # argument parser cannot mistake it for one of its options).
    parser.add_argument("--as-rank", dest="worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rank-of-run", dest="run_id", help=argparse.SUPPRESS)
    return parser


def _worker_argv(args) -> list[str]:
    argv = ["--suite", args.suite, "--backend", args.backend]
    for override in args.overrides:
        argv += ["--set", override]
    phases = ",".join(args.phases) if args.phases else None
    for flag, value in (("--data", args.data), ("--phases", phases), ("--checkpoint", args.checkpoint),
                        ("--resume", args.resume), ("--pretrained", args.pretrained)):
        if value is not None:
            argv += [flag, value]
    for model in args.models:
        argv += ["--model", model]
    return argv


def serve_as_msrun_scheduler() -> int:
    """msrun starts the script once more as its scheduler; that process only serves the cluster."""
    from mindspore.communication import init

    init()
    return 0


def cmd_run(argv: list[str]) -> int:
    from harness.launch import LaunchRequest, NodeSpec, is_msrun_scheduler
    from harness.record import read_record
    from harness.report import run_summary, zoo_table
    from harness.runner import Run, RunOptions

    parser = run_parser()
    args = parser.parse_args(argv)
    if args.worker and is_msrun_scheduler():
        return serve_as_msrun_scheduler()
    if args.node_rank >= args.nodes:
        parser.error(f"--node-rank {args.node_rank} must be below --nodes {args.nodes}")
    local_ranks, cores = -(-args.ranks // args.nodes), os.cpu_count() or 1
    if local_ranks > cores:
        parser.error(f"--ranks {args.ranks} over --nodes {args.nodes} starts {local_ranks} processes on this machine, "
                     f"which has {cores} CPU cores: at most {cores} ranks per machine")
    launch = LaunchRequest(ranks=args.ranks, rank_table=args.rank_table,
                           node=NodeSpec(nodes=args.nodes, node_rank=args.node_rank, master_addr=args.master_addr,
                                         master_port=args.master_port))
    options = RunOptions(suite=args.suite, backend=args.backend, overrides=args.overrides, data=args.data,
                         phases=args.phases, checkpoint=args.checkpoint,
                         models=args.models, results_dir=Path(args.results), run_id=args.run_id, launch=launch,
                         worker=args.worker, worker_argv=_worker_argv(args), resume=args.resume,
                         pretrained=args.pretrained)
    run = Run(options)
    try:
        record_path = run.execute()
    except KeyboardInterrupt:
        if hasattr(run, "record_path"):
            print(f"aborted; record written to {run.record_path}; continue with: "
                  f"python bench.py --resume {run.run_dir}", file=sys.stderr)
        return 130
    except RunFailed:
        if hasattr(run, "record_path"):
            print(f"record: {run.record_path}", file=sys.stderr)
        raise
    if args.worker:
        return 0
    record = read_record(record_path)
    print(zoo_table([record]))
    print(run_summary(record))
    print(f"record: {record_path}")
    return 0


@command("suites", "list the suites, one line each")
def cmd_suites(argv: list[str]) -> int:
    from harness.suites import suite_summaries

    OneLineParser(prog="bench.py suites", description="List the suites.").parse_args(argv)
    rows = suite_summaries()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


@command("backends", "list the backend plugins, whether each device is usable here, and their hooks")
def cmd_backends(argv: list[str]) -> int:
    from tabulate import tabulate

    from harness.plugins import Backends

    parser = OneLineParser(prog="bench.py backends", description="List the backend plugins.")
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

    parser = OneLineParser(prog="bench.py report", description="Print a results record as the zoo table.")
    parser.add_argument("record", help="results/<run>.json")
    parser.add_argument("--format", default="github", help="tabulate format: github, plain, pipe, ...")
    args = parser.parse_args(argv)
    record = read_record(args.record)
    print(zoo_table([record], args.format))
    print(run_summary(record))
    return 0


def _load_command_modules() -> None:
    # Commands that live in their own modules register themselves with @command on import.
    import harness.commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    _load_command_modules()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return COMMANDS[argv[0]][0](argv[1:])
        if argv and not argv[0].startswith("-"):
            raise BenchError(f"unknown command {argv[0]!r}{did_you_mean(argv[0], COMMANDS)}: the commands are "
                             f"{', '.join(COMMANDS)}; a run takes options only (bench.py -h)")
        return cmd_run(argv)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except RunFailed as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return exc.exit_code


def run_cli() -> int:
    """The installed `googlenet-bench` command: bench.py's entry point."""
    from harness.interrupts import install_deferred_interrupts

    install_deferred_interrupts()
    return main()

"""The command line: `bench.py [run options]` (a run) or `bench.py COMMAND ...` (googlenet_bench.harness.cli.commands)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.cli import commands
from googlenet_bench.harness.cli.arguments import PORT, OneLineParser, add_grace, non_empty, phase_list, whole_number
from googlenet_bench.harness.errors import BenchError, RunFailed, did_you_mean
from googlenet_bench.harness.types import DEFAULT_PHASES, OPT_IN_PHASES, PHASES, RAN_TO_THE_END
from googlenet_bench.harness.launch import DEFAULT_CLUSTER_TIMEOUT_S


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="bench.py",
        description="Run a GoogleNet suite end to end: set-up, data, train, eval, export, infer, record.",
        epilog="commands: " + "; ".join(f"{name}: {text}" for name, (_, text) in commands.COMMANDS.items())
               + ". Use `bench.py COMMAND -h` for each.")
    parser.add_argument("--suite", type=non_empty,
                        help="suite name (bench.py suites) or a .yaml path; default digits")
    parser.add_argument("--backend", type=non_empty, help="backend plugin (bench.py backends); default cpu")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a suite key, e.g. --set epochs=1 --set train_samples=512")
    parser.add_argument("--data", type=non_empty,
                        help="data directory (CIFAR-10 binary folder, ImageNet root with train/ and val/)")
    parser.add_argument("--phases", type=phase_list,
                        help=f"comma-separated subset of {','.join(PHASES)}; default all but {','.join(OPT_IN_PHASES)}")
    parser.add_argument("--profile", action="store_true",
                        help="after the timed training, profile a few more steps (suite key profile_steps) and "
                             "record where the step time goes, by operator category")
    parser.add_argument("--checkpoint", type=non_empty, help="weights to start from when train is not among the phases")
    parser.add_argument("--model", dest="models", action="append", default=[], type=non_empty,
                        help="an exported .mindir/.onnx file to infer from (repeatable)")
    parser.add_argument("--results", default="results", type=non_empty, help="results directory; default results/")
    parser.add_argument("--resume", metavar="RUN_DIR", type=non_empty,
                        help="continue an interrupted run from its newest valid checkpoint")
    parser.add_argument("--pretrained", metavar="CKPT", type=non_empty,
                        help="start training from these weights (weights only)")
    parser.add_argument("--ranks", type=whole_number(1), default=1,
                        help="data-parallel ranks (processes) of the whole job, over all --nodes; default 1")
    parser.add_argument("--nodes", type=whole_number(1), default=1,
                        help="machines in a multi-machine run, each starting --ranks/--nodes ranks; default 1")
    parser.add_argument("--node-rank", type=whole_number(0), default=0, help="this machine's index among --nodes")
    parser.add_argument("--master-addr", type=non_empty,
                        help="address of node 0, needed with --nodes above 1 (one machine: 127.0.0.1)")
    parser.add_argument("--master-port", type=PORT, help="port on node 0; default: a free port (one machine)")
    parser.add_argument("--cluster-timeout", type=whole_number(1), default=DEFAULT_CLUSTER_TIMEOUT_S, metavar="SECONDS",
                        help="how long the ranks wait for each other to join (msrun's cluster time-out; "
                             f"HCCL's connect time-out with --rank-table); default {DEFAULT_CLUSTER_TIMEOUT_S}")
    parser.add_argument("--scaling-reference", metavar="RECORD", type=non_empty,
                        help="a 1-rank record of the same suite and batch: the N-rank record then holds its "
                             "scaling efficiency against it")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep the training checkpoints (with optimizer state) after a successful run; "
                             "by default only the final weights and exports stay")
    parser.add_argument("--oversubscribe", action="store_true",
                        help="allow more ranks on this machine than its backend says it can host")
    parser.add_argument("--rank-table", type=non_empty, help="HCCL rank-table JSON: start ranks the zoo's way (ascend)")
    add_grace(parser)
    parser.add_argument("--rehearse", nargs="?", const="cpu", metavar="HOST",
                        help="run the backend's recipe (AMP, loss scale, jit level, exports, ranks) on HOST's "
                             "device (default cpu) for a few steps, before cluster time is spent on it")
    parser.add_argument("--repeat", type=whole_number(1, 100), default=1, metavar="N",
                        help="run N times with consecutive seeds (the suite's, +1, ...), one after another, each "
                             "with its own record, then write a seed summary (a baseline `check` accepts)")
    # Hidden: marks a process started by a launcher (named so msrun's own prefix-matching
    # argument parser cannot mistake it for one of its options).
    parser.add_argument("--as-rank", dest="worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rank-of-run", dest="run_id", help=argparse.SUPPRESS)
    return parser


def _worker_argv(args) -> list[str]:
    # The job's layout, so a rank knows its machine's share (and msrun's scheduler its node).
    argv = ["--suite", args.suite, "--backend", args.backend, "--ranks", str(args.ranks), "--nodes", str(args.nodes),
            "--node-rank", str(args.node_rank), "--grace", str(args.grace)]
    for override in args.overrides:
        argv += ["--set", override]
    phases = ",".join(args.phases) if args.phases else None
    for flag, value in (("--data", args.data), ("--phases", phases), ("--checkpoint", args.checkpoint),
                        ("--resume", args.resume), ("--pretrained", args.pretrained), ("--rehearse", args.rehearse)):
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


def run_options(args):
    from googlenet_bench.harness.launch import LaunchRequest, NodeSpec
    from googlenet_bench.harness.lifecycle.options import RunOptions

    if args.profile and "profile" not in (args.phases or ()):  # the ranks get it back as --phases
        args.phases = [*(args.phases or DEFAULT_PHASES), "profile"]
    if args.node_rank >= args.nodes:
        raise BenchError(f"--node-rank {args.node_rank} must be below --nodes {args.nodes}")
    if args.ranks < args.nodes:
        raise BenchError(f"--ranks {args.ranks} is fewer than --nodes {args.nodes}: --ranks counts the ranks of the "
                         f"whole job, at least one per node (e.g. --ranks {args.nodes})")
    if args.resume and not args.worker:
        given = [flag for flag, value in (("--suite", args.suite), ("--backend", args.backend)) if value is not None]
        if given:
            raise BenchError(f"--resume continues a run as it was configured: leave out {' and '.join(given)}")
    args.suite, args.backend = args.suite or RunOptions.suite, args.backend or RunOptions.backend
    launch = LaunchRequest(ranks=args.ranks, rank_table=args.rank_table,
                           node=NodeSpec(nodes=args.nodes, node_rank=args.node_rank, master_addr=args.master_addr,
                                         master_port=args.master_port, cluster_timeout_s=args.cluster_timeout))
    return RunOptions(suite=args.suite, backend=args.backend, overrides=tuple(args.overrides), data=args.data,
                      phases=tuple(args.phases) if args.phases is not None else None,
                      checkpoint=args.checkpoint, models=tuple(args.models), results_dir=Path(args.results),
                      run_id=args.run_id, launch=launch, worker=args.worker, worker_argv=tuple(_worker_argv(args)),
                      resume=args.resume, pretrained=args.pretrained, rehearse_on=args.rehearse,
                      oversubscribe=args.oversubscribe, scaling_reference=args.scaling_reference,
                      keep_checkpoints=args.keep_checkpoints)


def cmd_run(argv: list[str]) -> int:
    from googlenet_bench.harness.launch import is_msrun_scheduler, serves_as_scheduler
    from googlenet_bench.harness.lifecycle.plan import make_plan
    from googlenet_bench.harness.lifecycle.ranks import die_with_launcher
    from googlenet_bench.harness.results.record import read_record
    from googlenet_bench.harness.reporting.report import run_summary, zoo_table
    from googlenet_bench.harness.lifecycle.run import execute

    args = run_parser().parse_args(argv)
    if args.repeat > 1 and not args.worker:
        from googlenet_bench.harness.cli.repeat import run_repeated

        return run_repeated(argv, args)
    if args.worker:
        die_with_launcher()  # a rank or msrun's scheduler: never outlive the launcher
    if args.worker and is_msrun_scheduler():
        return serve_as_msrun_scheduler() if serves_as_scheduler(args.node_rank) else 0
    interrupts.set_grace(args.grace)
    plan = make_plan(run_options(args))
    outcome = execute(plan)
    if plan.worker:
        if outcome.unexpected is not None:
            raise outcome.unexpected  # its traceback goes to the rank's log; the parent names that log
        if outcome.status == "aborted":
            return interrupts.exit_code()
        return 0 if outcome.status in RAN_TO_THE_END else 1  # e.g. diverged: rank 0's record says so
    if outcome.unexpected is not None:
        _say_where(outcome)
        raise outcome.unexpected
    if outcome.status == "aborted":
        _say_where(outcome)
        print(f"aborted; continue with: python bench.py --resume {plan.run_dir}", file=sys.stderr)
        return interrupts.exit_code()
    if outcome.status == "failed":
        _say_where(outcome)
        print(f"run failed: {outcome.reason}", file=sys.stderr)
        return 1
    if outcome.record is None:  # a node other than node 0: its ranks ran, node 0 keeps the record
        node = plan.options.launch.node
        print(f"node {node.node_rank} of {node.nodes}: its ranks finished ({outcome.status}); the run's record is "
              f"written by node 0 ({node.master}); this node's rank logs are in {plan.run_dir}")
        return 0 if outcome.status == "success" else 1
    record = read_record(outcome.record)
    print(zoo_table([record]))
    print(run_summary(record))
    _say_where(outcome, stream=sys.stdout)
    if plan.speed.hint():
        print(plan.speed.hint(), file=sys.stderr)
    if outcome.status != "success":
        print(f"run not valid ({outcome.status}): {outcome.reason}", file=sys.stderr)
        return 1
    return 0


def _say_where(outcome, stream=sys.stderr) -> None:
    """Name only files that exist: a record that could not be written is not named."""
    if outcome.moved:
        print(outcome.moved, file=sys.stderr)
    elif outcome.kept_earlier:
        print(f"record of this attempt: {outcome.attempt_record}; the run's record {outcome.record} keeps an "
              "earlier attempt that got further", file=stream)
    elif outcome.record is not None and outcome.record.exists():
        print(f"record: {outcome.record}", file=stream)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in commands.COMMANDS:
            return commands.COMMANDS[argv[0]][0](argv[1:])
        if argv and not argv[0].startswith("-"):
            raise BenchError(f"unknown command {argv[0]!r}{did_you_mean(argv[0], commands.COMMANDS)}: the commands "
                             f"are {', '.join(commands.COMMANDS)}; a run takes options only (bench.py -h)")
        return cmd_run(argv)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except RunFailed as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # a command stopped by SIGINT or SIGTERM at a safe point: its writes are atomic
        print(f"stopped by {interrupts.signal_name(interrupts.received())}", file=sys.stderr)
        return interrupts.exit_code()


def run_cli() -> int:
    """`googlenet-bench`, `python -m googlenet_bench` and `python bench.py`: Ctrl-C and SIGTERM deferred
    before MindSpore starts any thread (nothing imported so far imports it), then the command line."""
    interrupts.install_deferred_interrupts()
    try:
        return main()
    except BrokenPipeError:  # the reader of stdout left (`googlenet-bench backends | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

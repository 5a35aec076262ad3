"""The commands besides a run (`bench.py COMMAND ...`) and their registry.

Only argument parsing and printing live here; the work is in googlenet_bench.harness.reporting.compare, googlenet_bench.harness.reporting.check,
googlenet_bench.harness.reporting.history and the other modules named in each command. Nothing here imports MindSpore.
The longer commands keep their parsing in modules of their own (ab_command.py, fetch_command.py, tune_command.py).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from googlenet_bench.harness.cli.arguments import command_parser
from googlenet_bench.harness.errors import BenchError, did_you_mean

REFERENCES = ("zoo",)
COMMANDS: dict = {}  # name -> (function(argv) -> exit code, one-line help)


def command(name: str, help_text: str):
    def register(fn):
        COMMANDS[name] = (fn, help_text)
        return fn
    return register



def _add_format(parser: argparse.ArgumentParser, default: str) -> None:
    from googlenet_bench.harness.reporting.compare import FORMATS

    parser.add_argument("--format", default=default, choices=FORMATS, help=f"output format; default {default}")


def _add_tolerances(parser: argparse.ArgumentParser, default_from: str) -> None:
    from googlenet_bench.harness.reporting.check import CLI_FLAGS

    parser.add_argument(CLI_FLAGS["top1_drop"], dest="top1_drop", type=float, metavar="FRACTION",
                        help=f"how far top-1 may fall, e.g. 0.02 = 2 percentage points (default: {default_from})")
    parser.add_argument(CLI_FLAGS["ms_per_step_ratio"], dest="ms_per_step_ratio", type=float, metavar="RATIO",
                        help=f"how much slower ms/step may get, new/old, e.g. 1.12 (default: {default_from})")


@command("compare", "runs side by side in the zoo table's rows, with ratios against the first run")
def cmd_compare(argv: list[str]) -> int:
    from googlenet_bench.harness.reporting.compare import compare, load_zoo_reference, render
    from googlenet_bench.harness.results.record import read_record

    parser = command_parser("compare", "Compare runs side by side: one column per run, then each run's ratios "
                                "against the first (x = this run / run 1; top-1 in percentage points).")
    parser.add_argument("records", nargs="+", metavar="RECORD", help="results/<run>.json; the first is the reference "
                        "(with --by backend: records or results directories)")
    parser.add_argument("--reference", choices=REFERENCES,
                        help="add published figures as columns: zoo = the MindSpore model zoo's README")
    parser.add_argument("--by", choices=("backend",), help="backend: per suite, one row per backend, ranks and "
                        "precision (its newest successful run) beside the zoo's published rows, within 120 columns")
    _add_format(parser, "github")
    args = parser.parse_args(argv)
    if args.by == "backend":
        from googlenet_bench.harness.reporting.side_by_side import by_backend

        print(by_backend(args.records, load_zoo_reference()))
        return 0
    records = [read_record(path) for path in args.records]
    reference = load_zoo_reference() if args.reference == "zoo" else None
    print(render(compare(records, args.records, reference), args.format))
    if reference is not None and args.format not in ("json", "csv"):
        from googlenet_bench.harness.reporting.report import deviations_line

        for number, record in enumerate(records, start=1):
            print(f"run {number}: {deviations_line(record) or 'deviations from the zoo: not recorded (an older record)'}")
    return 0


@command("check", "the regression gate: a run against a baseline record; exit 1 on regression")
def cmd_check(argv: list[str]) -> int:
    from googlenet_bench.harness.reporting.check import (SPEED_OFF_IN_CI, check, load_baseline, speed_gate_default,
                                                         tolerances_of)
    from googlenet_bench.harness.results.record import read_record

    parser = command_parser("check", "Gate a run against a baseline: exit 0 no regression, 1 regression, 2 unusable input.")
    parser.add_argument("record", help="the new run's results/<run>.json")
    parser.add_argument("--baseline", required=True, help="baseline record, e.g. baselines/digits-cpu.json")
    _add_tolerances(parser, "the baseline's tolerances")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=None,
                        help="gate speed too: ms/step, when the machine was in the baseline's state "
                             "(default: on, except when the CI env var is set)")
    args = parser.parse_args(argv)
    new, (baseline, summary) = read_record(args.record), load_baseline(args.baseline)
    tolerances = tolerances_of(baseline, args.baseline, top1_drop=args.top1_drop,
                               ms_per_step_ratio=args.ms_per_step_ratio)
    gate_speed = speed_gate_default() if args.speed is None else args.speed
    verdict = check(new, baseline, tolerances, gate_speed, new_origin=args.record, baseline_origin=args.baseline,
                    speed_off_reason="--no-speed" if args.speed is False else SPEED_OFF_IN_CI, summary=summary)
    for finding in verdict.findings:
        print(finding.line())
    for note in verdict.notes:
        print(note)
    regressions = verdict.regressions
    summary = (f"{len(regressions)} regression{'s' * (len(regressions) != 1)}: "
               + ", ".join(finding.figure for finding in regressions)) if regressions else "no regression"
    print(f"check {args.record} against {args.baseline}: {summary}")
    return 1 if regressions else 0


@command("ab", "speed A/B in one sitting: a base revision against the current code, alternated; exit 1 when slower")
def cmd_ab(argv: list[str]) -> int:
    from googlenet_bench.harness.cli.ab_command import main

    return main(argv)


@command("baseline", "make or refresh a baseline for `check` from a successful run's record")
def cmd_baseline(argv: list[str]) -> int:
    from googlenet_bench.harness.reporting.check import existing_tolerances, make_baseline, median_run, tolerances_of
    from googlenet_bench.harness.results.record import read_record, write_json_atomic
    from googlenet_bench.harness.targets import writable_file

    parser = command_parser("baseline", "Copy a run's record (without its event log) to a baseline file with tolerances; of "
                                 "several runs, the one with the median speed figure.")
    parser.add_argument("record", nargs="+", help="a successful run's results/<run>.json; several runs of the same "
                                                  "suite on this machine (3 or 5) make a steadier speed baseline")
    parser.add_argument("--to", required=True, type=Path, help="baseline file to write, e.g. baselines/digits-cpu.json")
    _add_tolerances(parser, "those already in --to, else 0.02 and 1.12")
    args = parser.parse_args(argv)
    writable_file(args.to, "--to")  # before any work: a regular file, or absent in an existing folder
    record, origin, chosen = median_run([(read_record(path), path) for path in args.record])
    kept = {"tolerances": existing_tolerances(args.to)}
    tolerances = tolerances_of(kept, str(args.to), top1_drop=args.top1_drop, ms_per_step_ratio=args.ms_per_step_ratio)
    try:
        write_json_atomic(args.to, make_baseline(record, tolerances, origin, chosen), "--to", make_folder=False)
    except OSError as exc:
        raise BenchError(f"--to {args.to}: cannot write it there ({exc.strerror or exc}): "
                         "choose a writable path") from None
    how = f" ({chosen['chosen_by']} of {len(args.record)} runs)" if chosen else ""
    print(f"baseline {args.to}: {record['suite']} on {record['backend']} from {origin}{how} ({tolerances.describe()})")
    return 0


@command("history", "one line per run of a suite/backend in a results directory, oldest first; --plot FILE.png")
def cmd_history(argv: list[str]) -> int:
    from googlenet_bench.harness.reporting.compare import render_table
    from googlenet_bench.harness.reporting.history import (HEADERS, collect, history_json, history_row, plot,
                                                           plot_target, sittings)

    parser = command_parser("history", "The runs of one suite on one backend, oldest first, with their main figures.")
    parser.add_argument("directory", help="a results directory, e.g. results/")
    parser.add_argument("--suite", default="digits", help="suite name; default digits")
    parser.add_argument("--backend", default="cpu", help="backend name; default cpu")
    parser.add_argument("--plot", metavar="FILE", help="also write a PNG of top-1 and ms/step by run")
    _add_format(parser, "plain")
    args = parser.parse_args(argv)
    if args.plot:
        plot_target(args.plot)
    history = collect(args.directory, args.suite, args.backend)
    for reason in history.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(history_json(history), indent=2))
    else:
        print(render_table(HEADERS, [history_row(record) for _, record in history.runs], args.format))
        found = sittings(args.directory, args.suite, args.backend)
        if found:
            print("\n".join(["speed A/B comparisons and seed summaries:", *found]))
    if args.plot:
        print(f"plot: {plot(history, args.plot)}", file=sys.stderr)
    return 0


@command("suites", "list the suites, one line each")
def cmd_suites(argv: list[str]) -> int:
    from googlenet_bench.harness.suites import suite_summaries

    command_parser("suites", "List the suites.").parse_args(argv)
    rows = suite_summaries()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


@command("backends", "list the backend plugins, whether each device is usable here, and their hooks")
def cmd_backends(argv: list[str]) -> int:
    from tabulate import tabulate

    from googlenet_bench.harness.plugins import Backends

    parser = command_parser("backends", "List the backend plugins.")
    parser.add_argument("--hooks", action="store_true", help="also list the hooks each plugin implements")
    args = parser.parse_args(argv)
    backends = Backends()
    rows = []
    for name in backends.names():
        backend = backends.select(name)
        availability = backend.available()
        rows.append([name, "yes" if availability.ok else "no", availability.reason, backend.describe()])
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)  # long reasons wrap within the terminal
    room = width - max(len(row[0]) for row in rows) - 16
    print(tabulate(rows, headers=["backend", "usable", "why", "device"], tablefmt="plain",
                   maxcolwidths=[None, None, room * 3 // 5, room * 2 // 5]))
    for name in backends.names() if args.hooks else ():
        print(textwrap.fill(", ".join(h.removeprefix("bench_") for h in backends.hooks_of(name)), width,
                            initial_indent=f"hooks of {name}: ", subsequent_indent="    "))
    return 0


@command("report", "print the zoo table of a results record")
def cmd_report(argv: list[str]) -> int:
    from googlenet_bench.harness.results.record import read_record
    from googlenet_bench.harness.reporting.history import sitting_line
    from googlenet_bench.harness.reporting.report import run_summary, zoo_table
    from googlenet_bench.harness.results import comparison

    parser = command_parser("report", "Print a results record as the zoo table.")
    parser.add_argument("record", help="results/<run>.json")
    parser.add_argument("--format", default="github", help="tabulate format: github, plain, pipe, ...")
    args = parser.parse_args(argv)
    from tabulate import tabulate_formats

    if args.format not in tabulate_formats:
        raise BenchError(f"--format {args.format}: not a table format{did_you_mean(args.format, tabulate_formats)}; "
                         f"choose one of {', '.join(sorted(tabulate_formats))}")
    sitting = sitting_line(Path(args.record))
    if sitting is not None:  # an A/B comparison or a seed summary
        print(sitting)
        if comparison.is_comparison(json.loads(Path(args.record).read_text(encoding="utf-8"))):
            document = comparison.read_comparison(args.record)
            print("\n".join([comparison.median_line(document), *comparison.run_lines(document)]))
        return 0
    record = read_record(args.record)
    print(zoo_table([record], args.format))
    print(run_summary(record))
    return 0


@command("fetch", "download and verify CIFAR-10; for ImageNet, how to get it and a check of your copy")
def cmd_fetch(argv: list[str]) -> int:
    from googlenet_bench.harness.cli.fetch_command import main

    return main(argv)


@command("publish", "a static HTML site of a results directory (tables, trend charts, environments, raw records)")
def cmd_publish(argv: list[str]) -> int:
    from googlenet_bench.harness.reporting.publish import publish

    parser = command_parser("publish", "Write a static HTML report of a results directory that opens from disk: one page "
                                "per suite and backend, with the zoo table, the compare view, trend charts, each "
                                "run's environment and its raw record.")
    parser.add_argument("results", help="a results directory, e.g. results/ (its records, not its subfolders)")
    parser.add_argument("--to", required=True, type=Path, help="the site's directory (new, empty, or an earlier site)")
    args = parser.parse_args(argv)
    site = publish(args.results, args.to)
    for reason in site.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"site: {site.index.as_uri()} ({site.pages} page{'s' * (site.pages != 1)}, "
          f"{site.runs} run{'s' * (site.runs != 1)})")
    return 0


@command("tune", "measure this machine's speed settings (oneDNN ISA, kernel threads, data workers); keep a profile")
def cmd_tune(argv: list[str]) -> int:
    from googlenet_bench.harness.cli.tune_command import main

    return main(argv)

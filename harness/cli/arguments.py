"""Command-line parsing that keeps the one-line promise: a usage mistake is a BenchError (one line,
exit 2), and values are refused while the command line is read."""
from __future__ import annotations

import argparse

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.types import PHASES


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (a BenchError: exit 2) instead of the whole usage block."""

    def error(self, message: str):
        raise BenchError(f"{' '.join(message.split())}; see `{self.prog} -h`")


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
        raise argparse.ArgumentTypeError(f"names no phase ({text!r}): give some of {','.join(PHASES)}, "
                                         "or leave --phases out for all but profile")
    return names


PORT = whole_number(1, 65535)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def add_grace(parser: argparse.ArgumentParser) -> None:
    """--grace: how long a stop on SIGINT/SIGTERM may take at most (googlenet_bench.harness.interrupts)."""
    from googlenet_bench.harness.interrupts import DEFAULT_GRACE_S

    parser.add_argument("--grace", type=seconds, default=DEFAULT_GRACE_S, metavar="SECONDS",
                        help="on SIGINT or SIGTERM, stop at the next step with a checkpoint and a record within "
                             f"this many seconds (a scheduler's time before SIGKILL); default {DEFAULT_GRACE_S:g}")


def command_parser(name: str, description: str) -> OneLineParser:
    """The parser of `bench.py NAME`."""
    return OneLineParser(prog=f"bench.py {name}", description=description)

#!/usr/bin/env python3
"""googlenet-bench from a checkout: `python bench.py --help` (installed: `googlenet-bench`, `python -m googlenet_bench`)."""
import sys

try:
    from googlenet_bench.harness.cli.main import run_cli
except ModuleNotFoundError as exc:
    if exc.name != "googlenet_bench":
        raise
    print("error: googlenet_bench is not installed in this Python: run `make bench` (or `pip install -e .`) first",
          file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(run_cli())

"""`python -m googlenet_bench ...`: the same command line as `bench.py` and `googlenet-bench`."""
import sys

from googlenet_bench.harness.cli.main import run_cli

sys.exit(run_cli())

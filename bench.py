#!/usr/bin/env python3
"""googlenet-bench: `python bench.py --help`."""
import sys

from harness.cli import main

if __name__ == "__main__":
    sys.exit(main())

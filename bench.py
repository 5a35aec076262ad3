#!/usr/bin/env python3
"""googlenet-bench: `python bench.py --help`."""
import sys

from harness.interrupts import install_deferred_interrupts

install_deferred_interrupts()  # before MindSpore starts any thread

from harness.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

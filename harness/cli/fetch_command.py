"""`bench.py fetch`: parsing and printing (the work: googlenet_bench.datasets.fetch)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.cli.arguments import add_grace, command_parser
from googlenet_bench.harness.errors import BenchError


def main(argv: list[str]) -> int:
    from googlenet_bench.datasets.digits import default_cache_dir
    from googlenet_bench.datasets.fetch import (CIFAR10_MD5, CIFAR10_URL, IMAGENET_HOW_TO, MD5_ENV, URL_ENV, check_imagenet,
                               fetch_cifar10)

    parser = command_parser("fetch", "cifar10: download the binary release, check its MD5, unpack it whole and print "
                              "the --data directory (exit 1: the network failed, run again to resume). "
                              "imagenet: how to get it; --check DIR checks your copy and writes nothing.")
    parser.add_argument("dataset", choices=("cifar10", "imagenet"))
    parser.add_argument("--to", type=Path, help="cifar10: where to put cifar-10-batches-bin "
                                                "(default: $GOOGLENET_BENCH_CACHE, else ~/.cache/googlenet-bench)")
    parser.add_argument("--url", default=os.environ.get(URL_ENV) or CIFAR10_URL,
                        help=f"cifar10: the archive's address, e.g. a mirror (default: ${URL_ENV}, else the official one)")
    parser.add_argument("--md5", default=os.environ.get(MD5_ENV) or CIFAR10_MD5,
                        help=f"cifar10: the archive's MD5 (default: ${MD5_ENV}, else the published {CIFAR10_MD5})")
    parser.add_argument("--check", type=Path, metavar="DIR", help="imagenet: check the tree at DIR (train/, val/)")
    add_grace(parser)
    args = parser.parse_args(argv)
    if args.dataset == "imagenet":
        if args.to:
            raise BenchError("fetch imagenet downloads nothing, so it takes no --to: use --check DIR for your copy")
        if not args.check:
            print(IMAGENET_HOW_TO)
            return 0
        check = check_imagenet(args.check)
        print(check.summary())
        return 1 if check.problems else 0
    if args.check:
        raise BenchError("--check is for imagenet: fetch cifar10 verifies what it downloads by itself")
    interrupts.set_grace(args.grace)
    try:
        with interrupts.cooperative():  # stops between chunks: the .part file stays whole
            fetched = fetch_cifar10(args.to or default_cache_dir(), args.url, args.md5, owned=args.to is None)
    except KeyboardInterrupt:
        print(f"stopped by {interrupts.signal_name(interrupts.received())}: a partial download is kept; run the "
              "same command again to resume", file=sys.stderr)
        return interrupts.exit_code()
    print(f"CIFAR-10 {fetched.how}; run: python bench.py --suite cifar10-full --data {fetched.data}", file=sys.stderr)
    print(fetched.data)  # alone on stdout, for scripts: --data "$(python bench.py fetch cifar10)"
    return 0

"""The harness's own overhead on training speed, measured in one process:

    ratio = ms/step as the harness records it (bench.py's train phase, its record's per-epoch figures)
            / ms/step of a bare MindSpore loop (Model.train, step by step on CPU, and one epoch clock)

Both train the same GoogleNet on the same digits train split (datasets.build_split), batch,
Momentum / weight decay / cosine learning rates, in GRAPH mode with ONEDNN_MAX_CPU_ISA=AVX2 (the
CPU backend's setting: set here before MindSpore runs anything, so both loops use the same oneDNN
kernels). ms/step is timed per epoch and the first epoch (graph compile) is left
out, as the harness does. The two alternate in pairs, bare first (`--rounds` pairs of `--epochs`
epochs each). The ratio is the median over the pairs of harness/bare (each the median of its timed
epochs): this machine's speed flips between about 215 and 275 ms/step from minute to minute with
no other process running, and a pair's two runs, a minute apart, see the most similar machine. Pairs during which other processes here
used 0.1 core or more are left out (every pair is printed with that load). From the project root:

    .venv/bin/python tests/benchmarks/harness_overhead.py [--rounds 10] [--epochs 3] [--verbose]
"""
from __future__ import annotations

import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")  # noqa: E402  (before MindSpore loads oneDNN)

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

SUITE, BACKEND = "digits", "cpu"


def bare_loop(config: dict) -> list[float]:
    """ms/step of each epoch after the first, from plain MindSpore: no harness callbacks, checkpoints or records."""
    import mindspore as ms
    import mindspore.nn as nn
    from mindspore.train import Callback, Model

    from googlenet_bench.datasets import build_split
    from googlenet_bench.harness.training.schedules import learning_rates
    from googlenet_bench.model import GoogleNet

    class EpochClock(Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_train_epoch_begin(self, run_context):
            self._start = time.perf_counter()

        def on_train_epoch_end(self, run_context):
            self.seconds.append(time.perf_counter() - self._start)

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.set_seed(config["seed"])
    split = build_split(config, "train", num_parallel_workers=os.cpu_count() or 1)
    net = GoogleNet(config["num_classes"])
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=ms.Tensor(learning_rates(config, split.steps)),
                            momentum=config["momentum"], weight_decay=config["weight_decay"])
    model = Model(net, loss_fn=nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), optimizer=optimizer)
    clock = EpochClock()
    model.train(config["epochs"], split.dataset, callbacks=[clock], dataset_sink_mode=True)
    return [seconds * 1000.0 / split.steps for seconds in clock.seconds[1:]]


def harness_run(overrides: list[str], results_dir: Path) -> list[float]:
    """ms/step of each epoch after the first, as the harness's train phase records it."""
    from googlenet_bench.harness.results.record import read_record
    from googlenet_bench.harness.lifecycle.options import RunOptions
    from googlenet_bench.harness.lifecycle.plan import make_plan
    from googlenet_bench.harness.lifecycle.run import execute

    options = RunOptions(suite=SUITE, backend=BACKEND, overrides=tuple(overrides), phases=("train",),
                         results_dir=results_dir)
    record = read_record(execute(make_plan(options)).record)
    return record["figures"]["train"]["ms_per_step_per_epoch"][1:]


QUIET_CORES = 0.1  # a pair during which other processes used less CPU than this counts as uncontended


class OthersLoad:
    """CPU time that other processes used while the block ran, in cores (from /proc/stat; None off Linux).
    The machine is shared: a pair of runs that other work slowed down says nothing about the harness."""

    cores: float | None = None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        own = os.times()
        return ((user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"),
                own.user + own.system + own.children_user + own.children_system, time.perf_counter())

    def __enter__(self):
        self._start = self._sample()
        return self

    def __exit__(self, *exc_info):
        end = self._sample()
        if self._start and end:
            busy, own, wall = (b - a for a, b in zip(self._start, end))
            self.cores = max(0.0, busy - own) / wall


@dataclass
class Pair:
    """A bare run and the harness run right after it: ms/step of each timed epoch, and others' CPU use."""

    bare: list[float]
    harness: list[float]
    others_cores: float | None

    @property
    def ratio(self) -> float:
        return statistics.median(self.harness) / statistics.median(self.bare)

    @property
    def quiet(self) -> bool:
        return self.others_cores is None or self.others_cores < QUIET_CORES


@dataclass
class Overhead:
    pairs: list[Pair] = field(default_factory=list)

    def counted(self) -> list[Pair]:
        """The uncontended pairs, or every pair if none was."""
        return [pair for pair in self.pairs if pair.quiet] or self.pairs

    def median_ms_per_step(self, side: str) -> float:
        return statistics.median(value for pair in self.counted() for value in getattr(pair, side))

    @property
    def ratio(self) -> float:
        """The median of the pairs' ratios: robust to the machine's speed changing between pairs."""
        return statistics.median(pair.ratio for pair in self.counted())

    @property
    def ratio_of_medians(self) -> float:
        return self.median_ms_per_step("harness") / self.median_ms_per_step("bare")

    def report(self, verbose: bool = False) -> str:
        lines = []
        for number, pair in enumerate(self.pairs, start=1):
            load = "unknown" if pair.others_cores is None else f"{pair.others_cores:.2f} cores"
            verdict = "" if pair.quiet else "; contended, left out" if any(p.quiet for p in self.pairs) else "; contended"
            lines.append(f"pair {number}: bare {statistics.median(pair.bare):.1f}, harness "
                         f"{statistics.median(pair.harness):.1f} ms/step -> {pair.ratio:.3f} "
                         f"(other processes used {load}{verdict})")
            if verbose:
                lines.append(f"  bare ms/step by epoch: {', '.join(f'{v:.1f}' for v in pair.bare)}\n"
                             f"  harness ms/step by epoch: {', '.join(f'{v:.1f}' for v in pair.harness)}")
        counted = self.counted()
        lines.append(f"median ms/step over {sum(len(p.harness) for p in counted)} epochs each of {len(counted)} "
                     f"pair(s): bare {self.median_ms_per_step('bare'):.1f}, harness "
                     f"{self.median_ms_per_step('harness'):.1f} (ratio of the medians {self.ratio_of_medians:.3f})")
        fastest = (min(v for p in counted for v in p.harness) / min(v for p in counted for v in p.bare))
        lines.append(f"fastest harness epoch / fastest bare epoch: {fastest:.3f}")
        lines.append(f"harness overhead ratio (median of the pairs' ratios): {self.ratio:.3f}; "
                     f"ONEDNN_MAX_CPU_ISA={os.environ['ONEDNN_MAX_CPU_ISA']}")
        return "\n".join(lines)


def measure(rounds: int = 10, overrides: list[str] = ("epochs=3",)) -> Overhead:
    from googlenet_bench.harness.suites import load_suite

    config = load_suite(SUITE, list(overrides))
    overhead = Overhead()
    with tempfile.TemporaryDirectory(prefix="harness-overhead-") as results:
        for _ in range(rounds):
            with OthersLoad() as others:
                bare = bare_loop(config)
                harness = harness_run(list(overrides), Path(results))
            overhead.pairs.append(Pair(bare, harness, others.cores))
    return overhead


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="bare/harness pairs, alternating; default 10")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run, at least 2; default 3 (short runs "
                                                               "make a speed change inside a pair less likely)")
    parser.add_argument("--verbose", action="store_true", help="also print every epoch's ms/step")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.epochs < 2:
        parser.error("--rounds must be >= 1 and --epochs >= 2 (the first epoch is not timed)")
    print(measure(args.rounds, [f"epochs={args.epochs}"]).report(args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One tuning candidate, in its own process (oneDNN reads its ISA once, at its first primitive):

    python -m googlenet_bench.harness.tuning.tune_worker --backend cpu --suite digits --isa AVX2 --threads 2 --workers 2 --steps 4

Prints one JSON line: the suite's GoogleNet, loss, optimizer and train split, set up by the backend's
own device hook, trained with dataset sink for --chunks epochs of --steps steps (the suite's
train_samples cut to fit): the first epoch (compile) is left out, ms/step is the median of the others.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from googlenet_bench.harness.measure.machine_profile import DEFAULT_ISA, ISA_ENV


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m googlenet_bench.harness.tuning.tune_worker")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--suite", default="digits")
    parser.add_argument("--isa", default=DEFAULT_ISA)
    parser.add_argument("--threads", type=int, default=0, help="CPU kernel threads; 0: MindSpore's default")
    parser.add_argument("--workers", type=int, default=0, help="data workers; 0: the backend's choice")
    parser.add_argument("--steps", type=int, default=8, help="steps per epoch")
    parser.add_argument("--chunks", type=int, default=3, help="epochs, the first one untimed")
    parser.add_argument("--data", help="the suite's data directory (tune --data)")
    return parser.parse_args(argv)


def set_isa(isa: str) -> None:
    if isa == DEFAULT_ISA:
        os.environ.pop(ISA_ENV, None)
    else:
        os.environ[ISA_ENV] = isa


def train(args) -> dict:
    import mindspore as ms
    from mindspore.train import Callback

    from googlenet_bench.datasets import build_split
    from googlenet_bench.harness.plugins import Backends
    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.training.builder import prepare_training
    from googlenet_bench.harness.types import RankInfo, Recipe
    from googlenet_bench.model import GoogleNet

    config = load_suite(args.suite)
    # Short epochs of --steps steps, the first untimed.
    config = load_suite(args.suite, [f"train_samples={args.steps * config['batch_size']}", f"epochs={args.chunks}"])
    if args.data:
        config["data"] = args.data
    backend = Backends().select(args.backend)
    ms.set_seed(config["seed"])
    backend.device_setup(config, RankInfo())
    if args.threads:
        ms.device_context.cpu.op_tuning.threads_num(args.threads)
    options = backend.dataset_options(config)
    workers = args.workers or options.num_parallel_workers
    split = build_split(config, "train", num_parallel_workers=workers)
    net = GoogleNet(config["num_classes"])
    recipe = Recipe(amp=backend.amp(config), jit_level=backend.jit_level(config))
    training = prepare_training(net, config, recipe, split.steps)

    class ChunkClock(Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_train_epoch_begin(self, run_context):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, run_context):
            self.seconds.append(time.perf_counter() - self.start)

    clock = ChunkClock()
    # The backend's own sink setting, as a run uses it (the whole epoch is one chunk where it sinks).
    training.fit(args.chunks, split.dataset, sink_mode=options.sink_mode, callbacks=[clock])
    timed = sorted(s * 1000.0 / split.steps for s in clock.seconds[1:])
    return {"ms_per_step": round(timed[len(timed) // 2], 2), "chunks_ms_per_step": [round(t, 2) for t in timed],
            "workers": workers, "threads": args.threads}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    set_isa(args.isa)  # before MindSpore loads
    result = train(args)
    print(json.dumps({"isa": args.isa, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

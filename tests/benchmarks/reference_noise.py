"""How closely does the drift reference follow the training step on this machine? In one process,
N pairs of (one GoogleNet training step, then one run of each calibration workload), back to back:

    GLOG_v=3 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python tests/benchmarks/reference_noise.py --pairs 60

Prints, per workload (the harness's CalibrationWorkload, width 32, and 2x / 3x wider variants of
the same CNN): its median and CV, the correlation of its time with the step's just before it, and
the CV over blocks of 10 pairs of step/workload against that of the step alone. A reference that
follows the machine's speed would have a high correlation and a block CV well under the step's.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def widened(width: int, batch: int, size: int):
    """The calibration CNN's layout at another width, as one training step (the harness's is width 32)."""
    import mindspore as ms
    import mindspore.nn as nn

    def block(cin, cout, k):
        return [nn.Conv2d(cin, cout, k, pad_mode="same", has_bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    w = width
    body = nn.SequentialCell([*block(3, w, 3), nn.MaxPool2d(2, 2), *block(w, 2 * w, 1), *block(2 * w, 2 * w, 3),
                              nn.MaxPool2d(2, 2), *block(2 * w, 2 * w, 1), *block(2 * w, w, 5), *block(w, 4 * w, 3),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dense(4 * w, 10)])
    loss = nn.WithLossCell(body, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))
    step = nn.TrainOneStepCell(loss, nn.Momentum(body.trainable_params(), 0.0, 0.0))
    step.set_train(True)
    x = ms.Tensor(np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32))
    y = ms.Tensor(np.zeros(batch, np.int32))
    return lambda: step(x, y).asnumpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2, help="MindSpore CPU kernel threads")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    import mindspore as ms
    import mindspore.nn as nn

    from googlenet_bench.harness.training.calibration import CalibrationWorkload
    from googlenet_bench.model import GoogleNet

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.device_context.cpu.op_tuning.threads_num(args.threads)
    net = GoogleNet(10)
    train = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")),
                                nn.Momentum(net.trainable_params(), 0.01, 0.9))
    train.set_train(True)
    x = ms.Tensor(np.random.default_rng(0).standard_normal((args.batch, 3, args.image_size, args.image_size))
                  .astype(np.float32))
    y = ms.Tensor(np.zeros(args.batch, np.int32))
    harness_workload = CalibrationWorkload(args.batch, args.image_size)
    workloads = {"calibration (width 32)": harness_workload.run, "width 64": widened(64, args.batch, args.image_size),
                 "width 96": widened(96, args.batch, args.image_size)}

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000.0

    step = lambda: train(x, y).asnumpy()  # noqa: E731
    for fn in (step, *workloads.values()):
        fn()
        fn()
    times = {name: [] for name in ("step", *workloads)}
    for _ in range(args.pairs):
        times["step"].append(timed(step))
        for name, fn in workloads.items():
            times[name].append(timed(fn))
    steps = np.array(times["step"])
    blocks = range(0, args.pairs, 10)
    step_blocks = [np.median(steps[i:i + 10]) for i in blocks]
    print(f"step: median {np.median(steps):.0f} ms, CV {steps.std() / steps.mean():.3f}; over blocks of 10: CV "
          f"{np.std(step_blocks) / np.mean(step_blocks):.3f} ({args.pairs} pairs, {args.threads} kernel threads)")
    for name in workloads:
        ref = np.array(times[name])
        ratio_blocks = [np.median(steps[i:i + 10]) / np.median(ref[i:i + 10]) for i in blocks]
        print(f"{name}: median {np.median(ref):.0f} ms (min {ref.min():.0f}, max {ref.max():.0f}), CV "
              f"{ref.std() / ref.mean():.3f}; correlation with the step {np.corrcoef(steps, ref)[0, 1]:.2f}; "
              f"step/workload over blocks of 10: CV {np.std(ratio_blocks) / np.mean(ratio_blocks):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A drift reference for step times: a fixed calibration workload, timed in the training process
between epochs, so a step time can be divided by what the machine could do at that moment.

The workload is a fixed small CNN (no code of this project's model: a change there must not move
it), trained one step, forward and backward, at the suite's batch and image size, on the same
kernels as GoogleNet (convolutions 1x1/3x3/5x5, BatchNorm, ReLU, max-pooling, a dense head):
100-200 ms on this project's 2-core machine, so it samples the same cache and memory behaviour as
a training step. Each epoch end it is run REPEATS times and the fastest run is kept (min-of-k:
other processes and the machine only ever slow a run down).

Ordering matters: `DriftReference` must come after the epoch timer in the callback list, so the
timer has stopped before the workload runs; `ExtraWork` (a testing knob) must come before it, so
its work is inside the timed epoch.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mindspore.train import Callback

from harness.timing import spread

REPEATS = 3  # timed runs per epoch end; the fastest is that epoch's reference


class CalibrationWorkload:
    """A fixed 6-convolution CNN, one training step (forward, backward), at the suite's batch and size."""

    def __init__(self, batch_size: int, image_size: int):
        import mindspore as ms
        import mindspore.nn as nn
        import mindspore.ops as ops

        def block(cin, cout, k):
            return [nn.Conv2d(cin, cout, k, pad_mode="same", has_bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        ms.set_seed(0)
        body = nn.SequentialCell([*block(3, 32, 3), nn.MaxPool2d(2, 2), *block(32, 64, 1), *block(64, 64, 3),
                                  nn.MaxPool2d(2, 2), *block(64, 64, 1), *block(64, 32, 5), *block(32, 128, 3),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dense(128, 10)])
        loss = nn.WithLossCell(body, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))

        class Gradients(nn.Cell):
            def __init__(self, net):
                super().__init__()
                self.net, self.weights = net, ms.ParameterTuple(net.trainable_params())
                self.grad = ops.GradOperation(get_by_list=True)

            def construct(self, x, y):
                return self.grad(self.net, self.weights)(x, y)

        self.step = Gradients(loss)
        self.step.set_train(True)
        rng = np.random.default_rng(0)
        self.inputs = ms.Tensor(rng.standard_normal((batch_size, 3, image_size, image_size)).astype(np.float32))
        self.labels = ms.Tensor(rng.integers(0, 10, batch_size).astype(np.int32))

    def run(self) -> float:
        """One forward and backward, in ms, waited for to the end."""
        start = time.perf_counter()
        grads = self.step(self.inputs, self.labels)
        grads[-1].asnumpy()
        return (time.perf_counter() - start) * 1000.0


def cpu_ticks() -> tuple[int, int, int] | None:
    """(busy ticks of the whole machine, of this process, stolen by the hypervisor) from /proc; None elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq, int(own[11]) + int(own[12]), steal


class DriftReference(Callback):
    """After each epoch (after the epoch timer stopped): REPEATS timed runs of the workload, the fastest
    kept. The first call also compiles and warms the workload, untimed. Also records, per epoch, the
    cores other processes kept busy and the hypervisor stole (Linux), to explain a disturbed run."""

    def __init__(self, batch_size: int, image_size: int):
        super().__init__()
        self.shape = (batch_size, image_size)
        self.workload: CalibrationWorkload | None = None
        self.per_epoch: list[float] = []
        self.other_load: list[dict] = []
        self._epoch_start: tuple[float, tuple[int, int, int] | None] = (0.0, None)

    def on_train_epoch_begin(self, run_context):
        self._epoch_start = (time.perf_counter(), cpu_ticks())

    def _record_load(self) -> None:
        started, before = self._epoch_start
        after, seconds = cpu_ticks(), time.perf_counter() - started
        if before is None or after is None or seconds <= 0:
            return
        hz = os.sysconf("SC_CLK_TCK")
        busy, own, steal = (a - b for a, b in zip(after, before))
        self.other_load.append({"other_cores": round(max(0, busy - own - steal) / hz / seconds, 3),
                                "stolen_cores": round(steal / hz / seconds, 3), "own_cpu_s": round(own / hz, 2)})

    def on_train_epoch_end(self, run_context):
        self._record_load()
        if self.workload is None:
            self.workload = CalibrationWorkload(*self.shape)
            self.workload.run()
        self.per_epoch.append(min(self.workload.run() for _ in range(REPEATS)))

    def figures(self, ms_per_step: list[float], steps_per_epoch: int) -> dict:
        """The reference per epoch and ms/step over it. `ms_per_step` is per epoch, first (compile) first;
        the first epoch is left out as for ms/step. `normalised_step`, what `check` gates: the median over
        the timed epochs of each epoch's ms/step over the reference timed right after it. Pairing each
        epoch with its own reference is what cancels a change of speed; the fastest epoch over the fastest
        reference (from different moments) did not (README, "Speed figures you can trust")."""
        paired = min(len(ms_per_step), len(self.per_epoch))
        if paired == 0:
            return {}
        timed = slice(1, paired) if paired > 1 else slice(0, paired)
        reference, steps = self.per_epoch[timed], ms_per_step[timed]
        per_epoch = [ms_per_step[i] / self.per_epoch[i] for i in range(paired)]
        cpu_ms = [load["own_cpu_s"] * 1000.0 / steps_per_epoch for load in self.other_load[:paired]]
        return {
            # CPU time this process spent per step (all its threads), from /proc: what other processes
            # taking a core away should not change, unlike the wall clock.
            "cpu_ms_per_step_per_epoch": [round(v, 2) for v in cpu_ms],
            "cpu_ms_per_step_min": round(min(cpu_ms[timed]), 2) if cpu_ms[timed] else None,
            "normalised_step": round(float(np.median(per_epoch[timed])), 4),
            "normalised_step_fastest": round(min(steps) / min(reference), 4),
            "calibration": {"workload": CalibrationWorkload.__doc__, "batch_size": self.shape[0],
                            "image_size": self.shape[1], "repeats_per_epoch": REPEATS,
                            "ms_per_epoch": [round(v, 3) for v in self.per_epoch[:paired]],
                            "ms_min": round(min(reference), 3), "ms_spread": spread(reference)},
            "normalised_step_per_epoch": [round(v, 4) for v in per_epoch],
            "normalised_step_spread": spread(per_epoch[timed], "the reference did not follow the change: rerun "
                                                               "on a quieter machine (see other_load_per_epoch)"),
            "other_load_per_epoch": self.other_load[:paired],
        }


class ExtraWork(Callback):
    """Testing knob (GOOGLENET_BENCH_EXTRA_WORK=N): at each epoch end, before the timer stops, runs
    round(N x steps) calibration workloads: real work on the same kernels, so the step gets slower the
    way a slower network would, and the drift reference does not. Used to test the speed gate."""

    def __init__(self, per_step: float, steps_per_epoch: int, batch_size: int, image_size: int):
        super().__init__()
        self.runs = int(round(per_step * steps_per_epoch))
        self.shape = (batch_size, image_size)
        self.workload: CalibrationWorkload | None = None

    def on_train_epoch_end(self, run_context):
        if self.workload is None:
            self.workload = CalibrationWorkload(*self.shape)
        for _ in range(self.runs):
            self.workload.run()


def speed_callbacks(extra_work_per_step: float, steps_per_epoch: int, batch_size: int,
                    image_size: int) -> tuple[list[Callback], DriftReference]:
    """(callbacks to put before the epoch timer, the drift reference to put after it)."""
    before = [ExtraWork(extra_work_per_step, steps_per_epoch, batch_size, image_size)] if extra_work_per_step else []
    return before, DriftReference(batch_size, image_size)

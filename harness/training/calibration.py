"""A drift reference for step times: a fixed calibration workload, timed in the training process
between training steps, so a step time can be divided by what the machine could do at that moment.
Only when a run asks for it (suite key `drift_reference: true`): it waits for the host every step and
trains a second network (+20% wall time); `check` uses it only to tell the machine's state. Every run
records the other processes' load per epoch (`OtherLoad`, from /proc at epoch boundaries only).

The workload is a fixed small CNN (no code of this project's model: a change there must not move
it), trained one step, forward and backward, at the suite's batch and image size, on the same
kernels as GoogleNet (convolutions 1x1/3x3/5x5, BatchNorm, ReLU, max-pooling, a dense head):
100-250 ms on this project's 2-core machine, so it samples the same cache and memory behaviour as
a training step.

Pairing is fine-grained: after every EVERY_STEPS training steps the workload runs once, and that
window's mean step time (each step timed from its start until its loss is on the host) is divided
by it. Its figure is over the timed epochs' windows (`DriftReference.figures`). An earlier
design timed the workload only at epoch ends (min of 3) and paired it with the whole epoch; on a
quiet machine its references moved 146-272 ms while the steps held at 422-497 (README, "Speed
figures you can trust"). The workload's time is kept off the training clock (`off_clock_s`, which
`TrainTimer` subtracts), so ms/step is what it was without it.

Ordering matters: `ExtraWork` (a testing knob) must come before `DriftReference` in the callback
list, so its work lands inside the timed steps.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mindspore.train import Callback

from googlenet_bench.harness.measure.timing import spread

EVERY_STEPS = 2  # training steps per reference run: about +20% wall time (kept off the clock) at 0.45 step


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


def _wait_for_step(run_context) -> None:
    """Block until the step's outputs are on the host, so a step's time is its own."""
    from googlenet_bench.harness.training.callbacks import loss_value

    loss_value(run_context.original_args().net_outputs)


class StepCounter:
    """Steps trained since the last call: 1 per step without sink, a whole epoch's with it."""

    def __init__(self):
        self.last: int | None = None

    def start(self, run_context) -> None:
        self.last = run_context.original_args().cur_step_num

    def since_last(self, run_context) -> int:
        now = run_context.original_args().cur_step_num
        steps = 1 if self.last is None else max(1, now - self.last)
        self.last = now
        return steps


class DriftReference(Callback):
    """Times every training step (start to loss on the host) and, after every `every_steps` of them,
    one run of the workload (the first call also compiles and warms it); all of that workload time is
    `off_clock_s`."""

    def __init__(self, batch_size: int, image_size: int, every_steps: int = EVERY_STEPS):
        super().__init__()
        self.shape, self.every_steps = (batch_size, image_size), every_steps
        self.workload: CalibrationWorkload | None = None
        self.windows: list[tuple[int, float, float]] = []  # (epoch, mean step ms in the window, reference ms)
        self.off_clock_s = 0.0
        self._steps = StepCounter()
        self._window = (0.0, 0)  # (step ms summed, steps) since the last reference run
        self._step_start = 0.0

    def on_train_begin(self, run_context):
        self._steps.start(run_context)

    def on_train_epoch_begin(self, run_context):
        self._window = (0.0, 0)  # windows stay inside an epoch

    def on_train_step_begin(self, run_context):
        self._step_start = time.perf_counter()

    def on_train_step_end(self, run_context):
        _wait_for_step(run_context)
        step_ms = (time.perf_counter() - self._step_start) * 1000.0
        summed, steps = self._window
        self._window = (summed + step_ms, steps + self._steps.since_last(run_context))
        if self._window[1] >= self.every_steps:
            self._sample(run_context.original_args().cur_epoch_num)

    def _sample(self, epoch: int) -> None:
        started = time.perf_counter()
        if self.workload is None:
            self.workload = CalibrationWorkload(*self.shape)
            self.workload.run()  # compiles
        reference_ms = self.workload.run()
        summed, steps = self._window
        self.windows.append((epoch, summed / steps, reference_ms))
        self._window = (0.0, 0)
        self.off_clock_s += time.perf_counter() - started

    def figures(self) -> dict:
        """`normalised_step`: over the windows of the timed epochs (the run's first
        epoch, with the compile, is left out unless it is the only one), the median step time over the
        median reference time. The references are interleaved with the steps, so both sample the same
        moments of a drifting machine; a ratio of medians, not a median of per-window ratios, because
        this machine's speed also jumps within a second (one reference alone: 183-293 ms back to back),
        which no pairing follows and which a per-window ratio doubles. Also per epoch, and the spread."""
        if not self.windows:
            return {}
        epochs = sorted({epoch for epoch, _, _ in self.windows})
        timed_epochs = epochs[1:] or epochs
        timed = [w for w in self.windows if w[0] in timed_epochs]

        def ratio(windows) -> float:
            return float(np.median([step for _, step, _ in windows]) / np.median([ref for _, _, ref in windows]))

        per_epoch = [ratio([w for w in self.windows if w[0] == epoch]) for epoch in epochs]
        references = [reference for _, _, reference in timed]
        return {
            "normalised_step": round(ratio(timed), 4),
            "calibration": {"workload": CalibrationWorkload.__doc__, "batch_size": self.shape[0],
                            "image_size": self.shape[1], "every_steps": self.every_steps,
                            "ms_median": round(float(np.median(references)), 3), "ms_spread": spread(references),
                            "off_clock_s": round(self.off_clock_s, 2),
                            "windows": [[epoch, round(step, 2), round(ref, 2)] for epoch, step, ref in self.windows]},
            "normalised_step_per_epoch": [round(v, 4) for v in per_epoch],
            "normalised_step_spread": spread(per_epoch[len(epochs) - len(timed_epochs):],
                                             "the reference did not follow the change: rerun on a quieter "
                                             "machine (see other_load_per_epoch)"),
        }


class OtherLoad(Callback):
    """Per epoch, from /proc at the epoch's begin and end only (Linux; nothing elsewhere): the cores other
    processes kept busy, those the hypervisor stole, and this process's own CPU time per step, to explain
    a disturbed run and to tell `check` whether the machine was in the same state."""

    def __init__(self):
        super().__init__()
        self.other_load: list[dict] = []
        self._epoch_start: tuple[float, tuple[int, int, int] | None] = (0.0, None)

    def on_train_epoch_begin(self, run_context):
        self._epoch_start = (time.perf_counter(), cpu_ticks())

    def on_train_epoch_end(self, run_context):
        started, before = self._epoch_start
        after, seconds = cpu_ticks(), time.perf_counter() - started
        if before is None or after is None or seconds <= 0:
            return
        hz = os.sysconf("SC_CLK_TCK")
        busy, own, steal = (a - b for a, b in zip(after, before))
        self.other_load.append({"other_cores": round(max(0, busy - own - steal) / hz / seconds, 3),
                                "stolen_cores": round(steal / hz / seconds, 3), "own_cpu_s": round(own / hz, 2)})

    def figures(self, steps_per_epoch: int) -> dict:
        cpu_ms = [load["own_cpu_s"] * 1000.0 / steps_per_epoch for load in self.other_load]
        timed_cpu = cpu_ms[1:] or cpu_ms
        # CPU time this process spent per step (all its threads): what other processes taking a core
        # away should not change, unlike the wall clock.
        return {"cpu_ms_per_step_per_epoch": [round(v, 2) for v in cpu_ms],
                "cpu_ms_per_step_min": round(min(timed_cpu), 2) if timed_cpu else None,
                "other_load_per_epoch": self.other_load}


class ExtraWork(Callback):
    """Testing knob (GOOGLENET_BENCH_EXTRA_WORK=N): N calibration workloads per training step, run
    inside the step's time (fractions carry over: 0.5 runs one every second step). Real work on the
    same kernels, so the step gets slower the way a slower network would, and the drift reference
    does not. Used to test the speed gate."""

    def __init__(self, per_step: float, batch_size: int, image_size: int):
        super().__init__()
        self.per_step, self.owed = per_step, 0.0
        self.shape = (batch_size, image_size)
        self.workload: CalibrationWorkload | None = None
        self._steps = StepCounter()

    def on_train_begin(self, run_context):
        self._steps.start(run_context)

    def on_train_step_end(self, run_context):
        if self.workload is None:
            self.workload = CalibrationWorkload(*self.shape)
        self.owed += self.per_step * self._steps.since_last(run_context)
        while self.owed >= 1.0:
            self.workload.run()
            self.owed -= 1.0


def speed_callbacks(extra_work_per_step: float, batch_size: int, image_size: int,
                    drift_reference: bool) -> tuple[list[Callback], DriftReference | None]:
    """(callbacks to put before the drift reference, the drift reference if the run asked for it)."""
    before = [ExtraWork(extra_work_per_step, batch_size, image_size)] if extra_work_per_step else []
    return before, DriftReference(batch_size, image_size) if drift_reference else None

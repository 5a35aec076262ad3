"""Training callbacks on whole epochs: timing, checkpoints, evaluation every k epochs (time to
accuracy), the divergence rule, and the stop on a signal (at a step). (Progress within an epoch: progress.py.)"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import mindspore as ms
from mindspore.train import Callback


@dataclass
class EpochFigures:
    epoch: int
    steps: int
    seconds: float
    loss: float  # the mean of the losses the epoch's steps returned to Python (every step without sink)
    lr: float | None = None  # learning rate of the epoch's last step, from the optimizer's own step count
    last_loss: float | None = None  # the epoch's last step's loss
    loss_steps: int = 1  # how many steps' losses the mean is over (one per sink chunk with sink)

    @property
    def ms_per_step(self) -> float:
        return self.seconds * 1000.0 / self.steps


@dataclass(frozen=True)
class DivergenceRule:
    """An epoch's mean loss that is not finite, or above `factor` x ln(max(num_classes, 10)), has
    diverged: the run stops at that epoch's end. A fresh network starts near ln(num_classes); the floor of 10
    classes keeps the ceiling above the bounce of a healthy run with few classes."""

    num_classes: int
    factor: float

    @property
    def ceiling(self) -> float:
        return self.factor * math.log(max(self.num_classes, 10))

    def broken_by(self, loss: float) -> str | None:
        if not math.isfinite(loss):
            return f"the loss is {loss} (not finite)"
        if loss > self.ceiling:
            return (f"the epoch's mean loss {loss:.4g} exceeds divergence_loss_factor {self.factor:g} x "
                    f"ln(max(num_classes, 10)) = {self.ceiling:.4g}")
        return None


@dataclass
class TrainTimer(Callback):
    """Times each epoch, from its first sink chunk's start to its last chunk's end, and divides by its
    steps, as the zoo's TimeMonitor does: per-step callbacks would force sink_size=1, which is 4.4x
    slower on CPU. Time spent inside the epoch on the drift reference (`off_clock`, a running total in
    seconds) is left out, so ms/step is the training's own. The epoch's loss is the mean of the losses
    its steps return (one batch's loss says little): each step's loss tensor is kept as it is and read
    on the host only at the epoch's end, so no step waits for the host."""

    steps_per_epoch: int
    on_epoch: Callable[[EpochFigures], None] = lambda figures: None
    learning_rates: np.ndarray | None = None
    on_epoch_start: Callable[[int], None] = lambda epoch: None
    divergence: DivergenceRule | None = None
    epochs: list[EpochFigures] = field(default_factory=list)
    diverged: dict | None = None  # {"at_step", "epoch", "loss", "rule"} once the rule fired
    off_clock: Callable[[], float] = lambda: 0.0

    def __post_init__(self):
        super().__init__()
        self._start, self._off_clock_at_start = 0.0, 0.0
        self._losses: list = []  # this epoch's step outputs, not yet read on the host

    def on_train_epoch_begin(self, run_context):
        self.on_epoch_start(run_context.original_args().cur_epoch_num)
        self._start, self._off_clock_at_start = time.perf_counter(), self.off_clock()
        self._losses = []

    def on_train_step_end(self, run_context):
        self._losses.append(run_context.original_args().net_outputs)

    def on_train_epoch_end(self, run_context):
        seconds = time.perf_counter() - self._start - (self.off_clock() - self._off_clock_at_start)
        params = run_context.original_args()
        last = loss_value(params.net_outputs)
        losses = [loss_value(outputs) for outputs in self._losses] or [last]
        self._losses = []
        loss = float(np.mean(losses))
        lr = None
        if self.learning_rates is not None and params.optimizer is not None:
            step = int(params.optimizer.global_step.asnumpy()[0])
            lr = round(float(self.learning_rates[min(step, len(self.learning_rates)) - 1]), 8)
        figures = EpochFigures(params.cur_epoch_num, self.steps_per_epoch, seconds, loss, lr, last, len(losses))
        self.epochs.append(figures)
        self.on_epoch(figures)
        broken = self.divergence.broken_by(loss) if self.divergence else None
        if broken:
            self.diverged = {"at_step": params.cur_step_num, "epoch": params.cur_epoch_num, "loss": loss,
                             "rule": broken}
            run_context.request_stop()


class SaveCheckpoints(Callback):
    """A resumable checkpoint every `every` epochs and when training ends between those (the last
    epoch, a stop at the target, a divergence that the caller then drops), as ModelCheckpoint does but
    named per real epoch under chunked sink; then the newest `keep` are kept whatever their prefix (a
    resumed run saves under a new one)."""

    def __init__(self, checkpoint_dir, prefix: str, steps_per_epoch: int, every: int, keep: int):
        super().__init__()
        self.checkpoint_dir, self.prefix, self.steps_per_epoch = checkpoint_dir, prefix, steps_per_epoch
        self.every, self.keep = every, keep
        self.last_saved_epoch = None

    def on_train_epoch_end(self, run_context):
        if run_context.original_args().cur_epoch_num % self.every == 0:
            self._save(run_context.original_args())

    def on_train_end(self, run_context):
        params = run_context.original_args()
        if self.last_saved_epoch != params.cur_epoch_num:
            self._save(params)

    def _save(self, params):
        from googlenet_bench.harness.results.checkpoints import prune_checkpoints, save_training_checkpoint

        # A resume from an older checkpoint (the newer one corrupt) trains that epoch again: replace it.
        save_training_checkpoint(params.train_network, self.checkpoint_dir, self.prefix, params.cur_epoch_num,
                                 self.steps_per_epoch, params.cur_epoch_num * self.steps_per_epoch, replace=True)
        self.last_saved_epoch = params.cur_epoch_num
        prune_checkpoints(self.checkpoint_dir, self.keep)


@dataclass
class EvalPoint:
    epoch: int
    train_s: float  # the training clock when the epoch ended: epochs' times only, no evaluation
    top1: float


class EvalEvery(Callback):
    """Scores the eval split every `every` epochs, as MLPerf measures time to accuracy. It must come
    after the TrainTimer in the callback list: the timer's epoch end (its clock stops) runs before the
    evaluation, and the next epoch's start (its clock starts) after it, so evaluation stays out of
    the training clock; its own time is `eval_s`. With `stop`, training ends at the epoch the
    target is reached."""

    def __init__(self, net, dataset, num_classes: int, every: int, timer: TrainTimer, *, clock_offset_s: float = 0.0,
                 target: float | None = None, stop: bool = False,
                 on_point: Callable[[EvalPoint, float], None] = lambda point, seconds: None):
        super().__init__()
        self.net, self.dataset, self.num_classes, self.every, self.timer = net, dataset, num_classes, every, timer
        self.clock_offset_s, self.target, self.stop, self.on_point = clock_offset_s, target, stop, on_point
        self.points: list[EvalPoint] = []
        self.eval_s = 0.0
        self.reached: EvalPoint | None = None

    def on_train_epoch_end(self, run_context):
        from googlenet_bench.harness.measure.scoring import predictor_of, score

        from googlenet_bench.harness import interrupts

        epoch = run_context.original_args().cur_epoch_num
        if epoch % self.every or self.timer.diverged is not None or interrupts.pending():  # stopping: no evaluation
            return
        start = time.perf_counter()
        try:
            result = score(predictor_of(self.net), self.dataset, self.num_classes)
        except interrupts.Interrupted:  # a signal mid-evaluation: no point; the stop saves this epoch's end
            return
        finally:
            self.net.set_train(True)
            seconds = time.perf_counter() - start
            self.eval_s += seconds
        point = EvalPoint(epoch, round(self.clock_offset_s + sum(e.seconds for e in self.timer.epochs), 2),
                          result.top1)
        self.points.append(point)
        self.on_point(point, seconds)
        if self.target is not None and self.reached is None and result.top1 >= self.target:
            self.reached = point
            if self.stop:
                run_context.request_stop()

    def figures(self) -> dict:
        figures = {"eval_every_epochs": self.every, "eval_s": round(self.eval_s, 2),
                   "accuracy_curve": [{"epoch": p.epoch, "train_s": p.train_s, "top1": p.top1} for p in self.points]}
        if self.target is not None:
            figures.update(target_top1=self.target, target_reached=self.reached is not None,
                           time_to_target_s=self.reached.train_s if self.reached else None,
                           epochs_to_target=self.reached.epoch if self.reached else None)
        return figures


class StopOnInterrupt(Callback):
    """After SIGINT or SIGTERM (googlenet_bench.harness.interrupts): stop at the next step end (when sinking,
    the next sink chunk's end) with a resumable checkpoint of that step, then raise Interrupted. It is
    given to Model.train beside WholeEpochs, not inside it, so that it sees every step or chunk; at an
    epoch's last step it waits for the epoch end, so that the epoch's callbacks (timer, checkpoint) run first.
    `start_step`: the global steps done before this process (a resumed run)."""

    def __init__(self, checkpoint_dir, prefix: str, steps_per_epoch: int, save: bool, start_step: int = 0):
        super().__init__()
        self.checkpoint_dir, self.prefix, self.steps_per_epoch, self.save = checkpoint_dir, prefix, steps_per_epoch, save
        self.start_step = start_step
        self.saved = None  # the checkpoint written on the way out, if any
        self.at_step = None  # the global step it was saved at

    def on_train_step_end(self, run_context):
        self._stop_if_asked(run_context, epoch_end=False)

    def on_train_epoch_end(self, run_context):
        self._stop_if_asked(run_context, epoch_end=True)

    def _stop_if_asked(self, run_context, epoch_end: bool):
        from googlenet_bench.harness import interrupts

        if not interrupts.pending():
            return
        params = run_context.original_args()
        step = self.start_step + params.cur_step_num
        epochs_done, in_epoch = divmod(step, self.steps_per_epoch)
        if in_epoch == 0 and not epoch_end:
            return
        if self.save:
            from googlenet_bench.harness.results.checkpoints import save_training_checkpoint

            self.saved = save_training_checkpoint(params.train_network, self.checkpoint_dir, self.prefix, epochs_done,
                                                  self.steps_per_epoch, step, in_epoch=in_epoch)
            self.at_step = step
        interrupts.check()


def loss_value(outputs) -> float:
    """A step's loss on the host (waiting for the step): the first output of a loss-scaled cell's tuple."""
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0]
    if isinstance(outputs, ms.Tensor):
        return float(outputs.asnumpy().mean())
    return float(outputs)


def timing_summary(epochs: list[EpochFigures]) -> dict:
    """ms/step median, p90, fastest and spread (harness/measure/timing.py) over the epochs after the first
    (which holds the graph compile)."""
    from googlenet_bench.harness.measure.timing import spread

    if not epochs:
        return {}
    steady = epochs[1:] or epochs
    per_step = np.array([e.ms_per_step for e in steady])
    median = float(np.median(per_step))
    compile_s = max(0.0, epochs[0].seconds - median * epochs[0].steps / 1000.0) if len(epochs) > 1 else None
    return {
        "ms_per_step_median": round(median, 2),
        "ms_per_step_p90": round(float(np.percentile(per_step, 90)), 2),
        "ms_per_step_min": round(float(per_step.min()), 2), "ms_per_step_spread": spread(list(per_step)),
        "timed_epochs": len(steady),
        "compile_s": None if compile_s is None else round(compile_s, 2),
        "first_epoch_s": round(epochs[0].seconds, 2),
    }


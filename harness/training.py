"""Training pieces the runner assembles: loss, optimizer, timing callback, scoring."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.train import Callback

NO_DECAY_SUFFIXES = (".bias", ".gamma", ".beta")


class LabelSmoothingCrossEntropy(nn.LossBase):
    """The zoo's ImageNet loss: one-hot with `1 - smoothing` on the label, `smoothing/(N-1)` elsewhere."""

    def __init__(self, num_classes: int, smoothing: float):
        super().__init__()
        self.num_classes = num_classes
        self.on_value = ms.Tensor(1.0 - smoothing, ms.float32)
        self.off_value = ms.Tensor(smoothing / (num_classes - 1), ms.float32)
        self.onehot = ops.OneHot()
        self.ce = nn.SoftmaxCrossEntropyWithLogits(sparse=False, reduction="mean")

    def construct(self, logits, label):
        target = self.onehot(label, self.num_classes, self.on_value, self.off_value)
        return self.ce(logits, target)


def build_loss(config: dict) -> nn.Cell:
    if config["label_smoothing"] > 0:
        return LabelSmoothingCrossEntropy(config["num_classes"], float(config["label_smoothing"]))
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")


def build_optimizer(config: dict, net: nn.Cell, learning_rates: np.ndarray) -> nn.Optimizer:
    """Momentum with the zoo's weight-decay rule: on all parameters (CIFAR-10) or on
    weights only, not biases and BatchNorm gamma/beta (ImageNet)."""
    params = net.trainable_params()
    decay = float(config["weight_decay"])
    if config["weight_decay_on"] == "weights_only":
        no_decay = [p for p in params if p.name.endswith(NO_DECAY_SUFFIXES)]
        with_decay = [p for p in params if not p.name.endswith(NO_DECAY_SUFFIXES)]
        groups = [{"params": with_decay, "weight_decay": decay}, {"params": no_decay, "weight_decay": 0.0},
                  {"order_params": params}]
        return nn.Momentum(groups, learning_rate=ms.Tensor(learning_rates), momentum=float(config["momentum"]))
    return nn.Momentum(params, learning_rate=ms.Tensor(learning_rates), momentum=float(config["momentum"]),
                       weight_decay=decay)


@dataclass
class EpochFigures:
    epoch: int
    steps: int
    seconds: float
    loss: float
    lr: float | None = None  # learning rate of the epoch's last step, from the optimizer's own step count

    @property
    def ms_per_step(self) -> float:
        return self.seconds * 1000.0 / self.steps


@dataclass
class TrainTimer(Callback):
    """Times each sink chunk (one epoch) and divides by its steps, as the zoo's TimeMonitor
    does: per-step callbacks would force sink_size=1, which is 4.4x slower on CPU."""

    steps_per_epoch: int
    on_epoch: Callable[[EpochFigures], None] = lambda figures: None
    learning_rates: np.ndarray | None = None
    on_epoch_start: Callable[[int], None] = lambda epoch: None
    epochs: list[EpochFigures] = field(default_factory=list)
    diverged_at_step: int | None = None

    def __post_init__(self):
        super().__init__()
        self._start = 0.0

    def on_train_epoch_begin(self, run_context):
        self.on_epoch_start(run_context.original_args().cur_epoch_num)
        self._start = time.perf_counter()

    def on_train_epoch_end(self, run_context):
        seconds = time.perf_counter() - self._start
        params = run_context.original_args()
        loss = _as_float(params.net_outputs)
        lr = None
        if self.learning_rates is not None and params.optimizer is not None:
            step = int(params.optimizer.global_step.asnumpy()[0])
            lr = round(float(self.learning_rates[min(step, len(self.learning_rates)) - 1]), 8)
        figures = EpochFigures(params.cur_epoch_num, self.steps_per_epoch, seconds, loss, lr)
        self.epochs.append(figures)
        self.on_epoch(figures)
        if not math.isfinite(loss):
            self.diverged_at_step = params.cur_step_num
            run_context.request_stop()


class StopOnInterrupt(Callback):
    """At an epoch end after Ctrl-C: save a resumable checkpoint (unless one was just saved), then stop."""

    def __init__(self, checkpoint_dir, prefix: str, steps_per_epoch: int, save: bool):
        super().__init__()
        self.checkpoint_dir, self.prefix, self.steps_per_epoch, self.save = checkpoint_dir, prefix, steps_per_epoch, save

    def on_train_epoch_end(self, run_context):
        from harness import interrupts

        if not interrupts.pending():
            return
        params = run_context.original_args()
        path = self.checkpoint_dir / f"{self.prefix}-{params.cur_epoch_num}_{self.steps_per_epoch}.ckpt"
        if self.save and not path.exists():
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            ms.save_checkpoint(params.train_network, str(path), crc_check=True,
                               append_dict={"epoch_num": params.cur_epoch_num, "step_num": params.cur_step_num})
        raise KeyboardInterrupt


def _as_float(outputs) -> float:
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0]
    if isinstance(outputs, ms.Tensor):
        return float(outputs.asnumpy().mean())
    return float(outputs)


def timing_summary(epochs: list[EpochFigures]) -> dict:
    """ms/step median and p90 over the epochs after the first (which holds the graph compile)."""
    if not epochs:
        return {}
    steady = epochs[1:] or epochs
    per_step = np.array([e.ms_per_step for e in steady])
    median = float(np.median(per_step))
    compile_s = max(0.0, epochs[0].seconds - median * epochs[0].steps / 1000.0) if len(epochs) > 1 else None
    return {
        "ms_per_step_median": round(median, 2),
        "ms_per_step_p90": round(float(np.percentile(per_step, 90)), 2),
        "timed_epochs": len(steady),
        "compile_s": None if compile_s is None else round(compile_s, 2),
        "first_epoch_s": round(epochs[0].seconds, 2),
    }


@dataclass
class Score:
    images: int
    top1: float
    top5: float | None
    ms_per_batch: float | None
    correct_top1: int


def score(predict: Callable[[np.ndarray], np.ndarray], dataset, num_classes: int) -> Score:
    """Top-1 (and top-5 when there are more than 10 classes) over every batch of `dataset`.
    The first batch (compile and warm-up) and a short last batch (a new shape) are left out of the latency."""
    images = correct1 = correct5 = 0
    latencies = []
    full_batch = None
    for inputs, labels in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        start = time.perf_counter()
        logits = np.asarray(predict(np.ascontiguousarray(inputs, dtype=np.float32)))
        if full_batch is None:
            full_batch = len(inputs)
        elif len(inputs) == full_batch:
            latencies.append((time.perf_counter() - start) * 1000.0)
        labels = labels.astype(np.int64)
        top = np.argsort(-logits, axis=1)
        correct1 += int((top[:, 0] == labels).sum())
        correct5 += int((top[:, :5] == labels[:, None]).any(axis=1).sum())
        images += len(labels)
    if images == 0:
        raise RuntimeError("the evaluation data set yielded no images")
    return Score(images=images, top1=correct1 / images,
                 top5=correct5 / images if num_classes > 10 else None,
                 ms_per_batch=round(float(np.median(latencies)), 2) if latencies else None,
                 correct_top1=correct1)


class Progress:
    """Epoch progress: an updating line on a terminal, plain lines otherwise."""

    def __init__(self, total_epochs: int, stream=sys.stderr):
        self.total = total_epochs
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, figures: EpochFigures) -> None:
        text = (f"epoch {figures.epoch}/{self.total}  loss {figures.loss:.4f}  "
                f"{figures.ms_per_step:.1f} ms/step")
        if self.tty:
            end = "\n" if figures.epoch >= self.total else ""
            self.stream.write("\r\033[K" + text + end)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

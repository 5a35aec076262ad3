"""The one way a network is trained here: loss, optimizer, and the MindSpore Model with the recipe's
AMP, loss scaling and jit level (always passed explicitly, as the zoo passes them), then `Training.fit`.
The run, the scratch comparison, a rehearsal's fp32 twin and each tuning candidate all train through
`prepare_training`; what differs between them (callbacks, sink, resume point) is an argument."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops

from googlenet_bench.harness.types import AmpSettings, Recipe

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


def build_optimizer(config: dict, net: nn.Cell, learning_rates: np.ndarray, loss_scale: float = 1.0) -> nn.Optimizer:
    """Momentum with the zoo's weight-decay rule: MindSpore's default filter (CIFAR-10), which skips
    BatchNorm gamma and beta, so 59 of GoogleNet's 173 trainable parameters decay, as in the zoo; or
    weights only, not biases and BatchNorm gamma/beta (ImageNet). `loss_scale` is the
    factor the optimizer divides the gradients by (a fixed loss scale that drops no step)."""
    params = net.trainable_params()
    decay = float(config["weight_decay"])
    momentum = float(config["momentum"])
    if config["weight_decay_on"] == "weights_only":
        no_decay = [p for p in params if p.name.endswith(NO_DECAY_SUFFIXES)]
        with_decay = [p for p in params if not p.name.endswith(NO_DECAY_SUFFIXES)]
        groups = [{"params": with_decay, "weight_decay": decay}, {"params": no_decay, "weight_decay": 0.0},
                  {"order_params": params}]
        return nn.Momentum(groups, learning_rate=ms.Tensor(learning_rates), momentum=momentum, loss_scale=loss_scale)
    return nn.Momentum(params, learning_rate=ms.Tensor(learning_rates), momentum=momentum,
                       weight_decay=decay, loss_scale=loss_scale)


def loss_scale_manager(amp: AmpSettings):
    """The manager `Model` is given; None means no loss scaling (and must be passed as None:
    left out, O2 would pick a DynamicLossScaleManager of its own)."""
    from mindspore.train import DynamicLossScaleManager, FixedLossScaleManager

    if amp.loss_scale == "fixed":
        return FixedLossScaleManager(float(amp.loss_scale_value), drop_overflow_update=amp.drop_overflow_update)
    if amp.loss_scale == "dynamic":
        return DynamicLossScaleManager(init_loss_scale=amp.dynamic.init, scale_factor=amp.dynamic.factor,
                                       scale_window=amp.dynamic.window)
    return None


def build_model(net: nn.Cell, config: dict, recipe: Recipe, learning_rates: np.ndarray):
    """The Model as the zoo builds it; returns (model, optimizer)."""
    from mindspore.train import Model

    if recipe.jit_level:
        net.set_jit_config(ms.JitConfig(jit_level=recipe.jit_level))
    amp = recipe.amp
    optimizer = build_optimizer(config, net, learning_rates, loss_scale=amp.optimizer_loss_scale)
    kwargs = {"keep_batchnorm_fp32": amp.keep_batchnorm_fp32} if amp.keep_batchnorm_fp32 is not None else {}
    model = Model(net, loss_fn=build_loss(config), optimizer=optimizer, amp_level=amp.level,
                  loss_scale_manager=loss_scale_manager(amp), **kwargs)
    return model, optimizer


@dataclass
class Training:
    """A network's Model and optimizer, built from the recipe, with the learning rate of every step."""

    model: object
    optimizer: nn.Optimizer
    learning_rates: np.ndarray

    def fit(self, epochs: int, dataset, *, sink_mode: bool, callbacks=(), sink_size: int = -1,
            initial_epoch: int = 0) -> None:
        self.model.train(epochs, dataset, callbacks=list(callbacks), dataset_sink_mode=sink_mode,
                         sink_size=sink_size if sink_mode else -1, initial_epoch=initial_epoch)


def prepare_training(net: nn.Cell, config: dict, recipe: Recipe, steps_per_epoch: int) -> Training:
    from googlenet_bench.harness.training.schedules import learning_rates

    rates = learning_rates(config, steps_per_epoch)
    model, optimizer = build_model(net, config, recipe, rates)
    return Training(model, optimizer, rates)


def trained_cell(model) -> dict:
    """What MindSpore actually built to train with: the cell class and its loss scaling."""
    cell = model._train_network  # Model has no public accessor for the cell it trains
    described = {"cell": type(cell).__name__}
    sens = getattr(cell, "sens", None)
    if sens is not None:
        described["sens"] = float(sens)
    scale = getattr(cell, "scale_sense", None)
    if scale is not None:
        described["scale_sense"] = float(scale.asnumpy()) if hasattr(scale, "asnumpy") else scale
    optimizer = getattr(cell, "optimizer", None)
    if optimizer is not None and hasattr(optimizer, "loss_scale"):
        described["optimizer_loss_scale"] = float(optimizer.loss_scale)
    jit = getattr(cell, "jit_config_dict", None)
    described["jit_level"] = (jit or {}).get("jit_level") or None
    return described


def fp32_network(trained: nn.Cell, num_classes: int) -> nn.Cell:
    """A fresh fp32 GoogleNet holding `trained`'s weights, as the zoo's eval.py and export.py build one:
    AMP O2/O3 cast the trained network to fp16 in place (Cell.to_float), so evaluating or exporting that
    network would score and ship fp16 casts the zoo never does."""
    from googlenet_bench.model import GoogleNet

    fresh = GoogleNet(num_classes)
    weights = {param.name: ms.Parameter(param.data.copy(), name=param.name) for param in trained.get_parameters()}
    ms.load_param_into_net(fresh, weights, strict_load=True)
    return fresh

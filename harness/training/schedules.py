"""Learning-rate schedules as per-step arrays (what mindspore's optimizers take)."""
from __future__ import annotations

import math

import numpy as np

from googlenet_bench.harness.errors import BenchError


def cifar10_step(lr_init: float, total_steps: int) -> np.ndarray:
    """The zoo's CIFAR-10 schedule: lr_init until 30% of all steps, then x0.1, x0.01 from 60%, x0.001 from 80%."""
    steps = np.arange(total_steps)
    factor = np.select([steps < 0.3 * total_steps, steps < 0.6 * total_steps, steps < 0.8 * total_steps],
                       [1.0, 0.1, 0.01], default=0.001)
    return (lr_init * factor).astype(np.float32)


def _warmup(lr_init: float, warmup_steps: int, schedule: np.ndarray) -> np.ndarray:
    """Linear warm-up from lr_init/warmup_steps to lr_init over the first warmup_steps steps."""
    warm = min(warmup_steps, len(schedule))
    schedule[:warm] = lr_init * (np.arange(warm) + 1) / max(warmup_steps, 1)
    return schedule


def step_decay(lr_init: float, steps_per_epoch: int, epochs: int, decay_epochs: list[int],
               factor: float, warmup_epochs: int = 0) -> np.ndarray:
    """The zoo's ImageNet "exponential" schedule: warm-up, then lr x factor at each decay epoch."""
    epoch_of_step = np.arange(steps_per_epoch * epochs) // steps_per_epoch
    decays = np.searchsorted(np.asarray(sorted(decay_epochs)), epoch_of_step, side="right")
    schedule = lr_init * factor ** decays
    return _warmup(lr_init, warmup_epochs * steps_per_epoch, schedule).astype(np.float32)


def cosine(lr_init: float, steps_per_epoch: int, epochs: int, eta_min: float = 0.0,
           t_max_epochs: int | None = None, warmup_epochs: int = 0) -> np.ndarray:
    """Cosine annealing per epoch, as the zoo's: eta_min + (lr_init - eta_min)(1 + cos(pi e / T_max)) / 2."""
    t_max = t_max_epochs or epochs
    epoch_of_step = np.arange(steps_per_epoch * epochs) // steps_per_epoch
    schedule = eta_min + (lr_init - eta_min) * (1 + np.cos(math.pi * epoch_of_step / t_max)) / 2
    return _warmup(lr_init, warmup_epochs * steps_per_epoch, schedule).astype(np.float32)


def learning_rates(config: dict, steps_per_epoch: int) -> np.ndarray:
    """The whole run's per-step learning rates for a resolved suite config."""
    epochs, lr = config["epochs"], float(config["lr_init"])
    kind = config["lr_schedule"]
    if kind == "cifar10_step":
        return cifar10_step(lr, steps_per_epoch * epochs)
    if kind == "imagenet_step":
        return step_decay(lr, steps_per_epoch, epochs, config["lr_decay_epochs"],
                          float(config["lr_decay_factor"]), config["lr_warmup_epochs"])
    if kind == "cosine":
        return cosine(lr, steps_per_epoch, epochs, float(config["lr_end"]),
                      config["lr_cosine_tmax_epochs"], config["lr_warmup_epochs"])
    if kind == "constant":
        return np.full(steps_per_epoch * epochs, lr, dtype=np.float32)
    raise BenchError(f"unknown lr_schedule {kind!r}")

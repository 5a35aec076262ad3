"""The bottom layer: names and plain data types that the hooks, the plan and the phases share.

Nothing here imports MindSpore or another harness module (but errors), so every
module can import it without a cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

PHASES = ("setup", "data", "train", "profile", "eval", "export", "infer", "record")
ALWAYS = ("setup", "record")
# Run only when asked for (--profile, or named in --phases): a run without --phases has the others.
OPT_IN_PHASES = ("profile",)
DEFAULT_PHASES = tuple(name for name in PHASES if name not in OPT_IN_PHASES)
# With several ranks, every rank trains; rank 0 alone evaluates, exports and infers.
MAIN_RANK_ONLY = ("eval", "export", "infer")
# Export format -> file extension; the one table of formats.
EXPORT_EXTENSIONS = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}
AMP_LEVELS = ("O0", "O1", "O2", "O3")
LOSS_SCALES = ("none", "fixed", "dynamic")

# A run's outcome. Only "success" is a valid result; every other status exits non-zero.
# precision_gap: a rehearsal learned much worse than its fp32 twin (googlenet_bench.harness.lifecycle.twin);
# export_failed: a requested export format could not be written (the others were, and inferred from).
STATUSES = ("success", "below_target", "export_mismatch", "export_failed", "precision_gap", "diverged", "failed",
            "aborted")
# A rank that ends with one of these ran to its end: the parent takes its status from rank 0's record.
RAN_TO_THE_END = ("success", "below_target", "export_mismatch", "export_failed", "precision_gap", "diverged")


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class RankInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1  # ranks on this machine (e.g. to split its cores among them)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass(frozen=True)
class DynamicScale:
    """The zoo's DynamicLossScaleManager(65536, 2, 2000)."""

    init: float = 65536.0
    factor: int = 2
    window: int = 2000


@dataclass(frozen=True)
class AmpSettings:
    """Mixed precision and loss scaling as data; googlenet_bench.harness.training.builder turns it into MindSpore objects.

    loss_scale: "none" (no manager: MindSpore is passed loss_scale_manager=None), "fixed"
    (FixedLossScaleManager(loss_scale_value, drop_overflow_update) and, when overflow steps
    are not dropped, the optimizer divides the gradients back by the same value), or
    "dynamic" (DynamicLossScaleManager with `dynamic`; the optimizer's loss_scale stays 1).
    """

    level: str = "O0"
    keep_batchnorm_fp32: bool | None = None
    loss_scale: str = "none"
    loss_scale_value: float = 1.0
    drop_overflow_update: bool = False
    dynamic: DynamicScale = DynamicScale()

    @property
    def optimizer_loss_scale(self) -> float:
        if self.loss_scale == "fixed" and not self.drop_overflow_update:
            return float(self.loss_scale_value)
        return 1.0

    def describe(self) -> dict:
        described = {"amp_level": self.level, "keep_batchnorm_fp32": self.keep_batchnorm_fp32,
                     "loss_scale": self.loss_scale, "optimizer_loss_scale": self.optimizer_loss_scale}
        if self.loss_scale == "fixed":
            described.update(loss_scale_value=self.loss_scale_value, drop_overflow_update=self.drop_overflow_update)
        elif self.loss_scale == "dynamic":
            described.update(dynamic_init=self.dynamic.init, dynamic_factor=self.dynamic.factor,
                             dynamic_window=self.dynamic.window)
        return described


@dataclass(frozen=True)
class Recipe:
    """How a device trains and what it exports: the part of a backend a rehearsal reproduces."""

    amp: AmpSettings
    jit_level: str | None = None  # "O1" turns on MindSpore's graph-kernel (operator) fusion
    export_formats: tuple[str, ...] = ("MINDIR",)

    def describe(self) -> dict:
        return {**self.amp.describe(), "jit_level": self.jit_level, "export_formats": list(self.export_formats)}

    def with_changes(self, **changes) -> "Recipe":
        return replace(self, **changes)


@dataclass(frozen=True)
class Rehearsal:
    """A host runs another device's recipe: what was asked, what ran, and why they differ."""

    host: str
    requested: Recipe
    notes: tuple[str, ...] = ()

    def describe(self, ran: Recipe) -> dict:
        return {"host": self.host, "requested": self.requested.describe(), "ran": ran.describe(),
                "notes": list(self.notes)}


@dataclass(frozen=True)
class DatasetOptions:
    num_parallel_workers: int = 2
    sink_mode: bool = True
    extra: dict = field(default_factory=dict)

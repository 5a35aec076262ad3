"""A rehearsal's fp32 twin: the same seed, data, steps and recipe with AMP at O0, trained in the same run,
so what the device's precision costs the recipe on this CPU is measured beside it, not assumed.

A rehearsal learned much worse than its twin when its eval top-1 is more than TOP1_GAP below the
twin's, or, where the twin's mean loss clearly fell (by TWIN_FALL_MIN of its first epoch's or more),
the rehearsal's fell by less than LOSS_FALL_SHARE of that: a finding about the recipe at that
precision here, said in one line, and the run exits 1 (docs/rehearsal.md). (A twin whose loss hardly
moved says nothing about the rehearsal's: on a short run both curves are mostly noise.)
"""
from __future__ import annotations

import sys

from googlenet_bench.harness.lifecycle.plan import Plan
from googlenet_bench.harness.lifecycle.state import RunState, Verdict

TOP1_GAP = 0.2  # 20 points of top-1 below the twin's
LOSS_FALL_SHARE = 0.25  # the mean loss fell by under a quarter of what the twin's fell
TWIN_FALL_MIN = 0.1  # ... when the twin's fell by a tenth of its first epoch's mean loss or more


def wanted(plan: Plan) -> bool:
    """A 1-rank rehearsal that trained below fp32 (with several ranks, rank 0 alone cannot train a twin:
    data parallel would wait for the others)."""
    return bool(plan.rehearsal) and plan.recipe.amp.level != "O0" and "train" in plan.phases \
        and plan.rank.world_size == 1


def train_twin(plan: Plan, state: RunState) -> dict:
    """The twin's mean loss per epoch and eval top-1 (its network fresh from the run's seed, as the run's was)."""
    from dataclasses import replace

    from googlenet_bench.harness.lifecycle.train_phase import train_fresh
    from googlenet_bench.harness.measure.scoring import predictor_of, score
    from googlenet_bench.harness.training.callbacks import TrainTimer

    config = plan.config
    print(f"rehearsal: training the fp32 twin (the recipe at AMP O0, same data and steps) to judge "
          f"{plan.recipe.amp.level} against", file=sys.stderr)
    recipe = plan.recipe.with_changes(amp=replace(plan.recipe.amp, level="O0", keep_batchnorm_fp32=None))
    timers = []

    def timed(training, steps_per_epoch):
        timers.append(TrainTimer(steps_per_epoch, learning_rates=training.learning_rates))
        return timers

    net, split, _ = train_fresh(plan, state, recipe, callbacks=timed)
    (timer,) = timers
    scored = score(predictor_of(net), state.eval_split.dataset, config["num_classes"])
    state.events.log("twin_accuracy", scored.top1)
    return {"amp_level": "O0", "loss_per_epoch": [round(e.loss, 6) for e in timer.epochs], "top1": scored.top1,
            "steps": split.steps * config["epochs"]}


def judge(plan: Plan, state: RunState, losses: list[float], top1: float, twin: dict) -> dict:
    """The rehearsal beside its twin; past either threshold, a verdict (exit 1) in one line."""
    level = plan.recipe.amp.level
    fall, twin_fall = _fall(losses), _fall(twin["loss_per_epoch"])
    compared = {"amp_level": level, "twin": twin, "top1": top1, "top1_gap": round(twin["top1"] - top1, 6),
                "loss_fall": fall, "twin_loss_fall": twin_fall,
                "thresholds": {"top1_gap": TOP1_GAP, "loss_fall_share": LOSS_FALL_SHARE,
                               "twin_fall_min": TWIN_FALL_MIN}}
    worse = []
    if compared["top1_gap"] > TOP1_GAP:
        worse.append(f"eval top-1 {top1:.4f} against the twin's {twin['top1']:.4f}")
    twin_learned = twin_fall is not None and twin_fall >= TWIN_FALL_MIN * float(twin["loss_per_epoch"][0])
    if twin_learned and fall is not None and fall < LOSS_FALL_SHARE * twin_fall:
        worse.append(f"mean loss fell {fall:.3f} against the twin's {twin_fall:.3f}")
    compared["learned_much_worse"] = bool(worse)
    if worse:
        state.verdicts.append(Verdict("precision_gap", (
            f"finding: the {plan.backend.name} recipe at AMP {level} learned much worse on this CPU than its fp32 "
            f"twin ({'; '.join(worse)}); see docs/rehearsal.md")))
    return compared


def _fall(losses: list[float]) -> float | None:
    return round(float(losses[0]) - float(losses[-1]), 6) if len(losses) > 1 else None

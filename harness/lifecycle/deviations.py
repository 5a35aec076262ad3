"""How a run's recipe differs from the zoo's (research/cv/googlenet, ../shared/ZOO_REFERENCE.md), one line
each, for `figures.recipe.deviations`: `report` prints them, or that the run matches the zoo.

Only what the harness itself chose or changed is listed; a suite's own settings (a shortened run, another
data set) are the user's and are in the record's config.
"""
from __future__ import annotations

from googlenet_bench.harness.lifecycle.plan import Plan

ZOO_AMP_LEVEL = "O2"  # the zoo's train.py, on every device_target, CPU included
ZOO_COSINE_TMAX = 150


def deviations(plan: Plan, figures: dict) -> list[str]:
    config, recipe = plan.config, plan.recipe
    found = []
    if recipe.amp.level != ZOO_AMP_LEVEL:
        found.append(f"AMP {recipe.amp.level}: the zoo trains at {ZOO_AMP_LEVEL} on every device "
                     f"({plan.backend.name}'s choice; docs/zoo-compatibility.md)")
    if not config["eval_drop_remainder"] and figures.get("eval"):
        found.append("eval scores every image: the zoo's drops the last partial batch (eval_drop_remainder: true "
                     "for its count)")
    train = figures.get("train") or {}
    if train.get("sink_steps") and train["sink_steps"] < train.get("steps_per_epoch", 0):
        found.append(f"dataset sink in chunks of {train['sink_steps']} steps (progress within an epoch): the zoo "
                     "sinks whole epochs")
    tmax = config["lr_cosine_tmax_epochs"] or config["epochs"]
    if config["lr_schedule"] == "cosine" and config["dataset"] == "imagenet" and tmax != ZOO_COSINE_TMAX:
        found.append(f"cosine T_max {tmax} epochs: the zoo's is {ZOO_COSINE_TMAX}")
    if plan.rehearsal:
        found.extend(f"rehearsal: {note}" for note in plan.rehearsal.notes)
    return found

"""The phases but training (googlenet_bench.harness.lifecycle.train_phase): each a function of the plan and the state the
phases share, returning the figures it measured. A result that is not valid adds a verdict."""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.lifecycle.plan import Plan
from googlenet_bench.harness.lifecycle.state import RunState, Verdict, mb
from googlenet_bench.harness.types import EXPORT_EXTENSIONS


def setup(plan: Plan, state: RunState) -> dict:
    import mindspore as ms

    from googlenet_bench.harness.results.checkpoints import freeze_backbone, load_pretrained
    from googlenet_bench.model import GoogleNet, count_parameters

    config, options = plan.config, plan.options
    ms.set_seed(config["seed"])
    plan.speed.apply_environment()  # the machine's speed settings, for every backend, before its first op
    state.device_context = plan.device.device_setup(config, plan.rank)
    plan.speed.apply_threads()
    if plan.rank.world_size > 1:
        state.device_context["communication"] = plan.device.distributed_init(config, plan.rank)
        state.rank_report["communication"] = state.device_context["communication"]
        state.rank_report["device_context"] = state.device_context  # e.g. the cores a CPU rank runs on
    state.dataset_options = plan.speed.dataset_options(plan.device.dataset_options(config))
    state.net = GoogleNet(config["num_classes"])
    figures = {"parameters": count_parameters(state.net), "recipe": plan.recipe.describe(),
               "amp_level": plan.recipe.amp.level, "loss_scale": plan.recipe.amp.loss_scale}
    if plan.rehearsal:
        figures["rehearsal"] = plan.rehearsal.describe(plan.recipe)
    if options.checkpoint:
        figures["loaded_checkpoint"] = load_pretrained(state.net, options.checkpoint, replace_head=False)
    if options.pretrained:
        figures["pretrained"] = load_pretrained(state.net, options.pretrained, config["transfer"])
    if config["freeze_backbone"]:
        figures["trainable_parameters"] = freeze_backbone(state.net)
    if "export" in plan.phases and plan.rank.is_main:
        figures.update(check_export_formats(plan, state))
    return figures


def check_export_formats(plan: Plan, state: RunState) -> dict:
    """Before training: a tiny network exported in each requested format, on this device, so a format that
    cannot be written here (AIR without GE, say) ends the run now (export_failed, with each failed format
    and its one-line reason in the record) rather than after the training."""
    import tempfile

    import mindspore as ms
    import mindspore.nn as nn
    import numpy as np

    from googlenet_bench.harness.results.checkpoints import first_line

    tiny, example, failed = nn.Dense(4, 2), ms.Tensor(np.ones((1, 4), dtype=np.float32)), {}
    tiny.set_train(False)
    with tempfile.TemporaryDirectory(prefix="googlenet-bench-export-check-") as scratch:
        for file_format in plan.recipe.export_formats:
            path = Path(scratch) / f"tiny{EXPORT_EXTENSIONS[file_format]}"
            try:
                if plan.device.export(tiny, example, file_format, path) is None:
                    failed[file_format] = "the backend wrote nothing"
            except Exception as exc:  # noqa: BLE001 - MindSpore raises RuntimeError, ValueError, TypeError here
                failed[file_format] = first_line(exc)
    figures = {"export_check": {"formats": list(plan.recipe.export_formats), "written": not failed}}
    if failed:
        detail = "; ".join(f"{f}: {reason}" for f, reason in failed.items())
        writable = ",".join(f for f in plan.recipe.export_formats if f not in failed)
        figures["export"] = {f: {"failed": reason} for f, reason in failed.items()}
        state.verdicts.append(Verdict("export_failed", f"export cannot be written here ({detail}): leave the "
                                      f"format out with --set export_formats=[{writable}]", ends_run=True))
    return figures


def data(plan: Plan, state: RunState) -> dict:
    from googlenet_bench.datasets import build_split

    config, rank, workers = plan.config, plan.rank, state.dataset_options.num_parallel_workers
    state.survey = plan.survey  # surveyed once, in preflight (a rank: by its parent)
    if "train" in plan.phases:
        state.train_split = build_split(config, "train", rank=rank.rank, world_size=rank.world_size,
                                        num_parallel_workers=workers, survey=state.survey)
        if rank.world_size > 1:
            fresh = build_split(config, "train", rank=rank.rank, world_size=rank.world_size,
                                num_parallel_workers=workers, survey=state.survey)
            state.rank_report["first_batch_sha256"] = _first_batch_digest(fresh.dataset)
    from googlenet_bench.harness.lifecycle.train_phase import eval_every

    evaluates_in_training = "train" in plan.phases and eval_every(config) is not None and rank.world_size == 1
    if rank.is_main and (evaluates_in_training or any(p in plan.phases for p in ("eval", "infer"))):
        state.eval_split = build_split(config, "eval", num_parallel_workers=workers, survey=state.survey)
    splits = {"train": state.train_split, "eval": state.eval_split}
    return {"data": {**{name: split.source if split else None for name, split in splits.items()},
                     "skipped_corrupt": {name: split.skipped for name, split in splits.items() if split}}}


def profile(plan: Plan, state: RunState) -> dict:
    """The profile pass (--profile): more steps under MindSpore's profiler, after the timed ones; every rank
    takes part (their all-reduce), each keeps its trace, and the record holds rank 0's breakdown."""
    from googlenet_bench.harness.measure.profile import profile_pass

    print(f"profiling {plan.config['profile_steps']} more steps (not timed for ms/step)", file=sys.stderr)
    figures = profile_pass(state.training, state.train_split.dataset, plan.config["profile_steps"],
                           plan.run_dir / "profile" / f"rank{plan.rank.rank}",
                           plan.device.profiler_activities(plan.config),
                           (state.train_figures or {}).get("ms_per_step_median"))
    return {"profile": figures}


def evaluate(plan: Plan, state: RunState) -> dict:
    from googlenet_bench.harness.measure.scoring import predictor_of, score

    config = plan.config
    began = time.perf_counter()
    result = score(predictor_of(state.net), state.eval_split.dataset, config["num_classes"])
    state.evaluated = result
    figures = {**result.figures(), "batch_size": state.eval_split.batch_size}
    state.events.log("eval_accuracy", result.top1, images=result.images, eval_s=round(time.perf_counter() - began, 2))
    found = {"eval": figures}
    if state.training_net is not None:  # top1 above is the fp32 copy's (the zoo's eval.py); this is AMP's own
        trained = score(predictor_of(state.training_net), state.eval_split.dataset, config["num_classes"])
        figures["network"] = "fp32, the trained weights in a fresh GoogleNet (as the zoo's eval.py)"
        figures["training_precision"] = {"amp_level": plan.recipe.amp.level, "top1": trained.top1,
                                         "correct_top1": trained.correct_top1}
    from googlenet_bench.harness.lifecycle import twin

    if twin.wanted(plan) and state.training_net is not None:
        losses = [float(loss) for loss in (state.train_figures or {}).get("loss_per_epoch", [])]
        found["rehearsal_twin"] = twin.judge(plan, state, losses, result.top1, twin.train_twin(plan, state))
    floor = config["min_top1"]
    if floor is not None:
        figures["min_top1"] = floor
        if result.top1 < floor:
            state.verdicts.append(Verdict("below_target", (
                f"top-1 {result.top1:.4f} is below the suite's floor min_top1={floor} "
                f"({result.correct_top1}/{result.images}); a shortened run can pass --set min_top1=null")))
    if config["compare_scratch"]:
        from googlenet_bench.harness.lifecycle.train_phase import train_from_scratch

        found["transfer"] = train_from_scratch(plan, state, result.top1)
    return found


def export(plan: Plan, state: RunState) -> dict:
    import mindspore as ms
    import numpy as np

    config = plan.config
    size = config["image_size"]
    batch = config["export_batch_size"] or config["eval_batch_size"] or config["batch_size"]
    example = ms.Tensor(np.ones((batch, 3, size, size), dtype=np.float32))
    state.net.set_train(False)
    figures, failed = {}, []
    for file_format in plan.recipe.export_formats:
        interrupts.check()  # a safe point: between formats
        # One format failing (AIR without the GE backend, say) must not cost the others, nor their inference.
        try:
            path = plan.device.export(state.net, example, file_format,
                                      plan.run_dir / f"googlenet{EXPORT_EXTENSIONS[file_format]}")
            if path is None:
                raise BenchError(f"backend {plan.device.name!r} lists {file_format} but wrote nothing")
        except Exception as exc:  # noqa: BLE001 - MindSpore raises RuntimeError, ValueError, TypeError here
            from googlenet_bench.harness.results.checkpoints import first_line

            reason = first_line(exc)
            figures[file_format] = {"failed": reason}
            failed.append(f"{file_format}: {reason}")
            state.events.log("export_failed", file_format, reason=reason)
            continue
        state.exports[file_format] = Path(path)
        figures[file_format] = {"path": str(path), "mb": mb(Path(path)), "batch_size": batch}
    if failed:
        state.verdicts.append(Verdict("export_failed", f"export failed for {'; '.join(failed)}"))
    return {"export": figures}


def infer(plan: Plan, state: RunState) -> dict:
    from googlenet_bench.harness.measure.scenarios import Scenarios, image_pool
    from googlenet_bench.harness.measure.scoring import AgreementRule, score

    targets = {**state.exports, **dict(plan.models)}
    # Eval and the exports are fp32 networks (the zoo's way), so on a rehearsal's host the two agree exactly;
    # on the device itself an AMP recipe keeps the allowance (its kernels may still compute fp32 in fp16).
    rule = AgreementRule.for_amp_level("O0" if plan.rehearsal else plan.recipe.amp.level, plan.config)
    scenarios = Scenarios.of(plan.config, state.eval_split.batch_size)
    figures, inferred_any, pool = {}, False, None
    for file_format, path in targets.items():
        predict = plan.device.predictor(path, file_format, plan.config)
        if predict is None:
            figures[file_format] = {"skipped": f"backend {plan.device.name!r} cannot run {file_format}"}
            continue
        result = score(predict, state.eval_split.dataset, plan.config["num_classes"])
        inferred_any = True
        pool = image_pool(state.eval_split.dataset, scenarios.images_needed) if pool is None else pool
        entry = {"path": str(path), **result.figures(), **scenarios.measure(predict, pool)}
        if getattr(predict, "settings", None):  # how the runtime was set up, e.g. onnxruntime's session options
            entry["runtime_settings"] = predict.settings
        if state.evaluated is not None:
            entry["agreement"] = rule.judge(state.evaluated, result)
            entry["matches_eval"] = entry["agreement"]["agrees"]
        figures[file_format] = entry
        state.events.log("infer_accuracy", result.top1, format=file_format)
    if not inferred_any:
        raise BenchError(f"backend {plan.device.name!r} cannot infer from {', '.join(targets)}: "
                         "give a --model in a format it runs, or leave infer out of --phases")
    mismatched = [f for f, e in figures.items() if e.get("matches_eval") is False]
    if mismatched:
        detail = "; ".join(f"{f}: {figures[f]['agreement']['images_disagreeing']} images disagree, top-1 differs by "
                           f"{figures[f]['agreement']['top1_diff']}" for f in mismatched)
        state.verdicts.append(Verdict("export_mismatch", f"inference from {', '.join(mismatched)} disagrees with "
                                                         f"eval beyond the rule ({rule.reason}): {detail}"))
    return {"infer": figures}


def _first_batch_digest(dataset) -> str:
    """Hash of the first batch a rank's shard yields (a fresh pipeline with the run's seed)."""
    images, labels = next(dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()

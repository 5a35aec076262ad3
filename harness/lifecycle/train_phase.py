"""The training phase, top to bottom: build the Model from the recipe, resume, train with the
timing, divergence and Ctrl-C callbacks, then the figures; and the scratch comparison."""
from __future__ import annotations

import sys
import time

from googlenet_bench.harness.lifecycle.state import RunState, Verdict, mb, parameters_digest, process_started_at
from googlenet_bench.harness.lifecycle.plan import Plan


def train(plan: Plan, state: RunState) -> dict:
    from googlenet_bench.harness.results import checkpoints
    from googlenet_bench.harness import interrupts
    from googlenet_bench.harness.training.calibration import OtherLoad, speed_callbacks
    from googlenet_bench.harness.training.callbacks import DivergenceRule, SaveCheckpoints, StopOnInterrupt, TrainTimer
    from googlenet_bench.harness.training.chunks import WholeEpochs, chunk_steps
    from googlenet_bench.harness.training.progress import Progress
    from googlenet_bench.harness.training.builder import prepare_training, trained_cell

    config, split, rank, events = plan.config, state.train_split, plan.rank, state.events
    training = prepare_training(state.net, config, plan.recipe, split.steps)
    model, optimizer, lrs = training.model, training.optimizer, training.learning_rates
    done_epochs, in_epoch = _resume(plan, state, optimizer) if plan.resume else (0, 0)
    progress = Progress(config["epochs"], split.steps, done_epochs) if rank.is_main else None

    def on_epoch(figures):
        events.log("epoch_stop", figures.epoch, loss=figures.loss, last_loss=figures.last_loss, lr=figures.lr,
                   ms_per_step=round(figures.ms_per_step, 2))
        if progress is not None:
            progress.epoch_done(figures)

    before_reference, drift_reference = speed_callbacks(plan.extra_work_per_step, split.batch_size,
                                                        config["image_size"], config["drift_reference"])
    off_clock = (lambda: drift_reference.off_clock_s) if drift_reference else (lambda: 0.0)
    other_load = OtherLoad()
    timer = TrainTimer(split.steps, on_epoch, learning_rates=lrs,
                       on_epoch_start=lambda epoch: events.log("epoch_start", epoch),
                       divergence=DivergenceRule(config["num_classes"], float(config["divergence_loss_factor"])),
                       off_clock=off_clock)
    prefix, checkpoint_dir = checkpoints.checkpoint_prefix(config), plan.run_dir / checkpoints.CHECKPOINT_DIR
    epoch_callbacks = [*before_reference, timer, *([drift_reference] if drift_reference else []), other_load]
    if rank.is_main:
        epoch_callbacks.append(SaveCheckpoints(checkpoint_dir, prefix, split.steps, config["ckpt_every_epochs"],
                                               config["ckpt_keep"]))
    start_step = done_epochs * split.steps + in_epoch
    stop = StopOnInterrupt(checkpoint_dir, prefix, split.steps, save=rank.is_main, start_step=start_step)
    evaluator = _evaluator(plan, state, timer, done_epochs, progress)
    if evaluator is not None:  # after the timer (evaluation stays off the training clock) and Ctrl-C
        epoch_callbacks.append(evaluator)
    sink_mode = state.dataset_options.sink_mode
    chunk = chunk_steps(split.steps, sink_mode)
    whole_epochs = WholeEpochs(epoch_callbacks, split.steps, chunk, plan.device.name)
    callbacks = [whole_epochs, stop] + ([progress] if progress is not None else [])
    if start_step:  # the data pipeline continues where the checkpoint's step left it, in that epoch's order
        split.dataset.set_init_step(start_step)
    events.train_start(global_batch_size=split.batch_size * rank.world_size, opt_base_learning_rate=config["lr_init"],
                       train_samples=split.images * rank.world_size,
                       eval_samples=state.eval_split.images if state.eval_split else 0,
                       target_top1=config["target_top1"], steps_per_epoch=split.steps, epochs=config["epochs"],
                       from_epoch=done_epochs, sink_steps=chunk)
    started_at = time.time()
    startup_s = round(started_at - process_started_at(), 2)  # bench.py's start to the first training step
    start = time.perf_counter()
    figures = state.measured = {"trained_cell": trained_cell(model)}  # kept by the run if training is stopped
    try:
        if done_epochs < config["epochs"]:
            with interrupts.deferred():
                training.fit(whole_epochs.chunk_epochs(config["epochs"]), split.dataset, sink_mode=sink_mode,
                             callbacks=callbacks, sink_size=chunk,
                             initial_epoch=whole_epochs.chunk_epochs(done_epochs) + in_epoch // chunk)
    finally:
        if progress is not None:
            progress.close()
        if rank.is_main:  # the rank that saves: another rank would delete a save in progress
            checkpoints.remove_partial_files(checkpoint_dir)
        # The phase's wall time less in-training evaluation and the drift reference, kept off the training clock.
        train_s = (time.perf_counter() - start - (evaluator.eval_s if evaluator else 0.0)
                   - off_clock())
        figures["train"] = _train_figures(plan, state, timer, optimizer, done_epochs, train_s)
        figures["train"]["sink_steps"] = chunk if sink_mode else None
        figures["train"].update(other_load.figures(split.steps))
        if drift_reference:
            figures["train"].update(drift_reference.figures())
        figures["train"]["startup_s"] = startup_s
        figures["train"].update(_accuracy_figures(plan, evaluator, timer))
        if plan.resume:
            figures["resumed"] = {"from_checkpoint": str(plan.resume.checkpoint) if plan.resume.checkpoint else None,
                                  "from_epoch": done_epochs, "from_step_in_epoch": in_epoch,
                                  "corrupt_checkpoints_skipped": list(plan.resume.skipped)}
        if stop.saved is not None:  # stopped by a signal: the checkpoint to resume from
            figures["checkpoint"] = {"path": str(stop.saved), "mb": mb(stop.saved), "at_step": stop.at_step}
    state.train_figures, state.training = figures["train"], training
    digest, ms_per_step = parameters_digest(state.net), figures["train"].get("ms_per_step_median")
    state.rank_report.update(parameters_sha256=digest, ms_per_step_median=ms_per_step, startup_s=startup_s,
                             train_started_at=started_at)
    if rank.world_size > 1:
        from googlenet_bench.harness.lifecycle.rank_exchange import every_rank

        state.rank_report["every_rank"] = every_rank(rank.rank, digest, ms_per_step, startup_s)
    if timer.diverged is not None:
        last_good = checkpoints.drop_checkpoints_from(checkpoint_dir, timer.diverged["epoch"])
        figures["train"].update(diverged_at_step=timer.diverged["at_step"], divergence_rule=timer.diverged["rule"],
                                last_good_checkpoint=str(last_good) if last_good else None)
        state.verdicts.append(Verdict("diverged", f"training diverged at step {timer.diverged['at_step']}: "
                                      f"{timer.diverged['rule']}; lower lr_init (--set lr_init=...)", ends_run=True))
        return figures
    if rank.is_main:
        if plan.recipe.amp.level != "O0":  # eval, export and infer then use fp32, as the zoo's eval.py does
            from googlenet_bench.harness.training.builder import fp32_network

            state.training_net, state.net = state.net, fp32_network(state.net, config["num_classes"])
        weights = checkpoints.save_weights(state.net, plan.run_dir)
        figures["weights"] = {"path": str(weights), "mb": mb(weights)}
        saved = checkpoints.training_checkpoints(checkpoint_dir)
        if saved:
            figures["checkpoint"] = {"path": str(saved[-1]), "mb": mb(saved[-1]), "kept": len(saved)}
    return figures


def eval_every(config: dict) -> int | None:
    """Evaluate every k epochs: the suite's k, or every epoch when only a target is set."""
    return config["eval_every_epochs"] or (1 if config["target_top1"] is not None else None)


def _evaluator(plan: Plan, state: RunState, timer, done_epochs: int, progress):
    """The EvalEvery callback, on a 1-rank run that asks for one; else None."""
    from googlenet_bench.harness.training.callbacks import EvalEvery

    config, events = plan.config, state.events
    every = eval_every(config)
    if every is None or plan.rank.world_size > 1:
        return None

    def on_point(point, seconds):
        events.log("eval_accuracy", point.top1, epoch=point.epoch, train_s=point.train_s, eval_s=round(seconds, 2))
        line = (f"eval after epoch {point.epoch}: top-1 {point.top1:.4f} at {point.train_s:.1f} s of training "
                f"(evaluation {seconds:.1f} s, not on the clock)")
        progress.say(line)  # evaluation runs on 1-rank runs, whose rank shows progress

    return EvalEvery(state.net, state.eval_split.dataset, config["num_classes"], every, timer,
                     clock_offset_s=sum(e.seconds for e in _earlier_epochs(plan, state, done_epochs)),
                     target=config["target_top1"], stop=config["stop_at_target"], on_point=on_point)


def _accuracy_figures(plan: Plan, evaluator, timer) -> dict:
    config = plan.config
    if eval_every(config) is None:
        return {}
    if evaluator is None:
        return {"in_training_eval": f"not run: evaluation every k epochs runs on 1 rank only, this run has "
                                    f"{plan.rank.world_size}"}
    figures = evaluator.figures()
    if evaluator.reached is not None:
        last_epoch = timer.epochs[-1].epoch if timer.epochs else 0
        figures["stopped_at_target"] = bool(config["stop_at_target"] and last_epoch < config["epochs"])
    return figures


def _earlier_epochs(plan: Plan, state: RunState, done_epochs: int) -> list:
    """A resumed run's epochs before this process, from its event log."""
    from googlenet_bench.harness.training.callbacks import EpochFigures
    from googlenet_bench.harness.results.events import epochs_logged

    steps = state.train_split.steps
    return [EpochFigures(e["epoch"], steps, e["ms_per_step"] * steps / 1000.0, float(e["loss"]), e.get("lr"),
                         e.get("last_loss"))
            for e in epochs_logged(plan.run_dir / "events.log", done_epochs)] if done_epochs else []


def _resume(plan: Plan, state: RunState, optimizer) -> tuple[int, int]:
    """Load the checkpoint the plan chose into the network and optimizer; the epochs already done and the
    steps done of the next (a checkpoint saved mid-epoch on a stop signal)."""
    import mindspore as ms

    from googlenet_bench.harness.results.checkpoints import load_verified
    from googlenet_bench.harness.results.zoo_names import with_network_names

    point = plan.resume
    for problem in point.skipped:
        print(f"warning: {problem}; falling back to an older checkpoint", file=sys.stderr)
    if point.checkpoint is None:
        print(f"resuming {plan.run_id}: it stopped before its first checkpoint, so it starts over", file=sys.stderr)
        return 0, 0
    params, _ = with_network_names(load_verified(point.checkpoint), state.net, point.checkpoint)
    ms.load_param_into_net(state.net, params)
    ms.load_param_into_net(optimizer, params)
    state.events.log("resume", point.epoch, checkpoint=str(point.checkpoint), skipped=len(point.skipped))
    at = f"epoch {point.epoch}" + (f", step {point.in_epoch} of epoch {point.epoch + 1}" if point.in_epoch else "")
    print(f"resuming {plan.run_id} from {point.checkpoint.name} ({at})", file=sys.stderr)
    return point.epoch, point.in_epoch


def _train_figures(plan: Plan, state: RunState, timer, optimizer, done_epochs: int, train_s: float) -> dict:
    from googlenet_bench.harness.training.callbacks import timing_summary

    split = state.train_split
    epochs = _earlier_epochs(plan, state, done_epochs) + timer.epochs
    # Timing comes from this process's epochs only: a resumed run compiles again.
    summary = timing_summary(timer.epochs)
    global_batch = split.batch_size * plan.rank.world_size
    median = summary.get("ms_per_step_median")
    figures = {
        "epochs": len(epochs), "steps_per_epoch": split.steps, "steps": len(epochs) * split.steps,
        "optimizer_steps": int(optimizer.global_step.asnumpy()[0]), "batch_size": split.batch_size,
        "global_batch": global_batch, "ranks": plan.rank.world_size, "images_per_epoch": split.images,
        "final_loss": epochs[-1].loss if epochs else None,
        # The epoch's mean loss (what the divergence rule reads), and its last step's.
        "loss_per_epoch": [round(e.loss, 6) for e in epochs],
        "last_loss_per_epoch": [None if e.last_loss is None else round(e.last_loss, 6) for e in epochs],
        "loss_steps_per_epoch": timer.epochs[-1].loss_steps if timer.epochs else None,
        "lr_per_epoch": [e.lr for e in epochs],
        "ms_per_step_per_epoch": [round(e.ms_per_step, 2) for e in epochs], **summary,
        "images_per_s": round(global_batch * 1000.0 / median, 1) if median else None,
        "train_s": round(train_s, 2), "sink_mode": state.dataset_options.sink_mode,
    }
    return figures


def train_fresh(plan: Plan, state: RunState, recipe, callbacks=lambda training, steps_per_epoch: ()):
    """A fresh network from the run's seed, trained on the run's data for the run's epochs with `recipe`:
    for the scratch comparison and a rehearsal's fp32 twin. Returns (network, train split, training)."""
    import mindspore as ms

    from googlenet_bench.datasets import build_split
    from googlenet_bench.harness.training.builder import prepare_training
    from googlenet_bench.model import GoogleNet

    config = plan.config
    ms.set_seed(config["seed"])
    net = GoogleNet(config["num_classes"])
    split = build_split(config, "train", num_parallel_workers=state.dataset_options.num_parallel_workers,
                        survey=state.survey)
    training = prepare_training(net, config, recipe, split.steps)
    training.fit(config["epochs"], split.dataset, sink_mode=state.dataset_options.sink_mode,
                 callbacks=callbacks(training, split.steps))
    return net, split, training


def train_from_scratch(plan: Plan, state: RunState, pretrained_top1: float) -> dict:
    """Train a fresh network for the same steps, so a pretrained start's benefit is measured, not claimed."""
    from googlenet_bench.harness.measure.scoring import predictor_of, score

    config = plan.config
    print("training the same suite from scratch for comparison", file=sys.stderr)
    net, split, _ = train_fresh(plan, state, plan.recipe)
    scratch = score(predictor_of(net), state.eval_split.dataset, config["num_classes"])
    state.events.log("scratch_accuracy", scratch.top1)
    return {"pretrained": plan.options.pretrained, "steps": split.steps * config["epochs"],
            "top1_pretrained": pretrained_top1, "top1_scratch": scratch.top1,
            "top1_gain": round(pretrained_top1 - scratch.top1, 6), "freeze_backbone": config["freeze_backbone"]}

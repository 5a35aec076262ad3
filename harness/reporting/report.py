"""The zoo README's results table, rendered from records alone."""
from __future__ import annotations

from datetime import datetime

from tabulate import tabulate

from googlenet_bench.harness.results.figures import MISSING, inference_scenarios, speed_stability, time_to_target

ROW_LABELS = (
    "Model Version", "Resource", "Uploaded Date", "MindSpore Version", "Dataset",
    "Training Parameters", "Optimizer", "Loss Function", "Outputs", "Loss", "Speed", "Time to target",
    "Total time", "Parameters (M)", "Checkpoint for Fine tuning", "Model for inference",
    "Inference latency (batch 1, p50)", "Inference throughput (best)", "Accuracy",
)
DATASET_NAMES = {"digits": "digits (scikit-learn, embedded)", "cifar10": "CIFAR-10", "imagenet": "ImageNet2012"}


def _get(mapping, *keys, default=None):
    """A nested value of a record (its schema checked the blocks are mappings), or `default` where absent."""
    for key in keys:
        if mapping.get(key) is None:
            return default
        mapping = mapping[key]
    return mapping


def pcs(ranks) -> str:
    return f"{ranks}pc" if ranks == 1 else f"{ranks}pcs"


def percent(value) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def column_title(record: dict) -> str:
    ranks = _get(record, "figures", "train", "ranks", default=1)
    return f"{record['backend']} x{ranks} ({record['suite']})"


def _speed_tag(record: dict) -> str:
    """" (unstable)" or " (no spread)" after a speed that is not a steady figure; "" otherwise."""
    stability = speed_stability(record)
    return f" ({stability[0]})" if stability and stability[0] in ("unstable", "no spread") else ""


def zoo_rows(record: dict) -> dict[str, str]:
    """One run's values for each row of the zoo README's table."""
    config, figures, env = record["config"], record["figures"], record["environment"]
    train = figures.get("train") or {}
    ranks = train.get("ranks", 1)
    evaluated = figures.get("eval") or {}
    loss_name = "Softmax Cross Entropy"
    if config.get("label_smoothing"):
        loss_name += f" (label smoothing {config['label_smoothing']})"
    started = record.get("started")
    date = datetime.fromisoformat(started).strftime("%m/%d/%Y") if started else "–"
    exports = figures.get("export") or {}
    accuracy = f"top-1 {percent(evaluated.get('top1'))}" if evaluated else "–"
    if evaluated.get("top5") is not None:
        accuracy += f", top-5 {percent(evaluated['top5'])}"
    if evaluated:
        accuracy += f" ({evaluated['images']:,} images)" if evaluated.get("images") is not None else ""
    checkpoint = figures.get("checkpoint") or figures.get("weights")
    speed = train.get("ms_per_step_median")
    return {
        "Model Version": "Inception V1",
        "Resource": env.get("device", record["backend"]),
        "Uploaded Date": f"{date} (month/day/year)",
        "MindSpore Version": env.get("mindspore", "–"),
        "Dataset": DATASET_NAMES.get(config.get("dataset"), config.get("dataset")),
        "Training Parameters": (f"epoch={train.get('epochs', config.get('epochs'))}, "
                                f"steps={train.get('steps_per_epoch', '–')}, batch_size={config.get('batch_size')}, "
                                f"lr={config.get('lr_init')}") if train else "–",
        "Optimizer": "Momentum",
        "Loss Function": loss_name,
        "Outputs": "probability",
        "Loss": f"{train['final_loss']:.4f}" if train.get("final_loss") is not None else "–",
        "Speed": f"{pcs(ranks)}: {speed:.1f} ms/step{_speed_tag(record)}" if speed else "–",
        "Total time": f"{pcs(ranks)}: {figures.get('total_s', 0) / 60:.2f} mins" if figures.get("total_s") else "–",
        "Parameters (M)": f"{figures['parameters'] / 1e6:.2f}" if figures.get("parameters") else "–",
        "Checkpoint for Fine tuning": f"{checkpoint['mb']:.2f}M (.ckpt file)" if checkpoint else "–",
        "Model for inference": ", ".join(f"{e['mb']:.2f}M (.{f.lower()} file)" if "mb" in e else f"{f} failed"
                                         for f, e in exports.items()) or "–",
        "Accuracy": accuracy,
        **inference_cells(record),
    }


def inference_cells(record: dict) -> dict[str, str]:
    """The exported models' SingleStream p50 latency and best Offline throughput, one "FORMAT figure" per format."""
    scenarios = inference_scenarios(record)
    latency = [f"{f}: {s['p50_ms']:.2f} ms" for f, s in scenarios.items() if s["p50_ms"] is not None]
    throughput = [f"{f}: {s['images_per_s']:,.1f} images/s (batch {s['batch']})"
                  for f, s in scenarios.items() if s["images_per_s"] is not None]
    return {"Time to target": time_to_target(record),
            "Inference latency (batch 1, p50)": ", ".join(latency) or MISSING,
            "Inference throughput (best)": ", ".join(throughput) or MISSING}


def zoo_table(records: list[dict], table_format: str = "github") -> str:
    columns = [zoo_rows(record) for record in records]
    rows = [[label, *(column[label] for column in columns)] for label in ROW_LABELS]
    return tabulate(rows, headers=["Parameters", *(column_title(r) for r in records)], tablefmt=table_format)


def run_summary(record: dict) -> str:
    """The lines printed under the table: status, where the record is, the inference check."""
    figures = record["figures"]
    lines = [f"status: {record['status']}" + (f" ({record['error']})" if record.get("error") else "")]
    stability = speed_stability(record)
    if stability:
        lines.append(stability[1])
    train = figures.get("train") or {}
    if train:
        lines.append(f"train: {train['steps']} steps, median {train.get('ms_per_step_median')} ms/step "
                     f"(p90 {train.get('ms_per_step_p90')}), {train.get('images_per_s')} images/s"
                     + (f", compile {train['compile_s']} s" if train.get("compile_s") is not None else
                        ", compile time not separable (one epoch)")
                     + (f", sink chunks of {train['sink_steps']} steps" if train.get("sink_steps") else ""))
    lines.extend(_start_and_scaling_lines(figures))
    curve = train.get("accuracy_curve")
    if curve:
        points = ", ".join(f"{p['top1'] * 100:.1f}% @ {p['train_s']:.0f} s" for p in curve)
        every = train.get("eval_every_epochs")
        every = "every epoch" if every == 1 else f"every {every} epochs" if every else "in training"
        lines.append(f"accuracy while training ({every}; evaluation "
                     f"{train.get('eval_s', MISSING)} s, off the clock): {points}; target {time_to_target(record)}")
    elif train.get("in_training_eval"):
        lines.append(f"accuracy while training: {train['in_training_eval']}")
    for file_format, entry in (figures.get("infer") or {}).items():
        if "skipped" in entry:
            lines.append(f"infer {file_format}: skipped ({entry['skipped']})")
        else:
            agreement = entry.get("agreement") or {}
            differing = agreement.get("images_disagreeing")
            agree = ("no eval to compare" if entry.get("matches_eval") is None else
                     "equals eval" if differing == 0 else
                     f"{differing} images differ from eval, " + ("within" if entry["matches_eval"] else "BEYOND")
                     + " the rule")
            latency = f"{entry['ms_per_batch']} ms/batch" if entry.get("ms_per_batch") else "one batch, not timed"
            lines.append(f"infer {file_format}: top-1 {percent(entry['top1'])} over {entry['images']:,} images, "
                         f"{latency} ({agree})")
            lines.extend(f"  {line}" for line in scenario_lines(entry))
    lines.extend(profile_lines(figures.get("profile")))
    lines.extend(_rehearsal_lines(record))
    deviations = deviations_line(record)
    if deviations:
        lines.append(deviations)
    cell = figures.get("trained_cell")
    if cell:
        scale = f", sens {cell['sens']:g}" if cell.get("sens") not in (None, 1.0) else ""
        lines.append(f"trained with {cell['cell']}{scale}, optimizer loss scale {cell.get('optimizer_loss_scale')}, "
                     f"jit level {cell.get('jit_level') or 'default'}")
    transfer = figures.get("transfer")
    if transfer:
        lines.append(f"transfer: top-1 {percent(transfer['top1_pretrained'])} from the pretrained backbone vs "
                     f"{percent(transfer['top1_scratch'])} from scratch, same {transfer['steps']} steps")
    resumed = figures.get("resumed")
    if resumed:
        lines.append(f"resumed from epoch {resumed['from_epoch']} ({resumed['from_checkpoint']})")
    return "\n".join(lines)


def profile_lines(profile: dict | None) -> list[str]:
    """The profile pass: where a profiled step's time went, by category, and the top operators."""
    if not profile:
        return []
    slower = f", x{profile['slowdown_vs_timed']:.2f} the timed steps' median" if profile.get("slowdown_vs_timed") else ""
    lines = [f"profile: {profile['steps']} profiled steps at {profile['ms_per_step']:.1f} ms/step{slower} "
             f"(not used for ms/step); trace in {profile.get('trace_dir', MISSING)}"]
    if profile.get("note"):
        return lines + [f"  {profile['note']}"]
    categories = [c for c in profile.get("by_category", []) if c["ms_per_step"] > 0]
    lines.append("  by category: " + ", ".join(f"{c['category']} {c['ms_per_step']:.1f} ms ({c['share']:.0%})"
                                               for c in sorted(categories, key=lambda c: -c["ms_per_step"]))
                 + f"; {profile.get('accounted_share', 0):.0%} of the step accounted for"
                 + (f" (between steps: {profile['between_steps_ms']:.1f} ms)" if "between_steps_ms" in profile else ""))
    lines.append("  top operators: " + ", ".join(f"{o['op_type']} {o['ms_per_step']:.1f} ms ({o['share']:.0%})"
                                                 for o in profile.get("top_operators", [])))
    return lines


def _rehearsal_lines(record: dict) -> list[str]:
    """What a rehearsal changed or did not run, one note a line, and how it learned beside its fp32 twin."""
    figures = record["figures"]
    rehearsal = figures.get("rehearsal")
    if not rehearsal:
        return []
    notes = rehearsal.get("notes") or []
    lines = [f"rehearsal of {record['backend']}'s recipe on {rehearsal['host']}"
             + (":" if notes else ": every setting ran as the device runs it")]
    lines.extend(f"  {note}" for note in notes)
    twin = figures.get("rehearsal_twin")
    if twin:
        losses = lambda values: " -> ".join(f"{v:.3f}" for v in values)  # noqa: E731
        lines.append(f"  against its fp32 twin (same data and steps at O0): eval top-1 {percent(twin['top1'])} at "
                     f"{twin['amp_level']} vs {percent(twin['twin']['top1'])}; mean loss per epoch "
                     f"{losses(figures.get('train', {}).get('loss_per_epoch', []))} vs "
                     f"{losses(twin['twin']['loss_per_epoch'])}"
                     + ("; LEARNED MUCH WORSE" if twin.get("learned_much_worse") else ""))
    return lines


def _start_and_scaling_lines(figures: dict) -> list[str]:
    """Start-up time and, for a multi-rank run, the ranks' agreement and scaling figures."""
    lines = []
    train, ranks, scaling = figures.get("train") or {}, figures.get("ranks") or {}, figures.get("scaling") or {}
    if train.get("startup_s") is not None:
        every = ""
        if ranks.get("startup_s") is not None:
            per_rank = ", ".join("–" if s is None else f"{s:.1f}" for s in ranks.get("startup_s_per_rank", []))
            every = f"; all ranks here training {ranks['startup_s']:.1f} s after bench.py started (each rank: {per_rank} s)"
        lines.append(f"start-up: {train['startup_s']:.1f} s from bench.py's start to the first training step{every}")
    if ranks.get("parameters_identical") is not None:
        lines.append(f"ranks: parameters {'identical' if ranks['parameters_identical'] else 'NOT identical'} "
                     f"on all {len(ranks.get('ms_per_step_per_rank', []))} ranks")
    if scaling:
        per_rank = ", ".join("–" if ms is None else f"{ms:.1f}" for ms in scaling["ms_per_step_per_rank"])
        images = ", ".join("–" if i is None else f"{i:.1f}" for i in scaling["images_per_s_per_rank"])
        line = (f"scaling: {scaling['ranks']} ranks, ms/step per rank {per_rank}, images/s per rank {images}, "
                f"{scaling.get('images_per_s')} images/s in all")
        if scaling.get("reference"):
            reference = scaling["reference"]
            efficiency = scaling.get("efficiency")
            line += (f"; efficiency {'–' if efficiency is None else f'{efficiency * 100:.0f}%'} against "
                     f"{reference['path']} ({reference['ms_per_step']:.1f} ms/step on 1 rank)")
        lines.append(line)
    return lines


def scenario_lines(entry: dict) -> list[str]:
    """SingleStream and Offline figures of one inferred format, as the summary prints them."""
    lines = []
    single = entry.get("single_stream")
    if single:
        lines.append(f"single stream (batch 1, {single['queries']} queries after {single['warmup_queries']} warm-up): "
                     + (f"cannot run: {single['error']}" if "error" in single else
                        f"p50 {single['p50_ms']} ms, p90 {single['p90_ms']} ms, p99 {single['p99_ms']} ms"))
    offline = entry.get("offline")
    if offline:
        lines.append(f"offline ({offline['rounds']} batches each after 1 warm-up): " + ", ".join(
            f"batch {b['batch']} " + (f"cannot run ({b['error']})" if "error" in b else f"{b['images_per_s']:,.1f} images/s")
            for b in offline["per_batch"]))
    if entry.get("runtime_settings"):
        lines.append("runtime: " + ", ".join(f"{k}={v}" for k, v in entry["runtime_settings"].items()))
    return lines


def deviations_line(record: dict) -> str | None:
    """"deviations from the zoo: ...", or that the run matches it; None for a record made before they were listed."""
    recipe = record["figures"].get("recipe") or {}
    if "deviations" not in recipe:
        return None
    return "deviations from the zoo: " + ("; ".join(recipe["deviations"]) or "none: matches the zoo")

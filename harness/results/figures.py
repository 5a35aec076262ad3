"""A record's figures as the readers use them (compare, check, history, publish): the headline
figures and the facts that decide whether two runs compare. Records themselves are read by
googlenet_bench.harness.results.record, whose schema (googlenet_bench.harness.results.schema) has checked every
value used here: a block may be absent, never of another type or out of range."""
from __future__ import annotations

from dataclasses import dataclass

MISSING = "–"  # a figure the record (or the zoo) does not have


@dataclass(frozen=True)
class Headline:
    """A run's main figures; None where the run has none (a phase skipped, a failed run)."""

    top1: float | None
    ms_per_step: float | None
    images_per_s: float | None
    total_s: float | None
    final_loss: float | None
    time_to_target_s: float | None = None  # training clock (evaluation excluded) to reach target_top1
    epochs_to_target: int | None = None
    normalised_step: float | None = None  # step time over the drift reference (harness/training/calibration.py)


def headline(record: dict) -> Headline:
    figures = record["figures"]
    train, evaluated = _train(record), figures.get("eval") or {}
    return Headline(top1=evaluated.get("top1"), ms_per_step=train.get("ms_per_step_median"),
                    images_per_s=train.get("images_per_s"), total_s=figures.get("total_s"),
                    final_loss=train.get("final_loss"), time_to_target_s=train.get("time_to_target_s"),
                    epochs_to_target=train.get("epochs_to_target"), normalised_step=train.get("normalised_step"))


def time_to_target(record: dict) -> str:
    """"95.00% in 41.2 s (epoch 3)", "95.00% not reached in 10 epochs", or MISSING without a target."""
    train = _train(record)
    target = train.get("target_top1")
    if target is None:
        return MISSING
    if train.get("time_to_target_s") is None:
        return f"{target * 100:.2f}% not reached in {train.get('epochs', MISSING)} epochs"
    stopped = ", stopped there" if train.get("stopped_at_target") else ""
    epoch = train.get("epochs_to_target", MISSING)
    return f"{target * 100:.2f}% in {train['time_to_target_s']:.1f} s (epoch {epoch}{stopped})"


def same_target(first: dict, other: dict) -> bool:
    """Times to target divide only when both runs aimed at the same top-1."""
    targets = [(r["figures"].get("train") or {}).get("target_top1") for r in (first, other)]
    return targets[0] is not None and targets[0] == targets[1]


def accuracy_curve(record: dict) -> list[dict]:
    """The in-training evaluations, [{epoch, train_s, top1}], oldest first; [] when the run made none."""
    return list(_train(record).get("accuracy_curve") or [])


def inference_scenarios(record: dict) -> dict[str, dict]:
    """Per inferred format: batch-1 p50 latency (ms) and the best Offline throughput (images/s, at which batch)."""
    found = {}
    for file_format, entry in (record["figures"].get("infer") or {}).items():
        single = entry.get("single_stream") or {}
        best = (entry.get("offline") or {}).get("best") or {}
        if single or best:
            found[file_format] = {"p50_ms": single.get("p50_ms"), "images_per_s": best.get("images_per_s"),
                                  "batch": best.get("batch")}
    return found


def global_batch(record: dict):
    train = record["figures"].get("train") or {}
    return train.get("global_batch") or record["config"].get("batch_size")


def _machine(record: dict) -> tuple:
    env = record["environment"]
    settings = (env.get("speed_settings") or {}).get("settings")
    return (env.get("cpu_model"), env.get("cpu_vector_isa"), env.get("cpu_cores"), env.get("mindspore"),
            (env.get("device_context") or {}).get("ONEDNN_MAX_CPU_ISA"), settings)


def unlike_steps(new: dict, baseline: dict) -> str | None:
    """Why two records' step times cannot be compared, or None when they can: another backend or
    global batch, or another machine (CPU model, its widest vector ISA and cores, MindSpore version, oneDNN
    ISA cap, speed settings)."""
    if (new["backend"], global_batch(new)) != (baseline["backend"], global_batch(baseline)):
        return (f"{new['backend']} batch {global_batch(new)} vs baseline {baseline['backend']} batch "
                f"{global_batch(baseline)}: unlike steps")
    if _machine(new) != _machine(baseline):
        cpu, vector_isa, cores, mindspore, isa, settings = _machine(baseline)
        return (f"the baseline was measured on another machine or setting ({cpu} with {vector_isa}, {cores} cores, "
                f"MindSpore {mindspore}, ISA {isa}, speed settings {settings}): make a baseline on this machine "
                "(bench.py baseline)")
    return None


# How far the machine's state may move before raw step times stop comparing (README, "Speed figures you
# can trust"). On a quiet machine the reference's median moved up to x1.35 between runs; the changes it
# must catch moved it x1.5-3 (other processes busy) and x1.7 (the host's speed flip of issue 12). The
# sitting's rule was fixed at x1.2 beforehand and made 5 of 22 quiet runs inconclusive, hence x1.4.
STATE_REFERENCE_RATIO = 1.4  # the drift reference's median time, new over baseline, either way
STATE_OTHER_CORES = 0.2  # other processes' load, median over the timed epochs, in cores


def _train(record: dict) -> dict:
    return record["figures"].get("train") or {}


def _reference_ms(record: dict) -> float | None:
    return (_train(record).get("calibration") or {}).get("ms_median")


def other_load(record: dict) -> tuple[float, float] | None:
    """Other processes' load over the timed epochs (the first, compiling epoch left out where others
    exist) as (median, max) in cores; None where the run sampled none."""
    per_epoch = [load.get("other_cores") for load in _train(record).get("other_load_per_epoch") or []]
    cores = sorted(c for c in per_epoch[1:] or per_epoch if c is not None)
    return (cores[(len(cores) - 1) // 2], cores[-1]) if cores else None


def _other_cores(record: dict) -> float | None:
    load = other_load(record)
    return None if load is None else load[0]


def machine_state_differs(new: dict, baseline: dict) -> str | None:
    """Why the machine was not in the same state for both runs, or None: the drift reference (a fixed
    workload timed in the run's own process) took another time, or other processes were busy."""
    for record, which in ((new, "new run"), (baseline, "baseline")):
        busy = _other_cores(record)
        if busy is not None and busy > STATE_OTHER_CORES:
            return f"other processes kept {busy:.2f} cores busy during the {which}'s epochs"
    old_ms, new_ms = _reference_ms(baseline), _reference_ms(new)
    if old_ms and new_ms and not 1 / STATE_REFERENCE_RATIO <= new_ms / old_ms <= STATE_REFERENCE_RATIO:
        return (f"the drift reference took {new_ms:.1f} ms against the baseline's {old_ms:.1f} (x{new_ms / old_ms:.2f}): "
                "the machine ran at another speed")
    return None


def same_drift_reference(new: dict, baseline: dict) -> bool:
    """Normalised steps compare only when both came from the same drift-reference design."""
    designs = [(_train(r).get("calibration") or {}).get("every_steps") for r in (new, baseline)]
    return designs[0] is not None and designs[0] == designs[1]


def per_rank_batch(record: dict):
    """The batch each rank trains on: what the zoo holds fixed when it compares 1 with 8 devices."""
    train = record["figures"].get("train") or {}
    return train.get("batch_size") or record["config"].get("batch_size")


def ranks(record: dict) -> int:
    return (record["figures"].get("train") or {}).get("ranks") or 1


def unlike(first: dict, other: dict) -> list[str]:
    """What makes `other`'s speed and accuracy not comparable with `first`'s, e.g. ["suite cifar10-full vs digits"]."""
    aspects = (("suite", lambda r: r["suite"]), ("dataset", lambda r: r["config"].get("dataset")),
               ("image size", lambda r: r["config"].get("image_size")), ("batch size", per_rank_batch))
    return [f"{name} {value(other)} vs {value(first)}" for name, value in aspects if value(other) != value(first)]


def trained_epochs(record: dict):
    return (record["figures"].get("train") or {}).get("epochs")


def images_per_epoch(record: dict):
    """Images the whole run trains on per epoch (each rank's shard times the ranks)."""
    shard = (record["figures"].get("train") or {}).get("images_per_epoch")
    return None if shard is None else shard * ranks(record)


def unlike_work(first: dict, other: dict) -> list[str]:
    """What makes total times unlike although steps compare: more epochs, or more images per epoch."""
    aspects = (("epochs", trained_epochs), ("images/epoch", images_per_epoch))
    return [f"{name} {value(other)} vs {value(first)}" for name, value in aspects if value(other) != value(first)]


NO_SPREAD_BELOW = 3  # timed epochs: fewer give a figure with no spread (timing.MIN_SAMPLES_FOR_VERDICT)


def speed_stability(record: dict) -> tuple[str, str] | None:
    """(a short tag for a table cell, one line for a summary) on how steady the run's ms/step was: its
    stability verdict, and other processes' load where the run sampled it; None without a speed."""
    train = _train(record)
    if train.get("ms_per_step_median") is None:
        return None
    spread = train.get("ms_per_step_spread") or {}
    timed = train.get("timed_epochs", spread.get("samples"))
    busy = other_load(record)
    load = f"; other processes used up to {busy[1]:.2f} cores (median {busy[0]:.2f})" if busy else ""
    if timed is None or timed < NO_SPREAD_BELOW:
        count = "an unknown number of" if timed is None else str(timed)
        return "no spread", (f"speed: no spread (from {count} timed epoch{'s' * (timed != 1)}; "
                             f"{NO_SPREAD_BELOW} or more give one){load}")
    iqr = spread.get("iqr_over_median")
    shown = f"IQR {iqr:.1%} of the median over {timed} timed epochs" if iqr is not None else f"{timed} timed epochs"
    verdict = spread.get("stability") or "unknown"
    if verdict == "unstable" and spread.get("advice"):
        return verdict, f"speed: unstable over {timed} timed epochs: {spread['advice']}{load}"
    return verdict, f"speed: {verdict} ({shown}){load}"

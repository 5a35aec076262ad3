"""The one schema of a results record, checked when a record is written (googlenet_bench.harness.results.record
validates before it writes) and when it is read: every key a reader uses (report, compare, check, history,
publish, baseline, the scaling reference) is declared with its type and range, so the readers use values
without guards of their own. Times are finite and at least 0, speeds finite and above 0, accuracies
fractions in [0, 1], counts whole numbers of at least 0, curves lists of typed entries. Blocks are
optional (a failed run or a skipped phase has none); when present they are checked. Keys no reader uses
pass as they are.
"""
from __future__ import annotations

from typing import Any

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.events import EVENT
from googlenet_bench.harness.results.shapes import (ANY_MAPPING, COUNT, FLAG, FRACTION, ISO_TIME, NON_NEGATIVE,
                                                    NUMBER, POSITIVE, TEXT, Fields, conformed, refuse_newer, either, list_of, map_of, nullable, one_of)
from googlenet_bench.harness.suites import validate_config
from googlenet_bench.harness.types import STATUSES

SCHEMA_VERSION = 1

SPEED = nullable(POSITIVE)  # ms/step, images/s: None when not measured, never 0, negative or NaN
SECONDS = nullable(NON_NEGATIVE)
_FILE_ENTRY = Fields({"mb": NON_NEGATIVE, "path": TEXT}, required=("mb",))
_ARTIFACT = Fields({"path": TEXT, "bytes": COUNT, "sha256": TEXT}, required=("path", "bytes", "sha256"))
_FAILED = lambda entry: "error" in entry  # noqa: E731 (a scenario a format could not run says why instead)
_SINGLE_STREAM = either(_FAILED, Fields({"queries": COUNT, "warmup_queries": COUNT, "error": TEXT},
                                        required=("queries", "warmup_queries")),
                        Fields({"queries": COUNT, "warmup_queries": COUNT, "p50_ms": POSITIVE, "p90_ms": POSITIVE,
                                "p99_ms": POSITIVE, "mean_ms": SPEED},
                               required=("queries", "warmup_queries", "p50_ms", "p90_ms", "p99_ms")))
_OFFLINE = Fields({"rounds": COUNT,
                   "best": nullable(Fields({"batch": COUNT, "images_per_s": POSITIVE}, required=("batch", "images_per_s"))),
                   "per_batch": list_of(either(_FAILED, Fields({"batch": COUNT, "error": TEXT}, required=("batch",)),
                                               Fields({"batch": COUNT, "images_per_s": POSITIVE},
                                                      required=("batch", "images_per_s"))))},
                  required=("rounds", "per_batch"))
_AGREEMENT = Fields({"agrees": FLAG, "images_disagreeing": nullable(COUNT), "top1_diff": NON_NEGATIVE},
                    required=("agrees",))
_SCORED = Fields({"top1": FRACTION, "top5": nullable(FRACTION), "images": COUNT, "ms_per_batch": SPEED,
                  "matches_eval": nullable(FLAG), "single_stream": _SINGLE_STREAM, "offline": _OFFLINE,
                  "agreement": _AGREEMENT, "runtime_settings": ANY_MAPPING}, required=("top1", "images"))
_CURVE_POINT = Fields({"epoch": COUNT, "train_s": NON_NEGATIVE, "top1": FRACTION}, required=("epoch", "train_s", "top1"),
                      expected="an evaluation point {epoch, train_s, top1}")
_TRAIN = Fields({
    "epochs": COUNT, "steps_per_epoch": COUNT, "steps": COUNT, "optimizer_steps": COUNT, "batch_size": COUNT,
    "global_batch": COUNT, "ranks": COUNT, "images_per_epoch": COUNT, "final_loss": nullable(NUMBER),
    "ms_per_step_median": SPEED, "ms_per_step_p90": SPEED, "ms_per_step_min": SPEED, "images_per_s": SPEED,
    "compile_s": SECONDS, "first_epoch_s": SECONDS, "train_s": SECONDS, "startup_s": SECONDS,
    "sink_steps": nullable(COUNT), "normalised_step": SPEED,
    "eval_every_epochs": COUNT, "eval_s": SECONDS, "accuracy_curve": list_of(_CURVE_POINT),
    "target_top1": nullable(FRACTION), "target_reached": FLAG, "time_to_target_s": SECONDS,
    "epochs_to_target": nullable(COUNT), "stopped_at_target": FLAG, "in_training_eval": TEXT,
    "calibration": nullable(Fields({"ms_median": SPEED, "every_steps": nullable(COUNT)})),
    "other_load_per_epoch": list_of(Fields({"other_cores": nullable(NON_NEGATIVE)})),
    "timed_epochs": COUNT,
    "ms_per_step_spread": nullable(Fields({"samples": COUNT, "iqr_over_median": nullable(NON_NEGATIVE),
                                           "stability": one_of("stable", "unstable", "unknown"), "advice": TEXT})),
}, required=("steps",))
_PROFILE_SHARE = {"ms_per_step": NON_NEGATIVE, "share": NON_NEGATIVE}
_PROFILE = Fields({
    "steps": COUNT, "ms_per_step": NON_NEGATIVE, "slowdown_vs_timed": nullable(POSITIVE),
    "accounted_share": NON_NEGATIVE, "between_steps_ms": NON_NEGATIVE, "trace_dir": TEXT, "note": TEXT,
    "by_category": list_of(Fields({"category": TEXT, **_PROFILE_SHARE}, required=("category", "ms_per_step", "share"))),
    "top_operators": list_of(Fields({"op_type": TEXT, "category": TEXT, **_PROFILE_SHARE},
                                    required=("op_type", "category", "ms_per_step", "share"))),
}, required=("steps", "ms_per_step"))
FIGURES = Fields({
    "parameters": nullable(COUNT),
    "profile": nullable(_PROFILE),
    "total_s": SECONDS,
    "train": nullable(_TRAIN),
    "eval": nullable(Fields({"top1": nullable(FRACTION), "top5": nullable(FRACTION), "images": nullable(COUNT)})),
    "export": nullable(map_of(either(lambda entry: "failed" in entry, Fields({"failed": TEXT}), _FILE_ENTRY))),
    "infer": nullable(map_of(either(lambda entry: "skipped" in entry, Fields({"skipped": TEXT}), _SCORED))),
    "checkpoint": nullable(_FILE_ENTRY),
    "weights": nullable(_FILE_ENTRY),
    "artifacts": nullable(Fields({"dir": TEXT, "bytes": COUNT, "files": list_of(_ARTIFACT)}, required=("dir", "files"))),
    "transfer": nullable(Fields({"top1_pretrained": FRACTION, "top1_scratch": FRACTION, "steps": COUNT},
                                required=("top1_pretrained", "top1_scratch", "steps"))),
    # from_checkpoint is null when the run stopped before its first checkpoint and started over.
    "resumed": nullable(Fields({"from_epoch": COUNT, "from_checkpoint": nullable(TEXT), "from_step_in_epoch": COUNT},
                               required=("from_epoch", "from_checkpoint"))),
    "launch": nullable(Fields({"ranks": COUNT})),
    "rehearsal": nullable(Fields({"host": TEXT, "notes": list_of(TEXT)}, required=("host", "notes"))),
    "recipe": nullable(Fields({"deviations": list_of(TEXT)})),
    "trained_cell": nullable(Fields({"cell": TEXT, "sens": nullable(NUMBER), "optimizer_loss_scale": nullable(NUMBER),
                                     "jit_level": nullable(TEXT)}, required=("cell",))),
    "ranks": nullable(Fields({"parameters_identical": FLAG, "ms_per_step_per_rank": list_of(SPEED),
                              "per_rank": list_of(ANY_MAPPING), "startup_s": SECONDS,
                              "startup_s_per_rank": list_of(SECONDS)})),
    "scaling": nullable(Fields({
        "ranks": COUNT, "ms_per_step_per_rank": list_of(SPEED), "images_per_s_per_rank": list_of(SPEED),
        "images_per_s": SPEED, "efficiency": nullable(NON_NEGATIVE),
        "reference": Fields({"path": TEXT, "ms_per_step": POSITIVE}, required=("path", "ms_per_step"))},
        required=("ranks", "ms_per_step_per_rank", "images_per_s_per_rank"))),
})
ENVIRONMENT = Fields({"device": TEXT, "mindspore": TEXT, "cpu_model": nullable(TEXT), "cpu_vector_isa": nullable(TEXT),
                      "cpu_cores": nullable(COUNT), "device_context": ANY_MAPPING, "speed_settings": ANY_MAPPING,
                      "git": nullable(Fields({"commit": nullable(TEXT), "dirty": nullable(FLAG)}))})
RECORD = Fields({
    "suite": TEXT, "backend": TEXT, "status": one_of(*STATUSES), "error": nullable(TEXT), "run_id": nullable(TEXT),
    "started": nullable(ISO_TIME),
    "environment": ENVIRONMENT,
    "config": ANY_MAPPING,  # checked key by key against the suite schema, below
    "figures": FIGURES,
    "events": list_of(EVENT),
    # A baseline (bench.py baseline) made of several runs: which one, and their speed figures.
    "baseline_chosen": nullable(Fields({"chosen_by": TEXT, "runs": list_of(TEXT), "values": list_of(SPEED)},
                                       required=("chosen_by", "runs", "values"))),
}, required=("schema", "suite", "backend", "status", "environment", "config", "figures"),
   expected="a results record (a JSON mapping)")


def validate_record(record: Any, origin: str) -> dict:
    """The record with every value a reader uses checked (non-finite "nan"/"inf" strings read as floats),
    or a one-line BenchError naming the first wrong value, e.g. "figures.eval.top1 must be a number"."""
    if not isinstance(record, dict) or "schema" not in record or "figures" not in record:
        raise BenchError(f"{origin} is not a googlenet-bench results record (no 'schema'/'figures')")
    schema = record["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise BenchError(f"{origin} is malformed: 'schema' must be a positive whole number")
    refuse_newer(schema, SCHEMA_VERSION, origin, "schema")
    record = conformed(record, RECORD, origin)
    record["config"] = validate_config(record["config"], f"{origin} is malformed: config", complete=False)
    return record


def as_written(record: dict) -> dict:
    """The record as a reader will get it back from its JSON file (tuples as lists, paths as strings)."""
    import json

    from googlenet_bench.harness.results.shapes import strict_json

    return json.loads(json.dumps(strict_json(record), default=str))


def checked_for_writing(record: dict) -> dict:
    """The record if a reader would accept it; else, since the writer must never write a record its readers
    reject, the same run as `failed` with the schema's one line and without the figures that broke it."""
    try:
        validate_record(as_written(record), "the record")
        return record
    except BenchError as exc:
        return {**record, "status": "failed", "figures": {"total_s": None},
                "error": f"{record.get('error') or ''}; the harness's own record failed its schema ({exc}): "
                         "report it".lstrip("; ")}

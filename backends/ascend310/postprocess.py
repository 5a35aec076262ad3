"""The zoo's Ascend 310 post-processing: accuracy from the result files, and the average latency.

Reads label.json and result_Files/googlenet_bs1_<i>_0.bin (float32 logits, one
row of num_classes values per input) as written by preprocess.py and the
inference step; top-5 is reported only for more than 10 classes (ImageNet), as
the zoo does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backends.ascend310.preprocess import LABEL_FILE, RESULT_DIR, result_name
from harness.errors import BenchError


@dataclass(frozen=True)
class Accuracy:
    images: int
    correct_top1: int
    top1: float
    top5: float | None


def read_labels(out_dir: Path) -> dict[str, int]:
    path = Path(out_dir, LABEL_FILE)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path} not found: run the pre-processing step first") from None
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path} is not JSON ({exc.msg}): run the pre-processing step again") from None


def read_logits(path: Path, num_classes: int) -> np.ndarray:
    if not path.is_file():
        raise BenchError(f"no inference result {path}: run the inference step over every input first")
    logits = np.fromfile(path, dtype=np.float32)
    if logits.size != num_classes:
        raise BenchError(f"inference result {path} holds {logits.size} values, expected {num_classes} "
                         "(one image's logits): the model and num_classes disagree")
    return logits


def score_results(out_dir: Path, num_classes: int) -> Accuracy:
    labels = read_labels(out_dir)
    if not labels:
        raise BenchError(f"{Path(out_dir, LABEL_FILE)} lists no inputs: run the pre-processing step first")
    correct1 = correct5 = 0
    for input_file, label in labels.items():
        logits = read_logits(Path(out_dir, RESULT_DIR, result_name(input_file)), num_classes)
        ranked = np.argsort(-logits, kind="stable")
        correct1 += int(ranked[0] == label)
        correct5 += int(label in ranked[:5])
    images = len(labels)
    return Accuracy(images=images, correct_top1=correct1, top1=correct1 / images,
                    top5=correct5 / images if num_classes > 10 else None)


def average_latency_ms(latencies_ms: list[float], warmup: int = 1) -> float:
    """The zoo's "NN inference cost average time", leaving out the first `warmup` inferences
    (model load and first-run set-up, which the zoo's figure includes)."""
    timed = latencies_ms[warmup:]
    if not timed:
        raise ValueError(f"{len(latencies_ms)} inference(s) timed, none left after a warm-up of {warmup}")
    return round(float(np.mean(timed)), 3)

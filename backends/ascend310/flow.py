"""The zoo's whole Ascend 310 inference flow over the evaluation split, as files on disk:

pre-process (preprocess.py) -> infer each input file through MindSpore Lite, writing
result_Files/googlenet_bs1_<i>_0.bin -> post-process (postprocess.py) into top-1/top-5
and the average latency, also written as the zoo's one-line summary.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from backends.ascend310 import postprocess, preprocess
from backends.ascend310.lite import LiteModel, device_id
from harness.errors import BenchError

SUMMARY_FILE = "inference_time.txt"


@dataclass(frozen=True)
class FlowResult:
    images: int
    correct_top1: int
    top1: float
    top5: float | None
    ms_per_image: float  # mean over every inference but the warm-up
    warmup: int
    out_dir: Path


def infer_files(predict: Callable[[np.ndarray], np.ndarray], out_dir: Path,
                input_shape: tuple[int, ...]) -> list[float]:
    """Every pre-processed input through `predict`; each result written as float32 beside the
    others in result_Files/. Returns each call's milliseconds (input copy, predict, output copy;
    the zoo's C++ runner times its Predict call alone)."""
    inputs = preprocess.input_files(out_dir)
    if not inputs:
        raise BenchError(f"no pre-processed inputs in {Path(out_dir, preprocess.DATA_DIR)}: "
                         "run the pre-processing step first")
    result_dir = Path(out_dir, preprocess.RESULT_DIR)
    result_dir.mkdir(parents=True, exist_ok=True)
    for stale in result_dir.glob("*.bin"):
        stale.unlink()
    expected = math.prod(input_shape)
    latencies = []
    for path in inputs:
        image = np.fromfile(path, dtype=np.float32)
        if image.size != expected:
            raise BenchError(f"input {path} holds {image.size} values but the model takes {input_shape}: "
                             "pre-process with the image_size the model was exported for")
        start = time.perf_counter()
        logits = predict(image.reshape(input_shape))
        latencies.append((time.perf_counter() - start) * 1000.0)
        np.ascontiguousarray(logits, dtype=np.float32).tofile(result_dir / preprocess.result_name(path.name))
    return latencies


def run(model_path: Path, dataset, out_dir: Path, num_classes: int, warmup: int = 1) -> FlowResult:
    """The whole flow for one exported MINDIR; `dataset` is the harness's evaluation split."""
    out_dir = Path(out_dir)
    model = LiteModel(model_path, device_id())  # first, so a missing runtime fails before any writing
    written = preprocess.write_inputs(dataset, out_dir)
    if written.image_shape[1:] != model.input_shape[1:]:
        raise BenchError(f"{model_path} takes images {model.input_shape[1:]} but the data set gives "
                         f"{written.image_shape[1:]}: use the suite the model was exported from")
    latencies = infer_files(model, out_dir, model.input_shape)
    accuracy = postprocess.score_results(out_dir, num_classes)
    warmup = min(warmup, len(latencies) - 1)  # a single image is its own warm-up and its only figure
    ms_per_image = postprocess.average_latency_ms(latencies, warmup)
    Path(out_dir, SUMMARY_FILE).write_text(
        f"NN inference cost average time: {ms_per_image} ms of infer_count {len(latencies) - warmup} "
        f"(warm-up of {warmup} left out)\n", encoding="utf-8")
    return FlowResult(images=accuracy.images, correct_top1=accuracy.correct_top1, top1=accuracy.top1,
                      top5=accuracy.top5, ms_per_image=ms_per_image, warmup=warmup, out_dir=out_dir)

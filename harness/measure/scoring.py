"""Scoring a predictor over an evaluation split (top-1/top-5, each image's prediction, latency),
and the rule that says whether an export's predictions agree with eval's."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from googlenet_bench.harness import interrupts


@dataclass
class Score:
    images: int
    top1: float
    top5: float | None
    ms_per_batch: float | None
    correct_top1: int
    predictions: np.ndarray  # each image's top-1 class, in the split's (unshuffled) order

    def figures(self) -> dict:
        return {"top1": self.top1, "top5": self.top5, "images": self.images, "correct_top1": self.correct_top1,
                "ms_per_batch": self.ms_per_batch}


def predictor_of(net) -> Callable[[np.ndarray], np.ndarray]:
    """A network in inference mode as a numpy -> numpy predictor (logits as float32)."""
    import mindspore as ms

    net.set_train(False)
    return lambda images: net(ms.Tensor(images)).asnumpy().astype(np.float32)


def score(predict: Callable[[np.ndarray], np.ndarray], dataset, num_classes: int) -> Score:
    """Top-1 (and top-5 when there are more than 10 classes) over every batch of `dataset`.
    The first batch (compile and warm-up) and a short last batch (a new shape) are left out of the latency."""
    images = correct1 = correct5 = 0
    latencies, predictions = [], []
    full_batch = None
    for inputs, labels in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        interrupts.check()  # a safe point: between batches
        start = time.perf_counter()
        logits = np.asarray(predict(np.ascontiguousarray(inputs, dtype=np.float32)), dtype=np.float32)
        if full_batch is None:
            full_batch = len(inputs)
        elif len(inputs) == full_batch:
            latencies.append((time.perf_counter() - start) * 1000.0)
        labels = labels.astype(np.int64)
        top = np.argsort(-logits, axis=1, kind="stable")
        predictions.append(top[:, 0])
        correct1 += int((top[:, 0] == labels).sum())
        correct5 += int((top[:, :5] == labels[:, None]).any(axis=1).sum())
        images += len(labels)
    if images == 0:
        raise RuntimeError("the evaluation data set yielded no images")
    return Score(images=images, top1=correct1 / images,
                 top5=correct5 / images if num_classes > 10 else None,
                 ms_per_batch=round(float(np.median(latencies)), 2) if latencies else None,
                 correct_top1=correct1, predictions=np.concatenate(predictions))


@dataclass(frozen=True)
class AgreementRule:
    """How closely an export must reproduce eval: exactly in fp32; under AMP (fp16 on the device,
    fp32 in onnxruntime) a few near-tie images may flip, within a share and a top-1 difference."""

    max_disagree_share: float
    max_top1_diff: float
    reason: str

    @classmethod
    def for_amp_level(cls, level: str, config: dict) -> "AgreementRule":
        if level == "O0":
            return cls(0.0, 0.0, "exact: the network trained in fp32")
        return cls(float(config["infer_max_disagree"]), float(config["infer_max_top1_diff"]),
                   f"AMP {level}: fp16 on the device against the export's own precision "
                   "(infer_max_disagree, infer_max_top1_diff)")

    def judge(self, evaluated: Score, inferred: Score) -> dict:
        same_images = evaluated.images == inferred.images
        disagree = int((evaluated.predictions != inferred.predictions).sum()) if same_images else None
        top1_diff = abs(inferred.top1 - evaluated.top1)
        ok = same_images and disagree <= self.max_disagree_share * evaluated.images and \
            top1_diff <= self.max_top1_diff + 1e-12
        return {"agrees": bool(ok), "images_disagreeing": disagree, "top1_diff": round(top1_diff, 6),
                "allowed_disagree_share": self.max_disagree_share, "allowed_top1_diff": self.max_top1_diff,
                "rule": self.reason}

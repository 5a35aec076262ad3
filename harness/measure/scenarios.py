"""Inference scenarios of an exported model, as MLPerf Inference names them, on the real eval images:
SingleStream (one image per query; latency percentiles after a warm-up that is not measured) and
Offline (throughput at a few batch sizes, each after one unmeasured warm-up batch). A batch size a
format cannot run is recorded as such, with the error, instead of ending the run."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from googlenet_bench.harness import interrupts

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scenarios:
    latency_queries: int
    latency_warmup: int
    batches: tuple[int, ...]  # Offline batch sizes, capped at the eval batch
    rounds: int  # timed batches per Offline batch size
    capped_at: int | None  # the eval batch, when a listed batch size was larger

    @classmethod
    def of(cls, config: dict, eval_batch: int) -> "Scenarios":
        wanted = config["throughput_batches"]
        batches = tuple(sorted({min(batch, eval_batch) for batch in wanted}))
        return cls(config["latency_queries"], config["latency_warmup"], batches, config["throughput_rounds"],
                   eval_batch if max(wanted) > eval_batch else None)

    @property
    def images_needed(self) -> int:
        return max(self.latency_warmup + self.latency_queries, max(self.batches))

    def measure(self, predict: Predict, pool: np.ndarray) -> dict:
        return {"single_stream": single_stream(predict, pool, self.latency_queries, self.latency_warmup),
                "offline": {**offline(predict, pool, self.batches, self.rounds),
                            **({"capped_at_eval_batch": self.capped_at} if self.capped_at else {})}}


def image_pool(dataset, count: int) -> np.ndarray:
    """The first `count` images of the eval split (cycled when it holds fewer), float32 NCHW.
    Only the batches needed are read: a full ImageNet eval split would not fit in memory."""
    taken, have = [], 0
    iterator = dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)
    for images, _ in iterator:
        taken.append(np.asarray(images, dtype=np.float32))
        have += len(images)
        if have >= count:
            break
    iterator.stop()
    pool = np.concatenate(taken)
    if len(pool) < count:
        pool = np.concatenate([pool] * math.ceil(count / len(pool)))
    return np.ascontiguousarray(pool[:count])


def _failure(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _run(predict: Predict, images: np.ndarray) -> float:
    """One call's milliseconds; a wrong number of outputs is a failure, not a figure."""
    interrupts.check()  # a safe point: between queries
    start = time.perf_counter()
    logits = predict(images)
    milliseconds = (time.perf_counter() - start) * 1000.0
    if len(logits) != len(images):
        raise ValueError(f"returned {len(logits)} rows of logits for a batch of {len(images)}")
    return milliseconds


def single_stream(predict: Predict, pool: np.ndarray, queries: int, warmup: int) -> dict:
    """Batch-1 latency over `queries` queries of consecutive eval images, after `warmup` unmeasured ones."""
    figures = {"queries": queries, "warmup_queries": warmup}
    try:
        for index in range(warmup):
            _run(predict, pool[index:index + 1])
        latencies = np.array([_run(predict, pool[(warmup + i) % len(pool)][None]) for i in range(queries)])
    except Exception as exc:  # a format or device that cannot run batch 1: say so, keep the run
        return {**figures, "error": _failure(exc)}
    return {**figures, **{f"p{q}_ms": round(float(np.percentile(latencies, q)), 3) for q in (50, 90, 99)},
            "mean_ms": round(float(latencies.mean()), 3)}


def offline(predict: Predict, pool: np.ndarray, batches: tuple[int, ...], rounds: int) -> dict:
    """Images/s at each batch size: `rounds` timed batches after one warm-up batch."""
    per_batch = []
    for batch in batches:
        images = pool[:batch]
        try:
            _run(predict, images)
            times = [_run(predict, images) for _ in range(rounds)]
        except Exception as exc:  # e.g. a fixed-shape model at another batch size
            per_batch.append({"batch": batch, "error": _failure(exc)})
            continue
        per_batch.append({"batch": batch, "images_per_s": round(batch * rounds * 1000.0 / sum(times), 1),
                          "ms_per_batch_median": round(float(np.median(times)), 3)})
    measured = [entry for entry in per_batch if "images_per_s" in entry]
    best = max(measured, key=lambda entry: entry["images_per_s"]) if measured else None
    return {"rounds": rounds, "warmup_batches": 1, "per_batch": per_batch,
            "best": {"batch": best["batch"], "images_per_s": best["images_per_s"]} if best else None}

"""What every reader shares: the split and survey types, sampling, and the normalising/batching tail.

A reader module (digits, cifar10, imagenet) provides:
  survey(config) -> Survey          check the files (BenchError if unusable), count images per split
  open_split(survey, split, sampler, num_parallel_workers) -> raw mindspore Dataset ("image", "label")
  image_ops(config, split) -> list  per-image transforms up to, not including, normalisation
  MEAN, STD                         per-channel normalisation on the 0..255 pixel scale
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from googlenet_bench.harness.errors import BenchError

SPLITS = ("train", "eval")


@dataclass
class DataSplit:
    dataset: Any  # mindspore.dataset.Dataset, batched: "image" float32 (N,3,H,W), "label" int32 (N,)
    images: int  # images this shard yields per epoch (before batching); for eval: every scored image
    batch_size: int
    steps: int  # batches per epoch
    source: str  # e.g. "CIFAR-10 binary at /data (train, 50000 images, shard 0/2)"
    skipped: int = 0  # corrupt image files left out of the split (corrupt_images: skip)


@dataclass(frozen=True)
class Survey:
    """What a reader found on disk; `images` are whole-split counts, before sampling."""

    description: str  # "CIFAR-10 binary at /data"
    location: Path
    images: dict[str, int]  # split -> image count
    classes: int  # number of classes the labels need (largest label + 1)
    class_evidence: str  # where `classes` comes from, for error messages
    extra: dict = field(default_factory=dict)  # reader-specific details for open_split


def require_data_dir(config: dict, name: str, layout: str) -> Path:
    """The --data directory of a file-based data set, or a one-line BenchError saying what to pass."""
    if config.get("data") is None:
        raise BenchError(f"dataset {config['dataset']} needs its files: pass --data DIR, expected {layout}")
    root = Path(config["data"]).expanduser()
    if not root.is_dir():
        problem = "is a file, not a directory" if root.exists() else "not found"
        raise BenchError(f"{name} data directory {root} {problem}: expected {layout}; pass --data DIR")
    return root


def images_per_epoch(total: int, num_samples: int | None, num_shards: int) -> int:
    """What one shard yields, exactly as MindSpore's samplers count it.

    DistributedSampler pads every shard to ceil(total / num_shards) by wrapping around, and
    num_samples caps each shard (not the whole data set) after sharding.
    """
    per_shard = math.ceil(total / num_shards)
    return per_shard if num_samples is None else min(num_samples, per_shard)


def make_sampler(*, shuffle: bool, num_samples: int | None, rank: int, world_size: int):
    import mindspore.dataset as ds

    if world_size > 1:
        return ds.DistributedSampler(world_size, rank, shuffle=shuffle, num_samples=num_samples)
    if shuffle:
        # Spelled out because `shuffle=True, num_samples=n` on a source op draws WITH replacement.
        return ds.RandomSampler(replacement=False, num_samples=num_samples)
    return ds.SequentialSampler(num_samples=num_samples)


def finish_pipeline(raw, image_ops: list, *, mean, std, batch_size: int, drop_remainder: bool,
                    num_parallel_workers: int):
    """Reader transforms, then the shared tail: Normalize, HWC2CHW, int32 labels, batch."""
    import mindspore as ms
    import mindspore.dataset.transforms as transforms
    import mindspore.dataset.vision as vision

    image_ops = [*image_ops, vision.Normalize(mean=list(mean), std=list(std)), vision.HWC2CHW()]
    dataset = raw.map(operations=image_ops, input_columns="image", num_parallel_workers=num_parallel_workers)
    dataset = dataset.map(operations=transforms.TypeCast(ms.int32), input_columns="label",
                          num_parallel_workers=num_parallel_workers)
    return dataset.batch(batch_size, drop_remainder=drop_remainder)


# -- the survey file: a parent surveys once and hands the result to its ranks -----------------

def write_survey(survey: Survey, path: Path) -> None:
    """Write a survey as JSON (read back by read_survey only), atomically."""
    import json
    import os

    document = {"description": survey.description, "location": str(survey.location), "images": survey.images,
                "classes": survey.classes, "class_evidence": survey.class_evidence, "extra": _plain(survey.extra)}
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(document), encoding="utf-8")
    os.replace(staging, path)


def read_survey(path: Path) -> Survey:
    import json

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"the data survey {path} that the parent process left for this rank cannot be read "
                         f"({exc.__class__.__name__}): start the run again from bench.py") from None
    return Survey(description=document["description"], location=Path(document["location"]),
                  images=document["images"], classes=document["classes"],
                  class_evidence=document["class_evidence"], extra=_restored(document["extra"]))


_INT_KEYS = "__int_keys__"  # JSON keys are strings: a mapping keyed by labels is kept as pairs


def _plain(value):
    if isinstance(value, dict):
        if any(isinstance(key, int) for key in value):
            return {_INT_KEYS: [[key, _plain(item)] for key, item in value.items()]}
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Path) else value


def _restored(value):
    if isinstance(value, dict):
        if set(value) == {_INT_KEYS}:
            return {int(key): _restored(item) for key, item in value[_INT_KEYS]}
        return {key: _restored(item) for key, item in value.items()}
    if isinstance(value, list):  # tuples come back as lists (ImageNet's (path, label) pairs unpack alike)
        return [_restored(item) for item in value]
    return value

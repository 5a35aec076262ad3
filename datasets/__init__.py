"""Input pipelines: one reader module per data set, one shared sampling/normalising/batching tail.

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

from harness.errors import BenchError

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


def _reader(config: dict):
    try:
        return READERS[config["dataset"]]
    except KeyError:
        raise BenchError(f"unknown dataset {config['dataset']!r}: choose one of {', '.join(READERS)}") from None


def _survey(config: dict) -> Survey:
    survey = _reader(config).survey(config)
    subset = config.get("classes")
    if subset:
        _check_class_subset(config, survey, subset)
    elif survey.classes > config["num_classes"]:
        raise BenchError(f"{survey.description} has {survey.classes} classes ({survey.class_evidence}) "
                         f"but num_classes is {config['num_classes']}: set num_classes to {survey.classes} "
                         f"(--set num_classes={survey.classes})")
    return survey


def _check_class_subset(config: dict, survey: Survey, subset: list) -> None:
    if "class_counts" not in survey.extra:
        raise BenchError(f"classes (a subset of labels) is supported on the digits data set, not on "
                         f"{config['dataset']}: remove the classes key")
    unknown = [c for c in subset if not isinstance(c, int) or not 0 <= c < survey.classes]
    if unknown or len(set(subset)) != len(subset):
        raise BenchError(f"classes must be distinct labels in 0..{survey.classes - 1}, got {subset}")
    if len(subset) > config["num_classes"]:
        raise BenchError(f"classes lists {len(subset)} labels but num_classes is {config['num_classes']}: "
                         f"set num_classes to {len(subset)}")
    if config["train_samples"] or config["eval_samples"]:
        raise BenchError("classes cannot be combined with train_samples/eval_samples: remove one of them")


def _keep_classes(raw, subset: list[int]):
    """Keep only the listed labels and renumber them 0..len(subset)-1, in the listed order."""
    import numpy as np

    lookup = np.full(max(subset) + 1, -1, dtype=np.int32)
    lookup[subset] = np.arange(len(subset), dtype=np.int32)
    kept = raw.filter(predicate=lambda label: bool(label < len(lookup) and lookup[label] >= 0),
                      input_columns=["label"])
    return kept.map(operations=lambda label: lookup[label], input_columns="label")


def validate_data(config: dict) -> None:
    """Raise BenchError now, before any training, if the data is missing or malformed."""
    _survey(config)


def build_split(config: dict, split: str, *, rank: int = 0, world_size: int = 1,
                num_parallel_workers: int = 2) -> DataSplit:
    """The batched pipeline of one split; train is shuffled and sharded by rank, eval is neither."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    import mindspore.dataset as ds

    reader = _reader(config)
    survey = _survey(config)
    training = split == "train"
    num_samples = config["train_samples" if training else "eval_samples"]
    num_shards = world_size if training else 1
    batch_size = config["batch_size"] if training else (config["eval_batch_size"] or config["batch_size"])
    drop_remainder = True if training else bool(config.get("eval_drop_remainder", False))

    subset = config.get("classes")
    if subset and num_shards > 1:
        raise BenchError("classes (a subset of labels) runs on one rank: use --ranks 1")
    total = sum(survey.extra["class_counts"][split].get(c, 0) for c in subset) if subset else survey.images[split]
    images = images_per_epoch(total, num_samples, num_shards)
    steps = images // batch_size if drop_remainder else math.ceil(images / batch_size)
    if steps == 0:
        size_key = "batch_size" if training else "eval_batch_size"
        raise BenchError(f"{survey.description}: the {split} split yields {images} images per "
                         f"{'shard' if num_shards > 1 else 'epoch'}, fewer than one batch of {batch_size}: "
                         f"lower {size_key} or raise {'train_samples' if training else 'eval_samples'}")
    if drop_remainder and not training:
        images = steps * batch_size  # only whole batches are scored

    # Every rank must shuffle with the same seed, or DistributedSampler's shards overlap.
    ds.config.set_seed(config["seed"])
    sampler = make_sampler(shuffle=training, num_samples=num_samples,
                           rank=rank if num_shards > 1 else 0, world_size=num_shards)
    raw = reader.open_split(survey, split, sampler, num_parallel_workers)
    if subset:
        raw = _keep_classes(raw, subset)
    dataset = finish_pipeline(raw, reader.image_ops(config, split), mean=reader.MEAN, std=reader.STD,
                              batch_size=batch_size, drop_remainder=drop_remainder,
                              num_parallel_workers=num_parallel_workers)
    shard = f", shard {rank}/{num_shards}" if num_shards > 1 else ""
    skipped = survey.extra.get("skipped_corrupt", {}).get(split, 0)
    note = f", {skipped} corrupt image{'s' if skipped != 1 else ''} skipped" if skipped else ""
    return DataSplit(dataset=dataset, images=images, batch_size=batch_size, steps=steps,
                     source=f"{survey.description} ({split}, {images} images{shard}{note})", skipped=skipped)


# The readers use Survey and the helpers above, so they are imported after them.
from datasets import cifar10, digits, imagenet  # noqa: E402

READERS = {"digits": digits, "cifar10": cifar10, "imagenet": imagenet}

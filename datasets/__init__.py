"""Input pipelines: one reader module per data set (digits, cifar10, imagenet), one shared tail.

A reader module provides:
  survey(config) -> Survey          check the files (BenchError if unusable), count images per split
  open_split(survey, split, sampler, num_parallel_workers) -> raw mindspore Dataset ("image", "label")
  image_ops(config, split) -> list  per-image transforms up to, not including, normalisation
  MEAN, STD                         per-channel normalisation on the 0..255 pixel scale
Readers import what they share from googlenet_bench.datasets.base, never from this package's __init__.
"""
from __future__ import annotations

import math

from googlenet_bench.datasets import cifar10, digits, imagenet
from googlenet_bench.datasets.base import (SPLITS, DataSplit, Survey, finish_pipeline, images_per_epoch, make_sampler, read_survey,
                           write_survey)
from googlenet_bench.harness.errors import BenchError


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


def validate_data(config: dict, splits=SPLITS, world_size: int = 1, survey: Survey | None = None) -> Survey:
    """Raise BenchError now, before anything is written, if the data is missing or malformed or
    a split cannot fill one batch; returns the survey, for build_split to reuse. Given a `survey`
    (the parent's, to a rank), only the split sizes are checked: the files are not looked at again."""
    survey = survey or _survey(config)
    for split in splits:
        _split_size(config, survey, split, world_size)
    return survey


def _split_size(config: dict, survey: Survey, split: str, world_size: int) -> tuple[int, int, int, bool]:
    """(images per shard, batch size, steps per epoch, drop_remainder) of one split."""
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
    return images, batch_size, steps, drop_remainder


def build_split(config: dict, split: str, *, rank: int = 0, world_size: int = 1,
                num_parallel_workers: int = 2, survey: Survey | None = None) -> DataSplit:
    """The batched pipeline of one split; train is shuffled and sharded by rank, eval is neither."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    import mindspore.dataset as ds

    reader = _reader(config)
    survey = survey or _survey(config)
    training = split == "train"
    num_samples = config["train_samples" if training else "eval_samples"]
    num_shards = world_size if training else 1
    subset = config.get("classes")
    images, batch_size, steps, drop_remainder = _split_size(config, survey, split, world_size)

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


READERS = {"digits": digits, "cifar10": cifar10, "imagenet": imagenet}

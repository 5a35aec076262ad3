"""A record's figures as the readers use them (compare, check, history, publish): the headline
figures and the facts that decide whether two runs compare. Records themselves are read by harness.record."""
from __future__ import annotations

from dataclasses import dataclass

MISSING = "–"  # a figure the record (or the zoo) does not have


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Headline:
    """A run's main figures; None where the run has none (a phase skipped, a failed run)."""

    top1: float | None
    ms_per_step: float | None
    images_per_s: float | None
    total_s: float | None
    final_loss: float | None


def headline(record: dict) -> Headline:
    figures = record["figures"]
    train = figures.get("train") if isinstance(figures.get("train"), dict) else {}
    evaluated = figures.get("eval") if isinstance(figures.get("eval"), dict) else {}
    return Headline(top1=_number(evaluated.get("top1")), ms_per_step=_number(train.get("ms_per_step_median")),
                    images_per_s=_number(train.get("images_per_s")), total_s=_number(figures.get("total_s")),
                    final_loss=_number(train.get("final_loss")))


def global_batch(record: dict):
    train = record["figures"].get("train") or {}
    return train.get("global_batch") or record["config"].get("batch_size")


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

"""CIFAR-10, binary release (cifar-10-binary.tar.gz), read with MindSpore's Cifar10Dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from googlenet_bench.datasets.base import Survey, require_data_dir
from googlenet_bench.harness.errors import BenchError

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
EVAL_FILES = ("test_batch.bin",)
RECORD_BYTES = 1 + 3 * 32 * 32  # label byte, then R, G and B planes of 32x32
RECORDS_PER_FILE = 10_000  # Cifar10Dataset refuses any other file size
LAYOUT = "data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the binary CIFAR-10 release)"
# Cifar10Dataset reads every *.bin file of the folder whose name contains this marker.
SPLIT_MARKERS = {"train": "data_batch", "eval": "test_batch"}

# The zoo's statistics, on the 0..255 scale: Rescale(1/255) then Normalize folded into one op.
MEAN = tuple(m * 255 for m in (0.4914, 0.4822, 0.4465))
STD = tuple(s * 255 for s in (0.2023, 0.1994, 0.2010))


def _check_files(root: Path) -> None:
    paths = [root / name for name in TRAIN_FILES + EVAL_FILES]
    missing = [p for p in paths if not p.is_file()]
    if len(missing) == len(paths):
        nested = root / "cifar-10-batches-bin"
        fix = f"pass --data {nested}" if nested.is_dir() else "pass --data DIR"
        raise BenchError(f"CIFAR-10 data directory {root} holds none of the files: expected {LAYOUT}; {fix}")
    if missing:
        raise BenchError(f"CIFAR-10 file {missing[0]} is missing: expected {LAYOUT} in {root}; "
                         f"re-extract cifar-10-binary.tar.gz")
    for path in paths:
        size = path.stat().st_size
        if size != RECORDS_PER_FILE * RECORD_BYTES:
            whole, rest = divmod(size, RECORD_BYTES)
            holds = (f"{whole:,} records ({size:,} bytes)" if not rest else
                     f"{size:,} bytes, {whole:,} whole {RECORD_BYTES:,}-byte records and {rest:,} bytes over")
            raise BenchError(f"CIFAR-10 file {path} holds {holds}; MindSpore needs "
                             f"exactly {RECORDS_PER_FILE:,} ({RECORDS_PER_FILE * RECORD_BYTES:,} bytes): "
                             f"re-extract cifar-10-binary.tar.gz")


def _largest_label(paths) -> int:
    # The label is the first byte of each fixed-size record: a strided view reads only those.
    return max(int(np.memmap(p, dtype=np.uint8, mode="r")[::RECORD_BYTES].max()) for p in paths)


def survey(config: dict) -> Survey:
    root = require_data_dir(config, "CIFAR-10", LAYOUT)
    _check_files(root)
    expected = {"train": TRAIN_FILES, "eval": EVAL_FILES}
    files = {}
    for split, marker in SPLIT_MARKERS.items():
        files[split] = sorted(p for p in root.glob("*.bin") if marker in p.name)
        extras = [p.name for p in files[split] if p.name not in expected[split]]
        if extras:
            raise BenchError(f"CIFAR-10 directory {root} also holds {', '.join(extras)}, which MindSpore "
                             f"would read as {split} data: move them out of {root}")
    largest = _largest_label(files["train"] + files["eval"])
    return Survey(description=f"CIFAR-10 binary at {root}", location=root,
                  images={split: RECORDS_PER_FILE * len(paths) for split, paths in files.items()},
                  classes=largest + 1, class_evidence=f"labels 0..{largest} in its .bin files")


def open_split(survey: Survey, split: str, sampler, num_parallel_workers: int):
    import mindspore.dataset as ds

    return ds.Cifar10Dataset(str(survey.location), usage="train" if split == "train" else "test",
                             sampler=sampler, num_parallel_workers=num_parallel_workers)


def image_ops(config: dict, split: str) -> list:
    import mindspore.dataset.vision as vision

    ops = [vision.RandomCrop(32, padding=4), vision.RandomHorizontalFlip()] if split == "train" else []
    size = config["image_size"]
    if size != 32:
        ops.append(vision.Resize((size, size), vision.Inter.BILINEAR))
    return ops

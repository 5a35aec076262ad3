"""The embedded default data set: scikit-learn's 1,797 handwritten 8x8 digits as 32x32 RGB MindRecord.

Converted once into $GOOGLENET_BENCH_CACHE (else ~/.cache/googlenet-bench)/digits-v<N>/ with a
seeded stratified split (1,437 train / 360 test). Normalisation maps 0..255 to -1..1 (mean and
std 0.5 per channel): the digits have no published statistics, and the strokes are near 0 or 255.
No augmentation: without it a probe run reached 0.98 top-1 (PLATFORM_NOTES), so none was added.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from googlenet_bench.datasets.base import Survey
from googlenet_bench.harness.errors import BenchError

CACHE_ENV = "GOOGLENET_BENCH_CACHE"
FOLDER = "digits-v2"  # bump the version whenever the stored bytes change
RECORD_FILES = {"train": "train.mindrecord", "eval": "test.mindrecord"}
INFO_FILE = "info.json"  # written last: its presence marks a complete conversion
STORED_SIZE = 32
TEST_FRACTION = 0.2
SPLIT_SEED = 0

MEAN = (0.5 * 255,) * 3
STD = (0.5 * 255,) * 3


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "googlenet-bench")


def _expected_files(folder: Path) -> list[Path]:
    # FileWriter stores each split as the record file plus an index database beside it.
    records = [folder / name for name in RECORD_FILES.values()]
    return [folder / INFO_FILE, *records, *(Path(f"{p}.db") for p in records)]


def _is_complete(folder: Path) -> bool:
    return all(path.is_file() for path in _expected_files(folder))


def _is_damaged(folder: Path) -> bool:
    # Folders only appear by rename, complete; re-check completeness in case one just did.
    return folder.exists() and any(folder.iterdir()) and not _is_complete(folder)


def _png_bytes(digit_image) -> bytes:
    """An 8x8 image of values 0..16 as a 32x32 RGB PNG."""
    import numpy as np
    from PIL import Image

    grey = np.rint(digit_image * (255 / 16)).astype(np.uint8)
    upscaled = Image.fromarray(grey).resize((STORED_SIZE, STORED_SIZE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    upscaled.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _write_records(folder: Path) -> None:
    from mindspore.mindrecord import FileWriter
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=digits.target)
    counts, class_counts = {}, {}
    for split, images, labels in (("train", x_train, y_train), ("eval", x_test, y_test)):
        writer = FileWriter(str(folder / RECORD_FILES[split]), shard_num=1)
        # The defaults (16 MB header, 32 MB pages) would make a 50 MB file for 2 MB of PNGs.
        writer.set_header_size(1 << 20)
        writer.set_page_size(1 << 20)
        writer.add_schema({"image": {"type": "bytes"}, "label": {"type": "int32"}}, "sklearn digits, 32x32 RGB")
        writer.write_raw_data([{"image": _png_bytes(image), "label": int(label)}
                               for image, label in zip(images, labels)])
        writer.commit()
        counts[split] = len(labels)
        class_counts[split] = {str(label): int((labels == label).sum()) for label in sorted(set(labels.tolist()))}
    info = {"images": counts, "class_counts": class_counts, "classes": int(digits.target.max()) + 1,
            "source": "sklearn.datasets.load_digits", "test_size": TEST_FRACTION, "random_state": SPLIT_SEED}
    (folder / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")


def convert_digits(cache_dir: str | Path | None = None) -> Path:
    """The converted folder (cache_dir/FOLDER), written on first use; safe when ranks race."""
    target = Path(cache_dir or default_cache_dir()).expanduser() / FOLDER
    if _is_complete(target):
        return target
    if _is_damaged(target):
        expected = ", ".join(path.name for path in _expected_files(target))
        raise BenchError(f"digits cache {target} is incomplete (expected {expected}): delete it and run again")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: readers only ever see a complete folder.
        staging = Path(tempfile.mkdtemp(prefix=f"{FOLDER}.partial-", dir=target.parent))
    except OSError as exc:
        raise BenchError(f"cannot write the digits cache in {target.parent} ({exc.strerror}): "
                         f"set {CACHE_ENV} to a writable directory") from None
    try:
        _write_records(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not _is_complete(target):  # not a lost race: a real failure
                raise
            # Another process renamed its copy first; both copies hold the same bytes, use the winner's.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def survey(config: dict) -> Survey:
    if config.get("data") is not None:
        raise BenchError(f"dataset digits is embedded and reads no files, but data is {config['data']!r}: "
                         f"remove --data (or set data: null)")
    folder = convert_digits()
    info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return Survey(description=f"scikit-learn digits (MindRecord at {folder})", location=folder,
                  images={split: info["images"][split] for split in RECORD_FILES},
                  classes=info["classes"], class_evidence=f"labels 0..{info['classes'] - 1}",
                  extra={"class_counts": {split: {int(label): n for label, n in counts.items()}
                                          for split, counts in info["class_counts"].items()}})


def open_split(survey: Survey, split: str, sampler, num_parallel_workers: int):
    import mindspore.dataset as ds

    return ds.MindDataset(str(survey.location / RECORD_FILES[split]), columns_list=["image", "label"],
                          sampler=sampler, num_parallel_workers=num_parallel_workers)


def image_ops(config: dict, split: str) -> list:
    import mindspore.dataset.vision as vision

    size = config["image_size"]
    resize = [vision.Resize((size, size), vision.Inter.BILINEAR)] if size != STORED_SIZE else []
    return [vision.Decode(), *resize]

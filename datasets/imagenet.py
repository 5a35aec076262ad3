"""ImageNet-style folders (DIR/train/<class>/*.JPEG, DIR/val/<class>/*.JPEG), read with ImageFolderDataset."""
from __future__ import annotations

import os
from pathlib import Path

from datasets import Survey, require_data_dir
from harness.errors import BenchError

LAYOUT = "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG"
FOLDERS = {"train": "train", "eval": "val"}
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}  # compared lower-cased

MEAN = tuple(m * 255 for m in (0.485, 0.456, 0.406))
STD = tuple(s * 255 for s in (0.229, 0.224, 0.225))


def _list_images(split_dir: Path) -> dict[str, list[Path]]:
    """Class folder name -> its image files; like ImageFolderDataset, not recursive, hidden files included."""
    # os.scandir knows file types without a stat per file, which matters for 1.3 million files.
    with os.scandir(split_dir) as entries:
        class_dirs = sorted(Path(entry.path) for entry in entries if entry.is_dir())
    classes = {}
    for class_dir in class_dirs:
        with os.scandir(class_dir) as entries:
            classes[class_dir.name] = [Path(entry.path) for entry in entries
                                       if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
                                       and entry.is_file()]
    return classes


def _survey_folder(root: Path, folder: str) -> dict[str, list[Path]]:
    split_dir = root / folder
    if not split_dir.is_dir():
        raise BenchError(f"ImageNet folder {split_dir} not found: expected {LAYOUT}")
    classes = _list_images(split_dir)
    if not classes:
        raise BenchError(f"ImageNet folder {split_dir} holds no class folders: expected {LAYOUT}")
    if not any(classes.values()):
        raise BenchError(f"ImageNet folder {split_dir} has {len(classes)} class folders but no .jpeg/.jpg/.png "
                         f"files in them: expected {LAYOUT}")
    return classes


def _names(names) -> str:
    names = sorted(names)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def survey(config: dict) -> Survey:
    root = require_data_dir(config, "ImageNet", LAYOUT)
    trees = {split: _survey_folder(root, folder) for split, folder in FOLDERS.items()}
    train_classes, val_classes = set(trees["train"]), set(trees["eval"])
    if train_classes != val_classes:
        differences = [f"{_names(names)} only in {where}" for names, where in
                       ((val_classes - train_classes, "val/"), (train_classes - val_classes, "train/")) if names]
        raise BenchError(f"ImageNet folders {root / 'val'} and {root / 'train'} hold different classes "
                         f"({'; '.join(differences)}): val/ must have the same class folders as train/")
    class_names = sorted(train_classes)
    return Survey(
        description=f"ImageNet folders at {root}", location=root,
        images={split: sum(map(len, tree.values())) for split, tree in trees.items()},
        classes=len(class_names), class_evidence=f"{len(class_names)} class folders in {root / 'train'}",
        extra={
            # Explicit, so train and val agree on label numbers whatever the folder listing order.
            "class_indexing": {name: index for index, name in enumerate(class_names)},
            # ImageFolderDataset matches extensions case-sensitively: give it the spellings present.
            "extensions": {split: sorted({p.suffix for files in tree.values() for p in files})
                           for split, tree in trees.items()},
        })


def open_split(survey: Survey, split: str, sampler, num_parallel_workers: int):
    import mindspore.dataset as ds

    return ds.ImageFolderDataset(str(survey.location / FOLDERS[split]), sampler=sampler,
                                 extensions=survey.extra["extensions"][split],
                                 class_indexing=survey.extra["class_indexing"],
                                 num_parallel_workers=num_parallel_workers)


def image_ops(config: dict, split: str) -> list:
    import mindspore.dataset.vision as vision

    size = config["image_size"]
    if split == "train":
        return [vision.RandomCropDecodeResize(size, scale=(0.08, 1.0), ratio=(0.75, 1.333)),
                vision.RandomHorizontalFlip(0.5),
                vision.RandomColorAdjust(0.4, 0.4, 0.4, 0.1)]
    # The zoo resizes to 256 for a 224 crop; keep that ratio for other sizes.
    return [vision.Decode(), vision.Resize(round(size * 256 / 224)), vision.CenterCrop(size)]

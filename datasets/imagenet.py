"""ImageNet-style folders (DIR/train/<class>/*.JPEG, DIR/val/<class>/*.JPEG), read with ImageFolderDataset.

Every image file is checked at survey time: MindSpore's Decode fails mid-pipeline on a corrupt file (or
kills the process: SIGFPE on some truncated JPEGs), so a corrupt file fails the run before training
(`corrupt_images: fail`, the default) or is left out and counted (`corrupt_images: skip`).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from googlenet_bench.datasets.base import Survey, require_data_dir
from googlenet_bench.harness.errors import BenchError

LAYOUT = "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG"
FOLDERS = {"train": "train", "eval": "val"}
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}  # compared lower-cased

MEAN = tuple(m * 255 for m in (0.485, 0.456, 0.406))
STD = tuple(s * 255 for s in (0.229, 0.224, 0.225))


def list_images(split_dir: Path) -> dict[str, list[Path]]:
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
    classes = list_images(split_dir)
    if not classes:
        raise BenchError(f"ImageNet folder {split_dir} holds no class folders: expected {LAYOUT}")
    if not any(classes.values()):
        raise BenchError(f"ImageNet folder {split_dir} has {len(classes)} class folders but no .jpeg/.jpg/.png "
                         f"files in them: expected {LAYOUT}")
    return classes


CHECK_THREADS = 8  # file opens and reads release the GIL; this hides latency on cold caches and network storage
JPEG_END = b"\xff\xd9"  # the end-of-image marker

# (class folder, its mtime_ns, file count) -> {corrupt file: why}, so the surveys of one run (validate_data,
# then each build_split) check each file once. A folder's mtime changes when files are added, removed or
# renamed in it, not when a file is rewritten in place: such a rewrite is not re-checked in the same process.
_CHECKED: dict[tuple[str, int, int], dict[Path, str]] = {}


def _corruption(path: Path) -> str | None:
    """Why MindSpore could not decode this image file, or None.

    Cost per file: PIL's open() parses the headers (the first few KB), verify() re-reads a PNG whole to
    check its CRCs (a no-op for JPEG), and the JPEG's last two bytes are read. Only a JPEG that does not
    end with its end-of-image marker is decoded, at 1/8 scale (DCT scaling, ~1 ms for 100 KB): truncated
    files fail there, files with harmless bytes after the marker (MindSpore decodes them) pass. Measured
    0.05 ms per 95 KB JPEG from the page cache (about a minute for ImageNet's 1.33 million files, once per
    process: see _CHECKED); from disk it is one open and two small reads per file, so the storage's
    random-read latency dominates.
    verify() alone is not enough: it passes a truncated JPEG, on which MindSpore's Decode raises or crashes
    the process. A full PIL decode of every file would cost ~20x more and refuse files MindSpore decodes
    (corrupt data mid-file only makes libjpeg warn).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:  # UnidentifiedImageError for anything that is not an image
            kind = image.format
            image.verify()
        if kind == "JPEG":
            with open(path, "rb") as handle:
                handle.seek(-len(JPEG_END), os.SEEK_END)
                complete = handle.read() == JPEG_END
            if not complete:
                with Image.open(path) as image:
                    image.draft(image.mode, (1, 1))
                    image.load()  # OSError "image file is truncated"
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error, DecompressionBombError...
        detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return None


def find_corrupt(split_dir: Path, tree: dict[str, list[Path]]) -> dict[Path, str]:
    """Every corrupt image file of one split folder -> why."""
    keys = {name: (str(split_dir / name), (split_dir / name).stat().st_mtime_ns, len(files))
            for name, files in tree.items()}
    unchecked = [name for name in tree if keys[name] not in _CHECKED]
    if unchecked:
        def check(name: str) -> dict[Path, str]:  # one task per class folder: a task per file costs more than a check
            return {path: why for path in tree[name] if (why := _corruption(path))}

        with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
            for name, found in zip(unchecked, pool.map(check, unchecked)):
                _CHECKED[keys[name]] = found
    return {path: why for name in tree for path, why in _CHECKED[keys[name]].items()}


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
    class_indexing = {name: index for index, name in enumerate(class_names)}
    corrupt = {split: find_corrupt(root / FOLDERS[split], tree) for split, tree in trees.items()}
    clean = {}  # split -> its clean (path, label) list, for the splits that lose corrupt files
    reasons = {path: why for found in corrupt.values() for path, why in found.items()}
    if reasons:
        total = sum(len(files) for tree in trees.values() for files in tree.values())
        if config.get("corrupt_images", "fail") != "skip":
            first = min(reasons)
            raise BenchError(f"ImageNet folders at {root}: {len(reasons):,} of {total:,} image files are corrupt, "
                             f"first {first} ({reasons[first]}): remove them, or pass --set corrupt_images=skip "
                             "to leave them out")
        for split, tree in trees.items():
            if corrupt[split]:
                # ImageFolderDataset's order: classes in label order, files sorted by name.
                clean[split] = [(str(path), class_indexing[name]) for name in class_names
                                for path in sorted(tree[name], key=lambda p: p.name) if path not in corrupt[split]]
                if not clean[split]:
                    raise BenchError(f"every image file in {root / FOLDERS[split]} is corrupt "
                                     f"({len(corrupt[split]):,} files): re-extract the data set")
    return Survey(
        description=f"ImageNet folders at {root}", location=root,
        images={split: sum(map(len, tree.values())) - len(corrupt[split]) for split, tree in trees.items()},
        classes=len(class_names), class_evidence=f"{len(class_names)} class folders in {root / 'train'}",
        extra={
            # Explicit, so train and val agree on label numbers whatever the folder listing order.
            "class_indexing": class_indexing,
            # ImageFolderDataset matches extensions case-sensitively: give it the spellings present.
            "extensions": {split: sorted({p.suffix for files in tree.values() for p in files})
                           for split, tree in trees.items()},
            # Corrupt files left out per split (corrupt_images: skip; with fail there are none).
            "skipped_corrupt": {split: len(found) for split, found in corrupt.items()},
            "files": clean,
        })


class _FileList:
    """Random-access source of what ImageFolderDataset yields: a file's bytes (uint8) and its int32 label."""

    def __init__(self, files: list[tuple[str, int]]):
        import numpy as np

        self.paths = [path for path, _ in files]
        self.labels = np.array([label for _, label in files], dtype=np.int32)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        import numpy as np

        return np.fromfile(self.paths[index], dtype=np.uint8), self.labels[index]


def open_split(survey: Survey, split: str, sampler, num_parallel_workers: int):
    import mindspore.dataset as ds

    files = survey.extra["files"].get(split)
    if files is not None:
        # ImageFolderDataset cannot leave files out: read the clean ones from an explicit list instead, in
        # its order, through the same sampler and the same Decode-based image_ops. Python reads the files,
        # in threads (they release the GIL); slower than ImageFolderDataset's C++ reader.
        return ds.GeneratorDataset(_FileList(files), column_names=["image", "label"], sampler=sampler,
                                   num_parallel_workers=num_parallel_workers, python_multiprocessing=False)
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

"""The zoo's Ascend 310 pre-processing: each evaluation image as its own float32 .bin file.

Layout under the output folder (the zoo's names, batch size 1):

    00_data/googlenet_bs1_<i>.bin     image i, float32, shape (1, 3, H, W), C order, no header
    label.json                        {"googlenet_bs1_<i>.bin": label, ...}

The images are taken from the harness's evaluation pipeline, so they are already
resized and normalised exactly as eval and export saw them. The labels are a JSON
object keyed by input file name (rather than the zoo's positional .npy) so the
post-processing step can tell a missing result from a shifted one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = "00_data"
RESULT_DIR = "result_Files"
LABEL_FILE = "label.json"
BATCH_SIZE = 1  # the zoo's 310 flow, and the exported model, take one image at a time
INPUT_NAME = re.compile(rf"googlenet_bs{BATCH_SIZE}_(\d+)\.bin")


def input_name(index: int) -> str:
    return f"googlenet_bs{BATCH_SIZE}_{index}.bin"


def result_name(input_file: str) -> str:
    """The zoo's name for output 0 of an input: googlenet_bs1_7.bin -> googlenet_bs1_7_0.bin."""
    return f"{Path(input_file).stem}_0.bin"


def input_files(out_dir: Path) -> list[Path]:
    """The pre-processed inputs in index order (not name order: _10 comes after _9)."""
    found = [(int(match.group(1)), path) for path in Path(out_dir, DATA_DIR).glob("*.bin")
             if (match := INPUT_NAME.fullmatch(path.name))]
    return [path for _, path in sorted(found)]


@dataclass(frozen=True)
class PreprocessedInputs:
    images: int
    image_shape: tuple[int, ...]  # of one input file, batch dimension included
    labels: Path


def write_inputs(dataset, out_dir: Path) -> PreprocessedInputs:
    """Write every image of a batched (image, label) MindSpore dataset as its own .bin file."""
    data_dir = Path(out_dir, DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Inputs left from an earlier, longer run would otherwise be inferred and scored too.
    for stale in input_files(out_dir):
        stale.unlink()
    labels: dict[str, int] = {}
    shape: tuple[int, ...] = ()
    for images, batch_labels in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        for image, label in zip(images, batch_labels):
            one = np.ascontiguousarray(image[None], dtype=np.float32)
            name = input_name(len(labels))
            one.tofile(data_dir / name)
            labels[name] = int(label)
            shape = one.shape
    if not labels:
        raise RuntimeError("the evaluation data set yielded no images to pre-process")
    label_path = Path(out_dir, LABEL_FILE)
    label_path.write_text(json.dumps(labels, indent=0), encoding="utf-8")
    return PreprocessedInputs(images=len(labels), image_shape=shape, labels=label_path)

"""The one step that needs the Ascend 310: running a MINDIR through MindSpore Lite's Python API."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from googlenet_bench.harness.errors import BenchError

LITE_FIX = ("MindSpore Lite is not installed and is not on PyPI: download the mindspore_lite wheel "
            "for your CANN version from the MindSpore site and pip install it")


def import_lite():
    try:
        import mindspore_lite
    except ImportError:
        raise BenchError(LITE_FIX) from None
    return mindspore_lite


def device_id() -> int:
    # The zoo's run_infer_310.sh takes the device id as an argument; here it is DEVICE_ID, default 0.
    return int(os.environ.get("DEVICE_ID", 0))


class LiteModel:
    """A MINDIR built for the Ascend 310; called with float32 images (N, C, H, W), it returns
    logits (N, classes), running the batch-1 model once per image."""

    def __init__(self, path: Path, device: int):
        mslite = import_lite()
        context = mslite.Context()
        context.target = ["ascend"]
        context.ascend.device_id = device
        self.model = mslite.Model()
        try:
            self.model.build_from_file(str(path), mslite.ModelType.MINDIR, context)
        except RuntimeError as exc:
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise BenchError(f"MindSpore Lite could not build {path} for Ascend device {device} ({first_line}): "
                             "check the CANN install and DEVICE_ID") from None
        self.inputs = self.model.get_inputs()
        self.input_shape = tuple(self.inputs[0].shape)
        if self.input_shape[0] != 1:
            raise BenchError(f"{path} was exported for batch {self.input_shape[0]}; the Ascend 310 flow runs "
                             "batch 1 as the zoo does: export again with --set export_batch_size=1")

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        self.inputs[0].set_data_from_numpy(np.ascontiguousarray(image, dtype=np.float32).reshape(self.input_shape))
        outputs = self.model.predict(self.inputs)
        return outputs[0].get_data_to_numpy().reshape(1, -1)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return np.concatenate([self.predict_one(images[i:i + 1]) for i in range(len(images))])

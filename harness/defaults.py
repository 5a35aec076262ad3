"""The core's default hook implementations, consulted after the chosen backend's.

They hold what is the same on every device (export through MindSpore, ONNX
through onnxruntime, data-parallel start-up), so a backend implements only
what differs on its device. Shared helpers for backends live here too.
"""
from __future__ import annotations

import os
from pathlib import Path

from harness.errors import BenchError
from harness.hookspecs import hookimpl

AMP_LEVELS = ("O0", "O1", "O2", "O3")


def amp_settings(config: dict, auto_level: str, refuse_dynamic_loss_scale: str = ""):
    """AmpSettings for a config: `auto_level` where the suite says "auto"; a non-empty
    `refuse_dynamic_loss_scale` is the reason this device cannot scale dynamically."""
    from mindspore.train import DynamicLossScaleManager, FixedLossScaleManager

    from harness.plugins import AmpSettings

    level = auto_level if config["amp_level"] == "auto" else config["amp_level"]
    kind = config["loss_scale"]
    if kind == "dynamic" and refuse_dynamic_loss_scale:
        raise BenchError(f"loss_scale=dynamic is not supported here: {refuse_dynamic_loss_scale}; "
                         "use --set loss_scale=fixed")
    manager = None
    if kind == "fixed":
        manager = FixedLossScaleManager(float(config["loss_scale_value"]), drop_overflow_update=False)
    elif kind == "dynamic":
        # The zoo's dynamic setting: initial 65536, factor 2, window 2000.
        manager = DynamicLossScaleManager(init_loss_scale=65536, scale_factor=2, scale_window=2000)
    keep_bn = config["keep_batchnorm_fp32"] if level in ("O2", "O3") else None
    return AmpSettings(level=level, keep_batchnorm_fp32=keep_bn, loss_scale_manager=manager, loss_scale=kind)


@hookimpl(trylast=True)
def bench_config_defaults():
    return {}


@hookimpl(trylast=True)
def bench_supported_phases(config):
    from harness.runner import PHASES

    return list(PHASES)


@hookimpl(trylast=True)
def bench_amp(config):
    return amp_settings(config, auto_level="O0")


@hookimpl(trylast=True)
def bench_dataset_options(config):
    from harness.plugins import DatasetOptions

    return DatasetOptions(num_parallel_workers=min(8, os.cpu_count() or 1), sink_mode=True)


@hookimpl(trylast=True)
def bench_export_formats(config):
    return ["MINDIR"]


@hookimpl(trylast=True)
def bench_launcher(config, launch):
    from harness.launch import MsrunLauncher

    return MsrunLauncher()


def start_data_parallel(rank, backend_name: str | None = None) -> None:
    """init(backend_name) (None: MindSpore picks by device), check the group size, then data
    parallel with averaged gradients, as the zoo trains on every device."""
    import mindspore as ms
    from mindspore.communication import get_group_size, init

    init(backend_name)
    if get_group_size() != rank.world_size:
        raise BenchError(f"the communication group has {get_group_size()} ranks, expected {rank.world_size}")
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=rank.world_size)


@hookimpl(trylast=True)
def bench_distributed_init(config, rank):
    start_data_parallel(rank)
    return os.environ.get("MS_COMM_BACKEND", "default (mindspore.communication.init)")


def onnx_predictor(path, providers=("CPUExecutionProvider",)):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # MindSpore's ONNX export keeps the output's batch static even with dynamic_axes, so
    # onnxruntime warns on every short last batch; the outputs are right (checked against eval).
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=list(providers))
    input_name = session.get_inputs()[0].name
    return lambda images: session.run(None, {input_name: images})[0]


EXTENSIONS = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


@hookimpl(trylast=True)
def bench_export(net, example_input, file_format, path):
    import mindspore as ms

    path = Path(path)
    # MindSpore writes exports read-only (0400); replace, don't overwrite.
    path.unlink(missing_ok=True)
    if file_format == "ONNX":
        import mindspore.onnx

        mindspore.onnx.export(net, example_input, file_name=str(path), input_names=["image"],
                              output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    elif file_format in ("MINDIR", "AIR"):
        ms.export(net, example_input, file_name=str(path.with_suffix("")), file_format=file_format)
    else:
        return None
    if not path.exists():
        raise RuntimeError(f"export to {file_format} reported success but wrote no {path}")
    return path


@hookimpl(trylast=True)
def bench_predictor(path, file_format, config):
    if file_format == "MINDIR":
        import mindspore as ms
        import mindspore.nn as nn

        cell = nn.GraphCell(ms.load(str(path)))
        return lambda images: cell(ms.Tensor(images)).asnumpy()
    if file_format == "ONNX":
        return onnx_predictor(path)
    return None


@hookimpl
def bench_record_metadata(config):
    return {}

"""The core's default hook implementations, consulted after the chosen backend's.

They hold what is the same on every device (export through MindSpore, ONNX
through onnxruntime, data-parallel start-up, msrun), so a backend implements
only what differs on its device. Helpers for backend authors are in googlenet_bench.harness.kit.
"""
from __future__ import annotations

import os
from pathlib import Path

from googlenet_bench.harness import kit
from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness.types import PHASES, DatasetOptions


@hookimpl(trylast=True)
def bench_config_defaults():
    return {}


@hookimpl(trylast=True)
def bench_supported_phases(config):
    return list(PHASES)


@hookimpl(trylast=True)
def bench_amp(config):
    return kit.amp_settings(config, auto_level="O0")


@hookimpl(trylast=True)
def bench_jit_level(config):
    # graph_kernel: null is "the device's choice"; by default no device fuses.
    return "O1" if config["graph_kernel"] else None


@hookimpl(trylast=True)
def bench_dataset_options(config):
    return DatasetOptions(num_parallel_workers=min(8, os.cpu_count() or 1), sink_mode=True)


@hookimpl(trylast=True)
def bench_export_formats(config):
    return ["MINDIR"]


@hookimpl(trylast=True)
def bench_launcher(config, launch):
    from googlenet_bench.harness.launch import MsrunLauncher

    return MsrunLauncher()


@hookimpl(trylast=True)
def bench_rank_capacity(config):
    return None  # unknown: no limit


@hookimpl(trylast=True)
def bench_distributed_init(config, rank):
    kit.start_data_parallel(rank)
    return os.environ.get("MS_COMM_BACKEND", "default (mindspore.communication.init)")


@hookimpl(trylast=True)
def bench_rehearse(recipe, config):
    return None  # a backend hosts rehearsals only if it says how


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
        return kit.onnx_predictor(path)
    return None


@hookimpl(trylast=True)
def bench_profiler_activities(config):
    return ["CPU"]


@hookimpl
def bench_record_metadata(config):
    return {}

"""GPU backend: NVIDIA GPUs through MindSpore's GPU plugin (CUDA 11.x), NCCL between ranks.

As the zoo does on GPU: AMP O2 with keep_batchnorm_fp32=False (the suite's
choice), no loss scale for CIFAR-10. Graph-kernel fusion is off unless the
suite sets graph_kernel: true. Exports MINDIR and ONNX; ONNX inference runs on
onnxruntime's CUDA provider when that build of onnxruntime is installed.
"""
from __future__ import annotations

import os

from harness import defaults
from harness.defaults import amp_settings
from harness.devices import cuda_device_count, join_missing, library_missing, mindspore_plugin
from harness.errors import BenchError
from harness.hookspecs import hookimpl
from harness.plugins import Availability

CUDA_FIX = "install CUDA 11.6 (or 11.1) and cuDNN 8 and put their lib64 on LD_LIBRARY_PATH"
COMMUNICATION = "nccl"


def plugin_problem() -> str | None:
    plugin = mindspore_plugin("libmindspore_gpu.so.*")
    if plugin is None:
        return "MindSpore's GPU plugin (lib/plugin/libmindspore_gpu.so.*) is not in this mindspore install"
    return library_missing(plugin, f"MindSpore's GPU plugin {plugin.name}", CUDA_FIX)


def context_settings(config: dict) -> dict:
    """The keyword arguments for mindspore.set_context on this device."""
    import mindspore as ms

    settings = {"mode": ms.GRAPH_MODE}
    if config["graph_kernel"]:
        # MindSpore 2.10 still accepts this key but warns it is deprecated (pointing at
        # jit_config={"jit_level": "O1"}); it is the switch MindSpore's fusion guide gives for GPU.
        settings["enable_graph_kernel"] = True
    return settings


def onnx_providers() -> list:
    """onnxruntime providers in order of preference: CUDA on this rank's device when the
    installed onnxruntime has it (the onnxruntime-gpu build), else CPU."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        # DEVICE_ID is what every launcher gives a rank; ids count visible devices only.
        device_id = int(os.environ.get("DEVICE_ID", 0))
        return [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@hookimpl
def bench_describe():
    return "NVIDIA GPU (CUDA, MindSpore GPU plugin, NCCL)"


@hookimpl
def bench_available():
    count, device_problem = cuda_device_count()
    problem = join_missing(device_problem, plugin_problem())
    if problem:
        return Availability(False, problem)
    return Availability(True, f"{count} CUDA device(s) visible")


@hookimpl
def bench_device_setup(config, rank):
    import mindspore as ms

    count, problem = cuda_device_count()
    if problem:
        raise BenchError(f"GPU rank {rank.rank}: {problem}")
    # With CUDA_VISIBLE_DEVICES set, device ids count the visible devices only.
    if rank.local_rank >= count:
        raise BenchError(f"GPU rank {rank.rank} needs device {rank.local_rank} but only {count} are visible: "
                         "lower --ranks or widen CUDA_VISIBLE_DEVICES")
    settings = context_settings(config)
    ms.set_context(**settings)
    ms.set_device("GPU", rank.local_rank)
    return {"mode": "GRAPH", "device_target": "GPU", "device_id": rank.local_rank,
            "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "(unset: all)"),
            "enable_graph_kernel": settings.get("enable_graph_kernel", False)}


@hookimpl
def bench_distributed_init(config, rank):
    defaults.start_data_parallel(rank, backend_name=COMMUNICATION)
    return COMMUNICATION


@hookimpl
def bench_amp(config):
    return amp_settings(config, auto_level="O2")


@hookimpl
def bench_export_formats(config):
    return ["MINDIR", "ONNX"]


@hookimpl
def bench_predictor(path, file_format, config):
    # MINDIR runs through the default GraphCell on the device set up above; only ONNX differs.
    if file_format == "ONNX":
        return defaults.onnx_predictor(path, providers=onnx_providers())
    return None

"""GPU backend: NVIDIA GPUs through MindSpore's GPU plugin (CUDA 11.x), NCCL between ranks.

As the zoo does on GPU: AMP O2 with keep_batchnorm_fp32=False (the suite's
choice), no loss scale for CIFAR-10. Graph-kernel fusion is off unless the
suite sets graph_kernel: true.
"""
from __future__ import annotations

from harness.defaults import amp_settings
from harness.devices import cuda_device_count, join_missing, library_missing, mindspore_plugin
from harness.errors import BenchError
from harness.hookspecs import hookimpl
from harness.plugins import Availability

CUDA_FIX = "install CUDA 11.6 (or 11.1) and cuDNN 8 and put their lib64 on LD_LIBRARY_PATH"


def plugin_problem() -> str | None:
    plugin = mindspore_plugin("libmindspore_gpu.so.*")
    if plugin is None:
        return "MindSpore's GPU plugin (lib/plugin/libmindspore_gpu.so.*) is not in this mindspore install"
    return library_missing(plugin, f"MindSpore's GPU plugin {plugin.name}", CUDA_FIX)


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
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("GPU", rank.local_rank)
    applied = {"mode": "GRAPH", "device_target": "GPU", "device_id": rank.local_rank}
    if config.get("graph_kernel"):
        ms.set_context(enable_graph_kernel=True)
        applied["enable_graph_kernel"] = True
    return applied


@hookimpl
def bench_amp(config):
    return amp_settings(config, auto_level="O2")


@hookimpl
def bench_export_formats(config):
    return ["MINDIR", "ONNX"]

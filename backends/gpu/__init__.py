"""GPU backend: NVIDIA GPUs through MindSpore's GPU plugin (CUDA 11.x), NCCL between ranks.

As the zoo does on GPU: AMP O2 with keep_batchnorm_fp32=False (the suite's
choice), no loss scale for CIFAR-10, and graph-kernel fusion on (the zoo's
`enable_graph_kernel=True`, which MindSpore 2.10 spells jit level "O1" on the
network) unless the suite sets graph_kernel: false. Exports MINDIR and ONNX;
ONNX inference runs on onnxruntime's CUDA provider when that build is installed.
"""
from __future__ import annotations

import ctypes
import os

from googlenet_bench.harness import kit
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness.types import Availability

CUDA_FIX = "install CUDA 11.6 (or 11.1) and cuDNN 8 and put their lib64 on LD_LIBRARY_PATH"
COMMUNICATION = "nccl"


def plugin_problem() -> str | None:
    # MindSpore ships one plugin per CUDA version (libmindspore_gpu.so.11.1, .11.6): any that loads will do.
    return kit.first_loadable_plugin("libmindspore_gpu.so.*", "GPU plugin", CUDA_FIX)


# CUDA 11.8 was the first with kernels for compute capability 9.0 (Hopper); MindSpore 2.10's GPU plugins are
# built for older CUDA versions, so a GPU of this capability or newer is unlikely to run them.
NEWER_CUDA_MAJOR = 9


def plugin_cuda_versions() -> list[str]:
    """The CUDA versions MindSpore's GPU plugins were built for (from libmindspore_gpu.so.<version>), oldest first."""
    return sorted((p.name.removeprefix("libmindspore_gpu.so.") for p in kit.mindspore_plugins("libmindspore_gpu.so.*")),
                  key=lambda v: tuple(int(part) for part in v.split(".") if part.isdigit()))


def compute_capabilities(cuda, count: int) -> list[tuple[int, int]]:
    """(major, minor) of each visible device, through the driver API."""
    found = []
    for index in range(count):
        device, major, minor = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(0)
        if cuda.cuDeviceGet(ctypes.byref(device), index) != 0:
            continue
        cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device)  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device)  # ..._MINOR
        found.append((major.value, minor.value))
    return found


def needs_newer_cuda(capabilities: list[tuple[int, int]], versions: list[str]) -> str | None:
    """Why the visible GPUs need a newer CUDA than the plugins', or None."""
    newer = [f"{major}.{minor}" for major, minor in capabilities if major >= NEWER_CUDA_MAJOR]
    if not newer:
        return None
    return (f"the GPU's compute capability {newer[0]} (Hopper or newer) needs CUDA 11.8 or later, but MindSpore's "
            f"GPU plugins are built for CUDA {', '.join(versions) or 'none'}: use an older GPU or a MindSpore build "
            "for CUDA 12")


def cuda_device_count() -> tuple[int, str | None]:
    """Visible CUDA devices through the driver API (honours CUDA_VISIBLE_DEVICES)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no NVIDIA driver (libcuda.so.1 not found): install the NVIDIA driver"
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0, "the NVIDIA driver found no usable CUDA device (cuInit failed)"
    if count.value == 0:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        return 0, f"no CUDA device visible (CUDA_VISIBLE_DEVICES={visible!r})"
    return count.value, None


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
    versions = plugin_cuda_versions()
    built_for = f"MindSpore's GPU plugins are built for CUDA {', '.join(versions) or '(none installed)'}"
    problem = kit.join_missing(device_problem, plugin_problem())
    if not problem and count:
        problem = needs_newer_cuda(compute_capabilities(ctypes.CDLL("libcuda.so.1"), count), versions)
    if problem:
        return Availability(False, f"{problem} ({built_for})")
    return Availability(True, f"{count} CUDA device(s) visible; {built_for}")


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
    return {"mode": "GRAPH", "device_target": "GPU", "device_id": rank.local_rank,
            "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "(unset: all)")}


@hookimpl
def bench_rank_capacity(config):
    return cuda_device_count()[0]  # one rank per visible device


@hookimpl
def bench_distributed_init(config, rank):
    kit.start_data_parallel(rank, backend_name=COMMUNICATION)
    return COMMUNICATION


@hookimpl
def bench_profiler_activities(config):
    return ["CPU", "GPU"]  # the host's operators and the CUDA kernels


@hookimpl
def bench_amp(config):
    return kit.amp_settings(config, auto_level="O2")


@hookimpl
def bench_jit_level(config):
    # The zoo's GPU branch turns graph-kernel fusion on; graph_kernel: false turns it off.
    return None if config["graph_kernel"] is False else "O1"


@hookimpl
def bench_export_formats(config):
    return ["MINDIR", "ONNX"]


@hookimpl
def bench_predictor(path, file_format, config):
    # MINDIR runs through the default GraphCell on the device set up above; only ONNX differs.
    if file_format == "ONNX":
        return kit.onnx_predictor(path, providers=onnx_providers())
    return None

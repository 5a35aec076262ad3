"""Probes backends share to say whether their hardware and runtime are here.

Each probe returns None when the thing is present, else one line saying what
is missing; a backend joins the lines of what it needs.
"""
from __future__ import annotations

import ctypes
import glob
import os
from pathlib import Path


def mindspore_plugin(pattern: str) -> Path | None:
    """A library in MindSpore's plugin folder (e.g. "libmindspore_gpu.so.*"), found without importing MindSpore."""
    import importlib.util

    spec = importlib.util.find_spec("mindspore")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0], "lib", "plugin").glob(pattern))
    return found[-1] if found else None


def library_missing(path_or_name: str | Path, what: str, fix: str) -> str | None:
    """None when the shared library loads, else why not (the loader's first complaint) and the fix."""
    try:
        ctypes.CDLL(str(path_or_name))
    except OSError as exc:
        # The loader says "<path>: <missing dependency>: cannot open shared object file: ...".
        message = str(exc).removeprefix(f"{path_or_name}: ")
        if ": cannot open shared object file" in message:
            message = f"needs {message.split(':')[0]}, not found"
        return f"{what} does not load ({message}): {fix}"
    return None


def device_nodes_missing(pattern: str, what: str) -> str | None:
    return None if glob.glob(pattern) else f"no {what} ({pattern} not found)"


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


def join_missing(*problems: str | None) -> str:
    return "; ".join(problem for problem in problems if problem)

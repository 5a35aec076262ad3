"""A small kit for backend authors: the pieces several backends share.

Probes return None when the thing is present, else one line saying what is
missing; a backend joins the lines of what it needs. Nothing here is a hook:
`googlenet_bench.harness.defaults` holds the default hook implementations.
"""
from __future__ import annotations

import ctypes
import glob
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.types import AMP_LEVELS, AmpSettings, DynamicScale


def mindspore_plugins(pattern: str) -> list[Path]:
    """Every library in MindSpore's plugin folder matching `pattern` (e.g. "libmindspore_gpu.so.*"),
    newest version first, found without importing MindSpore."""
    import importlib.util

    spec = importlib.util.find_spec("mindspore")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(Path(spec.submodule_search_locations[0], "lib", "plugin").glob(pattern), reverse=True)


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


def first_loadable_plugin(pattern: str, what: str, fix: str) -> str | None:
    """None when any installed version of a MindSpore plugin loads; else why the newest did not."""
    plugins = mindspore_plugins(pattern)
    if not plugins:
        return f"MindSpore's {what} (lib/plugin/{pattern}) is not in this mindspore install"
    problems = [library_missing(plugin, f"MindSpore's {what} {plugin.name}", fix) for plugin in plugins]
    return None if None in problems else problems[0]


def device_nodes_missing(pattern: str, what: str) -> str | None:
    return None if glob.glob(pattern) else f"no {what} ({pattern} not found)"


def join_missing(*problems: str | None) -> str:
    return "; ".join(problem for problem in problems if problem)


def amp_settings(config: dict, auto_level: str, refuse_dynamic_loss_scale: str = "") -> AmpSettings:
    """AmpSettings for a config: `auto_level` where the suite says "auto"; a non-empty
    `refuse_dynamic_loss_scale` is the reason this device cannot scale dynamically."""
    level = auto_level if config["amp_level"] == "auto" else config["amp_level"]
    if level not in AMP_LEVELS:
        raise BenchError(f"amp_level {level!r} is not one of {', '.join(AMP_LEVELS)}")
    kind = config["loss_scale"]
    if kind == "dynamic" and refuse_dynamic_loss_scale:
        raise BenchError(f"loss_scale=dynamic is not supported here: {refuse_dynamic_loss_scale}; "
                         "use --set loss_scale=fixed")
    keep_bn = config["keep_batchnorm_fp32"] if level in ("O2", "O3") else None
    return AmpSettings(level=level, keep_batchnorm_fp32=keep_bn, loss_scale=kind,
                       loss_scale_value=float(config["loss_scale_value"]) if kind == "fixed" else 1.0,
                       dynamic=DynamicScale())


# MindSpore's comm_fusion setting that puts the gradients into as few all-reduces as its 64 MB threshold allows.
FUSED_ALL_REDUCE = {"allreduce": {"mode": "auto", "config": None}}


def start_data_parallel(rank, backend_name: str | None = None, fuse_all_reduce: bool = False) -> None:
    """init(backend_name) (None: MindSpore picks by device), check the group size, then data
    parallel with averaged gradients, as the zoo trains on every device. `fuse_all_reduce`: the
    gradients go in a few fused all-reduces, not one per parameter."""
    import mindspore as ms
    from mindspore.communication import get_group_size, init

    init(backend_name)
    if get_group_size() != rank.world_size:
        raise BenchError(f"the communication group has {get_group_size()} ranks, expected {rank.world_size}")
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=rank.world_size, **({"comm_fusion": FUSED_ALL_REDUCE} if fuse_all_reduce else {}))


class OnnxPredictor:
    """An onnxruntime session as a numpy -> numpy predictor, with its session options set on purpose
    and kept in `settings` (the record shows them): intra-op threads = the cores this process may use,
    one inter-op thread (GoogleNet's branches are small; a second pool only competes for the cores),
    sequential execution and every graph optimisation. Measured choice: see the README."""

    def __init__(self, path, providers=("CPUExecutionProvider",)):
        import os

        import onnxruntime

        options = onnxruntime.SessionOptions()
        # MindSpore's ONNX export keeps the output's batch static even with dynamic_axes, so
        # onnxruntime warns on every short last batch; the outputs are right (checked against eval).
        options.log_severity_level = 3
        options.intra_op_num_threads = len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(str(path), options, providers=list(providers))
        self.input_name = self.session.get_inputs()[0].name
        self.settings = {"runtime": f"onnxruntime {onnxruntime.__version__}",
                         "providers": self.session.get_providers(),
                         "intra_op_num_threads": options.intra_op_num_threads,
                         "inter_op_num_threads": options.inter_op_num_threads,
                         "execution_mode": options.execution_mode.name,
                         "graph_optimization_level": options.graph_optimization_level.name}

    def __call__(self, images):
        return self.session.run(None, {self.input_name: images})[0]


def onnx_predictor(path, providers=("CPUExecutionProvider",)) -> OnnxPredictor:
    return OnnxPredictor(path, providers)

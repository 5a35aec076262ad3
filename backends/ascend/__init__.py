"""Ascend 910 backend: MindSpore's Ascend plugin on CANN, HCCL between ranks.

As the zoo does on Ascend: AMP O2, the suite's loss scale (none for CIFAR-10,
fixed 1024 for ImageNet), exports MINDIR, AIR and ONNX.
"""
from __future__ import annotations

import os

from harness.defaults import amp_settings
from harness.devices import device_nodes_missing, join_missing, library_missing, mindspore_plugin
from harness.errors import BenchError
from harness.hookspecs import hookimpl
from harness.plugins import Availability

CANN_FIX = "install the CANN toolkit matching MindSpore 2.10 and source its set_env.sh"


def plugin_problem() -> str | None:
    plugin = mindspore_plugin("libmindspore_ascend.so*")
    if plugin is None:
        return "MindSpore's Ascend plugin (lib/plugin/libmindspore_ascend.so*) is not in this mindspore install"
    return library_missing(plugin, f"MindSpore's Ascend plugin {plugin.name}", CANN_FIX)


def device_problem() -> str | None:
    return device_nodes_missing("/dev/davinci[0-9]*", "Ascend NPU device")


@hookimpl
def bench_describe():
    return "Ascend 910 NPU (CANN, MindSpore Ascend plugin, HCCL)"


@hookimpl
def bench_available():
    problem = join_missing(device_problem(), plugin_problem())
    return Availability(not problem, problem or "Ascend NPU device(s) and the CANN runtime are present")


@hookimpl
def bench_device_setup(config, rank):
    import mindspore as ms

    problem = device_problem()
    if problem:
        raise BenchError(f"Ascend rank {rank.rank}: {problem}")
    # The zoo's rank-table launch pins each process to DEVICE_ID; msrun ranks use their local rank.
    device_id = int(os.environ.get("DEVICE_ID", rank.local_rank))
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("Ascend", device_id)
    return {"mode": "GRAPH", "device_target": "Ascend", "device_id": device_id}


@hookimpl
def bench_amp(config):
    return amp_settings(config, auto_level="O2")


@hookimpl
def bench_export_formats(config):
    return ["MINDIR", "AIR", "ONNX"]

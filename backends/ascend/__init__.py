"""Ascend 910 backend: MindSpore's Ascend plugin on CANN, HCCL between ranks.

As the zoo does on Ascend: AMP O2, the suite's loss scale (none for CIFAR-10,
fixed 1024 for ImageNet), exports MINDIR and ONNX, and AIR where the GE backend is present
(or when export_formats asks for it).

N ranks start either with msrun (the harness's default launcher) or, with
--rank-table FILE, the zoo's way: one process per device of this server, each
given RANK_TABLE_FILE, RANK_ID, DEVICE_ID and RANK_SIZE (see rank_table.py).
"""
from __future__ import annotations

import glob
import os

from googlenet_bench.harness import kit
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness.types import Availability

CANN_FIX = "install the CANN toolkit matching MindSpore 2.10 and source its set_env.sh"
COMMUNICATION = "hccl"
DEVICE_NODES = "/dev/davinci[0-9]*"  # one per NPU


def plugin_problem() -> str | None:
    return kit.first_loadable_plugin("libmindspore_ascend.so*", "Ascend plugin", CANN_FIX)


def device_problem() -> str | None:
    return kit.device_nodes_missing(DEVICE_NODES, "Ascend NPU device")


def device_count() -> int:
    return len(glob.glob(DEVICE_NODES))


def device_id_of(rank) -> int:
    # The zoo's rank-table launch pins each process to DEVICE_ID; msrun ranks use their local rank.
    return int(os.environ.get("DEVICE_ID", rank.local_rank))


@hookimpl
def bench_describe():
    return "Ascend 910 NPU (CANN, MindSpore Ascend plugin, HCCL)"


@hookimpl
def bench_available():
    problem = kit.join_missing(device_problem(), plugin_problem())
    return Availability(not problem, problem or "Ascend NPU device(s) and the CANN runtime are present")


@hookimpl
def bench_device_setup(config, rank):
    import mindspore as ms

    problem = device_problem()
    if problem:
        raise BenchError(f"Ascend rank {rank.rank}: {problem}")
    device_id = device_id_of(rank)
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("Ascend", device_id)
    applied = {"mode": "GRAPH", "device_target": "Ascend", "device_id": device_id}
    if os.environ.get("RANK_TABLE_FILE"):
        applied["rank_table"] = os.environ["RANK_TABLE_FILE"]
    return applied


@hookimpl
def bench_launcher(config, launch):
    # Without --rank-table this answers nothing, so the default (msrun) starts the ranks.
    if not launch.rank_table:
        return None
    from googlenet_bench.backends.ascend.rank_table import RankTableLauncher

    return RankTableLauncher()


@hookimpl
def bench_rank_capacity(config):
    return device_count()  # one rank per NPU


@hookimpl
def bench_distributed_init(config, rank):
    kit.start_data_parallel(rank, backend_name=COMMUNICATION)
    return COMMUNICATION


@hookimpl
def bench_profiler_activities(config):
    return ["CPU", "NPU"]  # the host's operators and the NPU's (CANN's) kernels


@hookimpl
def bench_amp(config):
    return kit.amp_settings(config, auto_level="O2")


# AIR is deprecated in MindSpore 2.10 and is written by the GE backend only (CANN's libge_runner.so).
GE_LIBRARY = "libge_runner.so"


def ge_present() -> bool:
    return kit.library_missing(GE_LIBRARY, "GE", "") is None


@hookimpl
def bench_export_formats(config):
    # AIR by default only where GE can write it; elsewhere only when asked for (export_formats: [..., AIR]).
    asked = isinstance(config.get("export_formats"), list) and "AIR" in config["export_formats"]
    return ["MINDIR", "ONNX"] + (["AIR"] if asked or ge_present() else [])

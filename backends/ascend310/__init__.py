"""Ascend 310 backend: inference only, from an exported MINDIR, through MindSpore Lite.

MindSpore Lite is not on PyPI: its wheel comes from the MindSpore download
page, matched to the CANN version on the machine.

In a harness run (--phases infer --backend ascend310 --model FILE.mindir) the
infer phase gets a `LiteModel` from bench_predictor and scores it over the
evaluation split like any backend, in memory: the figures the zoo's 310 table
reports (top-1, top-5 on ImageNet, mean latency per image) without its
per-image .bin files. The model takes batch size 1, as the zoo's 310 flow requires.
"""
from __future__ import annotations

import importlib.util

from googlenet_bench.backends.ascend310.lite import LITE_FIX, LiteModel, device_id
from googlenet_bench.harness import kit
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness.types import Availability


def lite_problem() -> str | None:
    return None if importlib.util.find_spec("mindspore_lite") else LITE_FIX


def device_problem() -> str | None:
    return kit.device_nodes_missing("/dev/davinci[0-9]*", "Ascend 310 device")


@hookimpl
def bench_describe():
    return "Ascend 310 (inference only, MindSpore Lite)"


@hookimpl
def bench_available():
    problem = kit.join_missing(device_problem(), lite_problem())
    return Availability(not problem, problem or "Ascend 310 device(s) and MindSpore Lite are present")


@hookimpl
def bench_config_defaults():
    # The zoo's 310 flow infers one image at a time from a batch-1 export.
    return {"eval_batch_size": 1, "export_batch_size": 1, "latency_warmup": 0}  # the zoo's 310 mean has no warm-up


@hookimpl
def bench_supported_phases(config):
    return ["setup", "data", "infer", "record"]


@hookimpl
def bench_device_setup(config, rank):
    return {"device_target": "Ascend310", "runtime": "MindSpore Lite", "device_id": device_id(),
            "model_batch_size": 1}


@hookimpl
def bench_predictor(path, file_format, config):
    if file_format != "MINDIR":
        raise BenchError(f"the ascend310 backend infers from MINDIR only, not {file_format}: "
                         "pass --model FILE.mindir")
    return LiteModel(path, device_id())


@hookimpl
def bench_record_metadata(config):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {"mindspore_lite": version("mindspore_lite")}
    except PackageNotFoundError:
        return {"mindspore_lite": None}

"""Ascend 310 backend: inference only, from an exported MINDIR, through MindSpore Lite.

MindSpore Lite is not on PyPI: its wheel comes from the MindSpore download
page, matched to the CANN version on the machine.
"""
from __future__ import annotations

import importlib.util

from harness.devices import device_nodes_missing, join_missing
from harness.hookspecs import hookimpl
from harness.plugins import Availability

LITE_FIX = ("MindSpore Lite is not installed and is not on PyPI: download the mindspore_lite wheel "
            "for your CANN version from the MindSpore site and pip install it")


def lite_problem() -> str | None:
    return None if importlib.util.find_spec("mindspore_lite") else LITE_FIX


def device_problem() -> str | None:
    return device_nodes_missing("/dev/davinci[0-9]*", "Ascend 310 device")


@hookimpl
def bench_describe():
    return "Ascend 310 (inference only, MindSpore Lite)"


@hookimpl
def bench_available():
    problem = join_missing(device_problem(), lite_problem())
    return Availability(not problem, problem or "Ascend 310 device(s) and MindSpore Lite are present")


@hookimpl
def bench_supported_phases(config):
    return ["setup", "data", "infer", "record"]


@hookimpl
def bench_device_setup(config, rank):
    return {"device_target": "Ascend310", "runtime": "MindSpore Lite"}

"""What the phases of one process share while a run goes on, and how a phase says a result is not valid."""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from googlenet_bench.harness.results.events import EventLog

MB = 1024 * 1024


@dataclass
class Verdict:
    """Why a finished run is not a valid result: its status and a one-line reason."""

    status: str
    reason: str
    ends_run: bool = False  # no later phase runs (a diverged network is not evaluated or exported)


@dataclass
class RunState:
    events: EventLog
    net: object = None  # what eval, export and infer use: fp32, as the zoo's eval.py builds it
    training_net: object = None  # the network as AMP trained it, when that was not fp32
    train_figures: dict | None = None  # the train phase's figures["train"]
    training: object = None  # the train phase's Training (its Model and optimizer), for the profile pass
    dataset_options: object = None
    device_context: dict = field(default_factory=dict)
    survey: object = None
    train_split: object = None
    eval_split: object = None
    evaluated: object = None  # the eval phase's Score
    exports: dict[str, Path] = field(default_factory=dict)
    rank_report: dict = field(default_factory=dict)  # what this rank tells the parent
    verdicts: list[Verdict] = field(default_factory=list)
    measured: dict = field(default_factory=dict)  # the running phase's figures so far, kept if it is stopped


def mb(path: Path) -> float:
    return round(path.stat().st_size / MB, 2)


def parameters_digest(net) -> str:
    """One hash over the trainable parameters: equal across ranks iff data-parallel kept them in sync.
    (BatchNorm's moving statistics are left out: each rank computes them from its own shard.)"""
    digest = hashlib.sha256()
    for param in sorted(net.trainable_params(), key=lambda param: param.name):
        digest.update(param.name.encode())
        digest.update(param.asnumpy().tobytes())
    return digest.hexdigest()


_IMPORTED_AT = time.time()


def process_started_at() -> float:
    """When this process started (Unix time): bench.py's start, imports and interpreter included.
    From /proc on Linux (10 ms ticks); elsewhere, when this module was imported."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))

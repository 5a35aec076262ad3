"""cpu-lean: a sample googlenet-bench backend that lives in its own package.

MindSpore's CPU runtime, with settings of its own: a fixed number of kernel threads and one
data-pipeline worker. Nothing in the harness names it: installing this package registers it
under the entry-point group googlenet_bench.backends, and `bench.py --backend cpu-lean` runs it.
It implements the three required hooks and the one optional hook whose default it changes;
everything else is the core's default. Like any plugin, it imports no other backend.
"""
from __future__ import annotations

import os

import googlenet_bench
from googlenet_bench.harness.types import Availability, DatasetOptions

KERNEL_THREADS = 2
DATA_WORKERS = 1
SINK_MODE = False  # MindSpore does not sink on CPU (docs/writing-a-backend.md)


@googlenet_bench.hookimpl
def bench_describe():
    return f"CPU, lean: {KERNEL_THREADS} kernel threads, {DATA_WORKERS} data worker (sample plugin)"


@googlenet_bench.hookimpl
def bench_available():
    return Availability(True, "MindSpore's CPU runtime is always present")


@googlenet_bench.hookimpl
def bench_device_setup():
    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.device_context.cpu.op_tuning.threads_num(KERNEL_THREADS)
    return {"mode": "GRAPH", "device_target": "CPU",
            "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "unset: oneDNN's own choice"),
            "kernel_threads": KERNEL_THREADS, "data_workers": DATA_WORKERS, "dataset_sink": SINK_MODE}


@googlenet_bench.hookimpl
def bench_dataset_options():
    return DatasetOptions(num_parallel_workers=DATA_WORKERS, sink_mode=SINK_MODE)

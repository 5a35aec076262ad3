"""cpu-lean: a sample googlenet-bench backend that lives in its own package.

MindSpore's CPU runtime again, with settings of its own: a fixed number of
kernel threads, one data-pipeline worker and dataset sink. Nothing in the
harness names it: installing this package registers it under the entry-point
group googlenet_bench.backends, and `bench.py --backend cpu-lean` runs it.
It implements the three required hooks and the one optional hook whose
default it changes; everything else is the core's default.
"""
from __future__ import annotations

import os

from harness.hookspecs import hookimpl
from harness.plugins import Availability, DatasetOptions

KERNEL_THREADS = 2
DATA_WORKERS = 1
SINK_MODE = True


@hookimpl
def bench_describe():
    return f"CPU, lean: {KERNEL_THREADS} kernel threads, {DATA_WORKERS} data worker (sample plugin)"


@hookimpl
def bench_available():
    return Availability(True, "MindSpore's CPU runtime is always present")


@hookimpl
def bench_device_setup(config, rank):
    import mindspore as ms

    # oneDNN reads this at its first primitive; its AVX-512 kernels ran GoogleNet 12x slower
    # than its AVX2 ones on the project's machines (README, "CPU defaults, measured").
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.device_context.cpu.op_tuning.threads_num(KERNEL_THREADS)
    return {"mode": "GRAPH", "device_target": "CPU", "kernel_threads": KERNEL_THREADS,
            "data_workers": DATA_WORKERS, "dataset_sink": SINK_MODE,
            "ONEDNN_MAX_CPU_ISA": os.environ["ONEDNN_MAX_CPU_ISA"]}


@hookimpl
def bench_dataset_options(config):
    return DatasetOptions(num_parallel_workers=DATA_WORKERS, sink_mode=SINK_MODE)

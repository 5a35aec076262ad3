"""cpu-lean: a sample googlenet-bench backend that lives in its own package.

MindSpore's CPU runtime again, with settings of its own: a fixed number of
kernel threads, one data-pipeline worker and dataset sink. Nothing in the
harness names it: installing this package registers it under the entry-point
group googlenet_bench.backends, and `bench.py --backend cpu-lean` runs it.
It implements the three required hooks (availability taken as is from the
built-in CPU backend, which it builds on) and the one optional hook whose
default it changes; everything else is the core's default.
"""
from __future__ import annotations

from googlenet_bench.backends.cpu import bench_available, use_cpu  # noqa: F401  (bench_available: re-exported hook)
from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness.types import DatasetOptions

KERNEL_THREADS = 2
DATA_WORKERS = 1
SINK_MODE = False  # MindSpore does not sink on CPU (docs/writing-a-backend.md)


@hookimpl
def bench_describe():
    return f"CPU, lean: {KERNEL_THREADS} kernel threads, {DATA_WORKERS} data worker (sample plugin)"


@hookimpl
def bench_device_setup(config, rank):
    import mindspore as ms

    applied = use_cpu()
    ms.device_context.cpu.op_tuning.threads_num(KERNEL_THREADS)
    return {**applied, "kernel_threads": KERNEL_THREADS, "data_workers": DATA_WORKERS, "dataset_sink": SINK_MODE}


@hookimpl
def bench_dataset_options(config):
    return DatasetOptions(num_parallel_workers=DATA_WORKERS, sink_mode=SINK_MODE)

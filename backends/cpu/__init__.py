"""CPU backend: MindSpore's CPU runtime in GRAPH mode; also the host of rehearsals.

Defaults measured on a 2-core x86-64 machine (../shared/PLATFORM_NOTES.md):
GRAPH mode is the fastest set-up; AMP O2 is 1.75-3x slower and learns no better
(MindSpore computes fp16 ops in fp32 and rounds them; docs/rehearsal.md), so "auto"
means O0, a deviation from the zoo's O2 that every CPU record lists; dynamic loss
scaling is refused by MindSpore on CPU.

The oneDNN ISA cap (ONEDNN_MAX_CPU_ISA) is not set here: it is a fact about
the machine, not the backend, so the core applies the machine's tuning profile
(harness/measure/machine_profile.py, `bench.py tune`) before this device set-up, for
every backend that trains on this CPU. The value in effect is recorded.
"""
from __future__ import annotations

import os

from googlenet_bench.harness.hookspecs import hookimpl
from googlenet_bench.harness import kit
from googlenet_bench.harness.kit import amp_settings
from googlenet_bench.harness.results.record import cpu_model
from googlenet_bench.harness.types import Availability, DatasetOptions

NO_DYNAMIC_LOSS_SCALE = "MindSpore's CPU runtime only takes no or a fixed loss scale"
EXPORTS = ("MINDIR", "ONNX")


@hookimpl
def bench_describe():
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores (MindSpore GRAPH mode)"


@hookimpl
def bench_available():
    return Availability(True, "MindSpore's CPU runtime is always present")


def use_cpu() -> dict:
    """GRAPH mode on MindSpore's CPU runtime; also for CPU variants."""
    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "unset: oneDNN's own choice")
    return {"mode": "GRAPH", "device_target": "CPU", "ONEDNN_MAX_CPU_ISA": isa}


@hookimpl
def bench_device_setup(config, rank):
    context = use_cpu()
    if rank.local_world_size > 1:
        context.update(pin_to_own_cores(rank))
    return context


def pin_to_own_cores(rank) -> dict:
    """Give each of this machine's ranks its own cores, as the zoo's run_train.sh does with taskset:
    the cores this process may use, split into equal disjoint shares by local rank; every thread of
    the process moves there, and MindSpore's kernel pool is sized to the share (its default is 25
    threads, which on a 1-core share only take turns). With fewer cores than ranks nothing is pinned."""
    import mindspore as ms

    cores = sorted(os.sched_getaffinity(0))
    share = len(cores) // rank.local_world_size
    if share == 0:
        return {"cpu_cores": cores, "cpu_cores_shared": True}
    mine = cores[rank.local_rank * share:(rank.local_rank + 1) * share]
    for thread in os.listdir("/proc/self/task"):  # threads started before now; later ones inherit
        try:
            os.sched_setaffinity(int(thread), mine)
        except (ProcessLookupError, PermissionError):
            pass  # a thread that has just ended
    ms.device_context.cpu.op_tuning.threads_num(len(mine))
    return {"cpu_cores": mine, "kernel_threads": len(mine)}


@hookimpl
def bench_rank_capacity(config):
    # One rank per core this process may use; more only fight over the same cores.
    return len(os.sched_getaffinity(0))


@hookimpl
def bench_distributed_init(config, rank):
    # MindSpore's CPU data parallelism all-reduces each of the 173 gradients on its own; fused, a 2-rank step
    # has 2 all-reduces, the same losses, and is faster (docs/profiling.md, "Settings tried").
    kit.start_data_parallel(rank, fuse_all_reduce=True)
    return "default (mindspore.communication.init), all-reduce fused (comm_fusion auto)"


@hookimpl
def bench_amp(config):
    return amp_settings(config, auto_level="O0", refuse_dynamic_loss_scale=NO_DYNAMIC_LOSS_SCALE)


@hookimpl
def bench_dataset_options(config):
    # No sink: MindSpore 2.10 trains on CPU without it whatever Model.train is asked (model.py, "The CPU
    # cannot support dataset sink mode currently"), so the record says what ran. Workers: the cores this
    # process may use (a rank pinned to its share gets as many workers as cores).
    return DatasetOptions(num_parallel_workers=len(os.sched_getaffinity(0)), sink_mode=False)


@hookimpl
def bench_export_formats(config):
    return list(EXPORTS)


@hookimpl
def bench_rehearse(recipe, config):
    """Another device's recipe on this CPU: AMP levels, fixed loss scales and jit levels run as
    they are; what the CPU runtime lacks is replaced by its nearest setting, and said."""
    notes, changes = [], {}
    amp = recipe.amp
    if amp.loss_scale == "dynamic":
        # Nearest: the dynamic manager's starting scale, held fixed, divided back by the optimizer.
        changes["amp"] = amp.__class__(level=amp.level, keep_batchnorm_fp32=amp.keep_batchnorm_fp32,
                                       loss_scale="fixed", loss_scale_value=amp.dynamic.init,
                                       drop_overflow_update=False)
        notes.append(f"{NO_DYNAMIC_LOSS_SCALE}: the dynamic loss scale (start {amp.dynamic.init:g}, "
                     f"x{amp.dynamic.factor} every {amp.dynamic.window} steps) is rehearsed as a fixed "
                     f"scale of {amp.dynamic.init:g}")
    if recipe.jit_level:
        notes.append(f"jit_level {recipe.jit_level} (graph-kernel fusion) is a no-op on MindSpore's CPU runtime: "
                     "the same IR and kernels run with and without it, so it is not rehearsed")
    notes.append("dataset sink and the harness's chunked sink are not exercised: MindSpore's CPU runtime trains "
                 "without sink")
    if amp.level != "O0":
        notes.append(f"AMP {amp.level}: MindSpore's CPU kernels compute fp16 ops in fp32 and round the results to "
                     "fp16 (docs/rehearsal.md), so the numbers are not the device's")
    unsupported = [f for f in recipe.export_formats if f not in EXPORTS]
    if unsupported:
        changes["export_formats"] = tuple(f for f in recipe.export_formats if f in EXPORTS)
        notes.append(f"MindSpore exports {', '.join(unsupported)} only on the device itself: rehearsing "
                     f"{', '.join(changes['export_formats'])}")
    return recipe.with_changes(**changes), notes

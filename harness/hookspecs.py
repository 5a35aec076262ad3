"""The hooks a backend plugin implements: the one definition of the contract.

A backend is a module registered under the entry-point group ``googlenet_bench.backends``; the
entry point's name is the backend's name (``--backend NAME``). Its functions are marked with
``@googlenet_bench.hookimpl`` and name only the arguments they read.

Each spec below says, once, everything the rest of the harness derives: its arguments and
docstring (the generated hook table in the docs), whether every backend must implement it
(``REQUIRED_HOOKS``, checked when a backend is selected), and how answers combine. The typed
facade the core calls (``googlenet_bench.harness.plugins.Backend``) is built from these specs, and
the core's defaults (``googlenet_bench.harness.defaults``) implement the same names, consulted last.
Adding a hook is one spec here, plus its default there if it has one.

Single dispatch, said plainly: during a run only the chosen backend's hooks and the core's
defaults are called (the other installed backends are cut out of every call), and all hooks but
``bench_record_metadata`` take the first answer that is not None. pluggy is kept as the registry
and entry-point loader, and for what a set of hooks gives over a class: a backend implements only
what differs on its device, in plain functions, and a hook added to the contract later needs no
change in any existing backend (a base class would too, but would tie plugins to its inheritance
and its constructor; pytest's and llm's plugins are module-level hook functions for the same reason).
"""
from __future__ import annotations

import pluggy

_spec_marker = pluggy.HookspecMarker("googlenet_bench")
hookimpl = pluggy.HookimplMarker("googlenet_bench")


def hookspec(*, required: bool = False, merge: bool = False):
    """A hook of the contract. ``required``: every backend implements it. ``merge``: every
    implementation answers and the caller merges the answers; otherwise the first answer counts."""
    def mark(function):
        function.required = required
        function.merge = merge
        return _spec_marker(firstresult=not merge)(function)
    return mark


@hookspec(required=True)
def bench_describe():
    """One line saying what this backend runs on, e.g. ``"CPU (x86-64, MindSpore GRAPH mode)"``.

    """


@hookspec(required=True)
def bench_available():
    """Whether the device is usable on this machine.

    Return ``googlenet_bench.harness.types.Availability(ok, reason)``; ``reason`` is one line
    saying what is missing and how to get it (shown by ``bench.py backends`` and
    by the refusal of ``--backend NAME``).
    """


@hookspec(required=True)
def bench_device_setup(config, rank):
    """Select and configure the device for this process, before anything is built.

    ``config`` is the resolved suite (a dict); ``rank`` is a ``googlenet_bench.harness.types.RankInfo``
    (rank, local rank, world size, and the ranks on this machine: the CPU backend pins each
    rank to its own share of the cores here). In a rehearsal this is the host's hook, not the target's. Return a dict of the context settings applied; it is
    recorded under ``environment.device_context`` (each rank's in ``figures.ranks.per_rank``).
    """


@hookspec()
def bench_config_defaults():
    """Suite values this device needs unless the user sets them with --set,
    e.g. ``{"eval_batch_size": 1}`` for a batch-1 inference device. Default: none."""


@hookspec()
def bench_supported_phases(config):
    """The phases this backend can run (a subset of ``googlenet_bench.harness.types.PHASES``);
    the default is all of them. An inference-only device returns fewer."""


@hookspec()
def bench_launcher(config, launch):
    """How N ranks are started: return an object with ``name`` and
    ``processes(worker_argv, launch, log_dir) -> list[googlenet_bench.harness.launch.ProcessSpec]``.

    ``launch`` is a ``googlenet_bench.harness.launch.LaunchRequest`` (ranks, node placement,
    rank table). ``worker_argv`` is the interpreter's arguments for one rank
    (``["-m", "googlenet_bench", "--as-rank", ...]``): a launcher puts an interpreter before them.
    The default is MindSpore's ``msrun``; a backend answers with
    another launcher when its device is started differently (e.g. the zoo's
    rank-table way on Ascend). Every launcher must give each rank RANK_ID,
    RANK_SIZE and DEVICE_ID in its environment.
    """


@hookspec()
def bench_rank_capacity(config):
    """How many ranks this machine can host at once: an int, or None when unknown or unlimited
    (the default). ``--ranks`` above this machine's share (ranks // nodes) is refused before
    anything starts, unless ``--oversubscribe`` is given.

    The CPU backend answers the cores this process may run on, the GPU backend the visible
    CUDA devices, the Ascend backend the NPU device nodes.
    """


@hookspec()
def bench_distributed_init(config, rank):
    """Start the communication backend in this rank's process (``rank.world_size > 1``).

    Return the name of the communication backend used (``"hccl"``, ``"nccl"``,
    ``"mccl"``...). The default calls ``mindspore.communication.init()`` and sets
    data-parallel mode with averaged gradients.
    """


@hookspec()
def bench_amp(config):
    """Mixed precision for training: return a ``googlenet_bench.harness.types.AmpSettings`` (data, not
    MindSpore objects: the core builds the loss-scale manager and gives the optimizer
    the matching loss scale, as the zoo does).

    ``config["amp_level"]`` is ``"auto"`` (the backend chooses) or an explicit
    level the backend must honour or refuse with ``BenchError``; likewise
    ``config["loss_scale"]``. ``googlenet_bench.harness.kit.amp_settings`` builds one from the config.
    """


@hookspec()
def bench_jit_level(config):
    """The MindSpore jit level the network is compiled with (``"O1"`` turns on graph-kernel
    fusion, which the zoo uses on GPU), or None for MindSpore's default. The default answers
    ``"O1"`` when the suite sets ``graph_kernel: true``.
    """


@hookspec()
def bench_rehearse(recipe, config):
    """Host a rehearsal: run another device's ``recipe`` (a ``googlenet_bench.harness.types.Recipe``) on this
    backend's device, for a few steps, before cluster time is spent on it.

    Return ``(recipe_to_run, notes)``: the same recipe where this device can run it, else the
    nearest setting it has, with one line per change in ``notes``; or None when this backend
    cannot host rehearsals (the default).
    """


@hookspec()
def bench_dataset_options(config):
    """Data pipeline settings for this device: return a ``DatasetOptions``
    (parallel workers, dataset sink mode). Sink only where MindSpore sinks: it trains
    without sink on CPU whatever it is asked, and a run that asks there fails at its first step."""


@hookspec()
def bench_export_formats(config):
    """The export formats this device can write, in order (e.g. ``["MINDIR", "ONNX"]``)."""


@hookspec()
def bench_export(net, example_input, file_format, path):
    """Write ``net`` in ``file_format`` to ``path`` (a ``pathlib.Path``), return the path written.

    ``example_input`` is a Tensor of the export batch shape. The default writes
    MINDIR and AIR with ``mindspore.export`` and ONNX with ``mindspore.onnx.export``.
    """


@hookspec()
def bench_predictor(path, file_format, config):
    """Load an exported file for inference: return a callable mapping a float32
    numpy batch (N, C, H, W) to logits (N, classes) as numpy, or None when this
    backend cannot infer from that format.

    The default runs MINDIR through ``nn.GraphCell`` and ONNX through onnxruntime.
    """


@hookspec()
def bench_profiler_activities(config):
    """What the profile pass (``--profile``) collects: names of ``mindspore.profiler.ProfilerActivity``
    members. The default is ``["CPU"]``, every operator of a CPU run; a device whose kernels run
    elsewhere adds its own (``"GPU"``, ``"NPU"``)."""


@hookspec(merge=True)
def bench_record_metadata(config):
    """Extra facts for the results record's ``environment``: a dict. The selected backend
    and the core's defaults are called (other installed backends are not); their dicts merge."""


SPECS = {name: function for name, function in dict(globals()).items()
         if name.startswith("bench_") and callable(function)}
REQUIRED_HOOKS = tuple(name for name, function in SPECS.items() if function.required)

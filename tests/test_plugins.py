import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from googlenet_bench.harness import hookdoc, hookspecs
from googlenet_bench.harness.errors import BenchError
from conftest import one_line
from googlenet_bench.harness.plugins import REQUIRED_HOOKS, Backends

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bench_"))


def test_the_required_hooks_are_the_specs_marked_required():
    assert REQUIRED_HOOKS == ("bench_describe", "bench_available", "bench_device_setup")


def test_the_facade_has_a_method_for_every_hook_and_no_other():
    backend = Backends().select("cpu")
    assert all(callable(getattr(backend, name.removeprefix("bench_"))) for name in HOOKS)
    with pytest.raises(AttributeError, match="no hook 'train'"):
        backend.train


def bench(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], capture_output=True, text=True,
                          cwd=kwargs.get("cwd", ROOT), timeout=kwargs.get("timeout", 120))


def test_the_four_builtin_backends_load_through_entry_points():
    assert {"cpu", "gpu", "ascend", "ascend310"} <= set(Backends().names())


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_in_its_spec_and_the_backend_guide(name):
    assert getattr(hookspecs, name).__doc__.strip()
    guide = (ROOT / "docs" / "writing-a-backend.md").read_text()
    assert f"`{name}(" in guide, f"docs/writing-a-backend.md lacks {name}"


@pytest.mark.parametrize("document", hookdoc.DOCUMENTS, ids=lambda path: path.name)
def test_the_hook_tables_are_the_ones_the_hookspecs_generate(document):
    text = document.read_text(encoding="utf-8")
    assert hookdoc.rendered(text) == text, f"{document.name} drifted from harness/hookspecs.py: python -m googlenet_bench.harness.hookdoc"


def test_every_builtin_backend_implements_the_required_hooks():
    backends = Backends()
    for name in ("cpu", "gpu", "ascend", "ascend310"):
        assert set(REQUIRED_HOOKS) <= set(backends.hooks_of(name))


def test_selecting_a_backend_calls_only_its_hooks():
    backends = Backends()
    assert backends.select("cpu").export_formats({}) == ["MINDIR", "ONNX"]
    assert backends.select("ascend").export_formats({"export_formats": ["AIR"]}) == ["MINDIR", "ONNX", "AIR"]


def test_unknown_backend_names_the_choices():
    with pytest.raises(BenchError, match=r"unknown backend 'tpu' \(did you mean gpu, cpu\?\): choose one of .*cpu"):
        Backends().select("tpu")


def test_cpu_is_usable_and_hardware_backends_say_why_not():
    backends = Backends()
    assert backends.select("cpu").available().ok
    for name in ("gpu", "ascend", "ascend310"):
        availability = backends.select(name).available()
        assert not availability.ok
        assert availability.reason and "\n" not in availability.reason


def test_backends_command_lists_all_four_with_availability():
    result = bench("backends")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]
            if line[:1].strip() and not line.startswith("hooks of ")}  # wrapped cells continue indented
    assert rows == {"ascend": "no", "ascend310": "no", "cpu": "yes", "gpu": "no"}


@pytest.mark.bad_input
@pytest.mark.parametrize("backend", ["gpu", "ascend"])
def test_absent_device_backend_exits_2_with_one_line_and_no_record(backend, tmp_path):
    result = bench("--suite", "cifar10-full", "--backend", backend, "--results", str(tmp_path))
    assert result.returncode == 2
    assert one_line(result.stderr)
    assert re.match(rf"error: backend '{backend}' is not usable here: ", result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_suites_command_lists_one_line_per_suite():
    result = bench("suites")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == [p.stem for p in sorted((ROOT / "suites").glob("*.yaml"))]


DEVICE_SETUP_IN_ITS_OWN_PROCESS = """
import json
from googlenet_bench.harness.plugins import Backends
from googlenet_bench.harness.suites import load_suite
from googlenet_bench.harness.types import RankInfo
print(json.dumps(Backends().select("cpu").device_setup(load_suite("digits"), RankInfo())))
"""


def _call_every_hook(tmp_path, monkeypatch) -> dict:
    """Each hook called through the plugin manager's typed API (googlenet_bench.harness.plugins.Backend) on the cpu backend."""
    import json

    import mindspore as ms
    import numpy as np

    from googlenet_bench.harness import kit
    from googlenet_bench.harness.launch import LaunchRequest
    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.types import AmpSettings, RankInfo, Recipe

    backend, config = Backends().select("cpu"), load_suite("digits")
    net = ms.nn.SequentialCell([ms.nn.Flatten(), ms.nn.Dense(3 * 8 * 8, 10)])
    example = ms.Tensor(np.ones((2, 3, 8, 8), np.float32))
    exported = backend.export(net, example, "ONNX", tmp_path / "net.onnx")
    recipe = Recipe(amp=AmpSettings(level="O2", loss_scale="dynamic"), export_formats=("MINDIR", "AIR"))
    # device_setup sets MindSpore's process-wide context: called in a process of its own.
    setup = subprocess.run([sys.executable, "-c", DEVICE_SETUP_IN_ITS_OWN_PROCESS], capture_output=True, text=True,
                           timeout=120)
    assert setup.returncode == 0, setup.stderr[-2000:]
    # distributed_init needs a communication group (msrun's): the default's one MindSpore call is recorded instead.
    started = []
    monkeypatch.setattr(kit, "start_data_parallel", lambda rank, **options: started.append((rank.world_size, options)))
    communication = backend.distributed_init(config, RankInfo(rank=0, world_size=2))
    return {
        "bench_describe": backend.describe(),
        "bench_available": backend.available(),
        "bench_device_setup": json.loads(setup.stdout.splitlines()[-1]),
        "bench_config_defaults": backend.config_defaults(),
        "bench_supported_phases": backend.supported_phases(config),
        "bench_launcher": backend.launcher(config, LaunchRequest(ranks=2)),
        "bench_rank_capacity": backend.rank_capacity(config),
        "bench_distributed_init": (communication, started),
        "bench_amp": backend.amp(config),
        "bench_jit_level": backend.jit_level({**config, "graph_kernel": True}),
        "bench_rehearse": backend.rehearse(recipe, config),
        "bench_dataset_options": backend.dataset_options(config),
        "bench_export_formats": backend.export_formats(config),
        "bench_profiler_activities": backend.profiler_activities(config),
        "bench_export": exported,
        "bench_predictor": backend.predictor(exported, "ONNX", config)(np.ones((2, 3, 8, 8), np.float32)),
        "bench_record_metadata": backend.record_metadata(config),
    }


def test_every_hook_is_called_through_the_plugin_manager(tmp_path, monkeypatch):
    answers = _call_every_hook(tmp_path, monkeypatch)
    assert set(answers) == set(HOOKS)  # a new hook needs a line here
    assert answers["bench_describe"].startswith("CPU: ")
    assert answers["bench_device_setup"]["device_target"] == "CPU" and answers["bench_device_setup"]["mode"] == "GRAPH"
    assert answers["bench_distributed_init"][1] == [(2, {"fuse_all_reduce": True})]
    assert answers["bench_distributed_init"][0].startswith("default")
    assert answers["bench_available"].ok
    assert answers["bench_config_defaults"] == {} and answers["bench_record_metadata"] == {}
    assert answers["bench_launcher"].name == "msrun" and answers["bench_rank_capacity"] >= 1
    assert answers["bench_amp"].level == "O0" and answers["bench_jit_level"] == "O1"
    assert answers["bench_profiler_activities"] == ["CPU"]
    ran, notes = answers["bench_rehearse"]
    assert ran.amp.loss_scale == "fixed" and ran.export_formats == ("MINDIR",)
    # What the CPU changed (the dynamic loss scale, AIR) and what it does not rehearse (sink, fp16 numbers), one
    # note each (this recipe has no jit level, so no note on it).
    assert len(notes) == 4 and all(any(words in note for note in notes) for words in
                                   ("dynamic loss scale", "dataset sink", "not the device's", "AIR"))
    assert answers["bench_export"].stat().st_size > 0 and answers["bench_predictor"].shape == (2, 10)


def test_a_listing_read_by_a_reader_that_leaves_early_ends_quietly(tmp_path):
    """`bench.py backends | head -1`: the reader closes the pipe (here at once); no traceback, exit 0."""
    errors = tmp_path / "stderr"
    done = subprocess.run(f"'{sys.executable}' '{ROOT / 'bench.py'}' backends 2>'{errors}' | true; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", timeout=120)
    assert done.returncode == 0 and "Traceback" not in errors.read_text()

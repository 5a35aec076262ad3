"""A new backend is a plugin, not a core edit: the sample package in tests/plugins/cpu-lean is
installed (offline, into a throwaway folder put on PYTHONPATH, leaving .venv untouched) and
run through bench.py like any backend."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "plugins" / "cpu-lean"
NAME = "cpu-lean"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict:
    """The environment of a process that sees the installed sample plugin."""
    work = tmp_path_factory.mktemp("sample-plugin")
    source = work / "source"
    # Built from a copy: a build leaves build/ and *.egg-info beside the sources.
    shutil.copytree(SAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--no-cache-dir", "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=180)
    assert install.returncode == 0, install.stderr
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))}


def bench(*args, env, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def backends_listed(env) -> dict[str, str]:
    result = bench("backends", env=env)
    assert result.returncode == 0, result.stderr
    return {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]
            if line[:1].strip() and not line.startswith("hooks of ")}  # wrapped cells continue indented


def test_the_installed_plugin_is_listed_as_usable_and_only_when_installed(plugin_env):
    assert backends_listed(plugin_env)[NAME] == "yes"
    assert NAME not in backends_listed(dict(os.environ))


def test_the_plugin_implements_the_required_hooks_and_its_own_dataset_options(plugin_env):
    result = bench("backends", "--hooks", env=plugin_env)
    hooks = result.stdout.split(f"hooks of {NAME}: ")[1].split("hooks of ")[0]
    for hook in ("describe", "available", "device_setup", "dataset_options"):
        assert hook in hooks
    assert max(map(len, result.stdout.splitlines())) <= 100  # wrapped to the terminal (100 columns when not one)


@pytest.mark.slow
def test_the_digits_suite_runs_on_the_plugin_with_no_core_change(plugin_env, tmp_path):
    # Short on purpose (about 30 s); accuracy after one epoch on 128 images is not the point.
    result = bench("--suite", "digits", "--backend", NAME, "--set", "epochs=1", "--set", "train_samples=128",
                   "--set", "eval_samples=64", "--set", "min_top1=null", "--results", str(tmp_path),
                   env=plugin_env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    records = list(tmp_path.glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["status"] == "success" and record["backend"] == NAME
    assert record["environment"]["device"].startswith("CPU, lean: 2 kernel threads")
    context = record["environment"]["device_context"]
    assert {key: context[key] for key in ("device_target", "kernel_threads", "data_workers", "dataset_sink")} == {
        "device_target": "CPU", "kernel_threads": 2, "data_workers": 1, "dataset_sink": False}
    assert record["figures"]["train"]["sink_mode"] is False
    # The machine's speed settings reach a third-party CPU backend too: the core applies them, not the cpu plugin.
    assert record["environment"]["speed_settings"]["settings"]["isa"] == "AVX2"
    assert record["figures"]["eval"]["images"] == 64

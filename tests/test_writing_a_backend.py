"""docs/writing-a-backend.md is enough on its own: its two code blocks, copied into files, build a
wheel that installs and runs the default suite, as a plugin author would do it."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-a-backend.md"
BLOCK = re.compile(r"```(?:toml|python)\n# (my-cpu-backend/[\w.]+)\n(.*?)```", re.S)


def files_of_the_guide() -> dict[str, str]:
    return {name: f"# {name}\n{body}" for name, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict:
    """The environment of a process that sees the plugin, installed from its own wheel."""
    work = tmp_path_factory.mktemp("guide-plugin")
    for name, text in files_of_the_guide().items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "--wheel-dir", str(work / "dist"), str(work / "my-cpu-backend")],
                           capture_output=True, text=True, timeout=180)
    assert wheel.returncode == 0, wheel.stderr
    (built,) = (work / "dist").glob("my_cpu_backend-*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                              "--target", str(work / "site"), str(built)], capture_output=True, text=True, timeout=180)
    assert install.returncode == 0, install.stderr
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(work / "site"), os.environ.get("PYTHONPATH")]))}


def bench(*args, env, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_the_guide_holds_the_two_files_of_a_plugin():
    assert sorted(files_of_the_guide()) == ["my-cpu-backend/my_cpu_backend.py", "my-cpu-backend/pyproject.toml"]


def test_the_plugin_from_the_guide_is_listed_with_its_hooks(plugin_env):
    result = bench("backends", "--hooks", env=plugin_env)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("my-cpu "))
    assert row.split()[1] == "yes"
    hooks = result.stdout.split("hooks of my-cpu: ")[1].split("hooks of ")[0]
    for hook in ("describe", "available", "device_setup", "dataset_options"):
        assert hook in hooks


@pytest.mark.slow
def test_the_plugin_from_the_guide_runs_the_default_suite_on_the_first_try(plugin_env, tmp_path):
    result = bench("--backend", "my-cpu", "--set", "epochs=1", "--set", "train_samples=128", "--set", "eval_samples=64",
                   "--set", "min_top1=null", "--results", str(tmp_path), env=plugin_env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "success" and record["backend"] == "my-cpu"
    assert record["environment"]["device_context"]["data_workers"] == 1

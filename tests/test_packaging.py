"""The product is what `pip install` gives: the wheel holds one top-level import name, the suites and
the zoo's figures as package data, the console script and the built-in backends' entry points.
(.ci/wheel-check installs it with its dependencies into a new venv and runs it from outside.)"""
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built from a copy of the files git knows (a build in place would leave build/ behind)."""
    work = tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (work / "source" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / "source" / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "--wheel-dir", str(work / "dist"), str(work / "source")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (path,) = (work / "dist").glob("googlenet_bench-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_adds_one_import_name_and_no_generic_ones(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"googlenet_bench"}


def test_the_wheel_ships_the_suites_and_the_zoo_figures_as_package_data(wheel):
    names = set(wheel.namelist())
    suites = {p.name for p in (ROOT / "suites").glob("*.yaml")}
    assert {f"googlenet_bench/suites/{name}" for name in suites} <= names
    assert "googlenet_bench/harness/reporting/reference/zoo_published.yaml" in names
    assert "googlenet_bench/__main__.py" in names


def test_every_subpackage_of_the_checkout_is_in_the_wheel(wheel):
    packages = {p.parent.relative_to(ROOT).as_posix() for folder in ("harness", "backends", "datasets", "model")
                for p in (ROOT / folder).rglob("__init__.py")}
    assert {f"googlenet_bench/{package}/__init__.py" for package in packages} <= set(wheel.namelist())


def test_the_wheel_declares_the_runtime_dependencies_and_the_entry_points(wheel):
    meta = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    requires = [line.split(": ", 1)[1] for line in wheel.read(meta).decode().splitlines()
                if line.startswith("Requires-Dist: ") and "extra ==" not in line]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert requires == declared and "tqdm==4.70.1" in requires and "numpy==1.26.4" in requires
    entry_points = wheel.read(next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "googlenet-bench = googlenet_bench.harness.cli.main:run_cli" in entry_points
    for backend in ("cpu", "gpu", "ascend", "ascend310"):
        assert f"{backend} = googlenet_bench.backends.{backend}" in entry_points

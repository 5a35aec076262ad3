"""pytest-benchmark benchmarks of the default suite on CPU. They train, so they stay out of `make test`:

    .venv/bin/python -m pytest tests/benchmarks --benchmark-only --benchmark-autosave
    .venv/bin/python -m pytest tests/benchmarks --benchmark-only --benchmark-compare   # against the last saved

They are collected only with --benchmark-only or GOOGLENET_BENCH_BENCHMARKS=1.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ENABLE_ENV = "GOOGLENET_BENCH_BENCHMARKS"
HERE = Path(__file__).resolve().parent


def _enabled(config) -> bool:
    return bool(config.getoption("benchmark_only", False)) or os.environ.get(ENABLE_ENV, "") not in ("", "0")


def pytest_ignore_collect(collection_path, config):
    if collection_path.is_relative_to(HERE) and collection_path.name.startswith("test_") and not _enabled(config):
        return True
    return None


@pytest.fixture(scope="session", autouse=True)
def private_cache():
    """Overrides the tests' throw-away cache: benchmarks read the digits MindRecord from the real cache
    ($GOOGLENET_BENCH_CACHE or ~/.cache/googlenet-bench), as `bench.py` does."""
    from googlenet_bench.datasets.digits import default_cache_dir

    yield default_cache_dir()


@pytest.fixture(scope="session")
def digits_config():
    from googlenet_bench.harness.suites import load_suite

    return load_suite("digits")


@pytest.fixture(scope="session")
def cpu_device(digits_config):
    """This machine's speed settings (its tuning profile, or the conservative default), then the CPU
    backend's own device set-up, as bench.py's set-up phase does, before any op runs."""
    from googlenet_bench.harness.measure.machine_profile import speed_settings
    from googlenet_bench.harness.plugins import Backends
    from googlenet_bench.harness.types import RankInfo

    speed = speed_settings()
    speed.apply_environment()
    backend = Backends().select("cpu")
    context = backend.device_setup(digits_config, RankInfo())
    speed.apply_threads()
    return backend, context


@pytest.fixture(scope="session")
def train_split(digits_config, cpu_device):
    from googlenet_bench.datasets import build_split

    backend, _ = cpu_device
    workers = backend.dataset_options(digits_config).num_parallel_workers
    return build_split(digits_config, "train", num_parallel_workers=workers)

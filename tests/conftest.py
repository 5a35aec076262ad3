"""Shared fixtures: synthetic CIFAR-10 binaries, a small real-JPEG ImageFolder tree, a private cache."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUARDS = Path(__file__).resolve().parent / "guards"
sys.path.insert(0, str(GUARDS))
import no_training  # noqa: E402

no_training.install()
# Session fixtures that train: a test using one trains, so it must be marked slow.
TRAINING_FIXTURES = {"digits_run"}

CIFAR_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32
CIFAR_RECORDS = 10_000
# Every CIFAR image carries its record id (file index * 10,000 + position) as a flat 16x16
# block in the middle of the R (high byte) and G (low byte) planes, so the id survives
# RandomCrop(padding 4), flips and resizing: read it back at the centre pixel.
ID_BLOCK = slice(8, 24)

IMAGENET_CLASSES = ["n01440764", "n01443537", "n01484850"]
IMAGENET_TRAIN_PER_CLASS = 4
IMAGENET_VAL_PER_CLASS = 2


def cifar_records(count: int, first_id: int, rng: np.random.Generator) -> np.ndarray:
    """`count` records of seeded random pixels, labels 0..9 and embedded ids, shape (count, 3073)."""
    records = rng.integers(0, 256, size=(count, CIFAR_RECORD_BYTES), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, size=count, dtype=np.uint8)
    planes = records[:, 1:].reshape(count, 3, 32, 32)
    ids = np.arange(first_id, first_id + count)
    planes[:, 0, ID_BLOCK, ID_BLOCK] = (ids >> 8).astype(np.uint8)[:, None, None]
    planes[:, 1, ID_BLOCK, ID_BLOCK] = (ids & 0xFF).astype(np.uint8)[:, None, None]
    return records


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Keep the digits conversion out of ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("googlenet-bench-cache")
        patch.setenv("GOOGLENET_BENCH_CACHE", str(cache))
        yield cache


@pytest.fixture(autouse=True)
def no_training_unless_slow(request, monkeypatch):
    """`-m "not slow"` runs no training: MindSpore's Model.train refuses here and in the processes
    the test starts, unless the test is marked slow (or heavy)."""
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("heavy"):
        yield
        return
    used = TRAINING_FIXTURES & set(request.fixturenames)
    assert not used, f"{no_training.MESSAGE} (it uses {', '.join(sorted(used))})"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(GUARDS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setattr(no_training, "refusing", True)
    yield


@pytest.fixture(autouse=True)
def environment_restored():
    """A run in the test process sets variables (its set-up phase sets ONEDNN_MAX_CPU_ISA, as it must
    before oneDNN loads); they must not leak into later tests' subprocess runs."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def cifar10_dir(tmp_path_factory) -> Path:
    """The six CIFAR-10 binary files, 10,000 records each (MindSpore accepts no other size)."""
    directory = tmp_path_factory.mktemp("cifar-10-batches-bin")
    rng = np.random.default_rng(10)
    for index, name in enumerate(CIFAR_FILES):
        cifar_records(CIFAR_RECORDS, index * CIFAR_RECORDS, rng).tofile(directory / name)
    return directory


@pytest.fixture(scope="session")
def imagenet_dir(tmp_path_factory) -> Path:
    """train/ and val/ with 3 class folders of real 40x48 JPEGs (4 train, 2 val each), plus a stray text file."""
    from PIL import Image

    root = tmp_path_factory.mktemp("imagenet")
    rng = np.random.default_rng(20)
    for folder, per_class in (("train", IMAGENET_TRAIN_PER_CLASS), ("val", IMAGENET_VAL_PER_CLASS)):
        for class_index, name in enumerate(IMAGENET_CLASSES):
            class_dir = root / folder / name
            class_dir.mkdir(parents=True)
            for i in range(per_class):
                colour = rng.integers(0, 256, size=3)
                pixels = np.clip(colour + rng.normal(0, 30, size=(40, 48, 3)), 0, 255).astype(np.uint8)
                # Mixed suffix spellings, as real trees have: ImageFolderDataset matches them case-sensitively.
                suffix = ".jpg" if (i, class_index) == (1, 1) else ".JPEG"
                Image.fromarray(pixels).save(class_dir / f"{name}_{i}{suffix}", format="JPEG")
            (class_dir / "notes.txt").write_text("not an image")
    return root


def one_line(stderr: str) -> bool:
    """What a refusal promises on stderr: exactly one line, and no traceback."""
    return stderr.count("\n") == 1 and stderr.endswith("\n") and "Traceback" not in stderr


@contextlib.contextmanager
def tmpfs(path: Path, megabytes: int, read_only: bool = False):
    """A real file system of this size (tmpfs, as root), so a full disk is a real ENOSPC and a read-only one
    a real EROFS; skipped where mounting is not allowed."""
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    options = f"size={megabytes}m" + (",ro" if read_only else "")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]).returncode != 0:
        pytest.skip("mount is not allowed here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def run_bench(*args: str, timeout: float = 600, env: dict | None = None):
    """bench.py as a user runs it: a subprocess, its exit code, stdout and stderr."""
    import subprocess

    return subprocess.run([sys.executable, str(PROJECT_ROOT / "bench.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})})


# A digits run small enough for a test: 4 steps per epoch, 100 images scored.
# min_top1=null: the digits floor (0.97) is for the full recipe, not for a 2-epoch test run.
SHORT_DIGITS = ("--set", "epochs=2", "--set", "train_samples=256", "--set", "eval_samples=100", "--set", "min_top1=null")


@pytest.fixture(scope="session")
def untrained_weights(tmp_path_factory) -> Path:
    """The default suite's network, freshly initialised, saved as the harness saves its weights: a
    valid checkpoint for the tests that refuse one, made without training."""
    from googlenet_bench.harness.results.checkpoints import save_weights
    from googlenet_bench.model import GoogleNet

    return save_weights(GoogleNet(num_classes=10), tmp_path_factory.mktemp("untrained"))


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """One short real run of the default suite, shared by the tests that read its record."""
    import json

    results = tmp_path_factory.mktemp("results")
    result = run_bench(*SHORT_DIGITS, "--results", str(results))
    assert result.returncode == 0, result.stderr[-3000:]
    records = sorted(results.glob("*.json"))
    assert len(records) == 1
    return {"result": result, "path": records[0], "record": json.loads(records[0].read_text()), "results": results}


# -- the reliability summary the README quotes: counted by the test run, not by hand ----------------
_reliability = {"bad_input": {"passed": 0, "failed": 0}, "fault": {"passed": 0, "failed": 0}}


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    for kind in _reliability:
        if kind in report.keywords:
            _reliability[kind]["passed" if report.passed else "failed"] += 1


def pytest_terminal_summary(terminalreporter):
    bad, fault = _reliability["bad_input"], _reliability["fault"]
    if not (bad["passed"] + bad["failed"] + fault["passed"] + fault["failed"]):
        return
    lost = bad["failed"] + fault["failed"]
    terminalreporter.write_line(
        f"reliability: {bad['passed'] + bad['failed']} bad-input cases tried, "
        f"{fault['passed'] + fault['failed']} faults injected; "
        f"{'no result lost and no traceback in any of them' if not lost else f'{lost} FAILED'}")


LEARNABLE_CLASSES = 10


def learnable_pixels(label: int, shape: tuple, rng: np.random.Generator, classes: int = 10) -> np.ndarray:
    """A grating whose angle tells the class, plus noise: a few steps of training can tell the classes
    apart, so a loss can fall. (Not a colour: BatchNorm on a batch of one class would normalise it away.)"""
    height, width = shape[:2]
    angle = np.pi / 2 * label / max(classes - 1, 1)  # 0 to 90 degrees: a flip makes none of them another
    y, x = np.mgrid[0:height, 0:width]
    wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / 6.0)
    pixels = 128 + 90 * wave[..., None] + rng.normal(0, 20, size=(height, width, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def learnable_imagenet_dir(tmp_path_factory) -> Path:
    """An ImageNet-layout JPEG tree of 10 classes (16 train, 4 val images each) a network can learn in a few steps."""
    from PIL import Image

    root = tmp_path_factory.mktemp("imagenet-learnable")
    rng = np.random.default_rng(30)
    for folder, per_class in (("train", 16), ("val", 4)):
        for label in range(LEARNABLE_CLASSES):
            name = f"n{1440764 + label:08d}"
            (root / folder / name).mkdir(parents=True)
            for i in range(per_class):
                # Large enough that the recipe's random crops (down to 8% of the area) still hold a grating.
                Image.fromarray(learnable_pixels(label, (96, 112, 3), rng)).save(
                    root / folder / name / f"{name}_{i}.JPEG", format="JPEG")
    return root


@pytest.fixture(scope="session")
def learnable_cifar10_dir(tmp_path_factory) -> Path:
    """The six CIFAR-10 binary files (10,000 records each) of class gratings."""
    directory = tmp_path_factory.mktemp("cifar-10-learnable")
    rng = np.random.default_rng(40)
    for name in CIFAR_FILES:
        labels = rng.integers(0, 10, size=CIFAR_RECORDS, dtype=np.uint8)
        patterns = np.stack([learnable_pixels(label, (32, 32, 3), rng) for label in range(10)])  # (10, 32, 32, 3)
        noise = rng.integers(-12, 13, size=(CIFAR_RECORDS, 32, 32, 3))
        images = np.clip(patterns[labels].astype(np.int16) + noise, 0, 255).astype(np.uint8)
        records = np.empty((CIFAR_RECORDS, CIFAR_RECORD_BYTES), dtype=np.uint8)
        records[:, 0] = labels
        records[:, 1:] = images.transpose(0, 3, 1, 2).reshape(CIFAR_RECORDS, -1)  # R, G, B planes
        records.tofile(directory / name)
    return directory

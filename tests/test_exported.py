"""Issue 10, class 4: an exported model given to --model that is empty, corrupt, or made for another image
size is refused in preflight, in one line naming the file and the input shape the suite needs."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import one_line, run_bench
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.measure.exported import check_exported_model

DIGITS_SHAPE = "(N,3,32,32)"  # the digits suite's image_size is 32


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small real network (flatten + dense, 10 classes) exported to MINDIR and ONNX at 32x32 and at 16x16."""
    import mindspore
    import mindspore.nn as nn
    import mindspore.onnx

    directory = tmp_path_factory.mktemp("exported")
    files = {}
    for size in (32, 16):
        mindspore.set_seed(3)
        net = nn.SequentialCell([nn.Flatten(), nn.Dense(3 * size * size, 10)])
        net.set_train(False)
        example = mindspore.Tensor(np.ones((4, 3, size, size), np.float32))
        mindspore.export(net, example, file_name=str(directory / f"net{size}"), file_format="MINDIR")
        mindspore.onnx.export(net, example, file_name=str(directory / f"net{size}.onnx"), input_names=["image"],
                              output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        files[size] = {".mindir": directory / f"net{size}.mindir", ".onnx": directory / f"net{size}.onnx"}
    return files


def broken(tmp_path, exported, suffix: str, kind: str):
    """A bad copy of the 32x32 export: empty, random bytes, cut in half, or the other format's bytes."""
    good = exported[32][suffix].read_bytes()
    other = exported[32][".onnx" if suffix == ".mindir" else ".mindir"].read_bytes()
    content = {"empty": b"", "random": np.random.default_rng(0).bytes(4096), "truncated": good[: len(good) // 2],
               "another format": other, "text": b"not a model\n"}[kind]
    path = tmp_path / f"{kind.replace(' ', '-')}{suffix}"
    path.write_bytes(content)
    return path


def test_a_model_for_the_suites_image_size_is_accepted(exported):
    for path in exported[32].values():
        check_exported_model(path, 32)
    for path in exported[16].values():
        check_exported_model(path, 16)


@pytest.mark.bad_input
@pytest.mark.parametrize("suffix", [".mindir", ".onnx"])
def test_a_model_for_another_image_size_names_both_shapes(exported, suffix):
    path = exported[16][suffix]
    with pytest.raises(BenchError) as info:
        check_exported_model(path, 32)
    batch = "4" if suffix == ".mindir" else "N"  # MindSpore's MINDIR keeps the example's batch; ONNX has it dynamic
    assert str(info.value).startswith(f"--model {path}: its input shape is ({batch},3,16,16); this suite needs "
                                      f"an exported model with input shape {DIGITS_SHAPE}")


@pytest.mark.bad_input
@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "another format", "text"])
@pytest.mark.parametrize("suffix", [".mindir", ".onnx"])
def test_a_corrupt_model_is_refused_in_one_line_without_loader_noise(exported, tmp_path, capfd, suffix, kind):
    path = broken(tmp_path, exported, suffix, kind)
    with pytest.raises(BenchError) as info:
        check_exported_model(path, 32)
    message = str(info.value)
    assert message.startswith(f"--model {path}: ") and message.endswith(f"input shape {DIGITS_SHAPE}")
    assert "\n" not in message
    assert capfd.readouterr().err == ""  # onnxruntime's and MindSpore's own error lines are kept back


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["empty .onnx", "random .mindir", "truncated .onnx", "another format .mindir",
                                  "16x16 .onnx", "16x16 .mindir"])
def test_bench_refuses_a_bad_model_before_anything_is_written(exported, tmp_path, case):
    kind, suffix = case.rsplit(" ", 1)
    path = exported[16][suffix] if kind == "16x16" else broken(tmp_path, exported, suffix, kind)
    result = run_bench("--phases", "infer", "--model", str(path), "--results", str(tmp_path / "results"), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"error: --model {path}: ") and one_line(result.stderr), result.stderr
    assert DIGITS_SHAPE in result.stderr
    assert not (tmp_path / "results").exists()


def test_bench_infers_from_a_fitting_model_through_the_check(exported, tmp_path):
    """The check lets a fitting model through: a real infer run (no training) from the 32x32 ONNX file."""
    path = exported[32][".onnx"]
    result = run_bench("--phases", "infer", "--model", str(path), "--set", "eval_samples=64",
                       "--results", str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["figures"]["infer"]["ONNX"]["images"] == 64
    assert oct(os.stat(next(tmp_path.glob("*.json"))).st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    from googlenet_bench.harness.results.record import current_umask as umask

    return umask()

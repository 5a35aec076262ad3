"""Rehearsals: the GPU and Ascend backends' own recipes, built and trained by MindSpore on this CPU.

These are the tests that show a hardware backend's recipe works: MindSpore builds the Model with
the backend's AMP level, keep_batchnorm_fp32, loss-scale manager and optimizer loss scale, and
jit level, trains it on small generated data until the loss falls, exports the AMP-converted
network and infers from the export. Only the device target and the communication library are
the CPU's. The boundary tests in test_backend_*.py check the device calls, not the recipe.
"""
import math

import pytest

from conftest import run_bench
from googlenet_bench.harness.results.record import read_record

pytestmark = pytest.mark.slow

# Short, and large enough batches that an epoch's (last-batch) loss says something.
CIFAR = ("--suite", "cifar10-full", "--set", "image_size=32", "--set", "batch_size=64", "--set", "epochs=3",
         "--set", "train_samples=640", "--set", "eval_samples=128", "--set", "lr_init=0.02")
IMAGENET = ("--suite", "imagenet-full", "--set", "num_classes=10", "--set", "image_size=64", "--set", "batch_size=16",
            "--set", "epochs=4", "--set", "lr_init=0.01")
# What each backend's recipe is on each suite, as the zoo has it.
EXPECTED = {
    ("gpu", "cifar10-full"): {"amp_level": "O2", "keep_batchnorm_fp32": False, "loss_scale": "none",
                              "optimizer_loss_scale": 1.0, "jit_level": "O1"},
    ("gpu", "imagenet-full"): {"amp_level": "O2", "keep_batchnorm_fp32": False, "loss_scale": "fixed",
                               "optimizer_loss_scale": 1024.0, "jit_level": "O1"},
    ("ascend", "cifar10-full"): {"amp_level": "O2", "keep_batchnorm_fp32": False, "loss_scale": "none",
                                 "optimizer_loss_scale": 1.0, "jit_level": None},
    ("ascend", "imagenet-full"): {"amp_level": "O2", "keep_batchnorm_fp32": False, "loss_scale": "fixed",
                                  "optimizer_loss_scale": 1024.0, "jit_level": None},
}


def rehearse(backend: str, suite_args: tuple, data, tmp_path, *extra):
    result = run_bench("--backend", backend, "--rehearse", *suite_args, "--data", str(data),
                       "--set", "min_top1=null", "--results", str(tmp_path), *extra, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_record(next(tmp_path.glob("*.json")))


def assert_learns(figures: dict) -> None:
    """The loss stays finite and near or below where it starts, ends below its first epoch's value,
    and the network tells the classes apart better than chance (an exploding recipe does none of it).
    An epoch's loss is its last batch's (dataset sink), so it is not asked to fall every epoch."""
    losses = [float(loss) for loss in figures["train"]["loss_per_epoch"]]
    start = math.log(10)
    assert all(math.isfinite(loss) and loss < 2 * start for loss in losses), losses
    assert losses[-1] < losses[0], losses
    assert figures["eval"]["top1"] >= 0.2, figures["eval"]  # chance is 0.1


def assert_recipe_ran(record: dict, backend: str, suite: str) -> None:
    figures = record["figures"]
    assert record["status"] == "success" and record["backend"] == backend and record["rehearsal"] == "cpu"
    assert figures["rehearsal"]["host"] == "cpu"
    assert {key: figures["recipe"][key] for key in EXPECTED[backend, suite]} == EXPECTED[backend, suite]
    assert figures["rehearsal"]["requested"]["amp_level"] == "O2"
    assert record["environment"]["device_context"]["device_target"] == "CPU"
    cell = figures["trained_cell"]
    scale = EXPECTED[backend, suite]["optimizer_loss_scale"]
    assert cell["cell"] == "TrainOneStepCell" and cell["optimizer_loss_scale"] == scale
    assert cell.get("sens", 1.0) == scale and cell["jit_level"] == EXPECTED[backend, suite]["jit_level"]
    assert_learns(figures)
    # The export is of the AMP-converted (fp16) network; inference from it is judged by the AMP rule.
    for file_format, entry in figures["infer"].items():
        agreement = entry["agreement"]
        assert agreement["agrees"] is True and agreement["rule"].startswith("AMP O2"), (file_format, agreement)
        assert isinstance(agreement["images_disagreeing"], int)


# Heavy: the ImageNet rehearsal below runs the same AMP level with a loss scale, the path that broke before.
@pytest.mark.heavy
@pytest.mark.parametrize("backend", ["gpu", "ascend"])
def test_the_cifar10_recipe_rehearsed_on_this_cpu(backend, learnable_cifar10_dir, tmp_path):
    result, record = rehearse(backend, CIFAR, learnable_cifar10_dir, tmp_path)
    assert_recipe_ran(record, backend, "cifar10-full")
    assert "rehearsal of" in result.stdout


@pytest.mark.parametrize("backend", ["gpu", pytest.param("ascend", marks=pytest.mark.heavy)])
def test_the_imagenet_recipe_rehearsed_on_this_cpu(backend, learnable_imagenet_dir, tmp_path):
    result, record = rehearse(backend, IMAGENET, learnable_imagenet_dir, tmp_path)
    assert_recipe_ran(record, backend, "imagenet-full")
    if backend == "ascend":  # AIR is written only on the device: said once, and the rest exported
        notes = record["figures"]["rehearsal"]["notes"]
        assert len(notes) == 1 and "AIR" in notes[0] and "rehearsal: " + notes[0] in result.stderr
        assert sorted(record["figures"]["export"]) == ["MINDIR", "ONNX"]


@pytest.mark.heavy
def test_a_dynamic_loss_scale_is_rehearsed_as_the_nearest_fixed_one_and_both_are_recorded(learnable_imagenet_dir,
                                                                                           tmp_path):
    result, record = rehearse("gpu", IMAGENET, learnable_imagenet_dir, tmp_path, "--set", "loss_scale=dynamic",
                              "--set", "export_formats=[MINDIR]", "--set", "epochs=2")
    rehearsal = record["figures"]["rehearsal"]
    assert rehearsal["requested"]["loss_scale"] == "dynamic" and rehearsal["requested"]["dynamic_init"] == 65536
    assert rehearsal["ran"]["loss_scale"] == "fixed" and rehearsal["ran"]["loss_scale_value"] == 65536
    assert [line for line in result.stderr.splitlines() if "dynamic loss scale" in line] == \
        ["rehearsal: " + rehearsal["notes"][0]]
    assert record["figures"]["trained_cell"]["sens"] == 65536.0


@pytest.mark.heavy
@pytest.mark.parametrize("backend, suite, data", [("gpu", CIFAR, "learnable_cifar10_dir"),
                                                   ("ascend", IMAGENET, "learnable_imagenet_dir")])
def test_two_rank_rehearsal_through_msrun_keeps_the_parameters_identical(backend, suite, data, request, tmp_path):
    _, record = rehearse(backend, suite, request.getfixturevalue(data), tmp_path, "--ranks", "2",
                         "--set", "epochs=2")
    ranks = record["figures"]["ranks"]
    assert record["status"] == "success" and record["figures"]["launch"]["launcher"] == "msrun"
    assert ranks["parameters_identical"] is True and len(ranks["per_rank"]) == 2
    assert {r["communication"] for r in ranks["per_rank"]} != {"nccl", "hccl"}  # the CPU's, not the device's

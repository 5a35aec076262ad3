"""Rehearsals: the GPU and Ascend backends' own recipes, built and trained by MindSpore on this CPU.

These are the tests that show a hardware backend's recipe works: MindSpore builds the Model with
the backend's AMP level, keep_batchnorm_fp32, loss-scale manager and optimizer loss scale, and
jit level, and trains it on small generated data. Each rehearsal is judged against its fp32 twin,
trained in the same run on the same data and steps at O0. Then the trained weights are evaluated,
exported and inferred from as an fp32 network, the zoo's way. Only the device target and the
communication library are the CPU's. The boundary tests in test_backend_*.py check the device calls,
not the recipe. What a rehearsal does not run is in docs/rehearsal.md.
"""
import math

import pytest

from conftest import run_bench
from test_zoo_compatibility import mindir_casts
from googlenet_bench.harness.results.record import read_record

pytestmark = pytest.mark.slow

# Short runs whose mean loss per epoch falls and whose top-1 beats chance, at O0 and O2, on this Xeon
# (docs/rehearsal.md has the figures).
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
    """A rehearsal that ran to its end: success, or the finding that it learned much worse than its twin,
    which is then checked and the test skipped with the finding (measured on this Xeon for CIFAR-10's O2
    recipe: docs/rehearsal.md)."""
    result = run_bench("--backend", backend, "--rehearse", *suite_args, "--data", str(data),
                       "--set", "min_top1=null", "--results", str(tmp_path), *extra, timeout=900)
    record = read_record(next(tmp_path.glob("*.json"))) if list(tmp_path.glob("*.json")) else None
    if record is not None and record["status"] == "precision_gap":
        assert_finding(result, record)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, record


def assert_finding(result, record: dict) -> None:
    """Exit 1 with one line saying what was found; the twin learned and the rehearsal's loss stayed sane."""
    compared = record["figures"]["rehearsal_twin"]
    [line] = [line for line in result.stderr.splitlines() if "finding:" in line]
    assert result.returncode == 1 and line.startswith("run not valid (precision_gap): finding: ")
    assert compared["learned_much_worse"] is True and record["figures"]["eval"]["training_precision"]
    twin = compared["twin"]
    assert_learns({"train": {"loss_per_epoch": twin["loss_per_epoch"]}, "eval": {"top1": twin["top1"]}},
                  CURVE_FALLS[record["suite"]])
    assert all(math.isfinite(float(loss)) for loss in record["figures"]["train"]["loss_per_epoch"])
    pytest.skip(f"measured on this CPU ({record['environment']['cpu_model']}): {line}")


def assert_learns(figures: dict, curve_falls: bool = True) -> None:
    """On the epochs' mean losses (one batch's loss is noise) and eval top-1: the loss stays finite and
    below twice where a fresh network starts, the last epoch's mean is below the first's, and the network
    tells the classes apart better than chance (an exploding recipe does none of it)."""
    losses = [float(loss) for loss in figures["train"]["loss_per_epoch"]]
    start = math.log(10)
    assert all(math.isfinite(loss) and loss < 2 * start for loss in losses), losses
    if curve_falls:
        assert losses[-1] < losses[0], losses
    assert figures["eval"]["top1"] >= 0.2, figures["eval"]  # chance is 0.1


# On the ImageNet layout, 40 steps of the zoo's augmentation (crops down to 8% of the image, colour jitter,
# label smoothing) move the mean loss by noise only, at O0 as at O2 (docs/rehearsal.md, measured on this
# Xeon): there the run is judged on eval top-1 and against its twin, not on the curve.
CURVE_FALLS = {"cifar10-full": True, "imagenet-full": False}


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
    assert_learns(figures, CURVE_FALLS[suite])
    # Judged against its fp32 twin (same data and steps at O0), which learns too and was not much better.
    twin = figures["rehearsal_twin"]
    assert twin["twin"]["steps"] == figures["train"]["steps"] and twin["learned_much_worse"] is False
    assert_learns({"train": {"loss_per_epoch": twin["twin"]["loss_per_epoch"]}, "eval": {"top1": twin["twin"]["top1"]}},
                  CURVE_FALLS[suite])
    # Eval, export and inference are of an fp32 network holding the trained weights, as the zoo's eval.py
    # and export.py do: no fp16 cast in the MINDIR, and inference equal to eval by the exact rule.
    assert figures["eval"]["training_precision"]["amp_level"] == "O2" and figures["eval"]["network"].startswith("fp32")
    assert mindir_casts(figures["export"]["MINDIR"]["path"]) == 0
    for file_format, entry in figures["infer"].items():
        agreement = entry["agreement"]
        assert agreement["agrees"] is True and agreement["rule"].startswith("exact"), (file_format, agreement)
    notes = figures["rehearsal"]["notes"]
    assert any("dataset sink" in note for note in notes) and any("not the device's" in note for note in notes)
    assert all(f"rehearsal: {note}" in figures["recipe"]["deviations"] for note in notes)


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
    notes = record["figures"]["rehearsal"]["notes"]
    assert all("rehearsal: " + note in result.stderr for note in notes)
    # The GPU recipe's jit level O1 is a no-op on CPU, and said; Ascend's recipe has none.
    assert any("jit_level O1" in note for note in notes) is (backend == "gpu")
    assert sorted(record["figures"]["export"]) == ["MINDIR", "ONNX"]  # AIR only where GE is, or when asked


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

"""Continue training, CRC-checked checkpoints, pretrained weights, transfer learning, the ImageNet recipe."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import PROJECT_ROOT, SHORT_DIGITS, one_line, run_bench

pytestmark = pytest.mark.slow

# 2 steps an epoch, a checkpoint every epoch.
RESUMABLE = ("--set", "min_top1=null", "--set", "epochs=4", "--set", "train_samples=128", "--set", "eval_samples=64",
             "--set", "ckpt_every_epochs=1", "--set", "ckpt_keep=5", "--set", "export_formats=[MINDIR]")


def only_record(directory):
    records = list(directory.glob("*.json"))
    assert len(records) == 1, records
    return json.loads(records[0].read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    results = tmp_path_factory.mktemp("uninterrupted")
    result = run_bench(*RESUMABLE, "--keep-checkpoints", "--results", str(results))  # the tests resume from them
    assert result.returncode == 0, result.stderr[-2000:]
    return only_record(results)


@pytest.mark.fault
def test_a_run_killed_mid_training_resumes_to_the_same_steps_and_learning_rates(uninterrupted, tmp_path):
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), *RESUMABLE, "--results", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(tmp_path.glob("*/checkpoints/*-2_2.ckpt")):
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob("*.json")) == []  # killed: no record claims anything
    run_dir = next(tmp_path.iterdir())
    result = run_bench("--resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(tmp_path)
    train, reference = record["figures"]["train"], uninterrupted["figures"]["train"]
    assert record["figures"]["resumed"]["from_epoch"] >= 2
    assert train["steps"] == reference["steps"] == 8
    assert train["optimizer_steps"] == reference["optimizer_steps"] == 8
    assert train["lr_per_epoch"] == reference["lr_per_epoch"]
    assert len(train["loss_per_epoch"]) == 4
    assert "resumed from epoch" in result.stdout


@pytest.mark.fault
def test_a_corrupt_newest_checkpoint_is_named_and_resume_falls_back(uninterrupted, tmp_path):
    source = PROJECT_ROOT / "results"  # not used: copy the uninterrupted run's directory instead
    run_dir = tmp_path / uninterrupted["run_id"]
    original = os.path.dirname(uninterrupted["figures"]["checkpoint"]["path"])
    shutil.copytree(os.path.dirname(original), run_dir)
    newest = run_dir / "checkpoints" / "train_googlenet_digits-4_2.ckpt"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)  # flip bytes in the middle
    newest.write_bytes(bytes(data))
    result = run_bench("--resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "train_googlenet_digits-4_2.ckpt is corrupt" in result.stderr and "falling back" in result.stderr
    record = json.loads((tmp_path / f"{uninterrupted['run_id']}.json").read_text())
    resumed = record["figures"]["resumed"]
    assert resumed["from_epoch"] == 3 and resumed["from_checkpoint"].endswith("-3_2.ckpt")
    assert "digits-4_2.ckpt" in resumed["corrupt_checkpoints_skipped"][0]
    assert record["figures"]["train"]["lr_per_epoch"] == uninterrupted["figures"]["train"]["lr_per_epoch"]


@pytest.mark.bad_input
def test_resume_refuses_overrides_and_non_runs(tmp_path):
    result = run_bench("--resume", str(tmp_path))
    assert result.returncode == 2 and "no run.json there" in result.stderr
    result = run_bench("--resume", str(tmp_path), "--set", "epochs=3")
    assert result.returncode == 2 and "leave out --set" in result.stderr


@pytest.mark.bad_input
def test_pretrained_with_another_head_names_the_first_mismatch(digits_run, tmp_path):
    weights = digits_run["record"]["figures"]["weights"]["path"]
    result = run_bench(*SHORT_DIGITS, "--set", "classes=[0,1,2]", "--set", "num_classes=3", "--set", "train_samples=null",
                       "--set", "eval_samples=null", "--pretrained", weights, "--results", str(tmp_path))
    assert result.returncode == 2
    assert "classifier.weight is (10, 1024) there but (3, 1024) here" in result.stderr
    assert "--set transfer=true" in result.stderr and one_line(result.stderr)


@pytest.mark.bad_input
def test_corrupt_pretrained_checkpoint_is_refused_in_one_line(digits_run, tmp_path):
    broken = tmp_path / "broken.ckpt"
    data = bytearray(open(digits_run["record"]["figures"]["weights"]["path"], "rb").read())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    broken.write_bytes(bytes(data))
    result = run_bench(*SHORT_DIGITS, "--pretrained", str(broken), "--results", str(tmp_path / "r"))
    assert result.returncode == 2 and f"checkpoint {broken} is corrupt: " in result.stderr and "Traceback" not in result.stderr


@pytest.mark.heavy
def test_transfer_suite_measures_pretrained_against_scratch(tmp_path):
    backbone = run_bench("--suite", "digits-0to4", "--set", "epochs=3", "--results", str(tmp_path / "backbone"))
    assert backbone.returncode == 0, backbone.stderr[-2000:]
    weights = next((tmp_path / "backbone").glob("*/googlenet.ckpt"))
    result = run_bench("--suite", "digits-transfer", "--set", "epochs=1", "--set", "export_formats=[MINDIR]",
                       "--pretrained", str(weights), "--results", str(tmp_path / "transfer"))
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(tmp_path / "transfer")
    transfer = record["figures"]["transfer"]
    assert record["figures"]["pretrained"]["head_replaced"] is True
    assert transfer["steps"] == record["figures"]["train"]["steps"] == 11
    assert transfer["top1_pretrained"] == record["figures"]["eval"]["top1"]
    assert transfer["top1_gain"] == pytest.approx(transfer["top1_pretrained"] - transfer["top1_scratch"], abs=1e-6)
    assert record["figures"]["eval"]["images"] == 180  # digits 5-9 of the test split
    assert "from the pretrained backbone vs" in result.stdout


@pytest.mark.heavy
def test_freeze_backbone_trains_the_head_only(digits_run, tmp_path):
    weights = digits_run["record"]["figures"]["weights"]["path"]
    result = run_bench(*SHORT_DIGITS, "--set", "transfer=true", "--set", "freeze_backbone=true",
                       "--set", "export_formats=[MINDIR]", "--pretrained", weights, "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(tmp_path)
    assert record["figures"]["trainable_parameters"] == 1024 * 10 + 10


@pytest.mark.heavy
def test_imagenet_recipe_runs_on_a_real_jpeg_tree(imagenet_dir, tmp_path):
    result = run_bench("--suite", "imagenet-full", "--data", str(imagenet_dir), "--set", "epochs=1",
                       "--set", "batch_size=4", "--set", "eval_batch_size=4", "--set", "image_size=32",
                       "--set", "export_formats=[MINDIR]", "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    record = only_record(tmp_path)
    config, figures = record["config"], record["figures"]
    assert (config["label_smoothing"], config["loss_scale"], config["weight_decay_on"]) == (0.1, "fixed", "weights_only")
    assert figures["loss_scale"] == "fixed"
    assert figures["eval"]["top5"] is not None and figures["eval"]["images"] == 6
    assert figures["train"]["steps"] == 3
    assert "label smoothing 0.1" in result.stdout

"""The whole cycle through the CLI, on real (small) data, as a user runs it."""
import hashlib
import json
from pathlib import Path

import pytest

from conftest import SHORT_DIGITS, one_line, run_bench

pytestmark = pytest.mark.slow


def test_default_suite_records_every_figure(digits_run):
    record = digits_run["record"]
    figures = record["figures"]
    assert record["status"] == "success" and record["suite"] == "digits" and record["backend"] == "cpu"
    assert figures["parameters"] == 5_610_154
    train = figures["train"]
    assert (train["epochs"], train["steps_per_epoch"], train["steps"]) == (2, 4, 8)
    assert train["ms_per_step_median"] > 0 and train["images_per_s"] > 0 and train["compile_s"] is not None
    assert figures["eval"]["images"] == 100 and 0 <= figures["eval"]["top1"] <= 1
    assert set(figures["export"]) == {"MINDIR", "ONNX"}
    assert all(entry["mb"] > 10 for entry in figures["export"].values())
    for file_format in ("MINDIR", "ONNX"):
        infer = figures["infer"][file_format]
        assert infer["matches_eval"] is True and infer["images"] == 100
        assert infer["correct_top1"] == figures["eval"]["correct_top1"]
    assert figures["checkpoint"]["mb"] > figures["weights"]["mb"] > 10  # with optimizer state vs weights only
    # A success keeps its weights and exports, not the training checkpoints; the record lists what is left.
    artifacts, run_dir = figures["artifacts"], digits_run["path"].with_suffix("")
    assert [Path(entry["path"]).parent.name for entry in artifacts["removed"]] == ["checkpoints"] * figures["checkpoint"]["kept"]
    assert not list((run_dir / "checkpoints").glob("*.ckpt"))
    listed = {entry["path"]: entry for entry in artifacts["files"]}
    assert {"googlenet.ckpt", "googlenet.mindir", "googlenet.onnx", "events.log", "run.json"} <= set(listed)
    onnx = listed["googlenet.onnx"]
    assert onnx["bytes"] == (run_dir / "googlenet.onnx").stat().st_size
    assert onnx["sha256"] == hashlib.sha256((run_dir / "googlenet.onnx").read_bytes()).hexdigest()
    assert artifacts["bytes"] == sum(path.stat().st_size for path in run_dir.rglob("*") if path.is_file()
                                     and "attempts" not in path.parts)
    keys = [event["key"] for event in record["events"]]
    assert keys[:4] == ["submission_benchmark", "submission_org", "submission_division", "submission_status"]
    assert keys.count("init_start") == keys.count("run_start") == keys.count("run_stop") == 1 and "status" not in keys
    assert keys.count("epoch_start") == keys.count("epoch_stop") == 2 and "eval_accuracy" in keys
    starts = [event["value"] for event in record["events"] if event["key"] == "epoch_start"]
    assert starts == [1, 2]
    env = record["environment"]
    assert env["mindspore"] == "2.10.0" and env["cpu_cores"] and env["device_context"]["device_target"] == "CPU"
    assert env["speed_settings"]["source"].startswith("conservative default")  # the tests' cache holds no profile
    assert env["device_context"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert "Run `python bench.py tune` once" in digits_run["result"].stderr
    # No drift reference unless the suite asks for it (drift_reference: true): no calibration workload,
    # no per-step wait for the host.
    assert "calibration" not in train and "normalised_step" not in train
    assert len(figures["train"]["other_load_per_epoch"]) == 2
    assert figures["train"]["ms_per_step_spread"]["stability"] == "unknown"  # one timed epoch: too few to judge
    assert record["config"]["epochs"] == 2 and record["config"]["train_samples"] == 256


def test_the_drift_reference_runs_when_a_run_asks_for_it(tmp_path):
    result = run_bench(*SHORT_DIGITS, "--set", "drift_reference=true", "--phases", "train",
                       "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    train = json.loads(next(tmp_path.glob("*.json")).read_text())["figures"]["train"]
    calibration = train["calibration"]
    assert calibration["ms_median"] > 0 and train["normalised_step"] > 0
    # the drift reference ran after every EVERY_STEPS steps, interleaved: 2 windows in each 4-step epoch ...
    assert [window[0] for window in calibration["windows"]] == [1, 1, 2, 2]
    # ... and its time (with its compile) is off the training clock: the epochs' times, which ms/step
    # divides, fit inside the phase's time less the reference's, which they would not if it were on it
    epochs_s = sum(ms * train["steps_per_epoch"] for ms in train["ms_per_step_per_epoch"]) / 1000.0
    assert calibration["off_clock_s"] > 1.0 and epochs_s <= train["train_s"] + 0.2


def test_run_prints_the_zoo_table_and_report_renders_it_from_the_record(digits_run):
    stdout = digits_run["result"].stdout
    for row in ("Model Version", "Inception V1", "MindSpore Version", "Speed", "Parameters (M)", "Accuracy"):
        assert row in stdout
    report = run_bench("report", str(digits_run["path"]))
    assert report.returncode == 0
    table = lambda text: text[: text.index("status:")]
    assert table(report.stdout) == table(stdout)


def test_eval_export_infer_of_a_saved_checkpoint_reproduces_the_run(digits_run, tmp_path):
    weights = digits_run["record"]["figures"]["weights"]["path"]
    result = run_bench(*SHORT_DIGITS, "--phases", "eval,export,infer", "--checkpoint", weights,
                       "--set", "export_formats=[ONNX]", "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert "train" not in record["figures"]
    assert record["figures"]["eval"]["correct_top1"] == digits_run["record"]["figures"]["eval"]["correct_top1"]
    assert record["figures"]["infer"]["ONNX"]["matches_eval"] is True


def test_infer_from_a_given_exported_model(digits_run, tmp_path):
    onnx = digits_run["record"]["figures"]["export"]["ONNX"]["path"]
    result = run_bench(*SHORT_DIGITS, "--phases", "infer", "--model", onnx, "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["figures"]["infer"]["ONNX"]["correct_top1"] == digits_run["record"]["figures"]["eval"]["correct_top1"]


@pytest.mark.heavy  # test_fetch.py runs cifar10-full on binary files it fetched
def test_cifar10_suite_runs_on_real_binary_files(cifar10_dir, tmp_path):
    result = run_bench("--suite", "cifar10-full", "--data", str(cifar10_dir), "--set", "epochs=1",
                       "--set", "train_samples=64", "--set", "eval_samples=70", "--set", "image_size=32",
                       "--set", "batch_size=32", "--set", "export_formats=[MINDIR]", "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["figures"]["train"]["steps"] == 2
    assert record["figures"]["eval"]["images"] == 70  # the partial last batch is scored too
    assert record["figures"]["infer"]["MINDIR"]["matches_eval"] is True
    assert "CIFAR-10" in result.stdout


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (("--suite", "cifar10-full"), "dataset cifar10 needs its files: pass --data DIR"),
    (("--suite", "cifar10-full", "--data", "/nonexistent/cifar"), "/nonexistent/cifar not found"),
    (("--data", "/tmp"), "digits"),
    (("--set", "epoch=2"), "unknown key 'epoch' (did you mean epochs?)"),
    (("--suite", "../suites/digits"), "unknown suite"),
    (("--phases", "eval"), "needs --checkpoint"),
    (("--phases", "train,fly"), "unknown phase 'fly'"),
    (("--checkpoint", "/nonexistent.ckpt", "--phases", "eval"), "no such file"),
    (("--phases", "infer", "--model", "/tmp/x.txt"), "no such file"),
    (("--backend", "tpu"), "unknown backend 'tpu'"),
    (("--set", "loss_scale=dynamic"), "loss_scale=dynamic is not supported here"),
    (("--set", "export_formats=[AIR]"), "cannot export AIR"),
    (("--ranks", "0",), "argument --ranks: must be at least 1, got 0"),
    (("--ranks", "2", "--rank-table", "/tmp/t.json"), "--rank-table is for backends"),
    (("--ranks", "1000"), "--ranks 1000 puts 1000 ranks on this machine but backend 'cpu' can host"),
    (("--ranks", "2", "--nodes", "2", "--master-port", "8118"), "--nodes 2 needs --master-addr"),
    (("--cluster-timeout", "0"), "argument --cluster-timeout: must be at least 1, got 0"),
])
def test_user_mistakes_exit_2_with_one_line_and_leave_nothing(args, message, tmp_path):
    result = run_bench(*args, "--results", str(tmp_path / "results"), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert one_line(result.stderr)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").glob("*.json"))

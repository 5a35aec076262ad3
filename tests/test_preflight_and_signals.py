"""Inputs found wrong before anything is written; a failed --resume never costs the earlier record;
SIGTERM is handled as Ctrl-C is."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT, SHORT_DIGITS, one_line, run_bench
from googlenet_bench.harness.results.record import read_record

SMALL = ("--set", "min_top1=null", "--set", "train_samples=128", "--set", "eval_samples=64",
         "--set", "ckpt_every_epochs=1", "--set", "export_formats=[MINDIR]")


def assert_refused(result, message: str, results) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert one_line(result.stderr), result.stderr
    assert message in result.stderr, result.stderr
    assert not results.exists() or not any(results.iterdir()), list(results.iterdir())


def broken_copies(weights, tmp_path) -> dict:
    data = (weights).read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    cases = {"empty": b"", "random bytes": bytes(range(256)) * 64, "truncated": data[: len(data) // 3],
             "one flipped byte": bytes(flipped)}
    paths = {}
    for name, content in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.ckpt"
        path.write_bytes(content)
        paths[name] = path
    return paths


@pytest.mark.bad_input
@pytest.mark.parametrize("flag", ["--checkpoint", "--pretrained"])
@pytest.mark.parametrize("case", ["empty", "random bytes", "truncated", "one flipped byte"])
def test_a_broken_checkpoint_is_refused_before_anything_is_written(untrained_weights, tmp_path, flag, case):
    path = broken_copies(untrained_weights, tmp_path)[case]
    phases = ("--phases", "eval") if flag == "--checkpoint" else ()
    results = tmp_path / "results"
    result = run_bench(*SHORT_DIGITS, flag, str(path), *phases, "--results", str(results), timeout=120)
    assert_refused(result, f"error: {flag} checkpoint {path} is corrupt", results)


@pytest.mark.bad_input
@pytest.mark.parametrize("flag, fix", [("--checkpoint", "pass --set num_classes=10"),
                                       ("--pretrained", "--set transfer=true")])
def test_a_checkpoint_of_another_num_classes_names_the_fix_for_the_flag_given(untrained_weights, tmp_path, flag,
                                                                            fix):
    weights = str(untrained_weights)
    phases = ("--phases", "eval") if flag == "--checkpoint" else ()
    results = tmp_path / "results"
    result = run_bench(*SHORT_DIGITS, "--set", "num_classes=12", flag, weights, *phases, "--results", str(results),
                       timeout=120)
    assert_refused(result, "classifier.weight is (10, 1024) there but (12, 1024) here", results)
    assert fix in result.stderr and ("transfer" in result.stderr) == (flag == "--pretrained")


@pytest.mark.bad_input
@pytest.mark.parametrize("setting, message", [("batch_size=4096", "fewer than one batch of 4096: lower batch_size"),
                                              ("eval_batch_size=4096", "fewer than one batch of 4096")])
def test_a_batch_larger_than_the_data_is_refused_before_anything_is_written(tmp_path, setting, message):
    results = tmp_path / "results"
    result = run_bench("--set", setting, "--set", "eval_drop_remainder=true", "--results", str(results), timeout=120)
    assert_refused(result, message, results)


@pytest.mark.slow
@pytest.mark.bad_input
def test_resume_with_every_checkpoint_corrupt_is_refused_and_keeps_the_record(digits_run, tmp_path):
    import shutil

    run_id = digits_run["record"]["run_id"]
    shutil.copytree(digits_run["results"] / run_id, tmp_path / run_id)
    shutil.copy(digits_run["path"], tmp_path / f"{run_id}.json")
    before = (tmp_path / f"{run_id}.json").read_bytes()
    for removed in digits_run["record"]["figures"]["artifacts"]["removed"]:  # a success keeps none: put them back
        (tmp_path / run_id / removed["path"]).write_bytes(b"garbage")
    result = run_bench("--resume", str(tmp_path / run_id), timeout=120)
    assert result.returncode == 2 and one_line(result.stderr), result.stderr
    assert "no valid checkpoint" in result.stderr
    assert (tmp_path / f"{run_id}.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / run_id / "attempts").iterdir()) == ["1.json"]  # no new attempt


@pytest.mark.bad_input
def test_infer_from_a_format_the_backend_cannot_run_is_refused_not_recorded_as_done(tmp_path):
    model = tmp_path / "googlenet.air"
    model.write_bytes(b"not empty")
    results = tmp_path / "results"
    result = run_bench(*SHORT_DIGITS, "--phases", "infer", "--model", str(model), "--results", str(results),
                       timeout=120)
    assert_refused(result, "is AIR, which backend 'cpu' does not infer from: give a MINDIR or ONNX file", results)


def start(tmp_path, *args):
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), *SMALL, *args, "--results", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_event(tmp_path, text: str, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(tmp_path.glob("*/events.log"))
        if logs and text in logs[0].read_text():
            return
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the event log")


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.fault
def test_sigterm_mid_training_leaves_a_checkpoint_and_record_and_resumes(tmp_path):
    proc = start(tmp_path, "--set", "epochs=6", "--set", "ckpt_every_epochs=5")
    wait_for_event(tmp_path, '"epoch_stop", "value": 1', proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr[-2000:]  # 128 + SIGTERM
    record = read_record(next(tmp_path.glob("*.json")))
    saved = record["figures"]["checkpoint"]
    stopped_at = saved["at_step"]
    assert record["status"] == "aborted" and 2 <= stopped_at < 12 and Path(saved["path"]).is_file()
    run_dir = tmp_path / record["run_id"]
    resumed = run_bench("--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    record = read_record(tmp_path / f"{record['run_id']}.json")
    resumed = record["figures"]["resumed"]
    assert record["status"] == "success" and resumed["from_epoch"] * 2 + resumed["from_step_in_epoch"] == stopped_at
    assert record["figures"]["train"]["optimizer_steps"] == 12


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.fault
def test_a_killed_resume_keeps_the_earlier_record_and_each_attempt_keeps_its_account(tmp_path):
    proc = start(tmp_path, "--set", "epochs=6")
    wait_for_event(tmp_path, '"epoch_stop", "value": 2', proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=300)
    record_path = next(tmp_path.glob("*.json"))
    before = record_path.read_bytes()
    assert json.loads(before)["status"] == "aborted"
    run_dir = tmp_path / json.loads(before)["run_id"]
    # The resumed attempt is killed in training (a failed attempt's own account: test_validity).
    resumed = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "--resume", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_event(tmp_path, '"resume"', resumed)
    resumed.send_signal(signal.SIGKILL)
    resumed.wait()
    assert record_path.read_bytes() == before  # killed: the earlier record is intact
    # And the run can still be finished from it (keeping its checkpoints, which a success otherwise removes).
    finished = run_bench("--resume", str(run_dir), "--keep-checkpoints")
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert read_record(record_path)["status"] == "success"
    assert sorted(p.name for p in (run_dir / "attempts").iterdir()) == ["1.json", "2.json"]
    # ckpt_keep (2 for digits) holds across the prefixes the attempts saved under.
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))
    assert len(kept) == 2 and kept[-1].endswith("-6_2.ckpt"), kept

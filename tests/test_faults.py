"""Faults injected on purpose: divergence, Ctrl-C, a full or unwritable disk, concurrent runs.
In every one the result survives (or the error says where it went), never a traceback."""
import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import PROJECT_ROOT, SHORT_DIGITS, run_bench
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.record import RecordMoved, read_record, write_record

SMALL = ("--set", "min_top1=null", "--set", "train_samples=128", "--set", "eval_samples=64", "--set", "ckpt_every_epochs=1",
         "--set", "export_formats=[MINDIR]")


@pytest.mark.fault
@pytest.mark.slow
def test_diverging_loss_stops_within_an_epoch_and_keeps_the_last_good_checkpoint(tmp_path):
    import mindspore as ms

    # A constant lr of 1.0 on 2-step epochs reaches inf in epoch 8 here (seeded). The finite explosion
    # before it (11.9 after epoch 1) is test_validity's; a factor of 1000 leaves only the non-finite rule.
    result = run_bench(*SMALL, "--set", "lr_schedule=constant", "--set", "lr_init=1.0", "--set", "epochs=12",
                       "--set", "divergence_loss_factor=1000",
                       "--set", "ckpt_keep=20", "--results", str(tmp_path))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "training diverged" in result.stderr and "Traceback" not in result.stderr
    record = read_record(next(tmp_path.glob("*.json")))
    train = record["figures"]["train"]
    assert record["status"] == "diverged" and train["diverged_at_step"] > 0
    diverged_epoch = train["epochs"]
    assert diverged_epoch < 12 and train["diverged_at_step"] <= diverged_epoch * train["steps_per_epoch"]
    assert train["loss_per_epoch"][-1] in ("inf", "nan", "-inf")
    last_good = Path(train["last_good_checkpoint"])
    saved = sorted(last_good.parent.glob("*.ckpt"))
    assert last_good in saved and all(f"-{diverged_epoch}_" not in p.name for p in saved)
    params = ms.load_checkpoint(str(last_good), crc_check=True)
    assert all(np.isfinite(v.asnumpy()).all() for k, v in params.items() if k.startswith("classifier"))
    assert "weights" not in record["figures"] and "eval" not in record["figures"]


@pytest.mark.fault
@pytest.mark.slow
def test_ctrl_c_stops_at_a_step_with_a_record_and_a_checkpoint_and_resumes(tmp_path):
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), *SMALL, "--set", "epochs=6",
                             "--set", "ckpt_every_epochs=5", "--results", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        logs = list(tmp_path.glob("*/events.log"))
        if logs and '"epoch_stop", "value": 1' in logs[0].read_text():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "Traceback" not in stderr
    record = read_record(next(tmp_path.glob("*.json")))
    assert record["status"] == "aborted"
    saved = record["figures"]["checkpoint"]  # at the step the signal was taken (2 steps an epoch here)
    stopped_at = saved["at_step"]
    assert 2 <= stopped_at < 12 and Path(saved["path"]).is_file()
    run_dir = tmp_path / record["run_id"]
    assert f"--resume {run_dir}" in stderr
    resumed = run_bench("--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    record = read_record(tmp_path / f"{record['run_id']}.json")
    assert record["status"] == "success" and record["figures"]["train"]["optimizer_steps"] == 12
    resumed = record["figures"]["resumed"]
    assert resumed["from_epoch"] * 2 + resumed["from_step_in_epoch"] == stopped_at


@pytest.mark.fault
def test_a_record_that_cannot_be_written_goes_to_the_fallback_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("googlenet_bench.harness.results.record.fallback_record_dir", lambda: tmp_path / "fallback")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    record = {"schema": 1, "suite": "digits", "backend": "cpu", "status": "success", "config": {}, "environment": {},
              "figures": {}}
    with pytest.raises(RecordMoved) as info:
        write_record(blocker / "run.json", record)
    fallback = tmp_path / "fallback" / "run.json"
    assert str(fallback) in str(info.value) and "\n" not in str(info.value)
    assert read_record(fallback)["suite"] == "digits"


@pytest.mark.fault
def test_disk_full_while_writing_keeps_the_old_record_whole(tmp_path, monkeypatch):
    import googlenet_bench.harness.results.record as record_module

    target = tmp_path / "run.json"
    write_record(target, {"old": True})
    monkeypatch.setattr("googlenet_bench.harness.results.record.fallback_record_dir", lambda: tmp_path / "fallback")
    real_fsync = record_module.os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(record_module.os, "fsync", full_disk)
    with pytest.raises(BenchError, match="nor to"):
        write_record(target, {"new": True})
    monkeypatch.setattr(record_module.os, "fsync", real_fsync)
    assert json.loads(target.read_text()) == {"old": True}
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["run.json"]  # no half-written temporary left anywhere


@pytest.mark.fault
def test_too_little_disk_space_is_refused_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from googlenet_bench.harness.lifecycle.options import RunOptions
    from googlenet_bench.harness.lifecycle.plan import make_plan

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 10 ** 6, 10 ** 6))
    with pytest.raises(BenchError, match=r"has 1 MB free but this run writes about \d+ MB"):
        make_plan(RunOptions(results_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input
def test_unwritable_results_directory_is_refused_before_anything_starts(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_bench("--results", str(blocker / "results"), timeout=120)
    assert result.returncode == 2 and "is not writable" in result.stderr and "pass --results DIR" in result.stderr


@pytest.mark.heavy
@pytest.mark.fault
@pytest.mark.slow
def test_two_runs_at_once_into_one_results_directory_keep_both_records(tmp_path):
    command = [sys.executable, str(PROJECT_ROOT / "bench.py"), *SHORT_DIGITS, "--set", "export_formats=[MINDIR]",
               "--results", str(tmp_path)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for proc in (first, second):
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
    records = [read_record(path) for path in sorted(tmp_path.glob("*.json"))]
    assert len(records) == 2 and records[0]["run_id"] != records[1]["run_id"]
    for record in records:
        assert record["status"] == "success"
        assert Path(record["figures"]["checkpoint"]["path"]).parent.parent.name == record["run_id"]

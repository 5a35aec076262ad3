"""A full disk or a read-only results directory in the middle of a run (a real tmpfs, mounted as root;
skipped where mounting is not allowed): the run stops at the failing write with one line naming the path
and the errno, the newest good checkpoint is kept whole, MindSpore's own CRITICAL lines are held back, and
the record goes to the fallback directory when the run directory cannot take it, the console saying where."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import pytest

from conftest import PROJECT_ROOT, tmpfs
from googlenet_bench.harness.results.record import read_record

RUN = ("--set", "batch_size=8", "--set", "train_samples=128", "--set", "eval_every_epochs=null",
       "--set", "target_top1=null", "--set", "min_top1=null", "--set", "epochs=3", "--set", "ckpt_every_epochs=1",
       "--set", "ckpt_keep=1", "--phases", "train")


def start(results, tmp):
    env = {**os.environ, "TMPDIR": str(tmp)}  # the fallback records directory, off the small disk
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), *RUN, "--results", str(results)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, env=env)


def wait_for_checkpoint(results, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(results.glob("*/checkpoints/*-1_16.ckpt"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError("no checkpoint of epoch 1")


def fill(disk, leave_bytes: int) -> None:
    """Take the disk's free space, all but `leave_bytes`."""
    with open(disk / "filler", "wb") as handle:
        try:
            while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave_bytes + (1 << 20):
                handle.write(b"\0" * (1 << 20))
                handle.flush()
            while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave_bytes:
                handle.write(b"\0" * 4096)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.mark.slow
@pytest.mark.fault
def test_a_disk_full_at_a_checkpoint_stops_the_run_in_one_line_and_keeps_the_last_good_one(tmp_path):
    (tmp_path / "tmp").mkdir()
    with tmpfs(tmp_path / "disk", 300) as disk:
        results = disk / "results"
        proc = start(results, tmp_path / "tmp")
        good = wait_for_checkpoint(results, proc)
        time.sleep(0.5)  # the save is renamed into place whole; let the epoch's record lines through
        before = good.read_bytes()
        fill(disk, 256 * 1024)  # room for the event log's lines and the record, not for a checkpoint
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr[-2000:]
        assert "Traceback" not in stderr and "CRITICAL" not in stderr, stderr[-3000:]
        failure = [line for line in stderr.splitlines() if line.startswith("run failed:")]
        assert len(failure) == 1 and "ENOSPC" in failure[0] and str(results) in failure[0], stderr[-2000:]
        assert good.read_bytes() == before  # the newest good checkpoint, whole
        assert not list(results.glob("*/checkpoints/.partial/*"))
        record = read_record(next(results.glob("*.json")))
        assert record["status"] == "failed" and "ENOSPC" in record["error"]


@pytest.mark.slow
@pytest.mark.fault
def test_a_results_directory_gone_read_only_mid_run_sends_the_record_to_the_fallback(tmp_path):
    (tmp_path / "tmp").mkdir()
    with tmpfs(tmp_path / "disk", 300) as disk:
        results = disk / "results"
        proc = start(results, tmp_path / "tmp")
        wait_for_checkpoint(results, proc)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr[-2000:]
    assert "Traceback" not in stderr and "CRITICAL" not in stderr, stderr[-3000:]
    failure = [line for line in stderr.splitlines() if line.startswith("run failed:")]
    assert len(failure) == 1 and "EROFS" in failure[0], stderr[-2000:]
    fallback = list((tmp_path / "tmp" / "googlenet-bench-records").glob("*.json"))
    assert len(fallback) == 1 and str(fallback[0]) in stderr  # the console says where the record went
    record = read_record(fallback[0])
    assert record["status"] == "failed" and "EROFS" in record["error"]

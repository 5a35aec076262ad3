"""The interrupt policy (googlenet_bench.harness.interrupts) in every phase and command: the first SIGINT or
SIGTERM stops at the next safe point within --grace, with a mid-epoch checkpoint and an `aborted` record
when training; the exit status names the signal (130, 143); a resume from a mid-epoch checkpoint ends
with the parameters of an uninterrupted run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import PROJECT_ROOT, run_bench
from googlenet_bench.harness.results.record import read_record

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
# 16 steps an epoch, no evaluation while training: a step is a small share of an epoch.
LONG_EPOCH = ("--set", "batch_size=8", "--set", "train_samples=128", "--set", "eval_every_epochs=null",
              "--set", "target_top1=null", "--set", "min_top1=null", "--set", "eval_samples=64",
              "--set", "export_formats=[MINDIR]")


def start(results, *args):
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), *args, "--results", str(results)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)


def wait_for_event(results, text: str, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(results.glob("*/events.log"))
        if logs and text in logs[0].read_text():
            return
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the event log")


def stop(proc, sig) -> tuple[float, str]:
    """Send `sig`; the seconds to the process's exit, and its stderr."""
    sent = time.monotonic()
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    return time.monotonic() - sent, stderr


def weights(path):
    import mindspore as ms

    return {name: value.asnumpy() for name, value in ms.load_checkpoint(str(path)).items()}


@pytest.mark.slow
@pytest.mark.fault
def test_sigterm_mid_epoch_stops_at_a_step_and_the_resume_ends_where_an_uninterrupted_run_does(tmp_path):
    whole = run_bench(*LONG_EPOCH, "--set", "epochs=2", "--phases", "train", "--results", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    results = tmp_path / "stopped"
    proc = start(results, *LONG_EPOCH, "--set", "epochs=2", "--phases", "train", "--grace", "20")
    wait_for_event(results, '"epoch_stop", "value": 1', proc)
    time.sleep(0.5)  # a few steps into epoch 2
    seconds, stderr = stop(proc, signal.SIGTERM)
    print(f"signal-to-exit, training (SIGTERM, 16-step epochs): {seconds:.2f} s")
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr[-2000:]
    assert seconds < 20, seconds
    record = read_record(next(results.glob("*.json")))
    assert record["status"] == "aborted" and "SIGTERM" in record["error"]
    saved = record["figures"]["checkpoint"]
    assert 16 < saved["at_step"] < 32, saved  # in epoch 2, not at its end
    assert saved["path"].endswith(f"-2_{saved['at_step'] - 16}.ckpt")
    run_dir = results / record["run_id"]
    resumed = run_bench("--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"step {saved['at_step'] - 16} of epoch 2" in resumed.stderr
    record = read_record(results / f"{record['run_id']}.json")
    assert record["status"] == "success" and record["figures"]["train"]["optimizer_steps"] == 32
    assert record["figures"]["resumed"]["from_step_in_epoch"] == saved["at_step"] - 16
    expected = weights(next((tmp_path / "whole").glob("*/googlenet.ckpt")))
    got = weights(run_dir / "googlenet.ckpt")
    assert expected.keys() == got.keys()
    differing = [name for name in expected if not np.array_equal(expected[name], got[name])]
    assert not differing, differing[:5]


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase, event", [("eval", '"eval_accuracy"'), ("export", '"eval_accuracy"'),
                                          ("infer", '"infer_accuracy"')])
def test_a_signal_in_a_later_phase_stops_it_with_an_aborted_record(tmp_path, digits_run, sig, phase, event):
    """eval is stopped between batches, export between formats and before, infer between queries."""
    checkpoint = digits_run["path"].with_suffix("") / "googlenet.ckpt"
    phases = {"eval": "eval,export,infer", "export": "eval,export,infer", "infer": "eval,export,infer"}[phase]
    proc = start(tmp_path, "--set", "min_top1=null", "--set", "eval_samples=360", "--phases", phases,
                 "--checkpoint", str(checkpoint))
    wait_for_event(tmp_path, '"init_start"' if phase == "eval" else event, proc)  # MLPerf's run_start: training only
    if phase == "eval":
        time.sleep(2.0)
    seconds, stderr = stop(proc, sig)
    print(f"signal-to-exit, {phase} ({sig.name}): {seconds:.2f} s")
    assert proc.returncode == EXIT[sig] and "Traceback" not in stderr, stderr[-2000:]
    assert seconds < 30
    record = read_record(next(tmp_path.glob("*.json")))
    assert record["status"] == "aborted", record["status"]


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.fault
def test_sigterm_to_the_parent_of_a_2_rank_run_stops_rank_0_with_a_checkpoint_and_an_aborted_record(tmp_path):
    proc = start(tmp_path, *LONG_EPOCH, "--set", "epochs=4", "--phases", "train", "--ranks", "2")
    wait_for_event(tmp_path, '"epoch_stop", "value": 1', proc, timeout=600)
    seconds, stderr = stop(proc, signal.SIGTERM)
    print(f"signal-to-exit, 2-rank parent (SIGTERM): {seconds:.2f} s")
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr[-2000:]
    assert seconds < 30
    record = read_record(next(tmp_path.glob("*.json")))
    assert record["status"] == "aborted", record["error"]
    saved = record["figures"]["checkpoint"]  # rank 0's, collected by the parent
    assert 8 <= saved["at_step"] < 32 and Path(saved["path"]).is_file(), saved  # 8 steps an epoch on each rank
    time.sleep(1)
    survivors = subprocess.run(["pgrep", "-f", record["run_id"]], capture_output=True, text=True).stdout.split()
    assert survivors == []


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_tune_stops_its_candidate_and_writes_no_profile(tmp_path, sig, private_cache):
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "tune", "--steps", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    time.sleep(8)  # into its first candidate's training
    seconds, stderr = stop(proc, sig)
    print(f"signal-to-exit, tune ({sig.name}): {seconds:.2f} s")
    assert proc.returncode == EXIT[sig] and "Traceback" not in stderr, stderr[-2000:]
    assert seconds < 30 and f"stopped by {sig.name}" in stderr
    assert not list(private_cache.glob("tune/*.json"))


@pytest.mark.slow
@pytest.mark.fault
def test_past_the_grace_period_the_run_exits_with_an_aborted_record(tmp_path):
    """A signal while the first step compiles (several seconds here): no step boundary comes within --grace 4.5,
    so the watcher writes the record of what is known and exits, in about the grace period."""
    proc = start(tmp_path, *LONG_EPOCH, "--set", "epochs=2", "--phases", "train", "--grace", "4.5")
    wait_for_event(tmp_path, '"run_start"', proc)  # MLPerf's run_start: the training begins
    seconds, stderr = stop(proc, signal.SIGTERM)
    print(f"signal-to-exit, grace 4.5 s during the first step's compile (SIGTERM): {seconds:.2f} s")
    assert proc.returncode == 143 and "the grace period of 4.5 s is over" in stderr, stderr[-2000:]
    assert 3 <= seconds < 6
    record = read_record(next(tmp_path.glob("*.json")))
    assert record["status"] == "aborted" and "SIGTERM" in record["error"]


@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_publish_leaves_no_half_site(tmp_path, sig):
    """A command that does not train stops at once; its writes are whole or absent."""
    record = (Path(__file__).resolve().parent / "data" / "digits-cpu-full-record.json").read_text()
    results = tmp_path / "results"
    results.mkdir()
    for number in range(1500):  # enough runs that the site takes a while to write
        (results / f"run-{number:03d}.json").write_text(record.replace('"run_id": "', f'"run_id": "{number}-', 1))
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "publish", str(results),
                             "--to", str(tmp_path / "site")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".site.publishing-*")) and time.monotonic() < deadline:
        time.sleep(0.01)  # the site is being written
    assert proc.poll() is None, "publish finished before the signal: give it more runs"
    seconds, stderr = stop(proc, sig)
    print(f"signal-to-exit, publish ({sig.name}): {seconds:.2f} s")
    assert proc.returncode == EXIT[sig] and f"stopped by {sig.name}" in stderr and "Traceback" not in stderr, stderr
    assert seconds < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no site, no staging folder


@pytest.mark.slow
@pytest.mark.fault
def test_sigterm_to_ab_alone_stops_its_run_and_leaves_no_process_or_folder(tmp_path):
    """Only `bench.py ab` gets the signal (as from `kill PID`): it passes it on to the timed run it started,
    waits for it, and exits 143 with no comparison, no process and no temporary folder left."""
    import psutil

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # Runs of 40 epochs: far longer than the grace period, so only a signal passed on ends the run in time.
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "ab", "--base", "HEAD", "--set", "epochs=40",
                             "--results", str(tmp_path / "results")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=PROJECT_ROOT, env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 120
    while not psutil.Process(proc.pid).children() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.2)
    run = psutil.Process(proc.pid).children()[0]
    time.sleep(5)  # into the first run's training
    seconds, stderr = stop(proc, signal.SIGTERM)
    print(f"signal-to-exit, ab (SIGTERM to ab alone): {seconds:.2f} s")
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr[-2000:]
    assert seconds < 20 and "stopped by SIGTERM; no comparison written" in stderr
    assert not run.is_running()
    assert not list((tmp_path / "results").glob("ab-*.json")) and not list(scratch.iterdir())

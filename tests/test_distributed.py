"""Multi-rank runs through msrun, for real, with 2 CPU ranks."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT, SHORT_DIGITS

pytestmark = pytest.mark.slow


def test_two_ranks_train_in_sync_on_different_data_and_write_one_record(tmp_path):
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench.py"), "--ranks", "2", *SHORT_DIGITS,
                             "--keep-checkpoints", "--results", str(tmp_path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    records = list(tmp_path.glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    figures = record["figures"]
    assert record["status"] == "success"
    assert figures["train"]["ranks"] == 2 and figures["train"]["global_batch"] == 128
    ranks = figures["ranks"]
    assert [r["rank"] for r in ranks["per_rank"]] == [0, 1]
    assert ranks["parameters_identical"] is True
    first_batches = {r["first_batch_sha256"] for r in ranks["per_rank"]}
    assert len(first_batches) == 2  # each rank saw its own shard
    assert all(ms > 0 for ms in ranks["ms_per_step_per_rank"])
    assert figures["launch"]["launcher"] == "msrun" and "--worker_num=2" in figures["launch"]["commands"][0]
    run_dir = tmp_path / record["run_id"]
    assert (run_dir / "logs" / "worker_0.log").exists() and (run_dir / "logs" / "worker_1.log").exists()
    # Only rank 0 saves checkpoints (kept: a success removes them otherwise).
    assert len(list((run_dir / "checkpoints").glob("*.ckpt"))) >= 1
    assert "cpu x2" in result.stdout


@pytest.mark.fault
def test_a_killed_rank_ends_the_run_quickly_with_its_log_named(tmp_path):
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "--ranks", "2", *SHORT_DIGITS,
                             "--set", "epochs=50", "--results", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    pid_files = []
    while time.monotonic() < deadline and not pid_files:
        pid_files = list(tmp_path.glob("*/ranks/rank_1.pid"))
        time.sleep(0.2)
    assert pid_files, "rank 1 never started"
    time.sleep(8)  # let it get into init/training
    os.kill(int(pid_files[0].read_text()), signal.SIGKILL)
    killed_at = time.monotonic()
    stdout, stderr = proc.communicate(timeout=120)
    assert time.monotonic() - killed_at < 60
    assert proc.returncode == 1
    assert "rank 1 died; see its log" in stderr and "worker_1.log" in stderr and "Traceback" not in stderr
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["status"] == "failed" and "rank 1" in record["error"]
    # No rank process is left behind.
    time.sleep(1)
    survivors = subprocess.run(["pgrep", "-f", record["run_id"]], capture_output=True, text=True).stdout.split()
    assert survivors == []


def _descendants(root: int) -> set[int]:
    """Every process below `root`, from the parent pids in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.fault
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_no_rank_or_msrun_outlives_a_killed_parent(tmp_path, sig):
    with open(tmp_path / "parent.log", "wb") as log:
        parent = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bench.py"), "--ranks", "2", *SHORT_DIGITS,
                                   "--set", "epochs=50", "--results", str(tmp_path / "results")],
                                  stdout=log, stderr=subprocess.STDOUT)
    below: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        pid_files = []
        while time.monotonic() < deadline and len(pid_files) < 2:
            pid_files = list((tmp_path / "results").glob("*/ranks/rank_*.pid"))
            time.sleep(0.2)
        assert len(pid_files) == 2, (tmp_path / "parent.log").read_text()[-3000:]
        rank_pids = {int(path.read_text()) for path in pid_files}
        below = _descendants(parent.pid)
        msrun = [pid for pid in below if any(Path(word).name == "msrun" for word in _command(pid).split()[:2])]
        assert rank_pids <= below and len(msrun) == 1
        parent.send_signal(sig)
        parent.wait(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_running(pid) for pid in below):
            time.sleep(0.2)
        survivors = [f"{pid}: {_command(pid)[:120]}" for pid in below if _running(pid)]
        assert survivors == []
    finally:
        for pid in [parent.pid, *below]:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        parent.wait()


@pytest.mark.bad_input
def test_taken_master_port_is_refused_before_anything_starts(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench.py"), "--ranks", "2",
                                 "--master-port", str(port), "--results", str(tmp_path)],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"--master-port {port} is already in use" in result.stderr
    assert list(tmp_path.iterdir()) == []

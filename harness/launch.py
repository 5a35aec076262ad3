"""Starting N ranks: launchers build the processes, the supervisor runs and watches them.

Every launcher gives each rank the environment MindSpore's own launcher sets:
RANK_ID, RANK_SIZE and DEVICE_ID (the local device), which `RankInfo.from_env`
reads in the worker.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BenchError, RunFailed
from harness.interrupts import unblock_in_child
from harness.plugins import RankInfo

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class NodeSpec:
    """Where this machine stands in a (possibly multi-machine) job."""

    nodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    cluster_timeout_s: int = 120


@dataclass(frozen=True)
class LaunchRequest:
    """What the user asked for: --ranks, --nodes/--node-rank/--master-addr/--master-port, --rank-table."""

    ranks: int
    node: NodeSpec = NodeSpec()
    rank_table: str | None = None


@dataclass
class ProcessSpec:
    """One process to start: a rank itself, or a launcher that starts several ranks."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    ranks: list[int]
    rank_logs: dict[int, Path] = field(default_factory=dict)


def rank_from_env() -> RankInfo:
    return RankInfo(rank=int(os.environ.get("RANK_ID", 0)),
                    local_rank=int(os.environ.get("DEVICE_ID", os.environ.get("RANK_ID", 0))),
                    world_size=int(os.environ.get("RANK_SIZE", 1)))


def is_msrun_scheduler() -> bool:
    """msrun runs the script once more as its scheduler; that process only serves init()."""
    return os.environ.get("MS_ROLE") == "MS_SCHED"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host in ("127.0.0.1", "localhost", "0.0.0.0") else "0.0.0.0", port))
        except OSError:
            raise BenchError(f"--master-port {port} is already in use on this machine: choose another "
                             "port, or leave --master-port out to take a free one") from None


def interpreter_env() -> dict[str, str]:
    # msrun starts "python script.py" from PATH: put this interpreter first.
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


class MsrunLauncher:
    """MindSpore's own launcher: one msrun per machine starts that machine's ranks."""

    name = "msrun"

    def processes(self, worker_argv: list[str], launch: LaunchRequest, log_dir: Path) -> list[ProcessSpec]:
        ranks, node = launch.ranks, launch.node
        if launch.rank_table:
            raise BenchError("--rank-table is for backends that start ranks from a rank table (ascend); "
                             "this backend starts them with msrun: leave --rank-table out")
        if ranks % node.nodes:
            raise BenchError(f"--ranks {ranks} does not divide over --nodes {node.nodes}: give a multiple")
        msrun = shutil.which("msrun", path=str(Path(sys.executable).parent)) or shutil.which("msrun")
        if msrun is None:
            raise BenchError("msrun (MindSpore's launcher) is not on PATH: reinstall mindspore in this environment")
        local = ranks // node.nodes
        port = node.master_port
        if port is None:
            if node.nodes > 1:
                raise BenchError("a multi-machine run needs --master-port (the same on every machine)")
            port = free_port()
        elif node.node_rank == 0:
            check_port_free(node.master_addr, port)
        first = node.node_rank * local
        argv = [msrun, f"--worker_num={ranks}", f"--local_worker_num={local}",
                f"--master_addr={node.master_addr}", f"--master_port={port}", f"--node_rank={node.node_rank}",
                f"--log_dir={log_dir}", "--join=True", f"--cluster_time_out={node.cluster_timeout_s}",
                *worker_argv]
        ranks_here = list(range(first, first + local))
        return [ProcessSpec(argv=argv, env=interpreter_env(), log=log_dir / "msrun.log", ranks=ranks_here,
                            rank_logs={r: log_dir / f"worker_{r}.log" for r in ranks_here})]


def supervise(processes: list[ProcessSpec], status_dir: Path, timeout_s: float | None = None) -> None:
    """Run the processes until all exit; end everything as soon as one rank dies.

    Each rank writes `status_dir/rank_<r>.pid` when it starts and `rank_<r>.done`
    when it finished cleanly; a rank whose process is gone without `.done`
    has died, whatever its launcher is still doing.
    """
    status_dir.mkdir(parents=True, exist_ok=True)
    running: list[tuple[ProcessSpec, subprocess.Popen]] = []
    for spec in processes:
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log, "ab") as log:
            proc = subprocess.Popen(spec.argv, env={**os.environ, **spec.env}, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=unblock_in_child)
        running.append((spec, proc))
    started = time.monotonic()
    try:
        while True:
            try:
                failed = _first_dead_rank(running, status_dir)
            except RunFailed:
                _stop_all(running, status_dir)
                raise
            if failed is not None:
                _stop_all(running, status_dir)
                rank, log = failed
                raise RunFailed(f"rank {rank} died; see its log {log}")
            if all(proc.poll() is not None for _, proc in running):
                return
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                _stop_all(running, status_dir)
                raise RunFailed(f"the ranks did not finish within {timeout_s:.0f} s; logs in {status_dir.parent}")
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        _stop_all(running, status_dir)
        raise


def last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""


def _first_dead_rank(running, status_dir: Path) -> tuple[int, Path] | None:
    for spec, proc in running:
        code = proc.poll()
        started = any((status_dir / f"rank_{rank}.pid").exists() for rank in spec.ranks)
        if code is not None and code != 0 and not started:
            raise RunFailed(f"the launcher ({Path(spec.argv[0]).name}) exited with {code} before any rank started: "
                            f"{last_line(spec.log)} (log {spec.log})")
        for rank in spec.ranks:
            if (status_dir / f"rank_{rank}.done").exists():
                continue
            pid_file = status_dir / f"rank_{rank}.pid"
            gone = code is not None
            if not gone and pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text() or 0), 0)
                except (ProcessLookupError, ValueError):
                    gone = True
            if gone:
                return rank, spec.rank_logs.get(rank, spec.log)
    return None


def _signal_group(pid: int, sig: int) -> None:
    try:
        group = os.getpgid(pid)
        if group != os.getpgrp():
            os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_all(running, status_dir: Path, grace_s: float = 5.0) -> None:
    # A launcher may put its ranks in process groups of their own (msrun does): stop both.
    rank_pids = []
    for pid_file in status_dir.glob("rank_*.pid"):
        try:
            rank_pids.append(int(pid_file.read_text()))
        except ValueError:
            continue
    for pid in rank_pids:
        _signal_group(pid, signal.SIGKILL)
    for _, proc in running:
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for _, proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

"""Starting N ranks: the launch request, and the launchers that turn it into processes.

A launcher builds the processes of this machine's ranks (msrun here; a backend may answer with its
own, as the Ascend rank table does); the parent in `harness/lifecycle/ranks.py` starts and watches
them. Every launcher gives each rank the environment MindSpore's own launcher sets: RANK_ID,
RANK_SIZE and DEVICE_ID (the local device), which `rank_from_env` reads in the rank.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.types import RankInfo

# How long msrun (or HCCL, with a rank table) waits for every rank to join. The parent surveys the
# data once before the ranks start, so this covers start-up only; slow shared disks and large
# clusters need the margin.
DEFAULT_CLUSTER_TIMEOUT_S = 600


@dataclass(frozen=True)
class NodeSpec:
    """Where this machine stands in a (possibly multi-machine) job."""

    nodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None  # node 0's address; None: this machine (one node only)
    master_port: int | None = None
    cluster_timeout_s: int = DEFAULT_CLUSTER_TIMEOUT_S

    @property
    def master(self) -> str:
        return self.master_addr or "127.0.0.1"

    @property
    def writes_record(self) -> bool:
        """Node 0 writes the run's record; the other nodes only run their ranks."""
        return self.node_rank == 0


@dataclass(frozen=True)
class LaunchRequest:
    """What the user asked for: --ranks, --nodes/--node-rank/--master-addr/--master-port, --rank-table.

    `ranks` is the whole job's rank count (msrun's worker_num), the same on every node;
    each node starts ranks // nodes of them."""

    ranks: int
    node: NodeSpec = NodeSpec()
    rank_table: str | None = None

    @property
    def ranks_here(self) -> int:
        return self.ranks // self.node.nodes


@dataclass
class ProcessSpec:
    """One process to start: a rank itself, or a launcher that starts several ranks."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    ranks: list[int]
    rank_logs: dict[int, Path] = field(default_factory=dict)


def rank_from_env(local_world_size: int = 1) -> RankInfo:
    """This rank, from the environment its launcher set; `local_world_size`: the ranks on this machine."""
    return RankInfo(rank=int(os.environ.get("RANK_ID", 0)),
                    local_rank=int(os.environ.get("DEVICE_ID", os.environ.get("RANK_ID", 0))),
                    world_size=int(os.environ.get("RANK_SIZE", 1)), local_world_size=local_world_size)


def is_msrun_scheduler() -> bool:
    """msrun runs the script once more as its scheduler; that process only serves init()."""
    return os.environ.get("MS_ROLE") == "MS_SCHED"


def serves_as_scheduler(node_rank: int) -> bool:
    """msrun starts a scheduler on every node whose --master_addr is a local address (several
    nodes on one machine, as in the tests): only node 0's serves; the others' exit at once."""
    return node_rank == 0


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
    # msrun starts its task ("python ...") from PATH: put this interpreter first.
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def msrun_interpreter() -> str:
    """The interpreter name msrun runs as given (it accepts "python" and "python3" only): this one's."""
    return "python3" if Path(sys.executable).name.startswith("python3") else "python"


class MsrunLauncher:
    """MindSpore's own launcher: one msrun per machine starts that machine's ranks."""

    name = "msrun"

    def processes(self, worker_argv: list[str], launch: LaunchRequest, log_dir: Path) -> list[ProcessSpec]:
        ranks, node = launch.ranks, launch.node
        if launch.rank_table:
            raise BenchError("--rank-table is for backends whose launcher starts ranks from a rank table; "
                             "this backend starts them with msrun: leave --rank-table out")
        if node.nodes > 1 and not node.master_addr:
            # msrun starts a scheduler on each node whose master address is local: each would wait alone.
            raise BenchError(f"--nodes {node.nodes} needs --master-addr: the address of node 0, "
                             "the same on every machine")
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
            check_port_free(node.master, port)
        first = node.node_rank * local
        argv = [msrun, f"--worker_num={ranks}", f"--local_worker_num={local}",
                f"--master_addr={node.master}", f"--master_port={port}", f"--node_rank={node.node_rank}",
                f"--log_dir={log_dir}", "--join=True", f"--cluster_time_out={node.cluster_timeout_s}",
                # No rank has this id, so msrun starts no `tail -f` copies of the worker logs
                # (each rank logs to its own file): they would outlive a killed msrun.
                f"--tail_worker_log={ranks}", msrun_interpreter(), *worker_argv]
        ranks_here = list(range(first, first + local))
        return [ProcessSpec(argv=argv, env=interpreter_env(), log=log_dir / "msrun.log", ranks=ranks_here,
                            rank_logs={r: log_dir / f"worker_{r}.log" for r in ranks_here})]

"""The zoo's rank-table way of starting Ascend ranks: one process per device of this server.

An HCCL rank table (the zoo's hccl_tools.py writes one) lists every server and its devices:

    {"version": "1.0", "server_count": "1", "status": "completed",
     "server_list": [{"server_id": "10.0.0.1", "host_nic_ip": "reserve",
                      "device": [{"device_id": "0", "device_ip": "192.1.27.6", "rank_id": "0"}, ...]}]}

Each process gets RANK_TABLE_FILE (absolute), RANK_ID and DEVICE_ID from its entry, and
RANK_SIZE, as the zoo's scripts/run_distribute_train.sh exports them. On several machines,
this machine's server is the one whose devices hold this node's ranks (--node-rank K of
--nodes M holds ranks K*N/M .. (K+1)*N/M-1).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.launch import LaunchRequest, ProcessSpec

TABLE_KEYS = ("version", "server_count", "server_list", "status")
SERVER_KEYS = ("server_id", "device")
DEVICE_KEYS = ("device_id", "device_ip", "rank_id")
REGENERATE = "regenerate it with the zoo's hccl_tools.py"


@dataclass(frozen=True)
class Device:
    device_id: int
    rank_id: int


@dataclass(frozen=True)
class Server:
    server_id: str
    devices: tuple[Device, ...]


@dataclass(frozen=True)
class RankTable:
    path: Path
    servers: tuple[Server, ...]

    @property
    def size(self) -> int:
        return sum(len(server.devices) for server in self.servers)


def _bad(path: Path, problem: str) -> BenchError:
    return BenchError(f"rank table {path}: {problem}")


def _require_keys(path: Path, entry, keys: tuple[str, ...], where: str, holder: str) -> None:
    if not isinstance(entry, dict):
        raise _bad(path, f"{where} must be a JSON object, got {type(entry).__name__}; {REGENERATE}")
    missing = [key for key in keys if key not in entry]
    if missing:
        raise _bad(path, f"{where} lacks {', '.join(map(repr, missing))} ({holder} has {', '.join(keys)}); "
                         f"{REGENERATE}")


def _number(path: Path, value, where: str) -> int:
    # HCCL writes numbers as strings ("0"); accept plain integers too.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _bad(path, f"{where} must be a non-negative number, got {value!r}")


def load_rank_table(path_text: str | Path) -> RankTable:
    """Read and check an HCCL rank table on its own; raise a one-line BenchError for a bad one."""
    path = Path(path_text).expanduser().resolve()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"rank table {path} not found: pass --rank-table with the HCCL rank-table JSON file") from None
    except IsADirectoryError:
        raise BenchError(f"rank table {path} is a directory: pass --rank-table with the JSON file itself") from None
    except OSError as exc:
        raise BenchError(f"rank table {path} cannot be read ({exc.strerror}): check the file's permissions") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" ({exc.msg} at line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise _bad(path, f"not JSON{where}; give the HCCL rank-table file") from None
    _require_keys(path, raw, TABLE_KEYS, "the table", "an HCCL rank table")
    if raw["status"] != "completed":
        raise _bad(path, f"status is {raw['status']!r}, not 'completed': the table is unfinished; {REGENERATE}")
    if not isinstance(raw["server_list"], list) or not raw["server_list"]:
        raise _bad(path, f"server_list must be a non-empty list of servers; {REGENERATE}")
    declared = _number(path, raw["server_count"], "server_count")
    if declared != len(raw["server_list"]):
        raise _bad(path, f"server_count is {declared} but server_list has {len(raw['server_list'])} server(s): "
                         "make them agree")
    servers = []
    for s, server in enumerate(raw["server_list"]):
        _require_keys(path, server, SERVER_KEYS, f"server_list[{s}]", "each server")
        if not isinstance(server["device"], list) or not server["device"]:
            raise _bad(path, f"server_list[{s}].device must be a non-empty list of devices; {REGENERATE}")
        devices = []
        for d, device in enumerate(server["device"]):
            where = f"server_list[{s}].device[{d}]"
            _require_keys(path, device, DEVICE_KEYS, where, "each device")
            devices.append(Device(device_id=_number(path, device["device_id"], f"{where}.device_id"),
                                  rank_id=_number(path, device["rank_id"], f"{where}.rank_id")))
        ids = [device.device_id for device in devices]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise _bad(path, f"server {server['server_id']} lists device_id {twice[0]} more than once: "
                             "each device appears once per server")
        servers.append(Server(server_id=str(server["server_id"]), devices=tuple(devices)))
    table = RankTable(path=path, servers=tuple(servers))
    _check_rank_ids(table)
    return table


def _check_rank_ids(table: RankTable) -> None:
    ranks = [device.rank_id for server in table.servers for device in server.devices]
    twice = sorted({r for r in ranks if ranks.count(r) > 1})
    if twice:
        raise _bad(table.path, f"rank_id {twice[0]} appears more than once: rank ids must be 0..{len(ranks) - 1}, "
                               "each once")
    outside = sorted(set(ranks) - set(range(len(ranks))))
    if outside:
        missing = sorted(set(range(len(ranks))) - set(ranks))
        raise _bad(table.path, f"rank_id {outside[0]} is outside 0..{len(ranks) - 1} (rank {missing[0]} is missing): "
                               "rank ids must be 0..N-1 for N devices")


def this_server(table: RankTable, launch: LaunchRequest) -> Server:
    """Check the table against --ranks/--nodes/--node-rank; the server this machine is."""
    node = launch.node
    if table.size != launch.ranks:
        raise _bad(table.path, f"lists {table.size} device(s) but --ranks is {launch.ranks}: "
                               f"pass --ranks {table.size} or a table for {launch.ranks} devices")
    if len(table.servers) != node.nodes:
        raise _bad(table.path, f"lists {len(table.servers)} server(s) but --nodes is {node.nodes}: "
                               f"pass --nodes {len(table.servers)} and this machine's --node-rank")
    counts = sorted({len(server.devices) for server in table.servers})
    if len(counts) > 1:
        raise _bad(table.path, f"its servers list different numbers of devices ({', '.join(map(str, counts))}): "
                               "data-parallel ranks need the same number on every server")
    local = launch.ranks // node.nodes
    wanted = set(range(node.node_rank * local, (node.node_rank + 1) * local))
    for server in table.servers:
        if {device.rank_id for device in server.devices} == wanted:
            return server
    raise _bad(table.path, f"no server holds ranks {min(wanted)}..{max(wanted)} (this machine is --node-rank "
                           f"{node.node_rank} of {node.nodes}): give each server {local} devices with consecutive "
                           "rank ids, or check --node-rank")


class RankTableLauncher:
    """One process per device of this server, each told its place by environment variables."""

    name = "rank-table"

    def processes(self, worker_argv: list[str], launch: LaunchRequest, log_dir: Path) -> list[ProcessSpec]:
        table = load_rank_table(launch.rank_table)
        server = this_server(table, launch)
        specs = []
        for device in sorted(server.devices, key=lambda device: device.rank_id):
            log = log_dir / f"rank_{device.rank_id}.log"
            # --cluster-timeout, as HCCL's wait for every rank to connect (MindSpore's own default: 600 s).
            env = {"RANK_TABLE_FILE": str(table.path), "RANK_ID": str(device.rank_id),
                   "DEVICE_ID": str(device.device_id), "RANK_SIZE": str(table.size),
                   "HCCL_CONNECT_TIMEOUT": str(launch.node.cluster_timeout_s)}
            specs.append(ProcessSpec(argv=[sys.executable, *worker_argv], env=env, log=log,
                                     ranks=[device.rank_id], rank_logs={device.rank_id: log}))
        return specs

"""The Ascend 910 backend, tested up to the hardware boundary: this machine has no NPU.

What runs for real: the availability probe and the refusal (no /dev/davinci*,
no CANN), the AMP and loss-scale choice per suite, the launcher choice, and the
rank-table launcher (table checks, and the argv and environment of every rank
process it would start; nothing is started). What is recorded instead of
applied: the calls into MindSpore's context, checked against MindSpore's own
argument checks.
"""
import json
import re
import sys
from pathlib import Path

import pytest

from googlenet_bench.backends import ascend
from googlenet_bench.backends.ascend.rank_table import RankTableLauncher, load_rank_table
from googlenet_bench.harness import kit
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.launch import LaunchRequest, MsrunLauncher, NodeSpec
from googlenet_bench.harness.plugins import Backends
from googlenet_bench.harness.training.builder import loss_scale_manager
from googlenet_bench.harness.types import RankInfo
from googlenet_bench.harness.suites import load_suite
from plugins.mindspore_api import Recorder, communication_init_problems, set_context_problems, set_device_problems

WORKER_ARGV = ["-m", "googlenet_bench", "--worker", "--suite", "imagenet-full", "--backend", "ascend"]


@pytest.fixture
def backend():
    return Backends().select("ascend")


@pytest.fixture
def npu_present(monkeypatch):
    """The device probe answers as on an Ascend server; MindSpore's calls are recorded."""
    import mindspore

    monkeypatch.setattr(ascend, "device_problem", lambda: None)
    calls = {"set_context": Recorder(), "set_device": Recorder()}
    monkeypatch.setattr(mindspore, "set_context", calls["set_context"])
    monkeypatch.setattr(mindspore, "set_device", calls["set_device"])
    monkeypatch.delenv("DEVICE_ID", raising=False)
    monkeypatch.delenv("RANK_TABLE_FILE", raising=False)
    return calls


# -- availability and device set-up ------------------------------------------------

NPU_HERE = ascend.bench_available().ok
absent_device_only = pytest.mark.skipif(NPU_HERE, reason="an Ascend NPU is present on this machine")


@absent_device_only
def test_ascend_is_refused_here_naming_the_missing_device_and_cann(backend):
    availability = backend.available()
    assert not availability.ok
    assert "no Ascend NPU device" in availability.reason and "CANN" in availability.reason
    assert "\n" not in availability.reason


@absent_device_only
def test_device_setup_refuses_without_a_device_in_one_line():
    # No stand-in: this machine really has no /dev/davinci*.
    with pytest.raises(BenchError, match=r"^Ascend rank 0: no Ascend NPU device \(/dev/davinci"):
        ascend.bench_device_setup(config=load_suite("imagenet-full"), rank=RankInfo())


def test_device_setup_uses_the_local_rank_under_msrun(backend, npu_present):
    import mindspore

    applied = backend.device_setup(load_suite("imagenet-full"), RankInfo(rank=5, local_rank=5, world_size=8))
    assert npu_present["set_device"].calls == [(("Ascend", 5), {})]
    assert npu_present["set_context"].calls == [((), {"mode": mindspore.GRAPH_MODE})]
    assert applied == {"mode": "GRAPH", "device_target": "Ascend", "device_id": 5}


def test_device_setup_takes_device_id_and_rank_table_from_the_rank_table_launch(npu_present, monkeypatch):
    monkeypatch.setenv("DEVICE_ID", "6")
    monkeypatch.setenv("RANK_TABLE_FILE", "/etc/hccl_8p.json")
    applied = ascend.bench_device_setup(config=load_suite("imagenet-full"),
                                        rank=RankInfo(rank=2, local_rank=2, world_size=8))
    assert npu_present["set_device"].calls == [(("Ascend", 6), {})]
    assert applied["device_id"] == 6 and applied["rank_table"] == "/etc/hccl_8p.json"


def test_every_context_argument_is_one_mindspore_accepts(npu_present):
    ascend.bench_device_setup(config=load_suite("imagenet-full"), rank=RankInfo(rank=1, local_rank=1, world_size=2))
    for args, kwargs in npu_present["set_context"].calls:
        assert not args and set_context_problems(kwargs) == []
    for args, kwargs in npu_present["set_device"].calls:
        assert set_device_problems(args, kwargs) == []


# -- mixed precision -----------------------------------------------------------------

def test_amp_is_o2_without_loss_scale_for_cifar10(backend):
    amp = backend.amp(load_suite("cifar10-full"))
    assert (amp.level, amp.keep_batchnorm_fp32, amp.loss_scale, amp.optimizer_loss_scale) == ("O2", False, "none", 1.0)
    assert loss_scale_manager(amp) is None  # passed to Model explicitly: left out, O2 would scale dynamically


def test_amp_is_o2_with_the_zoos_fixed_loss_scale_1024_for_imagenet(backend):
    from mindspore.train import FixedLossScaleManager

    amp = backend.amp(load_suite("imagenet-full"))
    manager = loss_scale_manager(amp)
    assert amp.level == "O2" and amp.loss_scale == "fixed" and isinstance(manager, FixedLossScaleManager)
    assert (manager.get_loss_scale(), manager.get_drop_overflow_update()) == (1024, False)
    assert amp.optimizer_loss_scale == 1024  # the zoo's Momentum(loss_scale=1024) divides the gradients back


def test_amp_dynamic_loss_scale_is_the_zoos_65536_factor_2_window_2000(backend):
    from mindspore.train import DynamicLossScaleManager

    amp = backend.amp(load_suite("imagenet-full", ["loss_scale=dynamic"]))
    manager = loss_scale_manager(amp)
    assert amp.optimizer_loss_scale == 1.0  # the dynamic manager unscales; the optimizer must not
    assert isinstance(manager, DynamicLossScaleManager)
    assert (manager.get_loss_scale(), manager.scale_factor, manager.scale_window) == (65536, 2, 2000)


def test_exports_mindir_and_onnx_and_air_only_with_ge_or_when_asked(backend, monkeypatch):
    from googlenet_bench.backends import ascend

    monkeypatch.setattr(ascend, "ge_present", lambda: False)
    assert backend.export_formats({}) == ["MINDIR", "ONNX"]
    assert backend.export_formats({"export_formats": ["MINDIR", "AIR"]}) == ["MINDIR", "ONNX", "AIR"]
    monkeypatch.setattr(ascend, "ge_present", lambda: True)
    assert backend.export_formats({}) == ["MINDIR", "ONNX", "AIR"]


# -- distributed start -------------------------------------------------------------------

def test_distributed_init_asks_the_shared_data_parallel_start_for_hccl(backend, monkeypatch):
    start = Recorder()
    monkeypatch.setattr(kit, "start_data_parallel", start)
    rank = RankInfo(rank=3, local_rank=3, world_size=8)
    assert backend.distributed_init({}, rank) == "hccl"
    assert start.calls == [((rank,), {"backend_name": "hccl"})]
    assert communication_init_problems(("hccl",), {}) == []


def test_without_a_rank_table_msrun_starts_the_ranks(backend):
    assert isinstance(backend.launcher({}, LaunchRequest(ranks=8)), MsrunLauncher)


def test_with_a_rank_table_the_rank_table_launcher_starts_them(backend, tmp_path):
    launcher = backend.launcher({}, LaunchRequest(ranks=8, rank_table=str(tmp_path / "hccl.json")))
    assert isinstance(launcher, RankTableLauncher) and launcher.name == "rank-table"


# -- the rank table ------------------------------------------------------------------------

def table(*servers: list[tuple[int, int]], **changes) -> dict:
    """An HCCL rank table; each server is a list of (device_id, rank_id)."""
    content = {
        "version": "1.0",
        "server_count": str(len(servers)),
        "server_list": [{"server_id": f"10.0.0.{s + 1}", "host_nic_ip": "reserve",
                         "device": [{"device_id": str(d), "device_ip": f"192.{s + 1}.27.{d + 6}", "rank_id": str(r)}
                                    for d, r in devices]}
                        for s, devices in enumerate(servers)],
        "status": "completed",
    }
    content.update(changes)
    return content


def write(tmp_path: Path, content, name="hccl.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def one_server(devices: int) -> dict:
    return table([(i, i) for i in range(devices)])


@pytest.mark.parametrize("devices", [2, 8])
def test_rank_table_launch_starts_one_process_per_device_with_the_zoos_environment(tmp_path, monkeypatch, devices):
    # A relative --rank-table path: each rank gets it absolute, since ranks may run elsewhere.
    monkeypatch.chdir(tmp_path)
    write(tmp_path, one_server(devices), "rank_table.json")
    launch = LaunchRequest(ranks=devices, node=NodeSpec(cluster_timeout_s=900), rank_table="rank_table.json")
    specs = RankTableLauncher().processes(WORKER_ARGV, launch, tmp_path / "logs")
    assert len(specs) == devices
    for rank, spec in enumerate(specs):
        assert spec.argv == [sys.executable, *WORKER_ARGV]
        assert spec.env == {"RANK_TABLE_FILE": str(tmp_path / "rank_table.json"), "RANK_ID": str(rank),
                            "DEVICE_ID": str(rank), "RANK_SIZE": str(devices), "HCCL_CONNECT_TIMEOUT": "900"}
        assert spec.ranks == [rank]
        assert spec.log == tmp_path / "logs" / f"rank_{rank}.log" and spec.rank_logs == {rank: spec.log}


def test_device_id_comes_from_the_table_not_from_the_rank(tmp_path):
    path = write(tmp_path, table([(4, 0), (5, 1)]))
    specs = RankTableLauncher().processes(WORKER_ARGV, LaunchRequest(ranks=2, rank_table=str(path)), tmp_path)
    assert [(s.env["RANK_ID"], s.env["DEVICE_ID"]) for s in specs] == [("0", "4"), ("1", "5")]


def test_on_two_machines_each_starts_the_devices_of_its_own_server(tmp_path):
    path = write(tmp_path, table([(d, d) for d in range(4)], [(d, 4 + d) for d in range(4)]))
    for node_rank, expected in ((0, [0, 1, 2, 3]), (1, [4, 5, 6, 7])):
        launch = LaunchRequest(ranks=8, node=NodeSpec(nodes=2, node_rank=node_rank), rank_table=str(path))
        specs = RankTableLauncher().processes(WORKER_ARGV, launch, tmp_path)
        assert [int(s.env["RANK_ID"]) for s in specs] == expected
        assert [s.env["DEVICE_ID"] for s in specs] == ["0", "1", "2", "3"]
        assert {s.env["RANK_SIZE"] for s in specs} == {"8"}


def test_integers_in_place_of_hccls_number_strings_are_accepted(tmp_path):
    content = one_server(2)
    content["server_count"] = 1
    for device in content["server_list"][0]["device"]:
        device["device_id"], device["rank_id"] = int(device["device_id"]), int(device["rank_id"])
    assert load_rank_table(write(tmp_path, content)).size == 2


REMOVE = object()


def edited(content: dict, *path, value=REMOVE) -> dict:
    """A copy of `content` with the entry at `path` (e.g. "server_list", 0, "device", 1, "rank_id")
    set to `value`, or removed."""
    content = json.loads(json.dumps(content))
    node = content
    for step in path[:-1]:
        node = node[step]
    if value is REMOVE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return content


# problem -> (table content, the message it gets), each with --ranks 2 on one machine.
BAD_TABLES = {
    "not JSON": ('{"version": "1.0", "server_count": "1",',
                 r"not JSON \(Expecting .* at line 1 column \d+\); give the HCCL rank-table file"),
    "not an object": ("[1, 2]", r"the table must be a JSON object, got list"),
    "missing status": (edited(one_server(2), "status"),
                       r"the table lacks 'status' \(an HCCL rank table has version, server_count, server_list, "
                       r"status\)"),
    "missing rank_id": (edited(one_server(2), "server_list", 0, "device", 1, "rank_id"),
                        r"server_list\[0\]\.device\[1\] lacks 'rank_id'"),
    "missing device list": (edited(one_server(2), "server_list", 0, "device"),
                            r"server_list\[0\] lacks 'device'"),
    "status not completed": (edited(one_server(2), "status", value="initializing"),
                             r"status is 'initializing', not 'completed'"),
    "server_count mismatch": (edited(one_server(2), "server_count", value="2"),
                              r"server_count is 2 but server_list has 1 server\(s\): make them agree"),
    "rank id not a number": (edited(one_server(2), "server_list", 0, "device", 1, "rank_id", value="one"),
                             r"server_list\[0\]\.device\[1\]\.rank_id must be a non-negative number, got 'one'"),
    "duplicated rank id": (table([(0, 0), (1, 0)]),
                           r"rank_id 0 appears more than once: rank ids must be 0\.\.1, each once"),
    "rank ids not 0..N-1": (table([(0, 1), (1, 2)]),
                            r"rank_id 2 is outside 0\.\.1 \(rank 0 is missing\)"),
    "duplicated device id": (table([(0, 0), (0, 1)]),
                             r"server 10\.0\.0\.1 lists device_id 0 more than once"),
    "device count differs from --ranks": (one_server(8),
                                          r"lists 8 device\(s\) but --ranks is 2: pass --ranks 8 or a table for 2"),
    "more servers than --nodes": (table([(0, 0)], [(0, 1)]),
                                  r"lists 2 server\(s\) but --nodes is 1: pass --nodes 2 and this machine's "
                                  r"--node-rank"),
}


@pytest.mark.parametrize("problem", BAD_TABLES)
def test_a_bad_rank_table_is_refused_in_one_line_saying_what_is_wrong(tmp_path, problem):
    content, message = BAD_TABLES[problem]
    path = write(tmp_path, content)
    with pytest.raises(BenchError) as refusal:
        RankTableLauncher().processes(WORKER_ARGV, LaunchRequest(ranks=2, rank_table=str(path)), tmp_path)
    text = str(refusal.value)
    assert "\n" not in text and text.startswith(f"rank table {path}: ")
    assert re.search(message, text), text


def test_a_missing_rank_table_file_is_named(tmp_path):
    with pytest.raises(BenchError, match=r"rank table .*nowhere\.json not found: pass --rank-table"):
        RankTableLauncher().processes(WORKER_ARGV, LaunchRequest(ranks=2, rank_table=str(tmp_path / "nowhere.json")),
                                      tmp_path)


def test_no_server_holding_this_nodes_ranks_is_refused(tmp_path):
    # Two servers of two devices, but the second one's rank ids interleave with the first's.
    path = write(tmp_path, table([(0, 0), (1, 2)], [(0, 1), (1, 3)]))
    launch = LaunchRequest(ranks=4, node=NodeSpec(nodes=2, node_rank=1), rank_table=str(path))
    with pytest.raises(BenchError, match=r"no server holds ranks 2\.\.3 \(this machine is --node-rank 1 of 2\)"):
        RankTableLauncher().processes(WORKER_ARGV, launch, tmp_path)


def test_servers_with_different_device_counts_are_refused(tmp_path):
    path = write(tmp_path, table([(0, 0), (1, 1), (2, 2)], [(0, 3)]))
    launch = LaunchRequest(ranks=4, node=NodeSpec(nodes=2, node_rank=0), rank_table=str(path))
    with pytest.raises(BenchError, match=r"its servers list different numbers of devices \(1, 3\)"):
        RankTableLauncher().processes(WORKER_ARGV, launch, tmp_path)

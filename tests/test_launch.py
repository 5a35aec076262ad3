"""What a multi-rank run asks of the machine and of msrun, checked without starting a rank."""
import os

import pytest

from googlenet_bench.backends import ascend, gpu
from googlenet_bench.harness.cli.main import run_options, run_parser
from googlenet_bench.harness.launch import DEFAULT_CLUSTER_TIMEOUT_S, LaunchRequest, MsrunLauncher, NodeSpec
from googlenet_bench.harness.plugins import Backends

WORKER_ARGV = ["-m", "googlenet_bench", "--as-rank"]


def test_each_backend_says_how_many_ranks_this_machine_hosts(monkeypatch, tmp_path):
    backends = Backends()
    assert backends.select("cpu").rank_capacity({}) == len(os.sched_getaffinity(0))
    monkeypatch.setattr(gpu, "cuda_device_count", lambda: (2, None))
    assert backends.select("gpu").rank_capacity({}) == 2
    for device in range(8):
        (tmp_path / f"davinci{device}").touch()
    (tmp_path / "davinci_manager").touch()  # not an NPU
    monkeypatch.setattr(ascend, "DEVICE_NODES", str(tmp_path / "davinci[0-9]*"))
    assert backends.select("ascend").rank_capacity({}) == 8
    # ascend310 does not answer: the default says the limit is unknown.
    assert backends.select("ascend310").rank_capacity({}) is None


def msrun_argv(node: NodeSpec, ranks: int, tmp_path) -> list[str]:
    (spec,) = MsrunLauncher().processes(WORKER_ARGV, LaunchRequest(ranks=ranks, node=node), tmp_path)
    return spec.argv


def test_msrun_carries_the_cluster_timeout_and_starts_no_log_tails(tmp_path):
    argv = msrun_argv(NodeSpec(cluster_timeout_s=900), 2, tmp_path)
    assert "--cluster_time_out=900" in argv
    assert "--tail_worker_log=2" in argv  # no rank has id 2: msrun tails no log
    assert "--master_addr=127.0.0.1" in argv
    assert f"--cluster_time_out={DEFAULT_CLUSTER_TIMEOUT_S}" in msrun_argv(NodeSpec(), 2, tmp_path)


def test_the_command_line_cluster_timeout_reaches_msrun(tmp_path):
    options = run_options(run_parser().parse_args(["--ranks", "2", "--cluster-timeout", "1200"]))
    assert "--cluster_time_out=1200" in msrun_argv(options.launch.node, 2, tmp_path)
    default = run_options(run_parser().parse_args(["--ranks", "2"]))
    assert default.launch.node.cluster_timeout_s == DEFAULT_CLUSTER_TIMEOUT_S


def test_a_multi_node_run_names_node_0_to_msrun(tmp_path):
    argv = msrun_argv(NodeSpec(nodes=2, node_rank=1, master_addr="10.0.0.1", master_port=8118), 4, tmp_path)
    assert {"--master_addr=10.0.0.1", "--master_port=8118", "--node_rank=1", "--worker_num=4",
            "--local_worker_num=2"} <= set(argv)


def test_a_multi_node_run_without_master_addr_is_refused(tmp_path):
    from googlenet_bench.harness.errors import BenchError

    with pytest.raises(BenchError, match="--nodes 2 needs --master-addr"):
        msrun_argv(NodeSpec(nodes=2, master_port=8118), 4, tmp_path)

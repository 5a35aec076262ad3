"""Two nodes of one job, both on this machine: two bench.py invocations joined by msrun into one
2-rank run. Node 0 writes the run's record; node 1 leaves its ranks' logs and reports in a run
directory marked as a node's, and no record."""
import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT, SHORT_DIGITS
from googlenet_bench.harness.launch import free_port

pytestmark = pytest.mark.slow


def test_two_nodes_form_one_run_and_only_node_0_writes_its_record(tmp_path):
    results = tmp_path / "results"  # one results directory for both, as on a shared file system
    port = free_port()
    nodes = []
    for node_rank in (1, 0):  # the order they start in does not matter
        argv = [sys.executable, str(PROJECT_ROOT / "bench.py"), "--ranks", "2", "--nodes", "2",
                "--node-rank", str(node_rank), "--master-addr", "127.0.0.1", "--master-port", str(port),
                "--cluster-timeout", "120", *SHORT_DIGITS, "--phases", "setup,data,train,eval,record",
                "--results", str(results)]
        nodes.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        (out1, err1), (out0, err0) = [node.communicate(timeout=300) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    assert nodes[1].returncode == 0, err0[-3000:]
    assert nodes[0].returncode == 0, err1[-3000:]

    (record_path,) = results.glob("*.json")  # one record: node 0's
    record = json.loads(record_path.read_text())
    figures = record["figures"]
    assert record["status"] == "success" and not record["run_id"].endswith("-node1")
    assert figures["train"]["ranks"] == 2 and figures["train"]["global_batch"] == 128
    assert figures["train"]["final_loss"] > 0 and figures["eval"]["images"] == 100
    ranks = figures["ranks"]
    # Node 0 has only rank 0's files; rank 1's figures reached it through the ranks' own exchange.
    assert [r["rank"] for r in ranks["per_rank"]] == [0]
    assert ranks["gathered"] is True and [r["rank"] for r in ranks["every_rank"]] == [0, 1]
    assert ranks["parameters_identical"] is True
    assert "--node_rank=0" in figures["launch"]["commands"][0]

    (node1_dir,) = results.glob("*-node1")
    node1_report = json.loads((node1_dir / "ranks" / "rank_1.json").read_text())
    assert node1_report["parameters_sha256"] == ranks["every_rank"][0]["parameters_sha256"]
    assert (node1_dir / "logs" / "worker_1.log").exists()
    assert not (node1_dir / "record.rank0.json").exists()
    assert "node 1 of 2: its ranks finished (success); the run's record is written by node 0" in out1
    assert "record:" in out0 and "record:" not in out1

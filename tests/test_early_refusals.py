"""Issue 24's late or silent acceptances, now found in the plan: one line, exit 2, nothing written (not even an
empty results directory); and the record writer that never writes what its readers reject."""
from __future__ import annotations

import json

import pytest

from conftest import run_bench
from googlenet_bench.harness.results.record import keep_record, read_record


def one_line_exit_2(result, message: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and message in result.stderr, result.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (("--rank-table", "{tmp}/table.json"), "--rank-table is for backends whose launcher starts ranks from a rank table"),
    (("--rehearse",), "--rehearse runs another backend's recipe on cpu's device, but backend 'cpu' runs there"),
    (("--ranks", "1", "--nodes", "2", "--master-addr", "127.0.0.1"), "--ranks 1 is fewer than --nodes 2"),
    (("--ranks", "2", "--nodes", "2", "--master-addr", "no.such.host.invalid", "--master-port", "29999"),
     "--master-addr no.such.host.invalid does not resolve"),
    (("--resume", "{tmp}", "--suite", "cifar10-full"), "--resume continues a run as it was configured: leave out --suite"),
    (("--resume", "{tmp}", "--backend", "cpu"), "--resume continues a run as it was configured: leave out --backend"),
    (("--checkpoint", "{tmp}/w.ckpt"), "is for runs without the train phase (eval, export, infer"),
    (("--phases", "eval", "--checkpoint", "{tmp}"), "--checkpoint {tmp} is a directory: give a .ckpt file"),
    (("--grace", "0"), "argument --grace: must be a positive number of seconds"),
    (("--grace", "nan"), "argument --grace: must be a positive number of seconds"),
])
def test_an_option_that_cannot_apply_is_refused_in_the_plan(tmp_path, args, message):
    (tmp_path / "table.json").write_text("{}")
    (tmp_path / "w.ckpt").write_bytes(b"x")
    results = tmp_path / "results"
    args = [arg.format(tmp=tmp_path) for arg in args]
    one_line_exit_2(run_bench(*args, "--results", str(results), timeout=120), message.format(tmp=tmp_path))
    assert not results.exists()  # no empty results directory left behind


@pytest.mark.bad_input
def test_tune_of_a_suite_that_needs_data_says_pass_data_before_tuning():
    one_line_exit_2(run_bench("tune", "--suite", "cifar10-full", timeout=120), "pass --data DIR")


@pytest.mark.bad_input
@pytest.mark.parametrize("argv, message", [
    (("report", "{record}", "--format", "xml"), "--format xml: not a table format"),
])
def test_report_refuses_a_format_it_cannot_print(argv, message):
    from record_fixtures import REAL_RECORD

    one_line_exit_2(run_bench(*[a.format(record=REAL_RECORD) for a in argv], timeout=60), message)


def record(**changes) -> dict:
    base = {"schema": 1, "suite": "digits", "backend": "cpu", "status": "success", "environment": {}, "config": {},
            "figures": {}}
    return {**base, **changes}


def test_a_resumed_run_that_started_over_writes_a_record_its_readers_accept(tmp_path):
    """Issue 24: --resume of a run killed before its first checkpoint wrote from_checkpoint null, which the
    reader then refused. The schema allows it, and the writer checks what it writes against the same schema."""
    resumed = {"from_checkpoint": None, "from_epoch": 0, "from_step_in_epoch": 0}
    _, written = keep_record(tmp_path, tmp_path / "run", "run", record(figures={"resumed": resumed}), attempt=1)
    assert read_record(written)["figures"]["resumed"] == resumed


@pytest.mark.fault
def test_the_writer_never_writes_a_record_its_readers_reject(tmp_path):
    bad = record(figures={"train": {"steps": 4, "ms_per_step_median": float("nan")}})
    _, written = keep_record(tmp_path, tmp_path / "run", "run", bad, attempt=1)
    kept = read_record(written)  # readable: the writer turned it into a failed run that says why
    assert kept["status"] == "failed" and "failed its schema" in kept["error"] and "\n" not in kept["error"]
    assert "ms_per_step_median must be a finite number above 0" in json.loads(written.read_text())["error"]


@pytest.mark.bad_input
@pytest.mark.parametrize("size, holds", [
    (30_729_999, "holds 30,729,999 bytes, 9,999 whole 3,073-byte records and 3,072 bytes over"),
    (3_073 * 9_000, "holds 9,000 records (27,657,000 bytes)"),
])
def test_a_cifar_file_of_the_wrong_size_says_what_it_holds(tmp_path, size, holds):
    """Issue 24: a file one byte short was said to hold "10,000 records" (a rounded 9,999.9997)."""
    from googlenet_bench.datasets.cifar10 import EVAL_FILES, TRAIN_FILES, _check_files
    from googlenet_bench.harness.errors import BenchError

    for name in TRAIN_FILES + EVAL_FILES:
        with open(tmp_path / name, "wb") as handle:
            handle.truncate(3_073 * 10_000)
    with open(tmp_path / TRAIN_FILES[0], "wb") as handle:
        handle.truncate(size)
    with pytest.raises(BenchError, match=holds.replace("(", r"\(").replace(")", r"\)")):
        _check_files(tmp_path)

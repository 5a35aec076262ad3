"""`bench.py history`: one line per run of a suite/backend, oldest first, and a PNG of the trend."""
import json

import pytest

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.reporting.history import HEADERS, collect, history_row, plot
from record_fixtures import bench, make_record, write_record
from conftest import one_line

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def results(tmp_path):
    """Three digits/cpu runs written out of order, plus runs and files history must leave out."""
    runs = [("c.json", "2026-11-29T08:00:00+00:00", 0.975, 230.0),
            ("a.json", "2026-11-27T10:07:13+00:00", 0.9722222222222222, 216.49),
            ("b.json", "2026-11-28T09:30:00+00:00", 0.9611, 251.3)]
    for name, started, top1, ms in runs:
        write_record(tmp_path / name, make_record(run_id=name.removesuffix(".json"), started=started,
                                                  **{"figures.eval.top1": top1,
                                                     "figures.train.ms_per_step_median": ms}))
    write_record(tmp_path / "other-suite.json", make_record(suite="cifar10-full"))
    write_record(tmp_path / "other-backend.json", make_record(backend="gpu"))
    (tmp_path / "notes.json").write_text('{"not": "a record"}')
    (tmp_path / "a").mkdir()  # a run's folder of files
    return tmp_path


def test_runs_of_the_suite_and_backend_only_oldest_first(results):
    history = collect(results, "digits", "cpu")
    assert [record["run_id"] for _, record in history.runs] == ["a", "b", "c"]
    assert len(history.skipped) == 1 and "notes.json is not a googlenet-bench results record" in history.skipped[0]


def test_one_line_holds_the_main_figures():
    row = dict(zip(HEADERS, history_row(make_record())))
    assert row == {"started": "2026-11-27 10:07", "run": "digits-cpu-20261127-100713-d046", "status": "success",
                   "commit": "HEAD", "epochs": "8", "lr": "0.02", "top-1": "97.22%", "ms/step": "216.5",
                   "to target": "–", "images/s": "295.6", "total": "0.92 min", "loss": "0.0304"}


def test_a_failed_run_has_a_line_with_dashes():
    row = dict(zip(HEADERS, history_row(make_record(status="failed", **{"figures.eval": None,
                                                                        "figures.train": None}))))
    assert row["status"] == "failed" and row["top-1"] == row["ms/step"] == "–" and row["epochs"] == "8"


def test_cli_prints_one_line_per_run_and_writes_a_png(results, tmp_path):
    picture = tmp_path / "trend.png"
    result = bench("history", results, "--suite", "digits", "--backend", "cpu", "--plot", picture)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 3 and lines[0].split()[:3] == ["started", "run", "status"]
    assert [line.split()[2] for line in lines[1:]] == ["a", "b", "c"]
    assert "skipped:" in result.stderr and "plot:" in result.stderr
    data = picture.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_json_format_parses_back_with_numbers(results):
    result = bench("history", results, "--format", "json")
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert [run["run_id"] for run in runs] == ["a", "b", "c"]
    assert runs[1]["top1"] == 0.9611 and runs[1]["ms_per_step"] == 251.3


def test_plot_function_draws_a_single_run(tmp_path):
    write_record(tmp_path / "only.json", make_record())
    path = plot(collect(tmp_path, "digits", "cpu"), tmp_path / "one.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize("make_args, message", [
    (lambda d: [d / "absent"], "not found"),
    (lambda d: [d, "--suite", "imagenet-full"], "no runs of suite 'imagenet-full' on backend 'cpu'"),
    (lambda d: [d, "--plot", d / "no-such-dir" / "trend.png"], "directory"),
])
def test_unusable_input_exits_2_with_one_line(results, make_args, message):
    result = bench("history", *make_args(results))
    assert result.returncode == 2
    assert one_line(result.stderr) and message in result.stderr
    assert result.stdout == ""


def test_collect_refuses_a_file(tmp_path):
    record = write_record(tmp_path / "r.json", make_record())
    with pytest.raises(BenchError, match="is a file, not a directory"):
        collect(record, "digits", "cpu")

"""Seed summaries (`bench.py --repeat N`): their figures, MLPerf's time-to-target score, and `check`
against a summary: a run regresses below the seeds' mean by more than max(tolerance, 3 std)."""
import json

import pytest

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.seed_summary import mlperf_time_to_target, summarise
from record_fixtures import bench, make_record, write_record

TOP1 = [0.9833, 0.9861, 0.9806, 0.9889, 0.9778]
MS = [250.0, 262.0, 245.0, 258.0, 251.0]
TTT = [60.0, 75.0, 52.0, 90.0, 66.0]


def runs():
    return [(f"run-{i}.json", make_record(**{"figures.eval.top1": top1, "figures.train.ms_per_step_median": ms,
                                             "figures.train.time_to_target_s": ttt, "run_id": f"run-{i}"}))
            for i, (top1, ms, ttt) in enumerate(zip(TOP1, MS, TTT))]


def test_summary_figures():
    summary = summarise(runs(), [1, 2, 3, 4, 5])
    assert summary["top1"]["mean"] == pytest.approx(sum(TOP1) / 5, abs=1e-6)
    assert summary["top1"]["min"] == pytest.approx(0.9778) and summary["top1"]["max"] == pytest.approx(0.9889)
    assert summary["top1"]["std"] == pytest.approx(0.004381, abs=1e-5)  # sample std (n-1)
    assert summary["ms_per_step"]["median"] == 251.0
    assert summary["representative"]["run_id"] == "run-4"  # the median-speed run
    assert "events" not in summary["representative"]
    assert summary["time_to_target_s"]["score"] == pytest.approx((60 + 75 + 66) / 3)


def test_mlperf_score_drops_fastest_and_slowest_and_a_miss_is_the_slowest():
    assert mlperf_time_to_target([10.0, None, 30.0, 20.0, 40.0])["score"] == pytest.approx(30.0)
    assert mlperf_time_to_target([10.0, None, 30.0, None, 40.0])["score"] is None
    assert mlperf_time_to_target([10.0, 20.0, 30.0])["score"] is None  # MLPerf scores 5 runs


def test_a_failed_run_makes_no_summary():
    bad = runs()
    bad[2][1]["status"] = "failed"
    with pytest.raises(BenchError, match="run-2.json ended 'failed'"):
        summarise(bad, [1, 2, 3, 4, 5])


@pytest.fixture
def summary_file(tmp_path):
    summary = summarise(runs(), [1, 2, 3, 4, 5])
    summary["tolerances"] = {"top1_drop": 0.005, "ms_per_step_ratio": 1.12}
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(summary))
    return path


def test_check_against_a_summary_uses_three_std_when_wider_than_the_tolerance(tmp_path, summary_file):
    mean = sum(TOP1) / 5  # 3 std = 1.31 pp > the 0.5 pp tolerance
    within = write_record(tmp_path / "a.json", make_record(**{"figures.eval.top1": mean - 0.012}))
    below = write_record(tmp_path / "b.json", make_record(**{"figures.eval.top1": mean - 0.014}))
    ok = bench("check", within, "--baseline", summary_file, "--no-speed")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "std 0.44 pp over 5 seeds" in ok.stdout and "max(0.50 pp, 3 std) = 1.31 pp" in ok.stdout
    failed = bench("check", below, "--baseline", summary_file, "--no-speed")
    assert failed.returncode == 1 and "REGRESSION top-1" in failed.stdout


def test_check_against_a_summary_uses_the_tolerance_when_wider(tmp_path, summary_file):
    mean = sum(TOP1) / 5
    run = write_record(tmp_path / "a.json", make_record(**{"figures.eval.top1": mean - 0.018}))
    assert bench("check", run, "--baseline", summary_file, "--no-speed", "--max-top1-drop", "0.02").returncode == 0
    assert bench("check", run, "--baseline", summary_file, "--no-speed").returncode == 1


def test_a_malformed_summary_is_one_line(tmp_path, summary_file):
    document = json.loads(summary_file.read_text())
    document["top1"]["std"] = "wide"
    summary_file.write_text(json.dumps(document))
    result = bench("check", write_record(tmp_path / "a.json", make_record()), "--baseline", summary_file)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "top1.std" in result.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--repeat", "2", "--set", "seed=3"], "error: --repeat sets the seed of each run"),
    (["--repeat", "2", "--resume", "results/x"], "error: --repeat starts new runs: it cannot --resume one"),
    (["--repeat", "0"], "error: argument --repeat: must be from 1 to 100, got 0"),
    (["--repeat", "3", "--set", "epochs=zero"], "error: "),
])
def test_repeat_refuses_bad_input_before_any_run(tmp_path, args, message):
    result = bench(*args, "--results", tmp_path / "results")
    assert result.returncode == 2 and result.stderr.startswith(message) and result.stderr.count("\n") == 1, \
        result.stderr
    assert not (tmp_path / "results").exists()

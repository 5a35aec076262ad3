"""`bench.py ab`: the A/B verdict from stand-in timings (no training), the comparison record it
writes, and the one-line refusals of a base revision it cannot run."""
import subprocess

import pytest

from googlenet_bench.harness.cli import ab_command
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.measure import ab
from googlenet_bench.harness.measure.timing import ab_verdict
from googlenet_bench.harness.results.comparison import read_comparison
from record_fixtures import bench

# Fastest-epoch ms/step of 4 short runs per side as this machine gives them on a quiet minute.
BASE = [246.1, 251.8, 243.9, 249.0]


def test_a_ten_percent_slowdown_is_slower():
    result = ab_verdict(BASE, [t * 1.10 for t in [249.5, 244.2, 252.0, 247.3]])
    assert result["verdict"] == "slower"
    assert 1.08 < result["ratio"] < 1.12 and result["ci"][0] > 1


def test_unchanged_code_is_no_change_and_faster_is_faster():
    assert ab_verdict(BASE, [248.0, 245.5, 250.9, 247.1])["verdict"] == "no change"
    assert ab_verdict(BASE, [t * 0.88 for t in BASE])["verdict"] == "faster"


def test_scattered_runs_are_inconclusive_not_a_pass_or_a_failure():
    result = ab_verdict(BASE, [240.0, 320.0, 250.0, 300.0])
    assert result["verdict"] == "inconclusive (noise)"
    assert result["ci"][0] < 1 < result["ci"][1]


def test_a_small_but_sure_change_is_no_change():
    # 2% slower with no overlap: below what the gate claims to resolve, so not a failure.
    assert ab_verdict(BASE, [t * 1.02 for t in BASE])["verdict"] != "slower"


def stand_in(slowdown: float, calls: list):
    def timed_run(side, suite, backend, results, log):
        n = len(calls)
        calls.append(side.name)
        ms = BASE[n // 2 % 4] * (slowdown if side.name == "new" else 1.0)
        return {"side": side.name, "ms_per_step": ms, "timed_epochs": 3, "stability": "stable",
                "other_cores_max": 0.01, "wall_s": 20.0}
    return timed_run


def test_a_commit_with_the_ten_percent_knob_fails_and_is_recorded(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(ab, "timed_run", stand_in(1.10, calls))
    code = ab_command.main(["--base", "HEAD", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert calls == ["base", "new", "new", "base"] * 2  # ABBA, 2 rounds: the verdict came at once
    assert out.splitlines()[0].endswith(": slower")
    comparison = read_comparison(next(tmp_path.glob("ab-digits-cpu-*.json")))
    assert comparison["verdict"] == "slower" and len(comparison["runs"]) == 8
    assert comparison["base"]["commit"] == subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                                          text=True, cwd=ab.PROJECT_ROOT).stdout.strip()


def test_noise_adds_rounds_up_to_the_maximum(tmp_path, monkeypatch):
    calls = []
    noisy = iter([250, 250, 330, 240, 260, 310, 235, 300] * 4)

    def timed_run(side, suite, backend, results, log):
        calls.append(side.name)
        return {"side": side.name, "ms_per_step": next(noisy), "timed_epochs": 3, "wall_s": 20.0}
    monkeypatch.setattr(ab, "timed_run", timed_run)
    assert ab_command.main(["--base", "HEAD", "--results", str(tmp_path), "--max-rounds", "3"]) == 0
    assert len(calls) == 12
    assert read_comparison(next(tmp_path.glob("ab-*.json")))["verdict"] == "inconclusive (noise)"


@pytest.mark.parametrize("rev", ["no-such-branch-xyz", "HEAD:README.md", "-n"])
def test_a_revision_that_does_not_exist_is_refused_in_one_line(tmp_path, rev):
    result = bench("ab", "--base", rev, "--results", tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "--base" in result.stderr or "git checkout" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_revision_without_the_harness_is_refused(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for command in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "empty"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=repo, check=True)
    with pytest.raises(BenchError, match="has no harness"):
        ab.resolve(repo, "HEAD")


def test_report_and_history_show_a_comparison_and_runs_are_still_read(tmp_path, monkeypatch):
    from record_fixtures import make_record, write_record

    monkeypatch.setattr(ab, "timed_run", stand_in(1.10, []))
    assert ab_command.main(["--base", "HEAD", "--results", str(tmp_path)]) == 1
    path = next(tmp_path.glob("ab-*.json"))
    report = bench("report", path)
    assert report.returncode == 0 and ": slower (ab-digits-cpu-" in report.stdout, report.stdout + report.stderr
    assert "  run  8 base" in report.stdout  # each run's figure under the verdict
    write_record(tmp_path / "run.json", make_record())
    history = bench("history", tmp_path)
    assert history.returncode == 0 and "skipped" not in history.stderr, history.stderr
    assert "speed A/B comparisons and seed summaries:" in history.stdout and "x1.100 of base HEAD" in history.stdout


def test_each_side_nulls_only_the_eval_keys_its_own_suite_has(tmp_path):
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "digits.yaml").write_text("dataset: digits\nepochs: 10\nmin_top1: 0.97\n")
    sets = ab.suite_overrides(tmp_path, "digits", ("batch_size=32",))
    assert sets == ["epochs=4", "train_samples=512", "min_top1=null", "batch_size=32"]
    assert ab.suite_overrides(ab.PROJECT_ROOT, "digits", ())[2:] == ["eval_every_epochs=null", "target_top1=null",
                                                                    "min_top1=null"]


# A measured sitting (knob commit vs its parent, 2026-12-04 19:22 UTC, others' jobs on the cores):
# (side, fastest-epoch wall ms/step, process CPU ms/step) of its 12 runs in the order they ran.
LOADED_KNOB_SITTING = [("b", 367.53, 587.5), ("n", 254.23, 633.75), ("n", 264.62, 641.25), ("b", 243.57, 526.25),
                       ("b", 235.35, 583.75), ("n", 420.82, 650.0), ("n", 543.8, 603.75), ("b", 412.26, 502.5),
                       ("b", 226.46, 593.75), ("n", 244.38, 617.5), ("n", 243.74, 608.75), ("b", 224.49, 556.25)]


def test_on_a_busy_machine_cpu_time_decides_where_wall_time_cannot():
    runs = [{"side": "base" if side == "b" else "new", "ms_per_step": wall, "cpu_ms_per_step": cpu}
            for side, wall, cpu in LOADED_KNOB_SITTING]
    result = ab.decide(runs)
    assert [tried["figure"] for tried in result["inconclusive_figures"]] == [ab.WALL]
    assert result["figure"] == ab.CPU and result["verdict"] == "slower"
    quiet = [{**run, "ms_per_step": 240.0 * (1.1 if run["side"] == "new" else 1.0) + n % 3} for n, run in enumerate(runs)]
    assert ab.decide(quiet)["figure"] == ab.WALL and ab.decide(quiet)["verdict"] == "slower"
    assert ab.decide(quiet)["inconclusive_figures"] == []


# Two measured sittings on the AMD host (2026-12-07 15:00-16:14 UTC), whose speed jumped between ~213 and
# ~268 ms/step from one process to the next: (side, fastest-epoch wall ms/step, process CPU ms/step).
JUMPY_KNOB_SITTING = [("b", 244.16, 482.5), ("n", 258.44, 506.25), ("n", 233.77, 456.25), ("b", 223.72, 440.0),
                      ("b", 222.24, 433.75), ("n", 240.77, 471.25), ("n", 251.39, 490.0), ("b", 233.2, 453.75),
                      ("b", 296.77, 583.75), ("n", 312.27, 608.75), ("n", 350.05, 681.25), ("b", 295.48, 581.25)]
JUMPY_UNCHANGED_SITTING = [("b", 266.6, 528.75), ("n", 265.42, 523.75), ("n", 212.2, 420.0), ("b", 270.7, 535.0),
                           ("b", 215.92, 425.0), ("n", 223.81, 440.0), ("n", 215.12, 422.5), ("b", 269.18, 528.75),
                           ("b", 270.25, 533.75), ("n", 213.15, 421.25), ("n", 266.2, 523.75), ("b", 213.25, 421.25)]


def as_runs(sitting):
    return [{"side": "base" if side == "b" else "new", "ms_per_step": wall, "cpu_ms_per_step": cpu}
            for side, wall, cpu in sitting]


def test_where_speed_jumps_between_processes_the_fastest_runs_decide():
    result = ab.decide(as_runs(JUMPY_KNOB_SITTING))
    assert [tried["figure"] for tried in result["inconclusive_figures"]] == [ab.WALL, ab.CPU]
    assert result["figure"] == ab.FASTEST and result["verdict"] == "slower"
    assert result["ratio"] == round(233.77 / 222.24, 4)
    unchanged = ab.decide(as_runs(JUMPY_UNCHANGED_SITTING))
    assert unchanged["verdict"] != "slower" and unchanged["figure"] == ab.FASTEST


def test_an_older_base_without_cpu_time_skips_that_figure():
    runs = [{**run, "cpu_ms_per_step": None if run["side"] == "base" else run["cpu_ms_per_step"]}
            for run in as_runs(JUMPY_KNOB_SITTING)]
    result = ab.decide(runs)
    assert [tried["figure"] for tried in result["inconclusive_figures"]] == [ab.WALL]
    assert result["figure"] == ab.FASTEST and result["verdict"] == "slower"

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
    assert calls == ["base", "new", "new", "base"] * 3  # ABBA, 3 rounds: the verdict came at once
    assert out.splitlines()[0].endswith(": slower")
    comparison = read_comparison(next(tmp_path.glob("ab-digits-cpu-*.json")))
    assert comparison["verdict"] == "slower" and len(comparison["runs"]) == 12
    assert comparison["base"]["commit"] == subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                                          text=True, cwd=ab.PROJECT_ROOT).stdout.strip()


def test_noise_adds_rounds_up_to_the_maximum(tmp_path, monkeypatch):
    calls = []
    noisy = iter([250, 250, 330, 240, 260, 310, 235, 300] * 4)

    def timed_run(side, suite, backend, results, log):
        calls.append(side.name)
        return {"side": side.name, "ms_per_step": next(noisy), "timed_epochs": 3, "wall_s": 20.0}
    monkeypatch.setattr(ab, "timed_run", timed_run)
    assert ab_command.main(["--base", "HEAD", "--results", str(tmp_path), "--max-rounds", "4"]) == 0
    assert len(calls) == 16
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


# Measured sittings, (side, fastest-epoch wall ms/step) of their runs in the order they ran. One on the
# Xeon (knob commit vs its parent, 2026-12-04 19:22 UTC, others' jobs on the cores), two on the AMD host
# (2026-12-07 15:00-16:14 UTC), whose speed jumped between ~213 and ~268 ms/step from one process to the next.
LOADED_KNOB_SITTING = [("b", 367.53), ("n", 254.23), ("n", 264.62), ("b", 243.57), ("b", 235.35), ("n", 420.82),
                       ("n", 543.8), ("b", 412.26), ("b", 226.46), ("n", 244.38), ("n", 243.74), ("b", 224.49)]
JUMPY_KNOB_SITTING = [("b", 244.16), ("n", 258.44), ("n", 233.77), ("b", 223.72), ("b", 222.24), ("n", 240.77),
                      ("n", 251.39), ("b", 233.2), ("b", 296.77), ("n", 312.27), ("n", 350.05), ("b", 295.48)]
JUMPY_UNCHANGED_SITTING = [("b", 266.6), ("n", 265.42), ("n", 212.2), ("b", 270.7), ("b", 215.92), ("n", 223.81),
                           ("n", 215.12), ("b", 269.18), ("b", 270.25), ("n", 213.15), ("n", 266.2), ("b", 213.25)]


def as_runs(sitting):
    return [{"side": "base" if side == "b" else "new", "ms_per_step": ms} for side, ms in sitting]


@pytest.mark.parametrize("sitting", [LOADED_KNOB_SITTING, JUMPY_KNOB_SITTING], ids=["busy-xeon", "jumpy-amd"])
def test_the_fastest_runs_catch_the_knob_where_the_medians_cannot(sitting):
    result = ab.decide(as_runs(sitting))
    assert result["median"]["verdict"] == "inconclusive (noise)"
    assert result["figure"] == ab.FIGURE and result["verdict"] == "slower"
    base, new = ([ms for side, ms in sitting if side == name] for name in "bn")
    assert result["ratio"] == round(min(new) / min(base), 4)


def test_unchanged_code_on_a_jumpy_host_is_not_slower():
    result = ab.decide(as_runs(JUMPY_UNCHANGED_SITTING))
    assert result["verdict"] in ("no change", "inconclusive (noise)") and 0.98 < result["ratio"] < 1.02

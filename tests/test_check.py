"""`bench.py check` (the regression gate) and `bench.py baseline`: every exit code, through the CLI."""
import json

import pytest

from googlenet_bench.harness.reporting.check import DEFAULT_TOLERANCES, Tolerances, check, make_baseline, speed_gate_default, tolerances_of
from googlenet_bench.harness.errors import BenchError
from record_fixtures import bench, make_record, write_record
from conftest import one_line

REAL_TOP1 = 0.9722222222222222  # 350 / 360 in the real record
REAL_MS_PER_STEP = 216.49


@pytest.fixture
def baseline(tmp_path):
    """A baseline of the real record with the default tolerances (as `bench.py baseline` makes it)."""
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    return write_record(tmp_path / "digits-cpu.json", make_baseline(make_record(), tolerances, "run.json"))


def run_file(tmp_path, name="new.json", **changes):
    return write_record(tmp_path / name, make_record(**changes))


def test_same_figures_pass_with_exit_0(tmp_path, baseline):
    result = bench("check", run_file(tmp_path), "--baseline", baseline)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok top-1" in result.stdout and "ok ms/step" in result.stdout
    assert result.stdout.strip().endswith("no regression")


def test_lowered_accuracy_is_caught_with_old_new_and_tolerance(tmp_path, baseline):
    result = bench("check", run_file(tmp_path, **{"figures.eval.top1": 0.93}), "--baseline", baseline)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if line.startswith("REGRESSION"))
    assert line.startswith("REGRESSION top-1")
    assert "baseline 97.22%" in line and "new 93.00%" in line and "may drop 2.00 pp" in line
    assert "1 regression: top-1" in result.stdout


def test_a_drop_within_tolerance_passes_and_the_cli_overrides_the_baselines_tolerance(tmp_path, baseline):
    within = run_file(tmp_path, **{"figures.eval.top1": REAL_TOP1 - 0.0139})  # 5 of 360 images
    assert bench("check", within, "--baseline", baseline).returncode == 0
    assert bench("check", within, "--baseline", baseline, "--max-top1-drop", "0.01").returncode == 1
    lowered = run_file(tmp_path, "lowered.json", **{"figures.eval.top1": 0.93})
    assert bench("check", lowered, "--baseline", baseline, "--max-top1-drop", "0.05").returncode == 0


def test_tolerances_carried_by_the_baseline_are_used(tmp_path, baseline):
    strict = json.loads(baseline.read_text())
    strict["tolerances"]["top1_drop"] = 0.001
    write_record(baseline, strict)
    result = bench("check", run_file(tmp_path, **{"figures.eval.top1": REAL_TOP1 - 0.0028}), "--baseline", baseline)
    assert result.returncode == 1
    assert "may drop 0.10 pp" in result.stdout


def test_a_failed_run_is_a_regression_with_its_reason(tmp_path, baseline):
    failed = run_file(tmp_path, status="diverged", error="training diverged: the loss became nan by step 22",
                      **{"figures.eval": None, "figures.train.ms_per_step_median": None})
    result = bench("check", failed, "--baseline", baseline)
    assert result.returncode == 1
    assert "REGRESSION status: baseline success, new diverged (training diverged: the loss became nan" in result.stdout


SLOWER = {"figures.train.ms_per_step_median": REAL_MS_PER_STEP * 1.4}


@pytest.mark.parametrize("env, flags, expected", [
    ({}, [], 1),                       # off CI the speed gate is on by default
    ({}, ["--no-speed"], 0),
    ({}, ["--max-slowdown", "1.5"], 0),
    ({"CI": "true"}, [], 0),           # in CI it is off by default
    ({"CI": "true"}, ["--speed"], 1),
])
def test_speed_regression_is_gated_only_when_the_speed_gate_is_on(tmp_path, baseline, env, flags, expected):
    result = bench("check", run_file(tmp_path, **SLOWER), "--baseline", baseline, *flags, env=env)
    assert result.returncode == expected, result.stdout + result.stderr
    if expected:
        assert "REGRESSION ms/step: baseline 216.49, new 303.09 (tolerance: may grow x1.12; now x1.40)" in result.stdout
    else:
        assert "REGRESSION" not in result.stdout


def test_a_run_with_another_batch_size_is_not_speed_gated(tmp_path, baseline):
    other_batch = run_file(tmp_path, **SLOWER, **{"figures.train.global_batch": 128})
    result = bench("check", other_batch, "--baseline", baseline)
    assert result.returncode == 0
    assert "speed: not gated (cpu batch 128 vs baseline cpu batch 64: unlike steps)" in result.stdout


def unusable_inputs(tmp_path):
    (tmp_path / "truncated.json").write_text('{"schema": 1, "suite": "dig')
    return {
        "missing file": (tmp_path / "absent.json", "not found"),
        "malformed record": (tmp_path / "truncated.json", "is not valid JSON"),
        "different suite": (run_file(tmp_path, "cifar.json", suite="cifar10-full"), "suite 'cifar10-full' but baseline"),
        "no top-1": (run_file(tmp_path, "no-eval.json", **{"figures.eval": None}), "has no top-1"),
    }


@pytest.mark.parametrize("case", ["missing file", "malformed record", "different suite", "no top-1"])
def test_unusable_input_exits_2_with_one_line(tmp_path, baseline, case):
    path, message = unusable_inputs(tmp_path)[case]
    result = bench("check", path, "--baseline", baseline)
    assert result.returncode == 2
    assert result.stdout == ""
    assert one_line(result.stderr) and message in result.stderr, result.stderr


def test_a_missing_baseline_and_a_bad_tolerance_exit_2(tmp_path, baseline):
    run = run_file(tmp_path)
    assert bench("check", run, "--baseline", tmp_path / "none.json").returncode == 2
    broken = json.loads(baseline.read_text())
    broken["tolerances"]["ms_per_step_ratio"] = 0.5
    write_record(baseline, broken)
    result = bench("check", run, "--baseline", baseline)
    assert result.returncode == 2
    assert "tolerance ms_per_step_ratio is 0.5; it must be a ratio of at least 1" in result.stderr


def test_baseline_command_strips_events_stamps_tolerances_and_keeps_them_on_refresh(tmp_path):
    run = write_record(tmp_path / "run.json", make_record(events=[{"key": "run_start"}]))
    baseline = tmp_path / "baselines" / "digits-cpu.json"
    baseline.parent.mkdir()  # a folder named on the command line is not created (issue 24)
    result = bench("baseline", run, "--to", baseline)
    assert result.returncode == 0, result.stderr
    written = json.loads(baseline.read_text())
    assert "events" not in written
    assert written["tolerances"] == DEFAULT_TOLERANCES
    assert written["figures"] == make_record()["figures"]
    assert bench("baseline", run, "--to", baseline, "--max-top1-drop", "0.03").returncode == 0
    assert bench("baseline", run, "--to", baseline).returncode == 0  # a refresh keeps the tuned tolerance
    assert json.loads(baseline.read_text())["tolerances"] == {**DEFAULT_TOLERANCES, "top1_drop": 0.03}


def test_baseline_command_refuses_a_failed_run(tmp_path):
    failed = run_file(tmp_path, status="failed", error="boom")
    result = bench("baseline", failed, "--to", tmp_path / "b.json")
    assert result.returncode == 2
    assert "a baseline must come from a successful run" in result.stderr
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("environ, on", [({}, True), ({"CI": "true"}, False), ({"CI": "1"}, False),
                                         ({"CI": "false"}, True), ({"CI": ""}, True)])
def test_speed_gate_default_follows_the_ci_variable(environ, on):
    assert speed_gate_default(environ) is on


def test_check_function_reports_findings_and_notes():
    baseline = make_record(tolerances={"top1_drop": 0.02})
    tolerances = tolerances_of(baseline, "b.json", ms_per_step_ratio=1.1)
    assert tolerances == Tolerances(top1_drop=0.02, ms_per_step_ratio=1.1)
    verdict = check(make_record(**{"figures.train.ms_per_step_median": 250.0}), baseline, tolerances, gate_speed=True)
    assert [(f.figure, f.regressed) for f in verdict.findings] == [("top-1", False), ("ms/step", True)]
    with pytest.raises(BenchError, match="unknown tolerance 'top5_drop'"):
        tolerances_of({"tolerances": {"top5_drop": 0.1}}, "b.json")

"""Speed figures you can trust: spread and stability verdict, the drift reference's figures, the
normalised speed gate, the machine profile and the tuner's choices. No training here."""
import json

import pytest

from harness.check import DEFAULT_TOLERANCES, Tolerances, check, make_baseline, speed_gate_default
from harness.errors import BenchError
from harness.timing import UNSTABLE_IQR_OVER_MEDIAN, spread
from record_fixtures import bench, make_record, write_record


def test_spread_gives_percentiles_dispersion_and_a_verdict_with_its_threshold():
    steady = spread([200.0, 201.0, 199.0, 200.0, 202.0])
    assert (steady["p50"], steady["samples"], steady["stability"]) == (200.0, 5, "stable")
    assert steady["p10"] <= steady["p50"] <= steady["p90"]
    assert f"IQR/median > {UNSTABLE_IQR_OVER_MEDIAN:.0%}" in steady["threshold"]
    flipping = spread([215.0, 275.0, 216.0, 274.0, 215.0, 276.0])
    assert flipping["stability"] == "unstable" and flipping["iqr_over_median"] > UNSTABLE_IQR_OVER_MEDIAN
    assert "machine's speed changed" in flipping["advice"] and "quiet machine" in flipping["advice"]
    assert spread([200.0, 300.0])["stability"] == "unknown"
    assert spread([]) == {}


def test_the_train_timing_carries_the_fastest_epoch_and_the_spread():
    from harness.callbacks import EpochFigures, timing_summary

    epochs = [EpochFigures(i + 1, 22, 22 * ms / 1000, 1.0) for i, ms in enumerate([500.0, 200.0, 210.0, 190.0])]
    summary = timing_summary(epochs)  # the first epoch holds the compile: left out
    assert (summary["ms_per_step_median"], summary["ms_per_step_min"], summary["timed_epochs"]) == (200.0, 190.0, 3)
    assert summary["ms_per_step_spread"]["samples"] == 3 and summary["ms_per_step_spread"]["p50"] == 200.0
    assert summary["ms_per_step_spread"]["stability"] == "stable"


def test_drift_reference_divides_each_epoch_by_the_reference_timed_after_it():
    from harness.calibration import DriftReference

    reference = DriftReference(64, 32)
    reference.per_epoch = [90.0, 100.0, 125.0, 100.0]  # the machine slowed by 25% in epoch 3
    reference.other_load = [{"other_cores": 0.0, "stolen_cores": 0.0, "own_cpu_s": s} for s in (20.0, 8.8, 9.9, 9.0)]
    figures = reference.figures([400.0, 200.0, 250.0, 200.0], steps_per_epoch=22)
    assert figures["normalised_step_per_epoch"] == [round(400 / 90, 4), 2.0, 2.0, 2.0]
    assert figures["normalised_step"] == 2.0  # each timed epoch over its own reference, median (compile left out)
    assert figures["normalised_step_fastest"] == 2.0
    assert figures["normalised_step_spread"]["stability"] == "stable"
    assert figures["calibration"]["ms_min"] == 100.0 and figures["calibration"]["ms_per_epoch"][2] == 125.0
    assert (figures["calibration"]["batch_size"], figures["calibration"]["image_size"]) == (64, 32)
    assert figures["cpu_ms_per_step_min"] == 400.0 and figures["cpu_ms_per_step_per_epoch"][2] == 450.0
    assert DriftReference(64, 32).figures([400.0], 22) == {}


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_the_slowdown_knob_refuses_a_value_that_is_not_a_count(value):
    from harness.machine_profile import EXTRA_WORK_ENV, extra_work_per_step

    with pytest.raises(BenchError, match=EXTRA_WORK_ENV):
        extra_work_per_step({EXTRA_WORK_ENV: value})
    assert extra_work_per_step({}) == 0.0 and extra_work_per_step({EXTRA_WORK_ENV: "2"}) == 2.0
    result = bench("--results", "/nonexistent/never-written", env={EXTRA_WORK_ENV: value})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and EXTRA_WORK_ENV in result.stderr


def with_normalised(record: dict, value: float) -> dict:
    record["figures"]["train"]["normalised_step"] = value
    return record


def test_the_gate_uses_the_normalised_step_and_reports_raw_ms_per_step_ungated():
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    baseline = make_baseline(with_normalised(make_record(), 10.0), tolerances, "run.json")
    machine_slower = with_normalised(make_record(**{"figures.train.ms_per_step_median": 400.0}), 10.5)
    verdict = check(machine_slower, baseline, tolerances, gate_speed=True)
    assert [(f.figure, f.regressed) for f in verdict.findings] == [("top-1", False), ("normalised step", False)]
    assert any("not gated: the normalised step is" in note for note in verdict.notes)
    code_slower = with_normalised(make_record(), 12.5)
    assert check(code_slower, baseline, tolerances, gate_speed=True).regressions[0].figure == "normalised step"
    older = make_baseline(make_record(), tolerances, "run.json")  # a record from before the drift reference
    assert [f.figure for f in check(code_slower, older, tolerances, gate_speed=True).findings] == ["top-1", "ms/step"]


def test_in_ci_speed_is_gated_only_with_speed_and_then_on_the_normalised_step(tmp_path):
    assert speed_gate_default({"CI": "true"}) is False and speed_gate_default({}) is True
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    baseline = write_record(tmp_path / "b.json", make_baseline(with_normalised(make_record(), 10.0), tolerances, "r"))
    slower = write_record(tmp_path / "slow.json", with_normalised(make_record(), 12.5))
    assert bench("check", slower, "--baseline", baseline, env={"CI": "true"}).returncode == 0
    result = bench("check", slower, "--baseline", baseline, "--speed", env={"CI": "true"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REGRESSION normalised step: baseline 10.000, new 12.500 (tolerance: may grow x1.12; now x1.25)" \
        in result.stdout
    assert bench("check", slower, "--baseline", baseline, "--speed", "--max-normalised-slowdown", "1.3",
                 env={"CI": "true"}).returncode == 0


def test_the_profile_sets_the_isa_and_a_users_setting_wins(tmp_path):
    from harness import machine_profile
    from harness.types import DatasetOptions

    environ = {"GOOGLENET_BENCH_CACHE": str(tmp_path)}
    settings = machine_profile.speed_settings(environ)
    settings.apply_environment(environ)
    assert environ["ONEDNN_MAX_CPU_ISA"] == "AVX2" and settings.describe()["source"].startswith("conservative default")
    assert "python bench.py tune" in settings.hint()
    path = machine_profile.profile_path(environ)
    assert path.parent == tmp_path / "tune" and "mindspore-2.10.0" in path.name
    machine_profile.write_profile(path, {"isa": "default", "threads": 1, "workers": 3}, [], "cpu", "digits")
    environ = {"GOOGLENET_BENCH_CACHE": str(tmp_path)}
    settings = machine_profile.speed_settings(environ)
    settings.apply_environment(environ)
    assert "ONEDNN_MAX_CPU_ISA" not in environ  # the profile measured oneDNN's own choice best
    assert settings.describe() == {"source": "profile", "profile": str(path),
                                   "settings": {"isa": "default", "threads": 1, "workers": 3}}
    assert settings.hint() is None
    assert settings.dataset_options(DatasetOptions(num_parallel_workers=2)).num_parallel_workers == 3
    environ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"
    users = machine_profile.speed_settings(environ)
    assert users.isa == "AVX512_CORE" and users.describe()["isa_from"] == "ONEDNN_MAX_CPU_ISA set in the environment"


@pytest.mark.bad_input
def test_a_broken_profile_is_one_line_naming_the_file_and_the_fix(tmp_path):
    from harness import machine_profile

    environ = {"GOOGLENET_BENCH_CACHE": str(tmp_path)}
    path = machine_profile.profile_path(environ)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": 1, "settings": {"isa": "AVX2", "threads": -1, "workers": 0}}))
    result = bench("--set", "epochs=1", env={"GOOGLENET_BENCH_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: tuning profile {path} is unreadable (unexpected content): "
                                     "delete it or rerun `python bench.py tune`")


def test_tune_tries_avx2_first_and_avx512_only_where_the_cpu_has_it():
    from harness.tune import isa_candidates

    assert isa_candidates({"avx2", "avx512f"}) == ["AVX2", "default", "AVX512_CORE"]
    assert isa_candidates({"avx2"}) == ["AVX2", "default"]
    assert isa_candidates(set()) == ["default"]


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "error: --steps must be at least 1, got 0"),
    (["--backend", "nope"], "error: unknown backend 'nope': choose one of"),
    (["--backend", "gpu"], "error: backend 'gpu' is not usable here:"),
])
def test_tune_refuses_bad_input_in_one_line_before_measuring(tmp_path, args, message):
    result = bench("tune", *args, env={"GOOGLENET_BENCH_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "tune").exists()

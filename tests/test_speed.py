"""Speed figures you can trust: spread and stability verdict, the drift reference's figures, the
normalised speed gate, the machine profile and the tuner's choices. No training here."""
import copy
import io
import json

import pytest

from googlenet_bench.harness.reporting.check import DEFAULT_TOLERANCES, Tolerances, check, make_baseline, speed_gate_default
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.measure.timing import UNSTABLE_IQR_OVER_MEDIAN, spread
from record_fixtures import bench, make_record, write_record
from conftest import one_line


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
    from googlenet_bench.harness.training.callbacks import EpochFigures, timing_summary

    epochs = [EpochFigures(i + 1, 22, 22 * ms / 1000, 1.0) for i, ms in enumerate([500.0, 200.0, 210.0, 190.0])]
    summary = timing_summary(epochs)  # the first epoch holds the compile: left out
    assert (summary["ms_per_step_median"], summary["ms_per_step_min"], summary["timed_epochs"]) == (200.0, 190.0, 3)
    assert summary["ms_per_step_spread"]["samples"] == 3 and summary["ms_per_step_spread"]["p50"] == 200.0
    assert summary["ms_per_step_spread"]["stability"] == "stable"


def test_drift_reference_divides_each_window_by_the_reference_timed_right_after_it():
    from googlenet_bench.harness.training.calibration import EVERY_STEPS, DriftReference

    reference = DriftReference(64, 32)
    # (epoch, mean step ms of the window, reference ms): epoch 1 holds the compile; in epoch 3 the
    # machine slowed by 25% for a window, and the reference followed it; in epoch 4 one step window
    # was disturbed and its reference not.
    reference.windows = [(1, 900.0, 90.0), (2, 200.0, 100.0), (2, 200.0, 100.0), (3, 250.0, 125.0),
                         (3, 250.0, 125.0), (4, 200.0, 100.0), (4, 300.0, 100.0), (4, 200.0, 100.0)]
    reference.off_clock_s = 1.5
    figures = reference.figures()
    assert figures["normalised_step_per_epoch"] == [10.0, 2.0, 2.0, 2.0]
    assert figures["normalised_step"] == 2.0  # median step 200 (of the timed windows) over median reference 100
    assert figures["normalised_step_spread"]["samples"] == 3  # timed epochs
    assert figures["calibration"]["ms_median"] == 100.0 and len(figures["calibration"]["windows"]) == 8
    assert figures["calibration"]["off_clock_s"] == 1.5 and figures["calibration"]["every_steps"] == EVERY_STEPS
    assert (figures["calibration"]["batch_size"], figures["calibration"]["image_size"]) == (64, 32)
    assert DriftReference(64, 32).figures() == {}


def test_other_load_gives_the_cpu_time_per_step_of_the_timed_epochs():
    from googlenet_bench.harness.training.calibration import OtherLoad

    load = OtherLoad()
    load.other_load = [{"other_cores": 0.0, "stolen_cores": 0.0, "own_cpu_s": s} for s in (20.0, 8.8, 9.9, 9.0)]
    figures = load.figures(steps_per_epoch=22)
    assert figures["cpu_ms_per_step_min"] == 400.0 and figures["cpu_ms_per_step_per_epoch"][2] == 450.0
    assert figures["other_load_per_epoch"] == load.other_load


def test_a_default_run_has_no_drift_reference_and_asks_for_one_by_suite_key():
    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.training.calibration import DriftReference, speed_callbacks

    assert load_suite("digits", [])["drift_reference"] is False
    assert speed_callbacks(0.0, 64, 32, drift_reference=False) == ([], None)
    assert isinstance(speed_callbacks(0.0, 64, 32, drift_reference=True)[1], DriftReference)


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_the_slowdown_knob_refuses_a_value_that_is_not_a_count(value):
    from googlenet_bench.harness.measure.machine_profile import EXTRA_WORK_ENV, extra_work_per_step

    with pytest.raises(BenchError, match=EXTRA_WORK_ENV):
        extra_work_per_step({EXTRA_WORK_ENV: value})
    assert extra_work_per_step({}) == 0.0 and extra_work_per_step({EXTRA_WORK_ENV: "2"}) == 2.0
    result = bench("--results", "/nonexistent/never-written", env={EXTRA_WORK_ENV: value})
    assert result.returncode == 2 and one_line(result.stderr) and EXTRA_WORK_ENV in result.stderr


def timed(record: dict, ms_per_step: float, reference_ms: float = 200.0, other_cores: float = 0.0,
          every_steps: int | None = 2) -> dict:
    """A record's speed figures: ms/step, the drift reference's median, other processes' load per epoch."""
    train = record["figures"]["train"]
    train["ms_per_step_median"] = ms_per_step
    train["normalised_step"] = round(ms_per_step / reference_ms, 4)
    train["calibration"] = {"every_steps": every_steps, "ms_median": reference_ms}
    train["other_load_per_epoch"] = [{"other_cores": 0.0}] + [{"other_cores": other_cores}] * 3
    return record


def test_speed_is_gated_on_ms_per_step_when_the_machine_was_in_the_baselines_state():
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    baseline = make_baseline(timed(make_record(), 480.0, 220.0), tolerances, "run.json")
    gate = lambda record: check(record, baseline, tolerances, gate_speed=True)  # noqa: E731

    code_slower = gate(timed(make_record(), 600.0, 230.0))  # the reference held: the step itself got slower
    assert [(f.figure, f.regressed) for f in code_slower.findings] == [("top-1", False), ("ms/step", True)]
    assert code_slower.findings[1].line() == ("REGRESSION ms/step: baseline 480.00, new 600.00 "
                                              "(tolerance: may grow x1.12; now x1.25)")
    assert any("step over drift reference" in note and "not gated" in note for note in code_slower.notes)
    assert not gate(timed(make_record(), 530.0, 262.0)).regressions  # x1.10, reference x1.19: still gated, passes

    # the machine itself ran slower (the reference too) or other processes were busy: no verdict either way
    for slowed_machine in (timed(make_record(), 720.0, 330.0), timed(make_record(), 720.0, 225.0, other_cores=0.6)):
        verdict = gate(slowed_machine)
        assert [f.figure for f in verdict.findings] == ["top-1"] and not verdict.regressions
        (note,) = [note for note in verdict.notes if note.startswith("speed: inconclusive")]
        assert "rerun on a quiet machine" in note and "x1.50" in note
    busy_baseline = make_baseline(timed(make_record(), 480.0, 220.0, other_cores=0.5), tolerances, "busy.json")
    assert "baseline's epochs" in check(timed(make_record(), 600.0, 220.0), busy_baseline, tolerances, True).notes[0]

    older = make_baseline(make_record(), tolerances, "run.json")  # a record from before the drift reference
    assert gate(timed(make_record(), 600.0)).regressions and check(
        timed(make_record(), 600.0), older, tolerances, gate_speed=True).regressions[0].figure == "ms/step"


@pytest.mark.parametrize("key, value", [("cpu_model", "Intel Xeon"), ("cpu_vector_isa", "avx512f"),
                                        ("cpu_cores", 64), ("mindspore", "2.9.0"),
                                        ("device_context.ONEDNN_MAX_CPU_ISA", "AVX512_CORE"),
                                        ("speed_settings.settings.threads", 1)])
def test_speed_is_not_gated_against_a_baseline_from_another_machine_or_setting(key, value):
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    record = timed(make_record(), 480.0)
    record["environment"].setdefault("speed_settings", {"settings": {"isa": "AVX2", "threads": 2, "workers": 0}})
    baseline = make_baseline(record, tolerances, "run.json")
    slower = timed(copy.deepcopy(record), 960.0)
    assert check(slower, baseline, tolerances, gate_speed=True).regressions  # same machine: gated
    target = slower["environment"]
    *parents, leaf = key.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = value
    verdict = check(slower, baseline, tolerances, gate_speed=True)
    assert not verdict.regressions and [f.figure for f in verdict.findings] == ["top-1"]
    assert any(note.startswith("speed: not gated (the baseline was measured on another machine") and
               "bench.py baseline" in note for note in verdict.notes)


def test_in_ci_speed_is_gated_only_with_speed(tmp_path):
    assert speed_gate_default({"CI": "true"}) is False and speed_gate_default({}) is True
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    baseline = write_record(tmp_path / "b.json", make_baseline(timed(make_record(), 480.0), tolerances, "r"))
    slower = write_record(tmp_path / "slow.json", timed(make_record(), 600.0))
    assert bench("check", slower, "--baseline", baseline, env={"CI": "true"}).returncode == 0
    result = bench("check", slower, "--baseline", baseline, "--speed", env={"CI": "true"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REGRESSION ms/step: baseline 480.00, new 600.00 (tolerance: may grow x1.12; now x1.25)" in result.stdout
    assert bench("check", slower, "--baseline", baseline, "--speed", "--max-slowdown", "1.3",
                 env={"CI": "true"}).returncode == 0


@pytest.mark.bad_input
def test_a_baseline_with_the_retired_normalised_tolerance_is_refused_in_one_line(tmp_path):
    record = make_baseline(timed(make_record(), 480.0), Tolerances(**DEFAULT_TOLERANCES), "r")
    record["tolerances"]["normalised_step_ratio"] = 1.12
    result = bench("check", write_record(tmp_path / "run.json", timed(make_record(), 480.0)), "--baseline",
                   write_record(tmp_path / "b.json", record))
    assert result.returncode == 2 and one_line(result.stderr)
    assert "tolerance 'normalised_step_ratio' is no longer read" in result.stderr and "remove it" in result.stderr


def test_the_profile_sets_the_isa_and_a_users_setting_wins(tmp_path):
    from googlenet_bench.harness.measure import machine_profile
    from googlenet_bench.harness.types import DatasetOptions

    environ = {"GOOGLENET_BENCH_CACHE": str(tmp_path)}
    settings = machine_profile.speed_settings(environ)
    settings.apply_environment(environ)
    assert environ["ONEDNN_MAX_CPU_ISA"] == "AVX2" and settings.describe()["source"].startswith("conservative default")
    assert "python bench.py tune" in settings.hint()
    path = machine_profile.profile_path(environ)
    assert path.parent == tmp_path / "tune" and "mindspore-2.10.0" in path.name
    machine_profile.write_profile(path, {"isa": "default", "threads": 1, "workers": 3}, [], "cpu", "digits", {})
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
    from googlenet_bench.harness.measure import machine_profile

    environ = {"GOOGLENET_BENCH_CACHE": str(tmp_path)}
    path = machine_profile.profile_path(environ)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": 1, "settings": {"isa": "AVX2", "threads": -1, "workers": 0}}))
    result = bench("--set", "epochs=1", env={"GOOGLENET_BENCH_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: tuning profile {path} is unreadable (unexpected content): "
                                     "delete it or rerun `python bench.py tune`")


def test_tune_tries_avx2_first_and_avx512_only_where_the_cpu_has_it():
    from googlenet_bench.harness.tuning.tune import isa_candidates

    assert isa_candidates({"avx2", "avx512f"}) == ["AVX2", "default", "AVX512_CORE"]
    assert isa_candidates({"avx2", "avx_vnni"}) == ["AVX2", "default"]
    assert isa_candidates({"avx2"}) == ["AVX2"]  # oneDNN's own choice would be AVX2 too: nothing to time
    assert isa_candidates(set()) == ["default"]


def fake_tune(monkeypatch, speeds: dict, stopped=()):
    """tune() with stand-in measurements: each candidate's ms/step in turn, noisy by +-3%, 3 rounds."""
    from googlenet_bench.harness.tuning import tune as tuning

    runs, noise = [], [1.0, 1.03, 0.97]

    def fake_measure(candidate, backend, suite, steps, timeout_s, stream, data=None):
        key = (candidate.isa, candidate.threads, candidate.workers)
        runs.append(key)
        if key in stopped:
            return {"stopped": tuning.STOPPED, "wall_s": 90.0}
        return {"ms_per_step": speeds[key] * noise[runs.count(key) % 3], "wall_s": 30.0}

    monkeypatch.setattr(tuning, "measure", fake_measure)
    monkeypatch.setattr(tuning, "cpu_flags", lambda: {"avx2", "avx512f"})
    monkeypatch.setattr(tuning.os, "cpu_count", lambda: 2)
    stream = io.StringIO()
    return tuning.tune("cpu", "digits", steps=8, stream=stream), runs, stream.getvalue()


def test_tune_keeps_a_candidate_only_beyond_the_measured_noise(monkeypatch):
    from googlenet_bench.harness.tuning.tune import gain_line

    speeds = {("AVX2", 0, 0): 450.0, ("default", 0, 0): 300.0, ("AVX512_CORE", 0, 0): 310.0,
              ("default", 1, 0): 530.0, ("default", 2, 0): 290.0, ("default", 0, 1): 301.0}
    (settings, measurements, against, stages), runs, printed = fake_tune(monkeypatch, speeds)
    # oneDNN's own choice: 33% faster than AVX2, beyond noise; AVX512_CORE is 3% slower than it (not kept:
    # the stage keeps the fastest that beat ITS default). 2 threads: 3% faster, inside +-3% noise.
    assert settings == {"isa": "default", "threads": 0, "workers": 0}
    assert runs[:9] == [("AVX2", 0, 0), ("default", 0, 0), ("AVX512_CORE", 0, 0)] * 3  # interleaved, 3 rounds
    threads = stages[1]["candidates"]
    assert threads[0]["verdict"].startswith("slower: x1.77") and threads[1]["verdict"].startswith("within noise")
    assert "x0.97 of the default's ms/step" in printed and not threads[1]["faster"]
    assert against == {"tuned_over_untuned": 1.0, "note": "the tuned settings are the defaults"}
    assert len(measurements) == len(runs) == 9 + 9 + 6


def test_tune_prints_a_stopped_candidate_as_a_bound_never_as_a_time(monkeypatch):
    from googlenet_bench.harness.tuning.tune import gain_line

    speeds = {("AVX2", 0, 0): 450.0, ("AVX512_CORE", 0, 0): 460.0, ("AVX2", 1, 0): 600.0, ("AVX2", 2, 0): 452.0,
              ("AVX2", 0, 1): 449.0}
    (settings, _, against, stages), _, printed = fake_tune(monkeypatch, speeds, stopped={("default", 0, 0)})
    assert settings == {"isa": "AVX2", "threads": 0, "workers": 0}
    assert stages[0]["candidates"][0]["verdict"].startswith("slower: stopped at the cut-off")
    assert against["tuned_over_untuned"] is None and against["untuned_ms_per_step"] == ["stopped"] * 3
    assert gain_line(against).startswith("against the untuned defaults: faster: the default was stopped at the cut-off")


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "error: --steps must be at least 1, got 0"),
    (["--backend", "nope"], "error: unknown backend 'nope': choose one of"),
    (["--backend", "gpu"], "error: backend 'gpu' is not usable here:"),
])
def test_tune_refuses_bad_input_in_one_line_before_measuring(tmp_path, args, message):
    result = bench("tune", *args, env={"GOOGLENET_BENCH_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.startswith(message) and one_line(result.stderr), result.stderr
    assert not (tmp_path / "tune").exists()


def test_a_baseline_of_several_runs_is_the_run_with_the_median_speed_figure_and_check_says_so(tmp_path):
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    paths = [write_record(tmp_path / f"run{i}.json", timed(make_record(), value))
             for i, value in enumerate((500.0, 470.0, 480.0))]
    result = bench("baseline", *paths, "--to", tmp_path / "b.json")
    assert result.returncode == 0, result.stderr
    assert "median ms/step of 3 runs" in result.stdout
    baseline = json.loads((tmp_path / "b.json").read_text())
    assert baseline["baseline_of"] == str(paths[2]) and baseline["figures"]["train"]["ms_per_step_median"] == 480.0
    assert baseline["baseline_chosen"]["values"] == [500.0, 470.0, 480.0]
    slower = write_record(tmp_path / "slow.json", timed(make_record(), 480.0 * 1.2))
    checked = bench("check", slower, "--baseline", tmp_path / "b.json")
    assert checked.returncode == 1 and "speed baseline: the median ms/step of 3 runs" in checked.stdout
    # runs of another machine, or a failed run, cannot be pooled: one line, nothing written
    other = timed(make_record(), 480.0)
    other["environment"]["cpu_cores"] = 96
    refused = bench("baseline", paths[0], write_record(tmp_path / "other.json", other), "--to", tmp_path / "c.json")
    assert refused.returncode == 2 and "a baseline comes from runs of one machine" in refused.stderr
    failed = write_record(tmp_path / "failed.json", timed(make_record(status="diverged"), 480.0))
    refused = bench("baseline", paths[0], failed, "--to", tmp_path / "c.json")
    assert refused.returncode == 2 and one_line(refused.stderr) and not (tmp_path / "c.json").exists()

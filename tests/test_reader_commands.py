"""Every reader command, as a user runs it (report, compare, compare --reference zoo, check, history,
history --plot, publish, baseline), over records changed anywhere inside, valid and invalid: each either
works or refuses in one line with exit 2. No traceback, ever. The schema (googlenet_bench.harness.results.schema)
is what makes that so: the readers have no type guards of their own."""
from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from googlenet_bench.harness.cli.main import main
from record_fixtures import inner_paths

DATA = Path(__file__).resolve().parent / "data"
REAL = json.loads((DATA / "digits-cpu-full-record.json").read_text(encoding="utf-8"))  # a real run of 2026-12-04
DELETE = object()


def full_record() -> dict:
    record = json.loads(json.dumps(REAL))
    figures = record["figures"]
    figures["transfer"] = {"pretrained": "p.ckpt", "steps": 22, "top1_pretrained": 0.88, "top1_scratch": 0.47}
    figures["resumed"] = {"from_checkpoint": None, "from_epoch": 0, "from_step_in_epoch": 0}
    figures["ranks"] = {"per_rank": [{"rank": 0}], "parameters_identical": True, "ms_per_step_per_rank": [216.5],
                        "startup_s": 4.0, "startup_s_per_rank": [4.0]}
    figures["scaling"] = {"ranks": 2, "ms_per_step_per_rank": [216.5, None], "images_per_s_per_rank": [300.0, None],
                          "images_per_s": 590.0, "efficiency": 0.9,
                          "reference": {"path": "one.json", "ms_per_step": 200.0}}
    figures["rehearsal"] = {"host": "cpu", "notes": ["AMP O2 ran as O0"]}
    record["baseline_chosen"] = {"chosen_by": "median ms/step", "runs": ["a.json", "b.json"], "values": [216.5, None]}
    figures["train"]["time_to_target_s"], figures["train"]["epochs_to_target"] = 12.0, 1
    figures["train"]["final_loss"] = "nan"  # strict_json's spelling of a diverged loss
    return record


FULL = full_record()


# The reader-facing part of the record: config keys are checked against the suite schema (test_properties).
PATHS = [path for path in inner_paths(FULL) if path[0] in ("figures", "environment", "status", "started", "run_id",
                                                              "error", "suite", "backend", "baseline_chosen")]


def changed(changes) -> dict:
    document = json.loads(json.dumps(FULL))
    for path, value in changes:
        *parents, leaf = path
        target = document
        for key in parents:
            ok = isinstance(target, dict) and key in target or isinstance(target, list) and isinstance(key, int) \
                and key < len(target)
            target = target[key] if ok else None
        ok = isinstance(target, dict) and leaf in target or isinstance(target, list) and leaf < len(target)
        if not ok:
            continue
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return document


def to_json(value) -> str:
    return json.dumps(value, allow_nan=True)


def command(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


def every_reader_command(folder: Path, record: dict) -> list[int]:
    """Each reader command over `record` beside the real one; the exit codes. Any exception fails the test."""
    shutil.rmtree(folder, ignore_errors=True)
    results = folder / "results"
    results.mkdir(parents=True)
    (results / "real.json").write_text(to_json(REAL))
    path = results / "changed.json"
    path.write_text(to_json(record))
    real = results / "real.json"
    codes = []
    for argv in (("report", path), ("compare", real, path), ("compare", path, real, "--reference", "zoo"),
                 ("check", path, "--baseline", real), ("check", real, "--baseline", path),
                 ("baseline", path, real, "--to", folder / "baseline.json"),
                 ("history", results), ("history", results, "--plot", folder / "trend.png"),
                 ("publish", results, "--to", folder / "site")):
        code, _, err = command(*argv)
        assert code in (0, 1, 2), (argv, code)
        if code == 2:
            assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        codes.append(code)
    return codes


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True),
                   st.sampled_from(["nan", "inf", "-inf", "", "x", "2026-12-04T18:00:00+00:00", -1, -5.0, 0, 1.5]),
                   st.just([]), st.just({}), st.just([{}]), st.just({"a": 1}), st.text(max_size=5))


@pytest.mark.bad_input
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES | st.just(DELETE)), min_size=1, max_size=3))
# The cases of issue 24: curve entries without their keys, a string time to target, NaN and negative ms/step.
@example([(("figures", "train", "accuracy_curve", 0), {"epoch": 1})])
@example([(("figures", "train", "accuracy_curve", 0, "top1"), DELETE)])
@example([(("figures", "train", "time_to_target_s"), "12.0")])
@example([(("figures", "train", "ms_per_step_median"), math.nan)])
@example([(("figures", "train", "ms_per_step_median"), -5.0)])
@example([(("figures", "resumed", "from_checkpoint"), None)])
@example([(("figures", "train", "compile_s"), None)])
# Found by CI: the only timed epoch's load unsampled, the compiling epoch's sampled.
@example([(("figures", "train", "other_load_per_epoch", 1, "other_cores"), None)])
def test_every_reader_command_works_or_refuses_in_one_line(tmp_path, changes):
    every_reader_command(tmp_path / "case", changed(changes))


@pytest.mark.bad_input
@pytest.mark.parametrize("path, value, message", [
    (("figures", "train", "accuracy_curve", 0), {"epoch": 1}, "figures.train.accuracy_curve[0].train_s is missing"),
    (("figures", "train", "time_to_target_s"), "12.0", "figures.train.time_to_target_s must be a finite number"),
    (("figures", "train", "ms_per_step_median"), math.nan, "ms_per_step_median must be a finite number above 0"),
    (("figures", "train", "ms_per_step_median"), -5.0, "ms_per_step_median must be a finite number above 0, got -5.0"),
    (("status",), "done", "status must be one of success"),
])
def test_the_issue_cases_are_refused_by_every_reader_naming_the_value(tmp_path, path, value, message):
    codes = every_reader_command(tmp_path, changed([(path, value)]))
    assert codes == [2] * 6 + [0] * 3, codes  # history and publish list the rest and name the file skipped
    _, _, err = command("report", tmp_path / "results" / "changed.json")
    assert message in err, err


def test_the_real_record_passes_every_reader_command(tmp_path):
    assert every_reader_command(tmp_path, FULL) == [0, 0, 0, 0, 0, 0, 0, 0, 0]

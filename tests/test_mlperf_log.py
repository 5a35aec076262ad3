"""The event log is MLPerf's: mlperf-logging's compliance checker passes it under the closest ruleset
(Training 4.0.0, open division, ResNet's rules: docs/records-and-formats.md lists what cannot apply), and
its result summarizer reads the run's time to target from it.

tests/data/digits-cpu-events.log is the events.log of a real default run (`bench.py`, digits on cpu,
2026-12-04); the slow test checks a fresh run's log too.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from googlenet_bench.harness.results.events import RULESET, SUBMISSION, EventLog, epochs_logged, read_event_log

REAL_LOG = Path(__file__).resolve().parent / "data" / "digits-cpu-events.log"


def googlenet_rules(tmp_path: Path) -> Path:
    """The package's own Training 4.0.0 rules with one change: no MLPerf benchmark is named googlenet, so
    submission_benchmark is checked to be "googlenet" and the benchmark rules applied are ResNet's."""
    from mlperf_logging import compliance_checker

    package = Path(compliance_checker.__file__).parent / f"training_{RULESET}"
    common = yaml.load((package / "common.yaml").read_text(), Loader=yaml.BaseLoader)
    open_common = yaml.load((package / "open_common.yaml").read_text(), Loader=yaml.BaseLoader)
    for rule in open_common:
        if rule.get("KEY", {}).get("NAME") == "submission_benchmark":
            rule["KEY"]["CHECK"] = " v['value'] == 'googlenet' "
            rule["KEY"]["POST"] = f" enqueue_config('training_{RULESET}/open_resnet.yaml') "
    ours = tmp_path / "open_common_googlenet.yaml"
    ours.write_text(yaml.safe_dump(open_common))
    for rule in common:
        if rule.get("KEY", {}).get("NAME") == "submission_division":
            rule["KEY"]["POST"] = rule["KEY"]["POST"].replace(
                f"enqueue_config('training_{RULESET}/{{}}_common.yaml'.format(v['value']))", f"enqueue_config('{ours}')")
            assert str(ours) in rule["KEY"]["POST"]  # the package's rule still reads as this test expects
    rules = tmp_path / "common_googlenet.yaml"
    rules.write_text(yaml.safe_dump(common))
    return rules


def compliance_messages(log: Path, tmp_path: Path) -> list[str]:
    from mlperf_logging.compliance_checker import mlp_compliance

    checker = mlp_compliance.make_checker("training", RULESET, quiet=False, werror=True)
    valid = checker.check_file(str(log), str(googlenet_rules(tmp_path)))
    messages = [*checker.warnings.values(), *checker.overwritable.values(), *checker.not_overwritable]
    assert valid == (not messages)
    return messages


def summarizer_minutes(log: Path) -> float:
    from mlperf_logging.compliance_checker.mlp_parser import parse_file
    from mlperf_logging.result_summarizer.result_summarizer import _query_mlperf_strong_scaling_score

    loglines, errors = parse_file(str(log), ruleset=RULESET)
    assert errors == []
    return _query_mlperf_strong_scaling_score(loglines)


def test_a_real_digits_log_passes_the_compliance_checker(tmp_path):
    assert compliance_messages(REAL_LOG, tmp_path) == []


def test_the_checker_rejects_a_log_that_breaks_a_rule(tmp_path):
    lines = [line for line in REAL_LOG.read_text().splitlines() if '"key": "init_stop"' not in line]
    broken = tmp_path / "events.log"
    broken.write_text("\n".join(lines) + "\n")
    assert any("init_stop" in message for message in compliance_messages(broken, tmp_path))


def test_the_summarizer_reads_the_time_to_target_and_the_lines_are_mllog_lines():
    events = [json.loads(line.removeprefix(":::MLLOG ")) for line in REAL_LOG.read_text().splitlines()]
    assert all(list(event) == ["namespace", "time_ms", "event_type", "key", "value", "metadata"] for event in events)
    assert all({"file", "lineno"} <= set(event["metadata"]) for event in events)
    keys = [event["key"] for event in events]
    assert keys[:4] == list(SUBMISSION) and keys.count("run_stop") == 1 and "status" not in keys
    run_start = next(e for e in events if e["key"] == "run_start")
    stop = next(e for e in events if e["key"] == "run_stop")
    reached = next(e for e in events if e["key"] == "eval_accuracy" and e["value"] >= run_start["metadata"]["target_top1"])
    assert stop["metadata"]["status"] == "success" and stop["time_ms"] == reached["time_ms"]
    # MLPerf's clock: from the first training step to the evaluation that reached the target (evaluations included)
    assert summarizer_minutes(REAL_LOG) == pytest.approx((reached["time_ms"] - run_start["time_ms"]) / 60000)
    assert reached["metadata"]["epoch_num"] == 6


def test_an_unreached_target_or_a_failure_stops_the_run_aborted_and_epochs_read_back(tmp_path):
    log = EventLog(tmp_path / "events.log")
    log.open_run("CPU", suite="digits")
    log.train_start(global_batch_size=64, opt_base_learning_rate=0.01, train_samples=256, eval_samples=100,
                    target_top1=0.95)
    log.log("epoch_start", 1)
    log.log("epoch_stop", 1, loss=float("nan"), lr=0.01, ms_per_step=210.0)
    log.log("eval_accuracy", 0.5, epoch=1, train_s=1.0, eval_s=0.5)
    log.close_run("below_target")
    stops = [e for e in read_event_log(tmp_path / "events.log") if e["key"] == "run_stop"]
    assert [s["metadata"]["status"] for s in stops] == ["aborted"] and stops[0]["metadata"]["harness_status"] == "below_target"
    [epoch] = epochs_logged(tmp_path / "events.log", 1)
    assert epoch["epoch"] == 1 and math.isnan(epoch["loss"]) and set(epoch) == {"epoch", "loss", "lr", "ms_per_step"}
    assert log.events == [json.loads(line.removeprefix(":::MLLOG "), parse_constant=str)
                          for line in (tmp_path / "events.log").read_text().splitlines()]
    assert log.events[0]["metadata"]["file"] == "tests/test_mlperf_log.py"  # the call site, as mllog records it


@pytest.mark.slow
def test_a_fresh_digits_runs_log_passes_the_checker(digits_run, tmp_path):
    run_dir = digits_run["path"].with_suffix("")
    assert compliance_messages(run_dir / "events.log", tmp_path) == []

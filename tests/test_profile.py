"""The profile pass (--profile): a breakdown of the profiled step by operator category, kept apart from the
timed steps, with the network put back as the timed run trained it."""
import csv
import json

import numpy as np
import pytest

from googlenet_bench.harness.measure.profile import (NO_OPERATOR, OTHER_OPERATORS, breakdown, category_of,
                                                     idle_between_operators, operator_table)
from tests.conftest import SHORT_DIGITS, one_line, run_bench


@pytest.mark.parametrize("op_type, category", [
    ("Conv2D", "convolution forward"), ("Conv2DBackpropFilter", "convolution backward"),
    ("Conv2DBackpropInput", "convolution backward"), ("BatchNormGrad", "BatchNorm"), ("MaxPoolGrad", "pooling"),
    ("Concat", "concat"), ("ReluGrad", "activation"), ("ApplyMomentum", "optimizer"),
    ("AllReduce", "communication"), ("MemcpyAsync", "host-device copy"), ("Cast", "cast"), ("MatMul", OTHER_OPERATORS),
])
def test_operator_types_fall_into_their_categories(op_type, category):
    assert category_of(op_type) == category


def test_the_breakdown_is_per_step_and_shares_of_the_step():
    table = {"Conv2D": 40.0, "Conv2DBackpropFilter": 60.0, "MatMul": 10.0}  # ms over 2 steps
    found = breakdown(table, steps=2, step_ms=60.0, idle_ms=8.0)
    by_category = {c["category"]: c for c in found["by_category"]}
    assert by_category["convolution forward"] == {"category": "convolution forward", "ms_per_step": 20.0, "share": 0.3333}
    assert by_category[NO_OPERATOR]["ms_per_step"] == 4.0
    assert found["accounted_share"] == round((20 + 30 + 5 + 4) / 60, 4)
    assert [o["op_type"] for o in found["top_operators"]] == ["Conv2DBackpropFilter", "Conv2D", "MatMul"]


def test_the_cpu_operator_table_is_read_in_milliseconds(tmp_path):
    table = tmp_path / "x_ascend_ms" / "FRAMEWORK" / "cpu_op_type_info_0.csv"
    table.parent.mkdir(parents=True)
    table.write_text("op_type,type_occurrences,execution_frequency(per-step),total_compute_time,avg_time(ms),percent\n"
                     "Conv2D,342,57,264.65,0.77383,0.16486\nReLU,342,57,9.5,0.0281268,0.00599225\n")
    assert operator_table(tmp_path) == ({"Conv2D": 264.65, "ReLU": 9.5}, "x_ascend_ms/FRAMEWORK/cpu_op_type_info_0.csv")
    assert operator_table(tmp_path / "x_ascend_ms" / "logs") is None


@pytest.mark.parametrize("backend, activities", [("cpu", ["CPU"]), ("gpu", ["CPU", "GPU"]), ("ascend", ["CPU", "NPU"])])
def test_each_backend_names_profiler_activities_mindspore_has(backend, activities):
    from mindspore.profiler import ProfilerActivity

    from googlenet_bench.harness.plugins import Backends
    from googlenet_bench.harness.suites import load_suite

    named = Backends().select(backend).profiler_activities(load_suite("digits"))
    assert named == activities and all(isinstance(getattr(ProfilerActivity, name), ProfilerActivity) for name in named)


def test_the_time_with_no_operator_running_comes_from_the_operators_timeline(tmp_path):
    def span(pid, ts, dur):
        return {"ph": "X", "name": "op", "pid": pid, "tid": 0, "ts": str(ts), "dur": str(dur)}

    events = [{"ph": "M", "name": "process_name", "pid": 2, "args": {"name": "CPU OP"}},
              {"ph": "M", "name": "process_name", "pid": 3, "args": {"name": "Scope Layer"}},
              span(2, 1000, 500), span(2, 1200, 100), span(2, 2500, 1000), span(3, 0, 9000)]  # microseconds
    (tmp_path / "a" / "ASCEND_PROFILER_OUTPUT").mkdir(parents=True)
    (tmp_path / "a" / "ASCEND_PROFILER_OUTPUT" / "trace_view.json").write_text(json.dumps(events))
    assert idle_between_operators(tmp_path) == 1.0  # 1,500 to 2,500 us; the scope process is not the operators'
    assert idle_between_operators(tmp_path / "a" / "ASCEND_PROFILER_OUTPUT" / "none") is None


def test_profile_needs_the_training_it_profiles(tmp_path):
    result = run_bench("--phases", "eval,profile", "--results", str(tmp_path / "results"))
    assert result.returncode == 2 and one_line(result.stderr) and "--phases profile needs train" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_profiled_run_records_where_the_step_goes_and_keeps_the_trained_network(tmp_path):
    import mindspore as ms
    import mindspore.nn as nn

    from googlenet_bench.model import GoogleNet

    results = tmp_path / "results"
    result = run_bench(*SHORT_DIGITS, "--set", "profile_steps=3", "--phases", "train,export", "--profile",
                       "--results", str(results))
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = results.glob("*.json")
    record = json.loads(path.read_text())
    profile = record["figures"]["profile"]
    assert profile["steps"] == 3 and profile["ms_per_step"] > 0
    by_category = {c["category"]: c["ms_per_step"] for c in profile["by_category"]}
    for category in ("convolution forward", "convolution backward", "BatchNorm", "pooling", "optimizer"):
        assert by_category[category] > 0, category
    assert 0.9 <= profile["accounted_share"] <= 1.1, profile  # the categories add up to the profiled step
    assert len(profile["top_operators"]) == 10
    assert list((path.parent / record["run_id"] / "profile" / "rank0").rglob("cpu_op_type_info_*.csv"))
    assert "Start parsing profiling data" not in result.stdout + result.stderr  # the profiler's lines go to its log

    # The pass trained 4 more steps, then put every parameter back: the export equals the saved weights.
    figures = record["figures"]
    net = GoogleNet(10)
    ms.load_param_into_net(net, ms.load_checkpoint(figures["weights"]["path"]))
    net.set_train(False)
    images = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
    exported = nn.GraphCell(ms.load(figures["export"]["MINDIR"]["path"]))
    assert np.array_equal(exported(ms.Tensor(images)).asnumpy(), net(ms.Tensor(images)).asnumpy())

    shown = run_bench("report", str(path))
    assert "profile: 3 profiled steps" in shown.stdout and "top operators: " in shown.stdout, shown.stdout


@pytest.mark.slow
def test_a_two_rank_profile_records_the_all_reduce_share(tmp_path):
    results = tmp_path / "results"
    result = run_bench(*SHORT_DIGITS, "--ranks", "2", "--set", "profile_steps=3", "--phases", "train", "--profile",
                       "--results", str(results))
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = results.glob("*.json")
    record = json.loads(path.read_text())
    by_category = {c["category"]: c for c in record["figures"]["profile"]["by_category"]}
    assert by_category["communication"]["ms_per_step"] > 0 and by_category["communication"]["share"] > 0
    tables = {rank: list((path.parent / record["run_id"] / "profile" / f"rank{rank}").rglob("cpu_op_type_info_*.csv"))
              for rank in (0, 1)}
    assert all(tables.values())  # every rank took part in the profiled all-reduces, and kept its trace
    # The CPU backend fuses the gradients' all-reduces: MindSpore ran a few per step, not one per parameter (173).
    with open(tables[0][0], newline="") as handle:
        [all_reduce] = [row for row in csv.DictReader(handle) if row["op_type"] == "AllReduce"]
    assert 1 <= int(all_reduce["execution_frequency(per-step)"]) <= 4, all_reduce

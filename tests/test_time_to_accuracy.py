"""Time to accuracy (evaluation every k epochs, off the training clock) and the inference scenarios
(SingleStream latency, Offline throughput): the callback, the measurements, and how the readers show them."""
import json
import time

import numpy as np
import pytest

from googlenet_bench.harness.reporting.compare import compare
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.figures import time_to_target
from googlenet_bench.harness.reporting.history import HEADERS, collect, history_row, plot
from googlenet_bench.harness.reporting.report import run_summary, zoo_rows
from googlenet_bench.harness.measure.scenarios import Scenarios, image_pool, offline, single_stream
from googlenet_bench.harness.suites import load_suite
from record_fixtures import bench, make_record, write_record

EVAL_PAUSE_S = 0.25


def slow_eval_net():
    """A tiny PyNative network whose forward sleeps in inference mode only: an evaluation
    that is slow and visible, so a training clock that included it would show it."""
    import mindspore as ms
    import mindspore.nn as nn

    ms.set_context(mode=ms.PYNATIVE_MODE)  # MindSpore's default; construct runs as Python, sleep included

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(4, 3)

        def construct(self, x):
            if not self.training:
                time.sleep(EVAL_PAUSE_S)
            return self.dense(x)

    return Net()


def tiny_data(count=24, batch=8):
    import mindspore.dataset as ds

    rng = np.random.default_rng(0)
    images = rng.standard_normal((count, 4)).astype(np.float32)
    labels = (images[:, 0] > 0).astype(np.int32) + (images[:, 1] > 0).astype(np.int32)
    return ds.NumpySlicesDataset((images, labels), column_names=["image", "label"], shuffle=False).batch(batch)


def train_with_eval(epochs, every, target=None, stop=False):
    import mindspore.nn as nn
    from mindspore.train import Model

    from googlenet_bench.harness.training.callbacks import EvalEvery, TrainTimer

    net = slow_eval_net()
    train_data, eval_data = tiny_data(), tiny_data(count=16)
    timer = TrainTimer(3)
    evaluator = EvalEvery(net, eval_data, 3, every, timer, target=target, stop=stop)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
                  nn.Momentum(net.trainable_params(), 0.1, 0.9))
    model.train(epochs, train_data, callbacks=[timer, evaluator], dataset_sink_mode=False)
    return net, timer, evaluator


@pytest.mark.slow  # trains
def test_evaluation_every_k_epochs_stays_off_the_training_clock():
    net, timer, evaluator = train_with_eval(epochs=4, every=2)
    assert [p.epoch for p in evaluator.points] == [2, 4]
    assert len(timer.epochs) == 4
    # Each evaluation sleeps 2 batches x EVAL_PAUSE_S. Epochs 2 and 4 end, and epoch 3 starts, next to one:
    # none holds it (epoch 1 holds PyNative's first-step work and is left out).
    assert evaluator.eval_s >= 2 * 2 * EVAL_PAUSE_S
    assert max(e.seconds for e in timer.epochs[1:]) < 2 * EVAL_PAUSE_S
    assert evaluator.points[1].train_s == pytest.approx(sum(e.seconds for e in timer.epochs), abs=0.01)
    assert net.training  # back in training mode after evaluating
    figures = evaluator.figures()
    assert figures["eval_every_epochs"] == 2 and [p["epoch"] for p in figures["accuracy_curve"]] == [2, 4]
    assert "time_to_target_s" not in figures  # no target set


@pytest.mark.slow  # trains
def test_a_reached_target_gives_time_and_epochs_and_can_stop_the_run():
    _, timer, evaluator = train_with_eval(epochs=5, every=1, target=0.0, stop=True)
    assert len(timer.epochs) == 1 and [p.epoch for p in evaluator.points] == [1]
    figures = evaluator.figures()
    assert figures["target_reached"] and figures["epochs_to_target"] == 1
    assert figures["time_to_target_s"] == evaluator.points[0].train_s
    _, timer, evaluator = train_with_eval(epochs=2, every=1, target=1.01, stop=True)  # out of reach
    figures = evaluator.figures()
    assert not figures["target_reached"] and figures["time_to_target_s"] is None and figures["epochs_to_target"] is None
    assert len(timer.epochs) == 2


def test_the_suite_keys_are_validated_and_digits_has_a_target():
    digits = load_suite("digits")
    assert digits["target_top1"] == 0.95 and digits["eval_every_epochs"] == 1 and digits["stop_at_target"] is False
    for bad in ("throughput_batches=[]", "throughput_batches=[0]", "throughput_batches=[true]", "target_top1=1.5",
                "eval_every_epochs=0", "latency_queries=0"):
        with pytest.raises(BenchError):
            load_suite("digits", [bad])


# -- inference scenarios ---------------------------------------------------------------------

def logits_of(images):
    return np.zeros((len(images), 10), dtype=np.float32)


def batch_one_only(images):
    if len(images) != 1:
        raise RuntimeError("input shape (1, 3, 8, 8) expected\nmore detail")
    return logits_of(images)


POOL = np.arange(20 * 3 * 8 * 8, dtype=np.float32).reshape(20, 3, 8, 8)


def test_single_stream_gives_latency_percentiles_after_the_warm_up():
    seen = []
    figures = single_stream(lambda images: seen.append(images.copy()) or logits_of(images), POOL, queries=10, warmup=3)
    assert len(seen) == 13 and all(len(images) == 1 for images in seen)
    assert np.array_equal(seen[3][0], POOL[3])  # queries follow the warm-up through the eval images
    assert figures["queries"] == 10 and figures["warmup_queries"] == 3
    assert 0 <= figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"]


def test_offline_records_a_batch_size_the_format_cannot_run_instead_of_failing():
    figures = offline(batch_one_only, POOL, (1, 4, 16), rounds=3)
    by_batch = {entry["batch"]: entry for entry in figures["per_batch"]}
    assert by_batch[1]["images_per_s"] > 0
    assert by_batch[4]["error"] == "RuntimeError: input shape (1, 3, 8, 8) expected"
    assert "images_per_s" not in by_batch[16]
    assert figures["best"] == {"batch": 1, "images_per_s": by_batch[1]["images_per_s"]}
    wrong_rows = offline(lambda images: logits_of(images[:1]), POOL, (4,), rounds=2)
    assert "returned 1 rows of logits for a batch of 4" in wrong_rows["per_batch"][0]["error"]
    assert wrong_rows["best"] is None
    assert "error" in single_stream(lambda images: 1 / 0, POOL, queries=2, warmup=0)


def test_batch_sizes_are_capped_at_the_eval_batch_and_the_pool_cycles_the_eval_images():
    config = {"throughput_batches": [1, 16, 64, 128], "latency_queries": 8, "latency_warmup": 2,
              "throughput_rounds": 2}
    scenarios = Scenarios.of(config, eval_batch=32)
    assert scenarios.batches == (1, 16, 32) and scenarios.capped_at == 32 and scenarios.images_needed == 32
    assert Scenarios.of({**config, "throughput_batches": [1, 8]}, eval_batch=32).capped_at is None
    pool = image_pool(tiny_data(count=12, batch=5), 30)
    assert pool.shape == (30, 4) and pool.dtype == np.float32
    assert np.array_equal(pool[12:24], pool[:12])


# -- the readers ----------------------------------------------------------------------------

def scenario_entry(p50, best, batch=64):
    return {"single_stream": {"queries": 64, "warmup_queries": 8, "p50_ms": p50, "p90_ms": p50 * 1.2,
                              "p99_ms": p50 * 1.5, "mean_ms": p50},
            "offline": {"rounds": 5, "warmup_batches": 1, "best": {"batch": batch, "images_per_s": best},
                        "per_batch": [{"batch": 1, "images_per_s": 1000 / p50}, {"batch": 16, "error": "ValueError: x"},
                                      {"batch": batch, "images_per_s": best}]}}


def tta_record(run_id, time_to_target, ms_per_step=216.49, mindir=(5.0, 900.0), onnx=(2.0, 3000.0)):
    record = make_record(run_id=run_id, **{"figures.train.ms_per_step_median": ms_per_step})
    record["figures"]["train"].update(
        eval_every_epochs=1, eval_s=3.1, target_top1=0.95, target_reached=time_to_target is not None,
        time_to_target_s=time_to_target, epochs_to_target=3 if time_to_target else None,
        accuracy_curve=[{"epoch": e, "train_s": 10.0 * e, "top1": min(0.3 * e, 0.99)} for e in range(1, 9)])
    for file_format, (p50, best) in (("MINDIR", mindir), ("ONNX", onnx)):
        record["figures"]["infer"][file_format].update(scenario_entry(p50, best))
    return record


def test_compare_shows_time_to_target_and_inference_side_by_side():
    first, second = tta_record("a", 30.0), tta_record("b", 45.0, mindir=(6.0, 800.0), onnx=(2.5, 2500.0))
    comparison = compare([first, second])
    one, two, ratios = (column.cells for column in comparison.columns)
    assert one["Time to target"] == "95.00% in 30.0 s (epoch 3)" and two["Time to target"] == "95.00% in 45.0 s (epoch 3)"
    assert ratios["Time to target"] == "x1.50" and ratios["Speed"] == "x1.00"
    assert one["Inference latency (batch 1, p50)"] == "MINDIR: 5.00 ms, ONNX: 2.00 ms"
    assert two["Inference throughput (best)"] == "MINDIR: 800.0 images/s (batch 64), ONNX: 2,500.0 images/s (batch 64)"
    other_target = tta_record("c", 20.0)
    other_target["figures"]["train"]["target_top1"] = 0.9
    assert compare([first, other_target]).versus[0].time_to_target_ratio is None


def test_a_run_without_the_figures_shows_dashes_and_a_missed_target_says_so():
    plain = zoo_rows(make_record())
    assert plain["Time to target"] == plain["Inference latency (batch 1, p50)"] == "–"
    missed = tta_record("m", None)
    assert time_to_target(missed) == "95.00% not reached in 8 epochs"


def test_summary_prints_the_curve_and_each_scenario():
    text = run_summary(tta_record("a", 30.0))
    assert "accuracy while training (every epoch; evaluation 3.1 s, off the clock): 30.0% @ 10 s" in text
    assert "single stream (batch 1, 64 queries after 8 warm-up): p50 5.0 ms" in text
    assert "batch 16 cannot run (ValueError: x)" in text


def test_history_shows_time_to_target_and_plots_the_accuracy_curves(tmp_path):
    row = dict(zip(HEADERS, history_row(tta_record("a", 30.0))))
    assert row["to target"] == "30.0 s (95%)" and row["ms/step"] == "216.5"
    for name, started, to_target in (("a", "2026-11-27T10:00:00+00:00", 30.0), ("b", "2026-11-28T10:00:00+00:00", None)):
        write_record(tmp_path / f"{name}.json", {**tta_record(name, to_target), "started": started})
    history = collect(tmp_path, "digits", "cpu")
    with_curves = plot(history, tmp_path / "curves.png").stat().st_size
    for name in ("a", "b"):
        record = json.loads((tmp_path / f"{name}.json").read_text())
        del record["figures"]["train"]["accuracy_curve"]
        write_record(tmp_path / f"{name}.json", record)
    without = plot(collect(tmp_path, "digits", "cpu"), tmp_path / "plain.png").stat().st_size
    assert with_curves > without * 1.2  # a third panel, with two lines and the target


def test_compare_cli_renders_the_new_rows(tmp_path):
    paths = [write_record(tmp_path / f"{n}.json", tta_record(n, t)) for n, t in (("a", 30.0), ("b", 60.0))]
    result = bench("compare", *paths)
    assert result.returncode == 0, result.stderr
    lines = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("|")}
    assert "95.00% in 60.0 s" in lines["Time to target"] and "x2.00" in lines["Time to target"]
    assert "ONNX: 2.00 ms" in lines["Inference latency (batch 1, p50)"]


# -- end to end: two short real digits runs, then compare ----------------------------------

TTA_DIGITS = ("--set", "epochs=3", "--set", "train_samples=256", "--set", "eval_samples=100", "--set", "min_top1=null",
              "--set", "eval_every_epochs=1", "--set", "target_top1=0.0", "--set", "latency_queries=16",
              "--set", "throughput_batches=[1,16,128]", "--set", "throughput_rounds=2")


@pytest.mark.heavy
@pytest.mark.slow
def test_digits_runs_record_the_curve_the_time_to_target_and_the_scenarios_and_compare_them(tmp_path):
    from conftest import run_bench

    runs = {}
    for name, extra in (("full", ()), ("stopped", ("--set", "stop_at_target=true"))):
        results = tmp_path / name
        result = run_bench(*TTA_DIGITS, *extra, "--results", str(results))
        assert result.returncode == 0, result.stderr[-3000:]
        runs[name] = next(results.glob("*.json"))
    full, stopped = (json.loads(runs[name].read_text()) for name in ("full", "stopped"))
    train = full["figures"]["train"]
    assert [p["epoch"] for p in train["accuracy_curve"]] == [1, 2, 3] and train["eval_s"] > 0
    clock = np.cumsum([ms * train["steps_per_epoch"] / 1000 for ms in train["ms_per_step_per_epoch"]])
    assert [p["train_s"] for p in train["accuracy_curve"]] == pytest.approx(list(clock), abs=0.05)
    assert train["time_to_target_s"] == train["accuracy_curve"][0]["train_s"] and train["epochs_to_target"] == 1
    assert train["stopped_at_target"] is False
    evals = [e for e in full["events"] if e["key"] == "eval_accuracy" and "epoch" in (e.get("metadata") or {})]
    assert [e["metadata"]["epoch"] for e in evals] == [1, 2, 3] and all("train_s" in e["metadata"] for e in evals)
    assert stopped["figures"]["train"]["epochs"] == 1 and stopped["figures"]["train"]["stopped_at_target"] is True
    for file_format in ("MINDIR", "ONNX"):
        infer = full["figures"]["infer"][file_format]
        assert infer["matches_eval"] is True
        single = infer["single_stream"]
        assert single["queries"] == 16 and 0 < single["p50_ms"] <= single["p90_ms"] <= single["p99_ms"]
        offline = infer["offline"]
        assert [b["batch"] for b in offline["per_batch"]] == [1, 16, 64] and offline["capped_at_eval_batch"] == 64
        assert all(b["images_per_s"] > 0 for b in offline["per_batch"])  # MINDIR exported at 64 runs at 1 and 16
    assert full["figures"]["infer"]["ONNX"]["runtime_settings"]["graph_optimization_level"] == "ORT_ENABLE_ALL"
    result = run_bench("compare", str(runs["full"]), str(runs["stopped"]))
    assert result.returncode == 0, result.stderr
    lines = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("|")}
    assert lines["Time to target"].count("0.00% in ") == 2 and "stopped there" in lines["Time to target"]
    assert lines["Inference latency (batch 1, p50)"].count("ONNX: ") == 2
    assert lines["Inference throughput (best)"].count("MINDIR: ") == 2

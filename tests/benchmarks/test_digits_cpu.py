"""Benchmarks of the default suite (digits) on the CPU backend: the train step, the data pipeline,
and the harness's overhead over a bare MindSpore loop. Run with --benchmark-only (see conftest.py)."""
from __future__ import annotations

from . import harness_overhead


def test_train_step(benchmark, digits_config, train_split):
    """One optimizer step of GoogleNet on one real batch, built as the harness builds it (loss, Momentum
    with weight decay, the suite's learning rates), outside the data pipeline. The graph compiles before timing."""
    import mindspore as ms
    import mindspore.nn as nn

    from googlenet_bench.harness.training.schedules import learning_rates
    from googlenet_bench.harness.training.builder import build_loss, build_optimizer
    from googlenet_bench.model import GoogleNet

    ms.set_seed(digits_config["seed"])
    net = GoogleNet(digits_config["num_classes"])
    optimizer = build_optimizer(digits_config, net, learning_rates(digits_config, train_split.steps))
    step = nn.TrainOneStepCell(nn.WithLossCell(net, build_loss(digits_config)), optimizer)
    step.set_train()
    images, labels = next(train_split.dataset.create_tuple_iterator(num_epochs=1))

    def train_step():
        return step(images, labels).asnumpy()  # asnumpy waits for the step to finish

    train_step()  # graph compile
    benchmark.extra_info.update(batch_size=train_split.batch_size, image_size=digits_config["image_size"])
    benchmark.pedantic(train_step, rounds=15, iterations=1, warmup_rounds=1)
    benchmark.extra_info["images_per_s"] = round(train_split.batch_size / benchmark.stats.stats.median, 1)


def test_data_pipeline(benchmark, train_split):
    """One epoch of the train split through the whole pipeline (MindRecord read, PNG decode, normalise,
    batch; the last partial batch is dropped, as in training)."""
    images = train_split.steps * train_split.batch_size

    def one_epoch():
        return sum(len(labels) for _, labels in
                   train_split.dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))

    assert one_epoch() == images
    benchmark.extra_info["images"] = images
    benchmark.pedantic(one_epoch, rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info["images_per_s"] = round(images / benchmark.stats.stats.median, 1)


def test_harness_overhead(benchmark, cpu_device):
    """Two bare/harness pairs of short runs, the ratio kept in extra_info; the README's figure comes
    from harness_overhead.py's longer measurement."""
    overhead = benchmark.pedantic(harness_overhead.measure, kwargs={"rounds": 2, "overrides": ["epochs=3"]},
                                  rounds=1, iterations=1)
    benchmark.extra_info.update(overhead_ratio=round(overhead.ratio, 3),
                                bare_ms_per_step=round(overhead.median_ms_per_step("bare"), 2),
                                harness_ms_per_step=round(overhead.median_ms_per_step("harness"), 2),
                                others_cores=[pair.others_cores for pair in overhead.pairs])
    print(overhead.report())

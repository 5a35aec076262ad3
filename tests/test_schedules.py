import math

import numpy as np
import pytest

from googlenet_bench.harness.training.schedules import cifar10_step, cosine, learning_rates, step_decay
from googlenet_bench.harness.suites import load_suite


def test_cifar10_step_changes_exactly_at_30_60_80_percent_of_steps():
    total = 125 * 390
    lr = cifar10_step(0.1, total)
    assert len(lr) == total
    for boundary, before, after in [(0.3, 0.1, 0.01), (0.6, 0.01, 0.001), (0.8, 0.001, 0.0001)]:
        first_after = math.ceil(boundary * total)
        assert lr[first_after - 1] == pytest.approx(before)
        assert lr[first_after] == pytest.approx(after)
    assert lr[0] == pytest.approx(0.1) and lr[-1] == pytest.approx(0.0001)


def test_imagenet_step_decays_by_0_3_at_each_milestone_epoch():
    steps_per_epoch = 5
    lr = step_decay(0.1, steps_per_epoch, 300, [70, 140, 210, 280], 0.3)
    for k, epoch in enumerate([70, 140, 210, 280]):
        assert lr[epoch * steps_per_epoch - 1] == pytest.approx(0.1 * 0.3 ** k)
        assert lr[epoch * steps_per_epoch] == pytest.approx(0.1 * 0.3 ** (k + 1))


def test_warmup_rises_linearly_to_lr_init():
    lr = step_decay(0.1, 4, 10, [5], 0.3, warmup_epochs=2)
    np.testing.assert_allclose(lr[:8], 0.1 * np.arange(1, 9) / 8, rtol=1e-6)
    assert lr[8] == pytest.approx(0.1)


def test_cosine_matches_mindspores_own_cosine_decay_per_epoch():
    from mindspore import nn

    lr = cosine(0.1, 3, 150, eta_min=0.001, t_max_epochs=150)
    theirs = nn.cosine_decay_lr(min_lr=0.001, max_lr=0.1, total_step=3 * 150, step_per_epoch=3, decay_epoch=150)
    np.testing.assert_allclose(lr, theirs, rtol=1e-6)
    assert lr[0] == pytest.approx(0.1) and lr[75 * 3] == pytest.approx(0.0505)  # lr_init; halfway, the mean


def test_suites_resolve_to_their_declared_schedule():
    config = load_suite("imagenet-full", ["epochs=300"])
    lr = learning_rates(config, steps_per_epoch=2)
    assert lr[70 * 2] == pytest.approx(0.03)
    cifar = learning_rates(load_suite("cifar10-full"), steps_per_epoch=390)
    assert len(cifar) == 125 * 390

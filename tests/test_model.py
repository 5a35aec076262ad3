import numpy as np
import pytest

import mindspore as ms

from googlenet_bench.model import GoogleNet, count_parameters
from googlenet_bench.model.googlenet import STAGES, InceptionSpec


@pytest.mark.parametrize("classes, expected", [(10, 5_610_154), (1000, 6_624_904)])
def test_trainable_parameters_match_the_zoo_network(classes, expected):
    assert count_parameters(GoogleNet(classes)) == expected


@pytest.mark.parametrize("size", [32, 224])
def test_output_is_one_logit_per_class(size):
    net = GoogleNet(10)
    net.set_train(False)
    out = net(ms.Tensor(np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)))
    assert out.shape == (2, 10)
    assert np.isfinite(out.asnumpy()).all()


def test_channel_table_chains_block_outputs_into_next_inputs():
    blocks = [s for s in STAGES if isinstance(s, InceptionSpec)]
    for block, following in zip(blocks, blocks[1:]):
        assert block.n1x1 + block.n3x3 + block.n5x5 + block.pool_proj == following.in_channels


def test_no_dropout_is_applied_in_eval_or_train():
    # The zoo defines Dropout(0.2) but never applies it: two train-mode passes agree.
    net = GoogleNet(10)
    net.set_train(True)
    x = ms.Tensor(np.ones((2, 3, 32, 32), np.float32))
    assert not any("dropout" in name.lower() for name, _ in net.cells_and_names())
    np.testing.assert_allclose(net(x).asnumpy(), net(x).asnumpy(), rtol=1e-5)


def test_cifar10_weight_decay_reaches_59_of_the_173_parameters_as_the_zoos_does():
    """MindSpore's default decay filter skips BatchNorm gamma and beta: conv weights, the dense weight and bias decay."""
    import numpy as np

    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.training.builder import build_optimizer
    from googlenet_bench.model import GoogleNet

    net = GoogleNet(num_classes=10)
    optimizer = build_optimizer(load_suite("cifar10-full"), net, np.full(4, 0.1, np.float32))
    assert len(net.trainable_params()) == 173 and sum(optimizer.decay_flags) == 59

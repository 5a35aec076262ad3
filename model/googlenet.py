"""GoogleNet (Inception v1), behaviour-compatible with the MindSpore model zoo.

Zoo facts (../shared/ZOO_REFERENCE.md): conv blocks are Conv2d(pad "same", no
bias, TruncatedNormal(0.02)) -> BatchNorm2d(eps=1e-3) -> ReLU; the "5x5" branch
is a 3x3 (as in the zoo and torchvision); there are no auxiliary heads; the zoo
defines Dropout(0.2) but never applies it, so neither do we.
"""
from __future__ import annotations

from typing import NamedTuple

import mindspore.nn as nn
import mindspore.ops as ops
from mindspore.common.initializer import TruncatedNormal


class InceptionSpec(NamedTuple):
    in_channels: int
    n1x1: int
    n3x3_reduce: int
    n3x3: int
    n5x5_reduce: int
    n5x5: int
    pool_proj: int


# The zoo's channel table; "pool" entries are the max-pools between stages.
STAGES: list[InceptionSpec | str] = [
    InceptionSpec(192, 64, 96, 128, 16, 32, 32),      # 3a
    InceptionSpec(256, 128, 128, 192, 32, 96, 64),    # 3b
    "pool3x3",
    InceptionSpec(480, 192, 96, 208, 16, 48, 64),     # 4a
    InceptionSpec(512, 160, 112, 224, 24, 64, 64),    # 4b
    InceptionSpec(512, 128, 128, 256, 24, 64, 64),    # 4c
    InceptionSpec(512, 112, 144, 288, 32, 64, 64),    # 4d
    InceptionSpec(528, 256, 160, 320, 32, 128, 128),  # 4e
    "pool2x2",
    InceptionSpec(832, 256, 160, 320, 32, 128, 128),  # 5a
    InceptionSpec(832, 384, 192, 384, 48, 128, 128),  # 5b
]
FEATURES = 1024


# The zoo's cell names (its src/googlenet.py), so checkpoints interchange with it as they are: the
# blocks and pools after the stem, in order (../shared/ZOO_REFERENCE.md, "Parameter names").
STAGE_NAMES = ["block3a", "block3b", "maxpool3", "block4a", "block4b", "block4c", "block4d", "block4e",
               "maxpool4", "block5a", "block5b"]


class Conv2dBlock(nn.Cell):
    """conv -> bn -> relu, named as the zoo names them."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, pad_mode="same",
                              has_bias=False, weight_init=TruncatedNormal(0.02))
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Cell):
    def __init__(self, spec: InceptionSpec):
        super().__init__()
        self.b1 = Conv2dBlock(spec.in_channels, spec.n1x1, 1)
        self.b2 = nn.SequentialCell([Conv2dBlock(spec.in_channels, spec.n3x3_reduce, 1),
                                     Conv2dBlock(spec.n3x3_reduce, spec.n3x3, 3)])
        self.b3 = nn.SequentialCell([Conv2dBlock(spec.in_channels, spec.n5x5_reduce, 1),
                                     Conv2dBlock(spec.n5x5_reduce, spec.n5x5, 3)])
        self.maxpool = nn.MaxPool2d(3, 1, pad_mode="same")
        self.b4 = Conv2dBlock(spec.in_channels, spec.pool_proj, 1)
        self.concat = ops.Concat(axis=1)

    def construct(self, x):
        return self.concat((self.b1(x), self.b2(x), self.b3(x), self.b4(self.maxpool(x))))


def _stage(entry: InceptionSpec | str) -> nn.Cell:
    if entry == "pool3x3":
        return nn.MaxPool2d(3, 2, pad_mode="same")
    if entry == "pool2x2":
        return nn.MaxPool2d(2, 2, pad_mode="same")
    return Inception(entry)


class GoogleNet(nn.Cell):
    """GoogleNet for `num_classes` classes; any input size that survives 5 stride-2 stages. Cells and
    parameters carry the zoo's names (conv1.conv.weight, block3a.b2.0.bn.gamma, classifier.bias)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = Conv2dBlock(3, 64, 7, stride=2)
        self.maxpool1 = nn.MaxPool2d(3, 2, pad_mode="same")
        self.conv2 = Conv2dBlock(64, 64, 1)
        self.conv3 = Conv2dBlock(64, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, 2, pad_mode="same")
        for name, entry in zip(STAGE_NAMES, STAGES):
            setattr(self, name, _stage(entry))
        self.mean = ops.ReduceMean(keep_dims=False)
        self.classifier = nn.Dense(FEATURES, num_classes, weight_init=TruncatedNormal(0.02),
                                   bias_init=TruncatedNormal(0.02))

    def construct(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.block3b(self.block3a(x)))
        x = self.block4e(self.block4d(self.block4c(self.block4b(self.block4a(x)))))
        x = self.block5b(self.block5a(self.maxpool4(x)))
        return self.classifier(self.mean(x, (2, 3)))


def count_parameters(net: nn.Cell) -> int:
    return sum(p.size for p in net.trainable_params())


def count_parameters_of(num_classes: int) -> int:
    """The trainable parameter count without building the network (for planning disk space)."""
    table = [entry for entry in STAGES if isinstance(entry, InceptionSpec)]
    conv = lambda cin, cout, k: cin * cout * k * k + 2 * cout  # conv weight + BN gamma/beta
    total = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    for b in table:
        total += (conv(b.in_channels, b.n1x1, 1) + conv(b.in_channels, b.n3x3_reduce, 1) + conv(b.n3x3_reduce, b.n3x3, 3)
                  + conv(b.in_channels, b.n5x5_reduce, 1) + conv(b.n5x5_reduce, b.n5x5, 3)
                  + conv(b.in_channels, b.pool_proj, 1))
    return total + FEATURES * num_classes + num_classes

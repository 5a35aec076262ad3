"""An epoch's recorded loss is the mean of its steps' losses (its last step's is kept as last_loss), and
the divergence rule reads the mean: one batch's loss says little."""
import math
from types import SimpleNamespace

import numpy as np

import mindspore as ms

from googlenet_bench.harness.training.callbacks import DivergenceRule, TrainTimer


class Context:
    def __init__(self, params):
        self.params, self.stopped = params, False

    def original_args(self):
        return self.params

    def request_stop(self):
        self.stopped = True


def run_epoch(timer, losses, epoch=1):
    params = SimpleNamespace(cur_epoch_num=epoch, cur_step_num=0, net_outputs=None, optimizer=None)
    context = Context(params)
    timer.on_train_epoch_begin(context)
    for loss in losses:
        params.cur_step_num += 1
        params.net_outputs = ms.Tensor(np.float32(loss))  # a step's output, read on the host at the epoch's end
        timer.on_train_step_end(context)
    timer.on_train_epoch_end(context)
    return context


def test_the_epoch_loss_is_the_mean_of_its_steps_and_the_last_is_kept():
    timer = TrainTimer(4)
    run_epoch(timer, [2.0, 1.0, 3.0, 6.0])
    [epoch] = timer.epochs
    assert epoch.loss == 3.0 and epoch.last_loss == 6.0 and epoch.loss_steps == 4


def test_the_divergence_rule_reads_the_mean_not_one_bad_batch():
    rule = DivergenceRule(num_classes=10, factor=4.0)  # ceiling 4 x ln 10 = 9.21
    timer = TrainTimer(4, divergence=rule)
    context = run_epoch(timer, [2.0, 2.0, 2.0, 12.0])  # the last batch alone is above the ceiling
    assert timer.diverged is None and not context.stopped
    context = run_epoch(timer, [9.0, 10.0, 11.0, 12.0], epoch=2)
    assert context.stopped and "mean loss 10.5" in timer.diverged["rule"]
    context = run_epoch(timer, [2.0, math.nan], epoch=3)
    assert "not finite" in timer.diverged["rule"]

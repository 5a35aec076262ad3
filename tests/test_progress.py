"""Progress within an epoch: the sink fed in chunks (harness/training/chunks.py) while epoch-level callbacks
still see whole epochs, and the bars a person sees on a real pseudo-terminal."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest

from conftest import PROJECT_ROOT

from googlenet_bench.harness.training.chunks import MIN_CHUNK_STEPS, WholeEpochs, chunk_steps


@pytest.mark.parametrize("steps, sink_mode, expected", [
    (22, True, 22),      # digits: no divisor from 100 up to half the epoch, so one chunk
    (5004, True, 139),   # ImageNet at 256 a step: 36 chunks an epoch
    (1562, True, 142),   # CIFAR-10 at 32 a step: 11 chunks
    (97, True, 97),      # a prime
    (5004, False, 5004), # without sink every step reaches the callbacks anyway
])
def test_the_chunk_is_the_smallest_divisor_from_the_minimum(steps, sink_mode, expected):
    chunk = chunk_steps(steps, sink_mode)
    assert chunk == expected
    assert steps % chunk == 0 and (chunk == steps or chunk >= MIN_CHUNK_STEPS)


class Recorder:
    """A callback that notes (hook, epoch, batch_num, step) for each call."""

    def __new__(cls):
        from mindspore.train import Callback

        class _Recorder(Callback):
            def __init__(self):
                super().__init__()
                self.calls = []

            def _note(self, hook, run_context):
                params = run_context.original_args()
                self.calls.append((hook, params.get("cur_epoch_num"), params.batch_num, params.cur_step_num))

            def on_train_epoch_begin(self, run_context):
                self._note("epoch_begin", run_context)

            def on_train_step_end(self, run_context):
                self._note("step_end", run_context)

            def on_train_epoch_end(self, run_context):
                self._note("epoch_end", run_context)

            def on_train_end(self, run_context):
                self._note("train_end", run_context)

        return _Recorder()


def _sink_loop(callback, chunk_epochs: int, chunk: int, initial_chunk_epochs: int = 0):
    """The callback calls of MindSpore 2.10's `Model._train_dataset_sink_process` (model.py), which
    this machine cannot run (no device here sinks): per chunk, an epoch begin, one step begin and end
    with cur_step_num advanced by the chunk, an epoch end."""
    from mindspore.train.callback._callback import InternalCallbackParam, RunContext

    params = InternalCallbackParam()
    params.cur_step_num, params.batch_num = initial_chunk_epochs * chunk, chunk
    context = RunContext(params)
    callback.on_train_begin(context)
    for number in range(initial_chunk_epochs + 1, chunk_epochs + 1):
        params.cur_epoch_num = number
        callback.on_train_epoch_begin(context)
        callback.on_train_step_begin(context)
        params.cur_step_num += chunk
        callback.on_train_step_end(context)
        callback.on_train_epoch_end(context)
    callback.on_train_end(context)


def test_under_sink_epoch_callbacks_see_whole_epochs():
    inner = Recorder()
    whole = WholeEpochs([inner], steps_per_epoch=300, chunk=100, backend="gpu")
    _sink_loop(whole, whole.chunk_epochs(2), 100)
    assert inner.calls == [("epoch_begin", 1, 300, 0), ("step_end", 1, 300, 300), ("epoch_end", 1, 300, 300),
                           ("epoch_begin", 2, 300, 300), ("step_end", 2, 300, 600), ("epoch_end", 2, 300, 600),
                           ("train_end", 2, 300, 600)]


def test_under_sink_a_resumed_run_numbers_its_epochs_from_where_it_left_off():
    inner = Recorder()
    whole = WholeEpochs([inner], steps_per_epoch=300, chunk=100, backend="gpu")
    _sink_loop(whole, whole.chunk_epochs(3), 100, initial_chunk_epochs=whole.chunk_epochs(2))
    assert inner.calls == [("epoch_begin", 3, 300, 600), ("step_end", 3, 300, 900), ("epoch_end", 3, 300, 900),
                           ("train_end", 3, 300, 900)]


@pytest.mark.slow  # trains
def test_a_chunked_run_where_mindspore_does_not_sink_stops_at_its_first_step():
    """MindSpore trains without sink on CPU whatever it is asked: a backend that asks for sink there
    would otherwise train a whole epoch per chunk."""
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.nn as nn
    from mindspore.train import Model

    from googlenet_bench.harness.errors import RunFailed

    ms.set_context(mode=ms.GRAPH_MODE)  # on the CPU, the only device here (set_device fails once the runtime ran)
    rng = np.random.default_rng(0)
    data = ds.NumpySlicesDataset({"x": rng.standard_normal((800, 4)).astype(np.float32),
                                  "y": rng.integers(0, 2, 800).astype(np.int32)}, shuffle=False).batch(4)
    inner = Recorder()
    whole = WholeEpochs([inner], steps_per_epoch=200, chunk=100, backend="cpu-lean")
    net = nn.Dense(4, 2)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
                  nn.Momentum(net.trainable_params(), 0.01, 0.9))
    with pytest.raises(RunFailed, match="backend 'cpu-lean' asked for dataset sink, but MindSpore trained without"):
        model.train(whole.chunk_epochs(1), data, callbacks=[whole], dataset_sink_mode=True, sink_size=100)
    assert [call for call in inner.calls if call[0] == "step_end"] == []


@pytest.mark.slow  # trains
def test_off_a_terminal_a_run_prints_one_plain_line_an_epoch(digits_run):
    stderr = digits_run["result"].stderr
    assert re.findall(r"^epoch (\d)/2  loss \d+\.\d+  \d+\.\d ms/step$", stderr, re.M) == ["1", "2"]
    assert "\r" not in stderr and "it/s" not in stderr and "step/s" not in stderr
    train = digits_run["record"]["figures"]["train"]
    assert train["sink_mode"] is False and train["sink_steps"] is None  # MindSpore does not sink on CPU


# 24 steps an epoch (384 images at batch 16), so the steps bar has somewhere to move.
LONGER_EPOCHS = ("--set", "epochs=2", "--set", "train_samples=384", "--set", "batch_size=16",
                 "--set", "eval_samples=100", "--set", "min_top1=null", "--phases", "train")


def _read_terminal(command: list[str], timeout: float) -> tuple[int, str]:
    """Runs `command` with a pseudo-terminal for stdin, stdout and stderr; returns its exit code and
    everything it drew."""
    try:
        leader, follower = pty.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal here: {exc}")
    # A terminal window of 40 x 120, as a terminal emulator (or tmux) sets it; a fresh pty reports 0 x 0.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, cwd=PROJECT_ROOT,
                               env={**os.environ, "TERM": "xterm"}, close_fds=True)
    os.close(follower)
    drawn, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            drawn.append(chunk.decode(errors="replace"))
        elif process.poll() is not None:
            break
    else:
        process.kill()
    os.close(leader)
    return process.wait(timeout=30), "".join(drawn)


@pytest.mark.slow
def test_a_terminal_shows_a_step_bar_that_moves_within_the_epoch_with_its_eta(tmp_path):
    code, screen = _read_terminal([sys.executable, str(PROJECT_ROOT / "bench.py"), *LONGER_EPOCHS,
                                   "--results", str(tmp_path)], timeout=600)
    assert code == 0, screen[-3000:]
    # tqdm redraws a bar in place (carriage returns); each frame of the steps bar reads e.g.
    # "epoch 2/2:  50%|#####     | 12/24 [00:01<00:01, 11.2step/s]": done/total [elapsed<remaining, rate].
    frames = re.findall(r"epoch (\d)/2:\s+(\d+)%\|[^|]*\| (\d+)/24 \[[\d:]+<([\d:?]+), *([^\]]+)\]", screen)
    within = [(epoch, int(done), remaining) for epoch, _, done, remaining, _ in frames if 0 < int(done) < 24]
    assert {epoch for epoch, _, _ in within} == {"1", "2"}, frames  # it moved inside every epoch
    assert len({done for _, done, _ in within}) > 5, within
    assert any(re.fullmatch(r"\d\d:\d\d", remaining) for _, _, remaining in within), within  # an ETA
    # The epochs bar reaches its end with the last epoch's loss beside it.
    assert re.search(r"epochs: 100%\|[^|]*\| 2/2 \[.*loss \d+\.\d+", screen), screen[-2000:]

"""An epoch fed to the dataset sink in chunks, so that progress can move within it, while every
epoch-level callback (timer, checkpoints, evaluation, Ctrl-C) still sees whole epochs.

With dataset sink (GPU, Ascend), callbacks run only when a sink chunk returns to Python, once an epoch
by default. With `sink_size=K`, MindSpore's `Model.train` counts a chunk of K steps as an "epoch":
callbacks get one epoch begin/end and one step end per chunk, `cur_epoch_num` counts chunks and
`batch_num` is K (mindspore/train/model.py, `_train_dataset_sink_process`). `WholeEpochs` hands its
callbacks the first chunk's begin and the last chunk's ends only, with the real epoch's number and
steps, so they behave as with one chunk an epoch. Without sink (MindSpore's CPU runtime never sinks)
every step reaches the callbacks and the epoch is one "chunk"."""
from __future__ import annotations

from contextlib import contextmanager

from mindspore.train.callback._callback import CallbackManager

# Each chunk's return to Python costs a device sync and the callbacks, a few ms: at 100 steps or more
# that is under 1% of a chunk even at a 30 ms step. Not measured: no device here sinks (README).
MIN_CHUNK_STEPS = 100


def chunk_steps(steps_per_epoch: int, sink_mode: bool) -> int:
    """Steps per sink chunk: the smallest divisor of the epoch's steps that is at least
    MIN_CHUNK_STEPS, or the whole epoch when it has none below itself (or without sink, where
    callbacks see every step anyway). A divisor, so that chunks end exactly at epoch ends."""
    if sink_mode:
        for steps in range(MIN_CHUNK_STEPS, steps_per_epoch // 2 + 1):
            if steps_per_epoch % steps == 0:
                return steps
    return steps_per_epoch


class WholeEpochs(CallbackManager):
    """Runs `callbacks` on whole epochs when each epoch is `steps_per_epoch / chunk` sink chunks."""

    def __init__(self, callbacks: list, steps_per_epoch: int, chunk: int, backend: str):
        super().__init__(callbacks)
        self.steps_per_epoch, self.chunk, self.chunks = steps_per_epoch, chunk, steps_per_epoch // chunk
        self.backend = backend
        self._first_step = None  # cur_step_num at train begin, until the first step end is checked

    def chunk_epochs(self, epochs: int) -> int:
        """Model.train's epoch count (chunks) for `epochs` real epochs."""
        return epochs * self.chunks

    @contextmanager
    def _as_whole_epoch(self, run_context):
        params = run_context.original_args()
        chunk_number, batch_num = params.get("cur_epoch_num"), params.batch_num  # no epoch yet at train begin
        if chunk_number is not None:
            params.cur_epoch_num = (chunk_number - 1) // self.chunks + 1
        params.batch_num = self.steps_per_epoch
        try:
            yield
        finally:
            params.batch_num = batch_num
            if chunk_number is not None:
                params.cur_epoch_num = chunk_number

    def _forward(self, hook: str, run_context, chunk_of_epoch: str | None = None) -> None:
        """Calls `hook` of every callback as on a whole epoch; with `chunk_of_epoch` ("first" or "last")
        only on that chunk of the epoch."""
        number = run_context.original_args().get("cur_epoch_num")
        if chunk_of_epoch == "first" and (number - 1) % self.chunks:
            return
        if chunk_of_epoch == "last" and number % self.chunks:
            return
        with self._as_whole_epoch(run_context):
            getattr(super(), hook)(run_context)

    def on_train_begin(self, run_context):
        self._first_step = run_context.original_args().cur_step_num
        self._forward("on_train_begin", run_context)

    def on_train_end(self, run_context):
        self._forward("on_train_end", run_context)

    def on_train_epoch_begin(self, run_context):
        self._forward("on_train_epoch_begin", run_context, "first")

    def on_train_step_begin(self, run_context):
        self._forward("on_train_step_begin", run_context, "first")

    def on_train_step_end(self, run_context):
        if self._first_step is not None:
            self._check_sinking(run_context.original_args().cur_step_num - self._first_step)
        self._forward("on_train_step_end", run_context, "last")

    def on_train_epoch_end(self, run_context):
        self._forward("on_train_epoch_end", run_context, "last")

    def _check_sinking(self, steps_done: int) -> None:
        """Chunked epochs count on MindSpore sinking: without sink each chunk "epoch" would train a whole
        epoch. MindSpore does not sink on some devices (CPU) whatever it is asked, so check at the first step."""
        self._first_step = None
        if self.chunks > 1 and steps_done != self.chunk:
            from googlenet_bench.harness.errors import RunFailed

            raise RunFailed(f"backend {self.backend!r} asked for dataset sink, but MindSpore trained without it on "
                            "this device: its bench_dataset_options must return DatasetOptions(sink_mode=False)",
                            status="failed")

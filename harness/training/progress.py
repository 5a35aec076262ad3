"""Training progress for the person watching. On a terminal: tqdm bars, one over the run's epochs
and one over the current epoch's steps, each with its rate and ETA; the step bar moves once per sink
chunk (harness/training/chunks.py). Off a terminal (CI logs, files): one plain line per epoch."""
from __future__ import annotations

import shutil
import sys

from mindspore.train import Callback

from googlenet_bench.harness.training.callbacks import EpochFigures


class Progress(Callback):
    """Goes after the chunked epoch callbacks in Model.train's list: it sees every chunk's step end
    (the steps done so far), and `epoch_done` is called from the epoch timer with the epoch's figures."""

    def __init__(self, total_epochs: int, steps_per_epoch: int, done_epochs: int = 0, stream=None):
        super().__init__()
        self.total, self.steps_per_epoch, self.done_epochs = total_epochs, steps_per_epoch, done_epochs
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._epochs_bar = self._steps_bar = None
        self._epoch_start_step = 0

    def on_train_begin(self, run_context):
        self._epoch_start_step = run_context.original_args().cur_step_num
        if self.tty:
            from tqdm import tqdm

            width = shutil.get_terminal_size().columns  # 80 where a terminal reports no size
            self._epochs_bar = tqdm(total=self.total, initial=self.done_epochs, desc="epochs", unit="epoch",
                                    file=self.stream, position=0, ncols=width)
            self._steps_bar = tqdm(total=self.steps_per_epoch, desc=self._epoch_label(self.done_epochs + 1),
                                   unit="step", file=self.stream, position=1, leave=False, ncols=width)

    def on_train_step_end(self, run_context):
        if self._steps_bar is not None:
            done = run_context.original_args().cur_step_num - self._epoch_start_step
            self._steps_bar.update(min(done, self.steps_per_epoch) - self._steps_bar.n)

    def on_train_end(self, run_context):
        self.close()

    def epoch_done(self, figures: EpochFigures) -> None:
        text = f"epoch {figures.epoch}/{self.total}  loss {figures.loss:.4f}  {figures.ms_per_step:.1f} ms/step"
        self._epoch_start_step += self.steps_per_epoch
        if self._epochs_bar is None:
            self.stream.write(text + "\n")
            self.stream.flush()
            return
        self._epochs_bar.set_postfix_str(f"loss {figures.loss:.4f}, {figures.ms_per_step:.1f} ms/step", refresh=False)
        self._epochs_bar.update(1)
        self._steps_bar.reset()
        self._steps_bar.set_description_str(self._epoch_label(figures.epoch + 1))

    def say(self, line: str) -> None:
        """A line that must not tear the bars (e.g. an evaluation's result)."""
        if self._epochs_bar is None:
            print(line, file=self.stream, flush=True)
        else:
            self._epochs_bar.write(line, file=self.stream)

    def close(self) -> None:
        """Leaves the epochs bar on screen and removes the steps bar; also on Ctrl-C and failures."""
        for bar in (self._steps_bar, self._epochs_bar):
            if bar is not None:
                bar.close()
        self._epochs_bar = self._steps_bar = None

    def _epoch_label(self, epoch: int) -> str:
        return f"epoch {min(epoch, self.total)}/{self.total}"

"""Keep MindSpore's and onnxruntime's own log lines off the console while a file is only being checked.

Their loaders print [WARNING]/[ERROR] lines (some blaming permissions or `filter_prefix` the user
never set) before raising; the harness gives its own one line instead. Both Python logging and
native code write to file descriptor 2, so that is what is captured.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def stderr_held():
    """Capture fd 2 for the block. If the block succeeds what was captured is written out after it (a
    warning on a file that loads is still shown); if it raises, the captured lines are dropped."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            _restore(saved)
            raise
        _restore(saved)
        held.seek(0)
        captured = held.read()
    if captured:
        sys.stderr.flush()
        os.write(2, captured)


def _restore(saved: int, fd: int = 2) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved, fd)
    os.close(saved)


@contextlib.contextmanager
def output_to(path):
    """Send fd 1 and fd 2 to the file `path` (appended) for the block: MindSpore's profiler prints its
    progress bars and parser lines there, and they belong beside its files, not on the console."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy in zip((1, 2), saved):
                _restore(copy, fd)

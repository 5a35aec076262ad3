"""Ctrl-C and SIGTERM that MindSpore cannot swallow.

While a graph runs, MindSpore's runtime installs its own signal handlers, which
end the process with status 143: no record, no checkpoint. So SIGINT and SIGTERM
(what `timeout`, `docker stop`, CI cancellation and batch schedulers send) are
blocked in every thread (set before MindSpore starts any) and a watcher thread
turns either into a KeyboardInterrupt in the main thread, which surfaces at the
next Python step (in training: the end of the current sink chunk). A second
signal exits at once. Inside `deferred()` (training) the first one only raises
a flag that the epoch-end callback reads, so the run stops at an epoch boundary
with a checkpoint it can be resumed from.
"""
from __future__ import annotations

import _thread
import os
import signal
import sys
import threading

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_installed = False
_deferring = threading.Event()
_pending = threading.Event()


def install_deferred_interrupts() -> None:
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def watch() -> None:
        signal.sigwait(STOP_SIGNALS)
        if _deferring.is_set():
            print("\ninterrupted: stopping at the end of this epoch with a checkpoint (Ctrl-C again to quit now)",
                  file=sys.stderr, flush=True)
            _pending.set()
        else:
            print("\ninterrupted: stopping (Ctrl-C again to quit now)", file=sys.stderr, flush=True)
            _thread.interrupt_main()
        signal.sigwait(STOP_SIGNALS)
        print("interrupted again: quitting without a record", file=sys.stderr, flush=True)
        os._exit(130)

    threading.Thread(target=watch, name="sigint-watcher", daemon=True).start()


def unblock_in_child() -> None:
    """For subprocesses: the blocked mask is inherited across exec, give them normal signals."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class deferred:
    """Within this block a first Ctrl-C is only recorded; `pending()` tells whether it came."""

    def __enter__(self):
        _deferring.set()
        return self

    def __exit__(self, *exc_info):
        _deferring.clear()
        return False


def pending() -> bool:
    return _pending.is_set()

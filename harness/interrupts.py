"""The one interrupt policy of every phase and command: SIGINT and SIGTERM stop at the next safe point
within a grace period.

While a graph runs, MindSpore's runtime installs its own signal handlers, which end the process with
status 143: no record, no checkpoint. So SIGINT and SIGTERM (what Ctrl-C, `timeout`, `docker stop`,
Slurm and Kubernetes send) are blocked in every thread (set before MindSpore starts any) and a watcher
thread takes them:

- The first one sets a flag. Code that can stop cleanly checks it at its safe points (`check()`: a
  training step or sink chunk, an evaluation or inference batch, a download chunk, a tuning candidate,
  the rank parent's poll) and raises `Interrupted` there. Outside such code (`cooperative()` not
  entered) the main thread also gets a KeyboardInterrupt at its next Python step.
- The stop is bounded: `grace_s` seconds (--grace, default 30, a scheduler's usual SIGTERM-to-SIGKILL
  time less nothing) after the signal, the watcher runs the `last_words` hooks (the `aborted` record of
  what is known) and exits.
- A second signal exits at once.

The exit status says which signal it was: 130 for SIGINT, 143 for SIGTERM (128 + the signal's number).
"""
from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
DEFAULT_GRACE_S = 30.0
LAST_WORDS_S = 5.0  # the most the grace-period hooks may take (a third of a short grace period), out of it

_installed = False
_cooperative = threading.Event()
_pending = threading.Event()
_lock = threading.Lock()
_depth = 0
_signum: int | None = None
_received_at: float | None = None
_grace_s = DEFAULT_GRACE_S
_last_words: list[Callable[[], None]] = []
_children: list = []  # subprocess.Popen objects the signal is passed on to (a tuning candidate)


class Interrupted(KeyboardInterrupt):
    """Raised at a safe point after the first SIGINT or SIGTERM."""

    def __init__(self, signum: int | None = None):
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum else "SIGINT"


def exit_code() -> int:
    """The exit status of a run ended by the signal received: 128 + its number (SIGINT 130, SIGTERM 143)."""
    return 128 + (_signum or signal.SIGINT)


def set_grace(seconds: float) -> None:
    global _grace_s
    _grace_s = float(seconds)


def grace_s() -> float:
    return _grace_s


def last_words_s() -> float:
    return min(LAST_WORDS_S, _grace_s / 3)


def remaining_s() -> float:
    """Seconds left of the grace period (all of it before a signal)."""
    if _received_at is None:
        return _grace_s
    return max(0.0, _grace_s - (time.monotonic() - _received_at))


def install_deferred_interrupts() -> None:
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    threading.Thread(target=_watch, name="signal-watcher", daemon=True).start()


def _watch() -> None:
    global _signum, _received_at
    first = signal.sigwait(STOP_SIGNALS)
    _signum, _received_at = first, time.monotonic()
    _pending.set()
    print(f"\n{signal_name(first)}: stopping at the next safe point, within {_grace_s:g} s "
          "(again to quit at once)", file=sys.stderr, flush=True)
    for child in list(_children):
        _pass_on(child, first)
    if not _cooperative.is_set():
        _thread.interrupt_main()
    again = signal.sigtimedwait(STOP_SIGNALS, max(0.0, _grace_s - last_words_s()))
    if again is not None:
        print(f"{signal_name(again.si_signo)} again: quitting now", file=sys.stderr, flush=True)
        os._exit(exit_code())
    print(f"the grace period of {_grace_s:g} s is over: exiting with what was saved", file=sys.stderr, flush=True)
    hooks = threading.Thread(target=_say_last_words, daemon=True)
    hooks.start()
    hooks.join(last_words_s())
    os._exit(exit_code())


def _say_last_words() -> None:
    for hook in list(_last_words):
        try:
            hook()
        except Exception as exc:  # the exit must happen whatever a hook does
            print(f"while exiting: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def _pass_on(child, signum: int) -> None:
    try:
        if child.poll() is None:
            child.send_signal(signum)
    except OSError:
        pass


@contextmanager
def last_words(hook: Callable[[], None]):
    """Within this block, `hook` runs if the grace period ends before the main thread does."""
    _last_words.append(hook)
    try:
        yield
    finally:
        _last_words.remove(hook)


@contextmanager
def passed_on_to(child):
    """Within this block a signal received is also sent to `child` (a subprocess.Popen)."""
    _children.append(child)
    if _pending.is_set():
        _pass_on(child, _signum)
    try:
        yield child
    finally:
        _children.remove(child)


@contextmanager
def child_process(command: list[str], **popen):
    """A subprocess.Popen that gets normal signals (this process blocks them), is passed a stop signal on,
    and is killed if the block ends by an exception: no child outlives the command that started it."""
    child = subprocess.Popen(command, preexec_fn=unblock_in_child, **popen)
    try:
        with passed_on_to(child):
            yield child
    except BaseException:
        child.kill()
        child.wait()
        raise


def unblock_in_child() -> None:
    """For subprocesses: the blocked mask is inherited across exec, give them normal signals."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def cooperative():
    """Within this block the first signal only sets the flag: the code here calls `check()` at its safe
    points. Blocks nest (the run, and the training phase inside it)."""
    global _depth
    with _lock:
        _depth += 1
        _cooperative.set()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if not _depth:
                _cooperative.clear()


deferred = cooperative  # the training phase's name for it


def received() -> int | None:
    """The stop signal received, if any."""
    return _signum


def pending() -> bool:
    return _pending.is_set()


def check() -> None:
    """A safe point: raise Interrupted if a stop signal has come."""
    if _pending.is_set():
        raise Interrupted(_signum)

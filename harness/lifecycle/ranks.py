"""Parent-side rank orchestration and the rank status files, owned here alone.

A rank (a process a launcher started) announces itself with `rank_<r>.pid`, reports its
figures in `rank_<r>.json` and, if it finished cleanly, `rank_<r>.done`, all in the run's
`ranks/` folder. The parent starts the launcher's processes, watches those files, ends
everything as soon as one rank dies, and merges the reports into the run's figures.

No orphans: however the parent dies (even SIGKILL, which it cannot catch), the kernel kills
its launchers (a parent-death signal set before exec), and each rank and msrun's scheduler
die with their launcher the same way (`die_with_launcher`). A stop signal to the parent is passed on
to rank 0, which stops at its next step with a checkpoint (`_stop_on_signal`).

Long because starting, watching and stopping the ranks share the status files and must be read together.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from googlenet_bench.harness.errors import RunFailed
from googlenet_bench.harness import interrupts
from googlenet_bench.harness.interrupts import unblock_in_child
from googlenet_bench.harness.launch import ProcessSpec
from googlenet_bench.harness.lifecycle.state import process_started_at

POLL_SECONDS = 0.5
STATUS_DIR = "ranks"
PARENT_PID_ENV = "GOOGLENET_BENCH_PARENT_PID"  # the bench.py that owns the run, for its ranks
PR_SET_PDEATHSIG = 1
# Looked up now, not in a forked child: a child of a threaded parent must not load libraries.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent(parent_pid: int | None) -> None:
    """Have the kernel SIGKILL this process when its parent exits; if `parent_pid` is already
    gone (it died before this call), exit now. Linux only; elsewhere the supervisor's own stop
    on SIGINT/SIGTERM is all there is."""
    if _prctl is None:
        return
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and not _alive(parent_pid):
        os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def die_with_launcher() -> None:
    """In a process a launcher started (a rank, msrun's scheduler): die when the launcher dies.

    The launcher itself dies with bench.py, so a rank whose launcher died before this call
    finds bench.py gone too, and exits.
    """
    owner = os.environ.get(PARENT_PID_ENV)
    _die_with_parent(int(owner) if owner and owner.isdigit() else None)


def _launcher_preexec(parent_pid: int):
    def preexec() -> None:
        unblock_in_child()
        _die_with_parent(parent_pid)
    return preexec


class RankFiles:
    """The status files of one run's ranks."""

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir) / STATUS_DIR

    def _path(self, rank: int, kind: str) -> Path:
        return self.dir / f"rank_{rank}.{kind}"

    @property
    def survey_path(self) -> Path:
        """The parent's data survey, for its ranks (written and read by googlenet_bench.datasets.base)."""
        return self.dir / "survey.json"

    def started(self, rank: int) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._path(rank, "pid").write_text(str(os.getpid()))

    def report(self, rank: int, report: dict, ok: bool) -> None:
        from googlenet_bench.harness.results.record import write_json_atomic

        write_json_atomic(self._path(rank, "json"), report)
        if ok:
            self._path(rank, "done").write_text("ok")

    def has_started(self, rank: int) -> bool:
        return self._path(rank, "pid").exists()

    def is_done(self, rank: int) -> bool:
        return self._path(rank, "done").exists()

    def pid(self, rank: int) -> int | None:
        try:
            return int(self._path(rank, "pid").read_text())
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        found = (self.pid(int(path.stem.split("_")[1])) for path in self.dir.glob("rank_*.pid"))
        return [pid for pid in found if pid]

    def reports(self) -> list[dict]:
        found = []
        for path in sorted(self.dir.glob("rank_*.json"), key=lambda p: int(p.stem.split("_")[1])):
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a rank killed mid-write leaves no report; its absence is reported as such
        return found


def run_ranks(processes: list[ProcessSpec], files: RankFiles) -> tuple[dict, str | None]:
    """Start the processes and watch the ranks; the cross-rank figures, and why the ranks failed (None when
    every rank finished, or a stop signal ended them: the caller reads rank 0's record for that)."""
    print(f"starting {sum(len(p.ranks) for p in processes)} ranks; logs in {processes[0].log.parent}",
          file=sys.stderr)
    failure = None
    try:
        supervise(processes, files)
    except RunFailed as exc:
        failure = str(exc)
    figures = merged_figures(files.reports(), process_started_at())
    missing = [r for p in processes for r in p.ranks if not files.is_done(r)]
    if failure is None and missing and not interrupts.pending():
        rank = missing[0]
        log = next(p.rank_logs.get(rank, p.log) for p in processes if rank in p.ranks)
        failure = f"rank {rank} did not finish; see its log {log}"
    return figures, failure


def merged_figures(reports: list[dict], parent_started: float) -> dict:
    """The cross-rank figures: from what the ranks gathered from each other (every node's ranks),
    else (a rank stopped before the exchange) from this machine's rank reports."""
    gathered = next((r["every_rank"] for r in reports if r.get("every_rank")), None)
    every = gathered or [{key: r.get(key) for key in ("rank", "parameters_sha256", "ms_per_step_median", "startup_s")}
                         for r in reports]
    digests = {r.get("parameters_sha256") for r in every}
    figures = {"per_rank": [{k: v for k, v in r.items() if k != "every_rank"} for r in reports],
               "every_rank": every, "gathered": gathered is not None,
               "parameters_identical": len(every) > 1 and len(digests) == 1 and None not in digests,
               "ms_per_step_per_rank": [r.get("ms_per_step_median") for r in every],
               "startup_s_per_rank": [r.get("startup_s") for r in every]}
    began = [r.get("train_started_at") for r in reports]
    if began and None not in began:  # bench.py's start until the last rank here began training
        figures["startup_s"] = round(max(began) - parent_started, 2)
    return figures


def supervise(processes: list[ProcessSpec], files: RankFiles, timeout_s: float | None = None) -> None:
    """Run the processes until all exit; end everything as soon as one rank dies.

    A rank whose process is gone without `.done` has died, whatever its launcher is still doing.
    """
    files.dir.mkdir(parents=True, exist_ok=True)
    running: list[tuple[ProcessSpec, subprocess.Popen]] = []
    me = os.getpid()
    for spec in processes:
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log, "ab") as log:
            proc = subprocess.Popen(spec.argv, env={**os.environ, **spec.env, PARENT_PID_ENV: str(me)}, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_launcher_preexec(me))
        running.append((spec, proc))
    started = time.monotonic()
    try:
        while True:
            if interrupts.pending():
                _stop_on_signal(running, files)
                return
            try:
                failed = _first_dead_rank(running, files)
            except RunFailed:
                _stop_all(running, files)
                raise
            if failed is not None:
                _stop_all(running, files)
                rank, log = failed
                raise RunFailed(f"rank {rank} died; see its log {log}")
            if all(proc.poll() is not None for _, proc in running):
                return
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                _stop_all(running, files)
                raise RunFailed(f"the ranks did not finish within {timeout_s:.0f} s; logs in {files.dir.parent}")
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        _stop_all(running, files)
        raise


def last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""


def _first_dead_rank(running, files: RankFiles) -> tuple[int, Path] | None:
    for spec, proc in running:
        code = proc.poll()
        started = any(files.has_started(rank) for rank in spec.ranks)
        if code is not None and code != 0 and not started:
            raise RunFailed(f"the launcher ({Path(spec.argv[0]).name}) exited with {code} before any rank started: "
                            f"{last_line(spec.log)} (log {spec.log})")
        for rank in spec.ranks:
            if files.is_done(rank):
                continue
            gone = code is not None
            pid = files.pid(rank)
            if not gone and pid:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    gone = True
            if gone:
                return rank, spec.rank_logs.get(rank, spec.log)
    return None


def _signal_group(pid: int, sig: int) -> None:
    try:
        group = os.getpgid(pid)
        if group != os.getpgrp():
            os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_on_signal(running, files: RankFiles) -> None:
    """Pass the stop signal on to rank 0 (else, on a node without it, to every rank here), which stops at its
    next step with the checkpoint and its record; wait for it within the grace period, then end the rest. The
    other ranks are not signalled: one that stopped a step before rank 0 would leave rank 0 waiting in that
    step's all-reduce. A rank a step ahead waits there for rank 0 instead, and ending it loses nothing."""
    signum = interrupts.received() or signal.SIGTERM
    rank0 = files.pid(0)
    watched = [rank0] if rank0 else files.pids()
    for pid in watched:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + max(0.0, interrupts.remaining_s() - interrupts.last_words_s() - 1.0)
    while time.monotonic() < deadline and any(_alive(pid) and not _exited(running, pid) for pid in watched):
        time.sleep(0.1)
    _stop_all(running, files, grace_s=1.0)


def _exited(running, pid: int) -> bool:
    """A rank that is its launcher's own child (no launcher in between) is a zombie until reaped."""
    for _, proc in running:
        if proc.pid == pid:
            return proc.poll() is not None
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _stop_all(running, files: RankFiles, grace_s: float = 5.0) -> None:
    # A launcher may put its ranks in process groups of their own (msrun does): stop both.
    for pid in files.pids():
        _signal_group(pid, signal.SIGKILL)
    for _, proc in running:
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for _, proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

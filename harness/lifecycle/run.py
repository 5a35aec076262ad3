"""Apply a plan: the run directory, the phases (or the ranks that run them), the final status and
the record. A phase returns its figures and adds verdicts; what an interrupted phase measured waits in
`RunState.measured`. Nothing travels inside an exception."""
from __future__ import annotations

import errno
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from googlenet_bench.harness.lifecycle import phases as phase_functions
from googlenet_bench.harness.lifecycle.deviations import deviations
from googlenet_bench.harness.errors import BenchError, RunFailed
from googlenet_bench.harness.lifecycle.plan import Plan
from googlenet_bench.harness.results.events import EventLog
from googlenet_bench.harness import interrupts
from googlenet_bench.harness.results.record import (SCHEMA_VERSION, RecordMoved, checked_for_writing, environment,
                                                    keep_record, write_record)
from googlenet_bench.harness.lifecycle.state import RunState, Verdict
from googlenet_bench.harness.types import MAIN_RANK_ONLY, RAN_TO_THE_END

RANK0_RECORD = "record.rank0.json"  # rank 0's record of a multi-rank run, merged by the parent


def _phase(name: str):
    if name == "train":
        from googlenet_bench.harness.lifecycle.train_phase import train

        return train
    return {"setup": phase_functions.setup, "data": phase_functions.data, "profile": phase_functions.profile,
            "eval": phase_functions.evaluate,
            "export": phase_functions.export, "infer": phase_functions.infer}[name]


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None
    record: Path | None  # the run's record, if this process wrote it
    attempt_record: Path | None
    kept_earlier: bool = False  # the run's record was kept: an earlier attempt got further
    moved: str | None = None  # the record could not go to the run's place: where it went instead, in a line
    unexpected: BaseException | None = None  # a fault of the harness itself, re-raised after the record is kept


def execute(plan: Plan) -> Outcome:
    """Run the plan; whatever happens after its start (a failure, a stop signal) it leaves a record and
    returns the outcome: figures come back as the phases' return values, or what they left in the state."""
    from googlenet_bench.harness.lifecycle.ranks import RankFiles

    started = time.time()
    files = RankFiles(plan.run_dir)
    try:
        state = RunState(events=_open_run(plan, files))
    except OSError as exc:  # before any work: nothing to record yet
        raise BenchError(f"the run directory {plan.run_dir} cannot be made ({exc.strerror}): pass --results DIR") from None
    figures: dict = {}
    finish = _Finish(plan, state, files, figures, started)
    status, reason, unexpected = "success", None, None
    with interrupts.cooperative(), interrupts.last_words(lambda: finish("aborted", _interrupted_reason(plan))):
        try:
            if plan.is_rank_parent:
                _run_ranks(plan, state, files, figures)
            else:
                _run_phases(plan, state, figures)
            if state.verdicts:
                status, reason = state.verdicts[0].status, "; ".join(v.reason for v in state.verdicts)
        except KeyboardInterrupt:
            status, reason = "aborted", _interrupted_reason(plan)
        except (BenchError, RunFailed) as exc:  # after the start: a run failure (exit 1), not bad input
            status, reason = getattr(exc, "status", "failed"), str(exc)
        except OSError as exc:  # a write that failed mid-run (a full disk, a read-only remount): one line
            status, reason = "failed", _os_error_line(exc)
        except Exception as exc:
            status, reason, unexpected = "failed", f"{type(exc).__name__}: {exc}", exc
        figures.update(state.measured)
        return finish(status, reason, unexpected)


def _open_run(plan: Plan, files) -> EventLog:
    from googlenet_bench.harness.results.checkpoints import save_run_file

    fresh = not plan.worker and not plan.resume
    plan.results_dir.mkdir(parents=True, exist_ok=True)  # the results folder the harness owns: made at the start
    plan.run_dir.mkdir(exist_ok=not fresh)
    if fresh:
        save_run_file(plan.run_dir, plan.config, {"suite": plan.options.suite, "backend": plan.backend.name,
                                                  "phases": list(plan.phases), "pretrained": plan.options.pretrained,
                                                  "rehearse_on": plan.options.rehearse_on})
    rank = plan.rank
    if plan.worker:
        files.started(rank.rank)
    events = EventLog(plan.run_dir / ("events.log" if rank.is_main else f"events.rank{rank.rank}.log"))
    events.open_run(plan.device.describe(), suite=plan.config["name"], backend=plan.backend.name, rank=rank.rank)
    return events


def _run_phases(plan: Plan, state: RunState, figures: dict) -> None:
    rank = plan.rank
    for name in plan.phases:
        if name == "record" or (name in MAIN_RANK_ONLY and not rank.is_main):
            continue
        interrupts.check()
        state.measured = {}
        figures.update(_phase(name)(plan, state))
        state.measured = {}
        if any(verdict.ends_run for verdict in state.verdicts):
            return


def _run_ranks(plan: Plan, state: RunState, files, figures: dict) -> None:
    from googlenet_bench.harness.lifecycle.ranks import run_ranks

    if plan.survey is not None:
        from googlenet_bench.datasets import write_survey

        write_survey(plan.survey, files.survey_path)  # the ranks read it instead of surveying again
    figures["launch"] = plan.launch_figures
    figures["ranks"], failure = run_ranks(list(plan.processes), files)
    figures.update(_rank0_figures(plan, state))  # after a stop signal too: rank 0's checkpoint and figures
    interrupts.check()
    if failure is not None:
        raise RunFailed(failure)
    if figures.get("train"):
        from googlenet_bench.harness.measure.scaling import scaling_figures

        figures["scaling"] = scaling_figures(figures["train"], figures["ranks"]["every_rank"], plan.scaling_reference)


def _interrupted_reason(plan: Plan) -> str:
    return f"interrupted by {interrupts.signal_name(interrupts.received())}; continue with --resume {plan.run_dir}"


def _os_error_line(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    code = errno.errorcode.get(exc.errno, exc.errno) if exc.errno else "no errno"
    return f"cannot write{where}: {exc.strerror or exc} ({code}): free space or make it writable, then --resume"


class _Finish:
    """Keeps the record once: from the main thread at the end, or from the signal watcher when the grace
    period ends first (then with what is known so far)."""

    def __init__(self, plan: Plan, state: RunState, files, figures: dict, started: float):
        self.plan, self.state, self.files, self.figures, self.started = plan, state, files, figures, started
        # Read now, not at the end: it forks `uname` and `git`, which in a process holding a compiled graph
        # took about 1 s, and the grace period's last words (a third of --grace, at most 5 s) must fit the record.
        self.environment = environment()
        self._lock = threading.Lock()
        self.outcome: Outcome | None = None

    def __call__(self, status: str, reason: str | None, unexpected: BaseException | None = None) -> Outcome:
        with self._lock:
            if self.outcome is None:
                figures = {**self.figures, **self.state.measured}
                if isinstance(figures.get("recipe"), dict):
                    figures["recipe"]["deviations"] = deviations(self.plan, figures)
                figures["total_s"] = round(time.time() - self.started, 2)
                try:
                    self.state.events.close_run(status)
                except OSError:
                    pass  # the events file cannot take it (a full disk): the record still holds the events
                self.outcome = replace(_finish(self.plan, self.state, self.files, figures, status, reason,
                                               self.started, self.environment), unexpected=unexpected)
            return self.outcome


def _rank0_figures(plan: Plan, state) -> dict:
    """Rank 0's figures and device context, from the record it left for the parent."""
    from googlenet_bench.harness.results.record import read_record

    path = plan.run_dir / RANK0_RECORD
    if not path.exists():  # rank 0 died, or runs on node 0 while this is another node
        return {}
    rank0 = read_record(path)
    state.device_context = rank0["environment"].get("device_context", {})
    if rank0["status"] != "success":
        state.verdicts.append(Verdict(rank0["status"], rank0.get("error") or rank0["status"]))
    return {key: value for key, value in rank0["figures"].items() if key not in ("total_s", "launch", "ranks")}


def _finish(plan: Plan, state, files, figures: dict, status: str, reason: str | None, started: float,
            machine: dict) -> Outcome:
    rank = plan.rank
    if not plan.worker and plan.options.launch.node.writes_record:
        from googlenet_bench.harness.results.artifacts import settle

        figures["artifacts"] = settle(plan.run_dir, status, plan.options.keep_checkpoints)
    record = _record(plan, state, figures, status, reason, started, machine)
    if plan.worker:
        files.report(rank.rank, {"rank": rank.rank, "status": status, "error": reason, **state.rank_report},
                     ok=status in RAN_TO_THE_END)
        if rank.is_main:
            write_record(plan.run_dir / RANK0_RECORD, checked_for_writing(record))
        return Outcome(status, reason, None, None)
    if not plan.options.launch.node.writes_record:
        # Another node than node 0: its ranks' reports and logs stay in its run directory, and no
        # results/<run>.json is written that could be taken for the run's record (node 0 writes that).
        return Outcome(status, reason, None, None)
    attempt = len(list((plan.run_dir / "attempts").glob("*.json"))) + 1
    try:
        attempt_path, run_record = keep_record(plan.results_dir, plan.run_dir, plan.run_id, record, attempt)
    except RecordMoved as moved:
        return Outcome(status, reason, moved.path, None, moved=str(moved))
    return Outcome(status, reason, run_record or plan.results_dir / f"{plan.run_id}.json", attempt_path,
                   kept_earlier=run_record is None)


def _record(plan: Plan, state, figures: dict, status: str, reason: str | None, started: float,
            machine: dict) -> dict:
    env = dict(machine)
    env["device"] = plan.device.describe()
    env["device_context"] = state.device_context
    env["speed_settings"] = plan.speed.describe()
    env.update(plan.device.record_metadata(plan.config))
    return {
        "schema": SCHEMA_VERSION,
        "run_id": plan.run_id,
        "status": status,
        "error": reason,
        "suite": plan.config["name"],
        "backend": plan.backend.name,
        "rehearsal": plan.rehearsal.host if plan.rehearsal else None,
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "phases": list(plan.phases),
        "command": sys.argv,
        "environment": env,
        "config": plan.config,
        "figures": figures,
        "events": state.events.events,
    }

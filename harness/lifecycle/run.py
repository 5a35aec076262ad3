"""Apply a plan: the run directory, the phases (or the ranks that run them), the final status and
the record. Statuses travel as exceptions and verdicts, never inside the figures."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from googlenet_bench.harness.lifecycle import phases as phase_functions
from googlenet_bench.harness.errors import BenchError, RunFailed
from googlenet_bench.harness.lifecycle.plan import Plan
from googlenet_bench.harness.results.events import EventLog
from googlenet_bench.harness.results.record import SCHEMA_VERSION, environment, keep_record, write_record
from googlenet_bench.harness.lifecycle.state import RunState, Verdict
from googlenet_bench.harness.types import MAIN_RANK_ONLY, RAN_TO_THE_END

RANK0_RECORD = "record.rank0.json"  # rank 0's record of a multi-rank run, merged by the parent


def _phase(name: str):
    if name == "train":
        from googlenet_bench.harness.lifecycle.train_phase import train

        return train
    return {"setup": phase_functions.setup, "data": phase_functions.data, "eval": phase_functions.evaluate,
            "export": phase_functions.export, "infer": phase_functions.infer}[name]


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None
    record: Path | None  # the run's record, if this process wrote it
    attempt_record: Path | None
    kept_earlier: bool = False  # the run's record was kept: an earlier attempt got further


def execute(plan: Plan) -> Outcome:
    """Run the plan; a failure still leaves a record (then the exception is raised again)."""
    from googlenet_bench.harness.results.checkpoints import save_run_file
    from googlenet_bench.harness.lifecycle.ranks import RankFiles, run_ranks

    started = time.time()
    fresh = not plan.worker and not plan.resume
    plan.run_dir.mkdir(parents=True, exist_ok=not fresh)
    if fresh:
        save_run_file(plan.run_dir, plan.config, {"suite": plan.options.suite, "backend": plan.backend.name,
                                                  "phases": list(plan.phases), "pretrained": plan.options.pretrained,
                                                  "rehearse_on": plan.options.rehearse_on})
    rank = plan.rank
    files = RankFiles(plan.run_dir)
    if plan.worker:
        files.started(rank.rank)
    events = EventLog(plan.run_dir / ("events.log" if rank.is_main else f"events.rank{rank.rank}.log"))
    events.log("run_start", suite=plan.config["name"], backend=plan.backend.name, rank=rank.rank)
    state = RunState(events=events)
    figures: dict = {}
    status, reason, failure = "success", None, None
    try:
        if plan.is_rank_parent:
            if plan.survey is not None:
                from googlenet_bench.datasets import write_survey

                write_survey(plan.survey, files.survey_path)  # the ranks read it instead of surveying again
            figures["launch"] = plan.launch_figures
            figures["ranks"] = run_ranks(list(plan.processes), files)
            figures.update(_rank0_figures(plan, state))
            if figures.get("train"):
                from googlenet_bench.harness.measure.scaling import scaling_figures

                figures["scaling"] = scaling_figures(figures["train"], figures["ranks"]["every_rank"],
                                                     plan.scaling_reference)
        else:
            for name in plan.phases:
                if name == "record" or (name in MAIN_RANK_ONLY and not rank.is_main):
                    continue
                figures.update(_phase(name)(plan, state))
        if state.verdicts:
            status, reason = state.verdicts[0].status, "; ".join(v.reason for v in state.verdicts)
    except KeyboardInterrupt as exc:
        figures.update(getattr(exc, "figures", {}))
        status, reason, failure = "aborted", "interrupted (Ctrl-C or SIGTERM)", exc
    except RunFailed as exc:
        figures.update(exc.figures)
        status, reason, failure = exc.status, str(exc), exc
    except BenchError as exc:
        status, reason, failure = "failed", str(exc), exc
    except Exception as exc:
        figures.update(getattr(exc, "figures", {}))
        status, reason, failure = "failed", f"{type(exc).__name__}: {exc}", exc
    if isinstance(figures.get("recipe"), dict):
        from googlenet_bench.harness.lifecycle.deviations import deviations

        figures["recipe"]["deviations"] = deviations(plan, figures)
    figures["total_s"] = round(time.time() - started, 2)
    events.log("run_stop", status=status)
    events.log("status", status)
    outcome = _finish(plan, state, files, figures, status, reason, started)
    if failure is not None:
        failure.outcome = outcome
        raise failure
    return outcome


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


def _finish(plan: Plan, state, files, figures: dict, status: str, reason: str | None, started: float) -> Outcome:
    rank = plan.rank
    record = _record(plan, state, figures, status, reason, started)
    if plan.worker:
        files.report(rank.rank, {"rank": rank.rank, "status": status, "error": reason, **state.rank_report},
                     ok=status in RAN_TO_THE_END)
        if rank.is_main:
            write_record(plan.run_dir / RANK0_RECORD, record)
        return Outcome(status, reason, None, None)
    if not plan.options.launch.node.writes_record:
        # Another node than node 0: its ranks' reports and logs stay in its run directory, and no
        # results/<run>.json is written that could be taken for the run's record (node 0 writes that).
        return Outcome(status, reason, None, None)
    attempt = len(list((plan.run_dir / "attempts").glob("*.json"))) + 1
    attempt_path, run_record = keep_record(plan.results_dir, plan.run_dir, plan.run_id, record, attempt)
    return Outcome(status, reason, run_record or plan.results_dir / f"{plan.run_id}.json", attempt_path,
                   kept_earlier=run_record is None)


def _record(plan: Plan, state, figures: dict, status: str, reason: str | None, started: float) -> dict:
    env = environment()
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

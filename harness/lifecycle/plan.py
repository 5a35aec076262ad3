"""Plan, then apply: every user mistake is found here, before anything is written.

`make_plan(options)` resolves the suite, the backend (and, in a rehearsal, its host),
the recipe, the phases, the formats, the data, the checkpoints and the launch into one
frozen `Plan`. The phases then take the plan and return what they measured. The checks of the
inputs and the disk are in `harness/lifecycle/preflight.py`.
"""
from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.launch import rank_from_env
from googlenet_bench.harness.lifecycle.options import ResumeFrom, RunOptions
from googlenet_bench.harness.lifecycle.preflight import (check_free_space, check_inputs, check_launch,
                                                         check_rank_capacity, export_formats, resume_point, writable)
from googlenet_bench.harness.measure.machine_profile import CONSERVATIVE_ISA, SpeedSettings, extra_work_per_step, speed_settings
from googlenet_bench.harness.plugins import Backend, Backends
from googlenet_bench.harness.types import ALWAYS, DEFAULT_PHASES, PHASES, RankInfo, Recipe, Rehearsal


@dataclass(frozen=True)
class Plan:
    options: RunOptions
    config: dict
    phases: tuple[str, ...]
    rank: RankInfo
    backend: Backend  # whose recipe runs (and whose name the record carries)
    device: Backend  # whose device runs it: the backend itself, or the rehearsal's host
    recipe: Recipe
    rehearsal: Rehearsal | None
    models: tuple[tuple[str, Path], ...]  # (format, path) of --model files to infer from
    run_id: str
    results_dir: Path
    resume: ResumeFrom | None = None
    processes: tuple = ()  # what the launcher starts, for a multi-rank parent
    launch_figures: dict = field(default_factory=dict)
    speed: SpeedSettings = SpeedSettings(CONSERVATIVE_ISA)  # this machine's tuning profile (harness/measure/machine_profile.py)
    extra_work_per_step: float = 0.0  # the speed gate's testing knob; 0 in real runs
    survey: object = None  # the data set's datasets.Survey, made once: by this process or, for a rank, its parent
    scaling_reference: object = None  # googlenet_bench.harness.measure.scaling.Reference, with --scaling-reference

    @property
    def run_dir(self) -> Path:
        return self.results_dir / self.run_id

    @property
    def is_rank_parent(self) -> bool:
        return bool(self.processes)

    @property
    def worker(self) -> bool:
        return self.options.worker


def parse_phases(names) -> tuple[str, ...]:
    if names is None:
        return DEFAULT_PHASES
    wanted = [name.strip() for name in names if name.strip()]
    if not wanted:
        raise BenchError(f"--phases is empty: give a comma-separated subset of {','.join(PHASES)}")
    unknown = [name for name in wanted if name not in PHASES]
    if unknown:
        raise BenchError(f"--phases: unknown phase {unknown[0]!r}; choose from {','.join(PHASES)}")
    if "profile" in wanted and "train" not in wanted:
        raise BenchError("--phases profile needs train: the profile pass runs after the timed training "
                         "(add train, or use --profile)")
    if any(name in wanted for name in ("train", "eval", "infer")):
        wanted.append("data")  # implied: they all read the data set
    return tuple(name for name in PHASES if name in wanted or name in ALWAYS)


def _resolve(options: RunOptions) -> tuple[RunOptions, dict, Backend]:
    """The config and backend: from the suite and --set, or, for --resume, from the run file."""
    from googlenet_bench.harness.results.checkpoints import read_run_file
    from googlenet_bench.harness.suites import load_suite

    backends = Backends()
    if options.resume:
        if options.overrides:
            raise BenchError("--resume continues a run as it was configured: leave out --set")
        run_dir = Path(options.resume)
        saved = read_run_file(run_dir)
        options = _replace(options, backend=saved["options"]["backend"], pretrained=None, run_id=run_dir.name,
                           results_dir=run_dir.parent, rehearse_on=saved["options"].get("rehearse_on"))
        return options, dict(saved["config"]), backends.select(options.backend)
    backend = backends.select(options.backend)
    overridden = {text.partition("=")[0].strip() for text in options.overrides}
    device_defaults = [f"{key}={value}" for key, value in backend.config_defaults().items() if key not in overridden]
    return options, load_suite(options.suite, device_defaults + list(options.overrides)), backend


def _replace(options: RunOptions, **changes) -> RunOptions:
    from dataclasses import replace

    return replace(options, **changes)


def _recipe(backend: Backend, device: Backend, config: dict, host_name: str | None):
    requested = Recipe(amp=backend.amp(config), jit_level=backend.jit_level(config),
                       export_formats=tuple(backend.export_formats(config)))
    if host_name is None:
        return requested, None
    answer = device.rehearse(requested, config)
    if answer is None:
        raise BenchError(f"backend {host_name!r} cannot host rehearsals: rehearse on a backend that can "
                         "(--rehearse cpu)")
    ran, notes = answer
    return ran, Rehearsal(host=host_name, requested=requested, notes=tuple(notes))


def make_plan(options: RunOptions) -> Plan:
    speed, extra_work = speed_settings(), extra_work_per_step()
    phases = parse_phases(options.phases)
    options, config, backend = _resolve(options)
    if options.data is not None:
        config["data"] = options.data
    rank = rank_from_env(options.launch.ranks_here) if options.worker else RankInfo()
    host = options.rehearse_on
    if host is not None and host == backend.name and not options.resume:
        raise BenchError(f"--rehearse runs another backend's recipe on {host}'s device, but backend {host!r} runs "
                         f"there already: leave out --rehearse, or give the --backend to rehearse")
    device = Backends().select(host) if host else backend
    device.require_available()
    if not options.worker:
        check_rank_capacity(options, device, config)
        check_launch(options, device, config)
    supported = backend.supported_phases(config)
    refused = [phase for phase in phases if phase not in supported]
    if refused:
        raise BenchError(f"backend {backend.name!r} cannot run phase(s) {', '.join(refused)}: "
                         f"use --phases {','.join(p for p in phases if p in supported)}")
    recipe, rehearsal = _recipe(backend, device, config, host)
    if rehearsal and not options.worker:
        for note in rehearsal.notes:
            print(f"rehearsal: {note}", file=sys.stderr)
    recipe = recipe.with_changes(export_formats=export_formats(backend, recipe, config))
    models = check_inputs(options, phases, config, recipe, inferable=tuple(device.export_formats(config)),
                           backend_name=device.name)
    survey = _survey(options, phases, config)
    reference = None
    if options.scaling_reference and not options.worker:
        from googlenet_bench.harness.measure.scaling import read_reference

        reference = read_reference(options.scaling_reference, config, options.launch.ranks)
    resume = resume_point(Path(options.resume)) if options.resume else None
    results = writable(options.results_dir)
    check_free_space(results, config, phases, recipe)
    node = options.launch.node
    # Another node's run directory is marked as such: node 0's run holds the record.
    run_id = options.run_id or (f"{config['name']}-{backend.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-"
                                f"{secrets.token_hex(2)}" + ("" if node.writes_record else f"-node{node.node_rank}"))
    plan = Plan(options=options, config=config, phases=phases, rank=rank, backend=backend, device=device,
                recipe=recipe, rehearsal=rehearsal, models=models, run_id=run_id, results_dir=results, resume=resume,
                speed=speed, extra_work_per_step=extra_work, survey=survey, scaling_reference=reference)
    if options.launch.ranks > 1 and not options.worker:
        plan = _with_launch(plan)
    return plan


def _survey(options: RunOptions, phases, config: dict):
    """Survey the data once: in the parent (or a 1-rank run); a rank reads its parent's survey."""
    if not any(p in phases for p in ("data", "train", "eval", "infer")):
        return None
    from googlenet_bench.datasets import read_survey, validate_data
    from googlenet_bench.harness.lifecycle.ranks import RankFiles

    splits = [s for s, p in (("train", "train"), ("eval", "eval"), ("eval", "infer")) if p in phases]
    given = read_survey(RankFiles(options.results_dir / options.run_id).survey_path) if options.worker else None
    return validate_data(config, splits=tuple(dict.fromkeys(splits)), world_size=options.launch.ranks, survey=given)


def _with_launch(plan: Plan) -> Plan:
    """Ask the backend's launcher for the processes now, so a bad request fails before anything starts."""
    from dataclasses import replace

    launch = plan.options.launch
    launcher = plan.device.launcher(plan.config, launch)
    worker_argv = ["-m", "googlenet_bench", "--as-rank",
                   "--rank-of-run", plan.run_id, "--results", str(plan.results_dir), *plan.options.worker_argv]
    processes = launcher.processes(worker_argv, launch, plan.run_dir / "logs")
    figures = {"launcher": launcher.name, "ranks": launch.ranks, "nodes": launch.node.nodes,
               "node_rank": launch.node.node_rank, "commands": [" ".join(p.argv) for p in processes]}
    return replace(plan, processes=tuple(processes), launch_figures=figures)

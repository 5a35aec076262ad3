"""Plan, then apply: every user mistake is found here, before anything is written.

`make_plan(options)` resolves the suite, the backend (and, in a rehearsal, its host),
the recipe, the phases, the formats, the data, the checkpoints and the launch into one
frozen `Plan`. The phases then take the plan and return what they measured.
This module is long because every check that can refuse a run lives here, in one place.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from harness.errors import BenchError
from harness.launch import LaunchRequest, rank_from_env
from harness.machine_profile import CONSERVATIVE_ISA, SpeedSettings, extra_work_per_step, speed_settings
from harness.plugins import Backend, Backends
from harness.types import ALWAYS, EXPORT_EXTENSIONS, PHASES, RankInfo, Recipe, Rehearsal

MB = 1024 * 1024


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for, as given."""

    suite: str = "digits"
    backend: str = "cpu"
    overrides: tuple[str, ...] = ()
    data: str | None = None
    phases: tuple[str, ...] | None = None
    checkpoint: str | None = None
    models: tuple[str, ...] = ()
    results_dir: Path = Path("results")
    run_id: str | None = None
    launch: LaunchRequest = LaunchRequest(ranks=1)
    resume: str | None = None  # a run directory to continue
    pretrained: str | None = None  # weights to start training from
    rehearse_on: str | None = None  # run the backend's recipe on this host backend's device
    oversubscribe: bool = False  # allow more ranks on this machine than its backend says it can host
    scaling_reference: str | None = None  # a 1-rank record the N-rank run's efficiency is measured against
    # Set in the processes a launcher starts: they run one rank of a run the parent owns.
    worker: bool = False
    worker_argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResumeFrom:
    checkpoint: Path | None  # None: interrupted before its first checkpoint; it starts over
    epoch: int
    skipped: tuple[str, ...] = ()  # newer checkpoints that failed their CRC check


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
    speed: SpeedSettings = SpeedSettings(CONSERVATIVE_ISA)  # this machine's tuning profile (harness/machine_profile.py)
    extra_work_per_step: float = 0.0  # the speed gate's testing knob; 0 in real runs
    survey: object = None  # the data set's datasets.Survey, made once: by this process or, for a rank, its parent
    scaling_reference: object = None  # harness.scaling.Reference, with --scaling-reference

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
        return PHASES
    wanted = [name.strip() for name in names if name.strip()]
    if not wanted:
        raise BenchError(f"--phases is empty: give a comma-separated subset of {','.join(PHASES)}")
    unknown = [name for name in wanted if name not in PHASES]
    if unknown:
        raise BenchError(f"--phases: unknown phase {unknown[0]!r}; choose from {','.join(PHASES)}")
    if any(name in wanted for name in ("train", "eval", "infer")):
        wanted.append("data")  # implied: they all read the data set
    return tuple(name for name in PHASES if name in wanted or name in ALWAYS)


def format_of(path: Path) -> str:
    for file_format, extension in EXPORT_EXTENSIONS.items():
        if path.suffix.lower() == extension:
            return file_format
    raise BenchError(f"--model {path}: unknown format; expected a file ending in {', '.join(EXPORT_EXTENSIONS.values())}")


def _resolve(options: RunOptions) -> tuple[RunOptions, dict, Backend]:
    """The config and backend: from the suite and --set, or, for --resume, from the run file."""
    from harness.checkpoints import read_run_file
    from harness.suites import load_suite

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
                         "(--rehearse-on cpu)")
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
    device = Backends().select(host) if host else backend
    device.require_available()
    if not options.worker:
        _check_rank_capacity(options, device, config)
    supported = backend.supported_phases(config)
    refused = [phase for phase in phases if phase not in supported]
    if refused:
        raise BenchError(f"backend {backend.name!r} cannot run phase(s) {', '.join(refused)}: "
                         f"use --phases {','.join(p for p in phases if p in supported)}")
    recipe, rehearsal = _recipe(backend, device, config, host)
    if rehearsal and not options.worker:
        for note in rehearsal.notes:
            print(f"rehearsal: {note}", file=sys.stderr)
    recipe = recipe.with_changes(export_formats=_export_formats(backend, recipe, config))
    models = _check_inputs(options, phases, config, recipe, inferable=tuple(device.export_formats(config)),
                           backend_name=device.name)
    survey = _survey(options, phases, config)
    reference = None
    if options.scaling_reference and not options.worker:
        from harness.scaling import read_reference

        reference = read_reference(options.scaling_reference, config, options.launch.ranks)
    resume = _resume_point(Path(options.resume)) if options.resume else None
    results = _writable(options.results_dir)
    _check_free_space(results, config, phases, recipe)
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
    from datasets import read_survey, validate_data
    from harness.ranks import RankFiles

    splits = [s for s, p in (("train", "train"), ("eval", "eval"), ("eval", "infer")) if p in phases]
    given = read_survey(RankFiles(options.results_dir / options.run_id).survey_path) if options.worker else None
    return validate_data(config, splits=tuple(dict.fromkeys(splits)), world_size=options.launch.ranks, survey=given)


def _check_rank_capacity(options: RunOptions, device: Backend, config: dict) -> None:
    launch = options.launch
    here = launch.ranks_here
    capacity = device.rank_capacity(config)
    if capacity is not None and here > capacity and not options.oversubscribe:
        raise BenchError(f"--ranks {launch.ranks} puts {here} ranks on this machine but backend {device.name!r} "
                         f"can host {capacity} here: lower --ranks, spread them with --nodes, or pass --oversubscribe")


def _export_formats(backend: Backend, recipe: Recipe, config: dict) -> tuple[str, ...]:
    supported = recipe.export_formats
    wanted = config["export_formats"]
    if wanted == "auto":
        return supported
    unsupported = [f for f in wanted if f not in supported]
    if unsupported:
        raise BenchError(f"backend {backend.name!r} cannot export {', '.join(unsupported)} here; "
                         f"it writes {', '.join(supported)}: change export_formats")
    return tuple(wanted)


def _check_inputs(options: RunOptions, phases, config: dict, recipe: Recipe, inferable=(), backend_name="") -> tuple:
    """`inferable`: the formats the device infers from (those it can export)."""
    from harness.checkpoints import verify_for_network
    from harness.exported import check_exported_model

    needs_net = any(p in phases for p in ("eval", "export"))
    if needs_net and "train" not in phases and not options.checkpoint:
        raise BenchError("--phases without train needs --checkpoint FILE to eval or export")
    if config["stop_at_target"] and config["target_top1"] is None:
        raise BenchError("stop_at_target needs a target: --set target_top1=0.95 (or leave stop_at_target false)")
    if config["compare_scratch"] and not options.pretrained:
        raise BenchError("compare_scratch measures a pretrained start against a fresh one: pass --pretrained CKPT")
    for flag, path in (("--checkpoint", options.checkpoint), ("--pretrained", options.pretrained)):
        if path:
            if not Path(path).is_file():
                raise BenchError(f"{flag} {path}: no such file")
            verify_for_network(Path(path), config["num_classes"], flag, transfer=config["transfer"])
    if "infer" in phases and "export" not in phases and not options.models:
        raise BenchError("--phases infer without export needs --model FILE (an exported .mindir or .onnx)")
    models = []
    for model in options.models:
        if not Path(model).is_file():
            raise BenchError(f"--model {model}: no such file")
        file_format = format_of(Path(model))
        if file_format not in inferable:
            raise BenchError(f"--model {model} is {file_format}, which backend {backend_name!r} does not infer from: "
                             f"give a {' or '.join(inferable)} file")
        models.append((file_format, Path(model)))
        check_exported_model(model, config["image_size"])
    if "infer" in phases and "export" in phases and not recipe.export_formats and not models:
        raise BenchError("--phases infer has nothing to infer from: no export format and no --model")
    return tuple(models)


def _resume_point(run_dir: Path) -> ResumeFrom:
    """The newest checkpoint that passes its CRC; all corrupt is a mistake found now, not after start."""
    from harness.checkpoints import CHECKPOINT_DIR, newest_valid_checkpoint, training_checkpoints

    checkpoints = run_dir / CHECKPOINT_DIR
    if not training_checkpoints(checkpoints):
        return ResumeFrom(checkpoint=None, epoch=0)
    point = newest_valid_checkpoint(checkpoints)
    return ResumeFrom(checkpoint=point.path, epoch=point.epoch, skipped=tuple(point.skipped))


def _writable(results: Path) -> Path:
    if str(results) == "":
        raise BenchError("--results is empty: give a directory, e.g. --results results")
    try:
        results.mkdir(parents=True, exist_ok=True)
        probe = results / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise BenchError(f"results directory {results} is not writable ({exc.strerror}): pass --results DIR") from None
    return results


def _check_free_space(results: Path, config: dict, phases, recipe: Recipe) -> None:
    """Refuse now, not after hours of training, when the results disk cannot hold what the run writes."""
    from model import count_parameters_of

    weights_mb = count_parameters_of(config["num_classes"]) * 4 / MB
    formats = len(recipe.export_formats) if "export" in phases else 0
    # Training checkpoints hold weights and momentum; plus final weights and the exports.
    needed_mb = weights_mb * ((2 * config["ckpt_keep"] + 1 if "train" in phases else 0) + formats)
    free_mb = shutil.disk_usage(results).free / MB
    if free_mb < needed_mb:
        raise BenchError(f"results directory {results} has {free_mb:.0f} MB free but this run writes about "
                         f"{needed_mb:.0f} MB: free some space or pass --results DIR")


def _with_launch(plan: Plan) -> Plan:
    """Ask the backend's launcher for the processes now, so a bad request fails before anything starts."""
    from dataclasses import replace

    launch = plan.options.launch
    launcher = plan.device.launcher(plan.config, launch)
    worker_argv = [str(Path(__file__).resolve().parent.parent / "bench.py"), "--as-rank",
                   "--rank-of-run", plan.run_id, "--results", str(plan.results_dir), *plan.options.worker_argv]
    processes = launcher.processes(worker_argv, launch, plan.run_dir / "logs")
    figures = {"launcher": launcher.name, "ranks": launch.ranks, "nodes": launch.node.nodes,
               "node_rank": launch.node.node_rank, "commands": [" ".join(p.argv) for p in processes]}
    return replace(plan, processes=tuple(processes), launch_figures=figures)

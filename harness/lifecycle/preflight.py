"""The checks of a plan that look at the inputs and the disk: each refuses a run in one line,
before anything is written (`harness/lifecycle/plan.py` calls them in order)."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.lifecycle.options import ResumeFrom, RunOptions
from googlenet_bench.harness.plugins import Backend
from googlenet_bench.harness.types import EXPORT_EXTENSIONS, Recipe

MB = 1024 * 1024


def format_of(path: Path) -> str:
    for file_format, extension in EXPORT_EXTENSIONS.items():
        if path.suffix.lower() == extension:
            return file_format
    raise BenchError(f"--model {path}: unknown format; expected a file ending in {', '.join(EXPORT_EXTENSIONS.values())}")


def check_rank_capacity(options: RunOptions, device: Backend, config: dict) -> None:
    launch = options.launch
    here = launch.ranks_here
    capacity = device.rank_capacity(config)
    if capacity is not None and here > capacity and not options.oversubscribe:
        raise BenchError(f"--ranks {launch.ranks} puts {here} ranks on this machine but backend {device.name!r} "
                         f"can host {capacity} here: lower --ranks, spread them with --nodes, or pass --oversubscribe")


def check_launch(options: RunOptions, device: Backend, config: dict) -> None:
    """Launch options that cannot apply, found now: a rank table the backend's launcher does not read (asked of
    the launcher even for one rank, which starts none), a master address that does not resolve."""
    launch = options.launch
    if launch.rank_table and launch.ranks == 1:
        launcher = device.launcher(config, launch)
        launcher.processes(["-m", "googlenet_bench"], launch, options.results_dir / "logs")  # refuses, or checks it
    address = launch.node.master_addr
    if address:
        try:
            socket.getaddrinfo(address, None)
        except (socket.gaierror, UnicodeError) as exc:
            raise BenchError(f"--master-addr {address} does not resolve ({getattr(exc, 'strerror', None) or exc}): "
                             "give node 0's address or a host name this machine resolves") from None


def export_formats(backend: Backend, recipe: Recipe, config: dict) -> tuple[str, ...]:
    supported = recipe.export_formats
    wanted = config["export_formats"]
    if wanted == "auto":
        return supported
    unsupported = [f for f in wanted if f not in supported]
    if unsupported:
        raise BenchError(f"backend {backend.name!r} cannot export {', '.join(unsupported)} here; "
                         f"it writes {', '.join(supported)}: change export_formats")
    return tuple(wanted)


def check_inputs(options: RunOptions, phases, config: dict, recipe: Recipe, inferable=(), backend_name="") -> tuple:
    """`inferable`: the formats the device infers from (those it can export)."""
    from googlenet_bench.harness.results.checkpoints import verify_for_network
    from googlenet_bench.harness.measure.exported import check_exported_model

    if options.checkpoint and "train" in phases:
        raise BenchError(f"--checkpoint {options.checkpoint} is for runs without the train phase (eval, export, "
                         "infer: add --phases eval,export,infer); to start training from weights, use --pretrained")
    needs_net = any(p in phases for p in ("eval", "export"))
    if needs_net and "train" not in phases and not options.checkpoint:
        raise BenchError("--phases without train needs --checkpoint FILE to eval or export")
    if config["stop_at_target"] and config["target_top1"] is None:
        raise BenchError("stop_at_target needs a target: --set target_top1=0.95 (or leave stop_at_target false)")
    if config["compare_scratch"] and not options.pretrained:
        raise BenchError("compare_scratch measures a pretrained start against a fresh one: pass --pretrained CKPT")
    for flag, path in (("--checkpoint", options.checkpoint), ("--pretrained", options.pretrained)):
        if path:
            if Path(path).is_dir():
                raise BenchError(f"{flag} {path} is a directory: give a .ckpt file (e.g. RUN_DIR/googlenet.ckpt)")
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


def resume_point(run_dir: Path) -> ResumeFrom:
    """The newest checkpoint that passes its CRC; all corrupt is a mistake found now, not after start."""
    from googlenet_bench.harness.results.checkpoints import CHECKPOINT_DIR, newest_valid_checkpoint, training_checkpoints

    checkpoints = run_dir / CHECKPOINT_DIR
    if not training_checkpoints(checkpoints):
        return ResumeFrom(checkpoint=None, epoch=0)
    point = newest_valid_checkpoint(checkpoints)
    return ResumeFrom(checkpoint=point.path, epoch=point.epoch, skipped=tuple(point.skipped), in_epoch=point.in_epoch)


def writable(results: Path) -> Path:
    """The results directory if the run can write it; it is created when the run starts, not now, so that a
    refusal leaves no empty directory behind."""
    if str(results) == "":
        raise BenchError("--results is empty: give a directory, e.g. --results results")
    if results.exists() and not results.is_dir():
        raise BenchError(f"results directory {results} is a file: pass --results DIR")
    existing = existing_ancestor(results)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        why = "is a file" if not existing.is_dir() else "is not writable"
        raise BenchError(f"results directory {results} is not writable: {existing} {why}; pass --results DIR")
    return results


def existing_ancestor(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists."""
    path = Path(path).absolute()
    return next(candidate for candidate in (path, *path.parents) if candidate.exists())


def check_free_space(results: Path, config: dict, phases, recipe: Recipe) -> None:
    """Refuse now, not after hours of training, when the results disk cannot hold what the run writes."""
    from googlenet_bench.model import count_parameters_of

    weights_mb = count_parameters_of(config["num_classes"]) * 4 / MB
    formats = len(recipe.export_formats) if "export" in phases else 0
    # Training checkpoints hold weights and momentum; plus final weights and the exports.
    needed_mb = weights_mb * ((2 * config["ckpt_keep"] + 1 if "train" in phases else 0) + formats)
    free_mb = shutil.disk_usage(existing_ancestor(results)).free / MB
    if free_mb < needed_mb:
        raise BenchError(f"results directory {results} has {free_mb:.0f} MB free but this run writes about "
                         f"{needed_mb:.0f} MB: free some space or pass --results DIR")

"""Checkpoints: saved and loaded with MindSpore's CRC check, found again for --resume,
and loaded as weights only for --pretrained (optionally with a new classifier head).

Long because it owns the checkpoint files whole: names, atomic saves, finding, checking and pruning them."""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.quiet import stderr_held
from googlenet_bench.harness.results.shapes import ANY_MAPPING, TEXT, Fields, conformed
from googlenet_bench.harness.results.zoo_names import HEAD_PREFIX, TRAINING_STATE, with_network_names

RUN_FILE = "run.json"  # what a run needs to be continued: its resolved config and options
CHECKPOINT_DIR = "checkpoints"  # training checkpoints (with optimizer state) inside a run directory
WEIGHTS_FILE = "googlenet.ckpt"  # the trained network's weights alone, beside them
HEAD_WEIGHT = "classifier.weight"
CHECKPOINT_NAME = re.compile(r"-(\d+)_(\d+)\.ckpt$")
PARTIAL_DIR = ".partial"  # checkpoints being written, renamed into place when complete


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_verified(path: Path) -> dict:
    """Parameters of a checkpoint, checked against its CRC (MindSpore otherwise loads flipped bytes silently).

    MindSpore's own log lines about a bad file are kept off the console (they blame permissions or
    `filter_prefix`, neither of which the user set): the one line raised here says what is wrong.
    """
    import mindspore as ms

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BenchError(f"checkpoint {path} cannot be read ({exc.strerror})") from None
    if not path.is_file():
        raise BenchError(f"checkpoint {path} is not a file: give a .ckpt file")
    if size == 0:
        raise BenchError(f"checkpoint {path} is corrupt: the file is empty")
    try:
        with stderr_held():
            return ms.load_checkpoint(str(path), crc_check=True)
    except (ValueError, RuntimeError, OSError, TypeError):
        raise BenchError(f"checkpoint {path} is corrupt: it cannot be parsed or fails its CRC check") from None


def checkpoint_prefix(config: dict) -> str:
    """The zoo's prefix: train_googlenet_<dataset>."""
    return f"train_googlenet_{config['dataset']}"


def checkpoint_name(prefix: str, epoch: int, steps_per_epoch: int) -> str:
    """ModelCheckpoint's own naming (prefix-<epoch>_<step in epoch>.ckpt), so both kinds sort together."""
    return f"{prefix}-{epoch}_{steps_per_epoch}.ckpt"


def save_training_checkpoint(train_network, checkpoint_dir: Path, prefix: str, epoch: int, steps_per_epoch: int,
                             step: int, in_epoch: int = 0, replace: bool = False) -> Path:
    """A resumable checkpoint (weights, optimizer state, epochs done, global step) at an epoch's end, or
    `in_epoch` steps into epoch `epoch + 1` (a stop signal), named prefix-<epoch+1>_<in_epoch>.ckpt then."""
    name = checkpoint_name(prefix, epoch + 1, in_epoch) if in_epoch else checkpoint_name(prefix, epoch, steps_per_epoch)
    path = Path(checkpoint_dir) / name
    if replace or not path.exists():
        _save_whole(train_network, path, {"epoch_num": epoch, "step_num": step})
    return path


def _save_whole(cell, path: Path, append_dict: dict | None = None) -> None:
    """Written to a hidden folder and renamed: a full disk leaves the newest complete file as it was.
    MindSpore's own CRITICAL lines on a failed write are held back: the OSError says it in one line."""
    import mindspore as ms

    # This process's own partial file: the ranks of a run share its folders.
    partial = path.parent / PARTIAL_DIR / f"{os.getpid()}-{path.name}"
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        with stderr_held():
            ms.save_checkpoint(cell, str(partial), crc_check=True, append_dict=append_dict)
        os.replace(partial, path)
    except OSError as exc:  # a write error names no file: name the checkpoint
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        partial.unlink(missing_ok=True)
        try:
            partial.parent.rmdir()  # only when no other save is under way
        except OSError:
            pass


def save_weights(net, run_dir: Path) -> Path:
    path = Path(run_dir) / WEIGHTS_FILE
    _save_whole(net, path)
    return path


def training_checkpoints(checkpoint_dir: Path) -> list[Path]:
    """Every training checkpoint, oldest epoch first, whatever prefix a resume gave it."""
    return sorted(Path(checkpoint_dir).glob("*.ckpt"), key=_epoch_and_step)


def drop_checkpoints_from(checkpoint_dir: Path, epoch: int) -> Path | None:
    """Delete checkpoints saved at or after `epoch` (their weights are broken); the newest left is returned."""
    kept = []
    for path in training_checkpoints(checkpoint_dir):
        if epoch_of(path) >= epoch:
            path.unlink()
        else:
            kept.append(path)
    return kept[-1] if kept else None


def remove_partial_files(checkpoint_dir: Path) -> None:
    """A save cut short (a full disk) leaves a partial file: never leave it for a resume to trip on."""
    for partial in Path(checkpoint_dir).glob("*.tmp"):
        partial.unlink(missing_ok=True)
    shutil.rmtree(Path(checkpoint_dir) / PARTIAL_DIR, ignore_errors=True)


def verify_for_network(path: Path, num_classes: int, flag: str, transfer: bool = False) -> None:
    """Preflight for --checkpoint/--pretrained: the file passes its CRC and fits a GoogleNet of
    `num_classes`, checked without building the network. The hint fits the flag given."""
    from googlenet_bench.model import count_parameters_of

    try:
        params = load_verified(Path(path))
    except BenchError as exc:
        raise BenchError(f"{flag} {exc}: give a checkpoint this harness saved") from None
    head = params.get(HEAD_WEIGHT)
    if head is None:
        raise BenchError(f"{flag} {path} is not a GoogleNet checkpoint (it has no {HEAD_WEIGHT}): "
                         "give a checkpoint this harness saved")
    classes = int(head.shape[0])
    if classes != num_classes and not (transfer and flag == "--pretrained"):
        fix = ("pass --set num_classes={0} (or a checkpoint of this suite)" if flag == "--checkpoint" else
               "to fine-tune it to {1} classes with a new head, --set transfer=true").format(classes, num_classes)
        raise BenchError(f"{flag} {path} does not fit this network: {HEAD_WEIGHT} is {tuple(head.shape)} there "
                         f"but ({num_classes}, {head.shape[1]}) here: {fix}")
    network_values = sum(int(value.size) for name, value in params.items() if not name.startswith(TRAINING_STATE)
                         and not name.endswith(("moving_mean", "moving_variance")))
    if network_values != count_parameters_of(classes):
        raise BenchError(f"{flag} {path} holds {network_values:,} trainable values, not a GoogleNet's "
                         f"{count_parameters_of(classes):,}: give a checkpoint this harness saved")


def save_run_file(run_dir: Path, config: dict, options: dict) -> None:
    from googlenet_bench.harness.results.record import write_json_atomic

    write_json_atomic(run_dir / RUN_FILE, {"config": config, "options": options})


# What a run needs from its run file to be continued; its config is checked as a suite file is.
RUN_FILE_SHAPE = Fields({"config": ANY_MAPPING, "options": Fields({"backend": TEXT}, required=("backend",))},
                        required=("config", "options"), expected="a mapping with config and options")


def read_run_file(run_dir: Path) -> dict:
    """The run file of a run directory, every value the continued run uses checked: one line if not."""
    from googlenet_bench.harness.suites import validate_config

    path = Path(run_dir) / RUN_FILE
    if not Path(run_dir).is_dir():
        raise BenchError(f"--resume {run_dir}: no such run directory (give results/<run>/)")
    origin = f"--resume {run_dir}: {RUN_FILE}"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"--resume {run_dir}: no {RUN_FILE} there, so it is not a run directory of this harness") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: JSON and UTF-8 errors, ints too long
        raise BenchError(f"{origin} is unreadable ({first_line(exc)}): it was not written by bench.py") from None
    saved = conformed(saved, RUN_FILE_SHAPE, origin, hint="; it was not written by bench.py")
    saved["config"] = validate_config(saved["config"], f"{origin}: config", complete=True)
    return saved


def _epoch_and_step(path: Path) -> tuple[int, int]:
    match = CHECKPOINT_NAME.search(path.name)
    return (int(match.group(1)), int(match.group(2))) if match else (-1, -1)


def epoch_of(path: Path) -> int:
    """The epoch in a ModelCheckpoint file name (prefix-<epoch>_<step>.ckpt)."""
    return _epoch_and_step(path)[0]


def prune_checkpoints(checkpoint_dir: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` training checkpoints by epoch across every prefix; returns those removed.

    MindSpore's ModelCheckpoint prunes only files of its own prefix, and after a resume it saves under
    a new one (prefix_1-...), so without this the earlier run's files would stay forever. Files whose
    names are not <prefix>-<epoch>_<step>.ckpt are not checkpoints of a run and are left alone.
    """
    def newest_first(path: Path):
        return (*_epoch_and_step(path), path.stat().st_mtime)

    found = [path for path in Path(checkpoint_dir).glob("*.ckpt") if CHECKPOINT_NAME.search(path.name)]
    removed = sorted(found, key=newest_first, reverse=True)[max(keep, 0):]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@dataclass
class ResumePoint:
    path: Path
    params: dict
    epoch: int
    skipped: list[str] = field(default_factory=list)  # newer checkpoints that failed their check
    in_epoch: int = 0  # steps done of epoch `epoch + 1`: a checkpoint saved mid-epoch on a stop signal


def newest_valid_checkpoint(checkpoint_dir: Path) -> ResumePoint:
    """The newest checkpoint that passes its CRC check; the corrupt ones it passed over are named."""
    candidates = sorted(Path(checkpoint_dir).glob("*.ckpt"), key=_epoch_and_step, reverse=True)
    skipped = []
    for path in candidates:
        try:
            params = load_verified(path)
        except BenchError as exc:
            skipped.append(str(exc))
            continue
        named_epoch, named_step = _epoch_and_step(path)
        epoch = int(params["epoch_num"].asnumpy()) if "epoch_num" in params else named_epoch
        in_epoch = named_step if named_epoch == epoch + 1 else 0  # named for the epoch it is part way through
        return ResumePoint(path=path, params=params, epoch=epoch, skipped=skipped, in_epoch=in_epoch)
    problem = f" ({len(skipped)} corrupt)" if skipped else ""
    raise BenchError(f"no valid checkpoint in {checkpoint_dir}{problem}: nothing to resume from; start a new run")


def load_pretrained(net, path: str | Path, replace_head: bool) -> dict:
    """Weights only (no optimizer state). With replace_head the classifier keeps its fresh
    initialisation, so the checkpoint may come from a net with another number of classes."""
    import mindspore as ms

    params = {name: value for name, value in load_verified(Path(path)).items() if not name.startswith(TRAINING_STATE)}
    params, renamed = with_network_names(params, net, path)
    if replace_head:
        params = {name: value for name, value in params.items() if not name.startswith(HEAD_PREFIX)}
    for name, param in net.parameters_and_names():
        if replace_head and name.startswith(HEAD_PREFIX):
            continue
        if name not in params:
            raise BenchError(f"checkpoint {path} does not fit this network: it has no {name}")
        if tuple(params[name].shape) != tuple(param.shape):
            fix = "" if replace_head else " (to fine-tune to another number of classes, --set transfer=true)"
            raise BenchError(f"checkpoint {path} does not fit this network: {name} is {tuple(params[name].shape)} "
                             f"there but {tuple(param.shape)} here{fix}")
    ms.load_param_into_net(net, params, strict_load=True)
    loaded = {"path": str(path), "parameters_loaded": len(params), "head_replaced": replace_head}
    return {**loaded, "renamed_by_position": renamed} if renamed else loaded


def freeze_backbone(net) -> int:
    """Train the classifier only; returns how many parameters stay trainable."""
    for param in net.trainable_params():
        if not param.name.startswith(HEAD_PREFIX):
            param.requires_grad = False
    return sum(p.size for p in net.trainable_params())

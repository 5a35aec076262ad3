"""Suite definitions: YAML files in suites/ (package data of googlenet_bench), validated on load, overridable with --set.

This module is long because the schema of every suite key, and its validation, is in one place.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

from googlenet_bench.harness.errors import BenchError, did_you_mean
from googlenet_bench.harness.types import AMP_LEVELS, EXPORT_EXTENSIONS, LOSS_SCALES

EXPORT_FORMATS = tuple(EXPORT_EXTENSIONS)


@dataclass(frozen=True)
class Field:
    types: tuple
    default: Any
    check: Callable[[Any], bool] | None = None
    rule: str = ""


def _positive(value) -> bool:
    return value > 0


def _non_negative(value) -> bool:
    return value >= 0


def _one_of(*choices):
    return lambda value: value in choices, "one of " + ", ".join(map(str, choices))


def _field(types, default, check=None, rule=""):
    if isinstance(check, tuple):
        check, rule = check
    return Field(types if isinstance(types, tuple) else (types,), default, check, rule)


NONE = type(None)
NUMBER = (int, float)

# Every key a suite may set. Defaults are the zoo's CIFAR-10 recipe where it has one.
SCHEMA: dict[str, Field] = {
    "name": _field(str, None),
    "description": _field(str, ""),
    "dataset": _field(str, "cifar10", _one_of("digits", "cifar10", "imagenet")),
    "data": _field((str, NONE), None),
    "num_classes": _field(int, 10, _positive, "> 0"),
    "image_size": _field(int, 224, _positive, "> 0"),
    "batch_size": _field(int, 128, _positive, "> 0"),
    "eval_batch_size": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0"),
    "epochs": _field(int, 125, _positive, "> 0"),
    "train_samples": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0 or null"),
    "eval_samples": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0 or null"),
    "seed": _field(int, 1),
    "momentum": _field(NUMBER, 0.9, _non_negative, ">= 0"),
    "lr_schedule": _field(str, "cifar10_step", _one_of("cifar10_step", "imagenet_step", "cosine", "constant")),
    "lr_init": _field(NUMBER, 0.1, _positive, "> 0"),
    "lr_end": _field(NUMBER, 0.0, _non_negative, ">= 0"),
    "lr_warmup_epochs": _field(int, 0, _non_negative, ">= 0"),
    "lr_decay_epochs": _field(list, [70, 140, 210, 280]),
    "lr_decay_factor": _field(NUMBER, 0.3, _positive, "> 0"),
    "lr_cosine_tmax_epochs": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0 or null"),
    "weight_decay": _field(NUMBER, 5e-4, _non_negative, ">= 0"),
    "weight_decay_on": _field(str, "all", _one_of("all", "weights_only")),
    "label_smoothing": _field(NUMBER, 0.0, lambda v: 0 <= v < 1, "in [0, 1)"),
    "loss_scale": _field(str, "none", _one_of(*LOSS_SCALES)),
    "loss_scale_value": _field(NUMBER, 1024, _positive, "> 0"),
    "amp_level": _field(str, "auto", _one_of("auto", *AMP_LEVELS)),
    "keep_batchnorm_fp32": _field((bool, NONE), False),
    "ckpt_every_epochs": _field(int, 5, _positive, "> 0"),
    "ckpt_keep": _field(int, 10, _positive, "> 0"),
    "export_formats": _field((str, list), "auto"),
    "export_batch_size": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0 or null"),
    "eval_drop_remainder": _field(bool, False),
    "classes": _field((list, NONE), None),
    "transfer": _field(bool, False),
    "freeze_backbone": _field(bool, False),
    "compare_scratch": _field(bool, False),
    "graph_kernel": _field((bool, NONE), None),  # null: the device's choice (the zoo fuses on GPU)
    # The speed drift reference (harness/training/calibration.py): off unless asked for (+20% wall time).
    "drift_reference": _field(bool, False),
    "profile_steps": _field(int, 10, _positive, "> 0"),  # steps the profile pass (--profile) records
    "corrupt_images": _field(str, "fail", _one_of("fail", "skip")),
    # Time to accuracy: score the eval split every k epochs (null: every epoch when target_top1 is set, else never).
    "eval_every_epochs": _field((int, NONE), None, lambda v: v is None or v > 0, "> 0 or null"),
    "target_top1": _field((NUMBER, NONE), None, lambda v: v is None or 0 <= v <= 1, "in [0, 1]"),
    "stop_at_target": _field(bool, False),  # end training at the evaluation that reaches target_top1
    # Inference scenarios of each exported model (MLPerf SingleStream and Offline).
    "latency_queries": _field(int, 64, _positive, "> 0"),
    "latency_warmup": _field(int, 8, _non_negative, ">= 0"),
    "throughput_batches": _field(list, [1, 16, 64]),
    "throughput_rounds": _field(int, 5, _positive, "> 0"),
    # Validity: a run is `success` only within these.
    "min_top1": _field((NUMBER, NONE), None, lambda v: v is None or 0 <= v <= 1, "in [0, 1]"),
    "divergence_loss_factor": _field(NUMBER, 4.0, lambda v: v > 1, "> 1"),
    "infer_max_disagree": _field(NUMBER, 0.002, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "infer_max_top1_diff": _field(NUMBER, 0.002, lambda v: 0 <= v <= 1, "in [0, 1]"),
}


def known_suites() -> dict[str, Path]:
    """The suites this package ships, by name: `suites/*.yaml`, found as package data."""
    shipped = resources.files("googlenet_bench").joinpath("suites")
    return {Path(entry.name).stem: Path(str(entry)) for entry in sorted(shipped.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def resolve_suite_path(name_or_path: str) -> Path:
    """A known suite name, or an explicit path to a .yaml file; nothing else."""
    suites = known_suites()
    if name_or_path in suites:
        return suites[name_or_path]
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    raise BenchError(f"unknown suite {name_or_path!r}{did_you_mean(name_or_path, suites)}: "
                     f"choose one of {', '.join(suites)} (bench.py suites) or give a path to a .yaml file")


def _show(value, text=repr) -> str:
    """repr() for a one-line message; Python refuses to print an int of over 4,300 digits (a YAML hex int can be one)."""
    try:
        return text(value)
    except ValueError:
        return f"<{type(value).__name__} too long to print>"


def _type_names(types: tuple) -> str:
    flat = [t for group in types for t in (group if isinstance(group, tuple) else (group,))]  # NUMBER is a tuple
    return " or ".join("null" if t is NONE else t.__name__ for t in flat)


def _check_value(origin: str, key: str, value):
    if key not in SCHEMA:
        raise BenchError(f"{origin}: unknown key {key!r}{did_you_mean(key, SCHEMA)}")
    field = SCHEMA[key]
    # bool is an int in Python; keep them apart so `epochs: true` is refused.
    type_ok = isinstance(value, field.types) and not (isinstance(value, bool) and bool not in field.types)
    if isinstance(value, int) and not isinstance(value, bool) and float in field.types:
        type_ok = True
    if not type_ok:
        raise BenchError(f"{origin}: {key} must be {_type_names(field.types)}, got {_show(value)}")
    if field.check is not None and value is not None and not field.check(value):
        raise BenchError(f"{origin}: {key} must be {field.rule}, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BenchError(f"{origin}: {key} must be a finite number, got {value!r}")
    if key == "lr_decay_epochs" and not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise BenchError(f"{origin}: lr_decay_epochs must be a list of positive epochs, got {_show(value)}")
    if key == "throughput_batches" and not (value and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                          for v in value)):
        raise BenchError(f"{origin}: throughput_batches must be a list of positive batch sizes, got {_show(value)}")
    if key == "export_formats" and (value != "auto" if isinstance(value, str)
                                    else not value or not all(v in EXPORT_FORMATS for v in value)):
        raise BenchError(f"{origin}: export_formats must be 'auto' or a list of {', '.join(EXPORT_FORMATS)}, "
                         f"got {_show(value)}")
    return value


def validate_config(config, origin: str, complete: bool) -> dict:
    """A resolved config read back from a file, checked key by key as a suite file is.

    complete (a run file a run continues from): unknown keys are refused and keys it lacks take their
    defaults, so the continued run has every key. Otherwise (a results record, possibly of an older
    harness) keys this harness does not know pass unchecked.
    """
    if not isinstance(config, dict):
        raise BenchError(f"{origin} must be a mapping of suite keys, got {type(config).__name__}")
    if not complete:
        return {key: _check_value(origin, key, value) if key in SCHEMA else value for key, value in config.items()}
    resolved = {key: field.default for key, field in SCHEMA.items()}
    resolved.update({_show(key, str): _check_value(origin, _show(key, str), value) for key, value in config.items()})
    if not isinstance(resolved["name"], str):
        raise BenchError(f"{origin}: name must be str, got {_show(resolved['name'])}")
    return resolved


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a mapping setting one key twice is refused (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[tuple, int] = {}  # (tag, text) of each key -> its line
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                identity, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if identity in seen:
                    raise DuplicateKey(key_node.value, seen[identity], line)
                seen[identity] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKey(Exception):
    def __init__(self, key: str, first_line: int, again_line: int):
        super().__init__(key)
        self.key, self.first_line, self.again_line = key, first_line, again_line


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` with value in YAML syntax (`epochs=3`, `data=null`, `export_formats=[MINDIR]`)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BenchError(f"--set {text!r}: write it as key=value, e.g. --set epochs=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except Exception:
        # Not YAML: a plain string. Besides YAMLError, PyYAML raises ValueError (!!int x, ints over
        # 4,300 digits), KeyError (!!bool x), AttributeError (!!timestamp x), RecursionError ([[[...).
        value = raw
    # A mapping is never a suite value: "a: b" was meant as a plain string (e.g. a path).
    if isinstance(value, (dict, set)):
        value = raw.strip()
    return key, value


def load_suite(name_or_path: str, overrides: list[str] = ()) -> dict:
    """The fully resolved config: schema defaults, then the suite file, then --set overrides."""
    path = resolve_suite_path(name_or_path)
    origin = f"suite file {path}"
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BenchError(f"{origin} is not valid YAML ({exc}): fix the file") from None
    except OSError as exc:
        raise BenchError(f"{origin} cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.load(source, Loader=_UniqueKeyLoader)
    except DuplicateKey as exc:
        raise BenchError(f"{origin} sets {_show(exc.key)} twice (lines {exc.first_line} and {exc.again_line}): "
                         "keep one of them") from None
    except Exception as exc:  # YAMLError, and what PyYAML's constructors raise (see parse_override)
        problem = next((line for line in str(exc).splitlines() if line.strip()), "")
        if not isinstance(exc, yaml.YAMLError):
            problem = f"cannot build a value: {type(exc).__name__} {problem}".rstrip()
        raise BenchError(f"{origin} is not valid YAML ({problem}): fix the file") from None
    if not isinstance(raw, dict):
        raise BenchError(f"{origin} must be a YAML mapping of key: value, got {type(raw).__name__}")
    config = {key: field.default for key, field in SCHEMA.items()}
    for key, value in raw.items():
        config[_show(key, str)] = _check_value(origin, _show(key, str), value)
    config["name"] = config["name"] or path.stem
    for text in overrides:
        key, value = parse_override(text)
        # A newline (or other control character) in --set must not break the one-line message.
        config[key] = _check_value(f"--set {text}" if text.isprintable() else f"--set {text!r}", key, value)
    return config


def suite_summaries() -> list[tuple[str, str]]:
    rows = []
    for name, path in known_suites().items():
        try:
            rows.append((name, load_suite(name)["description"]))
        except BenchError as exc:
            rows.append((name, f"INVALID: {exc}"))
    return rows

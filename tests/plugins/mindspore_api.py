"""Test support: is a call a backend makes one that MindSpore 2.10 accepts?

The backends' calls cannot be applied here (no GPU, no NPU), so the tests record
them and then run MindSpore's own argument checks on what was recorded, without
touching the context (the functions are read from their defining modules, which
the tests' stand-ins leave alone): the same checks `mindspore.set_context` makes before it
applies a key, and `inspect.signature` for plain functions.
"""
from __future__ import annotations

import ast
import inspect
import re


def _declared_types() -> dict:
    """The {key: type} table `set_context`'s @args_type_check decorator checks values against."""
    from mindspore import context

    for cell in context.set_context.__closure__ or ():
        table = cell.cell_contents
        if isinstance(table, dict):
            # The decorator unwraps {"kwargs": {...}} in place on the first real call.
            table = table.get("kwargs", table)
            if isinstance(table, dict) and "mode" in table:
                return table
    raise AssertionError("mindspore.set_context no longer carries its @args_type_check table: update this check")


def set_context_problems(kwargs: dict) -> list[str]:
    """What `mindspore.set_context(**kwargs)` would refuse, checked without applying anything."""
    from mindspore import context

    declared = _declared_types()
    ctx = context._context()
    problems = []
    for key, value in kwargs.items():
        try:
            context._check_context_deprecated(key)  # raises for keys removed from MindSpore
            context._check_key(key)  # raises for keys that belong in ascend_config
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
            continue
        # The same test set_context ends with before "the keyword argument ... is not recognized".
        if not (key in ctx.setters or hasattr(ctx, key) or (key in context.ms_ctx_param.__members__
                                                              and not key.startswith("_"))):
            problems.append(f"{key}: set_context does not recognise it")
        elif key in declared and value is not None and not isinstance(value, declared[key]):
            problems.append(f"{key}: must be {declared[key]}, got {type(value).__name__}")
    return problems


def set_device_problems(args: tuple, kwargs: dict) -> list[str]:
    from mindspore.device_manager import set_device

    try:
        bound = inspect.signature(set_device).bind(*args, **kwargs).arguments
    except TypeError as exc:
        return [f"set_device{args}: {exc}"]
    # set_device's own list of targets, read from its source rather than restated here.
    listed = re.search(r"valid_targets = (\[.*?\])", inspect.getsource(set_device))
    assert listed, "mindspore.set_device no longer lists valid_targets in its source: update this check"
    targets = ast.literal_eval(listed.group(1))
    problems = []
    if bound["device_target"] not in targets:
        problems.append(f"device_target {bound['device_target']!r} is not one of {targets}")
    device_id = bound.get("device_id")
    if device_id is not None and (not isinstance(device_id, int) or device_id < 0):
        problems.append(f"device_id must be an int >= 0, got {device_id!r}")
    return problems


def communication_init_problems(args: tuple, kwargs: dict) -> list[str]:
    from mindspore.communication.management import init

    try:
        backend = inspect.signature(init).bind(*args, **kwargs).arguments.get("backend_name")
    except TypeError as exc:
        return [f"init{args}: {exc}"]
    # init's docstring names the backends it takes: ``"hccl"`` / ``"nccl"`` / ``"mccl"``.
    if backend is not None and f'``"{backend}"``' not in init.__doc__:
        return [f"init does not document backend {backend!r}"]
    return []


class Recorder:
    """Stands in for a MindSpore function: keeps each call's arguments, does nothing."""

    def __init__(self):
        self.calls: list[tuple[tuple, dict]] = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))

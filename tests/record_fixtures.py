"""Results records for the compare/check/history tests, built from one real run's record.

tests/data/digits-cpu-record.json is the record of a real `bench.py` run of the digits suite
on the CPU backend (events stripped). Tests change copies of it, never the file.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from conftest import PROJECT_ROOT, run_bench

REAL_RECORD = Path(__file__).resolve().parent / "data" / "digits-cpu-record.json"
_REAL = json.loads(REAL_RECORD.read_text(encoding="utf-8"))


def make_record(**changes) -> dict:
    """A copy of the real record with dotted-path changes, e.g. make_record(**{"figures.eval.top1": 0.9})."""
    record = copy.deepcopy(_REAL)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = record
        for key in parents:
            target = target[key]
        target[leaf] = value
    return record


def write_record(path: Path, record: dict) -> Path:
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def bench(*args, env: dict | None = None):
    """`python bench.py ARGS` in a subprocess, as a user or CI runs it; CI is empty (speed gate on by default) unless `env` sets it."""
    return run_bench(*map(str, args), timeout=60, env={"CI": "", **(env or {})})


def inner_paths(value, prefix=()) -> list[tuple]:
    """Every path into a document, containers and leaves, through mappings and lists."""
    paths = [prefix] if prefix else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        paths += inner_paths(child, (*prefix, key))
    return paths

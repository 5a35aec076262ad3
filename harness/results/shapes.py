"""What a JSON document read back from disk must look like inside: a small declarative checker.

The owner of each file format (googlenet_bench.harness.results.schema for records, googlenet_bench.harness.results.checkpoints for run files)
writes its shape with these pieces; `conform` checks a parsed document against it and raises
ShapeError naming the first dotted path that is wrong (e.g. figures.eval.top1), which the owner
turns into its one-line error. Only the keys some reader uses are described; others pass as they are.

Why not jsonschema: its errors name a JSON pointer and a schema keyword ("-5.0 is less than or equal to
the minimum of 0"), not the fix; it cannot read the "nan"/"inf" strings strict_json writes back as floats
(a diverged loss), so a second pass would be needed anyway; and the shapes here are Python values the
readers import (ranges and all) in under 200 lines.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from googlenet_bench.harness.errors import BenchError

# strict_json (googlenet_bench.harness.results.record) writes non-finite floats as these strings: they read back as floats.
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ShapeError(ValueError):
    def __init__(self, where: str, expected: str, got: Any = None, missing: bool = False):
        where = where or "the document"
        super().__init__(f"{where} is missing" if missing else f"{where} must be {expected}, got {describe(got)}")


def describe(value: Any) -> str:
    """A short one-line description of a found value (repr of an int of over 4,300 digits raises)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too long to print"
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Shape:
    """One expectation: `convert(value, where)` returns the (possibly converted) value or raises ShapeError."""

    expected: str
    convert: Callable[[Any, str], Any]

    def __call__(self, value: Any, where: str) -> Any:
        return self.convert(value, where)


def _kind(expected: str, accepts: Callable[[Any], bool]) -> Shape:
    def convert(value, where):
        if not accepts(value):
            raise ShapeError(where, expected, value)
        return value
    return Shape(expected, convert)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


TEXT = _kind("a string", lambda v: isinstance(v, str))
FLAG = _kind("true or false", lambda v: isinstance(v, bool))
INTEGER = _kind("a whole number", _is_int)
COUNT = _kind("a whole number >= 0", lambda v: _is_int(v) and v >= 0)
ANY_MAPPING = _kind("a mapping", lambda v: isinstance(v, dict))


def _number(value, where):
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    if _is_int(value) or isinstance(value, float):
        return value
    raise ShapeError(where, "a number", value)


NUMBER = Shape("a number", _number)


def _bounded(expected: str, accepts: Callable[[float], bool]) -> Shape:
    """A finite number in a range (a time, a speed): NaN, infinities and "nan" strings are refused."""
    def convert(value, where):
        number = value if _is_int(value) or isinstance(value, float) else None
        if number is None or not math.isfinite(number) or not accepts(number):
            raise ShapeError(where, expected, value)
        return number
    return Shape(expected, convert)


POSITIVE = _bounded("a finite number above 0", lambda number: number > 0)
NON_NEGATIVE = _bounded("a finite number of at least 0", lambda number: number >= 0)


def one_of(*choices: str) -> Shape:
    return _kind(f"one of {', '.join(choices)}", lambda v: isinstance(v, str) and v in choices)


def _fraction(value, where):
    number = _number(value, where) if _is_int(value) or isinstance(value, float) else None
    if number is None or not 0 <= number <= 1:
        raise ShapeError(where, "a fraction from 0 to 1", value)
    return number


FRACTION = Shape("a fraction from 0 to 1", _fraction)


def _iso_time(value, where):
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ShapeError(where, "an ISO date and time", value) from None
    return value


ISO_TIME = Shape("an ISO date and time", _iso_time)


def nullable(shape: Shape | Fields) -> Shape:
    return Shape(f"{shape.expected} or null", lambda v, where: None if v is None else shape(v, where))


def list_of(shape: Shape | Fields) -> Shape:
    def convert(value, where):
        if not isinstance(value, list):
            raise ShapeError(where, f"a list of {shape.expected}", value)
        return [shape(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return Shape(f"a list of {shape.expected}", convert)


def map_of(shape: Shape | Fields) -> Shape:
    """A mapping of any names (e.g. export formats) to values of one shape."""
    def convert(value, where):
        if not isinstance(value, dict):
            raise ShapeError(where, "a mapping", value)
        # A key of the file's own choosing goes into a one-line message: quoted when not printable.
        return {key: shape(item, f"{where}.{key if str(key).isprintable() else repr(key)}")
                for key, item in value.items()}
    return Shape("a mapping", convert)


@dataclass(frozen=True)
class Fields:
    """A mapping whose named keys have these shapes; `required` ones must be present, other keys pass."""

    shapes: dict[str, Shape | Fields]
    required: tuple[str, ...] = field(default=())
    expected: str = "a mapping"

    def __call__(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise ShapeError(where, self.expected, value)
        checked = dict(value)
        for key in self.required:
            if key not in value:
                raise ShapeError(f"{where}.{key}" if where else key, self.expected, missing=True)
        for key, shape in self.shapes.items():
            if key in value:
                checked[key] = shape(value[key], f"{where}.{key}" if where else key)
        return checked


def either(test: Callable[[dict], bool], when_true: Fields, otherwise: Fields) -> Shape:
    """A mapping of one of two shapes, told apart by `test` (e.g. a skipped entry has "skipped")."""
    def convert(value, where):
        if not isinstance(value, dict):
            raise ShapeError(where, "a mapping", value)
        return (when_true if test(value) else otherwise)(value, where)
    return Shape("a mapping", convert)


def conform(document: Any, shape: Shape | Fields) -> Any:
    """The document with its values checked (and non-finite number strings read as floats)."""
    return shape(document, "")


def conformed(document: Any, shape: Shape | Fields, origin: str, hint: str = "") -> Any:
    """`conform`, or the one-line BenchError every reader gives: `origin` and the first wrong value."""
    try:
        return conform(document, shape)
    except ShapeError as exc:
        raise BenchError(f"{origin} is malformed: {exc}{hint}") from None


def refuse_newer(version: Any, supported: int, origin: str, what: str) -> None:
    """A file written by a newer googlenet-bench than this one is refused in one line, naming the fix."""
    if isinstance(version, int) and not isinstance(version, bool) and version > supported:
        raise BenchError(f"{origin} has {what} {version}, newer than this harness reads ({supported}): "
                         "update googlenet-bench")


def strict_json(value: Any) -> Any:
    """Non-finite floats (a diverged loss) as the strings "nan"/"inf"/"-inf": JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value

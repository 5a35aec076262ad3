"""The regression gate: a run against a baseline record, within the baseline's tolerances.

A baseline is a results record (events stripped) with a top-level block
    "tolerances": {"top1_drop": 0.02, "ms_per_step_ratio": 1.25, "normalised_step_ratio": 1.12}
top1_drop: how far top-1 may fall (0.02 = 2 percentage points); ms_per_step_ratio: how much
slower than the baseline a step may get (new / old); normalised_step_ratio: the same for the
fastest epoch's step over the in-process drift reference (harness/calibration.py), gated instead
of ms/step when both records have it. The CLI overrides each. Speed is gated by default except in
CI (env CI set), where timings are noisy (README, "Speed figures you can trust", has the rates).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.figures import global_batch, headline
from harness.errors import BenchError
from harness.report import percent

DEFAULT_TOLERANCES = {"top1_drop": 0.02, "ms_per_step_ratio": 1.25, "normalised_step_ratio": 1.12}
CLI_FLAGS = {"top1_drop": "--max-top1-drop", "ms_per_step_ratio": "--max-slowdown",
             "normalised_step_ratio": "--max-normalised-slowdown"}
TOLERANCE_RULES = {
    "top1_drop": ("a fraction from 0 to 1 (0.02 = 2 percentage points)", lambda v: 0 <= v <= 1),
    "ms_per_step_ratio": ("a ratio of at least 1 (1.25 = 25% slower allowed)", lambda v: v >= 1),
    "normalised_step_ratio": ("a ratio of at least 1 (1.12 = 12% slower allowed)", lambda v: v >= 1),
}


@dataclass(frozen=True)
class Tolerances:
    top1_drop: float
    ms_per_step_ratio: float
    normalised_step_ratio: float = DEFAULT_TOLERANCES["normalised_step_ratio"]

    def describe(self) -> str:
        return (f"top-1 may drop {self.top1_drop * 100:.2f} pp, ms/step may grow x{self.ms_per_step_ratio:.2f}, "
                f"normalised step x{self.normalised_step_ratio:.2f}")


def checked_tolerance(key: str, value, origin: str) -> float:
    rule, accepts = TOLERANCE_RULES[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not accepts(value):
        raise BenchError(f"{origin}: tolerance {key} is {value!r}; it must be {rule}")
    return float(value)


def tolerances_of(baseline: dict, origin: str, **overrides: float | None) -> Tolerances:
    """The baseline's tolerances (defaults for any it lacks), with the CLI's overrides on top."""
    carried = baseline.get("tolerances", {})
    if not isinstance(carried, dict):
        raise BenchError(f"{origin}: 'tolerances' must be a mapping like {DEFAULT_TOLERANCES}")
    unknown = sorted(set(carried) - set(DEFAULT_TOLERANCES))
    if unknown:
        raise BenchError(f"{origin}: unknown tolerance {unknown[0]!r}; known: {', '.join(DEFAULT_TOLERANCES)}")
    values = {}
    for key, default in DEFAULT_TOLERANCES.items():
        if overrides.get(key) is not None:
            values[key] = checked_tolerance(key, overrides[key], CLI_FLAGS[key])
        else:
            values[key] = checked_tolerance(key, carried.get(key, default), origin)
    return Tolerances(**values)


SPEED_OFF_IN_CI = "the CI env var is set and timings in CI are noisy; --speed gates it"


def speed_gate_default(environ=os.environ) -> bool:
    """Off in CI (timings there are noisy), on elsewhere."""
    return environ.get("CI", "").strip().lower() in ("", "0", "false", "no")


@dataclass(frozen=True)
class Finding:
    figure: str
    old: str
    new: str
    tolerance: str
    regressed: bool

    def line(self) -> str:
        verdict = "REGRESSION" if self.regressed else "ok"
        return f"{verdict} {self.figure}: baseline {self.old}, new {self.new} (tolerance: {self.tolerance})"


@dataclass
class Verdict:
    findings: list[Finding]
    notes: list[str]

    @property
    def regressions(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.regressed]


TOP1 = "top-1 (figures.eval.top1)"
MS_PER_STEP = "ms/step (figures.train.ms_per_step_median)"


def missing(origin: str, what: str, fix: str) -> BenchError:
    return BenchError(f"{origin} has no {what}: {fix}")


def check(new: dict, baseline: dict, tolerances: Tolerances, gate_speed: bool,
          new_origin: str = "new run", baseline_origin: str = "baseline",
          speed_off_reason: str = "--no-speed") -> Verdict:
    """Gate `new` against `baseline`. Unusable input (another suite, a figure missing) raises BenchError.

    A failed run is a regression in itself; its figures are still compared where it has them.
    """
    if new["suite"] != baseline["suite"]:
        raise BenchError(f"{new_origin} is suite {new['suite']!r} but baseline {baseline_origin} is "
                         f"{baseline['suite']!r}: check against a baseline of the same suite")
    old, now = headline(baseline), headline(new)
    findings, notes = [], []
    succeeded = new.get("status") == "success"
    if not succeeded:
        reason = f" ({new['error']})" if new.get("error") else ""
        findings.append(Finding("status", str(baseline.get("status")), f"{new.get('status')}{reason}",
                                "the run must succeed", True))

    if old.top1 is None:
        raise missing(baseline_origin, TOP1, "make the baseline from a run with the eval phase")
    if now.top1 is None and succeeded:
        raise missing(new_origin, TOP1, "run the suite with the eval phase")
    if now.top1 is not None:
        findings.append(Finding("top-1", percent(old.top1), percent(now.top1),
                                f"may drop {tolerances.top1_drop * 100:.2f} pp; "
                                f"change {(now.top1 - old.top1) * 100:+.2f} pp",
                                old.top1 - now.top1 > tolerances.top1_drop + 1e-12))

    if not gate_speed:
        notes.append(f"speed: not gated ({speed_off_reason})")
    elif (new["backend"], global_batch(new)) != (baseline["backend"], global_batch(baseline)):
        notes.append(f"speed: not gated ({new['backend']} batch {global_batch(new)} vs baseline "
                     f"{baseline['backend']} batch {global_batch(baseline)}: unlike steps)")
    else:
        if not old.ms_per_step:  # absent (or a zero that cannot be divided by)
            raise missing(baseline_origin, MS_PER_STEP,
                          "make the baseline from a run with the train phase, or pass --no-speed")
        if now.ms_per_step is None and succeeded:
            raise missing(new_origin, MS_PER_STEP, "run the suite with the train phase, or pass --no-speed")
        if old.normalised_step and now.normalised_step:
            slowdown = now.normalised_step / old.normalised_step
            findings.append(Finding("normalised step", f"{old.normalised_step:.3f}", f"{now.normalised_step:.3f}",
                                    f"may grow x{tolerances.normalised_step_ratio:.2f}; now x{slowdown:.2f}",
                                    slowdown > tolerances.normalised_step_ratio))
            if now.ms_per_step is not None:
                notes.append(f"ms/step: baseline {old.ms_per_step:.2f}, new {now.ms_per_step:.2f} "
                             f"(x{now.ms_per_step / old.ms_per_step:.2f}; not gated: the normalised step is)")
        elif now.ms_per_step is not None:
            slowdown = now.ms_per_step / old.ms_per_step
            findings.append(Finding("ms/step", f"{old.ms_per_step:.2f}", f"{now.ms_per_step:.2f}",
                                    f"may grow x{tolerances.ms_per_step_ratio:.2f}; now x{slowdown:.2f}",
                                    slowdown > tolerances.ms_per_step_ratio))
    return Verdict(findings, notes)


def make_baseline(record: dict, tolerances: Tolerances, origin: str) -> dict:
    """A baseline from a successful run's record: the record without its event log, plus tolerances."""
    if record.get("status") != "success":
        raise BenchError(f"{origin} has status {record.get('status')!r}: a baseline must come from a successful run")
    if headline(record).top1 is None:
        raise missing(origin, TOP1, "use a run with the eval phase")
    baseline = {key: value for key, value in record.items() if key not in ("events", "tolerances")}
    baseline["baseline_of"] = origin
    baseline["tolerances"] = asdict(tolerances)
    return baseline


def existing_tolerances(path: Path) -> dict:
    """The tolerances already in a baseline file, so refreshing it keeps them; {} if there is none."""
    from harness.record import read_record

    if not Path(path).is_file():
        return {}
    return read_record(path).get("tolerances") or {}

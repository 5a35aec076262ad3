"""The regression gate: a run against a baseline record, within the baseline's tolerances.

A baseline is a results record (events stripped) with a top-level block
    "tolerances": {"top1_drop": 0.02, "ms_per_step_ratio": 1.12}
top1_drop: how far top-1 may fall (0.02 = 2 percentage points); ms_per_step_ratio: how much
slower than the baseline a step may get (new / old). The CLI overrides each.
A baseline can also be a seed summary (`bench.py --repeat N`, harness/results/seed_summary.py): top-1
then regresses when below the seeds' mean by more than max(top1_drop, SIGMAS x their std), and speed
is compared with the summary's median-speed run. Speed between commits is gated by `bench.py ab`
(harness/measure/ab.py), which holds on any machine; this comparison only on the baseline's.
It is long because the tolerances, the gate and the baseline maker share one set of rules.

Speed is gated only between runs of one machine and setting (harness/figures.unlike_steps), and
only when the machine was in the baseline's state (harness/figures.machine_state_differs: the
in-process drift reference, harness/training/calibration.py, took about as long, and other processes left
the cores alone); otherwise the speed verdict is "inconclusive", said in a note, not a regression.
On a quiet machine raw ms/step is steadier from run to run than ms/step over the reference
(README, "Speed figures you can trust", has the measured rates). It is gated by default except
where env CI is set; there `--speed` turns it on.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from googlenet_bench.harness.results.figures import (headline, machine_state_differs, same_drift_reference,
                                                     speed_stability, unlike_steps)
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.reporting.report import percent

DEFAULT_TOLERANCES = {"top1_drop": 0.02, "ms_per_step_ratio": 1.12}
CLI_FLAGS = {"top1_drop": "--max-top1-drop", "ms_per_step_ratio": "--max-slowdown"}
TOLERANCE_RULES = {
    "top1_drop": ("a fraction from 0 to 1 (0.02 = 2 percentage points)", lambda v: 0 <= v <= 1),
    "ms_per_step_ratio": ("a ratio of at least 1 (1.12 = 12% slower allowed)", lambda v: v >= 1),
}
RETIRED_TOLERANCES = {"normalised_step_ratio": "speed is gated on ms/step when the machine's state matches the "
                                               "baseline's (README, \"Speed figures you can trust\")"}


@dataclass(frozen=True)
class Tolerances:
    top1_drop: float
    ms_per_step_ratio: float

    def describe(self) -> str:
        return f"top-1 may drop {self.top1_drop * 100:.2f} pp, ms/step may grow x{self.ms_per_step_ratio:.2f}"


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
    retired = sorted(set(carried) & set(RETIRED_TOLERANCES))
    if retired:
        raise BenchError(f"{origin}: tolerance {retired[0]!r} is no longer read ({RETIRED_TOLERANCES[retired[0]]}): "
                         "remove it from the file")
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
SIGMAS = 3.0  # a run regresses below a seed summary's mean by more than max(tolerance, SIGMAS x its std)
MS_PER_STEP = "ms/step (figures.train.ms_per_step_median)"


def missing(origin: str, what: str, fix: str) -> BenchError:
    return BenchError(f"{origin} has no {what}: {fix}")


def load_baseline(path: str) -> tuple[dict, dict | None]:
    """(the baseline record, the seed summary it comes from or None): a record, or a `--repeat` summary,
    whose median-speed run is the record and whose tolerances it carries."""
    from googlenet_bench.harness.results.record import read_record
    from googlenet_bench.harness.results.seed_summary import is_summary, read_json, validate_summary

    if not Path(path).is_file() or not is_summary(read_json(path)):
        return read_record(path), None  # a record, or read_record's own one-line refusal
    summary = validate_summary(read_json(path), f"seed summary {path}")
    return {**summary["representative"], "tolerances": summary.get("tolerances") or {}}, summary


def _top1_finding(old: float, now: float, tolerances: Tolerances, summary: dict | None) -> Finding:
    if summary is None:
        return Finding("top-1", percent(old), percent(now), f"may drop {tolerances.top1_drop * 100:.2f} pp; "
                       f"change {(now - old) * 100:+.2f} pp", old - now > tolerances.top1_drop + 1e-12)
    stats = summary["top1"]
    allowed = max(tolerances.top1_drop, SIGMAS * stats["std"])
    return Finding("top-1", f"mean {percent(stats['mean'])} (std {stats['std'] * 100:.2f} pp over "
                            f"{len(stats['values'])} seeds)", percent(now),
                   f"may fall below the mean by max({tolerances.top1_drop * 100:.2f} pp, {SIGMAS:g} std) = "
                   f"{allowed * 100:.2f} pp; change {(now - stats['mean']) * 100:+.2f} pp",
                   stats["mean"] - now > allowed + 1e-12)


def check(new: dict, baseline: dict, tolerances: Tolerances, gate_speed: bool,
          new_origin: str = "new run", baseline_origin: str = "baseline",
          speed_off_reason: str = "--no-speed", summary: dict | None = None) -> Verdict:
    """Gate `new` against `baseline` (with `summary`, the seed summary it is the median run of: top-1 is
    judged against the seeds' mean and spread). Unusable input (another suite, a figure missing) raises BenchError.

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
        findings.append(_top1_finding(old.top1, now.top1, tolerances, summary))

    if not gate_speed:
        notes.append(f"speed: not gated ({speed_off_reason})")
    elif unlike_steps(new, baseline):
        notes.append(f"speed: not gated ({unlike_steps(new, baseline)})")
    else:
        if not old.ms_per_step:  # absent (or a zero that cannot be divided by)
            raise missing(baseline_origin, MS_PER_STEP,
                          "make the baseline from a run with the train phase, or pass --no-speed")
        if now.ms_per_step is None and succeeded:
            raise missing(new_origin, MS_PER_STEP, "run the suite with the train phase, or pass --no-speed")
        state, normalised = machine_state_differs(new, baseline), _normalised_note(old, now, new, baseline)
        lacking = [which for which, record in (("new run", new), ("baseline", baseline))
                   if not (record["figures"].get("train") or {}).get("calibration")]
        if lacking:  # the reference is opt-in (drift_reference: true); the state is then judged by the load alone
            notes.append(f"speed: no drift reference in the {' and the '.join(lacking)}: the machine's state "
                         "is judged from other processes' load only")
        if now.ms_per_step is None:
            pass  # a failed run without timed steps: its status is the regression
        elif state:
            notes.append(f"speed: inconclusive ({state}): rerun on a quiet machine; ms/step baseline "
                         f"{old.ms_per_step:.2f}, new {now.ms_per_step:.2f} (x{now.ms_per_step / old.ms_per_step:.2f})"
                         + (f"; {normalised}" if normalised else ""))
        else:
            slowdown = now.ms_per_step / old.ms_per_step
            findings.append(Finding("ms/step", f"{old.ms_per_step:.2f}", f"{now.ms_per_step:.2f}",
                                    f"may grow x{tolerances.ms_per_step_ratio:.2f}; now x{slowdown:.2f}",
                                    slowdown > tolerances.ms_per_step_ratio))
            if normalised:
                notes.append(f"speed: {normalised}")
    for record, which in ((new, "new run"), (baseline, "baseline")):
        stability = speed_stability(record)
        if stability and stability[0] in ("unstable", "no spread"):
            notes.append(f"{which} {stability[1]}")
    chosen = baseline.get("baseline_chosen")
    if gate_speed and chosen and chosen["runs"]:
        notes.append(f"speed baseline: the {chosen['chosen_by']} of {len(chosen['runs'])} runs "
                     f"({', '.join(f'{v:.2f}' for v in chosen['values'] if v is not None)})")
    return Verdict(findings, notes)


def _normalised_note(old, now, new: dict, baseline: dict) -> str:
    """The step over the drift reference, shown (not gated) where both runs have it from one design."""
    if not (old.normalised_step and now.normalised_step and same_drift_reference(new, baseline)):
        return ""
    return (f"step over drift reference baseline {old.normalised_step:.3f}, new {now.normalised_step:.3f} "
            f"(x{now.normalised_step / old.normalised_step:.2f}, not gated)")


def median_run(records: list[tuple[dict, str]]) -> tuple[dict, str, dict | None]:
    """Of several runs of the same suite on the same machine, the one with the median ms/step (the lower
    middle one of an even count): a baseline with less of one run's noise that is still a real record.
    Returns (record, origin, how it was chosen; None for one run)."""
    if len(records) == 1:
        return records[0][0], records[0][1], None
    first, first_origin = records[0]
    for record, origin in records:
        if record.get("status") != "success":
            raise BenchError(f"{origin} has status {record.get('status')!r}: a baseline must come from successful runs")
        if record["suite"] != first["suite"]:
            raise BenchError(f"{origin} is suite {record['suite']!r} but {first_origin} is {first['suite']!r}: "
                             "a baseline comes from runs of one suite")
        reason = unlike_steps(record, first)
        if reason:
            raise BenchError(f"{origin} does not compare with {first_origin} ({reason}): a baseline comes from runs "
                             "of one machine")
        if headline(record).ms_per_step is None:
            raise missing(origin, MS_PER_STEP, "make the baseline from runs with the train phase")
    ranked = sorted(records, key=lambda pair: headline(pair[0]).ms_per_step)
    record, origin = ranked[(len(ranked) - 1) // 2]
    return record, origin, {"chosen_by": "median ms/step", "runs": [o for _, o in records],
                            "values": [headline(r).ms_per_step for r, _ in records]}


def make_baseline(record: dict, tolerances: Tolerances, origin: str, chosen: dict | None = None) -> dict:
    """A baseline from a successful run's record: the record without its event log, plus tolerances."""
    if record.get("status") != "success":
        raise BenchError(f"{origin} has status {record.get('status')!r}: a baseline must come from a successful run")
    if headline(record).top1 is None:
        raise missing(origin, TOP1, "use a run with the eval phase")
    baseline = {key: value for key, value in record.items() if key not in ("events", "tolerances")}
    baseline["baseline_of"] = origin
    if chosen is not None:
        baseline["baseline_chosen"] = chosen
    baseline["tolerances"] = asdict(tolerances)
    return baseline


def existing_tolerances(path: Path) -> dict:
    """The tolerances already in a baseline file, so refreshing it keeps them; {} if there is none."""
    from googlenet_bench.harness.results.record import read_record

    if not Path(path).is_file():
        return {}
    return read_record(path).get("tolerances") or {}

"""`bench.py tune`: measure, on this machine, the settings that change training speed without
changing the recipe, and keep the best in the machine's profile (harness/measure/machine_profile.py).

Each candidate trains the suite's GoogleNet for a few short epochs in its own process
(harness/tuning/tune_worker.py): oneDNN reads its ISA once per process. Stages, each keeping the best
of the one before: the oneDNN ISA cap, MindSpore's CPU kernel threads (default, 1, cores), data
workers (the backend's choice, 1). In each stage every candidate is measured ROUNDS times,
interleaved (default, a, b, default, a, b, ...), so a slow minute hits all of them; a candidate
replaces the stage's default only when the A/B verdict on those measurements
(googlenet_bench.harness.measure.timing.ab_verdict) says "faster", i.e. beyond the measured noise;
otherwise the profile says "within noise" and the default stays. A candidate that runs past
SLOW_CUTOFF x the fastest candidate's time is stopped; it is reported as a bound ("stopped at the
cut-off"), never as a measured time (oneDNN's AVX-512 path was 8-12x slower on an AMD EPYC).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.errors import RunFailed  # after tuning started: a failure (exit 1), not bad input
from googlenet_bench.harness.measure.machine_profile import DEFAULT_ISA, ISA_ENV
from googlenet_bench.harness.measure.timing import ab_verdict
from googlenet_bench.harness.results.record import cpu_flags

ROUNDS = 3
SLOW_CUTOFF = 3.0
MIN_GAIN = 0.03  # a candidate must beat the default by more than 3% (and beyond the noise) to replace it
STOPPED = f"stopped at the cut-off: its run took over {SLOW_CUTOFF:g}x the fastest candidate's time"
FIRST_CANDIDATE_TIMEOUT_S = 600.0


# CPU flags of ISAs oneDNN ranks above AVX2: only with one of them can its own choice differ from AVX2.
ABOVE_AVX2 = ("avx512f", "avx_vnni", "amx_tile")


def isa_candidates(flags: set[str]) -> list[str]:
    """AVX2 first (a fast, safe yardstick for the cut-off), then oneDNN's own choice where it can differ
    from AVX2, then AVX-512 if present. Timing two names for one code path only measures noise: on a
    2-vCPU EPYC without avx512f one pass gave 544.5 and 482.6 ms/step for AVX2 and oneDNN's default."""
    if "avx2" not in flags:
        return [DEFAULT_ISA]
    candidates = ["AVX2"]
    if any(flag in flags for flag in ABOVE_AVX2):
        candidates.append(DEFAULT_ISA)
    if "avx512f" in flags:
        candidates.append("AVX512_CORE")
    return candidates


@dataclass(frozen=True)
class Candidate:
    isa: str
    threads: int = 0
    workers: int = 0

    def describe(self) -> str:
        return (f"isa={self.isa} threads={self.threads or 'default'} workers={self.workers or 'default'}")


def measure(candidate: Candidate, backend: str, suite: str, steps: int, timeout_s: float, stream,
            data: str | None = None) -> dict:
    command = [sys.executable, "-m", "googlenet_bench.harness.tuning.tune_worker", "--backend", backend, "--suite", suite,
               "--isa", candidate.isa, "--threads", str(candidate.threads), "--workers", str(candidate.workers),
               "--steps", str(steps)] + (["--data", data] if data else [])
    env = {k: v for k, v in os.environ.items() if k != ISA_ENV}
    env["GLOG_v"] = "3"  # MindSpore's log noise off
    started = time.perf_counter()
    with interrupts.child_process(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            stdout = None
    interrupts.check()  # stopped: no figure from a candidate cut short, and no profile
    if stdout is None:
        result = {"stopped": f"{STOPPED} ({timeout_s:.0f} s)"}
    else:
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (stderr.strip().splitlines() or ["no output"])[-1]
            raise RunFailed(f"tune candidate {candidate.describe()} failed: {tail}")
        result = json.loads(lines[-1])
    result.update(candidate=candidate.__dict__, wall_s=round(time.perf_counter() - started, 1))
    shown = f"{result['ms_per_step']:.1f} ms/step" if "ms_per_step" in result else result["stopped"]
    print(f"  {candidate.describe():<40} {shown}  ({result['wall_s']:.0f} s)", file=stream, flush=True)
    return result


class Tuner:
    def __init__(self, backend: str, suite: str, steps: int, stream=sys.stderr, data: str | None = None):
        self.backend, self.suite, self.steps, self.stream, self.data = backend, suite, steps, stream, data
        self.measurements: list[dict] = []
        self.fastest_wall_s: float | None = None

    def run(self, candidate: Candidate) -> float:
        timeout = FIRST_CANDIDATE_TIMEOUT_S if self.fastest_wall_s is None else SLOW_CUTOFF * self.fastest_wall_s
        result = measure(candidate, self.backend, self.suite, self.steps, timeout, self.stream, self.data)
        self.measurements.append(result)
        if "ms_per_step" not in result:
            return float("inf")
        self.fastest_wall_s = min(self.fastest_wall_s or result["wall_s"], result["wall_s"])
        return result["ms_per_step"]

    def stage(self, stage: str, default: Candidate, others: list[Candidate], rounds: int = ROUNDS) -> dict:
        """Every candidate `rounds` times, interleaved; the fastest one that beats the default beyond the
        noise of those measurements, else the default. Returns the stage's decision, for the profile."""
        print(f"{stage}:", file=self.stream)
        times: dict[Candidate, list[float]] = {candidate: [] for candidate in [default, *others]}
        for _ in range(rounds):
            for candidate in times:
                times[candidate].append(self.run(candidate))
        judged = [judge(candidate, times[candidate], times[default]) for candidate in others]
        for entry in judged:
            print(f"  {entry['candidate']:<40} {entry['verdict']}", file=self.stream)
        faster = [(statistics.median(times[c]), c) for c, entry in zip(others, judged) if entry["faster"]]
        if not faster and all(t == float("inf") for t in times[default]):
            raise RunFailed(f"tune: the {stage} default was stopped in every round; rerun on a quiet machine")
        kept = min(faster, key=lambda pair: pair[0])[1] if faster else default
        return {"stage": stage, "default": default.describe(), "kept": kept.describe(), "candidates": judged,
                "default_ms_per_step": [shown(t) for t in times[default]], "kept_candidate": kept}

    def against_untuned(self, tuned: Candidate, rounds: int) -> dict:
        """The tuned settings against the untuned defaults (oneDNN's own ISA, MindSpore's threads, the
        backend's workers), run in turn `rounds` times; the A/B ratio, or a bound where the untuned
        runs were stopped at the cut-off."""
        untuned = Candidate(DEFAULT_ISA)
        if tuned == untuned:
            return {"tuned_over_untuned": 1.0, "note": "the tuned settings are the defaults"}
        print("tuned against untuned:", file=self.stream)
        times = {untuned: [], tuned: []}
        for _ in range(rounds):
            for candidate in times:
                times[candidate].append(self.run(candidate))
        entry = judge(tuned, times[tuned], times[untuned])
        return {"tuned_over_untuned": entry.get("ratio"), "ci": entry.get("ci"), "verdict": entry["verdict"],
                "tuned_ms_per_step": entry["ms_per_step"], "untuned_ms_per_step": [shown(t) for t in times[untuned]]}


def shown(ms: float) -> float | str:
    return "stopped" if ms == float("inf") else ms


def judge(candidate: Candidate, times: list[float], default_times: list[float]) -> dict:
    """A candidate's measurements against the default's: faster beyond noise, within noise, slower, or
    (stopped in most rounds) a bound."""
    finite, base = ([t for t in ts if t != float("inf")] for ts in (times, default_times))
    entry = {"candidate": candidate.describe(), "ms_per_step": [shown(t) for t in times], "faster": False}
    if len(finite) < 2:
        return {**entry, "verdict": f"slower: {STOPPED}, in {len(times) - len(finite)} of {len(times)} rounds"}
    if len(base) < 2:
        return {**entry, "faster": True, "verdict": f"faster: the default was {STOPPED}, in "
                                                    f"{len(default_times) - len(base)} of {len(default_times)} rounds"}
    result = ab_verdict(base, finite, min_effect=MIN_GAIN)
    words = {"faster": "faster beyond noise", "slower": "slower", "no change": "within noise",
             "inconclusive (noise)": "within noise (the measurements scatter too much to tell)"}
    return {**entry, "faster": result["verdict"] == "faster", "ratio": result["ratio"], "ci": result["ci"],
            "verdict": f"{words[result['verdict']]}: x{result['ratio']:.2f} of the default's ms/step "
                       f"(95% interval x{result['ci'][0]:.2f}..x{result['ci'][1]:.2f})"}


def gain_line(against_untuned: dict) -> str:
    """The tuned settings against the untuned defaults, as a measurement or plainly as a bound."""
    if against_untuned.get("tuned_over_untuned") is None:
        return f"against the untuned defaults: {against_untuned['verdict']}"
    if "ci" not in against_untuned:
        return against_untuned.get("note", "")
    low, high = against_untuned["ci"]
    return (f"ms/step x{against_untuned['tuned_over_untuned']:.2f} of the untuned defaults' (95% interval "
            f"x{low:.2f}..x{high:.2f}, {len(against_untuned['tuned_ms_per_step'])} interleaved rounds)")


def tune(backend: str, suite: str, steps: int, rounds: int = ROUNDS, stream=sys.stderr,
         data: str | None = None) -> tuple[dict, list[dict], dict, list[dict]]:
    """The best settings, every measurement, the tuned settings against the untuned defaults, and each
    stage's decision."""
    cores = os.cpu_count() or 1
    tuner = Tuner(backend, suite, steps, stream, data)
    isas = isa_candidates(cpu_flags())
    stages = [tuner.stage("oneDNN ISA", Candidate(isas[0]), [Candidate(isa) for isa in isas[1:]], rounds)]
    best = stages[-1]["kept_candidate"]
    stages.append(tuner.stage("CPU kernel threads", best, [Candidate(best.isa, t) for t in sorted({1, cores})], rounds))
    best = stages[-1]["kept_candidate"]
    worker_counts = [1] if cores > 1 else []
    stages.append(tuner.stage("data workers", best, [Candidate(best.isa, best.threads, w) for w in worker_counts],
                              rounds))
    best = stages[-1]["kept_candidate"]
    comparison = tuner.against_untuned(best, rounds)
    for entry in stages:
        entry.pop("kept_candidate")
    return dict(best.__dict__), tuner.measurements, comparison, stages

"""`bench.py tune`: measure, on this machine, the settings that change training speed without
changing the recipe, and keep the best in the machine's profile (harness/measure/machine_profile.py).

Each candidate trains the suite's GoogleNet for a few short epochs in its own process
(harness/tuning/tune_worker.py): oneDNN reads its ISA once per process. Stages, each keeping the best
of the one before: the oneDNN ISA cap (one pass: the differences are several-fold), then MindSpore's
CPU kernel threads (default, 1, cores), then data workers (the backend's choice, 1). Thread and
worker candidates run in turn `rounds` times, each keeping its fastest time, and replace the default
only when faster by more than NOISE: this machine's step time moves by 25% between minutes. A candidate that runs past
SLOW_CUTOFF x the fastest candidate's time is stopped and recorded as such (oneDNN's AVX-512
path is 8-12x slower here; waiting it out would take minutes).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.errors import RunFailed  # after tuning started: a failure (exit 1), not bad input
from googlenet_bench.harness.measure.machine_profile import DEFAULT_ISA, ISA_ENV
from googlenet_bench.harness.results.record import cpu_flags

NOISE = 0.05
SLOW_CUTOFF = 3.0
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
    # The candidate gets normal signals (this process blocks them) and is passed a stop signal on.
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=interrupts.unblock_in_child)
    with interrupts.passed_on_to(proc):
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            stdout = None
    interrupts.check()  # stopped: no figure from a candidate cut short, and no profile
    if stdout is None:
        result = {"stopped": f"slower than {timeout_s:.0f} s ({SLOW_CUTOFF:g}x the fastest candidate's time)"}
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

    def best_of(self, stage: str, default: Candidate, others: list[Candidate], needs_margin: bool,
                rounds: int = 1) -> Candidate:
        """The fastest candidate; each is run `rounds` times in turn and keeps its fastest time, so a
        minute in which the machine was slow does not decide."""
        print(f"{stage}:", file=self.stream)
        timed: dict[Candidate, float] = {}
        for _ in range(rounds):
            for candidate in [default, *others]:
                timed[candidate] = min(timed.get(candidate, float("inf")), self.run(candidate))
        best = min(timed, key=timed.get)
        if needs_margin and timed[best] > timed[default] * (1 - NOISE):
            return default  # not faster beyond the noise: keep the default
        if timed[best] == float("inf"):
            raise RunFailed(f"tune: every {stage} candidate was stopped; rerun on a quiet machine")
        return best


    def against_untuned(self, tuned: Candidate, rounds: int) -> dict:
        """The tuned settings' ms/step over the untuned defaults' (oneDNN's own ISA, MindSpore's threads,
        the backend's workers), the two run in turn `rounds` times: one ratio per round, paired, since
        this machine's speed moves between minutes; the median is the figure."""
        untuned = Candidate(DEFAULT_ISA)
        if tuned == untuned:
            return {"ratios": [], "tuned_over_untuned": 1.0, "note": "the tuned settings are the defaults"}
        print("tuned against untuned:", file=self.stream)
        ratios, stopped = [], 0
        for _ in range(rounds):
            untuned_ms = self.run(untuned)
            tuned_ms = self.run(tuned)
            if untuned_ms == float("inf"):  # stopped at SLOW_CUTOFF x the fastest: the ratio is at most 1/cutoff
                stopped += 1
                untuned_ms = tuned_ms * SLOW_CUTOFF
            ratios.append(tuned_ms / untuned_ms)
        result = {"ratios": [round(r, 4) for r in ratios], "tuned_over_untuned": round(statistics.median(ratios), 4)}
        if stopped:
            result["note"] = (f"the untuned run was stopped in {stopped} of {rounds} rounds, past {SLOW_CUTOFF:g}x the "
                              f"fastest candidate's time: those rounds count as 1/{SLOW_CUTOFF:g}, an upper bound")
        return result


def tune(backend: str, suite: str, steps: int, rounds: int = 2, stream=sys.stderr,
         data: str | None = None) -> tuple[dict, list[dict], dict]:
    """The best settings, every measurement, and the tuned settings against the untuned defaults."""
    cores = os.cpu_count() or 1
    tuner = Tuner(backend, suite, steps, stream, data)
    isas = isa_candidates(cpu_flags())
    best = tuner.best_of("oneDNN ISA", Candidate(isas[0]), [Candidate(isa) for isa in isas[1:]], needs_margin=False)
    thread_counts = sorted({1, cores})
    best = tuner.best_of("CPU kernel threads", best, [Candidate(best.isa, t) for t in thread_counts], True, rounds)
    worker_counts = [1] if cores > 1 else []
    best = tuner.best_of("data workers", best, [Candidate(best.isa, best.threads, w) for w in worker_counts], True,
                         rounds)
    comparison = tuner.against_untuned(best, rounds)
    return dict(best.__dict__), tuner.measurements, comparison

"""The per-machine tuning profile: which speed settings `bench.py tune` measured best on this CPU
with this MindSpore, and applying them to a run.

The profile belongs to the machine, not to a backend: every backend that trains on this CPU
(third-party ones included) gets it, because the core applies it in the set-up phase, before the
backend's device set-up. It holds only settings that change speed, never the recipe:
  - the oneDNN ISA cap (ONEDNN_MAX_CPU_ISA; oneDNN reads it once, at its first primitive),
  - MindSpore's CPU kernel thread count (0: MindSpore's default),
  - the data workers (0: the backend's choice).
With no profile, the ISA is capped at AVX2, a conservative default named in the record with a
one-line hint to run `tune`: on this project's AMD EPYC oneDNN's default (AVX-512) path ran
GoogleNet 8-12x slower than AVX2, while where AVX-512 is fast AVX2 costs far less than that.
A value the user set in the environment (ONEDNN_MAX_CPU_ISA) is never overridden.

File: <cache>/tune/<cpu model>--mindspore-<version>.json, where <cache> is $GOOGLENET_BENCH_CACHE
or ~/.cache/googlenet-bench. This module writes and reads it. It also reads the speed gate's
testing knob (GOOGLENET_BENCH_EXTRA_WORK), validated with the profile before anything runs.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from googlenet_bench.harness.errors import BenchError

ISA_ENV = "ONEDNN_MAX_CPU_ISA"
DEFAULT_ISA = "default"  # leave ONEDNN_MAX_CPU_ISA unset: oneDNN's own choice
CONSERVATIVE_ISA = "AVX2"
PROFILE_FORMAT = 1
NO_PROFILE = "conservative default (no profile: run `python bench.py tune`)"
TUNE_HINT = ("note: no tuning profile for this machine yet; used ONEDNN_MAX_CPU_ISA=AVX2. "
             "Run `python bench.py tune` once to measure the best settings here")
# Testing knob: calibration workloads of real compute added per training step, inside the timed
# epoch (harness/calibration.ExtraWork). Used by tests/benchmarks/speed_gate.py.
EXTRA_WORK_ENV = "GOOGLENET_BENCH_EXTRA_WORK"


@dataclass(frozen=True)
class SpeedSettings:
    isa: str
    threads: int = 0
    workers: int = 0
    source: str = NO_PROFILE
    profile: str = ""
    isa_from_environment: bool = False

    def apply_environment(self, environ=os.environ) -> None:
        """The ISA cap, before MindSpore runs its first operation."""
        if not self.isa_from_environment and self.isa != DEFAULT_ISA:
            environ[ISA_ENV] = self.isa

    def apply_threads(self) -> None:
        """The kernel thread count, once MindSpore is imported (it has no environment variable)."""
        if self.threads:
            import mindspore as ms
            from mindspore._c_expression import RuntimeConf

            if not RuntimeConf.get_instance().is_op_threads_num_configured():  # a backend's own choice wins
                ms.device_context.cpu.op_tuning.threads_num(self.threads)

    def dataset_options(self, backend_choice):
        """The backend's DatasetOptions with the profile's data workers, when the profile has them."""
        return replace(backend_choice, num_parallel_workers=self.workers) if self.workers else backend_choice

    def hint(self) -> str | None:
        """One line for the end of a run that used the conservative default, else None."""
        return TUNE_HINT if self.source == NO_PROFILE and not self.isa_from_environment else None

    def describe(self) -> dict:
        described = {"source": self.source, "profile": self.profile,
                     "settings": {"isa": self.isa, "threads": self.threads, "workers": self.workers}}
        if self.isa_from_environment:
            described["isa_from"] = f"{ISA_ENV} set in the environment"
        return described


def cache_root(environ=os.environ) -> Path:
    return Path(environ.get("GOOGLENET_BENCH_CACHE") or Path.home() / ".cache" / "googlenet-bench")


def machine_key() -> str:
    """CPU model and MindSpore version, as a file name: the profile is valid for exactly these."""
    from googlenet_bench.harness.results.record import cpu_model

    try:
        version = metadata.version("mindspore")
    except metadata.PackageNotFoundError:
        version = "absent"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", cpu_model()).strip("-") or "unknown-cpu"
    return f"{slug}--mindspore-{version}"


def profile_path(environ=os.environ) -> Path:
    return cache_root(environ) / "tune" / f"{machine_key()}.json"


def write_profile(path: Path, settings: dict, measurements: list[dict], backend: str, suite: str,
                  against_untuned: dict, stages: list[dict] | None = None) -> None:
    from googlenet_bench.harness.results.record import write_json_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"format": PROFILE_FORMAT, "key": machine_key(), "backend": backend, "suite": suite,
                             "settings": settings, "against_untuned": against_untuned,
                             "stages": stages or [], "measurements": measurements})


def read_profile(path: Path) -> dict | None:
    """The profile at `path`, None when there is none; a broken one is an error naming the fix."""
    if not path.exists():
        return None
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
        settings = profile["settings"]
        if profile.get("format") != PROFILE_FORMAT or not isinstance(settings.get("isa"), str) \
                or not all(type(settings.get(k)) is int and settings[k] >= 0 for k in ("threads", "workers")):
            raise ValueError("unexpected content")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BenchError(f"tuning profile {path} is unreadable ({exc}): delete it or rerun `python bench.py tune`")
    return profile


def speed_settings(environ=os.environ) -> SpeedSettings:
    """This machine's settings: its profile, else the conservative default; a user's ISA wins."""
    path = profile_path(environ)
    profile = read_profile(path)
    if profile is None:
        settings = SpeedSettings(CONSERVATIVE_ISA, profile=str(path))
    else:
        known = profile["settings"]
        settings = SpeedSettings(known["isa"], known["threads"], known["workers"], "profile", str(path))
    if ISA_ENV in environ:
        settings = replace(settings, isa=environ[ISA_ENV], isa_from_environment=True)
    return settings


def extra_work_per_step(environ=os.environ) -> float:
    """The testing knob's value: calibration workloads added per step (0: the knob is off)."""
    text = environ.get(EXTRA_WORK_ENV, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise BenchError(f"{EXTRA_WORK_ENV}={text!r}: give a number of calibration workloads per step "
                         f"(e.g. 0.5), or unset it")
    return value

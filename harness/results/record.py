"""Results records: one JSON file per run, written atomically, validated when read (event logs: googlenet_bench.harness.results.events).

A record is the single source of truth: tables, comparisons and checks are
rendered from records, never from live state.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from googlenet_bench.harness.errors import BenchError, RunFailed
from googlenet_bench.harness.results.schema import SCHEMA_VERSION, checked_for_writing, validate_record  # noqa: F401
from googlenet_bench.harness.results.shapes import strict_json
from googlenet_bench.harness.targets import writable_file

# The folder that holds the package: a git checkout in development, site-packages when installed.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask can only be read by setting it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: Any, what: str = "output file", make_folder: bool = True) -> Path:
    """Write JSON so that `path` is either absent, the old file, or the whole new file; never over what is
    not a regular file (googlenet_bench.harness.targets). `make_folder`: the harness owns the folder."""
    data = strict_json(data)
    path = writable_file(path, what, make_folder=make_folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False, default=str, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600; others on a shared results dir read records
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def fallback_record_dir() -> Path:
    return Path(tempfile.gettempdir()) / "googlenet-bench-records"


def write_record(path: Path, record: dict) -> Path:
    """Write a record where asked, or, if that fails (disk full, permissions), to the fallback
    directory; the returned path says where it went. Never a half-written file in either place."""
    try:
        return write_json_atomic(path, record, "record")
    except (OSError, BenchError) as exc:  # BenchError: the folder went read-only, or is not a folder
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        fallback = fallback_record_dir() / Path(path).name
        try:
            write_json_atomic(fallback, record, "record")
        except (OSError, BenchError):
            raise BenchError(f"the record could not be written to {path} ({why}) nor to {fallback}: "
                             "free disk space and rerun") from None
        raise RecordMoved(f"the record could not be written to {path} ({why}); it was written to "
                          f"{fallback} instead", fallback) from None


class RecordMoved(RunFailed):
    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo; empty where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_vector_isa() -> str | None:
    """The widest vector ISA the CPU lists: hosts behind one model name ("AMD EPYC" on these VMs) differ
    here, and oneDNN's speed with them (README, "Speed figures you can trust")."""
    flags = cpu_flags()
    return next((isa for isa in ("avx512f", "avx2", "avx", "sse4_2") if isa in flags), None)


def git_commit() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        date = git("log", "-1", "--format=%cI") if commit else ""  # the trends' x axis: commit and its date
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "date": None}
    return {"commit": commit or None, "dirty": dirty if commit else None, "date": date or None}


def environment() -> dict:
    import mindspore

    return {
        "mindspore": mindspore.__version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_vector_isa": cpu_vector_isa(),
        "cpu_cores": os.cpu_count(),
        "hostname": platform.node(),
        "git": git_commit(),
    }


# How far a run got: a record is never replaced by one that got less far.
STATUS_RANK = {"failed": 0, "diverged": 1, "aborted": 2, "export_mismatch": 3, "below_target": 3, "precision_gap": 3,
               "export_failed": 3, "success": 4}
ATTEMPTS_DIR = "attempts"


def keep_record(results_dir: Path, run_dir: Path, run_id: str, record: dict, attempt: int) -> tuple[Path | None, Path | None]:
    """Write this attempt's own account (run_dir/attempts/<n>.json), and the run's record
    (results/<run>.json) unless the one there got further. Returns (attempt file, run record
    written or None when the earlier record was kept)."""
    record = checked_for_writing(record)
    try:
        attempt_path = write_json_atomic(Path(run_dir) / ATTEMPTS_DIR / f"{attempt}.json", record)
    except (OSError, BenchError):
        attempt_path = None  # the run's record, below, goes to the fallback directory if it cannot go there
    run_record = Path(results_dir) / f"{run_id}.json"
    if run_record.exists():
        try:
            earlier = json.loads(run_record.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError, AttributeError):
            earlier = None
        if STATUS_RANK.get(earlier, -1) > STATUS_RANK.get(record["status"], -1):
            return attempt_path, None
    return attempt_path, write_record(run_record, record)


def read_record(path: str | Path) -> dict:
    """Load a results record, with a one-line error for anything unusable."""
    path = Path(path)
    if path.is_dir():
        raise BenchError(f"{path} is a directory: give a record file, e.g. {path}.json")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError(f"results record {path} not found: give a file from results/") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"results record {path} cannot be read ({exc}): give a record written by bench.py") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"results record {path} is not valid JSON (line {exc.lineno}): "
                         "it is truncated or not a record; rerun the suite") from None
    except (ValueError, RecursionError) as exc:  # an int of over 4,300 digits; nesting deeper than ~1,000
        problem = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"
        raise BenchError(f"results record {path} is not a record bench.py writes ({problem}): "
                         "rerun the suite") from None
    return validate_record(record, f"results record {path}")

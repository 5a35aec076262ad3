"""Speed A/B in one sitting (`bench.py ab --base REV`): the code at a base revision against the
current code, on this machine, now.

Short timed runs alternate in ABBA order (base, new, new, base per round), each a whole `bench.py`
run in its own process, with the same suite, settings, interpreter, environment and cache. The base
is the revision's tree exported with `git archive` into a temporary folder (the user's checkout and
its .git are not touched); each side runs its own `bench.py`, with a folder on PYTHONPATH that maps
`googlenet_bench` to that side's tree (older trees, from before the one namespace, import `harness`
from their own folder and ignore it). The figure per run is its fastest timed epoch's ms/step (other
load only ever slows a step); `decide` compares the sides' fastest runs
(googlenet_bench.harness.measure.timing.ab_verdict).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.measure.timing import ab_verdict
from googlenet_bench.harness.results.figures import other_load
from googlenet_bench.harness.results.record import PROJECT_ROOT

# A short run: 4 epochs of 8 steps, the first (compile) untimed; about 20 s a run on this project's
# 2-core Xeon. Eval and the time-to-target scoring are switched off where the side's suite has them.
SHORT_RUN = ("epochs=4", "train_samples=512")
OFF_WHERE_PRESENT = ("eval_every_epochs", "target_top1", "min_top1")
ORDER = ("base", "new", "new", "base")


def git(repo: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=not binary, timeout=120)


def repository(root: Path = PROJECT_ROOT) -> Path:
    try:
        done = git(root, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        raise BenchError("ab needs git on PATH to read the base revision: install git") from None
    if done.returncode != 0:
        raise BenchError(f"ab compares against a revision of a git checkout, and {root} is not one: "
                         "run it from a clone of googlenet-bench")
    return Path(done.stdout.strip())


def resolve(repo: Path, rev: str) -> str:
    """The commit `rev` names; refused in one line if there is none or it has no harness."""
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"--base {rev}: no such revision in {repo}: give a commit, branch or tag (git log)")
    commit = done.stdout.strip()
    for needed in ("bench.py", "harness"):
        if git(repo, "cat-file", "-e", f"{commit}:{needed}").returncode != 0:
            raise BenchError(f"--base {rev} ({commit[:12]}) has no harness (no {needed} in its tree): "
                             "give a revision of googlenet-bench that has bench.py and harness/")
    return commit


def export_tree(repo: Path, commit: str, dest: Path) -> Path:
    """The revision's files in `dest`, written from git's object store (no worktree, no checkout change)."""
    done = git(repo, "archive", "--format=tar", commit, binary=True)
    if done.returncode != 0:
        raise BenchError(f"git archive {commit[:12]} failed: {done.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def suite_overrides(tree: Path, suite: str, extra: tuple[str, ...]) -> list[str]:
    """The short run's --set list for a side: its suite's eval keys nulled where that suite has them."""
    path = Path(suite) if suite.endswith((".yaml", ".yml")) else tree / "suites" / f"{suite}.yaml"
    try:
        keys = set(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError):
        keys = set()  # the side's own run refuses an unknown suite, in its own words
    return [*SHORT_RUN, *(f"{key}=null" for key in OFF_WHERE_PRESENT if key in keys), *extra]


@dataclass
class Side:
    name: str
    tree: Path
    shim: Path
    overrides: list[str] = field(default_factory=list)

    def command(self, suite: str, backend: str, results: Path) -> list[str]:
        sets = [arg for override in self.overrides for arg in ("--set", override)]
        return [sys.executable, str(self.tree / "bench.py"), "--suite", suite, "--backend", backend,
                "--phases", "train", "--results", str(results), *sets]

    def environment(self) -> dict:
        path = os.pathsep.join(p for p in (str(self.shim), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONPATH": path, "GLOG_v": "3"}


def make_side(name: str, tree: Path, work: Path, suite: str, extra: tuple[str, ...]) -> Side:
    shim = work / f"path-{name}"
    shim.mkdir()
    (shim / "googlenet_bench").symlink_to(tree.resolve(), target_is_directory=True)
    return Side(name, tree, shim, suite_overrides(tree, suite, extra))


def timed_run(side: Side, suite: str, backend: str, results: Path, log: Path) -> dict:
    """One short run of one side; its figures from its record (read as JSON: an older schema is fine)."""
    results.mkdir(parents=True)
    started = time.perf_counter()
    with log.open("w") as out, interrupts.child_process(side.command(suite, backend, results), cwd=side.tree,
                                                        env=side.environment(), stdout=out,
                                                        stderr=subprocess.STDOUT) as done:
        done.wait()
    interrupts.check()  # stopped: the sitting ends without a verdict
    records = sorted(results.glob("*.json"))
    if done.returncode != 0 or len(records) != 1:
        tail = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"ab: a {side.name} run failed (exit {done.returncode}): {tail}; its log: {log}")
    record = json.loads(records[0].read_text())
    train = (record.get("figures") or {}).get("train") or {}
    ms = train.get("ms_per_step_min") or train.get("ms_per_step_median")
    if record.get("status") != "success" or not ms:
        raise BenchError(f"ab: a {side.name} run ended {record.get('status')!r} without ms/step; its log: {log}")
    busy = other_load(record)
    spread = train.get("ms_per_step_spread") or {}
    return {"side": side.name, "ms_per_step": ms, "timed_epochs": train.get("timed_epochs"), "stability": spread.get("stability"),
            "other_cores_max": busy[1] if busy else None, "wall_s": round(time.perf_counter() - started, 1)}


FIGURE = "fastest run's wall ms/step"


def decide(runs: list[dict]) -> dict:
    """The verdict on each side's fastest run (wall ms/step, each run's fastest timed epoch). Disturbances
    only ever add time: other processes, and the host's speed, which on the AMD host jumped between ~213
    and ~268 ms/step from one process to the next for the same code. So each side's fastest run is the
    closest to its undisturbed speed, where a median depends on how many of a side's runs were slowed
    (measured: docs/speed.md). The medians' ratio and interval are kept alongside, for information."""
    base, new = ([run["ms_per_step"] for run in runs if run["side"] == side] for side in ("base", "new"))
    median = ab_verdict(base, new, "median")
    return {**ab_verdict(base, new, "min"), "figure": FIGURE,
            "median": {key: median[key] for key in ("ratio", "ci", "verdict")}}


@dataclass
class Sitting:
    base_rev: str
    suite: str = "digits"
    backend: str = "cpu"
    overrides: tuple[str, ...] = ()
    rounds: int = 3
    max_rounds: int = 4


def run_sitting(sitting: Sitting, stream=sys.stderr) -> dict:
    """ABBA rounds until the verdict is not "inconclusive (noise)" or max_rounds are done."""
    repo = repository()
    commit = resolve(repo, sitting.base_rev)
    dirty = bool(git(PROJECT_ROOT, "status", "--porcelain", "--untracked-files=no").stdout.strip())
    head = git(PROJECT_ROOT, "rev-parse", "HEAD").stdout.strip() or None
    started, clock = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="googlenet-bench-ab-"))
    kept = False
    try:
        sides = {"base": make_side("base", export_tree(repo, commit, work / "base-tree"), work, sitting.suite,
                                   sitting.overrides),
                 "new": make_side("new", PROJECT_ROOT, work, sitting.suite, sitting.overrides)}
        runs: list[dict] = []
        result = None
        for round_index in range(sitting.max_rounds):
            for name in ORDER:
                n = len(runs) + 1
                run = timed_run(sides[name], sitting.suite, sitting.backend, work / f"run-{n:02d}-{name}",
                                work / f"run-{n:02d}-{name}.log")
                runs.append(run)
                print(f"  ab run {n:2d} {name:<4} {run['ms_per_step']:8.2f} ms/step (fastest of "
                      f"{run['timed_epochs']} timed epochs; {run['wall_s']:.0f} s)", file=stream, flush=True)
            if round_index + 1 >= sitting.rounds:
                result = decide(runs)
                if result["verdict"] != "inconclusive (noise)":
                    break
    except BenchError:
        kept = True  # a failed run: its log, named in the error, stays
        raise
    finally:
        if not kept:
            shutil.rmtree(work, ignore_errors=True)
    return {"base": {"rev": sitting.base_rev, "commit": commit},
            "new": {"tree": str(PROJECT_ROOT), "commit": head, "dirty": dirty},
            "suite": sitting.suite, "backend": sitting.backend, "overrides": list(sitting.overrides),
            "short_run": list(SHORT_RUN), "order": "ABBA", "rounds": len(runs) // len(ORDER), "runs": runs,
            **result, "started": started, "wall_s": round(time.perf_counter() - clock, 1)}

"""What the command line asked for, as given (`RunOptions`), and where a resumed run starts (`ResumeFrom`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from googlenet_bench.harness.launch import LaunchRequest


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for, as given."""

    suite: str = "digits"
    backend: str = "cpu"
    overrides: tuple[str, ...] = ()
    data: str | None = None
    phases: tuple[str, ...] | None = None
    checkpoint: str | None = None
    models: tuple[str, ...] = ()
    results_dir: Path = Path("results")
    run_id: str | None = None
    launch: LaunchRequest = LaunchRequest(ranks=1)
    resume: str | None = None  # a run directory to continue
    pretrained: str | None = None  # weights to start training from
    rehearse_on: str | None = None  # run the backend's recipe on this host backend's device
    oversubscribe: bool = False  # allow more ranks on this machine than its backend says it can host
    scaling_reference: str | None = None  # a 1-rank record the N-rank run's efficiency is measured against
    keep_checkpoints: bool = False  # keep the training checkpoints after a success (googlenet_bench.harness.results.artifacts)
    # Set in the processes a launcher starts: they run one rank of a run the parent owns.
    worker: bool = False
    worker_argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResumeFrom:
    checkpoint: Path | None  # None: interrupted before its first checkpoint; it starts over
    epoch: int
    skipped: tuple[str, ...] = ()  # newer checkpoints that failed their CRC check
    in_epoch: int = 0  # steps done of epoch `epoch + 1` (a checkpoint saved mid-epoch on a stop signal)

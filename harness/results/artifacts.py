"""A run directory's files at the end of a run, kept on purpose and listed for the record.

After a success the training checkpoints (weights plus optimizer state, twice the weights' size each)
are removed: nothing resumes a finished run, and the final weights and exports stay. Any other ending
keeps them, since `--resume` continues from them; `--keep-checkpoints` keeps them always. Every file
left is listed with its size and SHA-256 (attempts/ is not: it is written after the record, and
names the record).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from googlenet_bench.harness.results.checkpoints import CHECKPOINT_DIR, training_checkpoints
from googlenet_bench.harness.results.record import ATTEMPTS_DIR


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settle(run_dir: Path, status: str, keep_checkpoints: bool) -> dict:
    """Remove what a finished run does not need; the figures.artifacts block of what is left."""
    run_dir = Path(run_dir)
    checkpoint_dir = run_dir / CHECKPOINT_DIR
    removed = []
    if status == "success" and not keep_checkpoints:
        for path in training_checkpoints(checkpoint_dir):
            size = path.stat().st_size
            path.unlink()
            removed.append({"path": path.relative_to(run_dir).as_posix(), "bytes": size})
    files = []
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if path.is_file() and not path.is_symlink() and relative.parts[0] != ATTEMPTS_DIR:
            files.append({"path": relative.as_posix(), "bytes": path.stat().st_size, "sha256": sha256(path)})
    return {"dir": str(run_dir.resolve()), "files": files, "bytes": sum(f["bytes"] for f in files),
            "removed": removed, "checkpoints_kept": not removed}

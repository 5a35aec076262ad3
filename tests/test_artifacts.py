"""What a run directory keeps at the end of a run (googlenet_bench.harness.results.artifacts)."""
from __future__ import annotations

import hashlib

import pytest

from googlenet_bench.harness.results.artifacts import settle

FILES = {"googlenet.ckpt": b"w" * 300, "googlenet.onnx": b"o" * 200, "events.log": b"e", "run.json": b"{}",
         "checkpoints/train_googlenet_digits-5_22.ckpt": b"c" * 600,
         "checkpoints/train_googlenet_digits-10_22.ckpt": b"d" * 600, "attempts/1.json": b"{}"}


@pytest.fixture
def run_dir(tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_a_success_drops_the_training_checkpoints_and_lists_what_stays(run_dir):
    block = settle(run_dir, "success", keep_checkpoints=False)
    assert [entry["path"] for entry in block["removed"]] == ["checkpoints/train_googlenet_digits-5_22.ckpt",
                                                            "checkpoints/train_googlenet_digits-10_22.ckpt"]
    assert not list((run_dir / "checkpoints").glob("*.ckpt")) and (run_dir / "googlenet.ckpt").exists()
    assert [entry["path"] for entry in block["files"]] == ["events.log", "googlenet.ckpt", "googlenet.onnx", "run.json"]
    onnx = next(entry for entry in block["files"] if entry["path"] == "googlenet.onnx")
    assert onnx == {"path": "googlenet.onnx", "bytes": 200, "sha256": hashlib.sha256(b"o" * 200).hexdigest()}
    assert block["bytes"] == 300 + 200 + 1 + 2 and block["dir"] == str(run_dir.resolve())


@pytest.mark.parametrize("status, keep", [("aborted", False), ("failed", False), ("diverged", False),
                                          ("below_target", False), ("success", True)])
def test_any_other_ending_or_keep_checkpoints_keeps_everything_a_resume_needs(run_dir, status, keep):
    block = settle(run_dir, status, keep_checkpoints=keep)
    assert block["removed"] == [] and block["checkpoints_kept"]
    assert len(list((run_dir / "checkpoints").glob("*.ckpt"))) == 2
    assert "checkpoints/train_googlenet_digits-10_22.ckpt" in [entry["path"] for entry in block["files"]]

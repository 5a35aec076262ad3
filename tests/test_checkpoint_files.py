"""Issue 10, classes 6 and 8 on files: a bad checkpoint gives our one line and none of MindSpore's log lines;
checkpoints are pruned across the prefixes a resume adds; records and run files follow the umask."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from conftest import PROJECT_ROOT
from googlenet_bench.harness.results.checkpoints import prune_checkpoints, save_run_file
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.record import write_json_atomic, write_record


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    import mindspore as ms
    import mindspore.nn as nn

    path = tmp_path_factory.mktemp("ckpt") / "dense.ckpt"
    ms.save_checkpoint(nn.Dense(3, 2), str(path), crc_check=True)
    return path


def bad_checkpoint(tmp_path, good_checkpoint, kind: str):
    data = good_checkpoint.read_bytes()
    content = {"empty": b"", "random bytes": os.urandom(1000), "truncated": data[:40],
               "one flipped byte": data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:],
               }[kind]
    path = tmp_path / f"{kind.replace(' ', '-')}.ckpt"
    path.write_bytes(content)
    return path


@pytest.mark.bad_input
@pytest.mark.parametrize("kind, reason", [
    ("empty", "the file is empty"),
    ("random bytes", "it cannot be parsed or fails its CRC check"),
    ("truncated", "it cannot be parsed or fails its CRC check"),
    ("one flipped byte", "it cannot be parsed or fails its CRC check"),  # MindSpore: "May not have permission"
])
def test_a_bad_checkpoint_is_one_line_and_mindspores_log_lines_are_kept_back(tmp_path, good_checkpoint, kind, reason):
    """In a fresh process, as bench.py meets it: stderr holds our line and nothing else."""
    path = bad_checkpoint(tmp_path, good_checkpoint, kind)
    script = textwrap.dedent(f"""
        import sys
        from googlenet_bench.harness.results.checkpoints import load_verified
        from googlenet_bench.harness.errors import BenchError
        try:
            load_verified({str(path)!r})
        except BenchError as exc:
            print(f"error: {{exc}}", file=sys.stderr)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.stderr == f"error: checkpoint {path} is corrupt: {reason}\n"
    assert "permission" not in result.stderr and "filter_prefix" not in result.stderr


def test_a_good_checkpoint_still_loads_and_stderr_works_after(good_checkpoint, capfd):
    from googlenet_bench.harness.results.checkpoints import load_verified

    assert set(load_verified(good_checkpoint)) == {"weight", "bias"}
    print("still here", file=sys.stderr)
    assert capfd.readouterr().err == "still here\n"  # the descriptor was given back


@pytest.mark.bad_input
def test_a_missing_checkpoint_or_a_directory_is_one_line(tmp_path):
    from googlenet_bench.harness.results.checkpoints import load_verified

    with pytest.raises(BenchError, match=r"cannot be read \(No such file or directory\)$"):
        load_verified(tmp_path / "none.ckpt")
    with pytest.raises(BenchError, match="is not a file: give a .ckpt file$"):
        load_verified(tmp_path)


# -- pruning across prefixes -------------------------------------------------------------------

def touch(directory, *names):
    for name in names:
        (directory / name).write_bytes(b"x")


def test_prune_keeps_the_newest_by_epoch_across_the_prefixes_a_resume_adds(tmp_path):
    # The first run saved epochs 2 and 4 (ModelCheckpoint pruned its own prefix); after a resume MindSpore
    # saved under prefix _1, after another under _2: its own pruning never sees the other prefixes.
    touch(tmp_path, "train_googlenet_digits-2_22.ckpt", "train_googlenet_digits-4_22.ckpt",
          "train_googlenet_digits_1-6_22.ckpt", "train_googlenet_digits_1-8_22.ckpt",
          "train_googlenet_digits_2-10_22.ckpt")
    removed = prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == ["train_googlenet_digits-2_22.ckpt", "train_googlenet_digits-4_22.ckpt",
                                                "train_googlenet_digits_1-6_22.ckpt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_googlenet_digits_1-8_22.ckpt",
                                                          "train_googlenet_digits_2-10_22.ckpt"]


def test_prune_orders_by_epoch_then_step_not_by_name_or_time(tmp_path):
    touch(tmp_path, "p_1-10_22.ckpt", "p-9_22.ckpt", "p-10_11.ckpt")
    os.utime(tmp_path / "p-9_22.ckpt", (2e9, 2e9))  # written last does not make it newest
    prune_checkpoints(tmp_path, keep=1)
    assert [p.name for p in tmp_path.iterdir()] == ["p_1-10_22.ckpt"]


def test_prune_leaves_other_files_and_keeps_all_when_there_are_few(tmp_path):
    touch(tmp_path, "p-1_4.ckpt", "p-2_4.ckpt", "googlenet.ckpt", "p-3_4.ckpt.tmp", "notes.txt")
    assert prune_checkpoints(tmp_path, keep=1) == [tmp_path / "p-1_4.ckpt"]  # the .tmp is no checkpoint
    assert prune_checkpoints(tmp_path, keep=10) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["googlenet.ckpt", "notes.txt", "p-2_4.ckpt", "p-3_4.ckpt.tmp"]


# -- file modes follow the umask ----------------------------------------------------------------

@pytest.fixture
def umask():
    """Set a umask for one test and put the old one back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_records_and_run_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    record = write_record(tmp_path / "record.json", {"schema": 1})
    save_run_file(tmp_path, {"name": "digits"}, {"backend": "cpu"})
    plain = write_json_atomic(tmp_path / "plain.json", [1])
    for path in (record, tmp_path / "run.json", plain):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, (path, oct(path.stat().st_mode))
    assert json.loads((tmp_path / "run.json").read_text()) == {"config": {"name": "digits"}, "options": {"backend": "cpu"}}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left

"""`bench.py fetch`: CIFAR-10 from a local HTTP server (checksum, resume, nothing half-unpacked), ImageNet's check."""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from contextlib import contextmanager

import numpy as np
import pytest

from conftest import CIFAR_FILES, CIFAR_RECORDS, CIFAR_RECORD_BYTES, PROJECT_ROOT, one_line, run_bench
from fetch_server import serve

FOLDER = "cifar-10-batches-bin"
ARCHIVE_PATH = "/cifar-10-binary.tar.gz"
DATA_BYTES = len(CIFAR_FILES) * CIFAR_RECORDS * CIFAR_RECORD_BYTES


def cifar_files(records: int = CIFAR_RECORDS) -> dict[str, bytes]:
    """The six files, each image one flat colour per class (10 learnable classes; gzip makes them tiny)."""
    rng = np.random.default_rng(15)
    files = {}
    for name in CIFAR_FILES:
        labels = rng.integers(0, 10, size=records, dtype=np.uint8)
        data = np.empty((records, CIFAR_RECORD_BYTES), dtype=np.uint8)
        data[:, 0] = labels
        data[:, 1:] = (labels * 25)[:, None]
        files[name] = data.tobytes()
    return files


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def originals() -> dict[str, bytes]:
    return cifar_files()


@pytest.fixture(scope="session")
def archive(originals) -> bytes:
    """Laid out as the official release: cifar-10-batches-bin/ with the six files and the class names."""
    return tar_gz({**{f"{FOLDER}/{name}": data for name, data in originals.items()},
                   f"{FOLDER}/batches.meta.txt": b"".join(b"class%d\n" % i for i in range(10))})


@pytest.fixture
def server(archive):
    state, httpd = serve()
    state.files[ARCHIVE_PATH] = archive
    yield state
    httpd.shutdown()
    httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def fetch(server, to, *extra, checksum: str | None = None, path: str = ARCHIVE_PATH):
    checksum = checksum or md5(server.files[path])
    return run_bench("fetch", "cifar10", "--to", str(to), "--url", server.url(path), "--md5", checksum, *extra,
                     timeout=300)


def refusal(result) -> str:
    """The one line a refused fetch prints."""
    assert one_line(result.stderr), result.stderr
    return result.stderr


def test_fetch_checks_unpacks_and_prints_the_data_directory(server, originals, tmp_path):
    result = fetch(server, tmp_path / "data")
    assert result.returncode == 0, result.stderr
    data = tmp_path / "data" / FOLDER
    assert result.stdout == f"{data}\n"
    assert "downloaded, checked and unpacked" in result.stderr and f"--data {data}" in result.stderr
    for name, content in originals.items():
        assert (data / name).read_bytes() == content
    # Only the data: no archive, .part file or unpacking folder left beside it.
    assert os.listdir(tmp_path / "data") == [FOLDER]
    assert [(entry.status, entry.range) for entry in server.log] == [(200, None)]


def test_a_second_fetch_finds_the_data_verified_and_does_nothing(server, tmp_path):
    assert fetch(server, tmp_path).returncode == 0
    data = tmp_path / FOLDER
    before = {path.name: path.stat().st_mtime_ns for path in data.iterdir()}
    again = fetch(server, tmp_path)
    assert again.returncode == 0 and again.stdout == f"{data}\n"
    assert "already there, its 6 files match their checksums" in again.stderr
    assert len(server.log) == 1  # nothing downloaded
    assert {path.name: path.stat().st_mtime_ns for path in data.iterdir()} == before


@pytest.mark.fault
def test_a_damaged_file_is_noticed_and_the_data_fetched_again(server, originals, tmp_path):
    assert fetch(server, tmp_path).returncode == 0
    damaged = tmp_path / FOLDER / "data_batch_3.bin"
    with open(damaged, "r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x07")
    result = fetch(server, tmp_path)
    assert result.returncode == 0 and "downloaded, checked and unpacked" in result.stderr
    assert damaged.read_bytes() == originals["data_batch_3.bin"] and len(server.log) == 2


@pytest.mark.bad_input
def test_a_wrong_checksum_exits_2_in_one_line_and_leaves_nothing(server, tmp_path):
    result = fetch(server, tmp_path, checksum="0" * 32)
    assert result.returncode == 2 and result.stdout == ""
    assert f"has MD5 {md5(server.files[ARCHIVE_PATH])}, not the expected {'0' * 32}" in refusal(result)
    assert os.listdir(tmp_path) == []  # the .part is deleted too: a retry starts afresh


@pytest.mark.bad_input
def test_a_truncated_archive_exits_2_in_one_line_and_leaves_nothing(server, archive, tmp_path):
    server.files["/truncated.tar.gz"] = archive[: len(archive) // 2]  # its own checksum: only the unpack can tell
    result = fetch(server, tmp_path, path="/truncated.tar.gz")
    assert result.returncode == 2
    assert "cannot be unpacked" in refusal(result) and "truncated or damaged" in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.bad_input
def test_an_archive_of_other_files_exits_2_and_leaves_nothing(server, tmp_path):
    small = {f"{FOLDER}/{name}": data for name, data in cifar_files(records=1000).items()}
    server.files["/small.tar.gz"] = tar_gz(small)
    result = fetch(server, tmp_path, path="/small.tar.gz")
    assert result.returncode == 2
    assert (f"is not the CIFAR-10 binary release: {FOLDER}/data_batch_1.bin is missing or not 30,730,000 bytes"
            in refusal(result))
    assert os.listdir(tmp_path) == []


@pytest.mark.fault
def test_an_interrupted_download_is_resumed_with_a_range_request(server, archive, tmp_path):
    half = len(archive) // 2
    server.cut_next[ARCHIVE_PATH] = half
    dropped = fetch(server, tmp_path)
    assert dropped.returncode == 1
    assert "interrupted" in refusal(dropped) and "run the same command again to resume" in dropped.stderr
    assert os.listdir(tmp_path) == ["cifar-10-binary.tar.gz.part"]  # no data folder a run could mistake
    assert (tmp_path / "cifar-10-binary.tar.gz.part").stat().st_size == half

    resumed = fetch(server, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert [(entry.status, entry.range, entry.sent) for entry in server.log] == [
        (200, None, half), (206, f"bytes={half}-", len(archive) - half)]
    assert os.listdir(tmp_path) == [FOLDER]


@pytest.mark.fault
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_keeps_the_partial_download_for_the_next_fetch(server, archive, tmp_path, sig, code):
    server.trickle_next[ARCHIVE_PATH] = 100_000
    part = tmp_path / "cifar-10-binary.tar.gz.part"
    command = [sys.executable, str(PROJECT_ROOT / "bench.py"), "fetch", "cifar10", "--to", str(tmp_path),
               "--url", server.url(ARCHIVE_PATH), "--md5", md5(archive)]
    # As at a terminal: SIGINT not ignored, whatever this test runner inherited (a background job ignores it).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size >= 100_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = time.monotonic()
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code and time.monotonic() - sent < 5  # the next chunk is a safe point
    assert f"stopped by {sig.name}" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    kept = part.stat().st_size
    assert 100_000 <= kept < len(archive) and os.listdir(tmp_path) == [part.name]

    resumed = fetch(server, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert server.log[-1].range == f"bytes={kept}-" and os.listdir(tmp_path) == [FOLDER]


@pytest.mark.fault
def test_a_part_file_already_whole_is_checked_and_unpacked(server, archive, tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz.part").write_bytes(archive)  # killed after the last byte, before the rename
    result = fetch(server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [(entry.status, entry.range) for entry in server.log] == [(416, f"bytes={len(archive)}-")]
    assert os.listdir(tmp_path) == [FOLDER]


@pytest.mark.fault
def test_a_dead_server_exits_1_in_one_line(server, tmp_path):
    result = run_bench("fetch", "cifar10", "--to", str(tmp_path), "--url", server.url("/absent.tar.gz"))
    assert result.returncode == 1 and "HTTP 404" in refusal(result)
    assert os.listdir(tmp_path) == []


@contextmanager
def small_disk(path, megabytes: int):
    """A real file system of this size (tmpfs), so a full disk is a real ENOSPC."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.bad_input
def test_too_little_disk_for_the_download_is_refused_before_it(server, tmp_path):
    with small_disk(tmp_path / "disk", 100) as disk:
        result = fetch(server, disk)
        assert result.returncode == 2 and "not enough disk space in" in refusal(result)
        assert os.listdir(disk) == []  # refused on the response's size, before writing a byte


@pytest.mark.bad_input
@pytest.mark.parametrize("read_only, message", [(True, "is not writable here"), (False, "not enough disk space in")],
                         ids=["read-only", "2 MB free"])
def test_a_target_that_cannot_take_the_official_archive_is_refused_before_the_network(tmp_path, read_only, message):
    from conftest import tmpfs

    with tmpfs(tmp_path / "disk", 2, read_only=read_only) as disk:
        # The official address: were the check after the network, this would try to reach it.
        result = run_bench("fetch", "cifar10", "--to", str(disk), timeout=60,
                           env={"GOOGLENET_BENCH_CIFAR10_URL": "", "no_proxy": "", "https_proxy": "http://127.0.0.1:9"})
        assert result.returncode == 2 and message in refusal(result), result.stderr
        assert os.listdir(disk) == []


@pytest.mark.fault
def test_a_disk_filling_up_while_unpacking_leaves_no_half_tree(server, originals, tmp_path):
    # 40 MB more inside the archive than the data files: the space check passes, the unpack hits ENOSPC.
    padded = {**{f"{FOLDER}/{name}": data for name, data in originals.items()},
              f"{FOLDER}/readme.html": bytes(40_000_000)}
    server.files["/padded.tar.gz"] = tar_gz(padded)
    with small_disk(tmp_path / "disk", 200) as disk:
        result = fetch(server, disk, path="/padded.tar.gz")
        assert result.returncode == 2
        assert "not enough disk space in" in refusal(result) and "archive" in result.stderr and "kept" in result.stderr
        assert os.listdir(disk) == ["cifar-10-binary.tar.gz"]  # checked archive kept; no data folder


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (("--url", "ftp://example.org/c.tar.gz"), "give an http:// or https:// address"),
    (("--url", "http://127.0.0.1:9/c.tar.gz", "--md5", "xyz"), "give the archive's MD5 as 32 hexadecimal digits"),
    (("--check", "/tmp"), "--check is for imagenet"),
])
def test_bad_options_exit_2_in_one_line(args, message, tmp_path):
    result = run_bench("fetch", "cifar10", "--to", str(tmp_path / "data"), *args)
    assert result.returncode == 2 and message in refusal(result)
    assert not (tmp_path / "data").exists()


@pytest.mark.bad_input
def test_a_folder_fetch_did_not_write_is_left_alone(server, tmp_path):
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / "data_batch_1.bin").write_bytes(b"mine")
    result = fetch(server, tmp_path)
    assert result.returncode == 2 and "exists but was not written by fetch" in refusal(result)
    assert (tmp_path / FOLDER / "data_batch_1.bin").read_bytes() == b"mine" and server.log == []


@pytest.mark.slow
def test_a_short_cifar10_full_run_on_what_fetch_fetched(server, tmp_path):
    fetched = fetch(server, tmp_path / "data")
    assert fetched.returncode == 0, fetched.stderr
    results = tmp_path / "results"
    run = run_bench("--suite", "cifar10-full", "--data", fetched.stdout.strip(), "--set", "epochs=1",
                    "--set", "train_samples=64", "--set", "eval_samples=64", "--set", "image_size=32",
                    "--set", "batch_size=32", "--set", "export_formats=[MINDIR]", "--results", str(results))
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads(next(results.glob("*.json")).read_text())
    assert record["status"] == "success"
    assert f"CIFAR-10 binary at {tmp_path / 'data' / FOLDER} (train, 64 images)" == record["figures"]["data"]["train"]
    assert record["figures"]["eval"]["images"] == 64


# -- ImageNet ------------------------------------------------------------------------------------

def test_fetch_imagenet_says_how_to_get_it():
    result = run_bench("fetch", "imagenet")
    assert result.returncode == 0 and "cannot be downloaded without an account" in result.stdout
    assert "fetch imagenet --check DIR" in result.stdout


def snapshot(root) -> dict:
    return {str(path): path.stat().st_mtime_ns for path in sorted(root.rglob("*"))}


def test_imagenet_check_counts_against_the_official_figures_and_writes_nothing(imagenet_dir):
    before = snapshot(imagenet_dir)
    result = run_bench("fetch", "imagenet", "--check", str(imagenet_dir))
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"ImageNet tree at {imagenet_dir}",
        "  train/: 3 class folders, 12 images (official 1,281,167), 0 corrupt",
        "  val/: 3 class folders, 6 images (official 50,000), 0 corrupt",
        "4 problems:",
        "  - train/ has 3 class folders, not 1,000",
        "  - train/ has 12 images, not the official 1,281,167",
        "  - val/ has 3 class folders, not 1,000",
        "  - val/ has 6 images, not the official 50,000"]
    assert snapshot(imagenet_dir) == before


@pytest.mark.bad_input
def test_imagenet_check_names_corrupt_files_and_mismatched_classes(imagenet_dir, tmp_path):
    import shutil

    tree = tmp_path / "imagenet"
    shutil.copytree(imagenet_dir, tree)
    corrupt = tree / "val" / "n01443537" / "n01443537_0.JPEG"
    corrupt.write_bytes(corrupt.read_bytes()[:300])  # truncated
    shutil.rmtree(tree / "val" / "n01484850")
    result = run_bench("fetch", "imagenet", "--check", str(tree))
    assert result.returncode == 1
    assert "  val/: 2 class folders, 4 images (official 50,000), 1 corrupt" in result.stdout
    assert f"  - corrupt: {corrupt} (" in result.stdout
    assert "  - train/ and val/ hold different class folders (1 in one only, first n01484850)" in result.stdout


@pytest.mark.bad_input
def test_imagenet_check_of_a_missing_folder_exits_2(tmp_path):
    result = run_bench("fetch", "imagenet", "--check", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and f"--check {tmp_path / 'nowhere'} not found" in refusal(result)

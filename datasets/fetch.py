"""`bench.py fetch`: CIFAR-10 downloaded, checked and unpacked whole; ImageNet: how to get it, and a check of a copy.

CIFAR-10: the archive downloads resumably and MD5-checked (googlenet_bench.datasets.download), unpacks into a hidden folder
beside the target, is checked file by file, gets a marker holding each file's SHA-256, and only then is
renamed to DIR/cifar-10-batches-bin: a later run never finds a half-unpacked tree there. A second fetch
re-hashes the files against the marker and downloads nothing. No MindSpore here.
"""
from __future__ import annotations

import errno
import fcntl
import gzip
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from googlenet_bench.datasets import cifar10, imagenet
from googlenet_bench.datasets.download import MD5_PATTERN, download, file_digest, no_room, say
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.targets import writable_folder

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published with the release
CIFAR10_ARCHIVE_BYTES = 170_052_171  # the official archive's size
URL_ENV, MD5_ENV = "GOOGLENET_BENCH_CIFAR10_URL", "GOOGLENET_BENCH_CIFAR10_MD5"  # mirrors
ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"  # the archive's top folder, and the --data directory
STAGING_PREFIX = f".{FOLDER}.unpacking-"
MARKER = ".fetched.json"  # written and read by this module only
FILE_BYTES = {name: cifar10.RECORDS_PER_FILE * cifar10.RECORD_BYTES
              for name in cifar10.TRAIN_FILES + cifar10.EVAL_FILES}

IMAGENET_OFFICIAL = {"train": 1_281_167, "eval": 50_000}  # ILSVRC2012 images per split
IMAGENET_CLASSES = 1000
IMAGENET_HOW_TO = (
    "ImageNet 2012 (ILSVRC2012) cannot be downloaded without an account. Register at https://image-net.org, "
    "download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar, unpack the training images to "
    "DIR/train/<wnid>/*.JPEG (the train archive holds one .tar per class) and sort the 50,000 validation images "
    "into DIR/val/<wnid>/ by the labels of the development kit. Then check the tree with "
    "`python bench.py fetch imagenet --check DIR` and run `python bench.py --suite imagenet-full --data DIR`.")


def check_source(url: str, md5: str) -> str:
    """The MD5 in lower case, or a BenchError for an address or checksum that cannot be used."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise BenchError(f"--url {url}: give an http:// or https:// address")
    if not MD5_PATTERN.fullmatch(md5.lower()):
        raise BenchError(f"--md5 {md5}: give the archive's MD5 as 32 hexadecimal digits")
    return md5.lower()


def _prepare(to: Path, owned: bool) -> Path:
    """The target folder, checked before the network: a writable folder (`owned`, the harness's cache: created
    with its parents; else only the folder itself is created, in an existing parent, and the console says so)."""
    to = Path(to).expanduser().absolute()
    if to.exists() and not to.is_dir():
        raise BenchError(f"--to {to} is a file: give a directory")
    if not owned and not to.exists():
        writable_folder(to.parent, "--to", of=to)
        print(f"created {to}", file=sys.stderr)
    return writable_folder(to, "--to", make=True)


def _check_room(to: Path, url: str) -> None:
    """Enough free space for the rest of the archive and its unpacked files, checked before the network.
    The official archive's size is known; a mirror's is checked by the download against its Content-Length."""
    if url != CIFAR10_URL:
        return
    part = to / f"{ARCHIVE}.part"
    have = (to / ARCHIVE).stat().st_size if (to / ARCHIVE).exists() else part.stat().st_size if part.exists() else 0
    need = max(0, CIFAR10_ARCHIVE_BYTES - have) + sum(FILE_BYTES.values())
    if shutil.disk_usage(to).free < need:
        raise no_room(to, need)


@contextmanager
def _locked(directory: Path):
    """One fetch at a time per directory: two would append to the same .part file."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(f"another fetch is writing to {directory}: wait for it to finish") from None
        yield
    finally:
        os.close(descriptor)


def _wrong_files(folder: Path) -> list[str]:
    """The CIFAR-10 files missing from `folder` or not of the size MindSpore reads."""
    return [name for name, size in FILE_BYTES.items()
            if not (folder / name).is_file() or (folder / name).stat().st_size != size]


def _problem(target: Path) -> str | None:
    """Why `target` is not a whole CIFAR-10 folder as fetch left it, or None if it is."""
    try:
        expected = json.loads((target / MARKER).read_text(encoding="utf-8"))["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"its marker {MARKER} is missing or unreadable"
    wrong = _wrong_files(target)
    if wrong:
        return f"{wrong[0]} is missing or not {FILE_BYTES[wrong[0]]:,} bytes"
    changed = [name for name in FILE_BYTES if file_digest(target / name, "sha256") != expected.get(name)]
    return f"{changed[0]} changed since it was fetched" if changed else None


@dataclass(frozen=True)
class Fetched:
    data: Path  # the --data directory
    how: str  # "already there, ..." or "downloaded, ..."


def fetch_cifar10(to: Path, url: str, md5: str, owned: bool = False) -> Fetched:
    """DIR/cifar-10-batches-bin, whole and verified: downloaded and unpacked unless already there."""
    md5 = check_source(url, md5)
    to = _prepare(to, owned)
    target = to / FOLDER
    with _locked(to):
        if target.exists():
            if not (target / MARKER).exists():
                raise BenchError(f"{target} exists but was not written by fetch: pass it as --data if it is "
                                 "whole, or move it away and fetch again")
            problem = _problem(target)
            if problem is None:
                return Fetched(target, f"already there, its {len(FILE_BYTES)} files match their checksums")
            say(f"{target}: {problem}; fetching it again")
        for stale in to.glob(STAGING_PREFIX + "*"):  # left by a fetch that was killed while unpacking
            shutil.rmtree(stale, ignore_errors=True)
        _check_room(to, url)
        archive = to / ARCHIVE
        if archive.exists() and file_digest(archive) != md5:  # kept by a fetch that could not unpack: reuse if right
            archive.unlink()
        if not archive.exists():
            download(url, archive, md5, room_after=sum(FILE_BYTES.values()))
        _unpack(archive, target, url)
        archive.unlink()
    return Fetched(target, "downloaded, checked and unpacked")


def _unpack(archive: Path, target: Path, url: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if m.name.split("/")[0] == FOLDER]
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            archive.unlink()
            raise BenchError(f"the archive from {url} cannot be unpacked ({exc}): it is truncated or damaged; "
                             "it is deleted, run again to download it afresh") from None
        unpacked = staging / FOLDER
        wrong = _wrong_files(unpacked)
        if wrong:
            archive.unlink()
            raise BenchError(f"the archive from {url} is not the CIFAR-10 binary release: {FOLDER}/{wrong[0]} "
                             f"is missing or not {FILE_BYTES[wrong[0]]:,} bytes; it is deleted")
        checksums = {name: file_digest(unpacked / name, "sha256") for name in FILE_BYTES}
        (unpacked / MARKER).write_text(json.dumps({"sha256": checksums}, indent=2) + "\n", encoding="utf-8")
        if target.exists():  # a damaged earlier fetch: moved into staging, deleted with it
            target.rename(staging / "replaced")
        unpacked.rename(target)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            message = str(no_room(target.parent, sum(FILE_BYTES.values())))
            raise BenchError(f"{message} (the downloaded archive {archive} is kept for the next try)") from None
        raise BenchError(f"cannot unpack into {target.parent} ({exc.strerror}): choose another --to directory") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- ImageNet: a check of the user's own tree --------------------------------------------------

@dataclass
class TreeCheck:
    root: Path
    lines: list[str] = field(default_factory=list)  # one per split, what was found
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verdict = (f"complete: use --data {self.root}" if not self.problems else
                   f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)}:\n"
                   + "\n".join(f"  - {problem}" for problem in self.problems))
        return "\n".join([f"ImageNet tree at {self.root}", *self.lines, verdict])


def check_imagenet(root: Path) -> TreeCheck:
    """Class folders, image counts against the official ones, corrupt files: found, nothing written."""
    root = Path(root).expanduser()
    if not root.is_dir():
        problem = "is a file, not a directory" if root.exists() else "not found"
        raise BenchError(f"--check {root} {problem}: give the folder holding train/ and val/")
    check = TreeCheck(root)
    classes = {}
    for split, folder in imagenet.FOLDERS.items():
        split_dir = root / folder
        if not split_dir.is_dir():
            check.problems.append(f"{split_dir} not found: expected {imagenet.LAYOUT}")
            continue
        tree = imagenet.list_images(split_dir)
        classes[split] = set(tree)
        images = sum(map(len, tree.values()))
        corrupt = imagenet.find_corrupt(split_dir, tree)
        check.lines.append(f"  {folder}/: {len(tree):,} class folders, {images:,} images (official "
                           f"{IMAGENET_OFFICIAL[split]:,}), {len(corrupt):,} corrupt")
        if len(tree) != IMAGENET_CLASSES:
            check.problems.append(f"{folder}/ has {len(tree):,} class folders, not {IMAGENET_CLASSES:,}")
        if images != IMAGENET_OFFICIAL[split]:
            check.problems.append(f"{folder}/ has {images:,} images, not the official {IMAGENET_OFFICIAL[split]:,}")
        empty = sorted(name for name, files in tree.items() if not files)
        if empty:
            check.problems.append(f"{folder}/ has {len(empty):,} class folders without images, first {empty[0]}")
        for path, why in sorted(corrupt.items())[:3]:
            check.problems.append(f"corrupt: {path} ({why})")
        if len(corrupt) > 3:
            check.problems.append(f"and {len(corrupt) - 3:,} more corrupt files in {folder}/")
    if len(classes) == 2 and classes["train"] != classes["eval"]:
        only = sorted(classes["train"] ^ classes["eval"])
        check.problems.append(f"train/ and val/ hold different class folders ({len(only):,} in one only, "
                              f"first {only[0]})")
    return check

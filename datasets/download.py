"""A file from an HTTP(S) address, checked against its MD5, resumed where an earlier call stopped.

The bytes go to FILE.part; a later call asks the server for the rest with a Range request (a server that
ignores it sends the whole file, which then starts the .part afresh). Only a whole file whose MD5 matches
is renamed to FILE, so FILE is never partial. No MindSpore here.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import re
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from googlenet_bench.harness import interrupts
from googlenet_bench.harness.errors import BenchError

CHUNK = 1 << 20
TIMEOUT_S = 60  # per socket operation, not for the whole download
MD5_PATTERN = re.compile(r"[0-9a-f]{32}")


class DownloadFailed(BenchError):
    """The network or the server failed; the .part file is kept, so running again resumes."""

    exit_code = 1


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def say(line: str) -> None:
    """Progress for a person waiting at a terminal; logs and pipes get only the outcome (and errors, one line)."""
    if sys.stderr.isatty():
        print(line, file=sys.stderr, flush=True)


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


def no_room(where: Path, need: int) -> BenchError:
    free = shutil.disk_usage(where).free
    return BenchError(f"not enough disk space in {where}: {megabytes(need)} needed, {megabytes(free)} free; "
                      "free some space or choose another --to directory")


def _open(url: str, offset: int):
    """The server's response for the bytes from `offset` on; None if the .part already holds them all."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # Range Not Satisfiable: nothing after `offset`
            return None
        raise DownloadFailed(f"download of {url} failed: HTTP {exc.code} {exc.reason}; check the address "
                             "(--url) and run again") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadFailed(f"download of {url} failed ({reason}): check the network and the address (--url), "
                             "then run again") from None


def _total_size(response, offset: int) -> int | None:
    """The whole file's size, from Content-Range (a resumed transfer) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if match := re.fullmatch(r"bytes (\d+)-\d+/(\d+)", content_range.strip()):
        if int(match.group(1)) != offset:
            raise DownloadFailed(f"download of {response.url}: the server resumed at byte {match.group(1)}, "
                                 f"not {offset}; delete the .part file and run again")
        return int(match.group(2))
    length = response.headers.get("Content-Length")
    return int(length) + offset if length and length.isdigit() else None


def download(url: str, target: Path, md5: str, *, room_after: int = 0) -> Path:
    """`target`, whole and with this MD5; `room_after` is the disk space needed once it is there."""
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset)
    if response is not None:
        with response:
            if response.status != 206:  # the whole file: the server ignored Range, or none was sent
                offset = 0
            total = _total_size(response, offset)
            need = (total - offset if total is not None else 0) + room_after
            if shutil.disk_usage(target.parent).free < need:
                raise no_room(target.parent, need)
            size = f" of {megabytes(total)}" if total is not None else ""
            resumed = f", resuming at {megabytes(offset)}" if offset else ""
            say(f"downloading {url}{size} to {part}{resumed}")
            _receive(response, part, offset, total, url)
    actual = file_digest(part)
    if actual != md5:
        part.unlink()
        raise BenchError(f"the file downloaded from {url} has MD5 {actual}, not the expected {md5}: it was "
                         "corrupted in transit or is another file; it is deleted, run again to download it "
                         "afresh (for a mirror's own archive give its --md5)")
    part.replace(target)
    return target


def _receive(response, part: Path, offset: int, total: int | None, url: str) -> None:
    received = offset
    try:
        with open(part, "ab" if offset else "wb") as handle:
            while True:
                try:
                    chunk = response.read1(CHUNK)  # what has arrived: a Ctrl-C is seen between reads
                except (OSError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
                    raise DownloadFailed(_interrupted(url, part, received, total, exc)) from None
                if not chunk:
                    break
                interrupts.check()  # a safe point: the .part file holds whole chunks, a rerun resumes it
                handle.write(chunk)
                received += len(chunk)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise no_room(part.parent, (total or received) - received) from None
        raise BenchError(f"cannot write {part} ({exc.strerror}): choose another --to directory") from None
    if total is not None and received < total:
        raise DownloadFailed(_interrupted(url, part, received, total, "the connection closed early"))


def _interrupted(url: str, part: Path, received: int, total: int | None, why) -> str:
    of = f" of {megabytes(total)}" if total is not None else ""
    return (f"download of {url} interrupted at {megabytes(received)}{of} ({why}); the partial file {part} is "
            "kept: run the same command again to resume")

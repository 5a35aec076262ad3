"""Write only what is ours: the one check before any file or folder the harness writes.

An output path must be a regular file, or absent in an existing folder this process may write; a folder
must be a folder. Device nodes, FIFOs, sockets and symbolic links out of their folder are refused in one
line (an atomic write renames over whatever is at the path: `baseline --to /dev/full`, as root, once
turned /dev/full into a JSON file). Folders named on the command line are not created: only the folders
the harness owns (the results folder, run directories, its cache) are, by their owners.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from googlenet_bench.harness.errors import BenchError

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def _not_a_file(mode: int) -> str | None:
    return next((name for test, name in _KINDS if test(mode)), None)


def writable_file(path: str | Path, what: str, make_folder: bool = False) -> Path:
    """`path` if the harness may write a file there, else a one-line BenchError naming `what` (e.g. "--to").
    `make_folder`: the folder is one the harness owns, created if absent."""
    path = Path(path)
    folder = path.parent
    if path.is_symlink():
        real = path.resolve()
        if real.parent != folder.resolve():
            raise BenchError(f"{what} {path} is a symbolic link out of {folder} (to {real}): give the file itself")
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # absent, or its folder is not one: said below
        mode = None
    except OSError as exc:
        raise BenchError(f"{what} {path} cannot be checked ({exc.strerror}): choose another path") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise BenchError(f"{what} {path} is a directory: give a file path in it, e.g. {path / 'out.json'}")
        kind = _not_a_file(mode)
        if kind or not stat.S_ISREG(mode):
            raise BenchError(f"{what} {path} is {kind or 'not a regular file'}, not a file this tool writes: "
                             "give a path to a regular file")
    writable_folder(folder, what, make=make_folder, of=path)
    return path


def writable_folder(folder: str | Path, what: str, make: bool = False, of: Path | None = None) -> Path:
    """`folder` if it is a folder this process may write into (created when `make`), else one line."""
    folder = Path(folder)
    named = f"{what} {of}: directory {folder}" if of is not None else f"{what} {folder}"
    if not folder.exists():
        if folder.is_symlink() or not make:
            raise BenchError(f"{named} does not exist: create it first, or choose another")
        blocking = next((parent for parent in folder.parents if parent.exists() and not parent.is_dir()), None)
        if blocking is not None:
            raise BenchError(f"{named}: {blocking} is a file, not a directory: choose another path")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BenchError(f"{named} cannot be created ({exc.strerror}): choose another") from None
    elif not folder.is_dir():
        raise BenchError(f"{named} is a file, not a directory: choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):  # root too: access() says EROFS on a read-only mount
        raise BenchError(f"{named} is not writable here: choose another, or make it writable")
    return folder

"""`bench.py publish`: a static HTML site of a results directory that opens from disk, with no server or network.

index.html is the front page, backends side by side with the zoo's published rows
(googlenet_bench.harness.reporting.site_front); it links one page per (suite, backend)
(googlenet_bench.harness.reporting.site_pages); each raw record is copied into records/. Records are read with googlenet_bench.harness.results.record.read_record (through googlenet_bench.harness.reporting.history); a .json
file that is not a record is named and skipped. The site is built beside its directory and renamed into
place, so an earlier site is replaced whole. No MindSpore here.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.targets import writable_folder
from googlenet_bench.harness.reporting.history import read_records
from googlenet_bench.harness.reporting.compare import load_zoo_reference
from googlenet_bench.harness.reporting.site_front import render_front
from googlenet_bench.harness.reporting.site_pages import RECORDS, Run, render_page

SITE_MARKER = ".googlenet-bench-site"  # a directory publish made, which a later publish may replace


@dataclass(frozen=True)
class Site:
    index: Path
    pages: int
    runs: int
    skipped: list[str]


def _page_name(suite: str, backend: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{suite}-{backend}")
    name, number = f"{stem}.html", 2
    while name in taken or name == "index.html":
        name, number = f"{stem}-{number}.html", number + 1
    taken.add(name)
    return name


def _check_site_dir(site: Path) -> None:
    if site.exists() and not site.is_dir():
        raise BenchError(f"--to {site} is a file: give a directory for the site")
    if site.is_dir() and any(site.iterdir()) and not (site / SITE_MARKER).exists():
        raise BenchError(f"--to {site} holds files publish did not write: give a new or empty directory")
    writable_folder(site.parent, "--to", of=site)  # the site's folder is made; the folders above it are not


def publish(results_dir: str | Path, site_dir: str | Path) -> Site:
    """Write the site for `results_dir` to `site_dir`, whole: built beside it, then renamed into place."""
    results_dir, site = Path(results_dir), Path(site_dir).absolute()
    _check_site_dir(site)
    found, skipped = read_records(results_dir)
    if not found:
        raise BenchError(f"no results records in {results_dir}: give the --results directory of your runs")
    reference = load_zoo_reference()
    groups: dict[tuple[str, str], list[tuple[Path, dict]]] = {}
    for path, record in found:  # oldest first
        groups.setdefault((record["suite"], record["backend"]), []).append((path, record))
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{site.name}.publishing-", dir=site.parent))
    except OSError as exc:
        raise BenchError(f"--to {site}: cannot write there ({exc.strerror}); choose another directory") from None
    old = None  # where the previous site waits until the new one is in place
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would keep the site from others
        (staging / RECORDS).mkdir()
        pages, taken = [], set()
        for (suite, backend), group in sorted(groups.items()):
            runs = [Run(number, path, record) for number, (path, record) in enumerate(group, start=1)]
            for run in runs:
                shutil.copyfile(run.path, staging / run.link)
            name = _page_name(suite, backend, taken)
            (staging / name).write_text(render_page(suite, backend, runs), encoding="utf-8")
            pages.append((name, suite, backend, runs))
        front = render_front(results_dir, pages, skipped, reference)
        (staging / "index.html").write_text(front, encoding="utf-8")
        (staging / SITE_MARKER).write_text("written by bench.py publish, which may replace this directory\n")
        if site.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{site.name}.old-", dir=site.parent))
            site.rename(old / site.name)
        staging.rename(site)
    except OSError as exc:
        if old is not None and not site.exists():
            (old / site.name).rename(site)  # the previous site back in place
        raise BenchError(f"--to {site}: the site could not be written ({exc.strerror}); choose another directory") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return Site(index=site / "index.html", pages=len(pages), runs=len(found), skipped=skipped)

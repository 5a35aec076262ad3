"""`bench.py publish`: a static site of a results directory, rendered for real in headless Chromium."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from record_fixtures import bench, make_record, write_record
from conftest import one_line

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed here when absent (the machines run the tests as root)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, check=True,
                       capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run `apt-get install -y chromium` as root, then the tests again")
    return found


def render(chromium: str, page, tmp_path, *how: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,2000",
                           *how, page.as_uri()], capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def results(tmp_path):
    """Digits on CPU: 1 rank, 2 ranks (with a time to target), a failed and an aborted run; a GPU run; junk."""
    directory = tmp_path / "results"
    directory.mkdir()
    runs = {
        "one-rank": dict(started="2026-11-29T09:00:00+00:00"),
        "two-ranks": {"started": "2026-11-29T09:10:00+00:00", "figures.train.ranks": 2,
                      "figures.train.ms_per_step_median": 691.8, "figures.train.images_per_s": 185.0,
                      "figures.eval.top1": 0.9861, "figures.train.time_to_target_s": 48.2},
        "failed": {"started": "2026-11-29T09:20:00+00:00", "status": "failed", "figures.eval": None,
                   "error": "the loss became nan at step 3 (epoch 1): lower lr_init"},
        "aborted": {"started": "2026-11-29T09:30:00+00:00", "status": "aborted", "figures.eval": None,
                    "figures.train": None, "figures.launch": {"ranks": 2}, "error": "interrupted (Ctrl-C)"},
        "on-gpu": {"backend": "gpu", "started": "2026-11-29T09:40:00+00:00"},
    }
    for name, changes in runs.items():
        write_record(directory / f"{name}.json", make_record(run_id=name, **changes))
    (directory / "notes.json").write_text('{"not": "a record"}')
    (directory / "one-rank").mkdir()  # a run's folder of files: not read
    return directory


def publish(results, site):
    result = bench("publish", results, "--to", site)
    assert result.returncode == 0, result.stderr
    return result


def test_publish_writes_a_page_per_suite_and_backend_with_every_run_and_its_record(results, tmp_path):
    site = tmp_path / "site"
    result = publish(results, site)
    assert result.stdout == f"site: {(site / 'index.html').as_uri()} (2 pages, 5 runs)\n"
    assert result.stderr == (f"skipped: results record {results / 'notes.json'} is not a googlenet-bench results record "
                             "(no 'schema'/'figures')\n")
    assert sorted(path.name for path in site.iterdir()) == [".googlenet-bench-site", "digits-cpu.html",
                                                            "digits-gpu.html", "index.html", "records"]
    for record in results.glob("*-*.json"):
        assert (site / "records" / record.name).read_bytes() == record.read_bytes()

    page = (site / "digits-cpu.html").read_text()
    runs_table = page.split("<h2>Runs</h2>")[1].split("<h2>")[0]
    rows = re.findall(r"<tr class=\"(\w*)\"><td>(\d)</td>.*?<span class=\"status-\w+\">(\w+)</span>", runs_table)
    assert rows == [("", "1", "success"), ("", "2", "success"), ("bad", "3", "failed"), ("bad", "4", "aborted")]
    assert "the loss became nan at step 3 (epoch 1): lower lr_init" in runs_table and "48.2 s" in runs_table
    for link in re.findall(r'href="([^"]+)"', page):
        assert (site / link).is_file(), link  # every link resolves inside the site: it opens from disk
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
    titles = re.findall(r'<svg [^>]*aria-label="([^"]+)"', page)
    assert titles == ["ms/step (median)", "images/s", "top-1 (%)", "time to target (s)"]
    # A cross for each figure a run lacks: the aborted run's speed, both unfinished runs' top-1, three times to target.
    assert page.count('class="missing"') == 1 + 1 + 2 + 3
    assert "<h2>Zoo table: run #2 x2 two-ranks (success)</h2>" in page
    assert ">#4 x2</text>" in page  # the aborted run's ranks, from how it was launched
    assert "run 2: cpu x2 (digits)" in page and "scaling efficiency" in page  # the compare view
    assert "AMD EPYC" in page.split("<h2>Environment</h2>")[1]
    # Time to target is drawn only where a run recorded it.
    assert "time to target (s)" not in (site / "digits-gpu.html").read_text().split("<h2>Trends</h2>")[1].split("<h2>")[0]

    index = (site / "index.html").read_text()
    assert '<a href="digits-cpu.html">digits on cpu</a>' in index and "2 success, 1 failed, 1 aborted" in index
    assert "notes.json is not a googlenet-bench results record" in index


def test_publishing_again_replaces_the_earlier_site(results, tmp_path):
    site = tmp_path / "site"
    publish(results, site)
    (results / "on-gpu.json").unlink()
    publish(results, site)
    assert not (site / "digits-gpu.html").exists() and not (site / "records" / "on-gpu.json").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no staging left


def test_the_site_renders_in_headless_chromium_with_its_tables_and_charts(chromium, results, tmp_path):
    from PIL import Image

    site = tmp_path / "site"
    publish(results, site)
    page = site / "digits-cpu.html"
    dom = render(chromium, page, tmp_path, "--dump-dom").stdout
    assert dom.count("<table") == 4  # runs, zoo table, compare, environment
    assert dom.count("<svg") == 4 and "<polyline" in dom and "aborted" in dom
    index_dom = render(chromium, site / "index.html", tmp_path, "--dump-dom").stdout
    assert index_dom.count("<table") == 1 and index_dom.count("<svg") == 2 * 2 and "digits on gpu" in index_dom

    screenshot = tmp_path / "page.png"
    render(chromium, page, tmp_path, f"--screenshot={screenshot}")
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1 << 20)
    white = dict((colour, count) for count, colour in colours).get((255, 255, 255), 0)
    assert len(colours) > 100 and white < 0.97 * 1280 * 2000  # text, tables and charts, not a blank page
    blue = sum(count for count, (r, g, b) in colours if b > 150 and r < 80)  # the charts' points
    red = sum(count for count, (r, g, b) in colours if r > 180 and g < 80 and b < 80)  # failed runs
    assert blue > 100 and red > 100


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["results missing", "no records", "site is a file", "site holds other files"])
def test_unusable_input_exits_2_in_one_line_and_writes_nothing(case, results, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.json").write_text("{}")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    (tmp_path / "file").write_text("")
    source, site, message = {
        "results missing": (tmp_path / "absent", tmp_path / "site", "not found"),
        "no records": (empty, tmp_path / "site", f"no results records in {empty}"),
        "site is a file": (results, tmp_path / "file", "is a file: give a directory"),
        "site holds other files": (results, foreign, "holds files publish did not write"),
    }[case]
    before = sorted(str(path) for path in tmp_path.rglob("*"))
    result = bench("publish", source, "--to", site)
    assert result.returncode == 2 and message in result.stderr
    assert one_line(result.stderr)
    assert sorted(str(path) for path in tmp_path.rglob("*")) == before


def test_chart_axes_start_at_zero_and_end_on_a_round_value():
    from googlenet_bench.harness.reporting.svgchart import Point, line_chart, nice_top

    assert nice_top(4138.4) == (6000, 2000) and nice_top(37.8) == (40, 10) and nice_top(7.0) == (8, 2)
    assert nice_top(0.0) == (1.0, 0.25)
    points = [Point("#1 x1", 7.0, "run 1", True), Point("#2 x2", None, "run 2", False)]
    ticks = lambda svg: re.findall(r'text-anchor="end">([\d,.]+)</text>', svg)  # noqa: E731
    assert ticks(line_chart("top-1 (%)", points, scale_top=100.0)) == ["0", "25", "50", "75", "100"]
    assert ticks(line_chart("top-1 (%)", points)) == ["0", "2", "4", "6", "8"]

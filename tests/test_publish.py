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


OLD, NEW = "1111111aaaa", "2222222bbbb"  # two commits; the records' git blocks say which


def at(commit: str, date: str) -> dict:
    return {"environment.git": {"commit": commit, "dirty": False, "date": f"{date}T08:00:00+00:00"}}


@pytest.fixture
def results(tmp_path):
    """Digits at two commits on cpu (1 rank, 2 ranks with a time to target, a 4-epoch variant, a failed and an
    aborted run) and on the sample plugin cpu-lean; a GPU run that failed; junk."""
    directory = tmp_path / "results"
    directory.mkdir()
    spread = {"p10": 205.0, "p50": 216.49, "p90": 268.09, "stability": "stable"}
    old, new = at(OLD, "2026-11-27"), at(NEW, "2026-11-29")
    runs = {
        "one-rank": {**old, "started": "2026-11-28T09:00:00+00:00", "figures.train.ms_per_step_spread": spread},
        "two-ranks": {**old, "started": "2026-11-28T09:10:00+00:00", "figures.train.ranks": 2,
                      "figures.train.ms_per_step_median": 691.8, "figures.train.images_per_s": 185.0,
                      "figures.eval.top1": 0.9861, "figures.train.time_to_target_s": 48.2,
                      "figures.train.target_top1": 0.95, "figures.train.epochs_to_target": 3},
        "lean-old": {**old, "backend": "cpu-lean", "started": "2026-11-28T09:15:00+00:00",
                     "figures.train.ms_per_step_median": 180.5},
        "failed": {**new, "started": "2026-11-29T09:20:00+00:00", "status": "failed", "figures.eval": None,
                   "error": "the loss became nan at step 3 (epoch 1): lower lr_init"},
        "aborted": {**new, "started": "2026-11-29T09:30:00+00:00", "status": "aborted", "figures.eval": None,
                    "figures.train": None, "figures.launch": {"ranks": 2}, "error": "interrupted (Ctrl-C)"},
        "one-rank-new": {**new, "started": "2026-11-29T09:35:00+00:00", "figures.train.ms_per_step_median": 300.0,
                         "figures.train.ms_per_step_spread": {"p10": 280.0, "p50": 300.0, "p90": 390.0,
                                                                             "stability": "unstable"}},
        "four-epochs": {**new, "started": "2026-11-29T09:40:00+00:00", "figures.train.epochs": 4,
                        "config.epochs": 4, "figures.train.ms_per_step_spread": spread},
        "lean-new": {**new, "backend": "cpu-lean", "started": "2026-11-29T09:45:00+00:00",
                     "figures.train.ms_per_step_median": 175.0},
        "on-gpu": {**new, "backend": "gpu", "started": "2026-11-29T09:50:00+00:00", "status": "failed",
                   "error": "no GPU"},
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


def section(page: str, heading: str) -> str:
    return page.split(heading, 1)[1].split("<h2", 1)[0]


def test_publish_writes_a_page_per_suite_and_backend_with_every_run_and_its_record(results, tmp_path):
    site = tmp_path / "site"
    result = publish(results, site)
    assert result.stdout == f"site: {(site / 'index.html').as_uri()} (3 pages, 9 runs)\n"
    assert result.stderr == (f"skipped: results record {results / 'notes.json'} is not a googlenet-bench results record "
                             "(no 'schema'/'figures')\n")
    assert sorted(path.name for path in site.iterdir()) == [".googlenet-bench-site", "digits-cpu-lean.html",
                                                            "digits-cpu.html", "digits-gpu.html", "index.html",
                                                            "records"]
    for record in results.glob("*.json"):
        if record.name != "notes.json":
            assert (site / "records" / record.name).read_bytes() == record.read_bytes()

    page = (site / "digits-cpu.html").read_text()
    runs_table = section(page, "<h2>Runs</h2>")
    rows = re.findall(r"<tr class=\"(\w*)\"><td>(\d)</td>.*?<span class=\"status-\w+\">(\w+)</span>", runs_table)
    assert rows == [("", "1", "success"), ("", "2", "success"), ("bad", "3", "failed"), ("bad", "4", "aborted"),
                    ("", "5", "success"), ("", "6", "success")]
    assert "the loss became nan at step 3 (epoch 1): lower lr_init" in runs_table
    assert runs_table.count("48.2 s") == 1  # time to target once, in the history columns
    for link in re.findall(r'href="([^"]+)"', page):
        if not link.startswith(("file:", "#")):  # artifacts on the machine that ran them; SVG markers
            assert (site / link).is_file(), link  # every link resolves inside the site: it opens from disk
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
    titles = re.findall(r'<svg [^>]*aria-label="([^"]+)"', page)
    assert titles == ["ms/step (median, p10-p90)", "images/s", "top-1 (%)", "time to target (s)"]
    trends = section(page, "<h2>Trends by commit</h2>")
    ms_chart = trends.split("<svg")[1]
    # one line per configuration: 1 rank, 2 ranks, 4 epochs (the failed and aborted runs are 1 and 2 ranks)
    assert len(set(re.findall(r'<g id="config-(\d+)"', ms_chart))) == 3
    assert "1111111" in ms_chart and "2222222" in ms_chart and "2026-11-29" in ms_chart  # commits on the x axis
    assert "<h2>Zoo table: the newest successful run, #6 x1 four-epochs</h2>" in page
    assert "run 2: cpu x2 (digits)" in page and "scaling efficiency" in page  # the compare view
    assert "AMD EPYC" in section(page, "<h2>Environment</h2>")
    regressions = section(page, "<h2>Regressions</h2>")
    assert "REGRESSION status" in regressions and "REGRESSION ms/step" in regressions  # 216.49 -> 300 ms/step

    gpu = (site / "digits-gpu.html").read_text()
    assert "time to target (s)" not in section(gpu, "<h2>Trends by commit</h2>")  # drawn only where recorded
    assert "No run here succeeded, so there is no zoo table." in gpu and "Zoo table:" not in gpu

    index = (site / "index.html").read_text()
    assert '<a href="digits-cpu.html">digits on cpu</a>' in index and "4 success, 1 failed, 1 aborted" in index
    assert "notes.json is not a googlenet-bench results record" in index


def test_the_front_page_puts_backends_side_by_side_with_the_zoos_rows(results, tmp_path):
    site = tmp_path / "site"
    publish(results, site)
    front = (site / "index.html").read_text()
    table = front.split("backends side by side</h2>")[1].split("</table>")[0]
    rows = re.findall(r"<tr class=\"(\w*)\"><td>(.*?)</td><td>(.*?)</td>", table)
    assert [(kind, re.sub("<[^>]+>", "", label), speed) for kind, label, speed in rows] == [
        ("", "cpu x1 O0", "216.5 (205-268)"),  # the newest successful 1-rank cpu run: four-epochs
        ("", "cpu x2 O0", "691.8"),
        ("", "cpu-lean x1 O0", "175.0"),
        ("zoo", "Ascend 910 x1 (published by the zoo)", "79"),
        ("zoo", "Ascend 910 x8 (published by the zoo)", "82"),
        ("zoo", "GPU NV SMX2 V100-32G x1 (published by the zoo)", "150"),
        ("zoo", "GPU NV SMX2 V100-32G x8 (published by the zoo)", "164")]
    assert "digits vs CIFAR-10; px 32 vs 224; batch 64 vs 128; epochs 4 vs 125" in table
    assert "<h3>Scaling</h3>" in front and "2 vs 1" in front
    assert re.findall(r'<svg [^>]*aria-label="([^"]+)"', front) == [
        "digits: ms/step, this machine and published by the zoo", "digits: ms/step (median, p10-p90)",
        "digits: top-1 (%)"]
    trend = front.split('aria-label="digits: ms/step (median, p10-p90)"')[1].split("</svg>")[0]
    # cpu x1, cpu x2, cpu x1 4 epochs, cpu-lean x1, gpu x1 (failed: a cross): five configurations, five lines
    assert len(set(re.findall(r'<g id="config-(\d+)"', trend))) == 5
    assert "cpu-lean x1 O0, 8 ep" in trend and "cpu x1 O0, 4 ep" in trend


def test_the_site_renders_in_headless_chromium_with_its_tables_and_charts(chromium, results, tmp_path):
    from PIL import Image

    site = tmp_path / "site"
    publish(results, site)
    page = site / "digits-cpu.html"
    dom = render(chromium, page, tmp_path, "--dump-dom").stdout
    assert dom.count("<table") == 5  # runs, regressions, zoo table, compare, environment
    assert dom.count("<svg") == 4 and "aborted" in dom
    front = render(chromium, site / "index.html", tmp_path, "--dump-dom").stdout
    assert front.count("published by the zoo)") == 4 * 2 and "Ascend 910 x1" in front and ">150<" in front  # 4 zoo rows, in the table and the bar chart
    trend = front.split('aria-label="digits: ms/step (median, p10-p90)"')[1].split("</svg>")[0]
    assert len(set(re.findall(r'<g id="config-(\d+)"', trend))) == 5  # one line per configuration
    ticks = re.findall(r'<g id="xtick_\d+">.*?<text[^>]*>(.*?)</text>', trend, re.S)
    assert [re.sub(r"\s+", " ", tick).strip()[:7] for tick in ticks] == ["1111111", "2222222"]  # commits on x

    screenshot = tmp_path / "page.png"
    render(chromium, site / "index.html", tmp_path, f"--screenshot={screenshot}")
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1 << 20)
    white = dict((colour, count) for count, colour in colours).get((255, 255, 255), 0)
    assert len(colours) > 100 and white < 0.97 * 1280 * 2000  # text, tables and charts, not a blank page
    blue = sum(count for count, (r, g, b) in colours if b > 150 and r < 80)  # the charts' points and bars
    grey = sum(count for count, (r, g, b) in colours if r == g == b and 110 < r < 140)  # the zoo's bars
    assert blue > 100 and grey > 100
    if os.environ.get("GOOGLENET_BENCH_SCREENSHOT"):  # docs/comparison-page.png is made this way
        shutil.copyfile(screenshot, os.environ["GOOGLENET_BENCH_SCREENSHOT"])


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


def test_one_chart_engine_draws_axes_from_zero_and_a_percentage_to_100(tmp_path):
    from googlenet_bench.harness.reporting.charts import Line, Point, trend_svg

    one = [Line("cpu x1", [Point(0, 97.2, "below_target", "run 1")])]
    svg = trend_svg("top-1 (%)", ["abc1234\n2026-12-04"], one, "top-1 (%)", percent=True)
    ticks = [float(t) for t in re.findall(r'<g id="ytick_\d+">.*?<text[^>]*>([\d.]+)</text>', svg, re.S)]
    assert ticks[0] == 0 and ticks[-1] == 100  # one run: the axis still ends at 100 %, not at 102.5
    assert "#d62728" in svg and "#1f77b4" not in svg.split('<g id="point-0-0"')[1][:600]  # below_target is red
    assert svg.startswith("<svg") and "<title>run 1</title>" in svg

"""Backends side by side in the terminal (`compare --by backend`) and the one colour rule of `history --plot`."""
from __future__ import annotations

from record_fixtures import bench, make_record, write_record

from googlenet_bench.harness.reporting.history import collect, plot


def test_compare_by_backend_fits_a_terminal_and_shows_the_zoo_beside_each_backend(tmp_path):
    for name, changes in {"cpu-1": {}, "cpu-2": {"figures.train.ranks": 2, "figures.train.ms_per_step_median": 400.0},
                          "lean": {"backend": "cpu-lean", "figures.train.ms_per_step_median": 180.0},
                          "lean-failed": {"backend": "cpu-lean", "status": "failed", "started": "2026-12-01T00:00:00+00:00"}
                          }.items():
        write_record(tmp_path / f"{name}.json", make_record(run_id=name, **changes))
    result = bench("compare", "--by", "backend", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 120
    text = result.stdout
    assert "│ cpu x1 O0 " in text and "│ cpu x2 O0 " in text and "│ cpu-lean x1 O0 " in text and "180.0" in text
    for zoo in ("│ Ascend 910 x1", "│ GPU NV SMX2", "(published by"):
        assert zoo in text
    assert "│ 79 " in text and "│ 150 " in text  # the zoo's CIFAR-10 ms/step beside this machine's digits rows
    assert "scaling" in text and "2 vs 1" in text and "54%" in text  # 216.49 / 400 ms/step, weak scaling
    refused = bench("compare", "--by", "backend", tmp_path / "absent")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1


def test_history_plot_draws_a_below_target_run_red_on_a_sane_axis(tmp_path):
    from PIL import Image

    write_record(tmp_path / "only.json", make_record(status="below_target"))
    path = plot(collect(tmp_path, "digits", "cpu"), tmp_path / "one.png")
    colours = Image.open(path).convert("RGB").getcolors(maxcolors=1 << 20)
    red = sum(count for count, (r, g, b) in colours if (r, g, b) == (0xD6, 0x27, 0x28))
    green = sum(count for count, (r, g, b) in colours if (r, g, b) == (0x2C, 0xA0, 0x2C))
    assert red > 20 and green == 0  # red as on the site, not the green it was drawn in before


def profile_of(**ms_by_category) -> dict:
    return {"steps": 3, "ms_per_step": sum(ms_by_category.values()), "accounted_share": 1.0,
            "by_category": [{"category": name.replace("_", " "), "ms_per_step": ms, "share": 0.1}
                            for name, ms in ms_by_category.items()]}


def test_compare_by_backend_and_the_site_show_where_two_profiled_backends_differ(tmp_path):
    for name, backend, profile in (("cpu", "cpu", profile_of(convolution_backward=100.0, pooling=50.0, BatchNorm=20.0)),
                                   ("lean", "cpu-lean", profile_of(convolution_backward=60.0, pooling=49.0,
                                                                   communication=30.0))):
        write_record(tmp_path / f"{name}.json", make_record(run_id=name, backend=backend, **{"figures.profile": profile}))
    result = bench("compare", "--by", "backend", tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "where the profiled steps differ most" in text and max(map(len, text.splitlines())) <= 120
    rows = [line for line in text.split("where the profiled steps differ most")[1].splitlines() if line.startswith("│")]
    # Largest difference first: convolution backward (40 ms), communication (30), BatchNorm (20), pooling (1).
    assert [row.split("│")[1].strip() for row in rows[1:5]] == ["convolution backward", "communication", "BatchNorm",
                                                               "pooling"]
    assert "│ 100.0 " in rows[1] and "│ 60.0 " in rows[1]
    published = bench("publish", tmp_path, "--to", tmp_path / "site")
    assert published.returncode == 0, published.stderr
    page = (tmp_path / "site" / "digits-cpu.html").read_text()
    assert "Where the step time goes" in page and page.count("<svg") >= 1 and "convolution backward" in page

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

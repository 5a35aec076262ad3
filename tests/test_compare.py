"""`bench.py compare`: runs side by side in the zoo table's rows, ratios, the zoo's published figures, formats."""
import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from googlenet_bench.harness.reporting.compare import (COMPARE_ROWS, MISSING, ZOO_REFERENCE, compare, load_zoo_reference, render,
                             unlike)
from googlenet_bench.harness.reporting.report import ROW_LABELS
from record_fixtures import PROJECT_ROOT, bench, make_record, write_record
from conftest import one_line

SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "zoo_published.yaml"


def cells(comparison, title_start):
    return next(column.cells for column in comparison.columns if column.title.startswith(title_start))


def test_the_rows_are_the_zoo_tables_plus_run_and_throughput():
    assert [row for row in COMPARE_ROWS if row in ROW_LABELS] == list(ROW_LABELS)
    assert set(COMPARE_ROWS) - set(ROW_LABELS) == {"Run", "Throughput"}


def test_a_later_run_gets_speed_ratios_and_an_accuracy_difference_against_the_first():
    first = make_record()
    slower = make_record(run_id="later", **{
        "figures.train.ms_per_step_median": 432.98, "figures.train.images_per_s": 147.8,
        "figures.total_s": 110.78, "figures.eval.top1": 342 / 360})
    comparison = compare([first, slower])
    assert [c.title for c in comparison.columns] == [
        "run 1: cpu x1 (digits)", "run 2: cpu x1 (digits)", "run 2 vs run 1"]
    ratios = cells(comparison, "run 2 vs")
    assert ratios["Speed"] == "x2.00" and ratios["Throughput"] == "x0.50" and ratios["Total time"] == "x2.00"
    assert ratios["Accuracy"] == "top-1 -2.22 pp"
    assert cells(comparison, "run 2:")["Run"] == "later (success, 7 timed epochs)"
    versus = comparison.versus[0]
    assert versus.comparable and versus.ms_per_step_ratio == pytest.approx(2.0)
    assert versus.top1_difference == pytest.approx(-8 / 360)


@pytest.mark.parametrize("changes, reason", [
    ({"suite": "cifar10-full", "config.dataset": "cifar10", "config.image_size": 224, "config.batch_size": 128,
      "figures.train.global_batch": 128}, "suite cifar10-full vs digits"),
    ({"config.batch_size": 128, "figures.train.batch_size": 128, "figures.train.global_batch": 128},
     "batch size 128 vs 64"),
])
def test_unlike_runs_are_said_to_be_unlike_and_not_divided(changes, reason):
    comparison = compare([make_record(), make_record(**changes)])
    ratios = cells(comparison, "run 2 vs")
    assert reason in ratios["Run"] and ratios["Run"].startswith("not comparable: ")
    assert {ratios[row] for row in ("Speed", "Throughput", "Total time", "Accuracy")} == {"not compared"}
    versus = comparison.versus[0]
    assert not versus.comparable and versus.ms_per_step_ratio is None and versus.top1_difference is None


def test_runs_on_more_ranks_with_the_same_batch_per_rank_show_scaling_efficiency():
    first = make_record()
    ms = first["figures"]["train"]["ms_per_step_median"]
    two_ranks = make_record(**{"figures.train.ranks": 2, "figures.train.global_batch": 128,
                               "figures.train.ms_per_step_median": ms * 1.25})
    comparison = compare([first, two_ranks])
    versus = comparison.versus[0]
    assert versus.comparable and versus.scaling_efficiency == pytest.approx(0.8)
    assert cells(comparison, "run 2 vs")["Speed"] == "x1.25 (scaling efficiency 80% at 2 vs 1 ranks)"


def test_total_time_of_runs_of_other_lengths_is_not_divided():
    longer = make_record(**{"figures.train.epochs": 10, "figures.total_s": 80.0, "figures.eval.top1": 0.99})
    comparison = compare([make_record(), longer])
    ratios = cells(comparison, "run 2 vs")
    assert ratios["Total time"] == "not compared: epochs 10 vs 8"
    assert ratios["Speed"] == "x1.00" and ratios["Accuracy"] == "top-1 +1.78 pp"
    assert comparison.versus[0].total_s_ratio is None


def test_unlike_lists_every_difference():
    other = make_record(suite="cifar10-full", **{"config.dataset": "cifar10", "config.image_size": 224})
    assert unlike(make_record(), other) == ["suite cifar10-full vs digits", "dataset cifar10 vs digits",
                                            "image size 224 vs 32"]


def test_zoo_reference_adds_one_column_per_published_run_with_unpublished_values_as_dashes():
    reference = load_zoo_reference()
    comparison = compare([make_record()], reference=reference)
    zoo_columns = [c for c in comparison.columns if c.kind == "reference"]
    assert len(zoo_columns) == len(reference["runs"]) == 7
    ascend = cells(comparison, "zoo Ascend 910 x1 (cifar10-full)")
    assert ascend["Speed"] == "1pc: 79 ms/step"
    assert ascend["Total time"] == "1pc: 63.85 mins"
    assert ascend["Accuracy"] == "top-1 93.40%"
    assert ascend["Training Parameters"] == "epoch=125, steps=390, batch_size=128, lr=–"
    assert ascend["Model for inference"] == "21.5M (.onnx file), 21.6M (.air file)"
    assert ascend["MindSpore Version"] == "1.3.0" and ascend["Uploaded Date"].startswith("07/05/2021")
    assert ascend["Parameters (M)"] == ascend["Throughput"] == MISSING
    ascend310 = cells(comparison, "zoo Ascend 310 (cifar10-infer)")
    assert ascend310["Speed"] == MISSING and ascend310["Accuracy"] == "top-1 92.52%"
    assert cells(comparison, "zoo Ascend 910 x8 (imagenet-full)")["Total time"] == "8pcs: 8.8 hours"


def test_project_copy_of_the_zoo_figures_matches_the_shared_one():
    if not SHARED_REFERENCE.is_file():
        pytest.skip("../shared/reference/zoo_published.yaml is not beside this checkout")
    ours = yaml.safe_load(ZOO_REFERENCE.read_text())
    ours.pop("uploaded")  # the one field the copy adds, from the shared file's header comment
    assert ours == yaml.safe_load(SHARED_REFERENCE.read_text())


def test_csv_parses_back_to_the_same_table(tmp_path):
    first = write_record(tmp_path / "a.json", make_record())
    second = write_record(tmp_path / "b.json", make_record(**{"figures.eval.top1": 0.95}))
    result = bench("compare", first, second, "--reference", "zoo", "--format", "csv")
    assert result.returncode == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header[:4] == ["Parameters", "run 1: cpu x1 (digits)", "run 2: cpu x1 (digits)", "run 2 vs run 1"]
    assert len(header) == 4 + 7
    assert [row[0] for row in rows] == list(COMPARE_ROWS)
    accuracy = rows[COMPARE_ROWS.index("Accuracy")]
    assert accuracy[1:4] == ["top-1 97.22% (360 images)", "top-1 95.00% (360 images)", "top-1 -2.22 pp"]


def test_json_parses_back_with_numbers(tmp_path):
    first = write_record(tmp_path / "a.json", make_record())
    second = write_record(tmp_path / "b.json", make_record(**{"figures.train.ms_per_step_median": 108.245}))
    result = bench("compare", first, second, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["rows"] == list(COMPARE_ROWS)
    assert [c["kind"] for c in data["columns"]] == ["run", "run", "versus"]
    assert data["columns"][0]["source"] == str(first)
    assert data["versus"][0]["comparable"] is True
    assert data["versus"][0]["ms_per_step_ratio"] == pytest.approx(0.5)


@pytest.mark.parametrize("output_format, is_markdown", [("github", True), ("markdown", True), ("plain", False)])
def test_table_formats(output_format, is_markdown):
    lines = render(compare([make_record(), make_record()]), output_format).splitlines()
    assert len(lines) == len(COMPARE_ROWS) + (2 if is_markdown else 1)
    assert all(line.startswith("|") for line in lines) is is_markdown
    assert "x1.00" in lines[COMPARE_ROWS.index("Speed") - len(COMPARE_ROWS)]


def test_a_failed_run_renders_with_dashes():
    failed = make_record(status="failed", **{"figures.train": None, "figures.eval": None, "figures.total_s": None})
    ratios = cells(compare([make_record(), failed]), "run 2 vs")
    assert ratios["Speed"] == ratios["Accuracy"] == MISSING


def test_cli_says_unlike_plainly_and_errors_in_one_line(tmp_path):
    digits = write_record(tmp_path / "a.json", make_record())
    cifar = write_record(tmp_path / "b.json", make_record(suite="cifar10-full", **{"config.dataset": "cifar10"}))
    result = bench("compare", digits, cifar)
    assert result.returncode == 0
    assert "not comparable: suite cifar10-full vs digits" in result.stdout and "x1.00" not in result.stdout
    missing = bench("compare", digits, tmp_path / "absent.json")
    assert missing.returncode == 2 and one_line(missing.stderr) and "not found" in missing.stderr
    wrong_format = bench("compare", digits, "--format", "html")
    assert wrong_format.returncode == 2


def test_reference_file_is_package_data_read_by_path():
    assert ZOO_REFERENCE == Path(__import__("googlenet_bench.harness.reporting", fromlist=["compare"]).__file__).parent / "reference" / "zoo_published.yaml"
    assert ZOO_REFERENCE.is_file()


def test_compare_with_the_zoo_prints_each_runs_deviations_from_the_zoo(tmp_path):
    deviating = write_record(tmp_path / "a.json", make_record(**{"figures.recipe": {"deviations": ["AMP O0: the zoo trains at O2"]}}))
    matching = write_record(tmp_path / "b.json", make_record(**{"figures.recipe": {"deviations": []}}))
    result = bench("compare", deviating, matching, "--reference", "zoo", "--format", "plain")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "run 1: deviations from the zoo: AMP O0: the zoo trains at O2" in lines
    assert "run 2: deviations from the zoo: none: matches the zoo" in lines

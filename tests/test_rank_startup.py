"""What a multi-rank run does before and after training, checked without starting ranks: the data is
surveyed once (by the parent), CPU ranks get disjoint cores, the scaling figures and their reference."""
import os
import subprocess
import sys

import pytest

from conftest import one_line
from googlenet_bench import datasets
from googlenet_bench.datasets import digits, read_survey, write_survey
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.events import EventLog
from googlenet_bench.harness.launch import LaunchRequest
from googlenet_bench.harness.lifecycle.options import RunOptions
from googlenet_bench.harness.lifecycle.plan import make_plan
from googlenet_bench.harness.lifecycle.ranks import RankFiles
from googlenet_bench.harness.reporting.report import run_summary
from googlenet_bench.harness.measure.scaling import read_reference, scaling_figures
from googlenet_bench.harness.lifecycle.state import RunState
from googlenet_bench.harness.types import DatasetOptions
from record_fixtures import PROJECT_ROOT, make_record, write_record

SHORT = ("epochs=1", "train_samples=256", "eval_samples=100")


@pytest.fixture
def survey_calls(monkeypatch):
    calls = []
    real = digits.survey

    def counting(config):
        calls.append(config["name"])
        return real(config)

    monkeypatch.setattr(digits, "survey", counting)
    return calls


def test_ranks_take_the_parents_survey_and_never_survey_the_data(tmp_path, survey_calls, monkeypatch):
    parent = make_plan(RunOptions(overrides=SHORT, results_dir=tmp_path, launch=LaunchRequest(ranks=2)))
    assert len(survey_calls) == 1 and parent.survey.images["train"] == 1437
    worker = RunOptions(overrides=SHORT, results_dir=tmp_path, run_id=parent.run_id, worker=True,
                        launch=LaunchRequest(ranks=2))
    monkeypatch.setenv("RANK_ID", "1")
    monkeypatch.setenv("RANK_SIZE", "2")
    monkeypatch.setenv("DEVICE_ID", "1")
    with pytest.raises(BenchError, match="data survey .* cannot be read"):
        make_plan(worker)  # a rank without its parent's survey stops: it does not survey on its own
    write_survey(parent.survey, RankFiles(parent.run_dir).survey_path)  # as execute() does before launching
    rank_plan = make_plan(worker)
    assert rank_plan.survey == parent.survey and rank_plan.rank.local_world_size == 2
    from googlenet_bench.harness.lifecycle import phases

    state = RunState(events=EventLog(tmp_path / "events.log"), dataset_options=DatasetOptions(num_parallel_workers=1))
    found = phases.data(rank_plan, state)
    assert "shard 1/2" in found["data"]["train"]
    assert len(survey_calls) == 1  # neither the rank's plan nor its data phase surveyed again


def test_a_one_rank_run_surveys_once_for_plan_and_data_phase(tmp_path, survey_calls):
    from googlenet_bench.harness.lifecycle import phases

    plan = make_plan(RunOptions(overrides=SHORT, results_dir=tmp_path))
    state = RunState(events=EventLog(tmp_path / "events.log"), dataset_options=DatasetOptions(num_parallel_workers=1))
    phases.data(plan, state)
    assert len(survey_calls) == 1


def test_a_survey_reads_back_as_it_was_written(tmp_path, imagenet_dir):
    config = {"name": "t", "dataset": "imagenet", "data": str(imagenet_dir), "num_classes": 3, "classes": None,
              "corrupt_images": "skip"}
    (imagenet_dir / "train" / "n01440764" / "broken.JPEG").write_bytes(b"not a jpeg")
    try:
        survey = datasets.validate_data(config, splits=())
    finally:
        (imagenet_dir / "train" / "n01440764" / "broken.JPEG").unlink()
    write_survey(survey, tmp_path / "survey.json")
    again = read_survey(tmp_path / "survey.json")
    assert again.extra["files"]["train"] == [list(pair) for pair in survey.extra["files"]["train"]]
    assert (again.location, again.images, again.extra["class_indexing"]) == (
        survey.location, survey.images, survey.extra["class_indexing"])
    digits_survey = digits.survey({"data": None})
    write_survey(digits_survey, tmp_path / "digits.json")
    assert read_survey(tmp_path / "digits.json") == digits_survey  # label-keyed counts keep int keys


PIN = """
import os, sys
from googlenet_bench.backends import cpu
from googlenet_bench.harness.types import RankInfo
context = cpu.pin_to_own_cores(RankInfo(rank=1, local_rank=1, world_size=2, local_world_size=2))
threads = {tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}
print(context["cpu_cores"], sorted(threads))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores to split")
def test_a_cpu_rank_and_all_its_threads_are_pinned_to_its_own_share_of_cores():
    cores = sorted(os.sched_getaffinity(0))
    share = len(cores) // 2
    result = subprocess.run([sys.executable, "-c", "import mindspore\n" + PIN], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    mine = cores[share:2 * share]
    assert result.stdout.strip().splitlines()[-1] == f"{mine} {[tuple(mine)]}"


def test_the_scaling_reference_must_be_a_one_rank_run_of_the_same_suite_and_batch(tmp_path):
    config = {"name": "digits", "image_size": 32, "batch_size": 64}
    one = write_record(tmp_path / "one.json", make_record(**{"figures.train.ms_per_step_median": 200.0}))
    reference = read_reference(str(one), config, ranks=2)
    assert reference.ms_per_step == 200.0 and reference.ranks == 1
    with pytest.raises(BenchError, match="with --ranks 2 or more"):
        read_reference(str(one), config, ranks=1)
    two = write_record(tmp_path / "two.json", make_record(**{"figures.train.ranks": 2}))
    with pytest.raises(BenchError, match="is a 2-rank run: give the record of a 1-rank run"):
        read_reference(str(two), config, ranks=2)
    with pytest.raises(BenchError, match="batch 64; this run is digits at 32 px, batch 32 per rank"):
        read_reference(str(one), {**config, "batch_size": 32}, ranks=2)


def test_the_n_rank_record_carries_its_scaling_figures_and_the_summary_prints_them(tmp_path):
    one = write_record(tmp_path / "one.json", make_record(**{"figures.train.ms_per_step_median": 200.0}))
    reference = read_reference(str(one), {"name": "digits", "image_size": 32, "batch_size": 64}, ranks=2)
    every = [{"rank": 0, "ms_per_step_median": 250.0}, {"rank": 1, "ms_per_step_median": 256.0}]
    figures = scaling_figures({"batch_size": 64, "ms_per_step_median": 250.0}, every, reference)
    assert figures["images_per_s_per_rank"] == [256.0, 250.0] and figures["images_per_s"] == 506.0
    assert figures["efficiency"] == pytest.approx(0.8)
    record = make_record(**{"figures.scaling": figures, "figures.train.startup_s": 12.5, "figures.ranks": {
        "parameters_identical": True, "per_rank": [], "ms_per_step_per_rank": [250.0, 256.0],
        "startup_s": 14.0, "startup_s_per_rank": [12.5, 12.9]}})
    summary = run_summary(record)
    assert "start-up: 12.5 s from bench.py's start to the first training step; all ranks here training 14.0 s" in summary
    assert "parameters identical on all 2 ranks" in summary
    assert "images/s per rank 256.0, 250.0, 506.0 images/s in all; efficiency 80% against" in summary


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--ranks", "2", "--scaling-reference", "nowhere.json"], "results record nowhere.json not found"),
    (["--scaling-reference", "REFERENCE"], "use it with --ranks 2 or more"),
], ids=["missing", "one-rank-run"])
def test_a_bad_scaling_reference_is_refused_in_one_line_before_anything_starts(tmp_path, args, message):
    from conftest import run_bench

    reference = write_record(tmp_path / "one.json", make_record())
    args = [str(reference) if arg == "REFERENCE" else arg for arg in args]
    result = run_bench(*args, "--results", str(tmp_path / "results"), timeout=120)
    assert result.returncode == 2 and message in result.stderr
    assert one_line(result.stderr) and not (tmp_path / "results").exists()

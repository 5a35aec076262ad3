"""Issue 10, classes 3, 5 and 6 through the command line: files that parse but are wrong inside, values that
must be refused, and the one line around them (no usage block, "did you mean", no MindSpore log lines).

None of these trains: each fails before a run starts, so they need no training lock.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from googlenet_bench.harness.results.checkpoints import RUN_FILE
from googlenet_bench.harness.suites import load_suite
from record_fixtures import REAL_RECORD, bench, make_record, write_record
from conftest import one_line


def one_line_exit_2(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert one_line(result.stderr) and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "usage:" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# -- class 3: files the harness reads that parse but have the wrong shape inside ---------------------

WRONG_INSIDE = {
    "top-1 a string": ({"figures.eval.top1": "0.97"}, "figures.eval.top1 must be a fraction from 0 to 1, got '0.97'"),
    "train a list": ({"figures.train": [1, 2]}, "figures.train must be a mapping, got a list"),
    "export entry a number": ({"figures.export.MINDIR": 21.8}, "figures.export.MINDIR must be a mapping, got 21.8"),
    "config out of range": ({"config.batch_size": 0}, "config: batch_size must be > 0, got 0"),
    "start time not a time": ({"started": "yesterday"}, "started must be an ISO date and time"),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("problem", WRONG_INSIDE)
@pytest.mark.parametrize("command", ["report", "compare", "check", "baseline"])
def test_record_readers_refuse_a_record_wrong_inside_in_one_line(tmp_path, command, problem):
    changes, message = WRONG_INSIDE[problem]
    bad = write_record(tmp_path / "bad.json", make_record(**changes))
    args = {"report": [bad], "compare": [REAL_RECORD, bad], "check": [bad, "--baseline", REAL_RECORD],
            "baseline": [bad, "--to", tmp_path / "baseline.json"]}[command]
    one_line_exit_2(bench(command, *args), f"results record {bad} is malformed: {message}")
    assert not (tmp_path / "baseline.json").exists()


@pytest.mark.bad_input
def test_history_skips_and_names_a_record_wrong_inside(tmp_path):
    write_record(tmp_path / "good.json", make_record(run_id="good"))
    write_record(tmp_path / "bad.json", make_record(run_id="bad", **{"figures.train": [1, 2]}))
    result = bench("history", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "good" in result.stdout and "bad" not in result.stdout
    assert result.stderr == f"skipped: results record {tmp_path / 'bad.json'} is malformed: figures.train must be a " \
                            "mapping, got a list\n"


def run_dir_with(tmp_path, run_file) -> str:
    run_dir = tmp_path / "results" / "digits-cpu-run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / RUN_FILE).write_text(run_file if isinstance(run_file, str) else json.dumps(run_file))
    return str(run_dir)


GOOD_RUN_FILE = {"config": load_suite("digits"), "options": {"suite": "digits", "backend": "cpu",
                                                             "phases": ["setup", "train", "record"]}}


@pytest.mark.bad_input
@pytest.mark.parametrize("run_file, message", [
    ([GOOD_RUN_FILE], "run.json is malformed: the document must be a mapping with config and options, got a list"),
    ({"options": GOOD_RUN_FILE["options"]}, "run.json is malformed: config is missing"),
    ({**GOOD_RUN_FILE, "config": {**GOOD_RUN_FILE["config"], "epochs": 0}}, "run.json: config: epochs must be > 0, got 0"),
    ({**GOOD_RUN_FILE, "config": {**GOOD_RUN_FILE["config"], "epochz": 3}},
     "run.json: config: unknown key 'epochz' (did you mean epochs?)"),
    ({**GOOD_RUN_FILE, "options": {"backend": 7}}, "run.json is malformed: options.backend must be a string, got 7"),
    ('{"config": ', "run.json is unreadable"),
])
def test_resume_refuses_a_run_file_wrong_inside_and_writes_nothing(tmp_path, run_file, message):
    run_dir = run_dir_with(tmp_path, run_file)
    before = sorted(p.name for p in (tmp_path / "results").rglob("*"))
    one_line_exit_2(bench("--resume", run_dir), f"--resume {run_dir}: {message}")
    assert sorted(p.name for p in (tmp_path / "results").rglob("*")) == before


@pytest.mark.bad_input
@pytest.mark.parametrize("target, message", [
    ("{tmp}", "--to {tmp} is a directory: give a file path in it"),
    ("/proc/baseline.json", "--to /proc/baseline.json: cannot write it there"),  # read-only even for root
    ("{tmp}/file/baseline.json", "directory {tmp}/file is a file, not a directory"),
    # Issue 24: /dev/full became a JSON file; /nonexist was created silently.
    ("/dev/full", "--to /dev/full is a character device, not a file this tool writes"),
    ("{tmp}/fifo", "--to {tmp}/fifo is a FIFO, not a file this tool writes"),
    ("{tmp}/socket", "--to {tmp}/socket is a socket, not a file this tool writes"),
    ("{tmp}/out-link.json", "--to {tmp}/out-link.json is a symbolic link out of {tmp}"),
    ("/nonexist-gb/b.json", "--to /nonexist-gb/b.json: directory /nonexist-gb does not exist: create it first"),
])
def test_baseline_to_a_place_it_cannot_write_is_one_line(tmp_path, target, message):
    import os
    import socket

    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "socket"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out-link.json").symlink_to(tmp_path / "elsewhere" / "b.json")
    target, message = target.format(tmp=tmp_path), message.format(tmp=tmp_path)
    one_line_exit_2(bench("baseline", REAL_RECORD, "--to", target), message)
    server.close()
    assert Path("/dev/full").is_char_device() and not Path("/nonexist-gb").exists()
    assert not (tmp_path / "elsewhere" / "b.json").exists()


# -- class 5: values that must be refused while the command line is read ------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (("--master-port", "0"), "argument --master-port: must be from 1 to 65535, got 0"),
    (("--master-port", "65536"), "argument --master-port: must be from 1 to 65535, got 65536"),
    (("--master-port", "-1"), "argument --master-port: must be from 1 to 65535, got -1"),
    (("--master-port", "http"), "argument --master-port: must be a whole number, got 'http'"),
    (("--phases", ""), "argument --phases: names no phase ('')"),
    (("--phases", ",,,"), "argument --phases: names no phase (',,,')"),
    (("--phases", " , "), "argument --phases: names no phase"),
    (("--results", ""), "argument --results: must not be empty"),
    (("--data", " "), "argument --data: must not be empty"),
    (("--suite", ""), "argument --suite: must not be empty"),
    (("--ranks", "0"), "argument --ranks: must be at least 1, got 0"),
    (("--ranks", "two"), "argument --ranks: must be a whole number, got 'two'"),
    (("--nodes", "0"), "argument --nodes: must be at least 1, got 0"),
    (("--node-rank", "-1"), "argument --node-rank: must be at least 0, got -1"),
    (("--nodes", "2", "--node-rank", "2"), "--node-rank 2 must be below --nodes 2"),
    (("--ranks", "100000"), "--ranks 100000 puts 100000 ranks on this machine but backend 'cpu' can host"),
])
def test_values_out_of_range_are_refused_before_anything_runs(tmp_path, args, message):
    one_line_exit_2(bench(*args, "--results", tmp_path / "results"), message)
    assert not (tmp_path / "results").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("text, key, lines", [
    ("epochs: 3\nbatch_size: 8\nepochs: 5\n", "epochs", (1, 3)),
    ("name: x\n'epochs': 3\n\"epochs\": 4\n", "epochs", (2, 3)),  # quoting does not make another key
    ("{epochs: 3, epochs: 4}\n", "epochs", (1, 1)),
    ("classes:\n  - 1\nexport_formats: [MINDIR]\nclasses: null\n", "classes", (1, 4)),
])
def test_a_suite_file_setting_a_key_twice_is_refused_naming_the_key(tmp_path, text, key, lines):
    suite = tmp_path / "twice.yaml"
    suite.write_text(text)
    one_line_exit_2(bench("--suite", suite, "--results", tmp_path / "results"),
                    f"suite file {suite} sets '{key}' twice (lines {lines[0]} and {lines[1]}): keep one of them")
    assert not (tmp_path / "results").exists()


def test_yaml_merge_keys_and_nested_equal_keys_are_not_duplicates(tmp_path):
    suite = tmp_path / "merge.yaml"
    suite.write_text("base: &b {epochs: 3}\n")  # an unknown key, but not a duplicate one
    with pytest.raises(Exception, match="unknown key 'base'"):
        load_suite(str(suite))
    suite.write_text("epochs: 3\nlr_decay_epochs: [1, 1]\n")  # equal list items are not keys
    assert load_suite(str(suite))["lr_decay_epochs"] == [1, 1]


# -- class 6: one line, with "did you mean", and nothing around it ----------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (("--bogus",), "unrecognized arguments: --bogus; see `bench.py -h`"),
    (("--ranks",), "argument --ranks: expected one argument"),
    (("suites", "extra"), "unrecognized arguments: extra; see `bench.py suites -h`"),
    (("backends", "--verbose"), "unrecognized arguments: --verbose; see `bench.py backends -h`"),
    (("report",), "the following arguments are required: record; see `bench.py report -h`"),
    (("compare",), "the following arguments are required: RECORD"),
    (("compare", REAL_RECORD, "--format", "xml"), "argument --format: invalid choice: 'xml'"),
    (("check", REAL_RECORD), "the following arguments are required: --baseline"),
    (("check", REAL_RECORD, "--baseline", REAL_RECORD, "--max-slowdown", "fast"), "invalid float value: 'fast'"),
    (("baseline", REAL_RECORD), "the following arguments are required: --to"),
    (("history",), "the following arguments are required: directory; see `bench.py history -h`"),
    (("reprot", REAL_RECORD), "unknown command 'reprot' (did you mean report?)"),
    (("histroy",), "unknown command 'histroy' (did you mean history?)"),
    (("--backend", "CPU"), "unknown backend 'CPU' (did you mean cpu?)"),
    (("--backend", "Ascend31"), "unknown backend 'Ascend31' (did you mean ascend310"),
    (("--suite", "Digits"), "unknown suite 'Digits' (did you mean digits"),
])
def test_usage_mistakes_are_one_line_without_the_usage_block(args, message):
    one_line_exit_2(bench(*args), message)


def test_help_still_prints_the_whole_usage():
    result = bench("-h")
    assert result.returncode == 0 and result.stdout.startswith("usage: bench.py") and "--master-port" in result.stdout

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.events import EventLog
from googlenet_bench.harness.results.record import SCHEMA_VERSION, read_record, write_json_atomic


def minimal_record(**changes):
    record = {"schema": SCHEMA_VERSION, "suite": "digits", "backend": "cpu", "status": "success",
              "config": {}, "environment": {}, "figures": {}}
    record.update(changes)
    return record


def test_atomic_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.fault
def test_writer_killed_mid_write_leaves_old_file_intact(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"old": True})
    # A writer that serialises a huge object slowly is SIGKILLed before it can finish.
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(os.getcwd())!r})
        from googlenet_bench.harness.results.record import write_json_atomic
        class Slow:
            def __str__(self):
                import time; time.sleep(30); return "x"
        print("writing", flush=True)
        write_json_atomic({str(target)!r}, {{"big": ["y" * 1000] * 5000, "slow": Slow()}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    import time
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(target.read_text()) == {"old": True}


def test_read_record_accepts_a_valid_record(tmp_path):
    path = tmp_path / "ok.json"
    write_json_atomic(path, minimal_record())
    assert read_record(path)["suite"] == "digits"


@pytest.mark.bad_input
@pytest.mark.parametrize("content, message", [
    ('{"schema": 1, "suite": "digits", "fig', "not valid JSON"),
    ("hello", "not valid JSON"),
    ("[1, 2]", "not a googlenet-bench results record"),
    (json.dumps(minimal_record(schema=SCHEMA_VERSION + 1)), "newer than this harness reads"),
    (json.dumps(minimal_record(figures=[])), "malformed: figures must be a mapping, got a list"),
    (json.dumps(minimal_record(suite=None)), "malformed: suite must be a string, got None"),
])
def test_unusable_records_give_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(BenchError) as info:
        read_record(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.bad_input
def test_missing_record_and_directory(tmp_path):
    with pytest.raises(BenchError, match="not found"):
        read_record(tmp_path / "nope.json")
    with pytest.raises(BenchError, match="is a directory"):
        read_record(tmp_path)


def test_event_log_streams_mlperf_lines(tmp_path):
    log = EventLog(tmp_path / "events.log")
    log.log("run_start", suite="digits")
    log.log("eval_accuracy", 0.98)
    lines = (tmp_path / "events.log").read_text().splitlines()
    assert [json.loads(line.removeprefix(":::MLLOG "))["key"] for line in lines] == ["run_start", "eval_accuracy"]
    assert log.events[1]["value"] == 0.98 and "time_ms" in log.events[0]

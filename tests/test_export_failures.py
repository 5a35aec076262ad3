"""An export format that fails is recorded as failed with its one-line reason; the others still export, and
the run ends export_failed (exit 1), not with a traceback."""
from pathlib import Path
from types import SimpleNamespace

from googlenet_bench.harness.lifecycle import phases
from googlenet_bench.harness.lifecycle.state import RunState
from googlenet_bench.harness.results.events import EventLog
from googlenet_bench.harness.types import STATUSES, RAN_TO_THE_END


class Device:
    name = "fake"

    def export(self, net, example, file_format, path):
        if file_format == "AIR":
            raise RuntimeError("AIR export needs the GE backend\nC++ call stack: ...")
        Path(path).write_bytes(b"model")
        return path


def test_a_failing_format_is_recorded_and_the_others_still_export(tmp_path):
    config = {"image_size": 32, "export_batch_size": None, "eval_batch_size": None, "batch_size": 2}
    plan = SimpleNamespace(config=config, recipe=SimpleNamespace(export_formats=("MINDIR", "AIR", "ONNX")),
                           device=Device(), run_dir=tmp_path)
    state = RunState(events=EventLog())
    state.net = SimpleNamespace(set_train=lambda mode: None)
    figures = phases.export(plan, state)["export"]
    assert figures["AIR"] == {"failed": "AIR export needs the GE backend"}
    assert figures["MINDIR"]["mb"] >= 0 and figures["ONNX"]["mb"] >= 0
    assert sorted(state.exports) == ["MINDIR", "ONNX"]  # what infer then runs on
    [verdict] = state.verdicts
    assert verdict.status == "export_failed" and verdict.reason == "export failed for AIR: AIR export needs the GE backend"
    assert "export_failed" in STATUSES and "export_failed" in RAN_TO_THE_END


def test_a_format_that_cannot_be_written_here_fails_the_run_before_training(tmp_path):
    plan = SimpleNamespace(recipe=SimpleNamespace(export_formats=("MINDIR", "AIR")), device=Device())
    state = RunState(events=EventLog())
    figures = phases.check_export_formats(plan, state)
    assert figures["export"] == {"AIR": {"failed": "AIR export needs the GE backend"}}
    [verdict] = state.verdicts
    assert verdict.status == "export_failed" and verdict.ends_run  # no training after it
    assert "AIR: AIR export needs the GE backend" in verdict.reason and "\n" not in verdict.reason
    assert "--set export_formats=[MINDIR]" in verdict.reason
    plan.recipe.export_formats = ("MINDIR", "ONNX")
    state = RunState(events=EventLog())
    assert phases.check_export_formats(plan, state) == {"export_check": {"formats": ["MINDIR", "ONNX"], "written": True}}
    assert state.verdicts == []

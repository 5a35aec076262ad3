"""A rehearsal judged against its fp32 twin: past either stated threshold it is a one-line finding (exit 1)."""
from types import SimpleNamespace

import pytest

from googlenet_bench.harness.lifecycle import twin
from googlenet_bench.harness.lifecycle.state import RunState
from googlenet_bench.harness.results.events import EventLog

PLAN = SimpleNamespace(backend=SimpleNamespace(name="gpu"), recipe=SimpleNamespace(amp=SimpleNamespace(level="O2")))
TWIN = {"amp_level": "O0", "loss_per_epoch": [2.3, 2.0, 1.7, 1.5], "top1": 0.6, "steps": 40}


@pytest.mark.parametrize("losses, top1, worse", [
    ([2.3, 2.1, 1.9, 1.7], 0.55, False),  # a little worse than the twin: no finding
    ([2.3, 2.1, 1.9, 1.7], 0.35, True),  # top-1 25 points below the twin's
    ([2.3, 2.4, 2.3, 2.25], 0.55, True),  # the mean loss fell 0.05 against the twin's 0.8
])
def test_a_rehearsal_past_a_threshold_is_a_finding_in_one_line(losses, top1, worse):
    state = RunState(events=EventLog())
    compared = twin.judge(PLAN, state, losses, top1, TWIN)
    assert compared["learned_much_worse"] is worse
    assert compared["top1_gap"] == pytest.approx(0.6 - top1) and compared["twin_loss_fall"] == pytest.approx(0.8)
    if worse:
        [verdict] = state.verdicts
        assert verdict.status == "precision_gap" and "\n" not in verdict.reason
        assert verdict.reason.startswith("finding: the gpu recipe at AMP O2 learned much worse on this CPU")
    else:
        assert state.verdicts == []


def test_a_twin_whose_loss_hardly_fell_says_nothing_about_the_rehearsals_loss():
    # Measured (docs/rehearsal.md): both curves noise on a short run; the top-1 rule still applies.
    still = {**TWIN, "loss_per_epoch": [2.416, 2.511, 2.602, 2.386], "top1": 0.3}
    state = RunState(events=EventLog())
    assert twin.judge(PLAN, state, [2.382, 2.608, 2.768, 2.496], 0.3, still)["learned_much_worse"] is False
    assert state.verdicts == []
    assert twin.judge(PLAN, state, [2.382, 2.608, 2.768, 2.496], 0.05, still)["learned_much_worse"] is True
    assert "eval top-1 0.0500 against the twin's 0.3000" in state.verdicts[0].reason


def test_report_prints_the_twin_side_by_side_and_the_deviations():
    from googlenet_bench.harness.reporting.report import run_summary

    compared = twin.judge(PLAN, RunState(events=EventLog()), [2.3, 2.1, 1.9, 1.7], 0.55, TWIN)
    record = {"status": "success", "backend": "gpu", "figures": {
        "train": {"steps": 40, "loss_per_epoch": [2.3, 2.1, 1.9, 1.7]},
        "rehearsal": {"host": "cpu", "notes": ["dataset sink and the harness's chunked sink are not exercised"]},
        "rehearsal_twin": compared,
        "recipe": {"deviations": ["rehearsal: dataset sink and the harness's chunked sink are not exercised"]}}}
    lines = run_summary(record).splitlines()
    assert "rehearsal of gpu's recipe on cpu:" in lines and "  dataset sink and the harness's chunked sink are not " \
        "exercised" in lines
    assert any("eval top-1 55.00% at O2 vs 60.00%" in line and "2.300 -> 2.100 -> 1.900 -> 1.700 vs 2.300" in line
               for line in lines)
    assert lines[-1].startswith("deviations from the zoo: rehearsal: dataset sink")
    record["figures"]["recipe"]["deviations"] = []
    assert run_summary(record).splitlines()[-1] == "deviations from the zoo: none: matches the zoo"

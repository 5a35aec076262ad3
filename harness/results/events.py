"""Event logs: MLPerf-style events (run_start, epoch_start/stop, eval_accuracy, run_stop, status),
streamed to a run's events.log as they happen and read back here alone (a resumed run's earlier epochs)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from googlenet_bench.harness.results.shapes import ANY_MAPPING, COUNT, INTEGER, NUMBER, TEXT, Fields, conform, nullable, strict_json

LOG_PREFIX = ":::MLLOG "  # each line of a run's events.log, as MLPerf logging writes it


class EventLog:
    """MLPerf-style events (run_start, epoch_start/stop, eval_accuracy, run_stop, status),
    kept in the record and streamed to a file as they happen, so a crashed run leaves its trail."""

    def __init__(self, stream_path: Path | None = None):
        self.events: list[dict] = []
        self._stream = stream_path

    def log(self, key: str, value: Any = None, **metadata) -> None:
        event = {"time_ms": int(time.time() * 1000), "key": key, "value": value}
        if metadata:
            event["metadata"] = metadata
        self.events.append(event)
        if self._stream is not None:
            try:
                with open(self._stream, "a", encoding="utf-8") as handle:
                    handle.write(LOG_PREFIX + json.dumps(strict_json(event), default=str) + "\n")
            except OSError as exc:  # a write error names no file: name it, the run's one line says it
                raise OSError(exc.errno, exc.strerror, str(self._stream)) from None


EVENT = Fields({"time_ms": INTEGER, "key": TEXT, "metadata": ANY_MAPPING}, required=("key",))
# What a resumed run reads back from an epoch_stop event: the epoch's figures (googlenet_bench.harness.lifecycle.train_phase).
EPOCH_STOP = Fields({"value": COUNT, "metadata": Fields({"loss": NUMBER, "ms_per_step": NUMBER, "lr": nullable(NUMBER)},
                                                        required=("loss", "ms_per_step"))}, required=("value", "metadata"))


def read_event_log(path: Path) -> list[dict]:
    """The events a run streamed to its events.log (none if there is no file). Lines that are not whole
    events are left out: a process killed mid-write leaves a torn last line, and a run continues from
    what the log holds rather than failing on it."""
    events = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return events
    for line in lines:
        try:
            event = conform(json.loads(line.removeprefix(LOG_PREFIX)), EVENT)
            events.append(conform(event, EPOCH_STOP) if event["key"] == "epoch_stop" else event)
        except (ValueError, RecursionError):  # JSONDecodeError and ShapeError are ValueErrors
            continue
    return events


def epochs_logged(path: Path, up_to_epoch: int) -> list[dict]:
    """A resumed run's earlier epochs: the figures of its logged epoch_stop events up to an epoch."""
    by_epoch = {event["value"]: {"epoch": event["value"], **event["metadata"]} for event in read_event_log(path)
                if event["key"] == "epoch_stop" and event["value"] <= up_to_epoch}
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]

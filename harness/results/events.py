"""Event logs in MLPerf's format, written with mlperf-logging's mllog: a run's events.log, streamed as
events happen (a crashed run leaves its trail), and read back here alone (a resumed run's earlier epochs).

The harness's moments map onto MLPerf Training's keys: the process start is init_start (after the
submission_* lines), the first training step run_start, the first evaluation at or above the suite's
target run_stop with status "success" (so MLPerf's result summarizer measures time to target), and a
run that ends without reaching it run_stop "aborted". docs/records-and-formats.md lists the checks of
the compliance checker that cannot apply to a GoogleNet run.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from mlperf_logging.mllog import constants, mllog

from googlenet_bench.harness.results.shapes import ANY_MAPPING, COUNT, INTEGER, NUMBER, TEXT, Fields, conform, nullable, strict_json

LOG_PREFIX = ":::MLLOG "  # each line of a run's events.log, as MLPerf logging writes it
# The closest MLPerf ruleset: Training 4.0.0, the last with an image classifier (ResNet-50), open division.
RULESET = "4.0.0"
SUBMISSION = {constants.SUBMISSION_BENCHMARK: "googlenet", constants.SUBMISSION_ORG: "googlenet-bench",
              constants.SUBMISSION_DIVISION: "open", constants.SUBMISSION_STATUS: "research"}
_ROOT = str(Path(__file__).resolve().parents[2])  # trimmed from the file names in the metadata
_HERE = str(Path(__file__).resolve())


class _AppendHandler(logging.Handler):
    """Each line appended and the file closed again: a killed process loses at most the line it was writing."""

    def __init__(self, path: Path):
        super().__init__(logging.INFO)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(record.getMessage().lstrip("\n") + "\n")
        except OSError as exc:  # a write error names no file: name it, the run's one line says it
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None


class EventLog:
    """A run's MLPerf events, kept in memory for the record and streamed to `stream_path` if given."""

    def __init__(self, stream_path: Path | None = None):
        self.events: list[dict] = []
        self._epoch: int | None = None  # the last epoch begun: MLPerf wants an epoch_num on evaluations
        self._target: float | None = None
        self._stopped = False  # run_stop logged (exactly one per run)
        logger = logging.Logger(f"googlenet_bench.events.{id(self)}")
        logger.propagate = False
        if stream_path is not None:
            logger.addHandler(_AppendHandler(Path(stream_path)))
        else:
            logger.addHandler(logging.NullHandler())
        self._mllog = mllog.MLLogger(logger=logger, root_dir=_ROOT)

    def _emit(self, kind: str, key: str, value: Any = None, metadata: dict | None = None,
              time_ms: int | None = None) -> None:
        depth, frame = 0, sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == _HERE:  # the call site outside this module
            depth, frame = depth + 1, frame.f_back
        time_ms = int(time.time() * 1000) if time_ms is None else time_ms
        value, metadata = strict_json(value), strict_json(metadata or {})
        where = {} if frame is None else {"file": frame.f_code.co_filename.removeprefix(_ROOT + "/"),
                                          "lineno": frame.f_lineno}  # as mllog writes them
        self.events.append({"namespace": "", "time_ms": time_ms, "event_type": kind, "key": key, "value": value,
                            "metadata": {**where, **metadata}})
        writer = {constants.INTERVAL_START: self._mllog.start, constants.INTERVAL_END: self._mllog.end,
                  constants.POINT_IN_TIME: self._mllog.event}[kind]
        writer(key, value, metadata=metadata, time_ms=time_ms, stack_offset=depth + 2)

    def log(self, key: str, value: Any = None, **metadata) -> None:
        """One event; *_start and *_stop keys open and close intervals, as mllog's start() and end() do."""
        if key in ("epoch_start", "epoch_stop"):
            self._epoch = value
            metadata = {constants.EPOCH_NUM: value, **metadata}
        kind = (constants.INTERVAL_START if key.endswith("_start") else
                constants.INTERVAL_END if key.endswith("_stop") else constants.POINT_IN_TIME)
        if key == "eval_accuracy":
            return self._eval_accuracy(value, metadata)
        self._emit(kind, key, value, metadata)

    def open_run(self, platform: str, **metadata) -> None:
        """The process started: what MLPerf calls the submission, then init_start."""
        for key, value in {**SUBMISSION, constants.SUBMISSION_PLATFORM: platform}.items():
            self._emit(constants.POINT_IN_TIME, key, value)
        self._emit(constants.POINT_IN_TIME, constants.CACHE_CLEAR, False)  # no caches are dropped between runs
        self._emit(constants.INTERVAL_START, constants.INIT_START, None, metadata)

    def train_start(self, *, global_batch_size: int, opt_base_learning_rate: float, train_samples: int,
                    eval_samples: int, target_top1: float | None, **metadata) -> None:
        """The hyperparameters, init_stop, and run_start: MLPerf's clock starts with training."""
        self._target = target_top1
        for key, value in ((constants.GLOBAL_BATCH_SIZE, global_batch_size),
                           (constants.OPT_BASE_LR, opt_base_learning_rate),
                           (constants.TRAIN_SAMPLES, train_samples), (constants.EVAL_SAMPLES, eval_samples)):
            self._emit(constants.POINT_IN_TIME, key, value)
        self._emit(constants.INTERVAL_END, constants.INIT_STOP)
        self._emit(constants.INTERVAL_START, constants.RUN_START, None, {"target_top1": target_top1, **metadata})

    def _eval_accuracy(self, top1: float, metadata: dict) -> None:
        epoch = metadata.get("epoch", self._epoch)
        metadata = {constants.EPOCH_NUM: epoch, **metadata}
        now = int(time.time() * 1000)
        if isinstance(metadata.get("eval_s"), (int, float)):  # the evaluation's interval, as MLPerf logs it
            self._emit(constants.INTERVAL_START, constants.EVAL_START, None, {constants.EPOCH_NUM: epoch},
                       time_ms=now - int(metadata["eval_s"] * 1000))
            self._emit(constants.INTERVAL_END, constants.EVAL_STOP, None, {constants.EPOCH_NUM: epoch}, time_ms=now)
        self._emit(constants.POINT_IN_TIME, constants.EVAL_ACCURACY, top1, metadata, time_ms=now)
        if not self._stopped and self._target is not None and top1 is not None and top1 >= self._target:
            self._stop(constants.SUCCESS, {constants.EPOCH_NUM: epoch, "reached": "target_top1"}, time_ms=now)

    def _stop(self, status: str, metadata: dict, time_ms: int | None = None) -> None:
        self._stopped = True
        self._emit(constants.INTERVAL_END, constants.RUN_STOP, None, {constants.STATUS: status, **metadata}, time_ms)

    def close_run(self, status: str) -> None:
        """The run ended with the harness's `status`: run_stop, unless the target already stopped MLPerf's clock
        (MLPerf's status: success for a run with no target that succeeded, else aborted)."""
        if not self._stopped:
            mlperf_status = constants.SUCCESS if status == "success" and self._target is None else constants.ABORTED
            self._stop(mlperf_status, {"harness_status": status})


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
    by_epoch = {event["value"]: {"epoch": event["value"], **_figures(event["metadata"])}
                for event in read_event_log(path) if event["key"] == "epoch_stop" and event["value"] <= up_to_epoch}
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def _figures(metadata: dict) -> dict:
    """An epoch_stop's figures without MLPerf's bookkeeping (call site, epoch_num)."""
    return {key: value for key, value in metadata.items() if key not in ("file", "lineno", constants.EPOCH_NUM)}

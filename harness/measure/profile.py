"""The profile pass: a few more training steps after the timed run, under `mindspore.Profiler`, read back as
a breakdown of the step by operator category. The timed ms/step never comes from these steps.

The pass trains on the run's own Model and data, then puts every parameter (weights, optimizer state,
step counter) back as it was, so evaluation and export see the network the timed run trained. The first
step of the pass is not profiled (a new iterator, cold caches). The profiler's own files stay under the
run directory (`profile/rank<N>/`)."""
from __future__ import annotations

import csv
import time
from pathlib import Path

from googlenet_bench.harness import interrupts

# Operator types to categories, by substring of the lower-cased type; the first rule that matches wins.
CATEGORY_RULES = (
    ("communication", ("allreduce", "allgather", "broadcast", "reducescatter", "hcom", "nccl")),
    ("host-device copy", ("memcpy", "tensormove")),
    ("convolution backward", ("backprop",)),
    ("convolution forward", ("conv",)),
    ("BatchNorm", ("batchnorm", "bntraining", "bninfer")),
    ("pooling", ("pool",)),
    ("concat", ("concat", "slice", "split")),  # Slice splits a concat's gradient back to its branches
    ("activation", ("relu", "sigmoid", "gelu", "tanh")),
    ("optimizer", ("momentum", "sgd", "adam", "assignadd", "gather")),  # Gather reads the step's learning rate
    ("cast", ("cast",)),
)
OTHER_OPERATORS = "other operators"
NO_OPERATOR = "no operator running (runtime: launches, step ends, data wait)"
CATEGORIES = tuple(name for name, _ in CATEGORY_RULES) + (OTHER_OPERATORS, NO_OPERATOR)
OPERATOR_PROCESS = "CPU OP"  # the timeline process of the operators themselves (others are scope summaries)
TOP_OPERATORS = 10


def category_of(op_type: str) -> str:
    lowered = op_type.lower()
    return next((name for name, parts in CATEGORY_RULES if any(part in lowered for part in parts)), OTHER_OPERATORS)


def operator_table(trace_dir: Path) -> tuple[dict[str, float], str] | None:
    """Total milliseconds per operator type over the profiled steps, from the profiler's own per-type
    table, and which file that was; None where the profiler wrote none MindSpore 2.10 is known to write:
    `cpu_op_type_info_<rank>.csv` (CPU, ms), `gpu_op_type_info_<device>.csv` (GPU, us) or
    `op_statistic.csv` (Ascend, us). Only the CPU table was seen here; the GPU and Ascend columns and
    units are assumed, not seen."""
    for pattern, type_column, time_column, per_ms in (("cpu_op_type_info_*.csv", "op_type", "total_compute_time", 1.0),
                                                     ("gpu_op_type_info_*.csv", "op_type", "total_time", 1000.0),
                                                     ("op_statistic*.csv", "OP Type", "Total Time(us)", 1000.0)):
        for path in sorted(trace_dir.rglob(pattern)):
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle))
            table: dict[str, float] = {}
            for row in rows:
                column = next((c for c in row if c and c.strip().startswith(time_column)), None)
                if column is None or not row.get(type_column):
                    break
                table[row[type_column]] = table.get(row[type_column], 0.0) + float(row[column]) / per_ms
            if table:
                return table, str(path.relative_to(trace_dir))
    return None


def idle_between_operators(trace_dir: Path) -> float | None:
    """Milliseconds in the profiler's timeline (trace_view.json) during which no operator ran, from the first
    operator to the last: MindSpore's runtime between kernels, the step boundaries and the data wait. None
    where the timeline has no operator process."""
    import json

    for path in sorted(trace_dir.rglob("trace_view.json")):
        events = json.loads(path.read_text())
        process = next((e["pid"] for e in events if e.get("ph") == "M" and e.get("name") == "process_name"
                        and (e.get("args") or {}).get("name") == OPERATOR_PROCESS), None)
        spans = sorted((float(e["ts"]), float(e["ts"]) + float(e["dur"])) for e in events
                       if e.get("ph") == "X" and e.get("pid") == process)
        if not spans:
            continue
        idle_us, reach = 0.0, spans[0][1]
        for start, end in spans[1:]:
            idle_us += max(0.0, start - reach)
            reach = max(reach, end)
        return idle_us / 1000.0
    return None


def breakdown(table: dict[str, float], steps: int, step_ms: float, idle_ms: float | None) -> dict:
    """Per category and per operator type: ms per profiled step and share of that step's wall time. The
    operators' times come from the profiler's table, the time with no operator running from its timeline:
    two measurements, so their sum against the step's wall clock (`accounted_share`) checks both."""
    per_category = {name: 0.0 for name in CATEGORIES}
    for op_type, total_ms in table.items():
        per_category[category_of(op_type)] += total_ms / steps
    per_category[NO_OPERATOR] = (idle_ms or 0.0) / steps

    def entry(ms: float) -> dict:
        return {"ms_per_step": round(ms, 3), "share": round(ms / step_ms, 4)}

    top = sorted(table.items(), key=lambda item: -item[1])[:TOP_OPERATORS]
    return {
        "by_category": [{"category": name, **entry(ms)} for name, ms in per_category.items()],
        "top_operators": [{"op_type": op_type, "category": category_of(op_type), **entry(total / steps)}
                          for op_type, total in top],
        "accounted_share": round(sum(per_category.values()) / step_ms, 4),
    }


class _StepClock:
    """Times each step of the pass, starts the profiler after the first step and stops it after the last;
    stops early, at a step's end, on a stop signal."""

    def __init__(self, profiler, steps: int):
        from mindspore.train import Callback

        clock = self

        class Timed(Callback):
            def on_train_step_begin(self, run_context):
                clock.began = time.perf_counter()
                if clock.ended:  # the gap since the last step: the data pipeline's next batch, and the host's work
                    clock.between.append(clock.began - clock.ended[-1])

            def on_train_step_end(self, run_context):
                clock.ended.append(time.perf_counter())
                done = len(clock.ended)
                if done == 1:
                    profiler.start()
                    clock.between.clear()
                elif done == steps + 1:
                    profiler.stop()
                    clock.stopped = True
                if done == steps + 1 or interrupts.pending():
                    run_context.request_stop()

        self.callback = Timed()
        self.began, self.ended, self.between, self.stopped = 0.0, [], [], False

    def profiled(self) -> tuple[int, float, float]:
        """(steps profiled, their wall ms per step including the gaps between them, the gaps' ms per step:
        the data pipeline's next batch and the host's callbacks)."""
        steps = len(self.ended) - 1
        if steps < 1:
            return 0, 0.0, 0.0
        wall_s = self.ended[-1] - self.ended[0]
        return steps, wall_s * 1000.0 / steps, sum(self.between) * 1000.0 / steps


def profile_pass(training, dataset, steps: int, trace_dir: Path, activities: list[str], timed_ms: float | None) -> dict:
    """Train `steps` (+1 unprofiled) more steps under the profiler, restore every parameter, and return the
    breakdown figures. The pass is one epoch of the run's data, so `steps` is capped at an epoch's steps
    less one, and at the learning-rate schedule's length (the step counter restarts at 0 for the pass:
    past the schedule's end MindSpore's learning-rate lookup fails)."""
    import mindspore as ms
    from mindspore.profiler import Profiler, ProfilerActivity

    from googlenet_bench.harness.quiet import output_to

    steps = max(1, min(steps, dataset.get_dataset_size() - 1, len(training.learning_rates) - 1))
    network = training.model._train_network  # Model has no public accessor for the cell it trains
    saved = {param.name: ms.Tensor(param.asnumpy()) for param in network.get_parameters()}
    trace_dir.mkdir(parents=True, exist_ok=True)
    log = trace_dir / "profiler-console.log"
    try:
        training.optimizer.global_step.set_data(ms.Tensor([0], ms.int32))
        with output_to(log):
            profiler = Profiler(output_path=str(trace_dir), start_profile=False,
                                activities=[getattr(ProfilerActivity, name) for name in activities])
            clock = _StepClock(profiler, steps)
            training.fit(1, dataset, sink_mode=False, callbacks=[clock.callback])
            if not clock.stopped:
                profiler.stop()
    finally:
        for param in network.get_parameters():
            param.set_data(saved[param.name])
    interrupts.check()  # stopped by a signal: no breakdown of a partial pass
    done, step_ms, data_wait_ms = clock.profiled()
    began = time.perf_counter()
    with output_to(log):
        profiler.analyse()
    figures = {"steps": done, "ms_per_step": round(step_ms, 2), "activities": list(activities),
               "trace_dir": str(trace_dir), "analyse_s": round(time.perf_counter() - began, 2),
               "between_steps_ms": round(data_wait_ms, 3),
               "slowdown_vs_timed": round(step_ms / timed_ms, 3) if timed_ms and step_ms else None}
    found = operator_table(trace_dir)
    if found is None or not done:
        figures["note"] = "the profiler wrote no operator table this harness reads: see its files in trace_dir"
        return figures
    table, source = found
    figures["operator_table"] = source
    figures.update(breakdown(table, done, step_ms, idle_between_operators(trace_dir)))
    return figures

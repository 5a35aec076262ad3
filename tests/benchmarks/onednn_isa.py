"""MindSpore's CPU train step under oneDNN's ISA caps: which operator types, and which oneDNN
implementations, take the time.

    flock /work/locks/train.lock .venv/bin/python tests/benchmarks/onednn_isa.py [--isas AVX2,default] [--steps 3]

Depends on MindSpore, NumPy and the GoogleNet of googlenet_bench.model only. One GoogleNet
TrainOneStepCell step (SoftmaxCrossEntropyWithLogits, Momentum lr 0.01 / 0.9 / weight decay 5e-4),
batch 64 @ 32 px, a fixed random batch. Each cap runs in its own process (oneDNN reads
ONEDNN_MAX_CPU_ISA once; "default" leaves it unset) started with ONEDNN_VERBOSE=1: 2 warm-up
steps, then N steps timed with oneDNN's verbose output off (dnnl_set_verbose), N with it on (its
`exec` lines summed per primitive kind, propagation and implementation) and N under
mindspore.Profiler (CPU activity: ms per MindSpore operator type). Prints, per cap: ms/step;
per operator type, ms/step and the ratio to the first cap; per oneDNN (kind, propagation,
implementation), executions and ms per step. `--out DIR` keeps each cap's profiler files and
verbose log.
"""
from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ISA_ENV = "ONEDNN_MAX_CPU_ISA"
VERBOSE_ENV = "ONEDNN_VERBOSE"
BATCH, IMAGE_SIZE, NUM_CLASSES = 64, 32, 10
PHASE_MARK = "@@phase "
# dnnl_cpu_isa_t values (oneDNN 3.x include/oneapi/dnnl/dnnl_types.h) that dnnl_get_effective_cpu_isa() may return here
ISA_NAMES = {0x3: "avx", 0x7: "avx2", 0xf: "avx2_vnni", 0x27: "avx512_core", 0x67: "avx512_core_vnni",
             0xe7: "avx512_core_bf16", 0x1ef: "avx512_core_fp16"}


def libdnnl() -> ctypes.CDLL:
    """MindSpore's bundled oneDNN (loaded already once MindSpore has run an operator)."""
    import mindspore

    return ctypes.CDLL(str(Path(mindspore.__file__).parent / "lib" / "libdnnl.so.3"))


def phase(name: str) -> None:
    """A marker in stdout between oneDNN's verbose lines (C stdio flushed first, so the order holds)."""
    ctypes.CDLL(None).fflush(None)
    print(PHASE_MARK + name, flush=True)


def run(steps: int, out: Path) -> None:
    """The child: warm up, time, log oneDNN executions, profile; figures as one JSON line on stdout."""
    import numpy as np
    import mindspore as ms
    import mindspore.nn as nn
    from mindspore.profiler import Profiler, ProfilerActivity

    from googlenet_bench.model import GoogleNet

    ms.set_context(mode=ms.GRAPH_MODE)  # as the harness trains (PyNative runs this step about 3x slower)
    ms.set_device("CPU")
    ms.set_seed(0)
    net = GoogleNet(NUM_CLASSES)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9, weight_decay=5e-4)
    train = nn.TrainOneStepCell(nn.WithLossCell(net, loss), optimizer)
    train.set_train(True)
    rng = np.random.default_rng(0)
    inputs = ms.Tensor(rng.standard_normal((BATCH, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32))
    labels = ms.Tensor(rng.integers(0, NUM_CLASSES, BATCH).astype(np.int32))

    def steps_ms() -> float:
        began = time.perf_counter()
        for _ in range(steps):
            train(inputs, labels).asnumpy()
        return (time.perf_counter() - began) * 1000.0 / steps

    phase("warm-up")
    began = time.perf_counter()
    train(inputs, labels).asnumpy()
    first_ms = (time.perf_counter() - began) * 1000.0
    train(inputs, labels).asnumpy()
    dnnl = libdnnl()
    version = dnnl.dnnl_version
    version.restype = ctypes.POINTER(ctypes.c_int * 3)
    figures = {"isa_cap": os.environ.get(ISA_ENV, "default"), "mindspore": ms.__version__,
               "onednn": ".".join(map(str, version().contents)),
               "effective_isa": dnnl.dnnl_get_effective_cpu_isa(), "first_step_ms": first_ms}
    dnnl.dnnl_set_verbose(0)
    phase("timed")
    figures["ms_per_step"] = steps_ms()
    dnnl.dnnl_set_verbose(1)
    phase("verbose")
    figures["ms_per_step_verbose"] = steps_ms()
    dnnl.dnnl_set_verbose(0)
    phase("profiled")
    profiler = Profiler(output_path=str(out), start_profile=False, activities=[ProfilerActivity.CPU])
    profiler.start()
    figures["ms_per_step_profiled"] = steps_ms()
    profiler.stop()
    phase("analyse")
    profiler.analyse()
    figures["op_types"] = op_types(out, steps)
    print(json.dumps(figures), flush=True)


def op_types(out: Path, steps: int) -> dict[str, dict]:
    """Per MindSpore operator type: ms and executions per step, from the profiler's own table (its
    columns: op_type, type_occurrences, execution_frequency(per-step), total_compute_time, ...)."""
    path = next(out.rglob("cpu_op_type_info_*.csv"))
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    column = lambda row, start: next((float(value) for key, value in row.items() if key.strip().startswith(start)),  # noqa: E731
                                     float("nan"))
    return {row["op_type"]: {"ms": column(row, "total_compute_time") / steps,
                             "calls": column(row, "type_occurrences") / steps} for row in rows}


def onednn_executions(lines: list[str], steps: int) -> dict[str, dict]:
    """Per `kind,propagation,implementation`: executions and ms per step, from oneDNN's verbose `exec`
    lines (onednn_verbose[,timestamp],primitive,exec,cpu,<kind>,<implementation>,<propagation>,<memory
    descriptors>,<attributes>,<auxiliary>,<problem>,<ms>)."""
    totals: dict[str, dict] = defaultdict(lambda: {"calls": 0.0, "ms": 0.0})
    for line in lines:
        fields = line.strip().split(",")
        if not fields[0].startswith(("onednn_verbose", "dnnl_verbose")) or "exec" not in fields:
            continue
        at = fields.index("exec")
        key = ",".join((fields[at + 2], fields[at + 4], fields[at + 3]))
        totals[key]["calls"] += 1 / steps
        totals[key]["ms"] += float(fields[-1]) / steps
    return dict(totals)


def child(isa: str, steps: int, out: Path) -> dict:
    env = {**os.environ, VERBOSE_ENV: "1", "GLOG_v": "3"}
    env.pop(ISA_ENV, None)
    if isa != "default":
        env[ISA_ENV] = isa
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--run", "--steps", str(steps), "--out", str(out)]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (out / "console.log").write_text(done.stdout)
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines[-1].startswith("{"):
        raise SystemExit(f"{isa}: the child failed ({done.returncode}); see {out / 'console.log'}")
    figures = json.loads(lines[-1])
    marks = [i for i, line in enumerate(lines) if line.startswith(PHASE_MARK)]
    spans = {lines[i][len(PHASE_MARK):]: lines[i + 1:j] for i, j in zip(marks, marks[1:] + [len(lines)])}
    figures["onednn_info"] = [line for line in lines if ",info," in line][:6]
    figures["onednn_exec"] = onednn_executions(spans["verbose"], steps)
    figures["onednn_exec_lines_elsewhere"] = sum(1 for name, span in spans.items() if name != "verbose"
                                                 for line in span if ",exec," in line)
    return figures


def report(results: list[dict]) -> list[str]:
    base = results[0]
    lines = [f"GoogleNet train step, batch {BATCH} @ {IMAGE_SIZE} px, MindSpore {base['mindspore']}, "
             f"oneDNN {base['onednn']}"]
    for figures in results:
        isa = ISA_NAMES.get(figures["effective_isa"], hex(figures["effective_isa"]))
        lines.append(f"  {ISA_ENV}={figures['isa_cap']:12s} (oneDNN's ISA: {isa}): "
                     f"{figures['ms_per_step']:8.1f} ms/step; with verbose {figures['ms_per_step_verbose']:8.1f}, "
                     f"profiled {figures['ms_per_step_profiled']:8.1f}; first step {figures['first_step_ms']:.0f}")
    names = sorted(base["op_types"], key=lambda name: -max(r["op_types"].get(name, {"ms": 0})["ms"] for r in results))
    lines.append(f"  per operator type, ms/step (calls/step) and over {base['isa_cap']}:")
    lines.append("    " + f"{'op type':28s}" + "".join(f"{r['isa_cap']:>24s}" for r in results))
    for name in names:
        cells = []
        for figures in results:
            entry = figures["op_types"].get(name)
            if entry is None:
                cells.append(f"{'-':>24s}")
                continue
            ratio = entry["ms"] / base["op_types"][name]["ms"] if base["op_types"].get(name, {}).get("ms") else 0
            cells.append(f"{entry['ms']:9.1f} ({entry['calls']:4.0f}) x{ratio:6.2f}")
        lines.append(f"    {name:28s}" + "".join(cells))
    for figures in results:
        lines.append(f"  oneDNN executions, {ISA_ENV}={figures['isa_cap']} (kind,propagation,implementation: "
                     f"calls/step, ms/step):")
        for key, entry in sorted(figures["onednn_exec"].items(), key=lambda item: -item[1]["ms"]):
            lines.append(f"    {key:60s} {entry['calls']:6.0f} {entry['ms']:9.1f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isas", default="AVX2,default", help="ISA caps, one process each; default: unset")
    parser.add_argument("--steps", type=int, default=3, help="steps per phase (timed, verbose, profiled)")
    parser.add_argument("--out", type=Path, help="keep each cap's profiler files and console here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.steps, args.out)
        return 0
    with tempfile.TemporaryDirectory(prefix="onednn-isa-") as scratch:
        root = args.out or Path(scratch)
        results = [child(isa, args.steps, root / isa) for isa in args.isas.split(",")]
    print("\n".join(report(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

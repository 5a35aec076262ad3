"""MindSpore/PyTorch: the harness's GoogleNet train step against the same GoogleNet in PyTorch on
this CPU, alternating in one sitting.

    flock /tmp/gb-train.lock .venv/bin/python tests/benchmarks/peer_pytorch.py [--rounds 5]

Two long-lived workers, one per framework, each with its network compiled / warmed up once: the
MindSpore one under this venv (the harness's GoogleNet, loss and Momentum optimizer from the digits
suite, the CPU backend's device set-up and this machine's tuning profile, one TrainOneStepCell step
per call), the PyTorch one under /usr/bin/python3 (Debian's python3-torch: PyTorch is not a
dependency of the project). Same batch, image size, optimizer (Momentum 0.9, weight decay 5e-4, lr
0.01), fixed random batch. The driver asks each in turn for --steps steps, --rounds times, and
prints the ratio of the medians and of the fastest steps (the least disturbed by other processes
on a shared machine), at 32 px (batch 64) and 224 px (batch 32). Both networks must
have 5,610,154 parameters, or the script stops. Exits 0 with a note where PyTorch is absent.

MindSpore settings to try (see MS_SETTINGS) are passed as `--ms-variant KEY=VALUE[,KEY=VALUE]`, one
per variant: each runs in its own worker, taking turns with the harness's setting and PyTorch (the
order reversed every round), and is reported over both, paired turn by turn. `--ms-setting
KEY=VALUE` changes every MindSpore worker, the harness's included.

`--profile` profiles instead of timing turns: per size, each framework in turn (never both at once)
warms up, times N steps, then profiles N more (--steps; default 5 at 32 px, 3 at 224 px), MindSpore
under `mindspore.Profiler` (CPU activity; the harness's profile pass reads its per-type table) and
PyTorch under `torch.profiler` (self CPU time per op). Both are grouped into the profile pass's
operator categories and printed side by side (ms/step, MindSpore/PyTorch, each category's share of
the step-time gap), with each side's top operators. `--out DIR` keeps the profilers' files.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = "/usr/bin/python3"
SHAPES = {32: 64, 224: 32}  # image size -> batch
NUM_CLASSES = 10
PARAMETERS = 5_610_154
PROFILE_STEPS = {32: 5, 224: 3}  # image size -> profiled steps
# PyTorch ops onto the profile pass's categories (harness/measure/profile.py CATEGORIES): an aten op by
# substring of its name, first match wins; torch's own "Optimizer.step#SGD.step" and "Optimizer.zero_grad#..."
# regions are "optimizer"; an op none of these names takes the category of its nearest ancestor that has one
# (aten::add_ inside Optimizer.step: optimizer; aten::fill_ inside max_pool2d_with_indices_backward:
# pooling), as a MindSpore kernel's time includes its own helpers; the rest (addmm, log_softmax, nll_loss,
# the add of gradient sums, autograd's own events ...) is "other operators".
TORCH_CATEGORY_RULES = (
    ("convolution backward", ("convolution_backward",)),  # aten::convolution_backward, mkldnn_convolution_backward*
    ("convolution forward", ("conv",)),  # aten::conv2d, convolution, _convolution, mkldnn_convolution
    ("BatchNorm", ("batch_norm",)),  # native_batch_norm(_backward)
    ("pooling", ("pool",)),  # max_pool2d_with_indices(_backward), adaptive_avg_pool2d(_backward)
    ("concat", ("aten::cat", "slice", "narrow")),  # cat's gradient is sliced back to the branches
    ("activation", ("relu", "threshold_backward")),
)
TORCH_OPTIMIZER_REGION = "Optimizer."
# The zoo's channel table (model/googlenet.py STAGES), copied: this file also runs without MindSpore.
TABLE = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64), "pool3",
         (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64), (512, 128, 128, 256, 24, 64, 64),
         (512, 112, 144, 288, 32, 64, 64), (528, 256, 160, 320, 32, 128, 128), "pool2",
         (832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128)]


def torch_worker(image_size: int, batch: int, settings: dict) -> None:
    import torch
    import torch.nn as tnn

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)

    def block(cin, cout, k, stride=1):
        return tnn.Sequential(tnn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False),
                              tnn.BatchNorm2d(cout, eps=1e-3, momentum=0.1), tnn.ReLU(inplace=True))

    class Inception(tnn.Module):
        def __init__(self, cin, n1, r3, n3, r5, n5, pp):
            super().__init__()
            self.b1 = block(cin, n1, 1)
            self.b2 = tnn.Sequential(block(cin, r3, 1), block(r3, n3, 3))
            self.b3 = tnn.Sequential(block(cin, r5, 1), block(r5, n5, 3))
            self.b4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), block(cin, pp, 1))

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    stages = [tnn.MaxPool2d(3, 2, 1) if e == "pool3" else tnn.MaxPool2d(2, 2) if e == "pool2" else Inception(*e)
              for e in TABLE]
    net = tnn.Sequential(block(3, 64, 7, 2), tnn.MaxPool2d(3, 2, 1), block(64, 64, 1), block(64, 192, 3),
                         tnn.MaxPool2d(3, 2, 1), *stages, tnn.AdaptiveAvgPool2d(1), tnn.Flatten(),
                         tnn.Linear(1024, NUM_CLASSES))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = tnn.CrossEntropyLoss()
    inputs = torch.randn(batch, 3, image_size, image_size)
    labels = torch.randint(0, NUM_CLASSES, (batch,))
    if settings.get("channels_last"):
        net, inputs = net.to(memory_format=torch.channels_last), inputs.to(memory_format=torch.channels_last)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(inputs), labels)
        loss.backward()
        optimizer.step()
        return float(loss)

    serve(step, sum(p.numel() for p in net.parameters()), f"torch {torch.__version__}",
          lambda steps, out: torch_profile(step, steps, out))


def torch_profile(step, steps: int, out: str | None) -> dict:
    """Self CPU ms per op over `steps` steps under torch.profiler (the sums key_averages() makes, taken
    from the events so that each op's optimizer region is known), and the wall ms per profiled step."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        began = time.perf_counter()
        for _ in range(steps):
            step()
        step_ms = (time.perf_counter() - began) * 1000.0 / steps
    table: dict[str, float] = {}
    for event in prof.events():
        owner = event
        while owner is not None and torch_category_of(owner.name, None) is None:
            owner = owner.cpu_parent
        name = event.name if owner in (None, event) else f"{event.name} (in {owner.name})"
        table[name] = table.get(name, 0.0) + event.self_cpu_time_total / 1000.0
    if out:
        prof.export_chrome_trace(str(Path(out) / "trace.json"))
    return {"table": table, "steps": steps, "ms_per_step": step_ms, "idle_ms": idle_ms(prof.events())}


def idle_ms(events) -> float:
    """Milliseconds, from the first op to the last, in which no op ran (Python and autograd between ops),
    as the profile pass measures MindSpore's from its timeline."""
    spans = sorted((event.time_range.start, event.time_range.end) for event in events if event.cpu_parent is None)
    idle_us, reach = 0.0, spans[0][1]
    for start, end in spans[1:]:
        idle_us += max(0.0, start - reach)
        reach = max(reach, end)
    return idle_us / 1000.0


def mindspore_worker(image_size: int, batch: int, settings: dict) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from googlenet_bench.harness.measure.machine_profile import ISA_ENV, speed_settings

    speed = speed_settings()
    speed.apply_environment()  # before MindSpore loads, as bench.py's set-up phase does
    import numpy as np
    import mindspore as ms
    import mindspore.nn as nn

    from googlenet_bench.harness.plugins import Backends
    from googlenet_bench.harness.suites import load_suite
    from googlenet_bench.harness.types import RankInfo
    from googlenet_bench.harness.training.builder import build_loss, build_optimizer
    from googlenet_bench.model import GoogleNet, count_parameters

    config = load_suite("digits", [f"batch_size={batch}", f"image_size={image_size}"])
    Backends().select("cpu").device_setup(config, RankInfo())
    for key, value in settings.items():  # the settings under trial, before the profile's (which then yields)
        MS_SETTINGS[key](ms, value)
    speed.apply_threads()
    ms.set_seed(0)
    net = GoogleNet(NUM_CLASSES)
    train = nn.TrainOneStepCell(nn.WithLossCell(net, build_loss(config)),
                                build_optimizer(config, net, np.full(10_000, 0.01, np.float32)))
    train.set_train(True)
    rng = np.random.default_rng(0)
    inputs = ms.Tensor(rng.standard_normal((batch, 3, image_size, image_size)).astype(np.float32))
    labels = ms.Tensor(rng.integers(0, NUM_CLASSES, batch).astype(np.int32))
    step = lambda: float(train(inputs, labels).asnumpy())  # noqa: E731
    framework = f"mindspore {ms.__version__}, {ISA_ENV}={os.environ.get(ISA_ENV, 'unset')}"
    serve(step, count_parameters(net), framework, lambda steps, out: mindspore_profile(step, steps, out))


def mindspore_profile(step, steps: int, out: str | None) -> dict:
    """The profile pass's breakdown of `steps` steps under mindspore.Profiler (CPU activity), its files
    in `out` or a temporary directory."""
    from mindspore.profiler import Profiler, ProfilerActivity

    from googlenet_bench.harness.measure.profile import breakdown, idle_between_operators, operator_table
    from googlenet_bench.harness.quiet import output_to

    with tempfile.TemporaryDirectory(prefix="peer-profile-") as scratch:
        trace_dir = Path(out or scratch)
        with output_to(trace_dir / "profiler-console.log"):
            profiler = Profiler(output_path=str(trace_dir), start_profile=False,
                                activities=[ProfilerActivity.CPU])
            profiler.start()
            began = time.perf_counter()
            for _ in range(steps):
                step()
            step_ms = (time.perf_counter() - began) * 1000.0 / steps
            profiler.stop()
            profiler.analyse()
        found, idle = operator_table(trace_dir), idle_between_operators(trace_dir)
    if found is None:
        raise SystemExit("mindspore.Profiler wrote no operator table (see --out DIR)")
    table, _ = found
    return {"table": table, "steps": steps, "ms_per_step": step_ms, "idle_ms": idle,
            "breakdown": breakdown(table, steps, step_ms, idle)}


MS_SETTINGS = {
    "jit_level": lambda ms, v: ms.set_context(jit_config={"jit_level": v}),
    "threads": lambda ms, v: ms.device_context.cpu.op_tuning.threads_num(int(v)),
    "inter_op": lambda ms, v: ms.set_context(inter_op_parallel_num=int(v)),
    "runtime_threads": lambda ms, v: ms.set_context(runtime_num_threads=int(v)),
    "graph_kernel": lambda ms, v: ms.set_context(enable_graph_kernel=v == "true"),
}


def serve(step, parameters: int, framework: str, profile) -> None:
    """Warm up (compile), then answer each stdin line N with the ms of N steps, one by one; a line
    `profile N [DIR]` with the ms of N steps and then `profile(N, DIR)`'s figures for N more."""
    step()
    step()
    print(json.dumps({"ready": framework, "parameters": parameters}), flush=True)
    for line in sys.stdin:
        if line.startswith("profile"):
            _, count, *out = line.split()
            times = [timed(step) for _ in range(int(count))]
            print(json.dumps({"ms": times, "profile": profile(int(count), out[0] if out else None)}), flush=True)
            continue
        print(json.dumps({"ms": [timed(step) for _ in range(int(line))]}), flush=True)


def timed(step) -> float:
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1000.0


class WorkerDied(RuntimeError):
    pass


class Worker:
    def __init__(self, python: str, framework: str, image_size: int, batch: int, settings: list[str]):
        command = [python, __file__, "--worker", framework, "--image-size", str(image_size), "--batch", str(batch)]
        for setting in settings:
            command += ["--ms-setting" if framework == "mindspore" else "--torch-setting", setting]
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True, env={**os.environ, "GLOG_v": "3"})
        self.hello = self.read()
        if self.hello.get("parameters") != PARAMETERS:
            raise SystemExit(f"{framework}: {self.hello.get('parameters')} parameters, expected {PARAMETERS}")

    def read(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.stderr.seek(0)
                last = (self.stderr.read().strip().splitlines() or ["no output"])[-1]
                raise WorkerDied(f"a worker died: {last}")
            if line.startswith("{"):
                return json.loads(line)

    def steps(self, count: int) -> list[float]:
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        return self.read()["ms"]

    def profile(self, count: int, out: Path | None) -> dict:
        self.process.stdin.write(f"profile {count}{f' {out}' if out else ''}\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def sitting(image_size: int, rounds: int, steps: int, variants: dict[str, list[str]],
            torch_settings: list[str]) -> dict:
    """Each MindSpore variant (name -> settings; the first is the harness as it is) and PyTorch take
    turns, in an order reversed every round, `rounds` times: per worker, each turn's median step."""
    batch = SHAPES[image_size]
    workers, failed = {}, {}
    for name, settings in variants.items():
        try:
            workers[name] = Worker(sys.executable, "mindspore", image_size, batch, settings)
        except WorkerDied as exc:  # a setting this MindSpore refuses: say so, try the others
            failed[name] = str(exc)
            print(f"  {name}: did not start ({exc})", flush=True)
    variants = {name: settings for name, settings in variants.items() if name in workers}
    workers["torch"] = Worker(PEER_PYTHON, "torch", image_size, batch, torch_settings)
    times = {name: [] for name in workers}
    fastest = {name: float("inf") for name in workers}
    try:
        for round_ in range(rounds):
            for name in (list(workers) if round_ % 2 == 0 else list(reversed(workers))):
                step_times = workers[name].steps(steps)
                times[name].append(statistics.median(step_times))
                fastest[name] = min(fastest[name], *step_times)
    finally:
        for worker in workers.values():
            worker.close()
    base = next(iter(variants))
    return {"image_size": image_size, "batch": batch, "frameworks": {n: w.hello["ready"] for n, w in workers.items()},
            "did_not_start": failed,
            "median_ms": {name: statistics.median(values) for name, values in times.items()},
            "fastest_ms": fastest, "turns_ms": times,
            # paired per round: a variant's turn over the harness's turn in the same round
            "over_harness": {name: statistics.median(v / b for v, b in zip(times[name], times[base]))
                             for name in variants},
            "over_torch": {name: statistics.median(v / t for v, t in zip(times[name], times["torch"]))
                           for name in variants}}


def report(result: dict) -> list[str]:
    lines = [f"{result['image_size']} px, batch {result['batch']} "
             f"({', '.join(sorted(set(result['frameworks'].values())))}):"]
    for name, median in result["median_ms"].items():
        line = f"  {name:32s} median {median:9.1f} ms/step, fastest {result['fastest_ms'][name]:9.1f}"
        if name in result["over_torch"]:
            line += (f"; over PyTorch x{result['over_torch'][name]:.2f} (paired turns), "
                     f"x{result['fastest_ms'][name] / result['fastest_ms']['torch']:.2f} (fastest steps)")
            if name != next(iter(result["over_harness"])):
                line += f"; over the harness's setting x{result['over_harness'][name]:.3f}"
        lines.append(line)
    return lines


def profile_sitting(image_size: int, steps: int, ms_settings: list[str], torch_settings: list[str],
                    out: Path | None) -> dict:
    """MindSpore, then PyTorch (one worker alive at a time): N timed steps, then N profiled ones; both
    profiles as the profile pass's breakdown."""
    batch, sides = SHAPES[image_size], {}
    for name, python, settings in (("mindspore", sys.executable, ms_settings), ("torch", PEER_PYTHON, torch_settings)):
        side_out = out / f"{name}-{image_size}px" if out else None
        if side_out:
            side_out.mkdir(parents=True, exist_ok=True)
        worker = Worker(python, name, image_size, batch, settings)
        try:
            answer = worker.profile(steps, side_out)
        finally:
            worker.close()
        profile = answer["profile"]
        if "breakdown" not in profile:
            profile["breakdown"] = torch_breakdown(profile["table"], profile["steps"], profile["ms_per_step"],
                                                   profile["idle_ms"])
        sides[name] = {"framework": worker.hello["ready"], "unprofiled_ms": statistics.median(answer["ms"]),
                       **profile}
    return {"image_size": image_size, "batch": batch, "steps": steps, "sides": sides}


def torch_category_of(op: str, other: str | None = "other operators") -> str | None:
    """The category of a PyTorch event name (or of the X in "name (in X)"), `other` where none applies."""
    op = op.split(" (in ", 1)[-1].removesuffix(")") if " (in " in op else op
    if op.startswith(TORCH_OPTIMIZER_REGION):
        return "optimizer"
    lowered = op.lower()
    return next((name for name, parts in TORCH_CATEGORY_RULES
                 if lowered.startswith("aten::") and any(part in lowered for part in parts)), other)


def torch_breakdown(table: dict[str, float], steps: int, step_ms: float, idle_ms: float) -> dict:
    """PyTorch's ops in the shape of the profile pass's breakdown(), by TORCH_CATEGORY_RULES."""
    from googlenet_bench.harness.measure.profile import CATEGORIES, NO_OPERATOR, OTHER_OPERATORS, TOP_OPERATORS

    assert torch_category_of("aten::empty") == OTHER_OPERATORS and set(dict(TORCH_CATEGORY_RULES)) <= set(CATEGORIES)

    per_category = dict.fromkeys(CATEGORIES, 0.0)
    for op, total_ms in table.items():
        per_category[torch_category_of(op)] += total_ms / steps
    per_category[NO_OPERATOR] = idle_ms / steps
    top = sorted(table.items(), key=lambda item: -item[1])[:TOP_OPERATORS]
    return {"by_category": [{"category": name, "ms_per_step": round(ms, 3), "share": round(ms / step_ms, 4)}
                            for name, ms in per_category.items()],
            "top_operators": [{"op_type": op, "category": torch_category_of(op), "ms_per_step": round(total / steps, 3),
                               "share": round(total / steps / step_ms, 4)} for op, total in top],
            "accounted_share": round(sum(per_category.values()) / step_ms, 4)}


def profile_report(result: dict) -> list[str]:
    """Both breakdowns side by side, the categories behind the gap, and each side's top operators."""
    ms_side, pt_side = result["sides"]["mindspore"], result["sides"]["torch"]
    ms_step, pt_step = ms_side["ms_per_step"], pt_side["ms_per_step"]
    gap = ms_step - pt_step
    rows = {ms_cat["category"]: [ms_cat["ms_per_step"], pt_cat["ms_per_step"]]
            for ms_cat, pt_cat in zip(ms_side["breakdown"]["by_category"], pt_side["breakdown"]["by_category"])}
    accounted = [sum(values) for values in zip(*rows.values())]
    rows["unaccounted (step - the rows above)"] = [ms_step - accounted[0], pt_step - accounted[1]]
    lines = [f"{result['image_size']} px, batch {result['batch']}, {result['steps']} profiled steps: "
             f"{ms_side['framework']} against {pt_side['framework']}",
             f"  {'':34s} {'MindSpore':>10s} {'PyTorch':>10s} {'MS/PT':>7s} {'of the gap':>10s}",
             f"  {'step, profiled (wall ms)':34s} {ms_step:10.1f} {pt_step:10.1f} {ms_step / pt_step:7.2f} {gap:+9.1f}ms",
             f"  {'step, unprofiled (median ms)':34s} {ms_side['unprofiled_ms']:10.1f} {pt_side['unprofiled_ms']:10.1f} "
             f"{ms_side['unprofiled_ms'] / pt_side['unprofiled_ms']:7.2f}"]
    for name, (ms, pt) in rows.items():
        if ms or pt:
            ratio = f"{ms / pt:7.2f}" if pt > 0 else f"{'-':>7s}"
            lines.append(f"  {name.split(' (')[0]:34s} {ms:10.1f} {pt:10.1f} {ratio} {(ms - pt) / gap:10.0%}")
    behind = sorted(((ms - pt) / gap, name) for name, (ms, pt) in rows.items() if (ms - pt) / gap >= 0.1)
    lines.append(f"  the gap ({gap:+.1f} ms/step) is mostly: "
                 + (", ".join(f"{name.split(' (')[0]} {share:.0%}" for share, name in reversed(behind)) or "no category over 10%"))
    for title, side in (("MindSpore", ms_side), ("PyTorch", pt_side)):
        lines.append(f"  top operators, {title} (ms/step, share of the step):")
        lines += [f"    {entry['op_type']:44s} {entry['ms_per_step']:9.1f} {entry['share']:6.1%}  {entry['category']}"
                  for entry in side["breakdown"]["top_operators"]]
    return lines


def settings_of(pairs: list[str]) -> dict:
    return dict(pair.split("=", 1) for pair in pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("mindspore", "torch"))
    parser.add_argument("--image-size", type=int, choices=sorted(SHAPES))
    parser.add_argument("--batch", type=int)
    parser.add_argument("--sizes", default="32,224")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=0, help="steps per turn; default 5 at 32 px, 2 at 224 px")
    parser.add_argument("--ms-setting", action="append", default=[], help=f"one of {', '.join(MS_SETTINGS)}=VALUE")
    parser.add_argument("--ms-variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="a MindSpore setting to try beside the harness's, in its own worker (repeatable)")
    parser.add_argument("--torch-setting", action="append", default=[], help="channels_last=1")
    parser.add_argument("--json", help="append each size's figures to this file, one JSON line")
    parser.add_argument("--profile", action="store_true",
                        help="profile each framework instead of timing turns (--steps default 5 at 32 px, 3 at 224)")
    parser.add_argument("--out", type=Path, help="with --profile: keep the profilers' files here")
    args = parser.parse_args()
    if args.worker == "torch":
        torch_worker(args.image_size, args.batch, settings_of(args.torch_setting))
        return 0
    if args.worker == "mindspore":
        mindspore_worker(args.image_size, args.batch, settings_of(args.ms_setting))
        return 0
    if subprocess.run([PEER_PYTHON, "-c", "import torch"], capture_output=True).returncode != 0:
        print(f"skipped: no PyTorch under {PEER_PYTHON} (Debian: apt-get install python3-torch)")
        return 0
    if args.profile:
        for size in map(int, args.sizes.split(",")):
            result = profile_sitting(size, args.steps or PROFILE_STEPS[size], args.ms_setting, args.torch_setting,
                                     args.out)
            print("\n".join(profile_report(result)), flush=True)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(result) + "\n")
        return 0
    variants = {"mindspore (harness)": args.ms_setting}
    for variant in args.ms_variant:
        variants[f"mindspore {variant}"] = [*args.ms_setting, *variant.split(",")]
    for size in map(int, args.sizes.split(",")):
        result = sitting(size, args.rounds, args.steps or (5 if size == 32 else 2), variants, args.torch_setting)
        print("\n".join(report(result)), flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

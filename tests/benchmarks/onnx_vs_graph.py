"""Alternating per-batch times, batch 64 at 32 px: MindSpore GRAPH forward (the eval phase's predictor) vs
onnxruntime: its defaults, the harness's OnnxPredictor, one intra-op thread, pinned threads. Rounds in which
other processes used CPU are flagged. Run: flock /tmp/gb-train.lock .venv/bin/python tests/benchmarks/onnx_vs_graph.py 8"""
import os, sys, time, statistics
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
import numpy as np
import mindspore as ms
ms.set_context(mode=ms.GRAPH_MODE); ms.set_device("CPU")
import mindspore.onnx
import onnxruntime as ort
from googlenet_bench.model import GoogleNet
from googlenet_bench.harness.kit import OnnxPredictor
from googlenet_bench.harness.measure.scoring import predictor_of
ms.set_seed(1)
net = GoogleNet(10); net.set_train(False)
x = np.random.default_rng(0).standard_normal((64, 3, 32, 32)).astype(np.float32)
path = os.path.join(__import__("tempfile").mkdtemp(), "googlenet.onnx")
if os.path.exists(path): os.unlink(path)
mindspore.onnx.export(net, ms.Tensor(x), file_name=path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
def plain(**kw):
    o = ort.SessionOptions(); o.log_severity_level = 3
    for k, v in kw.items(): setattr(o, k, v)
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    return lambda a: s.run(None, {"image": a})[0]
harness_ort = OnnxPredictor(path)
print("harness settings", harness_ort.settings, flush=True)
variants = {"graph": predictor_of(net), "ort_default": plain(), "ort_harness": harness_ort,
            "ort_intra1": plain(intra_op_num_threads=1)}
try:
    o = ort.SessionOptions(); o.log_severity_level = 3; o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
    o.add_session_config_entry("session.intra_op_thread_affinities", "2")
    pinned = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    variants["ort_pinned"] = lambda a: pinned.run(None, {"image": a})[0]
except Exception as exc:
    print("pinned variant refused:", exc)
for f in variants.values():
    for _ in range(3): f(x)
def busy():
    v = list(map(int, open("/proc/stat").readline().split()[1:]))
    return sum(v) - v[3] - v[4]
tick = os.sysconf("SC_CLK_TCK")
times = {n: [] for n in variants}; contended = []
for rnd in range(int(sys.argv[1])):
    b0, c0 = busy(), sum(os.times()[:2])
    for name, f in variants.items():
        t = []
        for _ in range(10):
            s = time.perf_counter(); f(x); t.append((time.perf_counter() - s) * 1000)
        times[name].append(statistics.median(t))
    others = (busy() - b0) / tick - (sum(os.times()[:2]) - c0)
    contended.append(others > 0.5)
    print(rnd, {k: round(v[-1], 1) for k, v in times.items()}, f"others' cpu {others:.2f} s", flush=True)
quiet = [i for i, c in enumerate(contended) if not c]
print("quiet rounds", quiet)
for name, v in times.items():
    ratios = [v[i] / times["graph"][i] for i in quiet]
    print(f"{name}: quiet-round medians {[round(v[i],1) for i in quiet]}; ratio to graph {[round(r,3) for r in ratios]}"
          + (f" median {statistics.median(ratios):.3f}" if ratios else ""))

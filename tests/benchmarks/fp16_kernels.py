"""How MindSpore's CPU runtime computes fp16 ops (what AMP O2 runs in a rehearsal): each op is given fp16
inputs and its fp16 output is compared with the same op in fp32 on the same (fp16-rounded) inputs, rounded
to fp16. Max error 0 means the kernel computes in fp32 and rounds its result (an fp32 kernel between
casts); a native fp16 kernel (fp16 accumulation, e.g. AVX512-FP16 or AMX-FP16) would differ.
Run under each oneDNN ISA cap, e.g.:
  ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python tests/benchmarks/fp16_kernels.py
  env -u ONEDNN_MAX_CPU_ISA .venv/bin/python tests/benchmarks/fp16_kernels.py
  ONEDNN_MAX_CPU_ISA=AVX512_CORE_AMX_FP16 .venv/bin/python tests/benchmarks/fp16_kernels.py"""
import json
import os

import numpy as np

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops

ms.set_context(mode=ms.GRAPH_MODE)
ms.set_device("CPU")
rng = np.random.default_rng(0)


class Op(nn.Cell):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def construct(self, x, y):
        return self.op(x, y)


class Unary(nn.Cell):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def construct(self, x):
        return self.op(x)


class GlobalMean(nn.Cell):
    def __init__(self):
        super().__init__()
        self.mean = ops.ReduceMean()

    def construct(self, x):
        return self.mean(x, (2, 3))


class ConvWeightGrad(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv, self.sum = ops.Conv2D(64, 3, pad_mode="same"), ops.ReduceSum()
        self.grad = ops.GradOperation(get_all=True)

    def loss(self, x, w):
        return self.sum(self.conv(x, w) * 0.001)

    def construct(self, x, w):
        return self.grad(self.loss)(x, w)[1]


def rounding_error(cell, *inputs):
    """Max |fp16 op - fp16(fp32 op)| over the output, and the output's dtype."""
    half = cell(*[ms.Tensor(x) for x in inputs]).asnumpy()
    full = cell(*[ms.Tensor(x.astype(np.float32) if x.dtype == np.float16 else x) for x in inputs]).asnumpy()
    return float(np.abs(half.astype(np.float32) - full.astype(np.float16).astype(np.float32)).max()), str(half.dtype)


x = rng.standard_normal((16, 64, 16, 16)).astype(np.float16)
w = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float16)
features = rng.standard_normal((64, 1024)).astype(np.float16)
head = (rng.standard_normal((10, 1024)) * 0.05).astype(np.float16)
pooled = (rng.standard_normal((16, 1024, 7, 7)) + 3).astype(np.float16)
found = {"ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "unset")}
found["Conv2D"] = rounding_error(Op(ops.Conv2D(64, 3, pad_mode="same")), x, w)
found["MatMul"] = rounding_error(Op(ops.MatMul(transpose_b=True)), features, head)
found["ReduceMean"] = rounding_error(GlobalMean(), pooled)
found["ReLU"] = rounding_error(Unary(ops.ReLU()), x)
found["MaxPool"] = rounding_error(Unary(ops.MaxPool(3, 1, "SAME")), x)
bn_half, bn_full = nn.BatchNorm2d(64, eps=1e-3), nn.BatchNorm2d(64, eps=1e-3)
bn_half.to_float(ms.float16)
bn_half.set_train(True)
bn_full.set_train(True)
xb = (rng.standard_normal((16, 64, 16, 16)) * 0.3 + 0.5).astype(np.float16)
y_half, y_full = bn_half(ms.Tensor(xb)).asnumpy(), bn_full(ms.Tensor(xb.astype(np.float32))).asnumpy()
found["BatchNorm (training)"] = (float(np.abs(y_half.astype(np.float32) - y_full.astype(np.float16).astype(np.float32)).max()),
                                 str(y_half.dtype))
grad_half = ConvWeightGrad()(ms.Tensor(x), ms.Tensor(w)).asnumpy()
grad_full = ConvWeightGrad()(ms.Tensor(x.astype(np.float32)), ms.Tensor(w.astype(np.float32))).asnumpy()
found["Conv2D weight gradient"] = (float(np.abs(grad_half.astype(np.float32) - grad_full.astype(np.float16).astype(np.float32)).max()),
                                   str(grad_half.dtype))
print(json.dumps(found, indent=1))

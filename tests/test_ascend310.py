"""The Ascend 310 backend: inference only, through MindSpore Lite, which is not here (not on PyPI).

What runs for real: the refusals (no device, no MindSpore Lite) and the harness's
infer phase over the real digits evaluation split. The device call is the one
step that needs the hardware; to check the Lite API calls it makes, a stand-in
for `mindspore_lite` records those calls and runs the MINDIR on MindSpore's CPU
runtime instead. No figure from it is a 310 figure.
"""
import json
import sys
import types

import numpy as np
import pytest

import googlenet_bench.backends.ascend310 as ascend310
from googlenet_bench.backends.ascend310.lite import LiteModel
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.plugins import Backends
from googlenet_bench.harness.types import RankInfo
from googlenet_bench.harness.suites import load_suite
from conftest import one_line

EVAL_IMAGES = 12


@pytest.fixture
def backend():
    return Backends().select("ascend310")


@pytest.fixture(scope="module")
def digits_config():
    return load_suite("digits", ["eval_batch_size=1", f"eval_samples={EVAL_IMAGES}"])


@pytest.fixture
def eval_split(digits_config):
    from googlenet_bench.datasets import build_split

    return build_split(digits_config, "eval", num_parallel_workers=1)


def eval_arrays(split):
    pairs = list(split.dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))
    return np.concatenate([images for images, _ in pairs]), np.concatenate([labels for _, labels in pairs])


@pytest.fixture(scope="module")
def tiny_mindir(tmp_path_factory):
    """A small real network (flatten + dense) exported for batch 1 at the digits' 32x32."""
    import mindspore
    import mindspore.nn as nn

    mindspore.set_seed(3)
    net = nn.SequentialCell([nn.Flatten(), nn.Dense(3 * 32 * 32, 10)])
    net.set_train(False)
    path = tmp_path_factory.mktemp("mindir") / "tiny.mindir"
    mindspore.export(net, mindspore.Tensor(np.ones((1, 3, 32, 32), np.float32)),
                     file_name=str(path.with_suffix("")), file_format="MINDIR")
    return path, net


# -- refusals, real ---------------------------------------------------------------------

@pytest.mark.skipif(ascend310.bench_available().ok, reason="an Ascend 310 and MindSpore Lite are present")
def test_ascend310_is_refused_here_naming_the_device_and_mindspore_lite(backend):
    availability = backend.available()
    assert not availability.ok and "\n" not in availability.reason
    assert "no Ascend 310 device" in availability.reason and "not on PyPI" in availability.reason


def test_it_runs_inference_phases_only(backend):
    assert backend.supported_phases({}) == ["setup", "data", "infer", "record"]


@pytest.mark.skipif(ascend310.lite_problem() is None, reason="MindSpore Lite is installed")
def test_without_mindspore_lite_the_predictor_is_refused_in_one_line(backend, tiny_mindir):
    assert "mindspore_lite" not in sys.modules
    with pytest.raises(BenchError) as refusal:
        backend.predictor(tiny_mindir[0], "MINDIR", {})
    assert str(refusal.value).startswith("MindSpore Lite is not installed and is not on PyPI: download")
    assert "\n" not in str(refusal.value)


@pytest.mark.parametrize("file_format", ["ONNX", "AIR"])
def test_only_mindir_is_taken(backend, file_format):
    with pytest.raises(BenchError, match=f"infers from MINDIR only, not {file_format}: pass --model FILE.mindir"):
        backend.predictor("net.onnx", file_format, {})


def test_device_setup_records_the_device_id_from_device_id(backend, monkeypatch):
    monkeypatch.setenv("DEVICE_ID", "3")
    assert backend.device_setup({}, RankInfo()) == {"device_target": "Ascend310", "runtime": "MindSpore Lite",
                                                   "device_id": 3, "model_batch_size": 1}


# -- the Lite calls, with a CPU stand-in for the device ------------------------------------------

class StandInLite:
    """Stands in for `mindspore_lite` with the documented 2.x API (Context.target, Context.ascend.device_id,
    Model.build_from_file(model_path, model_type, context=None, config_path='', config_dict=None),
    get_inputs, Tensor.set_data_from_numpy / get_data_to_numpy, predict), recording what it is asked;
    it runs the MINDIR on MindSpore's CPU runtime instead of an Ascend 310."""

    class ModelType:
        MINDIR = "ModelType.MINDIR"

    class Context:
        def __init__(self):
            self.target = ["cpu"]
            self.ascend = types.SimpleNamespace(device_id=0)

    class Tensor:
        def __init__(self, shape, data=None):
            self.shape = list(shape)
            self.data = data

        def set_data_from_numpy(self, array):
            if list(array.shape) != self.shape or array.dtype != np.float32:
                raise RuntimeError(f"data {array.shape} {array.dtype} does not fit tensor {self.shape} float32")
            self.data = array

        def get_data_to_numpy(self):
            return self.data

    def __init__(self, input_shape=(1, 3, 32, 32)):
        self.input_shape = input_shape
        self.builds: list[dict] = []
        self.predictions = 0
        lite = self

        class Model:
            def build_from_file(self, model_path, model_type, context=None, config_path="", config_dict=None):
                import mindspore
                import mindspore.nn as nn

                lite.builds.append({"path": model_path, "type": model_type, "target": list(context.target),
                                    "device_id": context.ascend.device_id})
                self.cell = nn.GraphCell(mindspore.load(model_path))

            def get_inputs(self):
                return [lite.Tensor(lite.input_shape)]

            def predict(self, inputs):
                import mindspore

                lite.predictions += 1
                logits = self.cell(mindspore.Tensor(inputs[0].get_data_to_numpy())).asnumpy()
                return [lite.Tensor(logits.shape, logits)]

        self.Model = Model


@pytest.fixture
def stand_in_lite(monkeypatch):
    lite = StandInLite()
    monkeypatch.setitem(sys.modules, "mindspore_lite", lite)
    monkeypatch.setenv("DEVICE_ID", "2")
    return lite


def test_the_predictor_builds_the_mindir_for_the_ascend_device_and_runs_batch_1(backend, stand_in_lite, tiny_mindir):
    import mindspore

    path, net = tiny_mindir
    predict = backend.predictor(path, "MINDIR", {})
    assert stand_in_lite.builds == [{"path": str(path), "type": StandInLite.ModelType.MINDIR,
                                     "target": ["ascend"], "device_id": 2}]
    images = np.random.default_rng(1).normal(size=(3, 3, 32, 32)).astype(np.float32)
    logits = predict(images)
    assert stand_in_lite.predictions == 3  # a batch of 3 runs the batch-1 model three times
    np.testing.assert_allclose(logits, net(mindspore.Tensor(images)).asnumpy(), rtol=1e-5, atol=1e-5)


def test_a_model_exported_for_another_batch_is_refused(monkeypatch, tiny_mindir):
    monkeypatch.setitem(sys.modules, "mindspore_lite", StandInLite(input_shape=(4, 3, 32, 32)))
    with pytest.raises(BenchError, match=r"exported for batch 4; .*--set export_batch_size=1"):
        LiteModel(tiny_mindir[0], 0)


# -- through the harness ----------------------------------------------------------------------

@pytest.mark.skipif(ascend310.bench_available().ok, reason="an Ascend 310 and MindSpore Lite are present")
def test_the_harness_refuses_an_ascend310_run_here_in_one_line(tiny_mindir, tmp_path):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, str(root / "bench.py"), "--phases", "infer", "--backend", "ascend310",
                             "--model", str(tiny_mindir[0]), "--results", str(tmp_path)],
                            capture_output=True, text=True, cwd=root, timeout=120)
    assert result.returncode == 2 and one_line(result.stderr), result.stderr
    assert result.stderr.startswith("error: backend 'ascend310' is not usable here: no Ascend 310 device")
    assert list(tmp_path.iterdir()) == []


def test_the_harness_infer_phase_scores_the_lite_predictor(stand_in_lite, tiny_mindir, monkeypatch, tmp_path):
    import mindspore

    from googlenet_bench.harness.lifecycle.options import RunOptions
    from googlenet_bench.harness.lifecycle.plan import make_plan
    from googlenet_bench.harness.lifecycle.run import execute

    monkeypatch.setattr(ascend310, "device_problem", lambda: None)
    monkeypatch.setattr(ascend310, "lite_problem", lambda: None)
    path, net = tiny_mindir
    options = RunOptions(suite="digits", backend="ascend310", phases=("infer",), models=(str(path),),
                         overrides=("eval_batch_size=1", f"eval_samples={EVAL_IMAGES}", "min_top1=null"),
                         results_dir=tmp_path)
    record = json.loads(execute(make_plan(options)).record.read_text())
    infer = record["figures"]["infer"]["MINDIR"]
    assert record["status"] == "success" and record["environment"]["device_context"]["device_id"] == 2
    assert infer["images"] == EVAL_IMAGES
    # The zoo's 310 figure is the batch-1 latency: SingleStream, and Offline capped at the eval batch of 1.
    single, offline = infer["single_stream"], infer["offline"]
    # No warm-up: the zoo's 310 runner averages every inference (the backend's config default).
    assert single["queries"] == 64 and single["warmup_queries"] == 0 and single["mean_ms"] > 0
    assert [b["batch"] for b in offline["per_batch"]] == [1] and offline["capped_at_eval_batch"] == 1
    assert stand_in_lite.predictions == EVAL_IMAGES + (0 + 64) + (1 + offline["rounds"])
    from googlenet_bench.datasets import build_split

    images, labels = eval_arrays(build_split(load_suite("digits", options.overrides), "eval", num_parallel_workers=1))
    assert infer["correct_top1"] == int((net(mindspore.Tensor(images)).asnumpy().argmax(axis=1) == labels).sum())

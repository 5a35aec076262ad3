"""The Ascend 310 backend: inference only, through MindSpore Lite, which is not here (not on PyPI).

What runs for real: the refusals (no device, no MindSpore Lite), the zoo's
pre-processing over the real digits evaluation split, and the post-processing
over result files. The device call is the one step that needs the hardware;
to check the file flow around it and the Lite API calls it makes, a stand-in
for `mindspore_lite` records those calls and runs the MINDIR on MindSpore's CPU
runtime instead. No figure from it is a 310 figure.
"""
import json
import sys
import types

import numpy as np
import pytest

from backends.ascend310 import flow, postprocess, preprocess
from backends.ascend310.lite import LiteModel
from harness.errors import BenchError
from harness.plugins import Backends, RankInfo
from harness.suites import load_suite

EVAL_IMAGES = 12


@pytest.fixture
def backend():
    return Backends().select("ascend310")


@pytest.fixture(scope="module")
def digits_config():
    return load_suite("digits", ["eval_batch_size=1", f"eval_samples={EVAL_IMAGES}"])


@pytest.fixture
def eval_split(digits_config):
    from datasets import build_split

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

def test_ascend310_is_refused_here_naming_the_device_and_mindspore_lite(backend):
    availability = backend.available()
    assert not availability.ok and "\n" not in availability.reason
    assert "no Ascend 310 device" in availability.reason and "not on PyPI" in availability.reason


def test_it_runs_inference_phases_only(backend):
    assert backend.supported_phases({}) == ["setup", "data", "infer", "record"]


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


# -- pre-processing over the real digits evaluation split ------------------------------------

def test_preprocess_writes_each_image_as_a_float32_bin_and_the_labels_as_json(eval_split, tmp_path):
    written = preprocess.write_inputs(eval_split.dataset, tmp_path)
    images, labels = eval_arrays(eval_split)
    assert written.images == EVAL_IMAGES and written.image_shape == (1, 3, 32, 32)
    files = preprocess.input_files(tmp_path)
    assert [f.name for f in files] == [f"googlenet_bs1_{i}.bin" for i in range(EVAL_IMAGES)]
    for index, path in enumerate(files):
        assert path.parent == tmp_path / "00_data" and path.stat().st_size == 3 * 32 * 32 * 4
        np.testing.assert_array_equal(np.fromfile(path, dtype=np.float32).reshape(3, 32, 32), images[index])
    assert json.loads((tmp_path / "label.json").read_text()) == {
        f"googlenet_bs1_{i}.bin": int(label) for i, label in enumerate(labels)}


def test_preprocess_removes_inputs_left_from_a_longer_run(eval_split, tmp_path):
    (tmp_path / "00_data").mkdir()
    for index in range(EVAL_IMAGES, EVAL_IMAGES + 5):
        (tmp_path / "00_data" / preprocess.input_name(index)).write_bytes(b"old")
    preprocess.write_inputs(eval_split.dataset, tmp_path)
    assert len(preprocess.input_files(tmp_path)) == EVAL_IMAGES


def test_input_files_come_in_index_order_not_name_order(tmp_path):
    (tmp_path / "00_data").mkdir()
    for index in (10, 2, 1, 0):
        (tmp_path / "00_data" / preprocess.input_name(index)).touch()
    (tmp_path / "00_data" / "notes.bin").touch()
    assert [p.name for p in preprocess.input_files(tmp_path)] == [
        "googlenet_bs1_0.bin", "googlenet_bs1_1.bin", "googlenet_bs1_2.bin", "googlenet_bs1_10.bin"]


# -- post-processing over result files, against a hand computation -----------------------------

def write_results(out_dir, rows: list[list[float]], labels: list[int]):
    (out_dir / "result_Files").mkdir(parents=True)
    names = {}
    for index, (row, label) in enumerate(zip(rows, labels)):
        name = preprocess.input_name(index)
        np.asarray(row, dtype=np.float32).tofile(out_dir / "result_Files" / preprocess.result_name(name))
        names[name] = label
    (out_dir / "label.json").write_text(json.dumps(names))


def ranked_row(classes: int, order: list[int]) -> list[float]:
    """Logits whose classes rank in `order` first (highest logit first), the rest after."""
    row = [0.0] * classes
    for place, cls in enumerate(order):
        row[cls] = 100.0 - place
    return row


def test_postprocess_top1_and_top5_for_imagenet_sized_outputs(tmp_path):
    classes = 12  # more than 10: top-5 is reported, as the zoo does for ImageNet
    rows = [ranked_row(classes, [0]),                    # label 0 ranked 1st: top-1 and top-5
            ranked_row(classes, [1, 2, 3]),              # label 3 ranked 3rd: top-5 only
            ranked_row(classes, [1, 2, 3, 4, 6, 5]),     # label 5 ranked 6th: neither
            ranked_row(classes, [7, 0])]                 # label 7 ranked 1st: both
    write_results(tmp_path, rows, labels=[0, 3, 5, 7])
    accuracy = postprocess.score_results(tmp_path, classes)
    assert (accuracy.images, accuracy.correct_top1, accuracy.top1, accuracy.top5) == (4, 2, 0.5, 0.75)


def test_postprocess_reports_top1_only_for_ten_classes(tmp_path):
    write_results(tmp_path, [ranked_row(10, [4]), ranked_row(10, [2, 9]), ranked_row(10, [9])], labels=[4, 9, 9])
    accuracy = postprocess.score_results(tmp_path, 10)
    assert (accuracy.correct_top1, accuracy.top1, accuracy.top5) == (2, 2 / 3, None)


def test_postprocess_names_a_missing_result(tmp_path):
    write_results(tmp_path, [ranked_row(10, [1])], labels=[1])
    labels = json.loads((tmp_path / "label.json").read_text())
    (tmp_path / "label.json").write_text(json.dumps({**labels, preprocess.input_name(1): 0}))
    with pytest.raises(BenchError, match=r"no inference result .*googlenet_bs1_1_0\.bin: run the inference step"):
        postprocess.score_results(tmp_path, 10)


def test_postprocess_refuses_results_of_the_wrong_size(tmp_path):
    write_results(tmp_path, [ranked_row(1000, [1])], labels=[1])
    with pytest.raises(BenchError, match=r"holds 1000 values, expected 10 .*the model and num_classes disagree"):
        postprocess.score_results(tmp_path, 10)


def test_average_latency_leaves_out_the_warm_up():
    assert postprocess.average_latency_ms([250.0, 2.0, 4.0, 6.0]) == 4.0
    assert postprocess.average_latency_ms([250.0, 2.0, 4.0, 6.0], warmup=2) == 5.0
    with pytest.raises(ValueError, match="none left after a warm-up of 1"):
        postprocess.average_latency_ms([250.0])


# -- the Lite calls and the whole file flow, with a CPU stand-in for the device ------------------

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


def test_the_whole_flow_writes_the_zoos_files_and_scores_them(stand_in_lite, tiny_mindir, eval_split, tmp_path):
    import mindspore

    path, net = tiny_mindir
    result = flow.run(path, eval_split.dataset, tmp_path, num_classes=10)
    results = sorted((tmp_path / "result_Files").iterdir())
    assert len(results) == EVAL_IMAGES and stand_in_lite.predictions == EVAL_IMAGES
    assert (tmp_path / "result_Files" / "googlenet_bs1_11_0.bin").stat().st_size == 10 * 4
    # The post-processed accuracy is the network's own over the same images.
    images, labels = eval_arrays(eval_split)
    direct = net(mindspore.Tensor(images)).asnumpy().argmax(axis=1)
    assert result.images == EVAL_IMAGES and result.correct_top1 == int((direct == labels).sum())
    assert result.top5 is None and result.warmup == 1 and result.ms_per_image > 0
    summary = (tmp_path / flow.SUMMARY_FILE).read_text()
    assert summary.startswith(f"NN inference cost average time: {result.ms_per_image} ms of infer_count "
                              f"{EVAL_IMAGES - 1}")


def test_the_flow_refuses_a_model_for_other_image_sizes(monkeypatch, tiny_mindir, eval_split, tmp_path):
    monkeypatch.setitem(sys.modules, "mindspore_lite", StandInLite(input_shape=(1, 3, 224, 224)))
    with pytest.raises(BenchError, match=r"takes images \(3, 224, 224\) but the data set gives \(3, 32, 32\)"):
        flow.run(tiny_mindir[0], eval_split.dataset, tmp_path, num_classes=10)


def test_the_flow_without_mindspore_lite_fails_before_writing_anything(tiny_mindir, eval_split, tmp_path):
    with pytest.raises(BenchError, match="not on PyPI"):
        flow.run(tiny_mindir[0], eval_split.dataset, tmp_path / "out", num_classes=10)
    assert not (tmp_path / "out").exists()


# -- through the harness ----------------------------------------------------------------------

def test_the_harness_refuses_an_ascend310_run_here_in_one_line(tiny_mindir, tmp_path):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, str(root / "bench.py"), "--phases", "infer", "--backend", "ascend310",
                             "--model", str(tiny_mindir[0]), "--results", str(tmp_path)],
                            capture_output=True, text=True, cwd=root, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: backend 'ascend310' is not usable here: no Ascend 310 device")
    assert list(tmp_path.iterdir()) == []


def test_the_harness_infer_phase_scores_the_lite_predictor(stand_in_lite, tiny_mindir, monkeypatch, tmp_path):
    import mindspore

    import backends.ascend310 as ascend310
    from harness.runner import Run, RunOptions

    monkeypatch.setattr(ascend310, "device_problem", lambda: None)
    monkeypatch.setattr(ascend310, "lite_problem", lambda: None)
    path, net = tiny_mindir
    options = RunOptions(suite="digits", backend="ascend310", phases=["infer"], models=[str(path)],
                         overrides=["eval_batch_size=1", f"eval_samples={EVAL_IMAGES}"], results_dir=tmp_path)
    record = json.loads(Run(options).execute().read_text())
    infer = record["figures"]["infer"]["MINDIR"]
    assert record["status"] == "success" and record["environment"]["device_context"]["device_id"] == 2
    assert infer["images"] == EVAL_IMAGES and stand_in_lite.predictions == EVAL_IMAGES
    from datasets import build_split

    images, labels = eval_arrays(build_split(load_suite("digits", options.overrides), "eval", num_parallel_workers=1))
    assert infer["correct_top1"] == int((net(mindspore.Tensor(images)).asnumpy().argmax(axis=1) == labels).sum())

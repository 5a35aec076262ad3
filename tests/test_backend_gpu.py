"""The GPU backend, tested up to the hardware boundary: this machine has no GPU.

What runs for real: the availability probe and the refusal (no driver here),
the AMP choice, the ONNX provider choice and ONNX inference on the CPU
fallback. What is recorded instead of applied: the calls into MindSpore's
context, which are then checked against MindSpore's own argument checks.
"""
import numpy as np
import pytest

from googlenet_bench.backends import gpu
from googlenet_bench.harness import kit
from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.plugins import Backends
from googlenet_bench.harness.training.builder import loss_scale_manager
from googlenet_bench.harness.types import RankInfo
from googlenet_bench.harness.suites import load_suite
from plugins.mindspore_api import (Recorder, communication_init_problems, set_context_problems,
                                   set_device_problems)


@pytest.fixture
def backend():
    return Backends().select("gpu")


@pytest.fixture
def two_visible_gpus(monkeypatch):
    """The driver probe answers as on a machine with two visible GPUs; MindSpore's calls are recorded."""
    import mindspore

    monkeypatch.setattr(gpu, "cuda_device_count", lambda: (2, None))
    calls = {"set_context": Recorder(), "set_device": Recorder()}
    monkeypatch.setattr(mindspore, "set_context", calls["set_context"])
    monkeypatch.setattr(mindspore, "set_device", calls["set_device"])
    return calls


GPU_HERE = gpu.bench_available().ok
absent_device_only = pytest.mark.skipif(GPU_HERE, reason="a GPU is present on this machine")


@absent_device_only
def test_gpu_is_refused_here_naming_the_missing_driver(backend):
    availability = backend.available()
    assert not availability.ok
    assert "NVIDIA driver" in availability.reason and "\n" not in availability.reason
    assert "built for CUDA 11.1, 11.6" in availability.reason  # MindSpore 2.10's plugins, named


def test_a_gpu_that_needs_a_newer_cuda_than_the_plugins_is_said_so():
    assert gpu.plugin_cuda_versions() == ["11.1", "11.6"]
    hopper = gpu.needs_newer_cuda([(8, 0), (9, 0)], ["11.1", "11.6"])
    assert "compute capability 9.0" in hopper and "CUDA 11.1, 11.6" in hopper and "CUDA 12" in hopper
    assert gpu.needs_newer_cuda([(8, 6), (7, 0)], ["11.1", "11.6"]) is None


@absent_device_only
def test_device_setup_refuses_without_a_device_in_one_line():
    # No stand-in: this machine really has no NVIDIA driver.
    with pytest.raises(BenchError) as refusal:
        gpu.bench_device_setup(config=load_suite("cifar10-full"), rank=RankInfo())
    assert str(refusal.value).startswith("GPU rank 0: no NVIDIA driver")
    assert "\n" not in str(refusal.value)


def test_device_setup_uses_the_local_rank_as_device_id(backend, two_visible_gpus, monkeypatch):
    import mindspore

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    applied = backend.device_setup(load_suite("cifar10-full"), RankInfo(rank=3, local_rank=1, world_size=4))

    assert two_visible_gpus["set_device"].calls == [(("GPU", 1), {})]
    assert two_visible_gpus["set_context"].calls == [((), {"mode": mindspore.GRAPH_MODE})]
    assert applied == {"mode": "GRAPH", "device_target": "GPU", "device_id": 1, "CUDA_VISIBLE_DEVICES": "4,5"}


def test_device_setup_refuses_a_local_rank_beyond_the_visible_devices(two_visible_gpus):
    with pytest.raises(BenchError, match="needs device 2 but only 2 are visible: .*CUDA_VISIBLE_DEVICES"):
        gpu.bench_device_setup(config=load_suite("cifar10-full"), rank=RankInfo(rank=2, local_rank=2, world_size=3))
    assert two_visible_gpus["set_device"].calls == []


@pytest.mark.parametrize("setting, jit_level", [(None, "O1"), (True, "O1"), (False, None)])
def test_graph_kernel_fusion_is_on_by_default_as_in_the_zoo(backend, setting, jit_level):
    overrides = [] if setting is None else [f"graph_kernel={str(setting).lower()}"]
    assert backend.jit_level(load_suite("cifar10-full", overrides)) == jit_level


@pytest.mark.parametrize("graph_kernel", [False, True])
def test_every_context_argument_is_one_mindspore_accepts(two_visible_gpus, graph_kernel):
    gpu.bench_device_setup(config=load_suite("cifar10-full", [f"graph_kernel={str(graph_kernel).lower()}"]),
                           rank=RankInfo(rank=1, local_rank=1, world_size=2))
    for args, kwargs in two_visible_gpus["set_context"].calls:
        assert not args and set_context_problems(kwargs) == []
    for args, kwargs in two_visible_gpus["set_device"].calls:
        assert set_device_problems(args, kwargs) == []


def test_amp_is_o2_with_the_zoos_keep_batchnorm_fp32_false(backend):
    amp = backend.amp(load_suite("cifar10-full"))
    assert (amp.level, amp.keep_batchnorm_fp32, amp.loss_scale, amp.optimizer_loss_scale) == ("O2", False, "none", 1.0)
    assert loss_scale_manager(amp) is None  # passed to Model explicitly: left out, O2 would scale dynamically


def test_amp_takes_dynamic_loss_scaling_on_gpu(backend):
    amp = backend.amp(load_suite("cifar10-full", ["loss_scale=dynamic"]))
    manager = loss_scale_manager(amp)
    assert (manager.get_loss_scale(), manager.scale_factor, manager.scale_window) == (65536, 2, 2000)


def test_exports_mindir_and_onnx(backend):
    assert backend.export_formats({}) == ["MINDIR", "ONNX"]


def test_distributed_init_asks_the_shared_data_parallel_start_for_nccl(backend, monkeypatch):
    start = Recorder()
    monkeypatch.setattr(kit, "start_data_parallel", start)
    rank = RankInfo(rank=1, local_rank=1, world_size=2)
    assert backend.distributed_init({}, rank) == "nccl"
    assert start.calls == [((rank,), {"backend_name": "nccl"})]
    assert communication_init_problems(("nccl",), {}) == []


def test_the_shared_data_parallel_start_inits_nccl_then_averages_gradients(monkeypatch):
    import mindspore
    import mindspore.communication

    init, parallel = Recorder(), Recorder()
    monkeypatch.setattr(mindspore.communication, "init", init)
    monkeypatch.setattr(mindspore.communication, "get_group_size", lambda *args: 2)
    monkeypatch.setattr(mindspore, "set_auto_parallel_context", parallel)
    gpu.bench_distributed_init(config={}, rank=RankInfo(rank=0, local_rank=0, world_size=2))
    assert [communication_init_problems(args, kwargs) for args, kwargs in init.calls] == [[]]
    assert init.calls[0] in ((("nccl",), {}), ((), {"backend_name": "nccl"}))
    (_, kwargs), = parallel.calls
    assert kwargs["parallel_mode"] == mindspore.ParallelMode.DATA_PARALLEL and kwargs["gradients_mean"] is True


def test_onnx_runs_on_the_cpu_provider_when_onnxruntime_has_no_cuda():
    # Real: this machine's onnxruntime is the CPU build.
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    assert gpu.onnx_providers() == ["CPUExecutionProvider"]


def test_onnx_prefers_cuda_on_the_ranks_device_when_onnxruntime_has_it(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setenv("DEVICE_ID", "3")
    assert gpu.onnx_providers() == [("CUDAExecutionProvider", {"device_id": 3}), "CPUExecutionProvider"]


def test_mindir_inference_is_left_to_the_default_graphcell(backend):
    assert gpu.bench_predictor(path="net.mindir", file_format="MINDIR", config={}) is None


def test_onnx_inference_through_the_gpu_backend_matches_the_network(backend, tmp_path):
    import mindspore
    import mindspore.nn as nn
    import mindspore.onnx

    net = nn.SequentialCell([nn.Flatten(), nn.Dense(3 * 8 * 8, 10)])
    images = np.random.default_rng(0).normal(size=(4, 3, 8, 8)).astype(np.float32)
    path = tmp_path / "tiny.onnx"
    mindspore.onnx.export(net, mindspore.Tensor(images), file_name=str(path), input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    predict = backend.predictor(path, "ONNX", {})
    np.testing.assert_allclose(predict(images), net(mindspore.Tensor(images)).asnumpy(), rtol=1e-5, atol=1e-6)


def test_every_installed_gpu_plugin_version_is_probed_not_only_the_newest(monkeypatch, tmp_path):
    old, new = tmp_path / "libmindspore_gpu.so.11.1", tmp_path / "libmindspore_gpu.so.11.6"
    monkeypatch.setattr(kit, "mindspore_plugins", lambda pattern: [new, old])
    monkeypatch.setattr(kit, "library_missing", lambda path, what, fix: None if path == old else f"{what} does not load")
    assert gpu.plugin_problem() is None
    monkeypatch.setattr(kit, "library_missing", lambda path, what, fix: f"{what} does not load")
    assert gpu.plugin_problem() == "MindSpore's GPU plugin libmindspore_gpu.so.11.6 does not load"


def test_the_mindspore_argument_checks_catch_wrong_calls():
    # The checks above are only worth something if they would fail on a wrong call.
    assert set_context_problems({"enable_graph_kernels": True})[0].startswith("enable_graph_kernels: ")
    assert "must be" in set_context_problems({"enable_graph_kernel": "yes"})[0]
    assert "removed" in set_context_problems({"precompile_only": True})[0]
    assert set_device_problems(("TPU", 0), {}) and set_device_problems(("GPU", -1), {})
    assert set_device_problems(("GPU",), {"device": 0})
    assert communication_init_problems(("gloo",), {})

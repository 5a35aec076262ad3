"""Checkpoints interchange with the zoo's: the network carries its parameter names, a checkpoint with
them goes through --phases eval --checkpoint and --pretrained (continue and transfer), and one with this
harness's earlier names still loads, by position, with a one-line note."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import mindspore as ms

from conftest import SHORT_DIGITS, run_bench
from googlenet_bench.harness.results.checkpoints import TRAINING_STATE, load_pretrained
from googlenet_bench.model import GoogleNet

# The zoo's GoogleNet(num_classes=10).get_parameters(), in order (copied from ../shared/reference).
ZOO_NAMES = json.loads((Path(__file__).parent / "data" / "zoo_parameter_names.json").read_text())["parameters"]


def earlier_name(zoo_name: str) -> str:
    """The name this harness gave the same parameter before it took the zoo's (stem.*, features.*)."""
    stem = {"conv1": "stem.0", "conv2": "stem.2", "conv3": "stem.3"}
    blocks = ["block3a", "block3b", "maxpool3", "block4a", "block4b", "block4c", "block4d", "block4e", "maxpool4",
              "block5a", "block5b"]
    head, _, rest = zoo_name.partition(".")
    if head in stem:
        prefix = stem[head]
    elif head in blocks:
        prefix = f"features.{blocks.index(head)}"
        branch, _, rest = rest.partition(".")
        number = branch[1]
        if branch == "b4":
            prefix += ".branch4.1"
        elif branch == "b1":
            prefix += ".branch1"
        else:
            index, _, rest = rest.partition(".")
            prefix += f".branch{number}.{index}"
    else:
        return zoo_name
    return prefix + "." + rest.replace("conv.", "0.", 1).replace("bn.", "1.", 1)


def zoo_checkpoint(path: Path, names=None) -> Path:
    """A checkpoint with the zoo's names and shapes, random weights (BatchNorm variances positive)."""
    rng = np.random.default_rng(0)
    entries = []
    for name, shape in ZOO_NAMES:
        value = rng.uniform(0.5, 1.5, shape) if name.endswith(("moving_variance", "gamma")) else \
            rng.normal(0, 0.02, shape)
        entries.append({"name": names(name) if names else name, "data": ms.Tensor(value.astype(np.float32))})
    ms.save_checkpoint(entries, str(path))
    return path


def test_the_network_has_the_zoos_parameter_names_and_shapes_in_order():
    net = GoogleNet(10)
    assert [[p.name, list(p.shape)] for p in net.get_parameters()] == ZOO_NAMES
    assert len(ZOO_NAMES) == 287 and len(net.trainable_params()) == 173


def test_a_checkpoint_with_the_earlier_names_loads_by_position_with_a_note(tmp_path, capsys):
    path = zoo_checkpoint(tmp_path / "earlier.ckpt", names=earlier_name)
    assert "stem.0.0.weight" in ms.load_checkpoint(str(path)) and "features.0.branch4.1.0.weight" in \
        ms.load_checkpoint(str(path))
    net = GoogleNet(10)
    loaded = load_pretrained(net, path, replace_head=False)
    expected = ms.load_checkpoint(str(zoo_checkpoint(tmp_path / "zoo.ckpt")))
    for param in net.get_parameters():
        np.testing.assert_array_equal(param.asnumpy(), expected[param.name].asnumpy())
    note = capsys.readouterr().err.strip()
    assert note.count("\n") == 0 and "earlier names" in note and "by position" in note
    assert loaded["renamed_by_position"] and loaded["parameters_loaded"] == 287


def test_a_zoo_checkpoint_loads_with_no_note(tmp_path, capsys):
    loaded = load_pretrained(GoogleNet(10), zoo_checkpoint(tmp_path / "zoo.ckpt"), replace_head=False)
    assert "renamed_by_position" not in loaded and capsys.readouterr().err == ""


@pytest.mark.slow
def test_a_zoo_checkpoint_goes_through_eval_and_pretrained_continue_and_transfer(tmp_path):
    checkpoint = str(zoo_checkpoint(tmp_path / "train_googlenet_cifar10-125_390.ckpt"))
    evaluated = run_bench("--phases", "eval", "--checkpoint", checkpoint, *SHORT_DIGITS,
                          "--results", str(tmp_path / "eval"))
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    record = json.loads(next((tmp_path / "eval").glob("*.json")).read_text())
    assert record["figures"]["loaded_checkpoint"]["parameters_loaded"] == 287
    assert record["figures"]["eval"]["images"] == 100
    continued = run_bench(*SHORT_DIGITS, "--set", "epochs=1", "--set", "export_formats=[MINDIR]",
                          "--pretrained", checkpoint, "--results", str(tmp_path / "continue"))
    assert continued.returncode == 0, continued.stderr[-2000:]
    record = json.loads(next((tmp_path / "continue").glob("*.json")).read_text())
    assert record["figures"]["pretrained"]["head_replaced"] is False
    # What this run wrote has the zoo's names too: the zoo's eval.py can read it.
    written = ms.load_checkpoint(record["figures"]["weights"]["path"])
    assert [[name, list(value.shape)] for name, value in written.items() if not name.startswith(TRAINING_STATE)] \
        == ZOO_NAMES
    transfer = run_bench("--suite", "digits-transfer", "--set", "epochs=1", "--set", "compare_scratch=false",
                         "--set", "export_formats=[MINDIR]", "--set", "min_top1=null", "--pretrained", checkpoint,
                         "--results", str(tmp_path / "transfer"))
    assert transfer.returncode == 0, transfer.stderr[-2000:]
    record = json.loads(next((tmp_path / "transfer").glob("*.json")).read_text())
    pretrained = record["figures"]["pretrained"]
    assert pretrained["head_replaced"] is True and pretrained["parameters_loaded"] == 285  # the head dropped by name
    assert not re.search(r"earlier names", transfer.stderr + continued.stderr + evaluated.stderr)


def mindir_casts(path) -> int:
    """Cast nodes in a MINDIR file (its graph and the functions it calls)."""
    from mindspore.train import mind_ir_pb2

    model = mind_ir_pb2.ModelProto()
    model.ParseFromString(Path(path).read_bytes())
    nodes = [*model.graph.node, *(node for function in model.functions for node in function.node)]
    return sum(node.op_type.removeprefix("REF::").split(":")[0] == "Cast" for node in nodes)


def test_eval_and_export_use_an_fp32_copy_of_a_network_amp_cast_to_fp16(tmp_path):
    from googlenet_bench.harness.training.builder import fp32_network

    trained = GoogleNet(10)
    trained.to_float(ms.float16)  # what AMP O2 does to the network it trains, in place
    example = ms.Tensor(np.ones((2, 3, 32, 32), np.float32))
    ms.export(trained, example, file_name=str(tmp_path / "amp"), file_format="MINDIR")
    copy = fp32_network(trained, 10)
    ms.export(copy, example, file_name=str(tmp_path / "fp32"), file_format="MINDIR")
    assert mindir_casts(tmp_path / "amp.mindir") > 0 and mindir_casts(tmp_path / "fp32.mindir") == 0
    for mine, theirs in zip(copy.get_parameters(), trained.get_parameters()):
        assert mine.name == theirs.name
        np.testing.assert_array_equal(mine.asnumpy(), theirs.asnumpy())

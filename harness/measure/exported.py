"""Exported models given to --model: opened and their input shape checked before a run starts.

An empty or corrupt file, or a model exported for another image size, is refused in one line
naming the file and the input shape the suite needs, (N,3,S,S), instead of failing in the
infer phase after everything else has run.
"""
from __future__ import annotations

from pathlib import Path

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.quiet import stderr_held


def _dims(shape) -> tuple:
    """Dimensions as ints, a dynamic one (a name in ONNX, -1 or 0 in MINDIR) as None."""
    return tuple(dim if isinstance(dim, int) and dim > 0 else None for dim in shape)


def onnx_input_shape(path: Path) -> tuple:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    with stderr_held():
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if not inputs:
        raise ValueError("it has no input")
    return _dims(inputs[0].shape)


def mindir_input_shape(path: Path) -> tuple:
    # The protobuf alone: building the graph (mindspore.load) would set up MindSpore's device first.
    from google.protobuf.message import DecodeError
    from mindspore.train.mind_ir_pb2 import ModelProto

    model = ModelProto()
    try:
        model.ParseFromString(path.read_bytes())
    except DecodeError as exc:
        raise ValueError(f"it cannot be parsed: {exc}") from None
    inputs = [tensor for value in model.graph.input for tensor in value.tensor]
    if not inputs or not model.graph.node:
        raise ValueError("it holds no graph with an input")
    return _dims(inputs[0].dims)


READERS = {".onnx": ("ONNX", onnx_input_shape), ".mindir": ("MINDIR", mindir_input_shape)}


def check_exported_model(path: str | Path, image_size: int) -> None:
    """Refuse, in one line, a --model file that is empty, does not open, or takes another input shape
    than (N,3,image_size,image_size). Formats this machine cannot open (AIR) are only checked for content."""
    path = Path(path)
    expected = f"(N,3,{image_size},{image_size})"
    needs = f"this suite needs an exported model with input shape {expected}"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BenchError(f"--model {path}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise BenchError(f"--model {path}: the file is empty; {needs}")
    if path.suffix.lower() not in READERS:
        return
    file_format, input_shape = READERS[path.suffix.lower()]
    try:
        shape = input_shape(path)
    except Exception:  # each reader raises its own kinds (and wordings) for a corrupt file; all mean the same here
        raise BenchError(f"--model {path}: not a readable {file_format} model (corrupt, truncated or another "
                         f"format); {needs}") from None
    wanted = (None, 3, image_size, image_size)
    fits = len(shape) == 4 and all(have is None or want is None or have == want for have, want in zip(shape, wanted))
    if not fits:
        shown = "(" + ",".join("N" if dim is None else str(dim) for dim in shape) + ")"
        raise BenchError(f"--model {path}: its input shape is {shown}; {needs} (give a model this suite "
                         "exported, or the --suite it was exported from)")

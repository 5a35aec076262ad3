"""What the ranks tell each other through their communication group, so that rank 0 knows every
rank's figures, on every node: a cluster's other machines share no files with node 0.

Each rank contributes one row of numbers (its rank, ms/step, start-up seconds and its parameters
digest cut into 16-bit pieces, all exact in float32) to one AllGather after training.
"""
from __future__ import annotations

DIGEST_PIECES = 16  # a sha256 hex digest (256 bits) as 16 numbers of 16 bits


def _pieces(digest: str) -> list[float]:
    return [float(int(digest[i:i + 4], 16)) for i in range(0, 4 * DIGEST_PIECES, 4)]


def _digest(pieces) -> str:
    return "".join(f"{int(piece):04x}" for piece in pieces)


def every_rank(rank: int, parameters_sha256: str, ms_per_step: float | None, startup_s: float | None) -> list[dict]:
    """Every rank's figures, in rank order, gathered from all ranks (a collective: each rank calls it)."""
    import numpy as np
    from mindspore import Tensor, ops

    row = [float(rank), -1.0 if ms_per_step is None else ms_per_step, -1.0 if startup_s is None else startup_s,
           *_pieces(parameters_sha256)]
    rows = ops.AllGather()(Tensor(np.array([row], dtype=np.float32))).asnumpy()
    found = []
    for values in sorted(rows.tolist(), key=lambda values: values[0]):
        found.append({"rank": int(values[0]), "ms_per_step_median": None if values[1] < 0 else round(values[1], 2),
                      "startup_s": None if values[2] < 0 else round(values[2], 2),
                      "parameters_sha256": _digest(values[3:])})
    return found

"""Checkpoints with this harness's earlier parameter names (stem.*, features.*, before the network took
the zoo's names): renamed by position into the network's, so no earlier result is stranded.

The two networks have the same layers in the same order with the same shapes (173 trainable parameters,
287 entries for 10 classes), so the i-th network entry of such a file is the i-th parameter of the
network. The head (classifier.*) has the same name in both and is left alone, so a transfer that
replaces it works as with the zoo's names.
"""
from __future__ import annotations

import sys

HEAD_PREFIX = "classifier."
MOMENTS = "moments."
# Names a training checkpoint holds besides the network's own parameters.
TRAINING_STATE = ("moments.", "global_step", "learning_rate", "momentum", "epoch_num", "step_num",
                  "scale_sense", "current_iterator_step", "last_overflow_iterator_step")  # the optimizer's state per parameter (Momentum), in a training checkpoint
EARLIER_PREFIXES = ("stem.", "features.")


def with_network_names(params: dict, net, path) -> tuple[dict, str | None]:
    """A checkpoint's parameters under the network's names: the earlier names mapped by position, said once."""
    params, renamed = renamed_by_position(params, net)
    if renamed:
        print(f"note: checkpoint {path}: {renamed}", file=sys.stderr)
    return params, renamed


def renamed_by_position(params: dict, net) -> tuple[dict, str | None]:
    """(params with the network's names, a one-line note) for a file with the earlier names whose shapes
    match the network's in order; else (params unchanged, None), and the strict checks say what differs."""
    network = [(name, value) for name, value in params.items()
               if not name.startswith(TRAINING_STATE) and not name.startswith(HEAD_PREFIX)]
    if not any(name.startswith(EARLIER_PREFIXES) for name, _ in network):
        return params, None
    own = [(name, tuple(param.shape)) for name, param in net.parameters_and_names()
           if not name.startswith(HEAD_PREFIX)]
    if len(network) != len(own) or any(tuple(value.shape) != shape for (_, value), (_, shape) in zip(network, own)):
        return params, None
    mapping = {old: new for (old, _), (new, _) in zip(network, own)}
    renamed = {}
    for name, value in params.items():
        if name.startswith(MOMENTS) and name[len(MOMENTS):] in mapping:
            name = MOMENTS + mapping[name[len(MOMENTS):]]
        else:
            name = mapping.get(name, name)
        if hasattr(value, "name"):
            value.name = name
        renamed[name] = value
    return renamed, (f"{len(mapping)} parameters have this harness's earlier names ({network[0][0]}, ...): "
                     f"loaded by position as the zoo's ({own[0][0]}, ...)")

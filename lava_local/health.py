"""Training collapse: what it is and how it is detected, for the trainers and the Lava network.

A local rule can break the network it trains: a hidden layer falls silent (no spike reaches
the layers above, and Psi-gated rules stop learning), or weights become non-finite or
explode. :func:`check_network` finds these from what both training paths have at the end
of an epoch (each layer's weights and spike count) and raises :class:`TrainingCollapse`,
so that training stops with the reason instead of going on. NumPy only: the Lava network
checks without torch.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = ["TrainingCollapse", "EXPLODED_NORM_RATIO", "check_network"]

#: a layer whose weights' norm grows this many times over their initial norm has exploded
EXPLODED_NORM_RATIO = 100.0


class TrainingCollapse(RuntimeError):
    """Training has broken the network: a hidden layer fell silent (no spike in a whole
    epoch: no signal reaches the layers above, and Psi-gated rules stop learning), or
    weights became non-finite or exploded. Raised at the end of the epoch in which it
    happened (:meth:`lava_local.trainer.base.TrainerBase.fit_epoch`,
    :meth:`lava_local.network.Network.fit`), instead of training on."""


def layer_name(i: int, n_layers: int) -> str:
    """``"the read-out"`` for the last of ``n_layers`` weight matrices, else ``"hidden layer i"``."""
    return "the read-out" if i == n_layers - 1 else f"hidden layer {i}"


def check_network(weight_norms: Sequence[Optional[float]], initial_norms: Sequence[float],
                  spike_counts: Sequence[Optional[float]] = (), learns: bool = True) -> None:
    """Raise :class:`TrainingCollapse` if a weight norm is non-finite or more than
    :data:`EXPLODED_NORM_RATIO` times its initial norm (hidden layers, then the read-out
    last), or, when the hidden layers learn, a hidden layer's spike count over the epoch is
    zero. ``None`` entries are layers not measured this time."""
    for i, (norm, initial) in enumerate(zip(weight_norms, initial_norms)):
        if norm is None:
            continue
        name = layer_name(i, len(weight_norms))
        if not np.isfinite(norm):
            raise TrainingCollapse(f"{name}'s weights hold NaN or infinite values: training diverged")
        if norm > EXPLODED_NORM_RATIO * max(initial, 1e-12):
            raise TrainingCollapse(f"{name}'s weights exploded: norm {norm:.3g}, {norm / initial:.0f} times "
                                   "the initial one")
    if learns:
        for i, count in enumerate(spike_counts):
            if count is not None and count == 0:
                raise TrainingCollapse(f"hidden layer {i} fell silent: no spike in the whole epoch, so the "
                                       "layers above receive nothing (lower the learning rate or check "
                                       "the rule's signal scale)")

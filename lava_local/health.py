"""Training collapse: what it is and how it is detected, for the trainers and the Lava network.

A local rule can break the network it trains: a hidden layer falls silent (no spike reaches
the layers above, and Psi-gated rules stop learning) or saturates (its neurons fire at
nearly every step, so their spikes no longer depend on the input and their membranes sit
far above threshold, where Psi is about zero), or weights become non-finite or explode.
:func:`check_network` finds these from what both training paths have at the end of an
epoch (each layer's weights and firing rate) and raises :class:`TrainingCollapse`, so that
training stops with the reason instead of going on. NumPy only: the Lava network checks
without torch.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = ["TrainingCollapse", "EXPLODED_NORM_RATIO", "SATURATED_RATE", "check_network"]

#: a layer whose weights' norm grows this many times over their initial norm has exploded
EXPLODED_NORM_RATIO = 100.0

#: a hidden layer firing at this rate (spikes per neuron and step, over an epoch) or above
#: has saturated: the layers the benchmarks train fire at 0.01 to 0.4
#: (``benchmarks/RESULTS.md``), a layer at 0.95 has at most one step in 20 without a spike
#: for its average neuron
SATURATED_RATE = 0.95


class TrainingCollapse(RuntimeError):
    """Training has broken the network: a hidden layer fell silent (no spike in a whole
    epoch: no signal reaches the layers above, and Psi-gated rules stop learning) or
    saturated (a firing rate of :data:`SATURATED_RATE` or more), or weights became
    non-finite or exploded. Raised at the end of the epoch in which it
    happened (:meth:`lava_local.trainer.base.TrainerBase.fit_epoch`,
    :meth:`lava_local.network.Network.fit`), instead of training on."""


def layer_name(i: int, n_layers: int) -> str:
    """``"the read-out"`` for the last of ``n_layers`` weight matrices, else ``"hidden layer i"``."""
    return "the read-out" if i == n_layers - 1 else f"hidden layer {i}"


def check_network(weight_norms: Sequence[Optional[float]], initial_norms: Sequence[float],
                  firing_rates: Sequence[Optional[float]] = (), learns: bool = True) -> None:
    """Raise :class:`TrainingCollapse` if a weight norm is non-finite or more than
    :data:`EXPLODED_NORM_RATIO` times its initial norm (hidden layers, then the read-out
    last), or, when the hidden layers learn, a hidden layer's firing rate over the epoch
    (spikes per neuron and step) is zero or at least :data:`SATURATED_RATE`. ``None``
    entries are layers not measured this time. A frozen layer's silence or saturation is
    the network's own (the read-out-only control), not the rule's doing, and is let be."""
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
        for i, rate in enumerate(firing_rates):
            if rate is None:
                continue
            if rate == 0:
                raise TrainingCollapse(f"hidden layer {i} fell silent: no spike in the whole epoch, so the "
                                       "layers above receive nothing (lower the learning rate or check "
                                       "the rule's signal scale)")
            if rate >= SATURATED_RATE:
                raise TrainingCollapse(f"hidden layer {i} saturated: its neurons fired at {rate:.3f} of the "
                                       "epoch's steps, so its spikes hardly depend on the input and its "
                                       "membranes sit far above threshold, where the surrogate derivative "
                                       "stops learning (check the weights' scale and the neurons' threshold, "
                                       "or lower the learning rate)")

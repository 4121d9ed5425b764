"""A plastic dense LIF layer that learns with S-TLLR, LLS or TESS, fused in one process."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.fixed_point import DEFAULT_SCALE, quantize_dense_layer
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.surrogate import Surrogate
from lava_local.proc.base import LearningLayerProcess, check_learning_layer
from lava_local.rules import TESS, LearningRule


class DenseLayer(LearningLayerProcess):
    """Dense synapses + LIF neurons + traces + local learning signal in one process.

    One OS process per layer (Lava costs about 0.1 ms per process and step, and a
    decomposed learning graph costs ten times more, see DESIGN.md 3.4). The update is the
    rule's (:mod:`lava_local.kernels.layer`): per step, traces, LIF, the local signal
    ``m = s B^T (softmax(s B o) - y*)`` and ``dW += (m a_pre Psi) (x) q + (m a_post h) (x) o_pre``;
    ``W -= lr dW`` after each sample (``rule.apply="sample"``) or each step (``"step"``).
    Nothing from other layers enters the update: the label and this layer's own input,
    neurons and basis are all it reads.

    Ports: ``s_in`` (pre spikes), ``label_in`` (shape (1,), -1 = do not learn), ``s_out``.
    Vars: ``weights`` (floats under ``floating_pt``; integer mantissas, scaled by
    ``2**weight_exp / scale``, under ``fixed_pt``), ``u``, ``o``, ``q``, ``h``, ``psi``.
    ``snapshot``: a ``.npy`` path the model writes its weights to every
    ``snapshot_every`` steps (much faster than ``weights.get()``).
    """

    def __init__(
        self,
        *,
        weights: Any,
        steps_per_sample: int,
        rule: LearningRule = TESS(),
        neuron: LIFParams = LIFParams(),
        surrogate: Surrogate = Surrogate(),
        basis: Any = None,
        learn: bool = True,
        scale: int = DEFAULT_SCALE,
        profile: Any = "loihi2",
        seed: int = 0,
        snapshot: Optional[str] = None,
        snapshot_every: int = 0,
        name: Optional[str] = None,
    ) -> None:
        w = _validate.finite_array("weights", weights)
        if w.ndim != 2:
            raise ValueError(f"weights must be a 2-D (n_out, n_in) matrix, got shape {w.shape}")
        n_out, n_in = w.shape
        steps = _validate.integer("steps_per_sample", steps_per_sample, 1)
        rule, basis = check_learning_layer(rule, neuron, surrogate, basis, n_out, "DenseLayer")
        fixed, quantized = quantize_dense_layer(w, neuron, surrogate, rule, n_out, scale, profile)
        super().__init__(
            weights=w, rule=rule, neuron=neuron, surrogate=surrogate, basis=basis, steps=steps,
            learn=bool(learn), fixed=fixed, weights_fixed=quantized.weights, scale=scale, seed=int(seed),
            snapshot=snapshot, snapshot_every=int(snapshot_every), name=name,
        )
        self.proc_params["process_name"] = self.name
        self.s_in = InPort(shape=(n_in,))
        self.label_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=(n_out, n_in), init=w)
        for var in ("u", "o", "h", "psi"):
            setattr(self, var, Var(shape=(n_out,), init=0))
        self.q = Var(shape=(n_in,), init=0)

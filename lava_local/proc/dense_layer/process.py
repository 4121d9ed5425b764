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
from lava_local.proc.base import LearningLayerProcess, check_learning_layer, fixed_point_form
from lava_local.rules import TESS, LearningRule


class DenseLayer(LearningLayerProcess):
    """Dense synapses + LIF neurons + traces + local learning signal in one process.

    One OS process per layer (Lava costs about 0.1 ms per process and step, and a
    decomposed learning graph costs ten times more, see DESIGN.md 3.4). The update is the
    rule's (:mod:`lava_local.kernels.layer`): per step, traces, LIF, the local signal
    ``m = s B^T (softmax(s B o) - y*)`` and ``dW += (m a_pre Psi) (x) q + (m a_post h) (x) o_pre``;
    ``W -= lr dW`` (``rule.lr`` per time step; ``None``: :data:`~lava_local.rules.SAMPLE_STEP`
    per sample over ``steps_per_sample``) after each sample (``rule.apply="sample"``) or each step (``"step"``).
    Nothing from other layers enters the update: the label and this layer's own input,
    neurons and basis are all it reads.

    Ports: ``s_in`` (pre spikes), ``label_in`` (shape (1,), -1 = do not learn), ``s_out``.
    Vars: ``weights`` (floats under ``floating_pt``; integer mantissas, scaled by
    ``2**weight_exp / scale``, under ``fixed_pt``), ``u``, ``o``, ``q``, ``h``, ``psi``,
    ``spike_count`` (shape (1,): the spikes the layer has sent since the run started).
    ``snapshot``: a ``.npy`` path the model writes its weights to every
    ``snapshot_every`` steps (much faster than ``weights.get()``).

    Two implementations (one process, two mappings; the run configuration chooses,
    :func:`lava_local.run_config`, ``mapping=``):

    * ``mapping="fused"`` (the default): the leaf models above, float or fixed point.
    * ``mapping="loihi"``: a sub-process model that builds the layer out of Loihi 2
      primitives, Lava's ``LearningDense`` with a ``Loihi3FLearningRule`` (synapses and
      learning engine), :class:`~lava_local.proc.tess_post.TessPost` (neurons, Psi, post
      trace, third factors) and :class:`~lava_local.proc.learning_signal.LearningSignal`
      (the local signal), wired as :mod:`lava_local.decomposed` describes, behind this
      process's ports; ``weights``, ``u``, ``o``, ``h``, ``psi``, ``spike_count`` are aliases
      of the parts' Vars and ``q`` of the synapses' pre trace ``x1``. It needs
      ``rule.timing="loihi"`` and ``rule.apply="step"`` (the learning engine updates every
      step); see
      :class:`~lava_local.proc.dense_layer.models.PyDenseLayerLoihiModel` for what it
      computes exactly as the fused model and what differs.

    ``offset``: steps between the sample clock and this layer's input (its place in the
    pipeline, :mod:`lava_local.proc.sample`); with ``rule.timing="loihi"`` the layer passes its
    spikes on one step later (the Dense hop of Loihi 2), in both mappings, so a layer fed by
    another such layer has ``offset`` one more than it. ``Network`` sets it.

    ``filter_decay`` (with ``rule.filtered``, and only then): the leak of the read-out the
    layer's filtered eligibility and spikes follow (:func:`~lava_local.kernels.layer.dense_layer_filter`;
    ``Network`` gives its ``readout_gamma``). The filtered eligibility is one state per
    synapse, as a Loihi 2 synapse's tag holds one; the fixed-point model decays it and the
    filtered spikes as the fixed-point read-out decays its membrane
    (:func:`~lava_local.kernels.layer.dense_layer_filter_fixed`).
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
        offset: int = 0,
        filter_decay: Optional[float] = None,
        name: Optional[str] = None,
    ) -> None:
        w = _validate.finite_array("weights", weights)
        offset = _validate.integer("offset", offset, 0)
        if w.ndim != 2:
            raise ValueError(f"weights must be a 2-D (n_out, n_in) matrix, got shape {w.shape}")
        n_out, n_in = w.shape
        steps = _validate.integer("steps_per_sample", steps_per_sample, 1)
        # checked, on this neuron and sample length, and "auto" resolved (unfiltered on its own)
        rule, basis = check_learning_layer(rule, neuron, surrogate, basis, n_out, "DenseLayer", steps)
        if rule.filtered == "last":
            raise ValueError("filtered='last' names a network's last hidden layer: Network.layer_rule gives each "
                             "layer filtered=True or False; a DenseLayer takes one of those")
        if rule.filtered != (filter_decay is not None):
            raise ValueError("a rule with filtered=True needs filter_decay (the read-out's leak), and only such a "
                             f"rule takes one: got filtered={rule.filtered}, filter_decay={filter_decay!r}")
        if filter_decay is not None:
            filter_decay = _validate.in_unit_interval("filter_decay", filter_decay)
        fixed = fixed_point_form(lambda: quantize_dense_layer(w, neuron, surrogate, rule, n_out, scale, profile,
                                                              filter_decay))
        super().__init__(
            weights=w, rule=rule, neuron=neuron, surrogate=surrogate, basis=basis, steps=steps,
            learn=bool(learn), **fixed, scale=scale, seed=int(seed), profile=profile,
            snapshot=snapshot, snapshot_every=int(snapshot_every), offset=offset, filter_decay=filter_decay,
            name=name,
        )
        self.proc_params["process_name"] = self.name
        self.s_in = InPort(shape=(n_in,))
        self.label_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=(n_out, n_in), init=w)
        for var in ("u", "o", "h", "psi"):
            setattr(self, var, Var(shape=(n_out,), init=0))
        self.q = Var(shape=(n_in,), init=0)
        self.spike_count = Var(shape=(1,), init=0)

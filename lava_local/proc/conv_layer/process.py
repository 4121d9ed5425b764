"""A plastic 2-D convolutional LIF layer (shared weights) learning with S-TLLR/LLS/TESS."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.fixed_point import DEFAULT_SCALE, quantize_conv_layer
from lava_local.kernels.layer import ConvGeometry
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.surrogate import Surrogate
from lava_local.proc.base import LearningLayerProcess, check_learning_layer, fixed_point_form
from lava_local.rules import TESS, LearningRule


class ConvLayer(LearningLayerProcess):
    """Conv synapses + LIF neurons + traces + pooled local signal in one process (CPU).

    Spikes travel flattened (C-order ``(C, H, W)``) so conv and dense layers connect
    directly. The local signal pools the output to ``pool x pool`` per channel (LLS/TESS:
    4 for the first layer, 2 later) and projects on a ``(n_classes, C_out pool**2)`` basis.
    Both models run on the CPU (Lava's learning engine is dense-only; on Loihi conv layers
    are deployed frozen). Under ``fixed_pt`` the weights Var holds integer mantissas.
    """

    def __init__(
        self,
        *,
        weights: Any,
        in_shape: Tuple[int, int, int],
        steps_per_sample: int,
        stride: int = 1,
        padding: int = 0,
        pool: int = 1,
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
        if w.ndim != 4 or w.shape[2] != w.shape[3]:
            raise ValueError(f"weights must have shape (C_out, C_in, k, k), got {w.shape}")
        in_shape = _validate.shape("in_shape", in_shape)
        if len(in_shape) != 3 or in_shape[0] != w.shape[1]:
            raise ValueError(f"in_shape must be (C_in, H, W) with C_in = {w.shape[1]}, got {in_shape}")
        geometry = ConvGeometry(in_shape, w.shape[0], w.shape[2], _validate.integer("stride", stride, 1),
                                _validate.integer("padding", padding, 0), _validate.integer("pool", pool, 1))
        out_shape = geometry.out_shape
        if min(out_shape[1:]) < 1:
            raise ValueError(f"kernel {w.shape[2]} with padding {padding} does not fit input {in_shape}")
        if out_shape[1] % pool or out_shape[2] % pool:
            raise ValueError(f"output {out_shape[1:]} cannot be average-pooled to {pool}x{pool}")
        steps = _validate.integer("steps_per_sample", steps_per_sample, 1)
        rule, basis = check_learning_layer(rule, neuron, surrogate, basis, geometry.signal_size, "ConvLayer", steps)
        fixed = fixed_point_form(lambda: quantize_conv_layer(w, geometry, neuron, surrogate, rule, scale, profile))
        super().__init__(weights=w, geometry=geometry, steps=steps,
                         rule=rule, neuron=neuron, surrogate=surrogate, basis=basis, learn=bool(learn),
                         **fixed, scale=scale, seed=int(seed),
                         snapshot=snapshot, snapshot_every=int(snapshot_every), name=name)
        self.proc_params["process_name"] = self.name
        n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
        self.s_in = InPort(shape=(n_in,))
        self.label_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=w.shape, init=w)
        for var in ("u", "o", "h", "psi"):
            setattr(self, var, Var(shape=out_shape, init=0))
        self.q = Var(shape=in_shape, init=0)
        self.spike_count = Var(shape=(1,), init=0)  # spikes sent since the run started

"""Float and fixed-point models of :class:`ConvLayer` (the maths is in lava_local.kernels.layer)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.kernels.layer import DenseLayerState, conv_layer_step, conv_layer_step_fixed
from lava_local.proc.conv_layer.process import ConvLayer
from lava_local.proc.dense_layer.models import FixedLayerModel, FloatLayerModel


class _Flattened:
    """Conv layers exchange flattened spikes (C-order (C, H, W))."""

    def step(self, s_in, label_in):
        out = super().step(s_in, label_in)
        return {"s_out": out["s_out"].reshape(-1)}


@implements(proc=ConvLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyConvLayerModelFloat(_Flattened, FloatLayerModel):
    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        p = self.proc_params
        g = p["geometry"]
        return conv_layer_step(self._state(), s_in.reshape(g.in_shape), self.weights, g, p["neuron"],
                               p["surrogate"], self.rule.eligibility, p["basis"], self.rule.signal,
                               self._target(label))


@implements(proc=ConvLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyConvLayerModelFixed(_Flattened, FixedLayerModel):
    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        g = self.proc_params["geometry"]
        return conv_layer_step_fixed(self._integer_state(), np.asarray(s_in, np.int64).reshape(g.in_shape),
                                     self.weights, g, self.fixed, self.int_basis, label)

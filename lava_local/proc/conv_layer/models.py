"""Float model of :class:`ConvLayer` (the maths is in lava_local.kernels.layer)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.kernels.layer import DenseLayerState, conv_layer_step
from lava_local.kernels.learning_signal import one_hot
from lava_local.proc.conv_layer.process import ConvLayer
from lava_local.proc.dense_layer.models import _DenseLayerModel


@implements(proc=ConvLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyConvLayerModelFloat(_DenseLayerModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    o: np.ndarray = LavaPyType(np.ndarray, float)
    q: np.ndarray = LavaPyType(np.ndarray, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)
    psi: np.ndarray = LavaPyType(np.ndarray, float)

    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        p = self.proc_params
        g = p["geometry"]
        target = one_hot(label, self.rule.signal.n_classes) if label >= 0 else None
        return conv_layer_step(self._state(), s_in.reshape(g.in_shape), self.weights, g, p["neuron"],
                               p["surrogate"], self.rule.eligibility, p["basis"], self.rule.signal, target)

    def _apply(self) -> None:
        self.weights -= self.rule.lr * self.dw

    def step(self, s_in, label_in):
        out = super().step(s_in, label_in)
        return {"s_out": out["s_out"].reshape(-1)}

"""Float and fixed-point models of :class:`ConvLayer` (the maths is in lava_local.kernels.layer)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.kernels.layer import DenseLayerState, conv_layer_step, conv_layer_step_fixed, dense_layer_apply_fixed
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


@implements(proc=ConvLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyConvLayerModelFixed(_DenseLayerModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    o: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=1)
    q: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    h: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    psi: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.rng = np.random.default_rng(proc_params["seed"])
        basis = np.asarray(proc_params["basis"])
        self.basis_sign = basis.astype(np.int64) if np.all(basis == np.round(basis)) else None
        self.loaded = False

    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        if not self.loaded:
            self.weights[:] = self.proc_params["weights_fixed"]
            self.loaded = True
        if self.basis_sign is None:
            raise ValueError("the fixed-point learning signal needs an integer basis: use basis='square'")
        g = self.proc_params["geometry"]
        state = self._state()._replace(dw=self.dw.astype(np.int64))
        return conv_layer_step_fixed(state, np.asarray(s_in, np.int64).reshape(g.in_shape), self.weights, g,
                                     self.proc_params["fixed"], self.basis_sign, label)

    def _apply(self) -> None:
        self.weights[:] = dense_layer_apply_fixed(self.weights, self.dw, self.proc_params["fixed"], self.rng)

    def step(self, s_in, label_in):
        out = super().step(s_in, label_in)
        return {"s_out": out["s_out"].reshape(-1)}

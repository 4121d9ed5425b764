"""Float and fixed-point models of :class:`LearningSignal`; the maths is in the kernels."""
from typing import Dict

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

# Absolute imports: Lava's model discovery executes this file as a top-level module.
from lava_local.kernels.learning_signal import (
    integer_basis,
    label_targets,
    learning_signal,
    learning_signal_fixed,
    lls_m_gradient,
    one_hot,
)
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.learning_signal.process import LearningSignal
from lava_local.proc.sample import LabelDelay


class _LearningSignalModel(GuardedModel):
    """GuardedModel with an optional send-first order (``latency=1``).

    With latency 1 the step sends the signal computed in the previous step, then
    receives and computes the next one; a failing computation is reported as in
    :class:`GuardedModel` and zeros are sent from then on, so the protocol never stalls.
    """

    in_ports = ("s_in", "label_in")
    out_ports = ("m_out",)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.latency = proc_params["latency"]
        self.n_classes = proc_params["signal"].n_classes
        self.pending = None
        self.labels = LabelDelay(proc_params.get("label_delay", 0))

    def _label(self, label_in: np.ndarray) -> int:
        value = float(self.labels(float(label_in[0])))
        if value < 0:
            return -1
        if value != round(value) or value >= self.n_classes:
            raise ValueError(f"label {value} is not an integer in [0, {self.n_classes}) or -1")
        return int(round(value))

    def run_spk(self) -> None:
        if self.latency == 0:
            super().run_spk()
            return
        self.m_out.send(self.pending if self.pending is not None else self._zeros("m_out"))
        received = {name: getattr(self, name).recv() for name in self.in_ports}
        self.pending = None
        if self.failed:
            return
        try:
            m = self.step(**received)["m_out"]
            if np.shape(m) != tuple(self.m_out._shape):
                raise ValueError(f"output m_out has shape {np.shape(m)}, port expects {self.m_out._shape}")
            self.pending = m
        except Exception as exc:  # reported, raised in the parent by lava_local.runtime
            self._fail(exc)


@implements(proc=LearningSignal, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLearningSignalModelFloat(_LearningSignalModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    m_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    m: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        # every class's projected label, made once: no step rebuilds the back-projection basis
        self.targets = label_targets(np.asarray(proc_params["basis"], float), proc_params["signal"].error)

    def step(self, s_in: np.ndarray, label_in: np.ndarray) -> Dict[str, np.ndarray]:
        p = self.proc_params
        label = self._label(label_in)
        if label < 0:
            m = np.zeros(p["n"])
        elif p["gain_lr"] is not None:  # LLS-M
            o, target = np.asarray(s_in, float), one_hot(label, self.n_classes)
            m, grad_gain = lls_m_gradient(o, target, p["basis"], self.gain, p["signal"])
            self.gain[:] = self.gain - p["gain_lr"] * grad_gain
        else:
            m = learning_signal(np.asarray(s_in, float), self.targets[label], p["basis"], p["signal"])
        self.m[:] = m
        return {"m_out": m}


@implements(proc=LearningSignal, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyLearningSignalModelFixed(_LearningSignalModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    m_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    m: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    gain: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        basis = np.asarray(proc_params["basis"])
        # the integer basis and its back-projection basis, made once
        self.int_basis = integer_basis(basis, proc_params["error_fixed"]) if proc_params["integer_basis"] else None

    def step(self, s_in: np.ndarray, label_in: np.ndarray) -> Dict[str, np.ndarray]:
        if self.proc_params["gain_lr"] is not None:
            raise ValueError("LLS-M (gain_lr) has a float model only")
        if self.int_basis is None:
            raise ValueError("the fixed-point learning signal needs an integer basis: use basis='square'")
        p = self.proc_params
        m = learning_signal_fixed(np.asarray(s_in, np.int64), self._label(label_in), self.int_basis,
                                  p["error_fixed"])
        self.m[:] = m
        return {"m_out": m.astype(np.int32)}

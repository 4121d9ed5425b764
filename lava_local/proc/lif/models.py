"""ProcessModels of :class:`~lava_local.proc.lif.process.LIF`: float and Loihi fixed-point.

Both call the kernels of :mod:`lava_local.kernels`; neither holds an equation of its own.
Per step: receive ``a_in`` and the learning signal; h <- lambda_post h + Psi(u_prev);
(u, o) <- LIF step; Psi <- Psi(u); send o, Psi(u), h.
"""
from __future__ import annotations

from typing import Dict

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

# Absolute imports: Lava's model discovery executes this file as a top-level module.
from lava_local.fixed_point import LIFConfig, LIFFixedConfig
from lava_local.kernels import (
    LIFState,
    lif_step,
    lif_step_fixed,
    post_trace_step,
    psi,
    psi_fixed,
    trace_step_fixed,
)
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.lif.process import LIF


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLIFModelFloat(GuardedModel):
    """Float reference model (NumPy float64)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    learning_signal_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    psi_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    post_trace_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    o: np.ndarray = LavaPyType(np.ndarray, float)
    psi: np.ndarray = LavaPyType(np.ndarray, float)
    post_trace: np.ndarray = LavaPyType(np.ndarray, float)
    learning_signal: np.ndarray = LavaPyType(np.ndarray, float)

    in_ports = ("a_in", "learning_signal_in")
    out_ports = ("s_out", "psi_out", "post_trace_out")

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.cfg: LIFConfig = proc_params["config"]
        self._u_init = proc_params["u_init"]

    def step(self, a_in: np.ndarray, learning_signal_in: np.ndarray) -> Dict[str, np.ndarray]:
        if self.time_step == 1:
            self.u[:] = self._u_init
        cfg = self.cfg
        self.post_trace[:] = post_trace_step(self.post_trace, self.psi, cfg.traces)
        state = lif_step(LIFState(self.u, self.o), a_in, cfg.neuron)
        self.u[:], self.o[:] = state
        self.psi[:] = psi(self.u, cfg.neuron.v_th, cfg.surrogate)
        self.learning_signal[:] = learning_signal_in
        return {"s_out": self.o, "psi_out": self.psi, "post_trace_out": self.post_trace}


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyLIFModelFixed(GuardedModel):
    """Loihi 2 integer model: widths, shifts and saturation from the hardware profile."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    learning_signal_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    psi_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    post_trace_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    o: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    psi: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    post_trace: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    learning_signal: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)

    in_ports = ("a_in", "learning_signal_in")
    out_ports = ("s_out", "psi_out", "post_trace_out")

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.fixed_cfg: LIFFixedConfig = proc_params["fixed"]
        self._u_init = np.round(proc_params["u_init"] * self.fixed_cfg.membrane_unit).astype(np.int64)

    def step(self, a_in: np.ndarray, learning_signal_in: np.ndarray) -> Dict[str, np.ndarray]:
        if self.time_step == 1:
            self.u[:] = self._u_init
        fx = self.fixed_cfg
        self.post_trace[:] = trace_step_fixed(
            self.post_trace, self.psi, fx.post_decay, fx.trace.decay_bits, fx.trace.max
        )
        state = lif_step_fixed(LIFState(self.u, self.o), a_in, fx.neuron)
        self.u[:], self.o[:] = state
        self.psi[:] = psi_fixed(self.u, fx.neuron.threshold, fx.psi)
        self.learning_signal[:] = learning_signal_in
        return {"s_out": self.o, "psi_out": self.psi, "post_trace_out": self.post_trace}

"""Float model of :class:`TessPost`; the maths is in the kernels.

There is no fixed-point model yet: Lava's fixed ``LearningDense`` takes y1..y3 as 7-bit
graded values, and mapping ``m * Psi`` (8 + 8 bits) and ``m * h`` onto them needs a
chosen shift per layer that has not been designed and measured. A run with
``numeric="fixed"`` fails at compile time (no model for the tag), before any step.
"""
from typing import Dict

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.neuron import LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

# Absolute imports: Lava's model discovery executes this file as a top-level module.
from lava_local.kernels.neuron import LIFState, lif_step
from lava_local.kernels.plasticity import eligibility_factors
from lava_local.kernels.surrogate import psi
from lava_local.kernels.traces import trace_step
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.sample import phase
from lava_local.proc.tess_post.process import TessPost


@implements(proc=TessPost, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTessPostModelFloat(GuardedModel, LearningNeuronModelFloat):
    """Per step: receive a_in and m; h <- lambda_post h + Psi(u_prev); LIF; Psi(u);
    send o, bap = o, y1 = 0, y2 = y_scale m a_pre Psi_prev, y3 = y_scale m a_post h_prev,
    where Psi_prev and h_prev are those of the previous step (the step m belongs to)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    m_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    o: np.ndarray = LavaPyType(np.ndarray, float)
    psi: np.ndarray = LavaPyType(np.ndarray, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)
    m: np.ndarray = LavaPyType(np.ndarray, float)

    in_ports = ("a_in", "m_in")
    out_ports = ("s_out", "s_out_bap", "s_out_y1", "s_out_y2", "s_out_y3")

    def _sends_factors(self) -> bool:
        """Whether this step's factors (those of the step before) are sent; with a sample
        clock, resets the state at the start of each sample."""
        p = self.proc_params
        if p["steps"] is None:
            return p["learn"]
        k, t = phase(self.time_step, p["steps"], p["offset"])
        if t == 0:
            for var in (self.u, self.o, self.psi, self.h):
                var[:] = 0
        return k >= 0 and p["learn"] and p["t_l"] <= t - 1 <= p["steps"] - 3

    def step(self, a_in: np.ndarray, m_in: np.ndarray) -> Dict[str, np.ndarray]:
        p = self.proc_params
        neuron, elig = p["neuron"], p["eligibility"]
        send = self._sends_factors()
        psi_prev, h_prev = self.psi.copy(), self.h.copy()
        self.h[:] = trace_step(self.h, self.psi, elig.lambda_post)
        state = lif_step(LIFState(self.u, self.o), np.asarray(a_in, float), neuron)
        self.u[:], self.o[:] = state
        self.psi[:] = psi(self.u, neuron.v_th, p["surrogate"])
        self.m[:] = m_in
        a, b = eligibility_factors(np.asarray(m_in, float) * send, psi_prev, h_prev, elig)
        self.y2[:] = p["y_scale"] * a
        self.y3[:] = p["y_scale"] * b
        return {
            "s_out": self.o.copy(),
            "s_out_bap": self.o > 0,
            "s_out_y1": np.zeros(p["n"]),
            "s_out_y2": self.y2.copy(),
            "s_out_y3": self.y3.copy(),
        }

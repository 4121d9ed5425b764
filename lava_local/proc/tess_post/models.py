"""Float and fixed-point models of :class:`TessPost`; the maths is in the kernels.

The fixed-point model runs the fused fixed layer's integer neuron (``lif_step_fixed`` with
the layer's ``LIFFixedParams``, the Psi look-up table, the post trace in the profile's trace
format) and sends ``y2``, ``y3`` as integers of the learning engine's width
(``[learning] y_bits``), stochastically rounded from the integer factors and saturated
(:func:`lava_local.fixed_point.engine_factor_scale`), with the random numbers of
:func:`~lava_local.kernels.learning_engine.factor_rng`: a fused fixed-point layer with the
Loihi timing rounds the same factors with the same numbers.
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
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed

from lava_local.kernels.learning_engine import factor_rng
from lava_local.kernels.neuron import LIFState, lif_step, lif_step_fixed
from lava_local.kernels.plasticity import eligibility_factors, engine_factor_fixed
from lava_local.kernels.surrogate import psi, psi_fixed
from lava_local.kernels.traces import trace_step, trace_step_fixed
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.sample import phase
from lava_local.proc.tess_post.process import TessPost


class _TessPostModel(GuardedModel):
    in_ports = ("a_in", "m_in")
    out_ports = ("s_out", "s_out_bap", "s_out_y1", "s_out_y2", "s_out_y3")
    spike_count: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _sends_factors(self) -> bool:
        """Whether this step's factors (those of the step before) are sent; with a sample
        clock, resets the state at the start of each sample."""
        p = self.proc_params
        if p["steps"] is None:
            return p["learn"]
        k, t = phase(self.time_step, p["steps"], p["offset"])
        self.factor_step = (k, t - 1)  # the factors sent now are those of the step before
        if t == 0:
            for var in (self.u, self.o, self.psi, self.h):
                var[:] = 0
        return k >= 0 and p["learn"] and p["t_l"] <= t - 1 <= p["steps"] - 3

    def _outputs(self) -> Dict[str, np.ndarray]:
        """The step's messages; counts the step's spikes."""
        self.spike_count[0] += np.count_nonzero(self.o)
        return {
            "s_out": self.o.copy(),
            # no back-propagating action potential: the rule has no y0 term, and on a bAP
            # the engine adds y's impulse and saturates y to [0, 127], losing negative factors
            "s_out_bap": np.zeros(self.proc_params["n"], dtype=bool),
            "s_out_y1": np.zeros(self.proc_params["n"], dtype=self.y2.dtype),
            "s_out_y2": self.y2.copy(),
            "s_out_y3": self.y3.copy(),
        }


@implements(proc=TessPost, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTessPostModelFloat(_TessPostModel, LearningNeuronModelFloat):
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
        return self._outputs()


@implements(proc=TessPost, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyTessPostModelFixed(_TessPostModel, LearningNeuronModelFixed):
    """The float model's step in the fused fixed layer's integers (``proc_params["fixed"]``):
    h by ``trace_step_fixed``, the LIF by ``lif_step_fixed``, Psi by the look-up table, the
    factors ``a = m alpha_pre Psi_prev``, ``b = m alpha_post h_prev`` of the integer signal m,
    sent as ``y2``, ``y3`` scaled to the engine's width and saturated there."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    m_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    o: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=1)
    psi: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    h: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    m: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        if proc_params["fixed"] is None:
            raise ValueError("the fixed-point TessPost needs the layer's integer parameters (fixed=...)")
        self.rng = np.random.default_rng(proc_params["seed"])
        self.factor_step = None

    def _factor_rng(self) -> np.random.Generator:
        """With a sample clock, the random numbers a fused layer draws for the same factors
        (:func:`~lava_local.kernels.learning_engine.factor_rng`); else one stream."""
        if self.factor_step is None or min(self.factor_step) < 0:  # (nothing is sent then)
            return self.rng
        return factor_rng(self.proc_params["seed"], *self.factor_step)

    def step(self, a_in: np.ndarray, m_in: np.ndarray) -> Dict[str, np.ndarray]:
        p = self.proc_params
        fixed, scale = p["fixed"], p["engine"]
        tr = fixed.trace
        send = self._sends_factors()
        psi_prev, h_prev = self.psi.astype(np.int64), self.h.astype(np.int64)
        self.h[:] = trace_step_fixed(h_prev, psi_prev, fixed.post_decay, tr.decay_bits, tr.max)
        state = lif_step_fixed(LIFState(self.u, self.o), np.asarray(a_in, np.int64), fixed.neuron)
        self.u[:], self.o[:] = state
        self.psi[:] = psi_fixed(self.u, fixed.neuron.threshold, fixed.psi)
        self.m[:] = m_in
        a, b = eligibility_factors(np.asarray(m_in, np.int64) * int(send), psi_prev, h_prev, fixed)
        rng = self._factor_rng()
        self.y2[:] = engine_factor_fixed(a, scale.y2_mant, scale.y2_shift, scale.limit, rng)
        self.y3[:] = engine_factor_fixed(b, scale.y3_mant, scale.y3_shift, scale.limit, rng)
        return self._outputs()

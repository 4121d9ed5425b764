"""Models of :class:`DenseLayer`: the fused float and Loihi fixed-point leaf models (the maths
is in the kernels) and the sub-process model of the Loihi mapping."""
from typing import Dict

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.fixed_point import engine_factor_scale
from lava_local.kernels.layer import (
    DenseLayerState,
    EngineStep,
    delay_line,
    dense_layer_apply_fixed,
    dense_layer_step,
    dense_layer_step_fixed,
)
from lava_local.kernels.learning_engine import EngineRandoms, engine_apply, engine_params, engine_pre_trace, factor_rng
from lava_local.kernels.learning_signal import integer_basis, label_targets
from lava_local.proc.dense_layer.process import DenseLayer
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.sample import LabelDelay, period, phase, write_snapshot


class _DenseLayerModel(GuardedModel):
    in_ports = ("s_in", "label_in")
    out_ports = ("s_out",)
    spike_count: np.ndarray = LavaPyType(np.ndarray, np.int64)  # since the run started

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        p = proc_params
        self.rule = p["rule"]
        self.steps = p["steps"]
        self.learn = p["learn"]
        self.dw = None
        self.delay = None  # the Loihi timing's delay line of post factors
        self.e_bar = self.o_bar = None  # rule.filtered, in a learning sample: the filtered eligibility and spikes
        self.offset = p.get("offset", 0)  # the layer's place in the pipeline (proc.sample)
        self.gap = self.rule.drain_steps  # the drain's silent steps after each sample
        self.sample_learns = False
        self.counted = 0  # spike_count at the last snapshot (the collapse check reads the difference)
        self.labels = LabelDelay(self.offset)
        # the Loihi timing passes the spikes on one step later (Loihi 2's Dense hop)
        self.hop = None if self.rule.timing == "paper" else np.zeros(0)

    def _sample_state(self) -> tuple:
        """The Vars that start each sample at zero."""
        return self.u, self.o, self.q, self.h, self.psi

    def _idle(self, s_in: np.ndarray) -> None:
        """A step before the layer's first sample (its place in the pipeline)."""

    def _state(self) -> DenseLayerState:
        return DenseLayerState(self.u, self.o, self.q, self.h, self.psi, self.dw, delay=self.delay,
                               e_bar=self.e_bar, o_bar=self.o_bar)

    def _store(self, state: DenseLayerState) -> None:
        self.u[:], self.o[:], self.q[:], self.h[:], self.psi[:] = state[:5]
        self.dw, self.delay, self.e_bar, self.o_bar = state.dw, state.delay, state.e_bar, state.o_bar

    def step(self, s_in: np.ndarray, label_in: np.ndarray) -> Dict[str, np.ndarray]:
        k, t = phase(self.time_step, self.steps, self.offset, self.gap)
        label = self.labels(int(label_in[0]))
        if k < 0:  # before this layer's first sample
            self._idle(s_in)
            return {"s_out": self.o * 0}
        self.phase = (k, t)
        if t == 0:
            for var in self._sample_state():
                var[:] = 0
            self.dw = np.zeros(self.weights.shape, dtype=self.weights.dtype)
            self.delay = delay_line(self.rule.pairing_offset, self.o)
            self.sample_learns = self.learn and label >= 0
            # filtered from the sample's first step on (a spike before t_l still counts after it)
            filtered = self.sample_learns and self.rule.filtered
            self.e_bar = np.zeros(self.weights.shape, self.dw.dtype) if filtered else None
            self.o_bar = np.zeros(self.o.shape, self.o.dtype) if filtered else None
        learning = self.learn and label >= 0 and t >= self.rule.t_l
        self._store(self._advance(s_in, label if learning else -1))
        self.spike_count[0] += np.count_nonzero(self.o)
        # the drain's steps (t >= T: no label) apply what the delay line still held
        draining = self.sample_learns and t >= self.steps
        if (learning or draining) and self.rule.apply == "step" or \
                self.sample_learns and self.rule.apply == "sample" and t == self.steps + self.gap - 1:
            self._apply()
            self.dw = np.zeros_like(self.dw)
        every = self.proc_params["snapshot_every"]
        if every and (self.time_step - self.offset) % every == 0:
            write_snapshot(self.proc_params["snapshot"], self.weights, int(self.spike_count[0]) - self.counted)
            self.counted = int(self.spike_count[0])
        if self.hop is None:
            return {"s_out": self.o}
        out, self.hop = (self.hop if self.hop.size else self.o * 0), self.o.copy()
        return {"s_out": out}


class FloatLayerModel(_DenseLayerModel):
    """Float Var and port types and the SGD step, shared by the dense and conv layers."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    o: np.ndarray = LavaPyType(np.ndarray, float)
    q: np.ndarray = LavaPyType(np.ndarray, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)
    psi: np.ndarray = LavaPyType(np.ndarray, float)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        # every class's projected label, made once: no step rebuilds the back-projection basis
        self.targets = label_targets(np.asarray(proc_params["basis"], float), self.rule.signal.error)

    def _target(self, label: int):
        return self.targets[label] if label >= 0 else None

    def _apply(self) -> None:
        self.weights -= self.rule.lr * self.dw


class FixedLayerModel(_DenseLayerModel):
    """Loihi integer Var and port types, weight loading and the stochastically rounded
    update, shared by the dense and conv layers."""

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
        self.fixed = proc_params["fixed"]
        self.rng = np.random.default_rng(proc_params["seed"])
        basis = np.asarray(proc_params["basis"])
        # the integer basis and its back-projection basis, made once (None: no integer form)
        self.int_basis = integer_basis(basis, self.fixed.error) \
            if self.fixed is not None and np.all(basis == np.round(basis)) else None
        self.loaded = False

    def _integer_state(self) -> DenseLayerState:
        """The state with integer accumulator; loads the integer weights on first use."""
        if self.fixed is None:  # reported by the guard, raised in the caller
            raise ValueError(f"no fixed-point form: {self.proc_params['unfit']}")
        if not self.loaded:
            self.weights[:] = self.proc_params["weights_fixed"]
            self.loaded = True
        if self.int_basis is None:
            raise ValueError("the fixed-point learning signal needs an integer basis: use basis='square'")
        return self._state()._replace(dw=self.dw.astype(np.int64))

    def _apply(self) -> None:
        self.weights[:] = dense_layer_apply_fixed(self.weights, self.dw, self.fixed, self.rng)


@implements(proc=DenseLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDenseLayerModelFloat(FloatLayerModel):
    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        p = self.proc_params
        decay = None if self.e_bar is None else p["filter_decay"]
        return dense_layer_step(self._state(), s_in, self.weights, p["neuron"], p["surrogate"],
                                self.rule.eligibility, p["basis"], self.rule.signal, self._target(label),
                                filter_decay=decay, filter_gain=self.rule.filter_input_gain(decay))


@implements(proc=DenseLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyDenseLayerModelFixed(FixedLayerModel):
    """With ``rule.timing="loihi"`` the layer learns as Loihi 2's learning engine does
    (:func:`~lava_local.kernels.layer.dense_layer_step_fixed` with an ``EngineStep``): bit for bit what the Loihi
    mapping's ``LearningDense`` learns, with its random numbers (the rule's ``rng_seed`` is
    the layer's ``seed``). Its pre trace ``q`` is then the engine's x1, which runs on across
    samples, and weights saturate at the engine's range."""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.engine = None
        if self.rule.timing == "loihi" and self.fixed is not None:
            p = proc_params
            profile = p.get("profile", "loihi2")
            self.engine = engine_params(self.rule.eligibility.lambda_pre, self.fixed.pre_impulse, profile)
            self.engine_factors = engine_factor_scale(self.fixed, profile)
            self.engine_randoms = EngineRandoms(p["seed"])

    def _sample_state(self) -> tuple:
        if self.engine is None:
            return super()._sample_state()
        return self.u, self.o, self.h, self.psi

    def _idle(self, s_in: np.ndarray) -> None:
        if self.engine is not None:  # the synapses' engine runs from the first step
            self.q[:] = engine_pre_trace(self.q, s_in, self.engine, self.engine_randoms.step().x_decay)

    def _advance(self, s_in: np.ndarray, label: int) -> DenseLayerState:
        step = None
        if self.engine is not None:
            k, t = self.phase
            step = EngineStep(self.engine, self.engine_factors, factor_rng(self.proc_params["seed"], k, t),
                              self.engine_randoms.step())
        return dense_layer_step_fixed(self._integer_state(), np.asarray(s_in, np.int64), self.weights, self.fixed,
                                      self.int_basis, label, step)

    def _apply(self) -> None:
        if self.engine is None:
            return super()._apply()
        self.weights[:] = engine_apply(self.weights, self.dw, self.engine)


def check_loihi_mapping(rule) -> None:
    """Raise unless ``rule`` can run in the Loihi mapping of :class:`DenseLayer`."""
    if rule.timing != "loihi":
        raise ValueError("the Loihi mapping learns with the Loihi timing: give the layers "
                         "rule.with_(timing='loihi') (the fused models then compute the same)")
    if rule.apply != "step":
        raise ValueError("the Loihi mapping's learning engine updates the weights every step: give the layers "
                         "rule.with_(apply='step')")


class _DenseLayerLoihiModel(AbstractSubProcessModel):
    """Builds the parts (float or fixed point) behind the layer's ports and Vars."""

    fixed = False

    def __init__(self, proc: DenseLayer) -> None:
        from lava_local.decomposed import wire_tess_layer

        p = proc.proc_params
        rule = p["rule"]
        check_loihi_mapping(rule)
        extra = {}
        if self.fixed:
            extra = {"fixed": p["fixed"], "weights_fixed": np.asarray(p["weights_fixed"], np.int64),
                     "profile": p.get("profile", "loihi2"), "seed": p["seed"]}
        # the parts' sample clock includes the drain's steps (its labels are -1: no factors)
        parts = wire_tess_layer(np.asarray(p["weights"], float), rule, p["neuron"], p["surrogate"], p["basis"],
                                proc.name, steps_per_sample=period(p["steps"], rule.drain_steps), offset=p["offset"],
                                learn=p["learn"], **extra)
        self.dense, self.post, self.signal = parts.dense, parts.post, parts.signal
        proc.s_in.connect(self.dense.s_in)
        proc.label_in.connect(self.signal.label_in)
        self.post.s_out.connect(proc.s_out)
        proc.weights.alias(self.dense.weights)
        proc.q.alias(self.dense.x1)
        for var in ("u", "o", "h", "psi", "spike_count"):
            getattr(proc, var).alias(getattr(self.post, var))


@implements(proc=DenseLayer, protocol=LoihiProtocol)
@tag("loihi", "floating_pt")
class PyDenseLayerLoihiModel(_DenseLayerLoihiModel):
    """The layer built from Loihi 2 primitives (``mapping="loihi"``), float
    (:class:`PyDenseLayerLoihiModelFixed`: the same in fixed point).

    Sub-processes (:func:`lava_local.decomposed.wire_tess_layer`): Lava's ``LearningDense``
    with the ``Loihi3FLearningRule`` ``dw = -u0 x1 y2 - x0 y3`` (``dense``), ``TessPost``
    (``post``) and ``LearningSignal`` (``signal``); ``s_in`` feeds the synapses,
    ``label_in`` the signal, the neurons' spikes leave through ``s_out``.

    What it computes as the fused model with the same rule (``timing="loihi"``,
    ``apply="step"``): the neurons run one step after the synapses receive (the Dense hop,
    which the fused model puts on its output), so the spikes leave at the same step; they
    reset at the start of each sample of the layer's clock (``offset``) and send the
    factors of steps ``t_l .. T-3`` only (the fused delay line's pairs); the labels wait
    ``offset + 1`` steps in the signal; ``y_scale = lr / Y_DECAY`` undoes the learning
    engine's decay of y. One thing differs: the synapses' pre trace ``x1`` cannot be reset,
    so at the start of a sample it still holds ``lambda_pre x1`` of the sample before
    (``q`` starts from 0 in the fused model); the factors of a sample's first two steps
    are zero, so the difference first enters at step 2, as ``lambda_pre**3`` times the last
    trace, and vanishes for rules without a pre trace (``lambda_pre = 0``, LLS) and for
    samples that end with a few silent steps (it decays as ``lambda_pre**k``).
    """


@implements(proc=DenseLayer, protocol=LoihiProtocol)
@tag("loihi", "fixed_pt")
class PyDenseLayerLoihiModelFixed(_DenseLayerLoihiModel):
    """The Loihi mapping in fixed point: the same parts with their fixed-point models.

    ``LearningDense`` holds the fused fixed model's integer weight mantissas with its
    ``weight_exp`` and learns with Lava's fixed-point engine (stochastic rounding);
    ``TessPost`` runs the fused fixed model's integer neuron, Psi table and post trace and
    sends y2, y3 scaled into the engine's ``y_bits`` (saturating);
    ``LearningSignal`` computes the fused fixed model's integer signal. The fused fixed model
    with the same rule learns as the engine does, with the engine's random numbers (the
    rule's ``rng_seed`` is the layer's seed), so the two mappings learn the same weights
    and spike alike, bit for bit (``tests/test_mapping_fixed.py``).
    """

    fixed = True

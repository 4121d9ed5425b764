"""A TESS layer decomposed as on Loihi 2: ``LearningDense`` + post neuron + signal generator.

The fused :class:`~lava_local.proc.dense_layer.DenseLayer` (one ProcessModel holding W,
neurons, traces and the update; the default in simulation) computes one layer step of
:func:`lava_local.kernels.layer.dense_layer_step`. On Loihi 2 the same layer is three
parts, and this module wires them in Lava::

    spikes --s_in--> LearningDense(W, Loihi3FLearningRule) --a_out--> TessPost.a_in
                          ^  bap, y1, y2, y3 (every step)  <----------- TessPost
    labels --label_in--> LearningSignal <--s_in-- TessPost.s_out
                         LearningSignal.m_out --> TessPost.m_in        (the loop)

* ``LearningDense`` (Lava's own): x0 = pre spike, x1 = pre trace q (``x1_tau = -1/ln
  lambda_pre``, impulse 1, so x1 = q exactly for lambda_pre = 0.5), rule
  ``dw = -u0 * x1 * y2 - x0 * y3``, ``t_epoch = 1`` (weights change every step).
* :class:`~lava_local.proc.tess_post.TessPost`: LIF, Psi, h; sends
  ``y2 = y_scale m alpha_pre Psi``, ``y3 = y_scale m alpha_post h``.
* :class:`~lava_local.proc.learning_signal.LearningSignal`: ``m = s B^T (softmax(s B o) -
  y*)``; it *sends first* (latency 1), which is what keeps the loop free of deadlock:
  ``LearningDense`` sends ``a_out`` before it receives; ``TessPost`` receives ``a_in``
  and ``m_in``, then sends; ``LearningSignal`` sends ``m`` (of the previous step), then
  receives. No two processes wait on each other.

Timing (measured in Lava, pinned by ``tests/test_decomposed.py``)
-----------------------------------------------------------------
Let ``pre[n]`` be row n of ``spikes`` (paper time n = 0, 1, ...). In Lava step tau
(1-based) the source sends ``pre[tau-1]``; ``LearningDense`` takes it into x0, x1 at once,
but the neuron sees it only at step tau+1 (the Dense hop), so neuron step tau+1 is paper
step n = tau-1. The generator's m for paper step n reaches the neuron one step later again
(tau+2), together with the neuron's held Psi[n] and h[n]; the learning engine applies
those factors in that same step, i.e. against x1 = q[n+2] and x0 = pre[n+2]. Hence:

    decomposed:  W <- W - lr * ( a[n-2] (x) q[n] + b[n-2] (x) pre[n] )   at paper step n
    fused:       W <- W - lr * ( a[n]   (x) q[n] + b[n]   (x) pre[n] )   (apply="step")

with ``a[n] = m[n] alpha_pre Psi(u[n])``, ``b[n] = m[n] alpha_post h[n]`` computed
exactly as in the fused layer, and in both the forward pass of paper step n uses the
weights after the update of step n-1. So the decomposed graph is the papers' rule with
the post factors paired with the pre quantities **two steps later** (``PAIRING_OFFSET``);
the two factors of the last two steps of a stream are never applied. Two further, exact
differences: (1) the neuron runs one idle step before the first input arrives (Lava step
1, zero input), so Psi(u=0) of the rest state enters h[0] (the fused layer starts with
Psi = 0); (2) Lava's float learning engine decays each received y by exp(-1/65535) before
use (``Y_DECAY``), which the builder compensates in ``y_scale``. Labels: the label that
belongs to ``pre[n]`` must reach ``LearningSignal.label_in`` one step after ``pre[n]``
reaches ``LearningDense.s_in`` (the builder's label RingBuffer is delayed by one step).

:func:`stream_reference` is the NumPy re-computation with our kernels for any pairing
offset: ``offset=0, psi_rest=False`` is the fused layer (``dense_layer_step`` with the
update applied every step), ``offset=2, psi_rest=True`` reproduces the Lava graph's
weights to float tolerance. The offset cannot be removed on the synapse side in general:
the causal term could use ``q[n-1] = (x1 - x0) / lambda_pre``, but one step is not two,
and the non-causal term needs past pre spikes, which Loihi's x traces do not keep. The
decomposed layer is always online (t_epoch = 1): a rule with ``apply="sample"`` is run
as ``apply="step"``, and the rule's ``lr`` goes into ``y_scale``.

The same parts, created by :func:`wire_tess_layer`, are the sub-process model of
:class:`~lava_local.proc.dense_layer.DenseLayer` (``mapping="loihi"``,
:func:`lava_local.run_config`), where a sample clock removes the idle step's Psi(0) and the
factors that cross samples, so that the layer computes what the fused model with
``timing="loihi"`` computes (``tests/test_mapping.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import _validate
from .kernels.basis import make_basis
from .kernels.learning_signal import label_targets, learning_signal
from .kernels.neuron import LIFParams, LIFState, lif_step
from .kernels.plasticity import EligibilityParams, dense_update, eligibility_factors
from .kernels.surrogate import Surrogate, psi
from .kernels.traces import trace_step
from .rules import TESS, LearningRule

__all__ = [
    "Y_DECAY",
    "PAIRING_OFFSET",
    "DENSE_DELAY",
    "SIGNAL_LATENCY",
    "DecomposedTessLayer",
    "loihi_learning_rule",
    "build_decomposed_tess_layer",
    "wire_tess_layer",
    "delay_labels",
    "stream_reference",
]

Y_DECAY = math.exp(-1.0 / 65535)
"""Lava's Loihi3FLearningRule fixes y taus to 65535 and decays received y once before use."""
DENSE_DELAY = 1
"""Steps between a spike reaching ``LearningDense`` and its current reaching the neuron."""
SIGNAL_LATENCY = 1
"""Steps between the neuron's spikes and their learning signal reaching the neuron."""
PAIRING_OFFSET = DENSE_DELAY + SIGNAL_LATENCY
"""Post factors of paper step n are applied with the pre trace of step n + 2."""


def loihi_learning_rule(eligibility: EligibilityParams, impulse: float = 1.0, rng_seed: Optional[int] = None):
    """The ``Loihi3FLearningRule`` of the decomposed TESS synapse.

    ``dw = -u0 * x1 * y2 - x0 * y3`` with x1 the pre trace (decay lambda_pre, impulse 1);
    for lambda_pre = 0 (LLS) the causal term uses x0 itself
    (:class:`~lava_local.kernels.learning_engine.LearningEngineParams`). The learning rate
    and the alphas ride on y2 / y3 (see :class:`~lava_local.proc.tess_post.TessPost`).
    ``impulse``: x1's increment per spike (the fixed-point layer's ``pre_impulse``);
    ``rng_seed``: the seed of the fixed-point engine's stochastic rounding (a fused layer
    with the Loihi timing and this seed rounds with the same numbers).
    """
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

    from .kernels.learning_engine import engine_params

    lam = eligibility.lambda_pre
    if lam >= 1.0:
        raise ValueError("lambda_pre = 1 (no decay) cannot be a Loihi trace time constant; use lambda_pre < 1")
    engine = engine_params(lam, 1)
    if lam == 0.0:
        return Loihi3FLearningRule(dw=engine.rule, t_epoch=1, rng_seed=rng_seed)
    return Loihi3FLearningRule(dw=engine.rule, x1_impulse=impulse, x1_tau=engine.x1_tau, t_epoch=1,
                               rng_seed=rng_seed)


def delay_labels(labels: np.ndarray, steps: int = SIGNAL_LATENCY) -> np.ndarray:
    """Per-step labels shifted later by ``steps`` (the first ``steps`` entries are -1)."""
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    if steps < len(labels):
        out[steps:] = labels[: len(labels) - steps]
    return out


def _check_stream(spikes: Any, labels: Any, n_in: int, n_classes: Optional[int]):
    if n_classes is None:
        raise ValueError("the rule's signal has no class count: pass rule.for_classes(n_classes)")
    s = _validate.finite_array("spikes", spikes)
    if s.ndim != 2 or s.shape[1] != n_in:
        raise ValueError(f"spikes must have shape (steps, n_in={n_in}), got {s.shape}")
    if np.any((s != 0) & (s != 1)):
        raise ValueError("spikes must hold 0 or 1")
    lab = np.asarray(labels)
    if lab.shape != (s.shape[0],):
        raise ValueError(f"labels must have shape ({s.shape[0]},), one per step, got {lab.shape}")
    if lab.dtype.kind not in "iu" or (lab.size and (lab.min() < -1 or lab.max() >= n_classes)):
        raise ValueError(f"labels must be integers in [-1, {n_classes}) (-1: no label)")
    return s, lab.astype(np.int64)


@dataclass
class DecomposedTessLayer:
    """The wired processes. Run with ``lava_local.run(layer.post, steps)`` (any process)."""

    dense: Any
    post: Any
    signal: Any
    learning_rule: Any
    source: Any = None
    label_source: Any = None

    @property
    def processes(self) -> tuple:
        return tuple(p for p in (self.source, self.label_source, self.dense, self.post, self.signal)
                     if p is not None)


def build_decomposed_tess_layer(
    weights: Any,
    rule: LearningRule = TESS(),
    *,
    neuron: LIFParams = LIFParams(),
    surrogate: Surrogate = Surrogate(),
    basis: Any = None,
    spikes: Any = None,
    labels: Any = None,
    name: str = "tess",
) -> DecomposedTessLayer:
    """Wire ``LearningDense -> TessPost -> LearningSignal -> TessPost.m_in`` (float models).

    ``weights``: (n_out, n_in) initial weights. ``rule``: a local ``TESS`` / ``STLLR`` /
    ``LLS`` rule (``t_l`` must be 0; the update is applied every step; ``lr`` -> y_scale;
    a rule without its own ``lr`` counts the stream as one sample,
    :meth:`~lava_local.rules.LearningRule.for_steps` over its ``len(spikes)`` steps).
    ``spikes`` (steps, n_in) and ``labels`` (steps,) per input step, -1 = no label: if
    given, a ``RingBuffer`` feeds ``dense.s_in`` and a second one, delayed by one step
    (:func:`delay_labels`), feeds ``signal.label_in``; the buffers repeat after ``steps``
    steps, so run at most ``steps`` steps for the alignment above to hold. Without them,
    connect your spike source to ``layer.dense.s_in`` and labels, one step later, to
    ``layer.signal.label_in``.
    """
    w = _validate.finite_array("weights", weights)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (n_out, n_in) matrix, got shape {w.shape}")
    n_out, n_in = w.shape
    if not isinstance(rule, LearningRule):
        raise TypeError(f"rule must be a LearningRule (TESS, STLLR, LLS), got {type(rule).__name__}")
    if rule.feedback != "local":
        raise ValueError("the decomposed layer learns from its local signal; feedback must be 'local'")
    if rule.t_l != 0:
        raise ValueError("the decomposed layer learns at every step: rule.t_l must be 0")
    rule = rule.for_neuron(neuron)
    if (spikes is None) != (labels is None):
        raise ValueError("give both spikes and labels, or neither")
    stream = None
    if spikes is not None:
        stream = _check_stream(spikes, labels, n_in, rule.signal.n_classes)
        rule = rule.for_steps(len(stream[0]))
    elif rule.lr is None:
        raise ValueError("without a stream the layer has no sample length to spread the default step per sample "
                         "over: give the rule its step per time step, rule.with_(lr=...)")
    layer = wire_tess_layer(w, rule, neuron, surrogate, basis, name)
    if stream is not None:
        from lava.proc.io.source import RingBuffer

        s, lab = stream
        layer.source = RingBuffer(data=s.T.copy())
        layer.label_source = RingBuffer(data=delay_labels(lab)[None, :].astype(float))
        layer.source.s_out.connect(layer.dense.s_in)
        layer.label_source.s_out.connect(layer.signal.label_in)
    return layer


def wire_tess_layer(weights: np.ndarray, rule: LearningRule, neuron: LIFParams, surrogate: Surrogate,
                    basis: Any, name: str, *, steps_per_sample: Optional[int] = None, offset: int = 0,
                    learn: bool = True, fixed: Any = None, weights_fixed: Optional[np.ndarray] = None,
                    profile: Any = "loihi2", seed: int = 0) -> DecomposedTessLayer:
    """Create and wire ``LearningDense -> TessPost -> LearningSignal -> TessPost.m_in`` for
    ``rule`` (already on ``neuron``); the inputs ``dense.s_in`` and ``signal.label_in`` stay
    open. With ``steps_per_sample`` the parts follow the sample clock of a layer ``offset``
    steps down the pipeline (the sub-process model of
    :class:`~lava_local.proc.dense_layer.DenseLayer`; with the drain, ``steps_per_sample`` is
    the clock's period, the sample's steps and its drain): the neurons run one step after the
    synapses receive, and the labels, fed by the source, wait as long. With ``fixed`` (the
    layer's ``DenseLayerFixedParams``) and ``weights_fixed`` (its integer mantissas) the parts
    carry what their fixed-point models need: the synapses take the mantissas and
    ``weight_exp``, x1 counts ``pre_impulse`` per spike, the neurons the integer parameters."""
    from lava.proc.dense.process import LearningDense

    from .proc.learning_signal import LearningSignal
    from .proc.tess_post import TessPost

    n_out = weights.shape[0]
    clocked = steps_per_sample is not None
    lrule = loihi_learning_rule(rule.eligibility, 1.0 if fixed is None else fixed.pre_impulse, rng_seed=seed)
    extra = {}
    if fixed is not None:
        weights = np.asarray(weights_fixed)
        # Lava's mixed-sign weights count the sign apart: num_weight_bits = mantissa bits + 1
        # keeps every signed mantissa (8 would truncate them to even values)
        extra = {"weight_exp": fixed.weight_exp, "num_weight_bits": fixed.synapse.weight_bits + 1}
    signal = LearningSignal(n=n_out, signal=rule.signal, basis=basis, latency=SIGNAL_LATENCY,
                            label_delay=offset + DENSE_DELAY if clocked else 0, name=f"{name}_signal")
    dense = LearningDense(weights=weights.copy(), learning_rule=lrule, name=f"{name}_dense", **extra)
    post = TessPost(n=n_out, learning_rule=lrule, neuron=neuron, surrogate=surrogate,
                    eligibility=rule.eligibility, y_scale=rule.lr / Y_DECAY, steps_per_sample=steps_per_sample,
                    offset=offset + DENSE_DELAY if clocked else 0, t_l=rule.t_l, learn=learn, fixed=fixed, profile=profile, seed=seed,
                    name=f"{name}_post")
    dense.a_out.connect(post.a_in)
    post.s_out_bap.connect(dense.s_in_bap)
    post.s_out_y1.connect(dense.s_in_y1)
    post.s_out_y2.connect(dense.s_in_y2)
    post.s_out_y3.connect(dense.s_in_y3)
    post.s_out.connect(signal.s_in)
    signal.m_out.connect(post.m_in)
    return DecomposedTessLayer(dense=dense, post=post, signal=signal, learning_rule=lrule)


def stream_reference(
    spikes: Any,
    labels: Any,
    weights: Any,
    rule: LearningRule = TESS(),
    neuron: LIFParams = LIFParams(),
    surrogate: Surrogate = Surrogate(),
    basis: Any = None,
    offset: int = 0,
    psi_rest: bool = False,
    apply: str = "step",
) -> dict:
    """One TESS layer over a spike stream in NumPy, with the update applied every step
    (``apply="sample"``: summed over the stream and applied at its end).

    At paper step n: q, h, LIF (weights after the update of step n-1), Psi, m (zero when
    ``labels[n] < 0``), the factors a[n], b[n], then ``W -= lr (a[n-offset] (x) q[n] +
    b[n-offset] (x) pre[n])`` (``rule.lr``, or without one the default step per sample over
    the stream's steps). ``psi_rest``: the neuron's state before step 0 is the rest
    state u = 0 with its Psi(0) (the decomposed graph's idle first step) instead of Psi = 0.

    ``offset=0, psi_rest=False``: the fused layer. ``offset=PAIRING_OFFSET, psi_rest=True``:
    the decomposed Lava graph run for ``len(spikes)`` steps. ``offset=PAIRING_OFFSET,
    psi_rest=False``: a layer with ``LearningRule(timing="loihi")`` (the fused models and
    the trainer start each sample from Psi = 0, as the papers' equations do; with
    ``alpha_post = 0`` the idle step's Psi(0), which enters only h, makes no difference).
    Returns ``weights``, ``o`` (steps, n_out), ``a``, ``b`` (steps, n_out).
    """
    w = _validate.finite_array("weights", weights).copy()
    n_out, n_in = w.shape
    rule = rule.for_neuron(neuron)
    s, lab = _check_stream(spikes, labels, n_in, rule.signal.n_classes)
    rule = rule.for_steps(len(s))  # the stream is one sample, as a DenseLayer of len(s) steps per sample
    _validate.integer("offset", offset, 0)
    if apply not in ("step", "sample"):
        raise ValueError(f"apply must be 'step' or 'sample', got {apply!r}")
    total = np.zeros_like(w)
    if basis is None:
        basis = make_basis(rule.signal.basis, rule.signal.n_classes, n_out)
    targets = label_targets(basis, rule.signal.error)  # every class's projected label, made once
    elig = rule.eligibility
    unit = EligibilityParams(elig.lambda_pre, elig.lambda_post, 1.0, 1.0)
    q, h = np.zeros(n_in), np.zeros(n_out)
    state = LIFState(np.zeros(n_out), np.zeros(n_out))
    psi_prev = psi(np.zeros(n_out), neuron.v_th, surrogate) if psi_rest else np.zeros(n_out)
    a_hist, b_hist, outs = [], [], []
    for n, pre in enumerate(s):
        q = trace_step(q, pre, elig.lambda_pre)
        h = trace_step(h, psi_prev, elig.lambda_post)
        state = lif_step(state, pre @ w.T, neuron)
        psi_u = psi(state.u, neuron.v_th, surrogate)
        if lab[n] >= 0:
            m = learning_signal(state.o, targets[lab[n]], basis, rule.signal)
        else:
            m = np.zeros(n_out)
        a, b = eligibility_factors(m, psi_u, h, elig)
        a_hist.append(a)
        b_hist.append(b)
        outs.append(state.o)
        k = n - offset
        if k >= 0:
            total = total + dense_update(np.ones(n_out), a_hist[k], b_hist[k], q, pre, unit)
        if apply == "step":
            w, total = w - rule.lr * total, np.zeros_like(w)
        psi_prev = psi_u
    w = w - rule.lr * total
    return {"weights": w, "o": np.array(outs), "a": np.array(a_hist), "b": np.array(b_hist)}

"""One step of a plastic LIF layer: the kernels composed in the papers' order.

This is the *only* place where the order of operations of a learning layer is written
down; the Lava float and fixed-point layer models and the NumPy reference network call
it. For a dense layer at step t (TESS Algorithm 1, t_l = 0 unless the rule sets it)::

    q[t]      = lambda_pre q[t-1] + o_pre[t]                 pre trace
    h[t]      = lambda_post h[t-1] + Psi(u[t-1])             post trace
    u[t],o[t] = LIF(u[t-1], o[t-1], W o_pre[t])
    m[t]      = s B^T (softmax(s B o[t]) - y*)               local signal (if labelled)
    dW       += (m alpha_pre Psi(u[t])) (x) q[t] + (m alpha_post h[t]) (x) o_pre[t]

and at the end of the sample ``W -= lr dW`` (or every step with ``apply="step"``).

With the Loihi timing (``LearningRule(timing="loihi")``, the pairing of the layer
decomposed for Loihi 2, :mod:`lava_local.decomposed`) the post factors
``a[t] = m alpha_pre Psi(u[t])``, ``b[t] = m alpha_post h[t]`` wait in a delay line of
``k = PAIRING_OFFSET = 2`` steps in the layer state (:func:`delay_line`)::

    dW       += a[t-k] (x) q[t] + b[t-k] (x) o_pre[t]            (factors before step 0: zero)

With ``rule.filtered`` the eligibility and the spikes the signal reads are first low-pass
filtered by the read-out's leak (:func:`dense_layer_filter`), and ``dW += m (x) e_bar``.

In fixed point a dense layer with the Loihi timing learns as the chip's learning engine
does (:func:`dense_layer_step_fixed` with an :class:`EngineStep`, :mod:`.learning_engine`), bit for bit what the
Loihi mapping learns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from ..hw_profile import SynapseFormat, TraceFormat
from ._array import add_into
from .conv import (
    avg_pool,
    avg_pool_adjoint,
    avg_pool_adjoint_windows,
    conv2d,
    conv2d_int,
    conv2d_weight_grad_int,
    conv_output_size,
    pool_windows,
    sum_pool,
)
from .learning_signal import (
    FixedError,
    SignalParams,
    SoftmaxTable,
    back_project_error_fixed,
    integer_basis,
    learning_signal,
    learning_signal_fixed,
    local_error,
    local_error_fixed,
    softmax_error_fixed,
)
from .learning_engine import LearningEngineParams, StepRandoms, engine_weight_step
from .neuron import LIFFixedParams, LIFParams, LIFState, lif_step, lif_step_fixed, spikes, trunc_shift
from .plasticity import (
    EligibilityParams,
    TermStacks,
    apply_update_fixed,
    eligibility_factors,
    conv_update,
    dense_outer,
    dense_update,
    dense_update_fixed,
    engine_factor_fixed,
    filtered_eligibility_step,
    filtered_update,
    stacked_update,
    synapse_outer,
)
from .surrogate import PsiTable, Surrogate, psi, psi_fixed
from .traces import trace_step, trace_step_fixed
from .window import backward_view_update, trace_window

__all__ = [
    "DenseLayerState",
    "dense_layer_init",
    "delay_line",
    "dense_layer_step",
    "layer_local_signal",
    "dense_layer_forward",
    "dense_layer_learn",
    "dense_layer_filter",
    "DenseLayerFixedParams",
    "dense_layer_step_fixed",
    "dense_layer_filter_fixed",
    "FilterFixedParams",
    "dense_layer_apply_fixed",
    "EngineStep",
    "ReadoutState",
    "readout_init",
    "readout_step",
    "ReadoutFixedParams",
    "readout_step_fixed",
    "readout_apply_fixed",
    "CENTRE_SHIFT",
    "CENTRE_FRAC_BITS",
    "centre_shift",
    "input_mean_update",
    "input_mean_update_fixed",
    "input_mean_fixed",
    "input_mean_float",
    "ConvGeometry",
    "conv_layer_init",
    "conv_layer_step",
    "conv_layer_forward",
    "conv_layer_learn",
    "conv_learning_signal",
    "conv_learning_signal_pooled",
    "conv_layer_step_fixed",
    "layer_integrate",
    "layer_learn_window",
]


class DenseLayerState(NamedTuple):
    u: np.ndarray
    o: np.ndarray
    q: np.ndarray
    h: np.ndarray
    psi: np.ndarray
    dw: np.ndarray
    #: where ``psi``, ``h`` and ``q`` are views of :class:`~.plasticity.TermStacks` (a
    #: caller that writes its states in place), the update's two terms go in one product
    stacks: Optional[TermStacks] = None
    #: the Loihi timing's delay line: the post factors ``(a, b)`` of the last k steps,
    #: oldest first (:func:`delay_line`); ``None``: each step's factors are used at once
    delay: Optional[Tuple[Tuple[Any, Any], ...]] = None
    #: ``rule.filtered``: the eligibility filtered by the read-out's leak, one per synapse
    #: (:func:`~.plasticity.filtered_eligibility_step`), and the layer's spikes filtered
    #: alike, which its local signal reads (:func:`dense_layer_filter`); ``None`` otherwise
    e_bar: Any = None
    o_bar: Any = None


def dense_layer_init(n_in: int, n_out: int, dtype=float, offset: int = 0, filtered: bool = False) -> DenseLayerState:
    """Zero state of one sample; ``offset``: the rule's ``pairing_offset`` (delay line);
    ``filtered``: with the filtered eligibility and spikes (``rule.filtered``)."""
    z_out = np.zeros(n_out, dtype)
    weight_sized = np.zeros((n_out, n_in), dtype)
    return DenseLayerState(z_out, z_out.copy(), np.zeros(n_in, dtype), z_out.copy(), z_out.copy(),
                           weight_sized, delay=delay_line(offset, z_out),
                           e_bar=weight_sized.copy() if filtered else None, o_bar=z_out.copy() if filtered else None)


def delay_line(offset: int, post: Any) -> Optional[Tuple[Tuple[Any, Any], ...]]:
    """An empty delay line of ``offset`` steps of post factors shaped like ``post`` (the
    neurons of one sample or a batch, NumPy or torch, float or integer): zero factors,
    so the first ``offset`` steps of a sample add nothing. ``None`` for offset 0."""
    if offset == 0:
        return None
    return tuple((post * 0, post * 0) for _ in range(offset))


def _delayed(delay: Tuple[Tuple[Any, Any], ...], a: Any, b: Any):
    """Push this step's factors into the delay line; returns the oldest and the new line."""
    return delay[0], delay[1:] + ((a, b),)


def dense_layer_step(
    state: DenseLayerState,
    pre: np.ndarray,
    weights: np.ndarray,
    neuron: LIFParams,
    surrogate: Surrogate,
    eligibility: EligibilityParams,
    basis: np.ndarray,
    signal: SignalParams,
    target: Optional[np.ndarray],
    in_place: bool = False,
    filter_decay: Optional[float] = None,
    filter_gain: float = 1.0,
) -> DenseLayerState:
    """One float step; ``target`` is the one-hot label (or its
    :class:`~.learning_signal.ProjectedTarget`), or ``None`` for no learning.

    Works on one sample (``pre`` of shape ``(n_in,)``, NumPy) and on batches (``(B, n_in)``,
    NumPy or torch); ``dw`` sums over the batch. ``in_place=True`` writes the new state
    over the old one (:func:`dense_layer_forward`, :func:`dense_layer_learn`).
    ``filter_decay`` (``rule.filtered``, a state with ``e_bar`` and ``o_bar``): the
    read-out's leak; the filtered state takes this step (:func:`dense_layer_filter`), with
    or without a target, and the local signal reads the filtered spikes; ``filter_gain``:
    what enters the filtered eligibility is scaled by (``LearningRule.filter_input_gain``).
    """
    state = dense_layer_forward(state, pre, weights, neuron, surrogate, eligibility, in_place)
    if filter_decay is not None:
        state = dense_layer_filter(state, pre, eligibility, filter_decay, in_place, filter_gain)
    if target is None:  # a delay line still applies its waiting factors (and takes zeros)
        return state if state.delay is None else dense_layer_learn(state, pre, state.o * 0, eligibility, in_place)
    return dense_layer_learn(state, pre, layer_local_signal(state, target, basis, signal), eligibility, in_place)


def layer_local_signal(state: DenseLayerState, target: Any, basis: Any, signal: SignalParams,
                       geometry: Optional[ConvGeometry] = None) -> Any:
    """A layer's local signal ``m`` from its own spikes: a dense (or recurrent) layer's
    classifier reads its spikes, or its spikes filtered by the read-out's leak where the state
    holds them (``rule.filtered``, :func:`dense_layer_filter`); a conv layer's (``geometry``)
    its spikes average-pooled (:func:`conv_learning_signal_pooled`, the shape
    :func:`conv_layer_learn` takes)."""
    if geometry is not None:
        return conv_learning_signal_pooled(state.o, target, basis, signal, geometry)
    return learning_signal(state.o if state.o_bar is None else state.o_bar, target, basis, signal)


def dense_layer_filter(state: DenseLayerState, pre: Any, eligibility: EligibilityParams, decay: float,
                       in_place: bool = False, gain: float = 1.0) -> DenseLayerState:
    """``rule.filtered``, one step: the eligibility and the layer's spikes low-pass filtered
    by the read-out's leak ``decay``::

        e_bar[t] = decay e_bar[t-1] + gain (alpha_pre Psi(u[t]) (x) q[t] + alpha_post h[t] (x) o_pre[t])
        o_bar[t] = decay o_bar[t-1] + o[t]

    ``gain``: 1, the read-out's sum, or ``1 - decay``, a filter of unit gain
    (``LearningRule(filtered_gain="unit")``); the spikes the signal reads keep the read-out's
    sum either way, so the signal is the same and only the update's size changes.

    (:func:`~.plasticity.filtered_eligibility_step`; after :func:`dense_layer_forward`).
    On Loihi 2 ``e_bar`` is what a synapse's tag holds: the learning engine decays it and
    adds the eligibility's products (as Lava's reward-modulated STDP keeps its eligibility
    trace in the tag), and the update reads it with the signal (:func:`dense_layer_learn`).
    A state without ``o_bar`` (a signal that does not read the layer's spikes: S-TLLR's
    ``bp`` and ``dfa``) filters the eligibility only.
    """
    e_bar = filtered_eligibility_step(state.e_bar, state.psi, state.h, state.q, pre, eligibility, decay, in_place,
                                      gain)
    o_bar = None if state.o_bar is None else trace_step(state.o_bar, state.o, decay, in_place)
    return state._replace(e_bar=e_bar, o_bar=o_bar)


def dense_layer_forward(
    state: DenseLayerState, pre: Any, weights: Any, neuron: LIFParams, surrogate: Surrogate,
    eligibility: EligibilityParams, in_place: bool = False,
) -> DenseLayerState:
    """The step without learning: traces, LIF, Psi (``dw`` unchanged). ``in_place=True``
    writes the new state over the old one (for a caller that owns it, like the batched
    trainer: no second set of layer-sized arrays while a step runs)."""
    return _forward(state, pre, weights, neuron, surrogate, eligibility, None, in_place)


def _forward(state: DenseLayerState, pre: Any, weights: Any, neuron: LIFParams, surrogate: Surrogate,
             eligibility: EligibilityParams, geometry: Optional[ConvGeometry], in_place: bool) -> DenseLayerState:
    """Traces, LIF and Psi of one step, dense (``geometry=None``) or conv."""
    # h takes Psi of the step before, so it goes before Psi is written over
    q = trace_step(state.q, pre, eligibility.lambda_pre, in_place)
    h = trace_step(state.h, state.psi, eligibility.lambda_post, in_place)
    lif = layer_integrate(state, pre, weights, neuron, geometry, in_place)
    psi_u = psi(lif.u, neuron.v_th, surrogate, out=state.psi if in_place else None)
    # new arrays are no views of the stacks: they stay only where everything was written over
    return state._replace(u=lif.u, o=lif.o, q=q, h=h, psi=psi_u, stacks=state.stacks if in_place else None)


def dense_layer_learn(state: DenseLayerState, pre: Any, m: Any, eligibility: EligibilityParams,
                      in_place: bool = False) -> DenseLayerState:
    """Add this step's update for a learning signal ``m`` (local, back-propagated or DFA).

    ``in_place=True`` adds it into ``state.dw`` itself (for a caller that owns the
    accumulator, like the batched trainer: no second weight-sized array per step), with
    ``state.stacks`` both terms in one product. With a delay line (the Loihi timing) the
    update pairs the factors of ``k`` steps ago with this step's ``q`` and ``o_pre``. With
    a filtered eligibility (``state.e_bar``, :func:`dense_layer_filter`) the update is
    ``m (x) e_bar`` (:func:`~.plasticity.filtered_update`).
    """
    if state.e_bar is not None:
        return state._replace(dw=_accumulate(state.dw, in_place, lambda out: filtered_update(m, state.e_bar, out)))
    if state.delay is not None:
        (a, b), delay = _delayed(state.delay, *eligibility_factors(m, state.psi, state.h, eligibility))
        return state._replace(delay=delay, dw=_accumulate(
            state.dw, in_place, lambda out: _paired_update(a, b, state.q, pre, eligibility, out)))
    if in_place and state.stacks is not None:
        return state._replace(dw=stacked_update(m, state.stacks, pre, eligibility, out=state.dw))
    return state._replace(dw=_accumulate(
        state.dw, in_place, lambda out: dense_update(m, state.psi, state.h, state.q, pre, eligibility, out=out)))


def _paired_update(a: Any, b: Any, q: Any, pre: Any, eligibility: EligibilityParams, out: Any) -> Any:
    """``a (x) q + b (x) o_pre`` for given post factors: new, or added into ``out``."""
    if out is None:
        return dense_outer(a, b, q, pre, eligibility)
    for factor, trace, alpha in ((a, q, eligibility.alpha_pre), (b, pre, eligibility.alpha_post)):
        if alpha != 0:  # a term with a zero weight costs nothing
            synapse_outer(factor, trace, out=out)
    return out


def _accumulate(dw: Any, in_place: bool, update: Any) -> Any:
    """``dw`` plus a step's update, where ``update(out)`` computes it (into ``out`` when
    given): added into ``dw`` itself when the caller owns it, else as a new sum."""
    return update(dw) if in_place else dw + update(None)


@dataclass(frozen=True)
class FilterFixedParams:
    """``rule.filtered`` in integers: the read-out's leak as the read-out's membrane holds
    it (``decay`` of ``2**decay_bits``, :func:`~lava_local.fixed_point.quantize_decay`), and
    the fractional bits of the filtered spikes (one spike adds ``2**spike_frac_bits``)."""

    decay: int
    decay_bits: int
    spike_frac_bits: int


@dataclass(frozen=True)
class DenseLayerFixedParams:
    """Integer parameters of a plastic dense layer in one hardware profile's format.

    Weights are ``weight_bits``-bit mantissas with a shared exponent: the synaptic input is
    ``(W @ o_pre) << weight_exp`` (``>>`` for negative exponents), in neuron input units.
    ``pre_impulse`` is the pre-trace increment per spike; ``lr_mant``/``lr_shift`` turn
    the integer accumulator into weight steps: ``dW_int = acc * lr_mant / 2**lr_shift``
    (stochastically rounded).
    """
    neuron: LIFFixedParams
    psi: PsiTable
    pre_decay: int
    post_decay: int
    pre_impulse: int
    trace: TraceFormat
    synapse: SynapseFormat
    weight_exp: int
    alpha_pre: int
    alpha_post: int
    error: FixedError
    lr_mant: int
    lr_shift: int
    filter: Optional[FilterFixedParams] = None  # rule.filtered


def dense_layer_step_fixed(
    state: DenseLayerState,
    pre: np.ndarray,
    weights: np.ndarray,
    params: DenseLayerFixedParams,
    basis_sign: np.ndarray,
    label: int,
    engine: Optional["EngineStep"] = None,
) -> DenseLayerState:
    """One integer step (same order as :func:`dense_layer_step`); ``label < 0``: no learning.

    With ``engine`` (the Loihi timing, learning as the chip does) the update is the learning
    engine's (:func:`_engine_learn`). A state with ``e_bar`` and ``o_bar`` (``rule.filtered``,
    ``params.filter``) filters them (:func:`dense_layer_filter_fixed`), labelled or not,
    and learns ``m (x) e_bar`` from the signal of the filtered spikes.
    """
    tr = params.trace
    pre = np.asarray(pre, np.int64)
    h, lif, psi_u = _forward_fixed(state, pre, weights, params)
    if engine is not None:
        return _engine_learn(state, pre, weights, params, basis_sign, label, engine, h, lif, psi_u)
    q = trace_step_fixed(state.q, pre * params.pre_impulse, params.pre_decay, tr.decay_bits, tr.max)
    dw, delay = state.dw, state.delay
    if state.e_bar is not None:
        stepped = dense_layer_filter_fixed(state._replace(u=lif.u, o=lif.o, q=q, h=h, psi=psi_u), pre, params)
        if label >= 0:
            m = learning_signal_fixed(stepped.o_bar, label, basis_sign, params.error, params.filter.spike_frac_bits)
            stepped = stepped._replace(dw=dw + filtered_update(m, stepped.e_bar))
        return stepped
    if delay is not None:  # the Loihi timing: a step without a label pushes zero factors
        m = learning_signal_fixed(lif.o, label, basis_sign, params.error)
        (a, b), delay = _delayed(delay, *eligibility_factors(m, psi_u, h, params))
        dw = dw + dense_update_fixed(1, a, b, q, pre, 1, 1, params.pre_impulse)
    elif label >= 0:
        m = learning_signal_fixed(lif.o, label, basis_sign, params.error)
        dw = dw + dense_update_fixed(m, psi_u, h, q, pre, params.alpha_pre, params.alpha_post, params.pre_impulse)
    return DenseLayerState(lif.u, lif.o, q, h, psi_u, dw, delay=delay)


def dense_layer_filter_fixed(state: DenseLayerState, pre: np.ndarray, params: DenseLayerFixedParams) -> DenseLayerState:
    """Integer form of :func:`dense_layer_filter` (after the step's traces, LIF and Psi)::

        e_bar = trunc(e_bar (2**b - decay) / 2**b) + alpha_pre Psi (x) q + alpha_post h (x) o_pre impulse
        o_bar = trunc(o_bar (2**b - decay) / 2**b) + o 2**spike_frac_bits

    decaying as the read-out's membrane does (toward zero, ``params.filter``); the
    eligibility's terms are those of :func:`~.plasticity.dense_update_fixed` without the
    signal, so ``m (x) e_bar`` counts in the accumulator's units and the learning rate's
    mapping holds. A filter of unit gain (``LearningRule(filtered_gain="unit")``) keeps this
    sum, at full precision, and takes its gain ``1 - decay`` in the layer's learning rate
    (:func:`~lava_local.fixed_point.quantize_dense_layer`): the same update."""
    f = params.filter
    if f is None:
        raise ValueError("a filtered layer state needs the filter's integer parameters: quantize the layer with "
                         "filter_decay (lava_local.fixed_point.quantize_dense_layer)")
    keep = (1 << f.decay_bits) - f.decay
    fresh = dense_update_fixed(1, state.psi, state.h, state.q, pre, params.alpha_pre, params.alpha_post,
                               params.pre_impulse)
    return state._replace(e_bar=trunc_shift(np.asarray(state.e_bar, np.int64) * keep, f.decay_bits) + fresh,
                          o_bar=trunc_shift(np.asarray(state.o_bar, np.int64) * keep, f.decay_bits)
                          + (np.asarray(state.o, np.int64) << f.spike_frac_bits))


def _forward_fixed(state: DenseLayerState, pre: np.ndarray, weights: np.ndarray, params: DenseLayerFixedParams):
    """The integer post trace, LIF and Psi of one step: ``(h, LIFState, psi_u)``."""
    tr = params.trace
    h = trace_step_fixed(state.h, state.psi, params.post_decay, tr.decay_bits, tr.max)
    active = np.flatnonzero(pre)  # spikes are sparse: sum only the active columns (exact)
    acc = weights[:, active] @ pre[active]
    current = acc << params.weight_exp if params.weight_exp >= 0 else acc >> -params.weight_exp
    lif = lif_step_fixed(LIFState(state.u, state.o), current, params.neuron)
    return h, lif, psi_fixed(lif.u, params.neuron.threshold, params.psi)


class EngineStep(NamedTuple):
    """What a fixed-point layer step with Loihi's learning engine takes besides the layer's
    parameters: the engine's configuration (:func:`~.learning_engine.engine_params`), the
    scaling of the post factors into y2, y3 (:class:`~lava_local.fixed_point.EngineFactorScale`),
    the random numbers rounding this step's factors (:func:`~.learning_engine.factor_rng`)
    and the engine's own of this step (:class:`~.learning_engine.EngineRandoms`)."""

    params: LearningEngineParams
    factors: Any
    factor_rng: np.random.Generator
    randoms: StepRandoms


def _engine_learn(state: DenseLayerState, pre: np.ndarray, weights: np.ndarray, params: DenseLayerFixedParams,
                  basis_sign: np.ndarray, label: int, engine: EngineStep, h: np.ndarray, lif: LIFState,
                  psi_u: np.ndarray) -> DenseLayerState:
    """The Loihi timing's update as the chip learns it (:mod:`.learning_engine`).

    The signal is :func:`dense_layer_step_fixed`'s; the post factors ``a``, ``b`` are
    rounded into the engine's ``y2``, ``y3`` (as the post neuron sends them), wait
    ``PAIRING_OFFSET`` steps in the delay line and meet the pre spikes of their step in
    :func:`~.learning_engine.engine_weight_step`. ``q`` holds the engine's pre trace x1
    (which no sample boundary resets: the synapse cannot), ``dw`` the engine's weight
    changes in weight units (:func:`~.learning_engine.engine_apply`).
    """
    m = learning_signal_fixed(lif.o, label, basis_sign, params.error)
    a, b = eligibility_factors(m, psi_u, h, params)
    scale = engine.factors
    y2 = engine_factor_fixed(a, scale.y2_mant, scale.y2_shift, scale.limit, engine.factor_rng)
    y3 = engine_factor_fixed(b, scale.y3_mant, scale.y3_shift, scale.limit, engine.factor_rng)
    (y2, y3), delay = _delayed(state.delay, y2, y3)
    learned, x1 = engine_weight_step(weights, state.q, pre, y2, y3, engine.params, engine.randoms)
    dw = state.dw + (learned - np.asarray(weights, np.int64))
    return DenseLayerState(lif.u, lif.o, x1, h, psi_u, dw, delay=delay)


def dense_layer_apply_fixed(
    weights: np.ndarray, dw: np.ndarray, params: DenseLayerFixedParams, rng: np.random.Generator
) -> np.ndarray:
    """``W <- W - stochastic_round(dW * lr_mant / 2**lr_shift)``, saturated to the mantissa width."""
    return apply_update_fixed(weights, dw * params.lr_mant, params.lr_shift, params.synapse.weight_max, rng)


# --- the classifier read-out -------------------------------------------------------------
#
# A non-spiking leaky integrator ``u[t] = gamma u[t-1] + W o_pre[t]`` whose membrane gives
# the class scores. Its own local loss is CE(softmax(u[t]), y*) at every step; because the
# read-out is linear, du[t]/dW = q[t] with the pre trace decaying at gamma, so the update
# (p - y*) (x) q is the exact local gradient: the plasticity kernel with Psi = 1 and
# alpha_post = 0, which is the synapse product itself (:func:`~.plasticity.synapse_outer`).

_SOFTMAX = SignalParams(error="softmax")


class ReadoutState(NamedTuple):
    u: np.ndarray
    q: np.ndarray
    score: np.ndarray
    dw: np.ndarray


def readout_init(n_in: int, n_classes: int, dtype=float) -> ReadoutState:
    return ReadoutState(np.zeros(n_classes, dtype), np.zeros(n_in, dtype), np.zeros(n_classes, dtype),
                        np.zeros((n_classes, n_in), dtype))


def readout_step(
    state: ReadoutState, pre: np.ndarray, weights: np.ndarray, gamma: float, target: Optional[np.ndarray],
    in_place: bool = False, mean: Optional[np.ndarray] = None,
) -> ReadoutState:
    """One float read-out step; scores accumulate ``u`` over the sample. ``in_place=True``
    writes the new state over the old one (traces, scores and the update accumulator).
    ``mean``: the centred read-out's input mean ``m``; it integrates ``o_pre[t] - m``
    (:func:`input_mean_update`)."""
    if mean is not None:
        pre = pre - mean
    q = trace_step(state.q, pre, gamma, in_place)
    u = trace_step(state.u, pre @ weights.T, gamma, in_place)
    dw = state.dw
    if target is not None:
        m = local_error(u, target, _SOFTMAX)
        dw = _accumulate(dw, in_place, lambda out: synapse_outer(m, q, out=out))
    return ReadoutState(u, q, add_into(state.score, u) if in_place else state.score + u, dw)


@dataclass(frozen=True)
class ReadoutFixedParams:
    """Integer read-out: membrane in neuron input units << input_shift, as the LIF's."""
    decay: int            # 12-bit membrane/trace decrement (gamma = 1 - decay / 4096)
    decay_bits: int
    state_max: int
    input_shift: int
    input_max: int        # the synaptic input saturates to [-input_max - 1, input_max], as the LIF's
    pre_impulse: int
    trace: TraceFormat
    synapse: SynapseFormat
    weight_exp: int
    softmax: SoftmaxTable
    gap_shift: int
    lr_mant: int
    lr_shift: int
    centre_bits: int = 0  # a centred read-out's fraction bits of o_pre[t] - m (0: not centred)


def readout_step_fixed(
    state: ReadoutState, pre: np.ndarray, weights: np.ndarray, params: ReadoutFixedParams, label: int,
    mean: Optional[np.ndarray] = None,
) -> ReadoutState:
    """One integer read-out step (the float step's order); ``label < 0``: no learning.

    A centred read-out (``params.centre_bits = F > 0``) takes ``mean``, the input mean in
    units of ``2**-F`` spike (:func:`input_mean_update_fixed`), and integrates ``(o_pre << F)
    - mean``: its trace is signed and ``F`` bits finer (saturating at ``±trace max << F``),
    its synaptic input is shifted back by ``F`` with the weight exponent's shift, before the
    accumulator's width, and its update is ``F`` bits larger (:func:`readout_apply_fixed`
    shifts them off)."""
    tr = params.trace
    pre = np.asarray(pre, np.int64)
    if params.centre_bits:
        f = params.centre_bits
        pre = (pre << f) - np.asarray(mean, np.int64)
        decayed = trunc_shift(np.asarray(state.q, np.int64) * ((1 << tr.decay_bits) - params.decay), tr.decay_bits)
        q = np.clip(decayed + pre * params.pre_impulse, -(tr.max << f), tr.max << f)
        shift = params.weight_exp - f
    else:
        q = trace_step_fixed(state.q, pre * params.pre_impulse, params.decay, tr.decay_bits, tr.max)
        shift = params.weight_exp
    acc = weights @ pre
    current = acc << shift if shift >= 0 else acc >> -shift
    current = np.clip(current, -params.input_max - 1, params.input_max)  # the dendritic accumulator's width
    decayed = trunc_shift(np.asarray(state.u, np.int64) * ((1 << params.decay_bits) - params.decay), params.decay_bits)
    u = np.clip(decayed + (current << params.input_shift), -params.state_max, params.state_max)
    dw = state.dw
    if label >= 0:
        m = softmax_error_fixed(u, label, params.softmax, params.gap_shift)
        dw = dw + np.outer(m, q)
    return ReadoutState(u, q, state.score + u, dw)


def readout_apply_fixed(weights: np.ndarray, dw: np.ndarray, params: ReadoutFixedParams,
                        rng: np.random.Generator) -> np.ndarray:
    return apply_update_fixed(weights, dw * params.lr_mant, params.lr_shift + params.centre_bits,
                              params.synapse.weight_max, rng)


# --- the read-out's centred input (an option) ----------------------------------------------
#
# A hidden layer's neurons all fire at positive rates, so the read-out's input summed over a
# sample has a part common to every sample, 4 to 11 times the rest on the temporal sets (1.6
# on the N-MNIST subset). A per-sample SGD step moves every class score along it, and the
# read-out swings from one class to another (benchmarks/RESULTS.md, "The read-out's common
# mode online"). A centred read-out integrates ``o_pre[t] - m`` instead, ``m`` each input's
# mean spikes per step over the learning samples seen: one value per input, updated after
# each learning sample with a shift.

#: the running mean's slowest step: ``2**-CENTRE_SHIFT`` of the way to a sample's rate
CENTRE_SHIFT = 4
#: the fixed-point mean's fraction bits (``m`` in units of ``2**-CENTRE_FRAC_BITS`` spike per
#: step): the shift's rounding leaves ``m`` within ``2**(CENTRE_SHIFT - 1)`` units of where it
#: would move, 0.002 spikes per step at 12 bits (at 8 bits, 0.03, a tenth of a typical rate)
CENTRE_FRAC_BITS = 12


def centre_shift(seen: int) -> int:
    """The shift of the mean's update after the ``seen``-th learning sample (1, 2, ...):
    ``min(ceil(log2 seen), CENTRE_SHIFT)``. Steps of 1, 1/2, 1/4, 1/4, 1/8 (4 samples), then
    1/16: the first sample's rate, the plain mean of two, then an exponential average over
    about 16 samples, every step a shift."""
    return min((int(seen) - 1).bit_length(), CENTRE_SHIFT)


def input_mean_update(mean: np.ndarray, counts: np.ndarray, steps: int, seen: int) -> np.ndarray:
    """``m <- m + 2**-s (counts / T - m)``, ``s = centre_shift(seen)``: ``counts`` the
    sample's spikes per input over its ``steps`` steps, ``seen`` the learning samples seen
    with this one."""
    return mean + (counts / steps - mean) / (1 << centre_shift(seen))


def input_mean_fixed(mean: np.ndarray) -> np.ndarray:
    """A float input mean (spikes per step) in the fixed-point read-out's units, ``2**-F``."""
    return np.round(np.asarray(mean, dtype=float) * 2.0**CENTRE_FRAC_BITS).astype(np.int64)


def input_mean_float(mean: np.ndarray) -> np.ndarray:
    """The fixed-point read-out's input mean in spikes per step (:func:`input_mean_fixed`'s inverse)."""
    return np.asarray(mean, dtype=float) / 2.0**CENTRE_FRAC_BITS


def input_mean_update_fixed(mean: np.ndarray, counts: np.ndarray, steps: int, seen: int) -> np.ndarray:
    """The integer :func:`input_mean_update`: the rate ``(counts << F) // T`` and the step a
    shift rounded to nearest (a floor would pull ``m`` down by up to ``2**s - 1`` units at
    every step), ``m`` in units of ``2**-F`` spike, ``F = CENTRE_FRAC_BITS``."""
    rate = (np.asarray(counts, np.int64) << CENTRE_FRAC_BITS) // steps
    mean = np.asarray(mean, np.int64)
    shift = centre_shift(seen)
    return mean + ((rate - mean + (1 << shift >> 1)) >> shift)


# --- convolutional layers ----------------------------------------------------------------
#
# The same step with shared weights: the input current is a 2-D convolution, the local
# signal reads the layer's spikes average-pooled to k x k (LLS/TESS for conv layers) and
# back-projects through the pooling, and the update is the weight gradient of a conv whose
# output gradient is the post-synaptic factor (one stacked call for both terms).


@dataclass(frozen=True)
class ConvGeometry:
    """Shapes of a conv layer: input (C_in, H, W), weights (C_out, C_in, k, k)."""
    in_shape: Tuple[int, int, int]
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    pool: int = 1  # the signal pools the output to pool x pool per channel
    pool_out: int = 1  # average-pool the spikes by this factor before the next layer (VGG "P")
    standardize: bool = False  # weight standardisation in the forward pass (VGG-9)

    @property
    def out_shape(self) -> Tuple[int, int, int]:

        _, h, w = self.in_shape
        return (self.out_channels, conv_output_size(h, self.kernel, self.stride, self.padding),
                conv_output_size(w, self.kernel, self.stride, self.padding))

    @property
    def next_shape(self) -> Tuple[int, int, int]:
        """What the next layer receives: the output, average-pooled by ``pool_out``."""
        c, h, w = self.out_shape
        return (c, h // self.pool_out, w // self.pool_out)

    @property
    def weight_shape(self) -> Tuple[int, int, int, int]:
        return (self.out_channels, self.in_shape[0], self.kernel, self.kernel)

    @property
    def signal_size(self) -> int:
        return self.out_channels * self.pool * self.pool


def conv_layer_init(geometry: ConvGeometry, dtype=float) -> DenseLayerState:
    """Zero state of one sample (NumPy); batched callers add a leading batch axis."""
    out = np.zeros(geometry.out_shape, dtype)
    return DenseLayerState(out, out.copy(), np.zeros(geometry.in_shape, dtype), out.copy(), out.copy(),
                           np.zeros(geometry.weight_shape, dtype))


def conv_layer_step(
    state: DenseLayerState,
    pre: np.ndarray,
    weights: np.ndarray,
    geometry: ConvGeometry,
    neuron: LIFParams,
    surrogate: Surrogate,
    eligibility: EligibilityParams,
    basis: np.ndarray,
    signal: SignalParams,
    target: Optional[np.ndarray],
    in_place: bool = False,
) -> DenseLayerState:
    """One float step of a plastic conv layer.

    ``pre`` is ``(C_in, H, W)`` (one sample) or ``(B, C_in, H, W)`` (a batch, NumPy or
    torch); the basis is ``(n_classes, C_out pool**2)``; ``dw`` sums over the batch;
    ``in_place`` as in :func:`dense_layer_step`.
    """
    state = conv_layer_forward(state, pre, weights, geometry, neuron, surrogate, eligibility, in_place)
    if target is None:
        return state
    # pooled: the update spreads it over the pooling windows without copying it
    m = layer_local_signal(state, target, basis, signal, geometry)
    return conv_layer_learn(state, pre, m, geometry, eligibility, in_place)


def conv_learning_signal(o: Any, target: Any, basis: Any, signal: SignalParams, geometry: ConvGeometry) -> Any:
    """The local signal of a conv layer: its spikes average-pooled to ``pool x pool`` per
    channel, projected on the basis, the error back-projected through the pooling."""
    return avg_pool_adjoint(conv_learning_signal_pooled(o, target, basis, signal, geometry), geometry.out_shape[1:])


def conv_learning_signal_pooled(o: Any, target: Any, basis: Any, signal: SignalParams,
                                geometry: ConvGeometry) -> Any:
    """:func:`conv_learning_signal` before the back-projection through the pooling:
    ``(..., C_out, pool, pool)``."""
    g = geometry
    lead = tuple(o.shape[:-3])
    pooled = avg_pool(o, g.pool).reshape(*lead, -1)
    return learning_signal(pooled, target, basis, signal).reshape(*lead, g.out_channels, g.pool, g.pool)


def conv_layer_forward(
    state: DenseLayerState, pre: Any, weights: Any, geometry: ConvGeometry, neuron: LIFParams,
    surrogate: Surrogate, eligibility: EligibilityParams, in_place: bool = False,
) -> DenseLayerState:
    """The conv step without learning: traces, LIF on the convolved input, Psi
    (``in_place`` as in :func:`dense_layer_forward`)."""
    return _forward(state, pre, weights, neuron, surrogate, eligibility, geometry, in_place)


def conv_layer_learn(state: DenseLayerState, pre: Any, m: Any, geometry: ConvGeometry,
                     eligibility: EligibilityParams, in_place: bool = False) -> DenseLayerState:
    """Add this step's shared-weight update for a learning signal ``m`` shaped like the
    output, or the pooled local signal ``(..., C_out, pool, pool)`` of
    :func:`conv_learning_signal_pooled`, whose back-projection through the pooling the
    update applies without a copy (``in_place``; the pure form spreads it once). ``in_place``
    as in :func:`dense_layer_learn`."""
    g = geometry
    out_size, pooled, size = tuple(g.out_shape[1:]), (g.pool, g.pool), tuple(m.shape[-2:])
    if size not in (out_size, pooled):
        raise ValueError(f"a conv layer's signal is shaped like its output {out_size} or pooled {pooled}, "
                         f"got {tuple(m.shape)}")
    shape = {"weight_shape": g.weight_shape, "stride": g.stride, "padding": g.padding,
             "pool": None if size == out_size else g.pool}
    if in_place and state.stacks is not None:
        return state._replace(dw=stacked_update(m, state.stacks, pre, eligibility, out=state.dw, **shape))
    batch = (lambda x: x[None]) if pre.ndim == 3 else (lambda x: x)
    return state._replace(dw=_accumulate(
        state.dw, in_place, lambda out: conv_update(batch(m), batch(state.psi), batch(state.h), batch(state.q),
                                                    batch(pre), params=eligibility, out=out, **shape)))


def conv_layer_step_fixed(
    state: DenseLayerState,
    pre: np.ndarray,
    weights: np.ndarray,
    geometry: ConvGeometry,
    params: DenseLayerFixedParams,
    basis_sign: np.ndarray,
    label: int,
) -> DenseLayerState:
    """One integer step of a plastic conv layer (one sample, ``pre``: (C_in, H, W)).

    The signal sum-pools the spikes (integer; the average's 1/area is folded into the
    integer error's constants and the learning rate) and spreads the back-projection over each window.
    """
    g, tr = geometry, params.trace
    pre = np.asarray(pre, np.int64)
    q = trace_step_fixed(state.q, pre * params.pre_impulse, params.pre_decay, tr.decay_bits, tr.max)
    h = trace_step_fixed(state.h, state.psi, params.post_decay, tr.decay_bits, tr.max)
    acc = conv2d_int(pre[None], weights, g.stride, g.padding)[0]
    current = acc << params.weight_exp if params.weight_exp >= 0 else acc >> -params.weight_exp
    lif = lif_step_fixed(LIFState(state.u, state.o), current, params.neuron)
    psi_u = psi_fixed(lif.u, params.neuron.threshold, params.psi)
    dw = state.dw
    if label >= 0:
        pooled = sum_pool(np.asarray(lif.o, np.int64), g.pool).reshape(-1)
        basis = integer_basis(basis_sign, params.error)
        e = local_error_fixed(basis.sign @ pooled, label, params.error)
        m_pooled = back_project_error_fixed(e, basis, params.error).reshape(g.out_channels, g.pool, g.pool)
        _, ho, wo = g.out_shape
        m = np.repeat(np.repeat(m_pooled, ho // g.pool, axis=-2), wo // g.pool, axis=-1)
        a = m * (params.alpha_pre * psi_u)
        b = m * (params.alpha_post * h)
        dw = dw + conv2d_weight_grad_int(np.stack([q, pre * params.pre_impulse]), np.stack([a, b]),
                                         g.weight_shape, g.stride, g.padding)
    return DenseLayerState(lif.u, lif.o, q, h, psi_u, dw)


# -- the neuron step, and the window form (the batched trainer's ``window > 1``) -----------
def layer_integrate(state: DenseLayerState, pre: Any, weights: Any, neuron: LIFParams,
                    geometry: Optional[ConvGeometry] = None, in_place: bool = False) -> DenseLayerState:
    """Synaptic input and LIF of one step, ``(u, o)`` only: the neuron part of the forward
    steps, and all that runs per step in window learning.

    ``pre``: one sample or a batch (``(n_in,)`` / ``(B, n_in)`` dense, ``(C, H, W)`` /
    ``(B, C, H, W)`` conv). In window learning the traces, Psi and the update of the
    steps follow in :func:`layer_learn_window`, so between windows the state's ``q, h,
    psi`` are those of the step before the window. ``in_place=True`` writes u and o over
    the state's.
    """
    if geometry is None:
        current = pre @ weights.T
    else:
        single = pre.ndim == 3
        current = conv2d(pre[None] if single else pre, weights, geometry.stride, geometry.padding)
        current = current[0] if single else current
    lif = lif_step(LIFState(state.u, state.o), current, neuron, in_place)
    return state._replace(u=lif.u, o=lif.o)


def layer_learn_window(
    state: DenseLayerState, u_steps: Any, pre_steps: Any, target: Any, basis: Any, neuron: LIFParams,
    surrogate: Surrogate, eligibility: EligibilityParams, signal: SignalParams,
    geometry: Optional[ConvGeometry] = None, in_place: bool = False,
) -> DenseLayerState:
    """Traces, Psi, local signal and update of k steps at once: the same result as k steps
    of :func:`dense_layer_step` / :func:`conv_layer_step` (up to float summation order).

    ``u_steps``: the membranes ``(k, B, ...)`` that :func:`layer_integrate` produced;
    ``pre_steps``: the inputs ``(k, B, ...)``; ``state``: q, h, psi of the step before the
    first. Every step's quantity is computed for all k steps in one call, which is what
    makes the window cheap: the post trace comes from
    :func:`~lava_local.kernels.window.trace_window` (one product) and the update from
    :func:`~lava_local.kernels.window.backward_view_update`.
    Returns the state with ``q, h, psi`` of the last step and ``dw`` accumulated (into
    ``state.dw`` itself with ``in_place=True``, as in :func:`dense_layer_learn`).
    """
    # the signal first: the spikes are needed only pooled, so they never coexist with Psi and h
    if geometry is None:
        m = learning_signal(spikes(u_steps, neuron), target, basis, signal)
        spread, shape = (lambda x: x), {}
    else:
        g = geometry
        m_pooled = conv_learning_signal_pooled(spikes(u_steps, neuron), target, basis, signal, g)
        # the back-projection through the pooling without its copy: broadcast over the windows
        m = avg_pool_adjoint_windows(m_pooled, g.out_shape[1:])
        spread = lambda x: pool_windows(x, g.pool)  # noqa: E731 - a view
        shape = {"weight_shape": g.weight_shape, "stride": g.stride, "padding": g.padding}
    psi_steps = psi(u_steps, neuron.v_th, surrogate)
    psi_last = psi_steps[-1] * 1.0  # a copy: a view would keep all k steps alive
    # h[t] = lambda_post h[t-1] + Psi(u[t-1]) for the k steps, as one product
    h_steps = trace_window(state.h, psi_steps, eligibility.lambda_post, impulse_before=state.psi)
    h = h_steps[-1] * 1.0
    # a and b overwrite Psi and h (bounded memory: two window-sized arrays for the product)
    eligibility_factors(m, spread(psi_steps), spread(h_steps), eligibility, in_place=True)
    a, b = psi_steps, h_steps
    del m
    update, q = backward_view_update(a, b, pre_steps, state.q, eligibility, **shape,
                                     out=state.dw if in_place else None)
    return state._replace(q=q, h=h, psi=psi_last, dw=update if in_place else state.dw + update, stacks=None)

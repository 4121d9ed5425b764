"""S-TLLR / TESS / LLS synapse updates: eligibility times learning signal.

S-TLLR (arXiv 2306.15220, eq. 11-13) with instantaneous eligibility and the traces of
:mod:`.traces`; TESS (arXiv 2502.01837, eq. 9) with its local signal m::

    dW[t] = (m[t] * alpha_pre * Psi(u[t])) (x) q[t]  +  (m[t] * alpha_post * h[t]) (x) o_pre[t]
            \\___________ causal term ___________/       \\________ non-causal term ________/

    W <- W - lr * sum_{t >= t_l} dW[t]          (accumulated over a sample, applied once)

LLS in spiking form is the same update with ``lambda_pre = 0`` (q = o_pre) and
``alpha_post = 0``: the trace-free eligibility ``Psi(u[t]) o_pre[t]``.

The two outer products are computed as *one* matrix product by stacking the terms along
the batch axis: ``[a; b]^T [q; o_pre]``. Dense layers use :func:`dense_update`, conv
layers :func:`conv_update` (the same stacking through one weight-gradient convolution).
Summed into an accumulator (``out=``) the terms go in one product each, or, where the
caller keeps its traces in :class:`TermStacks` (the batched trainer), in one product for
both without copying anything but the input spikes (:func:`stacked_update`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from .. import _validate
from ._array import namespace
from .conv import avg_pool_adjoint, conv2d_weight_grad, pool_windows

__all__ = [
    "EligibilityParams",
    "eligibility_factors",
    "synapse_outer",
    "dense_update",
    "dense_outer",
    "conv_update",
    "conv_outer",
    "TermStacks",
    "stacked_update",
    "dense_update_fixed",
    "apply_update_fixed",
    "engine_factor_fixed",
    "filtered_eligibility_step",
    "filtered_update",
]


@dataclass(frozen=True)
class EligibilityParams:
    """Trace decays and term weights (TESS defaults; S-TLLR presets in :mod:`lava_local.rules`).

    ``lambda_pre=None``: the pre trace decays as the neuron's membrane does (its ``gamma``),
    which makes the causal term ``Psi(u[t]) q[t]`` the exact derivative of ``u[t]`` with
    respect to the weights, reset aside. A layer or network fills it in from its neuron
    (:meth:`~lava_local.rules.LearningRule.for_neuron`); the kernels need a number.
    """

    lambda_pre: Optional[float] = 0.5
    lambda_post: float = 0.2
    alpha_pre: float = 1.0
    alpha_post: float = -1.0

    def __post_init__(self) -> None:
        if self.lambda_pre is not None:
            _validate.in_unit_interval("lambda_pre", self.lambda_pre)
        _validate.in_unit_interval("lambda_post", self.lambda_post)
        _validate.real("alpha_pre", self.alpha_pre)
        _validate.real("alpha_post", self.alpha_post)


def eligibility_factors(m: Any, psi_u: Any, h: Any, params: EligibilityParams,
                        in_place: bool = False) -> Tuple[Any, Any]:
    """Post-synaptic factors ``a = m alpha_pre Psi(u)`` and ``b = m alpha_post h``.

    ``in_place=True`` writes a over ``psi_u`` and b over ``h`` (no new arrays: what a
    window of many steps needs to stay small).
    """
    if not in_place:
        psi_u, h = m * psi_u, m * h  # new arrays, scaled in place below: no alpha * Psi temporary
    factors = []
    for factor, alpha in ((psi_u, params.alpha_pre), (h, params.alpha_post)):
        if in_place:
            factor *= m
        if alpha != 1:  # (m factor) alpha in both forms: the same floats
            factor *= alpha
        factors.append(factor)
    return factors[0], factors[1]


def _stack(x: Any, y: Any) -> Any:
    xp = namespace(x, y)
    return xp.concatenate([x, y], 0) if xp is np else xp.cat([x, y], 0)


def dense_update(m: Any, psi_u: Any, h: Any, q: Any, pre: Any, params: EligibilityParams,
                 out: Any = None) -> Any:
    """``dW = a (x) q + b (x) o_pre`` summed over leading batch axes; shape ``(n_out, n_in)``.

    ``m, psi_u, h`` have shape ``(..., n_out)``; ``q, pre`` shape ``(..., n_in)``. With
    ``out`` (an accumulator of that shape) dW is added to it in place and ``out`` returned.
    """
    if out is not None:
        return _accumulate_terms(m, psi_u, h, q, pre, params, out)
    a, b = eligibility_factors(m, psi_u, h, params)
    return dense_outer(a, b, q, pre, params)


def filtered_eligibility_step(e_bar: Optional[Any], psi_u: Any, h: Any, q: Any, pre: Any,
                              params: EligibilityParams, decay: float, in_place: bool = False,
                              gain: float = 1.0) -> Any:
    """The eligibility low-pass filtered by the read-out's leak, one step::

        e_bar[t] = decay e_bar[t-1] + gain (alpha_pre Psi(u[t]) (x) q[t] + alpha_post h[t] (x) o_pre[t])

    per sample, shape ``(..., n_out, n_in)``; ``e_bar=None`` starts it. e-prop's filtered
    eligibility trace (Bellec et al. 2020, Nat. Commun. 11:3625, eq. 12's ``F_kappa``, the
    read-out's leak kappa = ``decay``) applied to S-TLLR's eligibility (arXiv 2306.15220,
    eq. 11): with the read-out ``u_ro[t] = decay u_ro[t-1] + W_ro o[t]``, a spike at step
    t' moves every later read-out step, so the per-step loss at t credits the eligibility
    of every t' <= t, weighted ``decay**(t - t')``. Paired with the read-out's error through
    ``W_ro`` (:func:`filtered_update`), the last hidden layer's update is then the gradient
    of the read-out's summed per-step loss, the reset's path aside (and, for
    ``alpha_post = 0`` and ``lambda_pre`` = the neuron's gamma, exactly so). One state per
    synapse and sample, independent of T.

    ``gain`` scales what enters the filter: 1 (the read-out's own sum, whose gain on a steady
    input is ``1 / (1 - decay)``), or ``1 - decay`` for a filter of unit gain
    (``LearningRule(filtered_gain="unit")``), whose update is as large as an unfiltered
    layer's. It multiplies the per-neuron factors, not the state: no cost per synapse."""
    terms = ([(psi_u * (params.alpha_pre * gain), q)]
             + ([(h * (params.alpha_post * gain), pre)] if params.alpha_post != 0 else []))
    if in_place and namespace(psi_u) is not np:
        # torch: each outer product added straight into the state (no synapse-sized temporary,
        # at the first step either)
        if e_bar is None:
            e_bar = psi_u.new_zeros(*psi_u.shape, q.shape[-1])
        else:
            e_bar.mul_(decay)
        for post, trace in terms:
            e_bar.addcmul_(post[..., :, None], trace[..., None, :])
        return e_bar
    fresh = sum(post[..., :, None] * trace[..., None, :] for post, trace in terms)
    if e_bar is None:
        return fresh
    if in_place:
        e_bar *= decay
        e_bar += fresh
        return e_bar
    return decay * e_bar + fresh


_SAMPLE_LOOP_ABOVE = 2 ** 18  # elements of the filtered state above which filtered_update loops over samples


def filtered_update(m: Any, e_bar: Any, out: Any = None) -> Any:
    """``dW = sum over samples of m[:, None] * e_bar`` (:func:`filtered_eligibility_step`),
    shape ``(n_out, n_in)``; added into ``out`` in place when given."""
    n_out, n_in = e_bar.shape[-2:]
    if namespace(e_bar) is not np and e_bar.numel() > _SAMPLE_LOOP_ABOVE:
        # torch, large states: one in-place product per sample, no state-sized temporary
        # (N-MNIST's first layer, 32 x 512 x 2312: 16 ms a step against 85 ms)
        out = e_bar.new_zeros((n_out, n_in)) if out is None else out
        for m_b, e_b in zip(m.reshape(-1, n_out), e_bar.reshape(-1, n_out, n_in)):
            out.addcmul_(m_b[:, None], e_b)
        return out
    dw = (m[..., :, None] * e_bar).reshape(-1, n_out, n_in).sum(0)  # (small states: faster than a loop)
    if out is None:
        return dw
    out += dw
    return out


def _accumulate_terms(m: Any, psi_u: Any, h: Any, q: Any, pre: Any, params: EligibilityParams, out: Any,
                      pool: Optional[int] = None, **conv: Any) -> Any:
    """``out += alpha_pre (m Psi) (x) q + alpha_post (m h) (x) o_pre``, one product per term
    straight into the accumulator, the alphas applied by the accumulation (no stacked
    copies, no multiply for the alphas)."""
    for factor, trace, alpha in ((psi_u, q, params.alpha_pre), (h, pre, params.alpha_post)):
        if alpha != 0:  # a term with a zero weight costs nothing
            synapse_outer(_gate(m, factor, pool), trace, out=out, scale=alpha / _area(factor, pool), **conv)
    return out


def _gate(m: Any, factor: Any, pool: Optional[int] = None) -> Any:
    """``m * factor``, a new array. ``pool``: ``m`` is a pooled conv signal
    ``(..., C, pool, pool)``, spread over ``factor``'s pooling windows by broadcasting: the
    back-projection through average pooling without its copy and without its ``1 / area``,
    which the caller folds into the accumulation's scale (:func:`_area`)."""
    if pool is None:
        return m * factor
    return (m[..., :, None, :, None] * pool_windows(factor, pool)).reshape(factor.shape)


def _area(factor: Any, pool: Optional[int]) -> int:
    """The pooling window's area for :func:`_gate`'s ``pool`` (1 without pooling)."""
    return 1 if pool is None else (factor.shape[-2] // pool) * (factor.shape[-1] // pool)


class TermStacks(NamedTuple):
    """Both terms of the update side by side on a leading axis of 2, so that one product
    computes their sum: ``post = [Psi(u), h]`` and ``pre = [q, r o_pre]`` with
    ``r = alpha_post / alpha_pre``. A layer state's ``psi``, ``h`` and ``q`` are views of
    them (kept only by a caller that writes its states in place, like the batched
    trainer). ``pre[1]`` is scratch that each step overwrites with ``r o_pre``, or, with
    ``input_inside``, where the layer's input spikes already are (the previous layer
    writes its spikes there), and r scales the gated h instead."""

    post: Any
    pre: Any
    input_inside: bool = False


def stacked_update(m: Any, stacks: TermStacks, pre: Any, params: EligibilityParams, out: Any,
                   pool: Optional[int] = None, **conv: Any) -> Any:
    """``out += alpha_pre (m [Psi; h]) (x) [q; r o_pre]``: the same sum as
    :func:`_accumulate_terms`, in one product (one weight-gradient convolution for conv
    layers instead of two) and three element-wise operations (the scaled copy of the input
    spikes, or the scaling of the gated h, then the gating and the accumulation) instead of
    four. With ``stacks.input_inside``, ``pre`` must be (a view of) ``stacks.pre[1]``.

    ``stacks`` as in :class:`TermStacks` (both alphas non-zero); ``m``, ``pool`` as in
    :func:`_gate` (with ``pool``, ``1 / area`` goes into the accumulation's scale);
    ``conv``: ``weight_shape``, ``stride``, ``padding`` for conv layers.
    """
    ratio = params.alpha_post / params.alpha_pre
    if not stacks.input_inside:  # r o_pre beside q (a copy either way, so scaled in passing)
        scratch = stacks.pre[1]
        if namespace(scratch) is np:
            np.multiply(pre, ratio, out=scratch)
        elif ratio == 1:
            scratch.copy_(pre)
        else:
            namespace(scratch).mul(pre, ratio, out=scratch)
    gated = _gate(m, stacks.post, pool)
    if stacks.input_inside and ratio != 1:  # the spikes stay as they are: r scales m h
        gated_h = gated[1]
        gated_h *= ratio  # on the view: ``gated[1] *= r`` would copy it back onto itself
    return synapse_outer(gated, stacks.pre, out=out, scale=params.alpha_pre / _area(stacks.post, pool), **conv)


def synapse_outer(post: Any, pre: Any, weight_shape: Optional[Tuple[int, ...]] = None, stride: int = 1,
                  padding: int = 0, out: Any = None, scale: float = 1.0) -> Any:
    """``sum post (x) pre`` over all leading axes: ``(n_out, n_in)`` for dense layers
    (``weight_shape=None``), else the weight gradient of a conv of ``weight_shape`` whose
    output gradient is ``post`` for input ``pre`` (``(..., C, H, W)`` both).

    ``out``: add ``scale`` times the result to this accumulator in place and return it. An
    update summed over a sample then needs one weight-sized array, not three (accumulator,
    this step's term, their sum); dense torch layers multiply straight into it.
    """
    torch_out = out is not None and namespace(out) is not np
    if weight_shape is None:
        post, pre = post.reshape(-1, post.shape[-1]), pre.reshape(-1, pre.shape[-1])
        if torch_out:
            return out.addmm_(post.T, pre, alpha=scale)
        product = post.T @ pre
    else:
        product = conv2d_weight_grad(pre.reshape(-1, *pre.shape[-3:]), post.reshape(-1, *post.shape[-3:]),
                                     weight_shape, stride, padding)
        if torch_out:
            return out.add_(product, alpha=scale)
    if scale != 1:
        product = product * scale
    if out is None:
        return product
    out += product
    return out


def dense_outer(a: Any, b: Any, q: Any, pre: Any, params: EligibilityParams) -> Any:
    """``a (x) q + b (x) o_pre`` from the post-synaptic factors, summed over leading axes
    (so factors of several steps stacked along the batch give their summed update)."""
    n_out, n_in = a.shape[-1], q.shape[-1]
    a, b = a.reshape(-1, n_out), b.reshape(-1, n_out)
    q, pre = q.reshape(-1, n_in), pre.reshape(-1, n_in)
    if params.alpha_post == 0:  # a term with a zero weight costs nothing
        return synapse_outer(a, q)
    if params.alpha_pre == 0:
        return synapse_outer(b, pre)
    return synapse_outer(_stack(a, b), _stack(q, pre))


def conv_update(
    m: Any, psi_u: Any, h: Any, q: Any, pre: Any, weight_shape: Tuple[int, ...],
    params: EligibilityParams, stride: int = 1, padding: int = 0, out: Any = None, pool: Optional[int] = None,
) -> Any:
    """Conv form with shared weights: the weight gradient of a conv whose output gradient
    is ``a`` (for input q) plus ``b`` (for input o_pre), as one stacked call.

    ``m, psi_u, h``: ``(B, C_out, H_out, W_out)``; ``q, pre``: ``(B, C_in, H, W)``;
    ``out`` as in :func:`synapse_outer`; ``pool``: ``m`` is the pooled signal
    ``(B, C_out, pool, pool)``, back-projected through the average pooling here.
    """
    if out is not None:
        return _accumulate_terms(m, psi_u, h, q, pre, params, out, pool, weight_shape=weight_shape, stride=stride,
                                 padding=padding)
    if pool is not None:
        m = avg_pool_adjoint(m, psi_u.shape[-2:])
    a, b = eligibility_factors(m, psi_u, h, params)
    return conv_outer(a, b, q, pre, weight_shape, params, stride, padding)


def conv_outer(a: Any, b: Any, q: Any, pre: Any, weight_shape: Tuple[int, ...], params: EligibilityParams,
               stride: int = 1, padding: int = 0) -> Any:
    """The conv form of :func:`dense_outer` (weight gradients of ``a`` on q, ``b`` on o_pre)."""
    if params.alpha_post == 0:  # a term with a zero weight costs nothing
        return synapse_outer(a, q, weight_shape, stride, padding)
    if params.alpha_pre == 0:
        return synapse_outer(b, pre, weight_shape, stride, padding)
    return synapse_outer(_stack(a, b), _stack(q, pre), weight_shape, stride, padding)


def dense_update_fixed(
    m: np.ndarray, psi_u: np.ndarray, h: np.ndarray, q: np.ndarray, pre: np.ndarray,
    alpha_pre: int, alpha_post: int, pre_impulse: int,
) -> np.ndarray:
    """Integer form of :func:`dense_update` (int64 accumulator).

    ``psi_u`` and ``h`` share their fractional bits, ``q`` counts in units of
    ``pre_impulse`` per spike, so the non-causal term uses ``pre * pre_impulse``; alphas
    are small integers (the papers use -1, 0, +1).
    """
    m = np.asarray(m, np.int64)
    a = m * (alpha_pre * np.asarray(psi_u, np.int64))
    b = m * (alpha_post * np.asarray(h, np.int64))
    return np.outer(a, np.asarray(q, np.int64)) + np.outer(b, np.asarray(pre, np.int64) * pre_impulse)


def apply_update_fixed(
    weights: np.ndarray, accumulated: np.ndarray, shift: int, limit: int, rng: np.random.Generator
) -> np.ndarray:
    """``W - stochastic_round(acc / 2**shift)``, saturated to ``[-limit, limit]``.

    Stochastic rounding (as Loihi's learning engine does) keeps updates smaller than one
    weight step alive on average instead of truncating them to zero.
    """
    scaled = np.asarray(accumulated, np.int64)
    if shift > 0:
        floor = scaled >> shift
        remainder = scaled - (floor << shift)
        step = floor + (rng.integers(0, 1 << shift, size=scaled.shape) < remainder)
    elif -shift >= 62:  # any non-zero step is beyond every weight range
        step = np.sign(scaled) * _SATURATED
    else:  # saturate before shifting left: acc << -shift must not wrap in int64
        reach = _SATURATED >> -shift
        step = np.clip(scaled, -reach, reach) << (-shift)
    # |W|, |step| <= 2**62, so W - step cannot wrap either; any larger step saturates anyway
    weights = np.clip(np.asarray(weights, np.int64), -_SATURATED, _SATURATED)
    return np.clip(weights - np.clip(step, -_SATURATED, _SATURATED), -limit, limit)


#: a magnitude no weight range comes near, below which int64 differences cannot wrap
_SATURATED = 1 << 62


def engine_factor_fixed(factor: np.ndarray, mant: int, shift: int, limit: int,
                        rng: np.random.Generator) -> np.ndarray:
    """An integer post factor as a learning-engine third factor:
    ``stochastic_round(factor * mant / 2**shift)`` saturated to ``[-limit, limit]``
    (never wrapped); the rounding and saturation of :func:`apply_update_fixed`."""
    zero = np.zeros(np.shape(factor), np.int64)
    return apply_update_fixed(zero, -np.asarray(factor, np.int64) * mant, shift, limit, rng)

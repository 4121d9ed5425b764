"""The local learning signal of LLS / TESS: project, compare with the label, back-project.

TESS (arXiv 2502.01837, eq. 7-8), for a layer with output spikes o[t] (pooled for conv
layers) and a fixed basis B (C x d) scaled by ``s``::

    z[t] = s B o[t]                           (C local logits)
    e[t] = p(z[t]) - y*                       (local error)
    m[t] = s B^T e[t]                         (the layer's learning signal, d values)

with the prediction ``p`` chosen by ``SignalParams(error=...)``:

==============  ====================================================  =====================
error           p(z)                                                  error unit needs
==============  ====================================================  =====================
``softmax``     softmax(z / T)  (the papers'; the default)             exp table, division
``identity``    z               (regression)                           nothing
``clipped``     clip(z / T, lo, hi)   (``clip=(lo, hi)``, default       two compares
                (0, 1): a one-vs-rest target range)
``pwl_softmax`` r / sum(r),  r = relu(z / T - max(z / T) + k)          compare, add, one
                (``pwl_width=k``, default 2)                           division per unit
==============  ====================================================  =====================

The last two are the hardware-friendly errors: on a neuro-core the signal is a fixed +-1
projection onto C error units, the error against the label and a fixed +-1
back-projection, and a softmax does not fit in an error unit. ``clipped`` bounds each
error to ``[lo - 1, hi]`` and is zero on a confident right answer (the label's logit at
or above ``hi``, the others at or below ``lo``). ``pwl_softmax`` is a piecewise-linear
softmax: the exponential is replaced by the ramp ``relu(k - gap)`` of the logit gap
``max(z) - z``, so as with the softmax the error sums to zero, lies in [-1, 1] and
vanishes once every other class is ``k`` below the label (``exp(-gap)`` is 0.14 at gap
2); it needs the largest of the C logits (a compare tree), the ramps' sum (an adder) and
one integer division per error unit.

``m`` is the gradient of the local cross-entropy with respect to o (up to 1/T), so a
synapse update ``W -= lr * m (x) eligibility`` descends the local loss. No error from any
other layer enters: the signal is local in space.

The softmax and ``pwl_softmax`` errors sum to zero over the classes, so ``B^T e`` equals
``(B - 1 B[0])^T e``, the back-projection through each class's basis row relative to the
first class's (:func:`back_projection_basis`). The kernels back-project through that
difference: it is the same signal, except on a neuron whose basis column is the same for
every class (:func:`~.basis.constant_columns`: one in 2 at two classes under the square
basis). Its signal is zero in exact arithmetic, and through the difference it is exactly
zero; through ``B`` itself it is ``B[0, j]`` times the float round-off of ``sum(e)``, about
1e-7 of a signal, which an optimiser that normalises each weight's step (Adam) turns into a
step as large as a learning neuron's (benchmarks/RESULTS.md, "The neurons without a signal
move: float round-off under Adam"). In integers the rounded error need not sum to zero
either, and the difference keeps those neurons still there too.

A caller that runs many steps on one label may project the label once, ``y* B``
(:func:`project_target`, through the back-projection basis): ``m = s (softmax(z / T) B - y*
B)`` is then one product per step for the error and the back-projection (an ``addmm`` in
torch). A model that learns one sample at a time holds every class's projection once
(:func:`label_targets`), and in integers the basis and its back-projection basis
(:func:`integer_basis`), so that no step rebuilds them.

LLS-M multiplies the logits by a trainable C-vector ``g`` (``z = g * s B o``); its local
gradient is ``e * (s B o)`` (:func:`lls_m_gradient`).

Fixed-point (:func:`learning_signal_fixed`): with a square basis (entries +-1) and binary
spikes, ``B o`` is an exact integer sum. The softmax runs on integers: ``exp`` comes from a
table over the integer logit gap ``max(Bo) - Bo`` (built from the float function), the
normalisation is one integer division, and the error and back-projection are integer
sums. ``m`` comes out with ``frac_bits`` fractional bits and without the factor ``s``
(fold ``s`` into the learning rate). The hardware-friendly errors in integers
(:class:`FixedError`, :func:`fixed_error`, :func:`local_error_fixed`): ``pwl_softmax``
works on the integer gap ``max(Bo) - Bo`` against ``k`` in integer logit steps (compare,
add) and normalises with one rounded integer division per error unit, as the softmax
does; ``clipped`` and ``identity`` need the logit in ``frac_bits`` units, ``(Bo * mant)
>> shift``: the scale ``s / T`` rides on the projection's weights (an 8-bit mantissa and
a shift, as Loihi's synapses have it), and the unit compares (clip) and subtracts.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from .. import _validate
from ._array import namespace
from .basis import BASIS_KINDS

__all__ = [
    "SignalParams",
    "local_logits",
    "local_prediction",
    "local_error",
    "ProjectedTarget",
    "project_target",
    "label_targets",
    "learning_signal",
    "ZERO_SUM_ERRORS",
    "back_projection_basis",
    "lls_m_gradient",
    "one_hot",
    "SoftmaxTable",
    "softmax_table",
    "softmax_error_fixed",
    "FixedError",
    "fixed_error",
    "local_error_fixed",
    "learning_signal_fixed",
    "IntegerBasis",
    "integer_basis",
    "back_project_error_fixed",
]

ERRORS = ("softmax", "identity", "clipped", "pwl_softmax")
"""The local errors :class:`SignalParams` accepts (see the module docstring)."""

ZERO_SUM_ERRORS = ("softmax", "pwl_softmax")
"""The errors whose values sum to zero over the classes (a prediction that sums to one, less
the one-hot label): these back-project through :func:`back_projection_basis`'s difference."""

SCALES = ("1/d", "1/sqrt(d)", "rate")
"""The named basis scales :class:`SignalParams` accepts besides ``None`` and a number."""

AS_SCALE = "scale"
"""``SignalParams(filtered_scale=AS_SCALE)`` (the default): a layer that reads filtered
spikes keeps the signal's ``scale``."""

RATE_FLOOR = 1e-3
"""The least rate ``scale="rate"`` divides by: a layer silent on the calibration samples
gets the scale of one spike per neuron in 1,000 steps, not an infinite one."""


@dataclass(frozen=True)
class SignalParams:
    """The local signal: basis kind, number of classes, basis scale, temperature, error.

    ``n_classes=None`` (the default) takes the class count of the network the rule is
    given to (:meth:`~lava_local.rules.LearningRule.for_classes`); a number fixes it, and a
    network with another count is then refused. ``scale=None`` means 1 (square-wave entries +-1, the regime that keeps hidden layers
    sparse); ``scale="1/d"`` divides by the layer size as the authors' code does;
    ``"1/sqrt(d)"`` lies between the two.

    ``scale="rate"`` sets each layer's scale from its own firing rate ``r`` (spikes per
    neuron and step, measured once on training data at the initial weights)::

        s = k / sqrt(d r)                                    (k = ``rate_gain``, default 2)

    With a +-1 basis and binary spikes at rate r, ``B o`` sums about ``d r`` terms of
    random sign, so its spread is ``sqrt(d r)`` and the local logits ``s B o`` start with a
    spread of about ``k`` whatever the layer's size and rate. ``1/sqrt(d)`` assumes
    ``r`` near 1: a sparse layer's logits then start nearly equal and its local softmax stays
    near uniform (benchmarks/RESULTS.md, "A basis scale from each layer's firing rate").
    The rate is the network's to measure (:meth:`~lava_local.network.Network.calibrate_signal`);
    :meth:`for_rate` turns this signal into one layer's, with that number as its scale.

    ``filtered_scale``: the scale of a layer whose local classifier reads its spikes filtered
    by the read-out's leak (``LearningRule.filtered`` under a local signal,
    :meth:`for_filtered`); ``"scale"`` (the default) keeps ``scale``. Filtered spikes are up to
    ``1 / (1 - gamma_ro)`` times the instantaneous ones, and such a layer's classifier is, at
    the network's default, the read-out's start (the basis over ``sqrt(d)``): S-TLLR's local
    signal keeps the +-1 basis on the layers below and gives the filtered last layer
    ``"1/sqrt(d)"`` (benchmarks/RESULTS.md, "S-TLLR's local signal: the filtered last layer at
    the read-out's scale"). Any scale but ``"rate"``.

    ``error``: the local error, one of :data:`ERRORS` (module docstring). ``clip``: the
    range ``(lo, hi)`` of the ``"clipped"`` error's prediction, in logit units (after the
    basis scale and the temperature; the target's range (0, 1) by default). ``pwl_width``:
    ``k`` of the ``"pwl_softmax"`` error, in the same units. Both apply to the logits
    whatever the basis scale, so a caller that multiplies the scale into the basis gets
    the same error.
    """

    n_classes: Optional[int] = None
    basis: str = "square"
    scale: Any = None
    temperature: float = 1.0
    error: str = "softmax"
    clip: Tuple[float, float] = (0.0, 1.0)
    pwl_width: float = 2.0
    rate_gain: float = 2.0
    filtered_scale: Any = AS_SCALE

    def __post_init__(self) -> None:
        if self.n_classes is not None:
            _validate.integer("n_classes", self.n_classes, 2)
        if self.basis not in BASIS_KINDS:
            raise ValueError(f"unknown basis kind {self.basis!r}; choose one of {', '.join(BASIS_KINDS)}")
        if self.scale is not None and self.scale not in SCALES:
            _validate.positive("scale", self.scale)
        if self.filtered_scale == "rate":
            raise ValueError("filtered_scale='rate' is not measured per layer: give scale='rate' for every layer")
        if self.filtered_scale not in (AS_SCALE, None) + SCALES:
            _validate.positive("filtered_scale", self.filtered_scale)
        _validate.positive("rate_gain", self.rate_gain)
        _validate.positive("temperature", self.temperature)
        if self.error not in ERRORS:
            raise ValueError(f"error must be one of {', '.join(map(repr, ERRORS))}, got {self.error!r}")
        if isinstance(self.clip, str) or len(tuple(self.clip)) != 2:
            raise ValueError(f"clip must be a (lo, hi) pair, got {self.clip!r}")
        lo, hi = (_validate.real(f"clip[{i}]", v) for i, v in enumerate(self.clip))
        if not lo < hi:
            raise ValueError(f"clip must have lo < hi, got {self.clip!r}")
        object.__setattr__(self, "clip", (lo, hi))  # a list (from JSON) becomes the pair
        _validate.positive("pwl_width", self.pwl_width)

    def basis_scale(self, size: int) -> float:
        """``s`` for a layer of ``size`` signal inputs (``d``)."""
        if self.scale == "rate":
            raise ValueError("scale='rate' is set per layer from its firing rate: measure the rates with "
                             "Network.calibrate_signal(train_frames) (Network.fit and the trainers' fit_epoch "
                             "do it before they learn), or give each layer's signal by SignalParams.for_rate")
        if self.scale is None:
            return 1.0
        if self.scale == "1/d":
            return 1.0 / size
        if self.scale == "1/sqrt(d)":
            return 1.0 / size**0.5
        return float(self.scale)

    def for_filtered(self) -> "SignalParams":
        """This signal for a layer whose classifier reads filtered spikes: ``filtered_scale``
        as its scale, unless that is ``"scale"`` (then this signal itself)."""
        if self.filtered_scale == AS_SCALE:
            return self
        return replace(self, scale=self.filtered_scale, filtered_scale=AS_SCALE)

    def for_rate(self, size: int, rate: float) -> "SignalParams":
        """This signal for a layer of ``size`` signal inputs firing at ``rate`` (spikes per
        neuron and step): with ``scale="rate"``, the number ``k / sqrt(d max(r, RATE_FLOOR))``
        as its scale; any other scale does not depend on the rate and is kept."""
        if self.scale != "rate":
            return self
        _validate.integer("size", size, 1)
        rate = _validate.real("rate", rate)
        if not 0 <= rate <= 1:
            raise ValueError(f"rate is spikes per neuron and step, in [0, 1]; got {rate!r}")
        return replace(self, scale=self.rate_gain / (size * max(rate, RATE_FLOOR)) ** 0.5)


def one_hot(labels: Any, n_classes: int, like: Any = None) -> Any:
    """One-hot rows for integer labels (NumPy, or torch when ``like`` is a tensor)."""
    xp = namespace(like if like is not None else labels)
    if xp is np:
        labels = np.asarray(labels)
        return (labels[..., None] == np.arange(n_classes)).astype(float)
    labels = xp.as_tensor(labels, device=like.device if like is not None else None)
    return (labels[..., None] == xp.arange(n_classes, device=labels.device)).to(
        like.dtype if like is not None else xp.float32
    )


def local_logits(o: Any, basis: Any, scale: float) -> Any:
    """``z = s B o`` for ``o`` of shape ``(..., d)``: logits ``(..., C)``."""
    z = o @ basis.T
    return z if scale == 1 else scale * z


def local_prediction(z: Any, params: SignalParams) -> Any:
    """``p(z)`` of the signal's error: ``softmax(z / T)``, ``z`` itself for regression
    (``error="identity"``), ``clip(z / T, lo, hi)`` (``"clipped"``) or the piecewise-linear
    softmax ``r / sum(r)``, ``r = relu(z / T - max(z / T) + k)`` (``"pwl_softmax"``)."""
    if params.error == "identity":
        return z
    zt = z / params.temperature if params.temperature != 1 else z
    if params.error == "clipped":
        return zt.clip(*params.clip)
    torch_like = namespace(z) is not np
    if params.error == "softmax" and torch_like:
        return zt.softmax(-1)  # torch's one fused kernel (max-shifted, as below)
    peak = zt.amax(-1, keepdim=True) if torch_like else zt.max(-1, keepdims=True)
    if params.error == "pwl_softmax":
        ramp = (zt - peak + params.pwl_width).clip(min=0)  # the largest logit's is k > 0
        return ramp / (ramp.sum(-1, keepdim=True) if torch_like else ramp.sum(-1, keepdims=True))
    ez = np.exp(zt - peak)
    return ez / ez.sum(-1, keepdims=True)


def local_error(z: Any, target: Any, params: SignalParams) -> Any:
    """``p(z) - y*`` (:func:`local_prediction`): ``softmax(z / T) - y*`` by default."""
    return local_prediction(z, params) - target


class ProjectedTarget(NamedTuple):
    """A label given by its back-projection ``y* B'`` (``(..., d)``), with ``B'`` the basis
    the error is back-projected through (:func:`back_projection_basis`, the basis as the
    signal uses it): what :func:`learning_signal` needs of the label, computed once per
    sample by :func:`project_target`."""

    projection: Any
    back: Any
    """``B'``: ``B - 1 B[0]`` for an error that sums to zero, else ``B``."""
    error: str
    """The error kind (:data:`ERRORS`) it was projected for."""


def project_target(target: Any, basis: Any, error: str) -> ProjectedTarget:
    """``y* B'`` for one-hot ``target`` ``(..., C)``, the basis ``(C, d)`` and the ``error``
    kind the signal uses (``B'`` from :func:`back_projection_basis`, made once here and
    not at every step)."""
    back = back_projection_basis(basis, error)
    return ProjectedTarget(target @ back, back, error)


def label_targets(basis: Any, error: str) -> Tuple[ProjectedTarget, ...]:
    """Every class's :class:`ProjectedTarget` for the basis ``(C, d)`` and the ``error``
    kind, entry ``c`` the one-hot label ``c``'s (its projection is row ``c`` of the
    back-projection basis, exactly as ``one_hot(c) @ B'`` is). For a model that learns one
    labelled sample at a time: made once, picked per step, so that no step rebuilds ``B'``."""
    back = back_projection_basis(basis, error)
    return tuple(ProjectedTarget(back[c], back, error) for c in range(back.shape[0]))


def back_projection_basis(basis: Any, error: str) -> Any:
    """The basis an ``error`` (a :data:`ERRORS` kind) is back-projected through:
    ``B - 1 B[0]`` (each class's row less the first's) for an error that sums to zero over
    the classes (:data:`ZERO_SUM_ERRORS`), ``B`` for the others.

    For such an error ``e``, ``(B - 1 B[0])^T e = B^T e - B[0] sum(e) = B^T e``; a column
    the classes share is exactly zero in the difference, so its neuron's signal is exactly
    zero whatever the round-off of ``sum(e)`` (module docstring). NumPy or torch; a +-1
    basis gives entries 0 and +-2, integers as exact as the basis.
    """
    return basis - basis[0] if error in ZERO_SUM_ERRORS else basis


def learning_signal(o: Any, target: Any, basis: Any, params: SignalParams) -> Any:
    """``m = s B^T (softmax(s B o / T) - y*)`` for ``o`` of shape ``(..., d)``.

    ``target``: the one-hot label ``(..., C)``, or its :class:`ProjectedTarget`, with which
    the error and the back-projection are one product, ``softmax(z / T) B - y* B`` (the
    same signal, summed in another order). An error that sums to zero is back-projected
    through :func:`back_projection_basis`'s difference, so a neuron whose basis column the
    classes share gets exactly zero.
    """
    s = params.basis_scale(basis.shape[-1])
    z = local_logits(o, basis, s)
    if isinstance(target, ProjectedTarget):
        if (target.error in ZERO_SUM_ERRORS) != (params.error in ZERO_SUM_ERRORS):
            raise ValueError(f"the target was projected for the {target.error!r} error, the signal's is "
                             f"{params.error!r}: project it with project_target(..., error={params.error!r})")
        m = _back_project_error(local_prediction(z, params), target.back, target.projection)
    else:
        m = local_error(z, target, params) @ back_projection_basis(basis, params.error)
    return m if s == 1 else s * m  # a caller may pass s B with scale 1 (the batched trainer does)


def _back_project_error(p: Any, basis: Any, c: Any) -> Any:
    """``m = p B - y* B`` from the prediction ``p`` and the label's projection ``c = y* B``
    (``B`` here the back-projection basis, :class:`ProjectedTarget`'s ``back``):
    one ``addmm`` for a torch batch ``(B, C)`` with ``c`` ``(B, d)``."""
    if namespace(p) is not np and p.ndim == 2 and tuple(c.shape) == (p.shape[0], basis.shape[-1]):
        return namespace(p).addmm(c, p, basis, beta=-1)
    return p @ basis - c


def lls_m_gradient(o: Any, target: Any, basis: Any, gain: Any, params: SignalParams):
    """LLS-M: logits ``g * s B o``; returns ``(m, dL/dg)`` for the local cross-entropy."""
    s = params.basis_scale(basis.shape[-1])
    raw = local_logits(o, basis, s)
    e = local_error(gain * raw, target, params)
    m = s * ((e * gain) @ basis)
    grad_gain = (e * raw).sum(0) if getattr(raw, "ndim", 1) > 1 else e * raw
    return m, grad_gain


@dataclass(frozen=True)
class SoftmaxTable:
    """``exp(-scale * gap / T)`` in ``frac_bits`` fractional bits, for integer logit gaps."""

    table: np.ndarray
    frac_bits: int

    def __hash__(self) -> int:
        return hash((self.table.tobytes(), self.frac_bits))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftmaxTable) and self.frac_bits == other.frac_bits and np.array_equal(
            self.table, other.table
        )


def softmax_table(unit: float, n_gaps: int, frac_bits: int = 8) -> SoftmaxTable:
    """Tabulate ``exp(-unit * gap)`` for integer gaps ``0 .. n_gaps``, ``frac_bits`` bits.

    For a +-1 basis of size d the logit gap ``max(Bo) - Bo`` spans at most ``2 d`` and one
    integer step is worth ``s / T`` (basis scale over temperature).
    """
    gaps = np.arange(int(n_gaps) + 1)
    values = np.round(np.exp(-float(unit) * gaps) * 2**frac_bits).astype(np.int64)
    return SoftmaxTable(values, frac_bits)


def softmax_error_fixed(z: np.ndarray, label: int, table: SoftmaxTable, gap_shift: int = 0) -> np.ndarray:
    """``round(softmax(z) 2**F) - y* 2**F`` for integer logits ``z``, in integers only.

    ``exp`` is read from ``table`` at the gap ``(max z - z) >> gap_shift``; the
    normalisation is one rounded integer division.
    """
    gap = (z.max() - z) >> gap_shift
    return _normalised_error(table.table[np.minimum(gap, len(table.table) - 1)], label, table.frac_bits)


def _normalised_error(weights: np.ndarray, label: int, frac_bits: int) -> np.ndarray:
    """``round(w / sum(w) 2**F) - y* 2**F``: one rounded integer division per class."""
    one = 1 << frac_bits
    total = weights.sum()
    e = (weights * one + total // 2) // total
    e[label] -= one
    return e


@dataclass(frozen=True)
class FixedError:
    """The integer local error of a layer: ``kind`` (as ``SignalParams.error``) and its
    integer constants, errors in ``frac_bits`` fractional bits.

    ``softmax``: the exp ``table``. ``identity``, ``clipped``: the logit in ``frac_bits``
    units is ``round(z_int * unit_mant / 2**unit_shift)`` (the scale rides on the
    projection's weights); ``clipped`` bounds it to ``[lo, hi]`` (``frac_bits`` units).
    ``pwl_softmax``: ``width`` is ``k`` in integer logit steps. Made by :func:`fixed_error`.
    """

    kind: str
    frac_bits: int
    table: Optional[SoftmaxTable] = None
    unit_mant: int = 1
    unit_shift: int = 0
    lo: int = 0
    hi: int = 0
    width: int = 1


def fixed_error(signal: SignalParams, step: float, n_gaps: int, frac_bits: int = 8) -> FixedError:
    """The integer error of ``signal`` for integer logits worth ``step`` each (the basis
    scale ``s``, over the pooling area for conv layers) spanning at most ``n_gaps``.

    The temperature divides ``step`` (except for ``identity``, which ignores it, as the
    float error does); the logit unit becomes an 8-bit mantissa over a power of two.
    """
    kind = signal.error
    unit = step if kind == "identity" else step / signal.temperature
    if kind == "softmax":
        return FixedError(kind, frac_bits, table=softmax_table(unit, n_gaps, frac_bits))
    if kind == "pwl_softmax":
        return FixedError(kind, frac_bits, width=max(1, int(round(signal.pwl_width / unit))))
    value, shift = unit * 2**frac_bits, 0
    while value * 2**shift < 128 and shift < 62:
        shift += 1
    lo, hi = (int(round(v * 2**frac_bits)) for v in signal.clip)
    return FixedError(kind, frac_bits, unit_mant=int(round(value * 2**shift)), unit_shift=shift, lo=lo, hi=hi)


def local_error_fixed(z: np.ndarray, label: int, error: Any) -> np.ndarray:
    """``e_int = round(p(z) 2**F) - y* 2**F`` for integer logits ``z`` (``(C,)``), in
    integers only; ``error`` a :class:`FixedError` (or a :class:`SoftmaxTable`: softmax).

    ``pwl_softmax``: ramps ``max(k - (max z - z), 0)`` (compare, subtract), normalised by
    one rounded division per class; ``clipped``: the scaled logit clipped to ``[lo, hi]``;
    ``identity``: the scaled logit.
    """
    if isinstance(error, SoftmaxTable):
        return softmax_error_fixed(z, label, error)
    z = np.asarray(z, np.int64)
    if error.kind == "softmax":
        return softmax_error_fixed(z, label, error.table)
    if error.kind == "pwl_softmax":
        return _normalised_error(np.maximum(error.width - (z.max() - z), 0), label, error.frac_bits)
    half = (1 << error.unit_shift) >> 1
    e = (z * error.unit_mant + half) >> error.unit_shift
    if error.kind == "clipped":
        e = np.clip(e, error.lo, error.hi)
    e[label] -= 1 << error.frac_bits
    return e


class IntegerBasis(NamedTuple):
    """An integer basis (+-1 square waves) as the integer signal uses it, both int64 and
    ``(C, d)``; made once per layer by :func:`integer_basis`."""

    sign: np.ndarray
    """``B``: the local classifier's weights, ``z = B o``."""
    back: np.ndarray
    """``B'``: the basis the error is back-projected through (:func:`back_projection_basis`)."""
    error: str
    """The error kind (:data:`ERRORS`) ``back`` was made for."""


def _fixed_error_kind(error: Any) -> str:
    """The :data:`ERRORS` kind of an integer error (a :class:`SoftmaxTable` is the softmax)."""
    return "softmax" if isinstance(error, SoftmaxTable) else error.kind


def integer_basis(basis_sign: Any, error: Any) -> IntegerBasis:
    """:class:`IntegerBasis` of an integer basis for the integer ``error`` (a
    :class:`FixedError`, or a :class:`SoftmaxTable`: softmax). Given one already, returns it,
    after checking that it back-projects as ``error`` needs (as :func:`learning_signal`
    checks a :class:`ProjectedTarget`)."""
    kind = _fixed_error_kind(error)
    if isinstance(basis_sign, IntegerBasis):
        if (basis_sign.error in ZERO_SUM_ERRORS) != (kind in ZERO_SUM_ERRORS):
            raise ValueError(f"the integer basis was made for the {basis_sign.error!r} error, the signal's is "
                             f"{kind!r}: make it with integer_basis(basis, error)")
        return basis_sign
    sign = np.asarray(basis_sign, np.int64)
    return IntegerBasis(sign, back_projection_basis(sign, kind), kind)


def learning_signal_fixed(o: np.ndarray, label: int, basis_sign: Any, error: Any,
                          o_frac_bits: int = 0) -> np.ndarray:
    """Integer learning signal for an integer basis (+-1 square waves) and binary spikes.

    ``basis_sign``: the basis's :class:`IntegerBasis` (a model's, made once), or the basis
    itself, from which each call makes it.
    Returns ``m_int = B^T e_int`` (through :func:`back_project_error_fixed`) with ``e_int``
    from :func:`local_error_fixed` (``error``: a :class:`FixedError`, or a
    :class:`SoftmaxTable` for the softmax); the float signal
    is ``s * m_int / 2**F``. ``label < 0`` (no label) gives zeros. ``o_frac_bits``: ``o``
    holds values with that many fractional bits (filtered spikes, ``rule.filtered``); the
    logits ``B o`` are rounded to whole spikes, the unit the error's constants count in.
    """
    basis = integer_basis(basis_sign, error)
    if label < 0:
        return np.zeros(basis.sign.shape[1], dtype=np.int64)
    z = basis.sign @ np.asarray(o, dtype=np.int64)
    if o_frac_bits:
        z = (z + (1 << (o_frac_bits - 1))) >> o_frac_bits
    return back_project_error_fixed(local_error_fixed(z, label, error), basis, error)


def back_project_error_fixed(e: np.ndarray, basis_sign: Any, error: Any) -> np.ndarray:
    """``m_int = (B - 1 B[0])^T e_int`` for the integer errors that sum to zero (softmax,
    ``pwl_softmax``; :func:`back_projection_basis`), ``B^T e_int`` for the others.

    The rounded division leaves ``sum(e_int)`` a few units off zero; through the difference
    a column the classes share still gets exactly zero. ``basis_sign``: an
    :class:`IntegerBasis` or the basis (:func:`integer_basis`); ``error``: a
    :class:`FixedError` or a :class:`SoftmaxTable` (softmax)."""
    return integer_basis(basis_sign, error).back.T @ np.asarray(e, np.int64)

"""The local learning signal of LLS / TESS: project, compare with the label, back-project.

TESS (arXiv 2502.01837, eq. 7-8), for a layer with output spikes o[t] (pooled for conv
layers) and a fixed basis B (C x d) scaled by ``s``::

    z[t] = s B o[t]                           (C local logits)
    e[t] = softmax(z[t] / T) - y*             (local error; ``identity``: e = z - y*)
    m[t] = s B^T e[t]                         (the layer's learning signal, d values)

``m`` is the gradient of the local cross-entropy with respect to o (up to 1/T), so a
synapse update ``W -= lr * m (x) eligibility`` descends the local loss. No error from any
other layer enters: the signal is local in space.

A caller that runs many steps on one label may project the label once,
``y* B`` (:func:`project_target`): ``m = s (softmax(z / T) B - y* B)`` is then one product
per step for the error and the back-projection (an ``addmm`` in torch).

LLS-M multiplies the logits by a trainable C-vector ``g`` (``z = g * s B o``); its local
gradient is ``e * (s B o)`` (:func:`lls_m_gradient`).

Fixed-point (:func:`learning_signal_fixed`): with a square basis (entries +-1) and binary
spikes, ``B o`` is an exact integer sum. The softmax runs on integers: ``exp`` comes from a
table over the integer logit gap ``max(Bo) - Bo`` (built from the float function), the
normalisation is one integer division, and the error and back-projection are integer
sums. ``m`` comes out with ``frac_bits`` fractional bits and without the factor ``s``
(fold ``s`` into the learning rate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import numpy as np

from .. import _validate
from ._array import namespace

__all__ = [
    "SignalParams",
    "local_logits",
    "local_prediction",
    "local_error",
    "ProjectedTarget",
    "project_target",
    "learning_signal",
    "lls_m_gradient",
    "one_hot",
    "SoftmaxTable",
    "softmax_table",
    "softmax_error_fixed",
    "learning_signal_fixed",
]


@dataclass(frozen=True)
class SignalParams:
    """The local signal: basis kind, number of classes, basis scale, temperature, error.

    ``n_classes=None`` (the default) takes the class count of the network the rule is
    given to (:meth:`~lava_local.rules.LearningRule.for_classes`); a number fixes it, and a
    network with another count is then refused. ``scale=None`` means 1 (square-wave entries +-1, the regime that keeps hidden layers
    sparse); ``scale="1/d"`` divides by the layer size as the authors' code does;
    ``"1/sqrt(d)"`` lies between the two.
    """

    n_classes: Optional[int] = None
    basis: str = "square"
    scale: Any = None
    temperature: float = 1.0
    error: str = "softmax"

    def __post_init__(self) -> None:
        if self.n_classes is not None:
            _validate.integer("n_classes", self.n_classes, 2)
        if self.basis not in ("square", "cosine", "sine"):
            raise ValueError(f"unknown basis kind {self.basis!r}; choose square, cosine or sine")
        if self.scale is not None and self.scale not in ("1/d", "1/sqrt(d)"):
            _validate.positive("scale", self.scale)
        _validate.positive("temperature", self.temperature)
        if self.error not in ("softmax", "identity"):
            raise ValueError(f"error must be 'softmax' or 'identity', got {self.error!r}")

    def basis_scale(self, size: int) -> float:
        if self.scale is None:
            return 1.0
        if self.scale == "1/d":
            return 1.0 / size
        if self.scale == "1/sqrt(d)":
            return 1.0 / size**0.5
        return float(self.scale)


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
    """``softmax(z / T)`` (or ``z`` itself for regression, ``error="identity"``)."""
    if params.error == "identity":
        return z
    zt = z / params.temperature if params.temperature != 1 else z
    if namespace(z) is not np:
        return zt.softmax(-1)  # torch's one fused kernel (max-shifted, as below)
    zt = zt - zt.max(-1, keepdims=True)
    ez = np.exp(zt)
    return ez / ez.sum(-1, keepdims=True)


def local_error(z: Any, target: Any, params: SignalParams) -> Any:
    """``softmax(z / T) - y*`` (or ``z - y*`` for regression)."""
    return local_prediction(z, params) - target


class ProjectedTarget(NamedTuple):
    """A label given by its back-projection ``y* B`` (``(..., d)``, the basis as the
    signal uses it): what :func:`learning_signal` needs of the label, computed once per
    sample by :func:`project_target`."""

    projection: Any


def project_target(target: Any, basis: Any) -> ProjectedTarget:
    """``y* B`` for one-hot ``target`` ``(..., C)`` and the basis ``(C, d)``."""
    return ProjectedTarget(target @ basis)


def learning_signal(o: Any, target: Any, basis: Any, params: SignalParams) -> Any:
    """``m = s B^T (softmax(s B o / T) - y*)`` for ``o`` of shape ``(..., d)``.

    ``target``: the one-hot label ``(..., C)``, or its :class:`ProjectedTarget`, with which
    the error and the back-projection are one product, ``softmax(z / T) B - y* B`` (the
    same signal, summed in another order).
    """
    s = params.basis_scale(basis.shape[-1])
    z = local_logits(o, basis, s)
    if isinstance(target, ProjectedTarget):
        m = _back_project_error(local_prediction(z, params), basis, target.projection)
    else:
        m = local_error(z, target, params) @ basis
    return m if s == 1 else s * m  # a caller may pass s B with scale 1 (the batched trainer does)


def _back_project_error(p: Any, basis: Any, c: Any) -> Any:
    """``m = p B - y* B`` from the prediction ``p`` and the label's projection ``c = y* B``:
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
    one = 1 << table.frac_bits
    gap = (z.max() - z) >> gap_shift
    weights = table.table[np.minimum(gap, len(table.table) - 1)]
    total = weights.sum()
    e = (weights * one + total // 2) // total
    e[label] -= one
    return e


def learning_signal_fixed(
    o: np.ndarray, label: int, basis_sign: np.ndarray, table: SoftmaxTable, error: str = "softmax"
) -> np.ndarray:
    """Integer learning signal for an integer basis (+-1 square waves) and binary spikes.

    Returns ``m_int = B^T e_int`` with ``e_int = round(p 2**F) - y* 2**F``; the float signal
    is ``s * m_int / 2**F``. ``label < 0`` (no label) gives zeros.
    """
    d = basis_sign.shape[1]
    if label < 0:
        return np.zeros(d, dtype=np.int64)
    z = basis_sign.astype(np.int64) @ np.asarray(o, dtype=np.int64)
    if error == "identity":
        e = z << table.frac_bits
        e[label] -= 1 << table.frac_bits
    else:
        e = softmax_error_fixed(z, label, table)
    return basis_sign.T.astype(np.int64) @ e

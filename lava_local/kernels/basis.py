"""Fixed periodic bases B (C x d) for the LLS / TESS local learning signal.

One frequency per class; rows are nearly orthogonal, so projecting a layer's activity on
B gives C "logits" without any trainable feedback (LLS, arXiv 2405.15868, sec. 3; TESS,
arXiv 2502.01837, sec. III-B). The kinds follow the authors' code:

* ``cosine``: ``B[k, j] = cos(pi f_k (j + 0.5) / d)``, ``f_k = linspace(100, 512, C)``
  (DCT-like; a variant the authors' code keeps commented out). A DCT row is a distinct
  frequency only for ``f_k < d``; above it the row aliases, and where ``f_k`` is a multiple
  of ``d`` it collapses: constant (``f_k / d`` even) or zero (odd). The last class's
  ``f_k = 512`` does so at every power-of-two width up to 512 (constant at d = 64, 128,
  256; zero at d = 512), so :func:`make_basis` refuses those sizes (a constant row makes
  that class's logit the layer's total activity, a zero row makes the class invisible).
* ``sine``:   ``B[k, j] = sin(f_k j)``, ``f_k = linspace(50, 512, C)``: what the authors'
  LLS code computes for its default waveform; the integer sample points ``j`` give each
  row a pseudo-random phase, with no aliasing to a constant or zero row (LLS's default)
* ``square``: ``sign`` of the sine basis, entries +-1 (TESS's binary square waves; on
  Loihi the projection is then a +-1 dense connection). The sine's pseudo-random phases
  keep the rows nearly orthogonal (max |cos| 0.04 at d = 512, 0.2 at d = 128), which the
  sign of the cosine basis does not (0.34 at d = 512: its harmonics alias).
* ``square_split``: the square basis with every column split between the classes. A
  column with the same sign for every class gives its neuron no signal at all: the
  softmax error sums to zero over the classes, so ``m_j = s sum_c e_c B[c, j]`` vanishes
  (likewise the pwl softmax's). With the square basis that is one column in 2 at C = 2,
  one in 4 at C = 3, about one in 10 at C = 6 and one in 18 at C = 10 (d = 256). Here
  such a column ``j`` has the entry of class ``j mod C`` flipped, so each neuron's column
  tells some class from the rest; at C = 2 the two rows are then opposite,
  ``B[1] = -B[0]``, and every neuron learns the logit difference. Entries stay +-1 (an
  option; benchmarks/RESULTS.md, "Neurons the square basis leaves without a signal").

Each basis is a deterministic function of ``(C, d, kind)``: no random state.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .. import _validate

__all__ = ["BASIS_KINDS", "make_basis", "degenerate_rows", "constant_columns", "cosine_basis", "sine_basis",
           "square_wave_basis", "split_square_wave_basis"]


def cosine_frequencies(n_classes: int) -> np.ndarray:
    """The cosine basis's ``f_k = linspace(100, 512, C)``."""
    return np.linspace(100.0, 512.0, n_classes)


def cosine_basis(n_classes: int, size: int) -> np.ndarray:
    f = cosine_frequencies(n_classes)[:, None]
    j = np.arange(size)[None, :]
    return np.cos(np.pi * f * (j + 0.5) / size)


def sine_basis(n_classes: int, size: int) -> np.ndarray:
    f = np.linspace(50.0, 512.0, n_classes)[:, None]
    return np.sin(f * np.arange(size)[None, :])


def square_wave_basis(n_classes: int, size: int) -> np.ndarray:
    """``sign(sine_basis)`` with ``sign(0) = +1``: entries exactly +-1."""
    return np.where(sine_basis(n_classes, size) >= 0.0, 1.0, -1.0)


def constant_columns(basis: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``basis`` equal for every class: neurons that a signal
    whose error sums to zero over the classes (softmax, pwl softmax) never moves."""
    basis = np.asarray(basis, dtype=float)
    return np.flatnonzero(np.all(basis == basis[:1], axis=0))


def split_square_wave_basis(n_classes: int, size: int) -> np.ndarray:
    """:func:`square_wave_basis` with each column that is the same for every class split:
    column ``j``'s entry of class ``j mod C`` flipped (module docstring)."""
    basis = square_wave_basis(n_classes, size)
    columns = constant_columns(basis)
    basis[columns % n_classes, columns] *= -1.0
    return basis


BASIS_KINDS: Dict[str, Callable[[int, int], np.ndarray]] = {
    "square": square_wave_basis,
    "square_split": split_square_wave_basis,
    "cosine": cosine_basis,
    "sine": sine_basis,
}


def degenerate_rows(basis: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``basis`` that are constant (zero included): rows whose
    projection of a layer's activity carries no pattern over the neurons, only their sum."""
    basis = np.asarray(basis, dtype=float)
    spread = basis.max(axis=1) - basis.min(axis=1)
    return np.flatnonzero(spread <= 1e-9 * max(1.0, float(np.abs(basis).max())))


def make_basis(kind: str, n_classes: int, size: int) -> np.ndarray:
    """The ``(n_classes, size)`` basis of ``kind`` (``square``, ``square_split``, ``cosine`` or ``sine``).

    Raises ``ValueError`` for a ``cosine`` basis with a constant or zero row (its
    frequency a multiple of ``size``, see the module docstring)."""
    if kind not in BASIS_KINDS:
        raise ValueError(f"unknown basis kind {kind!r}; choose one of {', '.join(BASIS_KINDS)}")
    _validate.integer("n_classes", n_classes, 2)
    _validate.integer("basis size", size, 1)
    basis = BASIS_KINDS[kind](int(n_classes), int(size))
    if kind == "cosine" and size > 1:
        rows = degenerate_rows(basis)
        if rows.size:
            k = int(rows[0])
            f = float(cosine_frequencies(n_classes)[k])
            zero = np.abs(basis[k]).max() < 1e-6
            effect = "always zero" if zero else "the layer's total activity"
            raise ValueError(f"the cosine basis of {n_classes} classes over {size} neurons has a "
                             f"{'zero' if zero else 'constant'} row for class {k} (its frequency {f:g} is a "
                             f"multiple of {size}, so the row aliases): that class's local logit would be {effect}; "
                             "use basis='sine' (LLS's default) or 'square' (TESS's)")
    return basis

"""Secondary activations Psi(u): the surrogate derivative that gates the eligibility.

The four choices of S-TLLR (arXiv 2306.15220, Appendix A.3), each a function of the
distance to threshold ``x = u - v_th``:

=================  ============================================  ======================
kind               Psi                                           used for
=================  ============================================  ======================
``triangular``     ``0.3 * max(1 - |x|, 0)``                     DVS Gesture; TESS default
``inverse_square`` ``1 / (100 |x| + 1)**2``                      SHD
``sigmoid``        ``4 sigma(x) (1 - sigma(x))``                 CIFAR10-DVS
``lorentzian``     ``1 / (1 + (10 x)**2)``                       optical flow
=================  ============================================  ======================

The fixed-point form (:func:`psi_fixed`) reads Psi from a look-up table indexed by
``|u - vth| >> shift``; the table is built from the float function, so the float kernel
stays the single definition. All four are even and non-increasing in ``|x|``, which is
what makes a one-sided table with a zero tail valid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict

import numpy as np

from .. import _validate
from ._array import namespace

__all__ = ["Surrogate", "PsiTable", "psi", "psi_fixed", "psi_table", "SURROGATES"]


# Each function overwrites its argument with the result: ``psi`` passes a fresh ``u - v_th``,
# so Psi of a large array (a window of membranes) costs one array, not four temporaries.
def _over(xp: Any, name: str, x: Any, *args: Any) -> Any:
    """``xp.<name>(x, *args)`` written over ``x``: NumPy's ``out=``, torch's in-place method
    (which autograd follows, unlike ``out=``)."""
    if xp is np:
        return getattr(np, name)(x, *args, out=x)
    return getattr(x, name + "_")(*args)


def _triangular(x: Any, xp: Any) -> Any:
    # max(0.3 - 0.3 |x|, 0): the peak folded into the slope, one operation fewer
    x = _over(xp, "abs", x)
    if xp is np or x.requires_grad:  # autograd follows neither out= nor rsub
        x *= -0.3
        x += 0.3
    else:  # 0.3 - 0.3 |x| as one operation: torch's rsub, written over x (it has no in-place form)
        xp.ops.aten.rsub.Scalar_out(x, 0.3, 0.3, out=x)
    return _over(xp, "clip", x, 0.0, None)


def _inverse_square(x: Any, xp: Any) -> Any:
    x = _over(xp, "abs", x)
    x *= 100.0
    x += 1.0
    x = _over(xp, "square", x)
    return _over(xp, "reciprocal", x)


def _sigmoid(x: Any, xp: Any) -> Any:
    # 4 sigma(x) (1 - sigma(x)) = 1 / cosh(x / 2)**2: one array, and no cancellation in 1 - sigma
    x *= 0.5
    with np.errstate(over="ignore"):  # far from threshold cosh overflows to inf: Psi = 0, as it should
        x = _over(xp, "cosh", x)
        x = _over(xp, "square", x)
    return _over(xp, "reciprocal", x)


def _lorentzian(x: Any, xp: Any) -> Any:
    x *= 10.0
    x = _over(xp, "square", x)
    x += 1.0
    return _over(xp, "reciprocal", x)


#: ``f(x, xp)`` for each kind: Psi of ``x = u - v_th``, written over ``x`` (pass a copy).
SURROGATES: Dict[str, Callable[[Any, Any], Any]] = {
    "triangular": _triangular,
    "inverse_square": _inverse_square,
    "sigmoid": _sigmoid,
    "lorentzian": _lorentzian,
}
_PEAK = {"triangular": 0.3, "inverse_square": 1.0, "sigmoid": 1.0, "lorentzian": 1.0}


@dataclass(frozen=True)
class Surrogate:
    """Which Psi to use; ``triangular`` is the TESS default."""

    kind: str = "triangular"

    def __post_init__(self) -> None:
        if self.kind not in SURROGATES:
            raise ValueError(
                f"unknown surrogate kind {self.kind!r}; choose one of {', '.join(SURROGATES)}"
            )

    @property
    def peak(self) -> float:
        """Psi(v_th), the largest value Psi takes."""
        return _PEAK[self.kind]


def psi(u: Any, v_th: float, surrogate: Surrogate = Surrogate(), out: Any = None) -> Any:
    """Psi(u) = f(u - v_th) for the chosen kind (NumPy or torch input): a new array, or
    written into ``out`` (``u`` is not changed)."""
    xp = namespace(u)
    if out is not None:
        distance = (np.subtract if xp is np else xp.sub)(u, v_th, out=out)
    else:
        distance = u - v_th
    if xp is np and not isinstance(distance, np.ndarray):  # a NumPy scalar cannot be overwritten
        distance = np.array(distance, dtype=float)
    return SURROGATES[surrogate.kind](distance, xp)


@dataclass(frozen=True)
class PsiTable:
    """Psi as integers: ``table[min(|u - threshold| >> shift, len - 1)]``.

    ``table`` holds ``round(Psi * 2**frac_bits)`` at the centre of each bin and ends in a
    zero, so distances past the table read zero.
    """

    table: np.ndarray
    shift: int
    frac_bits: int

    def __hash__(self) -> int:  # frozen dataclass with an array field
        return hash((self.table.tobytes(), self.shift, self.frac_bits))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PsiTable)
            and self.shift == other.shift
            and self.frac_bits == other.frac_bits
            and np.array_equal(self.table, other.table)
        )


def psi_table(surrogate: Surrogate, membrane_unit: int, frac_bits: int, lut_bits: int) -> PsiTable:
    """Tabulate Psi for a fixed-point membrane where ``1.0`` is ``membrane_unit``.

    The table covers ``|x|`` up to where Psi drops below half a least significant bit
    (``2**-(frac_bits + 1)``) with ``2**lut_bits - 1`` bins of ``2**shift`` membrane units
    each, plus a final zero entry.
    """
    _validate.integer("membrane_unit", membrane_unit, 1)
    _validate.integer("frac_bits", frac_bits, 0, 30)
    _validate.integer("lut_bits", lut_bits, 1, 16)
    f = SURROGATES[surrogate.kind]
    half_lsb = 0.5 / 2**frac_bits
    # Psi is non-increasing in |x|: from one membrane unit, double the reach until Psi is
    # below half an LSB there, so the table spends its bins where Psi is non-zero.
    reach = 1.0 / membrane_unit
    while float(f(np.array(reach), np)) >= half_lsb:
        reach *= 2.0
    bins = 2**lut_bits - 1
    shift = max(0, math.ceil(math.log2(reach * membrane_unit / bins)))
    width = 2**shift
    centres = (np.arange(bins) + 0.5) * width / membrane_unit
    values = np.round(f(centres, np) * 2**frac_bits).astype(np.int64)
    return PsiTable(np.append(values, 0), shift, frac_bits)


def psi_fixed(u: np.ndarray, threshold: int, table: PsiTable) -> np.ndarray:
    """Integer Psi: ``table[min(|u - threshold| >> shift, len - 1)]``."""
    distance = np.abs(np.asarray(u, dtype=np.int64) - threshold) >> table.shift
    return table.table[np.minimum(distance, len(table.table) - 1)]

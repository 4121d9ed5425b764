"""LIF neuron with subtractive reset: float kernel and Loihi fixed-point kernel.

The neuron of S-TLLR and TESS (DESIGN.md 2.1; S-TLLR arXiv 2306.15220 eq. 1-2, TESS
arXiv 2502.01837 eq. 1-2)::

    u[t] = gamma * (u[t-1] - v_th * o[t-1]) + I[t]
    o[t] = H(u[t] - v_th)

The state carried between steps is ``(u, o)``: the membrane *before* reset and the spikes,
which is what the learning rules need (Psi is evaluated on the pre-reset membrane). The
reset is applied at the start of the next step, inside the decay, exactly as written
above. Spikes use the strict comparison ``u > v_th``, as Loihi does; in float the equality
case has probability zero.

The fixed-point kernel is the same equation in Loihi 2 integer arithmetic, as Lava's
``PyLifModelBitAcc`` computes it with ``du = 4095`` (its current then holds only this
step's input, which turns Loihi's two-state CUBA neuron into the papers' one-state
neuron)::

    v     = u - (vth << threshold_shift) * o            (reset="subtract", the papers')
          | u * (1 - o)                                  (reset="zero", Lava's LIF)
    u'    = trunc(v * (2**decay_bits - dv) / 2**decay_bits) + (a_in << input_shift)
    u'    = clip(u', -state_max, state_max)
    o'    = u' > (vth << threshold_shift)

trunc rounds toward zero, as Loihi's sign-magnitude multiply does. With reset="zero" the
kernel is bit-identical to ``PyLifModelBitAcc`` (its ``v`` equals ``u * (1 - o)`` here);
the test suite checks this over thousands of steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from .. import _validate
from ..hw_profile import NeuronFormat
from ._array import add_into, namespace

__all__ = [
    "LIFParams", "LIFFixedParams", "LIFState", "lif_step", "spikes", "lif_step_fixed", "lif_init", "trunc_shift"]

ResetMode = Literal["subtract", "zero"]


@dataclass(frozen=True)
class LIFParams:
    """Float LIF parameters (TESS defaults: gamma 0.5, v_th 0.6)."""

    gamma: float = 0.5
    v_th: float = 0.6
    reset: ResetMode = "subtract"

    def __post_init__(self) -> None:
        _validate.in_unit_interval("gamma", self.gamma)
        _validate.positive("v_th", self.v_th)
        if self.reset not in ("subtract", "zero"):
            raise ValueError(f"reset must be 'subtract' or 'zero', got {self.reset!r}")


@dataclass(frozen=True)
class LIFFixedParams:
    """Integer LIF parameters in a hardware profile's format.

    ``dv`` is the 12-bit voltage decay (``gamma = 1 - dv / 4096``), ``vth`` the threshold
    mantissa (the membrane is compared with ``vth << threshold_shift``). Build it from
    float parameters with :func:`lava_local.fixed_point.quantize_lif`.
    """

    dv: int
    vth: int
    fmt: NeuronFormat
    reset: ResetMode = "subtract"

    def __post_init__(self) -> None:
        _validate.integer("dv", self.dv, 0, self.fmt.decay_unity - 1)
        _validate.integer("vth", self.vth, 1, self.fmt.threshold_max)
        if self.reset not in ("subtract", "zero"):
            raise ValueError(f"reset must be 'subtract' or 'zero', got {self.reset!r}")

    @property
    def threshold(self) -> int:
        """The threshold in membrane units: ``vth << threshold_shift``."""
        return self.vth << self.fmt.threshold_shift


class LIFState(NamedTuple):
    u: Any  # membrane before reset
    o: Any  # spikes of the step (0/1, same dtype family as u)


def lif_init(shape: tuple, dtype: Any = float) -> LIFState:
    """The resting state: zero membrane, no spikes (NumPy)."""
    return LIFState(np.zeros(shape, dtype=dtype), np.zeros(shape, dtype=dtype))


def lif_step(state: LIFState, current: Any, params: LIFParams, in_place: bool = False) -> LIFState:
    """One float LIF step: ``u = gamma (u - v_th o) + I``, ``o = H(u - v_th)``.

    Works on NumPy arrays and torch tensors alike (any float dtype, any shape).
    ``in_place=True`` writes the new u and o over the state's (a caller that owns them).
    """
    u, o = state
    if in_place:
        if params.reset == "subtract" and namespace(u) is not np:
            u.sub_(o, alpha=params.v_th)  # one operation; exact, as v_th o is v_th or 0
        elif params.reset == "subtract":
            u -= params.v_th * o
        else:
            u *= 1 - o
        v = u
    else:
        v = u - params.v_th * o if params.reset == "subtract" else u * (1 - o)
    u_next = add_into(v, current, params.gamma)  # in v's storage: one layer-sized array, not three
    return LIFState(u_next, spikes(u_next, params, out=o if in_place else None))


def spikes(u: Any, params: LIFParams, out: Any = None) -> Any:
    """``o = H(u - v_th)`` as 0/1 of u's float type (NumPy or torch), or written into ``out``."""
    xp = namespace(u)
    if out is not None:
        return (np.greater if xp is np else xp.gt)(u, params.v_th, out=out)
    spiked = u > params.v_th
    if xp is np:
        return np.asarray(spiked, dtype=np.result_type(u, np.float32))
    return spiked.to(u.dtype)


def trunc_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """``x / 2**shift`` rounded toward zero, as a sign-magnitude shifter does."""
    return np.sign(x) * (np.abs(x) >> shift)


def lif_step_fixed(state: LIFState, a_in: np.ndarray, params: LIFFixedParams) -> LIFState:
    """One integer LIF step in Loihi arithmetic (see the module docstring).

    ``state.u`` and ``a_in`` are integer arrays; ``a_in`` saturates to the profile's
    ``input_bits`` as the dendritic accumulator does.
    """
    fmt = params.fmt
    u = np.asarray(state.u, dtype=np.int64)
    o = np.asarray(state.o, dtype=np.int64)
    if params.reset == "subtract":
        v = u - params.threshold * o
    else:
        v = u * (1 - o)
    decayed = trunc_shift(v * (fmt.decay_unity - params.dv), fmt.decay_bits)
    a = np.clip(np.asarray(a_in, dtype=np.int64), -fmt.input_max - 1, fmt.input_max)
    u_next = np.clip(decayed + (a << fmt.input_shift), -fmt.state_max, fmt.state_max)
    o_next = (u_next > params.threshold).astype(np.int64)
    return LIFState(u_next, o_next)

"""Eligibility traces of S-TLLR and TESS: the pre trace q and the post trace h.

S-TLLR (arXiv 2306.15220, eq. 10) keeps two exponentially decaying traces, so the
eligibility needs O(n) memory whatever the sequence length::

    q[t] = lambda_pre  * q[t-1] + o_pre[t]        = sum_{s<=t} lambda_pre**(t-s)  o_pre[s]
    h[t] = lambda_post * h[t-1] + Psi(u[t-1])     = sum_{s<t}  lambda_post**(t-1-s) Psi(u[s])

Both are one function, :func:`trace_step`; the fixed-point form decays with the same
12-bit multiplier as the neuron and saturates to the profile's unsigned trace width.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate
from ._array import add_into

__all__ = ["TraceParams", "trace_step", "trace_step_fixed", "pre_trace_step", "post_trace_step"]


@dataclass(frozen=True)
class TraceParams:
    """Trace decays (TESS defaults: lambda_pre 0.5, lambda_post 0.2)."""

    lambda_pre: float = 0.5
    lambda_post: float = 0.2

    def __post_init__(self) -> None:
        _validate.in_unit_interval("lambda_pre", self.lambda_pre)
        _validate.in_unit_interval("lambda_post", self.lambda_post)


def trace_step(trace: Any, impulse: Any, decay: float, in_place: bool = False) -> Any:
    """``x[t] = decay * x[t-1] + impulse[t]`` (NumPy or torch); ``in_place=True`` writes it
    over ``trace`` (for a caller that owns the state, like the batched trainer)."""
    if in_place:
        return add_into(trace, impulse, decay)
    return add_into(decay * trace, impulse)


def pre_trace_step(q: Any, pre_spikes: Any, params: TraceParams) -> Any:
    """``q[t] = lambda_pre q[t-1] + o_pre[t]``."""
    return trace_step(q, pre_spikes, params.lambda_pre)


def post_trace_step(h: Any, psi_previous: Any, params: TraceParams) -> Any:
    """``h[t] = lambda_post h[t-1] + Psi(u[t-1])``."""
    return trace_step(h, psi_previous, params.lambda_post)


def trace_step_fixed(
    trace: np.ndarray, impulse: np.ndarray, decay: int, decay_bits: int, trace_max: int
) -> np.ndarray:
    """``x = min(floor(x * (2**decay_bits - decay) / 2**decay_bits) + impulse, trace_max)``.

    ``decay`` is the integer decrement (``lambda = 1 - decay / 2**decay_bits``); traces and
    impulses are non-negative, so the shift floors.
    """
    x = np.asarray(trace, dtype=np.int64)
    decayed = (x * ((1 << decay_bits) - decay)) >> decay_bits
    return np.minimum(decayed + np.asarray(impulse, dtype=np.int64), trace_max)

"""The local update of a window of steps in one product: the backward view of the pre trace.

Over steps ``t0 .. t1-1`` the update of :mod:`.plasticity` (TESS arXiv 2502.01837 eq. 9,
S-TLLR arXiv 2306.15220 eq. 13) is::

    sum_t  a[t] (x) q[t]  +  b[t] (x) o_pre[t]            a = m alpha_pre Psi(u), b = m alpha_post h

with the pre trace ``q[t] = lambda q[t-1] + o_pre[t]`` (:mod:`.traces`). Computed step by
step it costs two weight-gradient products per step (q and o_pre). Unrolling the trace,
``q[t] = lambda**(t-t0+1) q[t0-1] + sum_{t0<=s<=t} lambda**(t-s) o_pre[s]``, and exchanging
the two sums gives the *backward view* of the trace (the forward/backward-view identity
of eligibility traces, Sutton & Barto 2018, ch. 12)::

    = sum_s  c[s] (x) o_pre[s]  +  lambda a~[t0] (x) q[t0-1]
      a~[s] = a[s] + lambda a~[s+1]   (a~[t1] = 0),      c[s] = a~[s] + b[s]

one product over the window's inputs plus a batch-sized one with the trace that enters
the window: about half the multiply-adds of the step-by-step form, in two kernel calls
instead of 2k, with the same result up to float summation order. The trace leaving the
window, ``q[t1-1]``, follows from the same inputs. Memory is bounded by the window, not T.

:func:`lava_local.kernels.layer.layer_learn_window` composes this with the neuron,
traces and local signal of a layer.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Tuple

import numpy as np

from ._array import namespace
from .plasticity import EligibilityParams, synapse_outer

__all__ = ["backward_view_update", "trace_window"]


def _decay_matrix(rows: int, cols: int, decay: float, offset: int, like: Any) -> Any:
    """``M[j, i] = decay**(j - i + offset)`` where ``j - i + offset >= 0``, else 0, with
    ``like``'s array type, dtype and device."""
    if namespace(like) is np:
        return _decay_matrix_numpy(rows, cols, float(decay), offset).astype(like.dtype, copy=False)
    return _decay_matrix_torch(rows, cols, float(decay), offset, like.dtype, like.device)


@lru_cache(maxsize=128)
def _decay_matrix_numpy(rows: int, cols: int, decay: float, offset: int) -> np.ndarray:
    lag = np.arange(rows)[:, None] - np.arange(cols)[None, :] + offset
    return np.where(lag >= 0, decay ** np.maximum(lag, 0), 0.0)


@lru_cache(maxsize=128)
def _decay_matrix_torch(rows: int, cols: int, decay: float, offset: int, dtype: Any, device: Any) -> Any:
    # made on the device once per shape: no host copy inside a training step (so that a
    # step can be captured in a CUDA graph)
    import torch

    lag = torch.arange(rows, device=device)[:, None] - torch.arange(cols, device=device)[None, :] + offset
    powers = torch.full((), decay, dtype=dtype, device=device) ** lag.clamp(min=0).to(dtype)
    return torch.where(lag >= 0, powers, torch.zeros((), dtype=dtype, device=device))


def trace_window(before: Any, impulses: Any, decay: float, impulse_before: Any = None,
                 last: bool = False) -> Any:
    """All k values of a trace over a window at once, as products with small matrices of
    decay powers instead of k element-wise steps of
    :func:`~lava_local.kernels.traces.trace_step`::

        x[j] = decay x[j-1] + impulse[j]        x[-1] = before            (the pre trace q)
        x[j] = decay x[j-1] + impulse[j-1]      impulse[-1] = impulse_before  (the post trace h,
                                                driven by Psi of the step before)

    i.e. ``x[j] = decay**(j+1) before + sum_i decay**(j-i) impulse[i]`` over ``i <= j`` (or,
    one step late, ``+ decay**j impulse_before + sum_{i<j} decay**(j-1-i) impulse[i]``).
    ``impulses``: ``(k, ...)``; ``before`` and ``impulse_before``: ``(...)``. Returns
    ``(k, ...)``, or with ``last=True`` only ``x[k-1]``, ``(...)``.
    """
    k = impulses.shape[0]
    late = impulse_before is not None
    rows, first = (1, k - 1) if last else (k, 0)  # which x[j]: j = first .. first + rows - 1
    flat = impulses.reshape(k, -1)
    x = _decay_matrix(rows, k, decay, first - (1 if late else 0), flat) @ flat
    terms = [(before, first + 1)] + ([(impulse_before, first)] if late else [])
    for value, offset in terms:  # rank-one terms, added in place (no window-sized temporary)
        column, row = _decay_matrix(rows, 1, decay, offset, flat), value.reshape(1, -1)
        if namespace(x) is np:
            x += column @ row
        else:
            x.addmm_(column, row)
    return x.reshape(impulses.shape[1:] if last else impulses.shape)


def backward_view_update(
    a: Any, b: Any, pre: Any, q_before: Any, params: EligibilityParams,
    weight_shape: Optional[Tuple[int, ...]] = None, stride: int = 1, padding: int = 0, out: Any = None,
) -> Tuple[Any, Any]:
    """The summed update of k steps and the pre trace after them.

    ``a``, ``b``: post-synaptic factors of the steps, ``(k, ..., *post_shape)``; ``pre``:
    the steps' inputs ``(k, ..., *pre_shape)``; ``q_before``: the pre trace of the step
    before the first. Dense layers (``weight_shape=None``) give ``(n_out, n_in)``, conv
    layers the weight gradient of ``weight_shape``. ``a`` is overwritten (it holds c).
    Returns ``(update, q_after)``; with ``out`` the update is added to that accumulator in
    place and ``out`` returned as the update.
    """
    k, lam = a.shape[0], params.lambda_pre
    if k == 0 or pre.shape[0] != k or b.shape[0] != k:
        raise ValueError(f"need the same k >= 1 steps in a, b and pre, got {a.shape[0]}, {b.shape[0]}, "
                         f"{pre.shape[0]}")
    numpy = namespace(a) is np
    for s in range(k - 2, -1, -1):  # a~[s] = a[s] + lambda a~[s+1], in place on each view
        if numpy:
            row = a[s]
            row += lam * a[s + 1]
        else:
            a[s].add_(a[s + 1], alpha=lam)  # one fused operation
    update = out  # None: the first product makes the accumulator, the second adds into it
    if lam != 0:
        update = synapse_outer(lam * a[0], q_before, weight_shape, stride, padding, out=update)
    a += b  # c = a~ + b
    update = synapse_outer(a, pre, weight_shape, stride, padding, out=update)
    return update, trace_window(q_before, pre, lam, last=True)

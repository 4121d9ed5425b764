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

one product over the window's inputs plus one with the trace that enters the window:
about half the multiply-adds of the step-by-step form, in a single kernel call, with the
same result up to float summation order. Memory is bounded by the window, not by T.

So that a window holds one post-synaptic tensor per step (not both a and b), it stores::

    d[s] = a[s] + b[s] - lambda b[s+1]          (d[t1-1] = a[t1-1] + b[t1-1])

from which ``c[s] = d[s] + lambda c[s+1]`` and ``a~[t0] = c[t0] - b[t0]`` follow at the end.

The functions work in place on preallocated buffers (NumPy or torch): slot 0 of ``post``
and ``pre`` holds the boundary pair (``lambda a~[t0]``, ``q[t0-1]``), slots ``1..k`` the
steps, so the update is one product over the first ``k + 1`` slots.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from ._array import namespace
from .conv import conv2d_weight_grad
from .plasticity import EligibilityParams

__all__ = ["UpdateWindow", "window_init", "window_push", "window_update"]


class UpdateWindow(NamedTuple):
    post: Any     # (capacity + 1, *post_shape): d[s] in slots 1..size
    pre: Any      # (capacity + 1, *pre_shape): q[t0-1] in slot 0, o_pre[s] in slots 1..size
    b_first: Any  # b[t0], for the boundary term
    size: int     # steps held

    @property
    def capacity(self) -> int:
        return self.post.shape[0] - 1

    @property
    def nbytes(self) -> int:
        return sum(int(t.numel() * t.element_size()) if hasattr(t, "numel") else int(t.nbytes)
                   for t in (self.post, self.pre, self.b_first))


def window_init(capacity: int, post_like: Any, pre_like: Any) -> UpdateWindow:
    """Empty window for ``capacity`` steps, buffers shaped and typed like one step's
    post-synaptic factor and pre-synaptic input (same device)."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"window capacity must be a positive int, got {capacity!r}")
    xp = namespace(post_like, pre_like)
    if xp is np:
        post = np.zeros((capacity + 1, *post_like.shape), post_like.dtype)
        pre = np.zeros((capacity + 1, *pre_like.shape), pre_like.dtype)
        return UpdateWindow(post, pre, np.zeros_like(post_like), 0)
    post = xp.zeros((capacity + 1, *post_like.shape), dtype=post_like.dtype, device=post_like.device)
    pre = xp.zeros((capacity + 1, *pre_like.shape), dtype=pre_like.dtype, device=pre_like.device)
    return UpdateWindow(post, pre, xp.zeros_like(post_like), 0)


def window_push(window: UpdateWindow, a: Any, b: Any, pre: Any, q_before: Any,
                params: EligibilityParams) -> UpdateWindow:
    """Add one step's factors ``a``, ``b`` and input ``o_pre`` (in place).

    ``q_before`` is the pre trace of the step before (read only when the window is empty:
    it is ``q[t0-1]``).
    """
    k = window.size
    if k == window.capacity:
        raise ValueError(f"window is full ({k} steps): take its update first")
    if k == 0:
        window.pre[0] = q_before
        window.b_first[...] = b
    else:
        window.post[k] -= params.lambda_pre * b  # completes d[s-1] = a + b - lambda b[s]
    window.post[k + 1] = a + b
    window.pre[k + 1] = pre
    return window._replace(size=k + 1)


def window_update(window: UpdateWindow, params: EligibilityParams,
                  weight_shape: Optional[Tuple[int, ...]] = None, stride: int = 1,
                  padding: int = 0) -> Tuple[Any, UpdateWindow]:
    """The summed update of the steps held, and the emptied window.

    Dense layers (``weight_shape=None``): ``(n_out, n_in)``; conv layers: the weight
    gradient of ``weight_shape`` (stride, padding). Overwrites the held factors.
    """
    k, lam = window.size, params.lambda_pre
    if k == 0:
        raise ValueError("the window holds no step")
    post, pre = window.post[: k + 1], window.pre[: k + 1]
    for s in range(k - 1, 0, -1):  # c[s] = d[s] + lambda c[s+1]
        post[s] += lam * post[s + 1]
    post[0] = lam * (post[1] - window.b_first)  # lambda a~[t0]
    if weight_shape is None:
        n_out, n_in = post.shape[-1], pre.shape[-1]
        update = post.reshape(-1, n_out).T @ pre.reshape(-1, n_in)
    else:
        update = conv2d_weight_grad(pre.reshape(-1, *pre.shape[2:]), post.reshape(-1, *post.shape[2:]),
                                    weight_shape, stride, padding)
    return update, window._replace(size=0)

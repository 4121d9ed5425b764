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

from typing import Any, Optional, Tuple

from .conv import conv2d_weight_grad
from .plasticity import EligibilityParams
from .traces import trace_step

__all__ = ["backward_view_update"]


def _outer(post: Any, pre: Any, weight_shape: Optional[Tuple[int, ...]], stride: int, padding: int) -> Any:
    """``sum post (x) pre`` over all leading axes (dense), or the conv weight gradient."""
    if weight_shape is None:
        return post.reshape(-1, post.shape[-1]).T @ pre.reshape(-1, pre.shape[-1])
    return conv2d_weight_grad(pre.reshape(-1, *pre.shape[-3:]), post.reshape(-1, *post.shape[-3:]),
                              weight_shape, stride, padding)


def backward_view_update(
    a: Any, b: Any, pre: Any, q_before: Any, params: EligibilityParams,
    weight_shape: Optional[Tuple[int, ...]] = None, stride: int = 1, padding: int = 0,
) -> Tuple[Any, Any]:
    """The summed update of k steps and the pre trace after them.

    ``a``, ``b``: post-synaptic factors of the steps, ``(k, ..., *post_shape)``; ``pre``:
    the steps' inputs ``(k, ..., *pre_shape)``; ``q_before``: the pre trace of the step
    before the first. Dense layers (``weight_shape=None``) give ``(n_out, n_in)``, conv
    layers the weight gradient of ``weight_shape``. ``a`` is overwritten (it holds c).
    Returns ``(update, q_after)``.
    """
    k, lam = a.shape[0], params.lambda_pre
    if k == 0 or pre.shape[0] != k or b.shape[0] != k:
        raise ValueError(f"need the same k >= 1 steps in a, b and pre, got {a.shape[0]}, {b.shape[0]}, "
                         f"{pre.shape[0]}")
    for s in range(k - 2, -1, -1):  # a~[s] = a[s] + lambda a~[s+1], in place on each view
        row = a[s]
        row += lam * a[s + 1]
    update = 0.0
    if lam != 0:
        update = _outer(lam * a[0], q_before, weight_shape, stride, padding)
    a += b  # c = a~ + b
    update = update + _outer(a, pre, weight_shape, stride, padding)
    q = q_before
    for s in range(k):
        q = trace_step(q, pre[s], lam)
    return update, q

"""Array-namespace dispatch so one kernel serves NumPy arrays and torch tensors.

The float kernels use only operators plus ``xp.exp``/``xp.abs``/``xp.clip``/``xp.where``,
which NumPy and torch spell the same way. torch is looked up lazily and never imported
here, so the core package stays free of it.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any, Tuple

import numpy as np


def namespace(*arrays: Any) -> ModuleType:
    """Return ``torch`` if any argument is a torch tensor, else ``numpy``."""
    torch = sys.modules.get("torch")
    if torch is not None:
        tensor = torch.Tensor
        for a in arrays:  # a loop, not any(...) over a generator: called thousands of times a step
            if isinstance(a, tensor):
                return torch
    return np


def add_into(fresh: Any, other: Any, scale: float = 1.0) -> Any:
    """``scale * fresh + other``, computed in ``fresh``'s own storage when the result has
    its shape and dtype (else as a new array). ``fresh`` must be an array the caller has
    just made and nobody else holds: the kernels' state-in, state-out functions then need
    one new array per result instead of one per operator."""
    xp = namespace(fresh, other)
    if xp is np:
        fits = (isinstance(fresh, np.ndarray) and fresh.flags.writeable
                and broadcasts_into(np.shape(other), fresh.shape)
                and np.result_type(fresh, other, scale) == fresh.dtype)
    else:
        # the same dtype, or a Python number (which never promotes a float tensor): compared
        # directly, as torch.compile cannot trace torch.result_type
        fits = (isinstance(fresh, xp.Tensor) and fresh.is_floating_point()
                and broadcasts_into(getattr(other, "shape", ()), fresh.shape)
                and (not isinstance(other, xp.Tensor) or other.dtype == fresh.dtype))
    if not fits:
        return scale * fresh + other
    if scale != 1.0 and xp is not np and isinstance(other, xp.Tensor) and not (
            xp.is_grad_enabled() and (fresh.requires_grad or other.requires_grad)) and not _compiling(xp):
        # one operation (one kernel launch on a GPU) instead of two, which may round once
        # (a fused multiply-add) where NumPy rounds twice; autograd refuses out=
        return xp.add(other, fresh, alpha=scale, out=fresh)
    if scale != 1.0:
        fresh *= scale
    fresh += other
    return fresh


def broadcasts_into(shape: Tuple[int, ...], target: Tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` broadcasts against one of ``target`` to ``target``
    itself (``np.broadcast_shapes(target, shape) == target``), compared dimension by
    dimension: ``torch.broadcast_shapes`` runs torch's shape reasoning in Python, about a
    quarter of a small VGG-9 step's host time when every state update asked it."""
    if len(shape) > len(target):
        return False
    return all(d == 1 or d == t for d, t in zip(reversed(tuple(shape)), reversed(tuple(target))))


def _compiling(torch: Any) -> bool:
    """Whether torch.compile is tracing: it fuses element-wise operations itself, and its
    inductor backend (torch 2.14) turns ``add(x @ w.T, u, alpha=a)`` into an addmm that
    drops ``alpha`` (pytorch/pytorch#167313), so compiled code takes the two-operation form."""
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and getattr(compiler, "is_compiling", lambda: False)())

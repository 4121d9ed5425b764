"""Array-namespace dispatch so one kernel serves NumPy arrays and torch tensors.

The float kernels use only operators plus ``xp.exp``/``xp.abs``/``xp.clip``/``xp.where``,
which NumPy and torch spell the same way. torch is looked up lazily and never imported
here, so the core package stays free of it.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np


def namespace(*arrays: Any) -> ModuleType:
    """Return ``torch`` if any argument is a torch tensor, else ``numpy``."""
    torch = sys.modules.get("torch")
    if torch is not None and any(isinstance(a, torch.Tensor) for a in arrays):
        return torch
    return np

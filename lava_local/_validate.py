"""Argument checks shared by the kernels' parameter classes and the processes.

Everything here raises ``TypeError`` or ``ValueError`` naming the offending parameter, so
that bad input is rejected in the caller's process, before any Lava process starts.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence, Tuple

import numpy as np


def real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def in_unit_interval(name: str, value: Any) -> float:
    value = real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def positive(name: str, value: Any) -> float:
    value = real(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An int (or NumPy integer) within [low, high]; the message names the bit range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value} does not fit the range [{low}, {high}]")
    return value


def shape(name: str, value: Any) -> Tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{name} must be a tuple of positive ints, got {value!r}")
    dims = tuple(value)
    if not dims or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0 for d in dims):
        raise ValueError(f"{name} must be a non-empty tuple of positive ints, got {value!r}")
    return tuple(int(d) for d in dims)


def finite_array(name: str, value: Any, expected_shape: Tuple[int, ...] | None = None) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric array-like: {exc}") from None
    if expected_shape is not None and array.shape != expected_shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {expected_shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def int_array(name: str, value: Any, low: int, high: int,
              expected_shape: Tuple[int, ...] | None = None) -> np.ndarray:
    """An integer array whose every entry fits [low, high] (a profile's bit width)."""
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integers for the fixed-point model, got dtype {array.dtype}")
    if expected_shape is not None and array.shape != expected_shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {expected_shape}")
    if array.size and (array.min() < low or array.max() > high):
        raise ValueError(
            f"{name} holds values in [{array.min()}, {array.max()}], outside the "
            f"fixed-point range [{low}, {high}]"
        )
    return array.astype(np.int64)

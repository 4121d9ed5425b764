"""2-D convolution, its weight gradient and average pooling, for NumPy and torch.

Used by the conv form of the plasticity kernel and by conv layers' forward pass.
NumPy goes through an explicit im2col (exact, float64); torch uses its own kernels.
Shapes: input ``(B, C_in, H, W)``, weight ``(C_out, C_in, k, k)``.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ._array import namespace

__all__ = [
    "conv2d",
    "conv2d_weight_grad",
    "conv2d_int",
    "conv2d_weight_grad_int",
    "conv_output_size",
    "avg_pool",
    "avg_pool_adjoint",
    "sum_pool",
    "standardize_weights",
    "standardize_weights_grad",
]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _im2col(x: np.ndarray, k: int, stride: int, padding: int) -> np.ndarray:
    """``(B, C, H, W)`` -> ``(B, H_out, W_out, C * k * k)`` patches."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    b, c, h, w = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    s = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, shape=(b, ho, wo, c, k, k), strides=(s[0], s[2] * stride, s[3] * stride, s[1], s[2], s[3])
    )
    return patches.reshape(b, ho, wo, c * k * k)


def conv2d(x: Any, weight: Any, stride: int = 1, padding: int = 0) -> Any:
    xp = namespace(x, weight)
    if xp is not np:
        return xp.nn.functional.conv2d(x, weight, stride=stride, padding=padding)
    c_out, _, k, _ = weight.shape
    cols = _im2col(np.asarray(x, dtype=float), k, stride, padding)
    out = cols @ weight.reshape(c_out, -1).T  # (B, H_out, W_out, C_out)
    return out.transpose(0, 3, 1, 2)


def conv2d_weight_grad(x: Any, grad_out: Any, weight_shape: Tuple[int, ...], stride: int = 1,
                       padding: int = 0) -> Any:
    """``dL/dW`` of :func:`conv2d` given ``dL/d(out)``, summed over the batch."""
    xp = namespace(x, grad_out)
    if xp is not np:
        return xp.nn.grad.conv2d_weight(x, weight_shape, grad_out, stride=stride, padding=padding)
    c_out, _, k, _ = weight_shape
    cols = _im2col(np.asarray(x, dtype=float), k, stride, padding)  # (B, Ho, Wo, C k k)
    g = np.asarray(grad_out, dtype=float).transpose(0, 2, 3, 1).reshape(-1, c_out)
    return (g.T @ cols.reshape(-1, cols.shape[-1])).reshape(weight_shape)


def conv2d_int(x: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Exact integer :func:`conv2d` (int64 accumulation), ``x``: ``(B, C_in, H, W)``."""
    c_out, _, k, _ = weight.shape
    cols = _im2col(np.asarray(x, dtype=np.int64), k, stride, padding)
    out = cols @ np.asarray(weight, dtype=np.int64).reshape(c_out, -1).T
    return out.transpose(0, 3, 1, 2)


def conv2d_weight_grad_int(x: np.ndarray, grad_out: np.ndarray, weight_shape: Tuple[int, ...],
                           stride: int = 1, padding: int = 0) -> np.ndarray:
    """Exact integer :func:`conv2d_weight_grad` (int64), summed over the batch."""
    c_out, _, k, _ = weight_shape
    cols = _im2col(np.asarray(x, dtype=np.int64), k, stride, padding)
    g = np.asarray(grad_out, dtype=np.int64).transpose(0, 2, 3, 1).reshape(-1, c_out)
    return (g.T @ cols.reshape(-1, cols.shape[-1])).reshape(weight_shape)


def pool_windows(x: Any, out_size: int) -> Any:
    """``(..., H, W)`` viewed as ``(..., out, H/out, out, W/out)``: the pooling windows
    (H, W divisible by ``out_size``)."""
    h, w = x.shape[-2], x.shape[-1]
    if h % out_size or w % out_size:
        raise ValueError(f"pooling {h}x{w} to {out_size}x{out_size} needs divisible sizes")
    return x.reshape(*x.shape[:-2], out_size, h // out_size, out_size, w // out_size)


def sum_pool(x: np.ndarray, out_size: int) -> np.ndarray:
    """Window sums (integer-exact average pooling times the window area)."""
    return pool_windows(x, out_size).sum(-1).sum(-2)


def avg_pool(x: Any, out_size: int) -> Any:
    """Average-pool ``(..., C, H, W)`` to ``(..., C, out_size, out_size)`` (H, W divisible)."""
    windows = pool_windows(x, out_size)
    xp = namespace(x)
    if xp is np:
        return windows.mean(-1).mean(-2)
    if x.requires_grad:  # a mean saves nothing for backward; avg_pool2d would save its input
        return windows.mean(dim=(-1, -3))
    # torch's pooling kernel: one pass, much faster than a strided mean on CPU
    h, w = x.shape[-2], x.shape[-1]
    pooled = xp.nn.functional.avg_pool2d(x.reshape(-1, h, w), (h // out_size, w // out_size))
    return pooled.reshape(*x.shape[:-2], out_size, out_size)


def avg_pool_adjoint_windows(g: Any, in_size: Tuple[int, int]) -> Any:
    """:func:`avg_pool_adjoint` before its copy: ``g / area`` shaped ``(..., out, 1, out, 1)``,
    which broadcasts against :func:`pool_windows` of an ``in_size`` array."""
    out = g.shape[-1]
    area = (in_size[0] // out) * (in_size[1] // out)
    return (g / area)[..., :, None, :, None]


def avg_pool_adjoint(g: Any, in_size: Tuple[int, int]) -> Any:
    """Back-projection through :func:`avg_pool`: spread each value over its window / area."""
    out = g.shape[-1]
    spread = (*g.shape[:-2], out, in_size[0] // out, out, in_size[1] // out)
    windows = avg_pool_adjoint_windows(g, in_size)
    windows = np.broadcast_to(windows, spread) if namespace(g) is np else windows.expand(spread)
    return windows.reshape(*g.shape[:-2], *in_size)


def standardize_weights(weight: Any, eps: float = 1e-5) -> Any:
    """Weight standardisation (VGG-9 of S-TLLR/TESS, no batch norm): each output channel's
    kernel shifted to zero mean and scaled to unit variance over ``(C_in, k, k)``."""
    return _standardize(weight, eps)[0]


def _standardize(weight: Any, eps: float) -> Tuple[Any, Any]:
    """``(W_hat, s)``: the standardised weights and each output channel's ``s = sqrt(var + eps)``."""
    axes = tuple(range(1, weight.ndim))
    mean = _channel_mean(weight)
    if namespace(weight) is np:
        var = weight.var(axis=axes, keepdims=True)
    else:
        var = weight.var(dim=axes, keepdim=True, unbiased=False)
    scale = (var + eps) ** 0.5
    return (weight - mean) / scale, scale


def _channel_mean(x: Any) -> Any:
    """Mean over each output channel's ``(C_in, k, k)``, kept as a broadcastable axis."""
    axes = tuple(range(1, x.ndim))
    return x.mean(axis=axes, keepdims=True) if namespace(x) is np else x.mean(dim=axes, keepdim=True)


def standardize_weights_grad(weight: Any, grad: Any, eps: float = 1e-5) -> Any:
    """The chain rule through :func:`standardize_weights` in closed form: ``dL/dW`` from
    ``g = dL/dW_hat``. With ``W_hat = (W - mean W) / s`` and ``s = sqrt(var W + eps)`` per
    output channel (means over its ``(C_in, k, k)``)::

        dL/dW = (g - mean(g) - W_hat mean(g W_hat)) / s

    (the last term is the derivative of s; a local rule's update becomes the raw weights'
    gradient this way without a backward pass).
    """
    standardized, scale = _standardize(weight, eps)
    return (grad - _channel_mean(grad) - standardized * _channel_mean(grad * standardized)) / scale

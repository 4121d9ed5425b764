"""The backward-view window update equals the step-by-step update of the rule."""
import numpy as np
import pytest
import torch

from lava_local.kernels.plasticity import EligibilityParams, conv_update, dense_update, eligibility_factors
from lava_local.kernels.traces import trace_step
from lava_local.kernels.window import window_init, window_push, window_update

PARAMS = [
    EligibilityParams(),                                  # TESS: both terms
    EligibilityParams(alpha_post=0.0),                    # causal term only
    EligibilityParams(lambda_pre=0.0, alpha_post=0.0),    # LLS: no trace
    EligibilityParams(lambda_pre=0.9, lambda_post=0.7, alpha_pre=0.5, alpha_post=1.0),
    EligibilityParams(alpha_pre=0.0, alpha_post=1.0),     # non-causal term only
]


def _stream(rng, steps, post_shape, pre_shape):
    m = rng.normal(size=(steps, *post_shape))
    psi = rng.random((steps, *post_shape))
    h = rng.random((steps, *post_shape))
    pre = (rng.random((steps, *pre_shape)) < 0.4).astype(float) * rng.choice([1.0, 0.25], size=(steps, *pre_shape))
    return m, psi, h, pre


def _step_by_step(m, psi, h, pre, params, update, q0):
    q, total = q0, 0.0
    for t in range(len(m)):
        q = trace_step(q, pre[t], params.lambda_pre)
        total = total + update(m[t], psi[t], h[t], q, pre[t], params)
    return total


def _windowed(m, psi, h, pre, params, capacity, q0, **geometry):
    window, q, total = None, q0, 0.0
    for t in range(len(m)):
        a, b = eligibility_factors(m[t], psi[t], h[t], params)
        window = window or window_init(capacity, a, pre[t])
        window = window_push(window, a, b, pre[t], q, params)
        q = trace_step(q, pre[t], params.lambda_pre)
        if window.size == window.capacity:
            update, window = window_update(window, params, **geometry)
            total = total + update
    if window.size:
        total = total + window_update(window, params, **geometry)[0]
    return total


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("capacity", [1, 3, 7, 12])
def test_dense_window_equals_step_by_step(params, capacity, rng):
    m, psi, h, pre = _stream(rng, 11, (5, 6), (5, 9))  # 11 steps, batch 5: full and partial windows
    q0 = rng.random((5, 9))  # a trace entering the first window
    reference = _step_by_step(m, psi, h, pre, params, dense_update, q0)
    got = _windowed(m, psi, h, pre, params, capacity, q0)
    assert np.abs(reference).sum() > 0
    np.testing.assert_allclose(got, reference, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("params", PARAMS[:3])
@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 0)])
def test_conv_window_equals_step_by_step_torch(params, stride, padding, rng):
    weight_shape = (4, 3, 3, 3)
    h_out = (8 + 2 * padding - 3) // stride + 1
    m, psi, h, pre = (torch.as_tensor(a) for a in _stream(rng, 9, (2, 4, h_out, h_out), (2, 3, 8, 8)))
    q0 = torch.zeros(2, 3, 8, 8, dtype=torch.float64)

    def update(m_t, psi_t, h_t, q, pre_t, p):
        return conv_update(m_t, psi_t, h_t, q, pre_t, weight_shape, p, stride, padding)

    reference = _step_by_step(m, psi, h, pre, params, update, q0)
    got = _windowed(m, psi, h, pre, params, 4, q0, weight_shape=weight_shape, stride=stride, padding=padding)
    assert reference.abs().sum() > 0
    torch.testing.assert_close(got, reference, rtol=1e-10, atol=1e-12)


def test_window_bounds_are_checked(rng):
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="capacity"):
        window_init(0, a, a)
    window = window_init(1, a, a)
    with pytest.raises(ValueError, match="no step"):
        window_update(window, EligibilityParams())
    window = window_push(window, a, a, a, a, EligibilityParams())
    with pytest.raises(ValueError, match="full"):
        window_push(window, a, a, a, a, EligibilityParams())
    assert window.nbytes == 2 * 2 * a.nbytes + a.nbytes  # two 2-slot buffers and b[t0]

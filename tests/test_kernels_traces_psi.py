"""Traces against their closed forms (S-TLLR eq. 10) and Psi against its formulas."""
import numpy as np
import pytest
import torch

from lava_local.fixed_point import LIFConfig, quantize_lif
from lava_local.kernels import (
    LIFParams,
    Surrogate,
    TraceParams,
    post_trace_step,
    pre_trace_step,
    psi,
    psi_fixed,
    trace_step_fixed,
)


def test_pre_trace_equals_closed_form_sum(rng):
    params = TraceParams(lambda_pre=0.75)
    spikes = (rng.random((200, 30)) < 0.2).astype(float)
    q = np.zeros(30)
    for t in range(200):
        q = pre_trace_step(q, spikes[t], params)
        powers = params.lambda_pre ** (t - np.arange(t + 1))
        closed = powers @ spikes[: t + 1]  # sum_{s<=t} lambda^(t-s) o[s]
        np.testing.assert_allclose(q, closed, rtol=1e-12, atol=1e-12)


def test_post_trace_equals_closed_form_sum(rng):
    params = TraceParams(lambda_post=0.2)
    u = rng.uniform(0, 1.2, size=(100, 12))
    psi_values = psi(u, 0.6)
    h = np.zeros(12)
    previous = np.zeros(12)
    for t in range(100):
        h = post_trace_step(h, previous, params)
        # h[t] = sum_{s<t} lambda^(t-1-s) Psi(u[s])
        closed = (params.lambda_post ** (t - 1 - np.arange(t))) @ psi_values[:t] if t else np.zeros(12)
        np.testing.assert_allclose(h, closed, rtol=1e-12, atol=1e-14)
        previous = psi_values[t]


@pytest.mark.parametrize("kind, formula", [
    ("triangular", lambda x: 0.3 * np.maximum(1 - np.abs(x), 0)),
    ("inverse_square", lambda x: 1 / (100 * np.abs(x) + 1) ** 2),
    ("sigmoid", lambda x: 4 / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))),
    ("lorentzian", lambda x: 1 / (1 + (10 * x) ** 2)),
])
def test_psi_matches_paper_formulas_numpy_and_torch(kind, formula, rng):
    u = rng.uniform(-1.5, 2.5, size=500)
    expected = formula(u - 0.6)
    np.testing.assert_allclose(psi(u, 0.6, Surrogate(kind)), expected, rtol=1e-12, atol=1e-15)
    got = psi(torch.from_numpy(u), 0.6, Surrogate(kind))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert psi(np.array([0.6]), 0.6, Surrogate(kind))[0] == pytest.approx(Surrogate(kind).peak)
    # Psi is computed in place on its own copy: the membrane is left alone, dtype and
    # scalars are kept
    before = u.copy()
    psi(u, 0.6, Surrogate(kind))
    np.testing.assert_array_equal(u, before)
    assert psi(u.astype(np.float32), 0.6, Surrogate(kind)).dtype == np.float32
    assert float(psi(np.float64(0.6), 0.6, Surrogate(kind))) == pytest.approx(Surrogate(kind).peak)
    # and autograd follows it (the S-TLLR bp test differentiates through Psi)
    leaf = torch.from_numpy(u).requires_grad_(True)
    psi(leaf * 1.0, 0.6, Surrogate(kind)).sum().backward()
    step = 1e-6
    numeric = (formula(u + step - 0.6) - formula(u - step - 0.6)) / (2 * step)
    np.testing.assert_allclose(leaf.grad.numpy(), numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["triangular", "inverse_square", "sigmoid", "lorentzian"])
def test_fixed_psi_within_table_error_bound(kind, rng):
    config = LIFConfig(surrogate=Surrogate(kind))
    fx = quantize_lif(config)
    unit = fx.membrane_unit
    u_int = rng.integers(-2 * unit, 3 * unit, size=5000)
    got = psi_fixed(u_int, fx.neuron.threshold, fx.psi) / 2**fx.psi.frac_bits
    exact = psi(u_int / unit, fx.neuron.threshold / unit, Surrogate(kind))
    # rounding (half an LSB) + half a bin times the steepest slope of Psi
    slope = {"triangular": 0.3, "inverse_square": 200.0, "sigmoid": 0.77, "lorentzian": 6.5}[kind]
    bound = 0.5 / 2**fx.psi.frac_bits + slope * 0.5 * 2**fx.psi.shift / unit
    assert np.max(np.abs(got - exact)) <= bound + 1e-12
    assert got.max() > 0


def test_unknown_surrogate_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown surrogate kind 'relu'"):
        Surrogate("relu")


def test_fixed_trace_decays_like_float_and_saturates():
    decay = 2048  # lambda = 0.5 exactly
    x = np.array([0])
    for _ in range(10):
        x = trace_step_fixed(x, np.array([40]), decay, 12, 127)
    assert x[0] == 79  # 40 + 39: floor(79 * 0.5) + 40 = 79 is the fixed point
    x = trace_step_fixed(np.array([120]), np.array([100]), decay, 12, 127)
    assert x[0] == 127


@pytest.mark.parametrize("kwargs", [dict(lambda_pre=1.2), dict(lambda_post=-0.5)])
def test_trace_params_reject_decays_outside_unit_interval(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TraceParams(**kwargs)


def test_lif_params_defaults_are_the_papers():
    assert (LIFParams().gamma, LIFParams().v_th) == (0.5, 0.6)
    assert (TraceParams().lambda_pre, TraceParams().lambda_post) == (0.5, 0.2)
    assert Surrogate().kind == "triangular"

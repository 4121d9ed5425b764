"""The rules' kernels against the papers' equations written out element by element."""
import tracemalloc

import numpy as np
import pytest
import torch

from lava_local.fixed_point import LIFConfig, quantize_lif
from lava_local.kernels import LIFParams, Surrogate, psi
from lava_local.kernels.basis import make_basis
from lava_local.kernels.layer import dense_layer_init, dense_layer_step
from lava_local.kernels.learning_signal import (
    SignalParams,
    learning_signal,
    learning_signal_fixed,
    lls_m_gradient,
    one_hot,
    project_target,
    softmax_table,
)
from lava_local.kernels.plasticity import EligibilityParams, conv_update, dense_update, dense_update_fixed
from lava_local.rules import LLS, STLLR, TESS


@pytest.mark.parametrize("alpha_post", [-1.0, 0.0, 1.0])
def test_dense_update_equals_the_written_out_equation(alpha_post, rng):
    p = EligibilityParams(lambda_pre=0.5, lambda_post=0.2, alpha_pre=1.0, alpha_post=alpha_post)
    n_in, n_out = 5, 4
    m, psi_u, h = rng.normal(size=(3, n_out))
    q, pre = rng.random(n_in), (rng.random(n_in) < 0.5).astype(float)
    expected = np.zeros((n_out, n_in))
    for i in range(n_out):
        for j in range(n_in):
            expected[i, j] = m[i] * p.alpha_pre * psi_u[i] * q[j] + m[i] * p.alpha_post * h[i] * pre[j]
    np.testing.assert_allclose(dense_update(m, psi_u, h, q, pre, p), expected, rtol=1e-13, atol=1e-15)
    # batched: the update sums over the batch
    mb, pb, hb = rng.normal(size=(3, 6, n_out))
    qb, preb = rng.random((6, n_in)), rng.random((6, n_in))
    total = sum(dense_update(mb[b], pb[b], hb[b], qb[b], preb[b], p) for b in range(6))
    np.testing.assert_allclose(dense_update(mb, pb, hb, qb, preb, p), total, rtol=1e-12)
    got_torch = dense_update(*(torch.from_numpy(x) for x in (mb, pb, hb, qb, preb)), p)
    np.testing.assert_allclose(got_torch.numpy(), total, rtol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1)])
def test_conv_update_equals_the_written_out_equation(stride, padding, rng):
    p = EligibilityParams(alpha_pre=1.0, alpha_post=-1.0)
    b, c_in, c_out, k, size = 2, 2, 3, 3, 6
    q, pre = rng.random((2, b, c_in, size, size))
    out = (size + 2 * padding - k) // stride + 1
    m, psi_u, h = rng.normal(size=(3, b, c_out, out, out))
    got = conv_update(m, psi_u, h, q, pre, (c_out, c_in, k, k), p, stride, padding)
    qp = np.pad(q, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    pp = np.pad(pre, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    expected = np.zeros((c_out, c_in, k, k))
    for n in range(b):
        for co in range(c_out):
            for ci in range(c_in):
                for ky in range(k):
                    for kx in range(k):
                        for y in range(out):
                            for x in range(out):
                                a = m[n, co, y, x] * p.alpha_pre * psi_u[n, co, y, x]
                                c = m[n, co, y, x] * p.alpha_post * h[n, co, y, x]
                                yy, xx = y * stride + ky, x * stride + kx
                                expected[co, ci, ky, kx] += a * qp[n, ci, yy, xx] + c * pp[n, ci, yy, xx]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    got_torch = conv_update(*(torch.from_numpy(x) for x in (m, psi_u, h, q, pre)), (c_out, c_in, k, k), p, stride, padding)
    np.testing.assert_allclose(got_torch.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_learning_signal_equals_tess_equation(rng):
    params = SignalParams(n_classes=4, basis="square")
    basis = make_basis("square", 4, 9)
    o = (rng.random(9) < 0.4).astype(float)
    y = one_hot(2, 4)
    z = basis @ o
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(learning_signal(o, y, basis, params), basis.T @ (p - y), rtol=1e-13, atol=1e-15)
    scaled = SignalParams(n_classes=4, scale="1/d", temperature=2.0)
    zs = (basis / 9) @ o / 2.0
    ps = np.exp(zs) / np.exp(zs).sum()
    np.testing.assert_allclose(learning_signal(o, y, basis, scaled), (basis / 9).T @ (ps - y), rtol=1e-12, atol=1e-15)
    root = SignalParams(n_classes=4, scale="1/sqrt(d)")
    zr = (basis / 3) @ o
    pr = np.exp(zr) / np.exp(zr).sum()
    np.testing.assert_allclose(learning_signal(o, y, basis, root), (basis / 3).T @ (pr - y), rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="scale"):
        SignalParams(scale="1/d**2")
    ident = SignalParams(n_classes=4, error="identity")
    np.testing.assert_allclose(learning_signal(o, y, basis, ident), basis.T @ (z - y), rtol=1e-13)


@pytest.mark.parametrize("error", ["softmax", "identity", "clipped", "pwl_softmax"])
@pytest.mark.parametrize("scale", [None, "1/sqrt(d)"])
def test_projected_target_gives_the_same_signal(error, scale, rng):
    """A label projected once (y* B) gives the one-hot signal: one sample and a batch in
    NumPy, a batch (one addmm) and a window of steps (k, B, d) in torch."""
    params = SignalParams(n_classes=5, scale=scale, error=error)
    basis = make_basis("square", 5, 12)
    labels = np.array([0, 3, 4])
    o = (rng.random((4, 3, 12)) < 0.4).astype(float)  # 4 steps, batch of 3
    y = one_hot(labels, 5)
    expected = learning_signal(o, y, basis, params)
    projected = project_target(y, basis, error)
    np.testing.assert_allclose(learning_signal(o, projected, basis, params), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(learning_signal(o[0, 1], project_target(y[1], basis, error), basis, params), expected[0, 1],
                               rtol=1e-12, atol=1e-14)
    t_basis, t_y = torch.as_tensor(basis), torch.as_tensor(y)
    t_projected = project_target(t_y, t_basis, error)
    for t_o, want in ((torch.as_tensor(o[2]), expected[2]), (torch.as_tensor(o), expected)):
        got = learning_signal(t_o, t_projected, t_basis, params)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)


def test_lls_m_gain_gradient_matches_finite_differences(rng):
    params = SignalParams(n_classes=5, basis="cosine")
    basis = make_basis("cosine", 5, 12)
    o, y, gain = rng.random(12), one_hot(1, 5), rng.normal(1.0, 0.2, 5)

    def loss(g):
        z = g * (basis @ o)
        return -np.log(np.exp(z[1]) / np.exp(z).sum())

    _, grad = lls_m_gradient(o, y, basis, gain, params)
    eps = 1e-6
    numeric = [(loss(gain + eps * np.eye(5)[k]) - loss(gain - eps * np.eye(5)[k])) / (2 * eps) for k in range(5)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_fixed_learning_signal_tracks_the_float_one(rng):
    params = SignalParams(n_classes=10, basis="square")
    basis = make_basis("square", 10, 64)
    table = softmax_table(1.0, 128, 8)
    for _ in range(20):
        o = (rng.random(64) < 0.1).astype(float)
        label = int(rng.integers(10))
        exact = learning_signal(o, one_hot(label, 10), basis, params)
        got = learning_signal_fixed(o.astype(int), label, basis.astype(int), table) / 2**8
        # each of the 10 errors is off by at most ~1/256 (table + division rounding)
        assert np.max(np.abs(got - exact)) <= 10 * 2.5 / 256
    assert not learning_signal_fixed(np.ones(64, int), -1, basis.astype(int), table).any()


@pytest.mark.parametrize("kind, size", [("square", 512), ("cosine", 1000), ("sine", 512)])
def test_bases_are_deterministic_and_nearly_orthogonal(kind, size):
    a, b = make_basis(kind, 10, size), make_basis(kind, 10, size)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, size)
    unit = a / np.linalg.norm(a, axis=1, keepdims=True)
    cos = unit @ unit.T - np.eye(10)
    assert np.abs(cos).max() < 0.15
    if kind == "square":
        assert set(np.unique(a)) == {-1.0, 1.0}


@pytest.mark.parametrize("n_classes, size, row, what", [(2, 128, 1, "constant"), (10, 256, 9, "constant"),
                                                        (10, 512, 9, "zero"), (10, 100, 0, "zero")])
def test_the_cosine_basis_refuses_a_row_that_aliases_to_a_constant_or_zero(n_classes, size, row, what):
    """cos(pi f (j + 0.5) / d) with f a multiple of d is the same value at every j: even
    f / d gives +-1 everywhere, odd f / d zero. The class's logit would be the layer's total
    activity, or nothing."""
    f = 100.0 + row * (512.0 - 100.0) / (n_classes - 1)
    written_out = [np.cos(np.pi * f * (j + 0.5) / size) for j in range(size)]
    assert np.ptp(written_out) < 1e-9 and (abs(written_out[0]) < 1e-9) == (what == "zero")
    with pytest.raises(ValueError, match=f"{what} row for class {row} .*frequency {f:g} is a multiple of {size}"):
        make_basis("cosine", n_classes, size)


@pytest.mark.parametrize("n_classes", [2, 3, 9, 10, 11])
@pytest.mark.parametrize("size", [16, 64, 100, 128, 256, 512, 1024])
def test_lls_default_basis_is_the_sine_of_the_authors_code_with_no_degenerate_row(n_classes, size):
    """sin(f_k j), f_k = linspace(50, 512, C), element by element; every row spreads over
    the neurons (none constant or zero) and the rows are linearly independent."""
    assert LLS().signal.basis == "sine"
    basis = make_basis(LLS().signal.basis, n_classes, size)
    for k in range(n_classes):
        f = 50.0 + k * (512.0 - 50.0) / (n_classes - 1)
        np.testing.assert_allclose(basis[k], [np.sin(f * j) for j in range(size)], rtol=0, atol=1e-9)
    assert (np.linalg.norm(basis, axis=1) > 0.5 * np.sqrt(size)).all()
    assert (np.ptp(basis, axis=1) > 0.5).all()
    assert np.linalg.matrix_rank(basis) == n_classes


def test_unknown_basis_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown basis kind 'walsh'"):
        make_basis("walsh", 10, 16)
    with pytest.raises(ValueError, match="unknown basis kind"):
        SignalParams(basis="walsh")


def test_lls_is_the_trace_free_special_case(rng):
    """LLS's update is m Psi(u[t]) o_pre[t]: no pre trace, no non-causal term."""
    rule = LLS()
    m, psi_u, h = rng.normal(size=(3, 4))
    pre = (rng.random(6) < 0.5).astype(float)
    got = dense_update(m, psi_u, h, pre, pre, rule.eligibility)
    np.testing.assert_allclose(got, np.outer(m * psi_u, pre), rtol=1e-13)


def test_rule_presets_hold_the_papers_values():
    t = TESS().for_neuron(LIFParams())  # the paper's neuron (gamma 0.5) gives the paper's lambda_pre 0.5
    assert (t.eligibility.lambda_pre, t.eligibility.lambda_post, t.eligibility.alpha_pre) == (0.5, 0.2, 1.0)
    assert t.signal.basis == "square" and t.t_l == 0 and t.feedback == "local"
    e = STLLR.dvs_gesture().eligibility
    assert (e.lambda_post, e.lambda_pre, e.alpha_post, e.alpha_pre) == (0.2, 0.75, -1.0, 1.0)
    e = STLLR.cifar10_dvs().eligibility
    assert (e.lambda_post, e.lambda_pre, e.alpha_post, e.alpha_pre) == (0.2, 0.5, -1.0, 1.0)
    e = STLLR.shd().eligibility
    assert (e.lambda_post, e.lambda_pre, e.alpha_post, e.alpha_pre) == (0.5, 1.0, 1.0, 1.0)
    assert STLLR.shd().lr == 2e-4
    with pytest.raises(ValueError, match="fully local"):
        TESS(feedback="dfa")
    with pytest.raises(ValueError, match="apply"):
        TESS(apply="epoch")


def test_learning_state_does_not_grow_with_time():
    """Constant memory in T: the state a layer keeps is the same at T = 10 and T = 1,000,
    and so is the NumPy array memory still alive after the steps (tracemalloc's NumPy
    domain; Python's tuple free lists would blur a whole-process count)."""
    rng = np.random.default_rng(0)
    rule, n_in, n_out = TESS().for_neuron(LIFParams()), 100, 32
    w = rng.normal(0, 0.3, size=(n_out, n_in))
    basis = make_basis("square", 10, n_out)
    y = one_hot(3, 10)
    numpy_domain = tracemalloc.DomainFilter(inclusive=True, domain=389047)  # NumPy's data buffers

    def run(steps):
        state = dense_layer_init(n_in, n_out)
        tracemalloc.start()
        for _ in range(steps):
            pre = (rng.random(n_in) < 0.2).astype(float)
            state = dense_layer_step(state, pre, w, LIFParams(), Surrogate(), rule.eligibility, basis, rule.signal, y)
        alive = sum(t.size for t in tracemalloc.take_snapshot().filter_traces([numpy_domain]).traces)
        tracemalloc.stop()
        return sum(x.nbytes for x in state if x is not None), alive

    size10, alive10 = run(10)
    size1000, alive1000 = run(1000)
    assert size10 == size1000 == (4 * n_out + n_in + n_out * n_in) * 8  # u, o, h, Psi; q; dW
    assert alive10 == alive1000 > 0


def test_fixed_dense_update_is_the_integer_equation(rng):
    m = rng.integers(-300, 300, 4)
    psi_u, h = rng.integers(0, 77, 4), rng.integers(0, 96, 4)
    q, pre = rng.integers(0, 127, 6), rng.integers(0, 2, 6)
    got = dense_update_fixed(m, psi_u, h, q, pre, 1, -1, 63)
    expected = np.array([[m[i] * psi_u[i] * q[j] - m[i] * h[i] * pre[j] * 63 for j in range(6)] for i in range(4)])
    np.testing.assert_array_equal(got, expected)


def test_standardisation_chain_rule_equals_autograd(rng):
    """The closed-form dL/dW through weight standardisation (what turns a local rule's
    update into the raw weights' gradient) equals autograd's, in NumPy and torch."""
    from lava_local.kernels.conv import standardize_weights, standardize_weights_grad

    weight = rng.normal(0.1, 0.3, (5, 3, 3, 3))
    grad = rng.normal(0, 1, weight.shape)
    raw = torch.as_tensor(weight).requires_grad_(True)
    (expected,) = torch.autograd.grad(standardize_weights(raw), raw, grad_outputs=torch.as_tensor(grad))
    np.testing.assert_allclose(standardize_weights_grad(weight, grad), expected.numpy(), rtol=1e-9, atol=1e-12)
    got = standardize_weights_grad(torch.as_tensor(weight), torch.as_tensor(grad))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-9, atol=1e-12)
    # a gradient along the standardised weights themselves, or constant per channel, moves nothing
    standardized = standardize_weights(weight)
    flat = np.broadcast_to(rng.normal(size=(5, 1, 1, 1)), weight.shape)
    assert np.abs(standardize_weights_grad(weight, flat + 0.5 * standardized)).max() < 1e-3 * np.abs(grad).max()

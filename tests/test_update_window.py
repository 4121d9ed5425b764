"""Window learning (backward view of the pre trace) and the trainer's in-place steps equal
the step-by-step layer step."""
import numpy as np
import pytest
import torch

from lava_local.kernels.layer import (
    ConvGeometry,
    DenseLayerState,
    conv_layer_forward,
    conv_layer_learn,
    conv_layer_step,
    conv_learning_signal,
    conv_learning_signal_pooled,
    dense_layer_forward,
    dense_layer_learn,
    dense_layer_step,
    layer_integrate,
    layer_learn_window,
)
from lava_local.kernels.basis import make_basis
from lava_local.kernels.learning_signal import SignalParams, learning_signal, one_hot
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.plasticity import (
    EligibilityParams,
    TermStacks,
    conv_update,
    dense_update,
    eligibility_factors,
)
from lava_local.kernels.surrogate import Surrogate
from lava_local.kernels.traces import trace_step
from lava_local.kernels.window import backward_view_update, trace_window

PARAMS = [
    EligibilityParams(),                                  # TESS: both terms
    EligibilityParams(alpha_post=0.0),                    # causal term only
    EligibilityParams(lambda_pre=0.0, alpha_post=0.0),    # LLS: no trace
    EligibilityParams(lambda_pre=0.9, lambda_post=0.7, alpha_pre=0.5, alpha_post=1.0),
    EligibilityParams(alpha_pre=0.0, alpha_post=1.0),     # non-causal term only
]


def _factors(rng, steps, post_shape, pre_shape):
    m = rng.normal(size=(steps, *post_shape))
    psi = rng.random((steps, *post_shape))
    h = rng.random((steps, *post_shape))
    pre = (rng.random((steps, *pre_shape)) < 0.4) * rng.choice([1.0, 0.25], size=(steps, *pre_shape))
    return m, psi, h, pre


def _step_by_step(m, psi, h, pre, params, update, q):
    total = 0.0
    for t in range(len(m)):
        q = trace_step(q, pre[t], params.lambda_pre)
        total = total + update(m[t], psi[t], h[t], q, pre[t], params)
    return total, q


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("steps", [1, 2, 7])
def test_dense_backward_view_equals_step_by_step(params, steps, rng):
    m, psi, h, pre = _factors(rng, steps, (5, 6), (5, 9))
    q0 = rng.random((5, 9))  # the trace entering the window
    reference, q_ref = _step_by_step(m, psi, h, pre, params, dense_update, q0)
    a, b = eligibility_factors(m, psi, h, params)
    got, q_got = backward_view_update(a, b, pre, q0, params)
    assert np.abs(reference).sum() > 0
    np.testing.assert_allclose(got, reference, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(q_got, q_ref, rtol=1e-12)


@pytest.mark.parametrize("params", PARAMS[:3])
@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 0)])
def test_conv_backward_view_equals_step_by_step_torch(params, stride, padding, rng):
    weight_shape = (4, 3, 3, 3)
    h_out = (8 + 2 * padding - 3) // stride + 1
    m, psi, h, pre = (torch.as_tensor(x) for x in _factors(rng, 6, (2, 4, h_out, h_out), (2, 3, 8, 8)))
    q0 = torch.as_tensor(rng.random((2, 3, 8, 8)))

    def update(m_t, psi_t, h_t, q, pre_t, p):
        return conv_update(m_t, psi_t, h_t, q, pre_t, weight_shape, p, stride, padding)

    reference, q_ref = _step_by_step(m, psi, h, pre, params, update, q0)
    a, b = eligibility_factors(m, psi, h, params)
    got, q_got = backward_view_update(a, b, pre, q0, params, weight_shape, stride, padding)
    assert reference.abs().sum() > 0
    torch.testing.assert_close(got, reference, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(q_got, q_ref)


@pytest.mark.parametrize("xp", [np, torch])
@pytest.mark.parametrize("params", PARAMS)
def test_updates_accumulate_in_place_into_out(xp, params, rng):
    """``out=``: the same sum as adding the returned update, written into the accumulator
    itself (dense and conv step updates, and the window's backward view)."""
    as_array = torch.as_tensor if xp is torch else np.asarray
    m, psi, h, pre = (as_array(v) for v in _factors(rng, 4, (3, 6), (3, 9)))
    q = as_array(rng.random((3, 9)))
    a, b = eligibility_factors(m, psi, h, params)
    cases = {  # name: (update with out=, accumulator)
        "dense": (lambda out: dense_update(m[0], psi[0], h[0], q, pre[0], params, out=out), (6, 9)),
        "window": (lambda out: backward_view_update(a * 1.0, b, pre, q, params, out=out)[0], (6, 9)),
    }
    if xp is torch:  # conv weight gradients are torch's (NumPy's im2col form is tested above)
        weight_shape = (4, 3, 3, 3)
        mc, psic, hc, prec = (torch.as_tensor(v[0]) for v in _factors(rng, 1, (2, 4, 6, 6), (2, 3, 6, 6)))
        cases["conv"] = (lambda out: conv_update(mc, psic, hc, prec * 0.5, prec, weight_shape, params, 1, 1,
                                                 out=out), weight_shape)
    for name, (update, shape) in cases.items():
        initial = as_array(rng.normal(size=shape))
        out = initial * 1.0
        assert update(out) is out, name
        expected = initial + update(None)
        assert float(abs(expected - initial).sum()) > 0, name
        np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-12, atol=1e-12, err_msg=name)


def test_backward_view_checks_step_counts(rng):
    a = np.ones((3, 2, 4))
    with pytest.raises(ValueError, match="same k"):
        backward_view_update(a, a[:2], np.ones((3, 2, 5)), np.zeros((2, 5)), EligibilityParams())


def _random_state(rng, out_shape, in_shape, weight_shape, xp):
    as_array = (lambda v: torch.as_tensor(v)) if xp is torch else (lambda v: v)
    u = rng.normal(0.5, 0.5, out_shape)
    return DenseLayerState(as_array(u), as_array((u > 1.0) * 1.0), as_array(rng.random(in_shape)),
                           as_array(rng.random(out_shape)), as_array(rng.random(out_shape) * 0.3),
                           as_array(np.zeros(weight_shape)))


def _layer_case(rng, xp, kind, steps, batch=3):
    """A dense or conv layer with weights, basis, labels, ``steps`` of input spikes and a
    random state to start from."""
    if kind == "dense":
        geometry, in_shape, out_shape, weight_shape, size = None, (batch, 20), (batch, 12), (12, 20), 12
    else:
        geometry = ConvGeometry((2, 8, 8), 4, 3, 1, 1, pool=2)
        in_shape, out_shape = (batch, 2, 8, 8), (batch, 4, 8, 8)
        weight_shape, size = geometry.weight_shape, geometry.signal_size
    as_array = (lambda v: torch.as_tensor(v)) if xp is torch else (lambda v: v)
    weights = as_array(rng.normal(0, 0.8, weight_shape))
    basis = as_array(make_basis("square", 4, size))
    target = as_array(one_hot(rng.integers(0, 4, batch), 4))
    pre = as_array((rng.random((steps, *in_shape)) < 0.4) * 1.0)
    return geometry, weights, basis, target, pre, _random_state(rng, out_shape, in_shape, weight_shape, xp)


@pytest.mark.parametrize("xp", [np, torch])
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_layer_window_equals_layer_steps(xp, kind, rng):
    """k steps of the layer step (forward, signal, update) == k integrate steps + one window."""
    steps, neuron, surrogate = 5, LIFParams(), Surrogate()
    eligibility, signal = EligibilityParams(), SignalParams(n_classes=4, scale="1/sqrt(d)")
    geometry, weights, basis, target, pre, start = _layer_case(rng, xp, kind, steps)

    reference = start
    for t in range(steps):
        if geometry is None:
            reference = dense_layer_step(reference, pre[t], weights, neuron, surrogate, eligibility, basis, signal,
                                         target)
        else:
            reference = conv_layer_step(reference, pre[t], weights, geometry, neuron, surrogate, eligibility,
                                        basis, signal, target)
    state, u_steps = start, []
    for t in range(steps):
        state = layer_integrate(state, pre[t], weights, neuron, geometry)
        u_steps.append(state.u)
    stack = torch.stack if xp is torch else np.stack
    state = layer_learn_window(state, stack(u_steps), pre, target, basis, neuron, surrogate, eligibility, signal,
                               geometry)
    assert float(abs(reference.dw).sum()) > 0 and float(reference.o.sum()) > 0
    for name in ARRAYS:
        np.testing.assert_allclose(np.asarray(getattr(state, name)), np.asarray(getattr(reference, name)),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


#: the state's arrays (a filtered state's e_bar, o_bar aside: windows refuse rule.filtered)
ARRAYS = [name for name in DenseLayerState._fields if name not in ("stacks", "delay", "e_bar", "o_bar")]


def _stacked(state: DenseLayerState, xp, input_inside: bool) -> DenseLayerState:
    """A copy of ``state`` laid out as the batched trainer keeps it: Psi, h and q as views
    of :class:`TermStacks`."""
    stacks = TermStacks(xp.stack([state.psi, state.h]), xp.stack([state.q, state.q * 0]), input_inside)
    return DenseLayerState(state.u * 1.0, state.o * 1.0, stacks.pre[0], stacks.post[1], stacks.post[0],
                           state.dw * 1.0, stacks)


@pytest.mark.parametrize("xp", [np, torch])
@pytest.mark.parametrize("kind", ["dense", "conv"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("stacked", ["no", "scratch", "input inside"])
def test_in_place_layer_steps_equal_the_pure_ones(xp, kind, reset, stacked, rng):
    """``in_place=True`` (the trainer's form: the state written over, the update added into
    its accumulator; with ``stacked``, Psi, h and q kept in TermStacks so that both terms go
    in one product, the input copied beside q or already there) gives the same states as
    the pure steps, step after step; conv layers also take the pooled signal (spread over
    the pooling windows by broadcasting, its 1 / area in the accumulation's scale)."""
    steps, neuron, surrogate = 4, LIFParams(reset=reset), Surrogate()
    eligibility, signal = EligibilityParams(alpha_pre=0.7), SignalParams(n_classes=4, scale="1/sqrt(d)")
    geometry, weights, basis, target, pre, pure = _layer_case(rng, xp, kind, steps)
    if stacked == "no":
        owned = DenseLayerState(*(getattr(pure, name) * 1.0 for name in ARRAYS))
    else:
        owned = _stacked(pure, xp, input_inside=stacked == "input inside")
    arrays = [id(v) for v in owned]
    for t in range(steps):
        x = pre[t]
        if stacked == "input inside":  # written where the update reads it, as a layer before does
            owned.stacks.pre[1][...] = pre[t]
            x = owned.stacks.pre[1]
        if geometry is None:
            pure = dense_layer_step(pure, pre[t], weights, neuron, surrogate, eligibility, basis, signal, target)
            owned = dense_layer_forward(owned, x, weights, neuron, surrogate, eligibility, in_place=True)
            m = learning_signal(owned.o, target, basis, signal)
            owned = dense_layer_learn(owned, x, m, eligibility, in_place=True)
        else:
            pure = conv_layer_step(pure, pre[t], weights, geometry, neuron, surrogate, eligibility, basis, signal,
                                   target)
            owned = conv_layer_forward(owned, x, weights, geometry, neuron, surrogate, eligibility,
                                       in_place=True)
            # both forms of the signal: spread over the output, or pooled
            signal_of = conv_learning_signal if t % 2 else conv_learning_signal_pooled
            m = signal_of(owned.o, target, basis, signal, geometry)
            owned = conv_layer_learn(owned, x, m, geometry, eligibility, in_place=True)
        assert [id(v) for v in owned] == arrays  # nothing new: every array written over
        assert (owned.stacks is not None) == (stacked != "no")
        for name in ARRAYS:
            np.testing.assert_allclose(np.asarray(getattr(owned, name)), np.asarray(getattr(pure, name)),
                                       rtol=1e-12, atol=1e-13, err_msg=f"{name} at step {t}")
    assert float(abs(pure.dw).sum()) > 0 and float(pure.o.sum()) > 0


def test_in_place_eligibility_factors_equal_the_plain_ones(rng):
    m, psi, h, _ = _factors(rng, 3, (2, 5), (2, 1))
    params = EligibilityParams(alpha_pre=0.7, alpha_post=-1.0)
    a, b = eligibility_factors(m, psi, h, params)
    a2, b2 = eligibility_factors(m, psi.copy(), h.copy(), params, in_place=True)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)


@pytest.mark.parametrize("xp", [np, torch])
@pytest.mark.parametrize("steps", [1, 2, 6])
@pytest.mark.parametrize("late", [False, True])
def test_trace_window_equals_trace_steps(xp, steps, late, rng):
    as_array = (lambda v: torch.as_tensor(v)) if xp is torch else (lambda v: v)
    impulses, before, first = (as_array(rng.random(shape)) for shape in ((steps, 3, 4), (3, 4), (3, 4)))
    expected, x, previous = [], before, first
    for j in range(steps):
        x = trace_step(x, previous if late else impulses[j], 0.3)
        previous = impulses[j]
        expected.append(x)
    got = trace_window(before, impulses, 0.3, impulse_before=first if late else None)
    np.testing.assert_allclose(np.asarray(got), np.stack([np.asarray(e) for e in expected]), rtol=1e-13)


@pytest.mark.parametrize("xp", [np, torch])
@pytest.mark.parametrize("late", [False, True])
def test_trace_window_last_value(xp, late, rng):
    as_array = (lambda v: torch.as_tensor(v)) if xp is torch else (lambda v: v)
    impulses, before, first = (as_array(rng.random(shape)) for shape in ((5, 2, 3), (2, 3), (2, 3)))
    extra = {"impulse_before": first} if late else {}
    every = trace_window(before, impulses, 0.6, **extra)
    np.testing.assert_allclose(np.asarray(trace_window(before, impulses, 0.6, last=True, **extra)),
                               np.asarray(every[-1]), rtol=1e-13)


def test_conv_layer_learn_names_the_signal_shapes_it_takes(rng):
    geometry, weights, basis, target, pre, state = _layer_case(rng, np, "conv", 1)
    with pytest.raises(ValueError, match=r"shaped like its output \(8, 8\) or pooled \(2, 2\)"):
        conv_layer_learn(state, pre[0], np.ones((3, 4, 4, 4)), geometry, EligibilityParams())

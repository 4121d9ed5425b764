"""Property-based tests (hypothesis) of the float and integer kernels.

Three families of properties, each one a statement some wrong kernel would break:

1. Integer state saturates as the hardware profile says and never wraps: the fixed-point
   LIF step, the integer traces, the synaptic input path of a plastic layer and the
   fixed-point weight update keep every output inside the widths of
   ``load_profile("loihi2")``, and a drive beyond the range lands on the bound of its own
   sign. The integer kernels are compared with the same equations in Python's unbounded
   integers, clipped where the kernel documents it.
2. Float and fixed point stay within the conversion's error bound (the bound of
   ``tests/test_lif_process.py``, extended by the two errors that test could leave out:
   the 12-bit rounding of an arbitrary ``gamma`` and the rounding of layer weights), as
   long as the spike decisions agree, and a decision can only differ where the float
   membrane lies within that bound of the threshold.
3. No NaN or infinity from finite input: the float kernels in NumPy float64 and, where
   torch is installed, torch float32.

Every test runs a fixed, derandomized sequence of examples (no example database), so a
run in CI sees exactly the examples a local run sees.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lava_local.fixed_point import (
    LIFConfig,
    _pre_impulse,
    quantize_decay,
    quantize_dense_layer,
    quantize_input,
    quantize_layer_weights,
    quantize_lif,
    quantize_readout,
)
from lava_local.hw_profile import load_profile
from lava_local.kernels.basis import BASIS_KINDS, cosine_basis, degenerate_rows, make_basis
from lava_local.kernels.layer import (
    DenseLayerState,
    dense_layer_apply_fixed,
    dense_layer_init,
    dense_layer_step,
    dense_layer_step_fixed,
    readout_init,
    readout_step_fixed,
)
from lava_local.kernels.learning_signal import SignalParams, learning_signal, project_target
from lava_local.kernels.neuron import LIFParams, LIFState, lif_step, lif_step_fixed
from lava_local.kernels.plasticity import EligibilityParams, apply_update_fixed, dense_update
from lava_local.kernels.surrogate import SURROGATES, Surrogate, psi, psi_fixed
from lava_local.kernels.traces import TraceParams, trace_step, trace_step_fixed
from lava_local.rules import TESS

try:
    import torch
except ImportError:  # torch is an optional extra: its cases are skipped without it
    torch = None

HW = load_profile("loihi2")
FMT = HW.neuron
STATE_MAX = FMT.state_max                    # 2**23 - 1: the membrane saturates at +-STATE_MAX
INPUT_MIN, INPUT_MAX = -FMT.input_max - 1, FMT.input_max   # 16-bit signed a_in
TRACE_MAX = HW.trace.max                     # 127: 7-bit unsigned traces
WEIGHT_MAX = HW.synapse.weight_max           # 127: 8-bit signed weight mantissas
HUGE = 2**40                                 # far beyond every width, far inside int64

BASE = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = sorted(SURROGATES)
BACKENDS = ["numpy", pytest.param("torch", marks=pytest.mark.skipif(torch is None, reason="torch not installed"))]


def _exact_lif(u, o, a_in, dv, threshold, reset):
    """The fixed-point LIF step in Python integers: unbounded arithmetic, then the two
    saturations the kernel documents (a_in to input_bits, the membrane to +-state_max)."""
    out = []
    for ui, oi, ai in zip(u.tolist(), o.tolist(), a_in.tolist()):
        v = ui - threshold * oi if reset == "subtract" else ui * (1 - oi)
        product = v * (FMT.decay_unity - dv)
        decayed = (abs(product) >> FMT.decay_bits) * (1 if product >= 0 else -1)  # toward zero
        a = min(max(ai, INPUT_MIN), INPUT_MAX)
        out.append(min(max(decayed + (a << FMT.input_shift), -STATE_MAX), STATE_MAX))
    return np.array(out, dtype=np.int64)


@st.composite
def lif_fixed_params(draw):
    """Fixed-point LIF parameters as ``quantize_lif`` makes them from float ones."""
    gamma = draw(st.floats(0.0005, 1.0))
    scale = draw(st.sampled_from([64, 256, 1024, 4096]))
    v_th = draw(st.floats(1.0 / scale, FMT.threshold_max / scale))
    reset = draw(st.sampled_from(["subtract", "zero"]))
    return quantize_lif(LIFConfig(LIFParams(gamma, v_th, reset)), scale=scale).neuron


def int_arrays(n, low, high):
    return hnp.arrays(np.int64, n, elements=st.integers(low, high))


def float_arrays(shape, bound, width=64):
    return hnp.arrays(np.float64 if width == 64 else np.float32, shape,
                      elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=width))


# --- 1. integer state saturates as the profile says and never wraps ------------------------


@settings(BASE, max_examples=60)
@given(params=lif_fixed_params(), data=st.data())
def test_lif_fixed_step_is_exact_arithmetic_saturated_to_the_profile(params, data):
    """u' = clip(trunc(v (4096 - dv) / 4096) + (clip(a_in, 16 bit) << 6), +-(2**23 - 1)) for
    any membrane in range, any spike state and any drive up to 2**40: so |u'| never exceeds
    the 24-bit bound and a drive beyond it saturates with its own sign instead of wrapping."""
    n = data.draw(st.integers(1, 12))
    u = data.draw(int_arrays(n, -STATE_MAX, STATE_MAX))
    o = data.draw(int_arrays(n, 0, 1))
    a_in = data.draw(int_arrays(n, -HUGE, HUGE))
    new = lif_step_fixed(LIFState(u, o), a_in, params)
    assert np.all(np.abs(new.u) <= STATE_MAX)
    np.testing.assert_array_equal(new.u, _exact_lif(u, o, a_in, params.dv, params.threshold, params.reset))
    np.testing.assert_array_equal(new.o, (new.u > params.threshold).astype(np.int64))


@settings(BASE, max_examples=40)
@given(params=lif_fixed_params(), data=st.data())
def test_lif_fixed_huge_drive_saturates_with_its_own_sign(params, data):
    """Under a drive beyond the 16-bit input range, step after step, the membrane moves to
    the drive's side of zero and stays there (on the bound itself where nothing pulls it
    back): it never wraps to the other sign."""
    n = data.draw(st.integers(1, 8))
    sign = data.draw(st.sampled_from([1, -1]))
    drive = sign * data.draw(int_arrays(n, INPUT_MAX, HUGE))
    state = LIFState(data.draw(int_arrays(n, -STATE_MAX, STATE_MAX)), np.zeros(n, np.int64))
    crossed = np.zeros(n, bool)
    for _ in range(12):
        state = lif_step_fixed(state, drive, params)
        assert np.all(np.abs(state.u) <= STATE_MAX)
        assert not np.any(crossed & (sign * state.u <= 0)), "the membrane wrapped to the other sign"
        crossed |= sign * state.u > 0
    # 2**21 per step crosses the whole range in 8 steps, whatever the decay and the reset
    assert np.all(sign * state.u > 0)
    if sign < 0 and params.dv == 0:
        np.testing.assert_array_equal(state.u, -STATE_MAX)  # no decay, no spike: pinned at the bound


@settings(BASE, max_examples=60)
@given(decay=st.integers(0, 2**HW.trace.decay_bits), data=st.data())
def test_integer_trace_stays_in_its_unsigned_width(decay, data):
    """trace_step_fixed = min(floor(x (4096 - d) / 4096) + impulse, 127) for traces in
    [0, 127] and any non-negative impulse: within [0, 127], the decay never raises a
    trace, and a huge impulse lands exactly on 127 (the bound, not a wrapped value)."""
    n = data.draw(st.integers(1, 12))
    x = data.draw(int_arrays(n, 0, TRACE_MAX))
    impulse = data.draw(st.one_of(int_arrays(n, 0, 2 * TRACE_MAX), int_arrays(n, 0, HUGE)))
    new = trace_step_fixed(x, impulse, decay, HW.trace.decay_bits, TRACE_MAX)
    assert np.all((0 <= new) & (new <= TRACE_MAX))
    expected = [min(xi * (2**HW.trace.decay_bits - decay) // 2**HW.trace.decay_bits + ii, TRACE_MAX)
                for xi, ii in zip(x.tolist(), impulse.tolist())]
    np.testing.assert_array_equal(new, expected)
    decayed_only = trace_step_fixed(x, np.zeros(n, np.int64), decay, HW.trace.decay_bits, TRACE_MAX)
    assert np.all(decayed_only <= x)
    np.testing.assert_array_equal(trace_step_fixed(x, np.full(n, HUGE), decay, HW.trace.decay_bits, TRACE_MAX),
                                  TRACE_MAX)


@settings(BASE, max_examples=40)
@given(kind=st.sampled_from(KINDS), lambda_post=st.floats(0.0, 0.98), scale=st.sampled_from([256, 1024, 4096]),
       data=st.data())
def test_post_trace_of_quantized_psi_never_reaches_saturation(kind, lambda_post, scale, data):
    """fixed_point.py: psi_frac_bits is chosen so that the post trace's bound
    Psi_peak / (1 - lambda_post) fits the 7-bit trace, "so h never saturates". Fed with the
    integer Psi of arbitrary membranes (the table's peak included), the unclipped trace
    stays <= 127, and every Psi is within the learning factor's width."""
    fx = quantize_lif(LIFConfig(surrogate=Surrogate(kind), traces=TraceParams(lambda_post=lambda_post)), scale)
    n = data.draw(st.integers(1, 6))
    threshold = fx.neuron.threshold
    near = st.integers(max(-STATE_MAX, threshold - 4 * fx.membrane_unit),
                       min(STATE_MAX, threshold + 4 * fx.membrane_unit))
    u_steps = data.draw(hnp.arrays(np.int64, (data.draw(st.integers(1, 30)), n),
                                   elements=st.one_of(st.just(threshold), near)))
    h = np.zeros(n, np.int64)
    for u in u_steps:
        p = psi_fixed(u, threshold, fx.psi)
        assert np.all((0 <= p) & (p <= HW.learning.factor_max))
        h = trace_step_fixed(h, p, fx.post_decay, HW.trace.decay_bits, 2**62)  # no clipping: see the true value
        assert np.all(h <= TRACE_MAX)
    # the worst case, the table's peak at every step, for many steps
    h = np.zeros(1, np.int64)
    for _ in range(400):
        h = trace_step_fixed(h, np.array([fx.psi.table.max()]), fx.post_decay, HW.trace.decay_bits, 2**62)
    assert h[0] <= TRACE_MAX


@settings(BASE, max_examples=40)
@given(lambda_pre=st.floats(0.0, 0.995))
def test_pre_trace_impulse_never_saturates_with_a_spike_every_step(lambda_pre):
    """fixed_point._pre_impulse: the per-spike increment whose worst case (a spike every
    step) never saturates the 7-bit pre trace."""
    impulse = _pre_impulse(lambda_pre, TRACE_MAX)
    decay = quantize_decay("lambda_pre", lambda_pre, HW.trace.decay_bits, allow_zero=True)
    q = np.zeros(1, np.int64)
    for _ in range(1500):
        q = trace_step_fixed(q, np.array([impulse]), decay, HW.trace.decay_bits, 2**62)
        assert q[0] <= TRACE_MAX
    assert impulse >= 1


def _dense_fixed_params(n_out, gamma, v_th, scale, kind):
    neuron = LIFParams(gamma, v_th)
    rule = TESS(eligibility=EligibilityParams(lambda_pre=gamma, lambda_post=0.2, alpha_pre=1.0, alpha_post=-1.0),
                lr=1e-3)
    params, _ = quantize_dense_layer(np.zeros((n_out, 1)), neuron, Surrogate(kind), rule, n_out, scale)
    return params


@settings(BASE, max_examples=40)
@given(data=st.data())
def test_dense_layer_fixed_step_keeps_every_state_in_its_width(data):
    """The synaptic input path: (W_int @ o_pre) << weight_exp for weight mantissas within
    +-127 and any exponent of the profile reaches the neuron as the exact integer sum
    (floored for negative exponents), clipped to the 16-bit input; u, o, q, h and Psi stay
    within their widths, with or without learning, from any in-range state."""
    n_in, n_out = data.draw(st.integers(1, 10)), data.draw(st.integers(1, 6))
    params = _dense_fixed_params(n_out, data.draw(st.floats(0.01, 1.0)), data.draw(st.floats(0.05, 4.0)),
                                 data.draw(st.sampled_from([256, 1024])), data.draw(st.sampled_from(KINDS)))
    params = replace(params, weight_exp=data.draw(st.integers(HW.synapse.weight_exp_min, HW.synapse.weight_exp_max)))
    n_classes = data.draw(st.integers(2, 4))
    basis_sign = make_basis("square", n_classes, n_out).astype(np.int64)
    weights = data.draw(hnp.arrays(np.int64, (n_out, n_in), elements=st.integers(-WEIGHT_MAX, WEIGHT_MAX)))
    state = DenseLayerState(
        data.draw(int_arrays(n_out, -STATE_MAX, STATE_MAX)), data.draw(int_arrays(n_out, 0, 1)),
        data.draw(int_arrays(n_in, 0, TRACE_MAX)), data.draw(int_arrays(n_out, 0, TRACE_MAX)),
        data.draw(hnp.arrays(np.int64, n_out, elements=st.sampled_from(params.psi.table.tolist()))),
        np.zeros((n_out, n_in), np.int64))
    for _ in range(data.draw(st.integers(1, 4))):
        pre = data.draw(int_arrays(n_in, 0, 1))
        label = data.draw(st.integers(-1, n_classes - 1))
        acc = [sum(int(w) * int(p) for w, p in zip(row, pre)) for row in weights.tolist()]
        exp = params.weight_exp
        current = np.array([a << exp if exp >= 0 else a >> -exp for a in acc], dtype=np.int64)
        expected_u = _exact_lif(state.u, state.o, current, params.neuron.dv, params.neuron.threshold, "subtract")
        state = dense_layer_step_fixed(state, pre, weights, params, basis_sign, label)
        np.testing.assert_array_equal(state.u, expected_u)
        assert np.all(np.abs(state.u) <= STATE_MAX)
        assert set(np.unique(state.o).tolist()) <= {0, 1}
        assert np.all((0 <= state.q) & (state.q <= TRACE_MAX))
        assert np.all((0 <= state.h) & (state.h <= TRACE_MAX))
        assert np.all((0 <= state.psi) & (state.psi <= HW.learning.factor_max))


@settings(BASE, max_examples=30)
@given(n_in=st.integers(1, 12), exp=st.integers(HW.synapse.weight_exp_min, HW.synapse.weight_exp_max),
       sign=st.sampled_from([1, -1]), gamma=st.floats(0.01, 1.0))
def test_dense_layer_and_readout_saturate_a_maximal_drive_with_its_sign(n_in, exp, sign, gamma):
    """All weights at +-127, every input spiking, the largest exponent or any other: the
    layer's and the read-out's membranes go to the side of the drive and stay there, never
    past the 24-bit bound."""
    n_out = 3
    params = replace(_dense_fixed_params(n_out, gamma, 0.6, 1024, "triangular"), weight_exp=exp)
    basis_sign = make_basis("square", 2, n_out).astype(np.int64)
    weights = np.full((n_out, n_in), sign * WEIGHT_MAX, np.int64)
    pre = np.ones(n_in, np.int64)
    state = dense_layer_init(n_in, n_out, np.int64)
    ro_params, _ = quantize_readout(np.zeros((n_out, n_in)), gamma, 1e-3)
    ro_params = replace(ro_params, weight_exp=exp)
    ro = readout_init(n_in, n_out, np.int64)
    drive_units = WEIGHT_MAX * n_in * 2.0**exp
    for _ in range(20):
        state = dense_layer_step_fixed(state, pre, weights, params, basis_sign, 0)
        ro = readout_step_fixed(ro, pre, weights, ro_params, 0)
        assert np.all(np.abs(state.u) <= STATE_MAX) and np.all(np.abs(ro.u) <= STATE_MAX)
        if drive_units >= 1 or sign < 0:  # a drive that survives the exponent's shift (which floors)
            assert np.all(sign * ro.u > 0) and np.all(sign * state.u > 0)


@settings(BASE, max_examples=40)
@given(n_in=st.integers(1, 300), exp=st.integers(HW.synapse.weight_exp_min, HW.synapse.weight_exp_max),
       sign=st.sampled_from([1, -1]))
def test_readout_input_saturates_at_the_profile_input_width(n_in, exp, sign):
    """The read-out's synaptic input saturates to the profile's 16-bit input range before it
    enters the membrane, as the LIF's does: one step from rest, written out element by
    element, u = clip(W o << exp, -2**15, 2**15 - 1) << input_shift."""
    n_out = 2
    ro_params, _ = quantize_readout(np.zeros((n_out, n_in)), 0.5, 1e-3)
    ro_params = replace(ro_params, weight_exp=exp)
    weights = np.full((n_out, n_in), sign * WEIGHT_MAX, np.int64)
    ro = readout_step_fixed(readout_init(n_in, n_out, np.int64), np.ones(n_in, np.int64), weights, ro_params, -1)
    input_max = 2 ** (HW.neuron.input_bits - 1) - 1
    for i in range(n_out):
        total = sum(int(w) for w in weights[i])
        current = total << exp if exp >= 0 else total >> -exp
        current = max(-input_max - 1, min(input_max, current))
        assert ro.u[i] == current << HW.neuron.input_shift


@settings(BASE, max_examples=80)
@given(data=st.data(), shift=st.integers(0, 40))
def test_fixed_weight_update_saturates_at_the_mantissa_range(data, shift):
    """apply_update_fixed: W - stochastic_round(acc / 2**shift) clipped to +-limit, for
    mantissas in range and accumulators up to +-2**62 (int64 with room for the subtraction):
    the result is within [-limit, limit], lies between the clipped floor and ceiling of the
    exact step, and a step beyond the range lands on the bound of the step's sign."""
    shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    limit = data.draw(st.sampled_from([WEIGHT_MAX, 2**HW.synapse.weight_bits - 2, 1]))
    w = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-limit, limit)))
    acc = data.draw(hnp.arrays(np.int64, shape, elements=st.one_of(st.integers(-2**62, 2**62),
                                                                   st.integers(-2**20, 2**20))))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    new = apply_update_fixed(w, acc, shift, limit, rng)
    assert np.all(np.abs(new) <= limit)
    clip = lambda x: min(max(x, -limit), limit)  # noqa: E731
    for wi, ai, ni in zip(w.ravel().tolist(), acc.ravel().tolist(), new.ravel().tolist()):
        low, high = ai >> shift, -((-ai) >> shift)  # floor and ceiling of ai / 2**shift
        assert clip(wi - high) <= ni <= clip(wi - low)
        if ai >> shift >= 2 * limit:
            assert ni == -limit
        if -((-ai) >> shift) <= -2 * limit:
            assert ni == limit


@settings(BASE, max_examples=30)
@given(data=st.data())
def test_dense_layer_apply_fixed_keeps_weights_in_the_mantissa_range(data):
    """The layer's update (dW * lr_mant / 2**lr_shift, stochastically rounded) from any
    accumulator a sample can produce keeps the mantissas within +-weight_max."""
    params = _dense_fixed_params(3, 0.5, 0.6, 1024, "triangular")
    params = replace(params, lr_mant=data.draw(st.integers(1, 255)), lr_shift=data.draw(st.integers(0, 40)))
    w = data.draw(hnp.arrays(np.int64, (3, 4), elements=st.integers(-WEIGHT_MAX, WEIGHT_MAX)))
    dw = data.draw(hnp.arrays(np.int64, (3, 4), elements=st.integers(-2**50, 2**50)))
    new = dense_layer_apply_fixed(w, dw, params, np.random.default_rng(0))
    assert np.all(np.abs(new) <= WEIGHT_MAX)


@settings(BASE, max_examples=40)
@example(w=0, acc=2**60, shift=-4)
@example(w=0, acc=-2**63, shift=0)
@given(w=st.integers(-WEIGHT_MAX, WEIGHT_MAX), acc=st.integers(-2**63, 2**63 - 1), shift=st.integers(-8, 8))
def test_fixed_weight_update_saturates_for_every_int64_accumulator_and_shift(w, acc, shift):
    """The docstring's promise without restricting acc or shift: the result is the exact
    W - acc / 2**shift (rounded either way) clipped to +-limit."""
    new = int(apply_update_fixed(np.array([w]), np.array([acc]), shift, WEIGHT_MAX, np.random.default_rng(0))[0])
    exact_low = w - (-((-acc) >> shift) if shift >= 0 else acc << -shift)
    exact_high = w - (acc >> shift if shift >= 0 else acc << -shift)
    clip = lambda x: min(max(x, -WEIGHT_MAX), WEIGHT_MAX)  # noqa: E731
    assert clip(exact_low) <= new <= clip(exact_high)


# --- 2. float and fixed point agree within the conversion's error bound --------------------


def _check_float_fixed_membranes(u_float, o_float, u_fixed, o_fixed, state):
    """One step of the bound bookkeeping shared by the two tests below; see their docstring."""
    bound, agree, d, v_th, unit = state["bound"], state["agree"], state["d"], state["v_th"], state["unit"]
    err = np.abs(u_float - u_fixed / unit)
    assert np.all(err[agree] <= bound[agree] + 1e-9), (err[agree], bound[agree])
    differ = agree & (o_float != o_fixed)
    # a decision can only differ where the float membrane is within bound + d of threshold
    assert np.all(np.abs(u_float[differ] - v_th) <= bound[differ] + d + 1e-9)
    state["agree"] = agree & ~differ


def _next_bound(state, o_prev, v_fixed, gamma, gamma_q, input_error, reset):
    """B[t] = gamma (B[t-1] + d o[t-1]) + |gamma - gamma_q| |v_fixed| + 1/unit + input error
    (with reset="zero" a shared spike sets both membranes to 0: the error restarts at 0)."""
    carried = state["bound"] + state["d"] * o_prev if reset == "subtract" else state["bound"] * (1 - o_prev)
    state["bound"] = gamma * carried + abs(gamma - gamma_q) * np.abs(v_fixed) + 1.0 / state["unit"] + input_error


@settings(BASE, max_examples=60)
@given(gamma=st.one_of(st.integers(1, 63).map(lambda k: k / 64), st.floats(0.01, 1.0)),
       v_th=st.floats(0.05, 2.0), scale=st.sampled_from([256, 1024, 4096]),
       reset=st.sampled_from(["subtract", "zero"]), data=st.data())
def test_fixed_lif_membrane_stays_within_the_conversion_bound_of_the_float_one(gamma, v_th, scale, reset, data):
    """The LIF population, float against fixed point on the same inputs (|x| <= 2, so
    neither the 16-bit input nor the 24-bit membrane saturates in 8 steps).

    The documented bound (tests/test_lif_process.py): with d = |v_th - vth / scale|, before
    the two models first disagree on a neuron its fixed membrane in float units differs
    from the float one by at most e = (gamma d + 0.5 / scale + 1 / unit) / (1 - gamma) (the
    decayed reset error of a shared spike, half an input step of rounding, one truncated
    membrane unit), and a spike can only differ where the float membrane is within e + d
    of the threshold. For a gamma that 12 bits do not hold exactly the decay's rounding
    adds |gamma - gamma_q| |v| per step (gamma_q = 1 - dv / 4096): we check the step-wise
    recurrence that sums to e, B[t] = gamma (B[t-1] + d o[t-1]) + |gamma - gamma_q| |v|
    + 0.5 / scale + 1 / unit, and B[t] <= e where gamma_q == gamma.
    """
    n, steps = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))
    x = data.draw(float_arrays((steps, n), 2.0))
    config = LIFConfig(LIFParams(gamma, v_th, reset))
    fx = quantize_lif(config, scale=scale)
    a_in = quantize_input(x, fx)
    unit, gamma_q = fx.membrane_unit, 1.0 - fx.neuron.dv / FMT.decay_unity
    d = abs(v_th - fx.neuron.vth / scale)
    documented = (gamma * d + 0.5 / scale + 1.0 / unit) / (1.0 - gamma) if gamma < 1 else np.inf
    float_state = LIFState(np.zeros(n), np.zeros(n))
    fixed_state = LIFState(np.zeros(n, np.int64), np.zeros(n, np.int64))
    check = {"bound": np.zeros(n), "agree": np.ones(n, bool), "d": d, "v_th": v_th, "unit": unit}
    for t in range(steps):
        o_prev = float_state.o
        v_fixed = (fixed_state.u - fx.neuron.threshold * fixed_state.o if reset == "subtract"
                   else fixed_state.u * (1 - fixed_state.o)) / unit
        _next_bound(check, o_prev, v_fixed, gamma, gamma_q, 0.5 / scale, reset)
        float_state = lif_step(float_state, x[t], config.neuron)
        fixed_state = lif_step_fixed(fixed_state, a_in[t], fx.neuron)
        assert np.all(np.abs(fixed_state.u) < STATE_MAX)  # the premise: nothing saturated
        _check_float_fixed_membranes(float_state.u, float_state.o, fixed_state.u, fixed_state.o, check)
        if gamma_q == gamma and reset == "subtract":
            assert np.all(check["bound"] <= documented + 1e-12)


@settings(BASE, max_examples=40)
@given(gamma=st.floats(0.01, 1.0), v_th=st.floats(0.05, 2.0), scale=st.sampled_from([256, 1024, 2048]),
       kind=st.sampled_from(KINDS), data=st.data())
def test_fixed_dense_layer_membrane_stays_within_the_conversion_bound(gamma, v_th, scale, kind, data):
    """A small plastic dense layer, ``dense_layer_step`` against ``dense_layer_step_fixed``
    with the weights of ``quantize_dense_layer`` and binary input spikes.

    The same recurrence as for the LIF population with the input error of the synapses in
    place of the input rounding: each active input contributes its weight's rounding,
    |W - W_int 2**exp / scale| <= 2**exp / (2 scale) (the headroom of 2 means no mantissa
    is clipped), and a negative exponent floors the summed current, less than one input
    step, 1 / scale. With |W| <= 1, at most 8 inputs and 6 steps neither the input nor the
    membrane saturates.
    """
    n_in, n_out, steps = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))
    w = data.draw(float_arrays((n_out, n_in), 1.0))
    spikes_in = data.draw(hnp.arrays(np.float64, (steps, n_in), elements=st.sampled_from([0.0, 1.0])))
    neuron, surrogate = LIFParams(gamma, v_th), Surrogate(kind)
    eligibility = EligibilityParams(lambda_pre=gamma, lambda_post=0.2, alpha_pre=1.0, alpha_post=-1.0)
    rule = TESS(eligibility=eligibility, lr=1e-3)
    params, qw = quantize_dense_layer(w, neuron, surrogate, rule, n_out, scale)
    assert np.all(qw.weights == quantize_layer_weights(w, scale).weights)
    w_error = np.abs(w - qw.weights * 2.0**qw.weight_exp / scale)
    assert np.all(w_error <= 2.0**qw.weight_exp / (2 * scale) + 1e-15)
    shift_error = 1.0 / scale if qw.weight_exp < 0 else 0.0
    basis = make_basis("square", 2, n_out)
    unit = scale << FMT.input_shift
    gamma_q = 1.0 - params.neuron.dv / FMT.decay_unity
    d = abs(v_th - params.neuron.vth / scale)
    float_state = dense_layer_init(n_in, n_out)
    fixed_state = dense_layer_init(n_in, n_out, np.int64)
    check = {"bound": np.zeros(n_out), "agree": np.ones(n_out, bool), "d": d, "v_th": v_th, "unit": unit}
    for t in range(steps):
        v_fixed = (fixed_state.u - params.neuron.threshold * fixed_state.o) / unit
        _next_bound(check, float_state.o, v_fixed, gamma, gamma_q, w_error @ spikes_in[t] + shift_error, "subtract")
        float_state = dense_layer_step(float_state, spikes_in[t], w, neuron, surrogate, eligibility, basis,
                                       rule.signal, None)
        fixed_state = dense_layer_step_fixed(fixed_state, spikes_in[t].astype(np.int64), qw.weights, params,
                                             basis.astype(np.int64), -1)
        assert np.all(np.abs(fixed_state.u) < STATE_MAX)
        _check_float_fixed_membranes(float_state.u, float_state.o, fixed_state.u, fixed_state.o, check)


# --- 3. finite input gives finite output -------------------------------------------------


def _to(backend, array):
    """The float kernels' array type of a backend: NumPy float64 or torch float32."""
    if backend == "numpy":
        return np.asarray(array, dtype=np.float64)
    return torch.as_tensor(np.asarray(array, dtype=np.float32))


def _finite(value):
    if isinstance(value, np.ndarray) or np.isscalar(value):
        return bool(np.all(np.isfinite(value)))
    return bool(torch.isfinite(value).all())


MEMBRANE = 1e6   # membranes, currents and traces
LOGIT_INPUT = 1e3  # what the learning signal projects


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@settings(BASE, max_examples=15)
@given(data=st.data(), gamma=st.floats(0.0, 1.0), v_th=st.floats(1e-3, 1e3), in_place=st.booleans())
def test_lif_step_is_finite_for_finite_input(backend, reset, data, gamma, v_th, in_place):
    shape = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 6)))
    u = _to(backend, data.draw(float_arrays(shape, MEMBRANE)))
    o = _to(backend, data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]))))
    current = _to(backend, data.draw(float_arrays(shape, MEMBRANE)))
    params = LIFParams(gamma, v_th, reset)
    state = LIFState(u, o)
    for _ in range(3):
        state = lif_step(state, current, params, in_place=in_place)
        assert _finite(state.u) and _finite(state.o)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
@settings(BASE, max_examples=15)
@given(data=st.data(), v_th=st.floats(1e-3, 1e3))
def test_psi_is_finite_and_within_its_peak_for_finite_membranes(backend, kind, data, v_th):
    """Psi of every kind is a finite number in [0, peak] for membranes up to 1e6 (sigmoid's
    cosh overflows far from threshold, which must read as 0, not NaN)."""
    u = _to(backend, data.draw(float_arrays(data.draw(st.integers(1, 8)), MEMBRANE)))
    p = psi(u, v_th, Surrogate(kind))
    assert _finite(p)
    values = np.asarray(p if backend == "numpy" else p.numpy(), dtype=np.float64)
    assert np.all(values >= 0) and np.all(values <= Surrogate(kind).peak * (1 + 1e-6))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(BASE, max_examples=20)
@given(data=st.data(), decay=st.floats(0.0, 1.0), in_place=st.booleans())
def test_trace_step_is_finite_for_finite_input(backend, data, decay, in_place):
    n = data.draw(st.integers(1, 8))
    trace = _to(backend, data.draw(float_arrays(n, MEMBRANE)))
    impulse = _to(backend, data.draw(float_arrays(n, MEMBRANE)))
    for _ in range(3):
        trace = trace_step(trace, impulse, decay, in_place=in_place)
        assert _finite(trace)


SCALES = [None, "1/d", "1/sqrt(d)", 3.5]


def _basis(kind: str, n_classes: int, size: int) -> np.ndarray:
    """``make_basis``, drawing again where it refuses a cosine basis whose row aliases to a
    constant or zero (exactly where such a row exists, which the assertion checks)."""
    aliased = kind == "cosine" and size > 1 and degenerate_rows(cosine_basis(n_classes, size)).size > 0
    try:
        basis = make_basis(kind, n_classes, size)
    except ValueError as error:
        assert aliased and "aliases" in str(error)
        assume(False)
    assert not aliased
    return basis


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("error", ["softmax", "identity", "clipped", "pwl_softmax"])
@pytest.mark.parametrize("scale", SCALES, ids=str)
@pytest.mark.parametrize("basis_kind", sorted(BASIS_KINDS))
@settings(BASE, max_examples=6)
@given(data=st.data(), temperature=st.floats(0.05, 20.0), projected=st.booleans())
def test_learning_signal_is_finite_for_finite_input(backend, error, scale, basis_kind, data, temperature, projected):
    """m = s B^T (softmax(s B o / T) - y*) (or the identity error) for inputs up to 1e3 in
    size, one sample or a batch, with the label one-hot or projected on the basis."""
    n_classes, d = data.draw(st.integers(2, 6)), data.draw(st.integers(1, 32))
    lead = data.draw(st.sampled_from([(), (3,)]))
    o = _to(backend, data.draw(float_arrays(lead + (d,), LOGIT_INPUT)))
    labels = data.draw(hnp.arrays(np.int64, lead, elements=st.integers(0, n_classes - 1)))
    target = _to(backend, labels[..., None] == np.arange(n_classes))
    basis = _to(backend, _basis(basis_kind, n_classes, d))
    signal = SignalParams(n_classes=n_classes, basis=basis_kind, scale=scale, temperature=temperature, error=error)
    if projected:
        target = project_target(target, basis, error)
    m = learning_signal(o, target, basis, signal)
    assert tuple(m.shape) == lead + (d,)
    assert _finite(m)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(BASE, max_examples=20)
@given(data=st.data(), alpha_pre=st.sampled_from([-1.0, 0.0, 1.0, 0.5]),
       alpha_post=st.sampled_from([-1.0, 0.0, 1.0, 2.0]), accumulate=st.booleans())
def test_dense_update_is_finite_for_finite_input(backend, data, alpha_pre, alpha_post, accumulate):
    batch, n_out, n_in = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    m = _to(backend, data.draw(float_arrays((batch, n_out), LOGIT_INPUT)))
    psi_u = _to(backend, data.draw(float_arrays((batch, n_out), 1.0)))
    h = _to(backend, data.draw(float_arrays((batch, n_out), 1e3)))
    q = _to(backend, data.draw(float_arrays((batch, n_in), 1e3)))
    pre = _to(backend, data.draw(hnp.arrays(np.float64, (batch, n_in), elements=st.sampled_from([0.0, 1.0]))))
    params = EligibilityParams(0.5, 0.2, alpha_pre, alpha_post)
    out = _to(backend, np.zeros((n_out, n_in))) if accumulate else None
    dw = dense_update(m, psi_u, h, q, pre, params, out=out)
    assert tuple(dw.shape) == (n_out, n_in)
    assert _finite(dw)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(BASE, max_examples=20)
@given(data=st.data(), kind=st.sampled_from(KINDS), gamma=st.floats(0.0, 1.0), v_th=st.floats(1e-3, 1e3),
       basis_kind=st.sampled_from(sorted(BASIS_KINDS)), scale=st.sampled_from(SCALES),
       error=st.sampled_from(["softmax", "identity", "clipped", "pwl_softmax"]), in_place=st.booleans())
def test_dense_layer_step_is_finite_for_finite_input(backend, data, kind, gamma, v_th, basis_kind, scale, error,
                                                     in_place):
    """The whole float layer step (traces, LIF, Psi, local signal, update) from any finite
    state with membranes and traces up to 1e6, weights up to 1e3 and binary input spikes."""
    batch, n_in, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    n_classes = data.draw(st.integers(2, 4))
    lead = (batch,) if backend == "torch" else data.draw(st.sampled_from([(), (batch,)]))
    draw_f = lambda shape, bound: _to(backend, data.draw(float_arrays(shape, bound)))  # noqa: E731
    state = DenseLayerState(
        draw_f(lead + (n_out,), MEMBRANE),
        _to(backend, data.draw(hnp.arrays(np.float64, lead + (n_out,), elements=st.sampled_from([0.0, 1.0])))),
        draw_f(lead + (n_in,), MEMBRANE), draw_f(lead + (n_out,), MEMBRANE),
        _to(backend, data.draw(hnp.arrays(np.float64, lead + (n_out,), elements=st.floats(0.0, 1.0)))),
        draw_f((n_out, n_in), MEMBRANE))
    weights = draw_f((n_out, n_in), 1e3)
    basis = _to(backend, _basis(basis_kind, n_classes, n_out))
    signal = SignalParams(n_classes=n_classes, basis=basis_kind, scale=scale, error=error)
    eligibility = EligibilityParams(data.draw(st.floats(0.0, 1.0)), data.draw(st.floats(0.0, 1.0)), 1.0, -1.0)
    for _ in range(3):
        pre = _to(backend, data.draw(hnp.arrays(np.float64, lead + (n_in,), elements=st.sampled_from([0.0, 1.0]))))
        labels = data.draw(hnp.arrays(np.int64, lead, elements=st.integers(0, n_classes - 1)))
        target = _to(backend, labels[..., None] == np.arange(n_classes))
        state = dense_layer_step(state, pre, weights, LIFParams(gamma, v_th), Surrogate(kind), eligibility, basis,
                                 signal, target, in_place=in_place)
        for name in ("u", "o", "q", "h", "psi", "dw"):
            assert _finite(getattr(state, name)), name

"""LIF kernels against the paper's equations written out by hand."""
import numpy as np
import pytest
import torch

from lava_local.hw_profile import load_profile
from lava_local.kernels import LIFFixedParams, LIFParams, LIFState, lif_step, lif_step_fixed


def test_float_step_matches_hand_computation():
    p = LIFParams(gamma=0.5, v_th=0.6)
    state = LIFState(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0]))
    inputs = [np.array([0.7, 0.3, 0.0]), np.array([0.2, 0.5, 0.61]), np.array([0.0, 0.0, 0.0])]
    # u1 = I1; u2 = 0.5 (u1 - 0.6 o1) + I2; u3 = 0.5 (u2 - 0.6 o2) + I3
    u1 = np.array([0.7, 0.3, 0.0]); o1 = np.array([1.0, 0.0, 0.0])
    u2 = 0.5 * (u1 - 0.6 * o1) + inputs[1]; o2 = (u2 > 0.6).astype(float)
    u3 = 0.5 * (u2 - 0.6 * o2) + inputs[2]; o3 = (u3 > 0.6).astype(float)
    expected = [(u1, o1), (u2, o2), (u3, o3)]
    for current, (u, o) in zip(inputs, expected):
        state = lif_step(state, current, p)
        np.testing.assert_allclose(state.u, u, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(state.o, o)
    assert o2.tolist() == [0.0, 1.0, 1.0]  # the hand case exercises both spiking and not


def test_zero_reset_sets_membrane_to_zero_before_decay():
    p = LIFParams(gamma=0.9, v_th=1.0, reset="zero")
    state = lif_step(LIFState(np.array([2.0]), np.array([1.0])), np.array([0.25]), p)
    assert state.u[0] == pytest.approx(0.25)


def test_float_kernel_same_on_numpy_and_torch(rng):
    p = LIFParams(gamma=0.7, v_th=0.6)
    x = rng.uniform(-0.2, 0.8, size=(50, 16))
    s_np = LIFState(np.zeros(16), np.zeros(16))
    s_t = LIFState(torch.zeros(16, dtype=torch.float64), torch.zeros(16, dtype=torch.float64))
    for t in range(50):
        s_np = lif_step(s_np, x[t], p)
        s_t = lif_step(s_t, torch.from_numpy(x[t]), p)
        assert isinstance(s_t.u, torch.Tensor) and s_t.o.dtype == torch.float64
        # torch computes gamma v + I as one fused multiply-add (one rounding, NumPy two)
        np.testing.assert_allclose(s_t.u.numpy(), s_np.u, rtol=1e-15, atol=1e-15)
        np.testing.assert_array_equal(s_t.o.numpy(), s_np.o)
    assert s_np.o.sum() > 0


def test_fixed_step_matches_hand_integer_arithmetic():
    fmt = load_profile("loihi2").neuron
    p = LIFFixedParams(dv=1024, vth=100, fmt=fmt)  # gamma = 3/4, threshold 100 << 6 = 6400
    state = LIFState(np.array([7000, -3001, 100]), np.array([1, 0, 0]))
    a_in = np.array([10, -5, 3])
    out = lif_step_fixed(state, a_in, p)
    # v = u - 6400 o; decay trunc(v * 3072 / 4096) toward zero; add a_in << 6
    v = np.array([600, -3001, 100])
    decayed = np.array([450, -2250, 75])  # -3001*0.75 = -2250.75 -> -2250 (toward zero)
    np.testing.assert_array_equal(out.u, decayed + a_in * 64)
    np.testing.assert_array_equal(out.o, (decayed + a_in * 64 > 6400).astype(int))
    assert v[1] * 3072 // 4096 == -2251  # floor would differ: truncation matters


def test_fixed_state_saturates_at_profile_width():
    fmt = load_profile("loihi2").neuron
    p = LIFFixedParams(dv=0, vth=fmt.threshold_max, fmt=fmt)
    state = LIFState(np.array([fmt.state_max - 10, -fmt.state_max + 10]), np.array([0, 0]))
    out = lif_step_fixed(state, np.array([fmt.input_max, -fmt.input_max - 1]), p)
    np.testing.assert_array_equal(out.u, [fmt.state_max, -fmt.state_max])
    huge = lif_step_fixed(LIFState(np.array([0]), np.array([0])), np.array([10**9]), p)
    assert huge.u[0] == fmt.input_max << fmt.input_shift  # input saturates to 16 bits


@pytest.mark.parametrize("kwargs, message", [
    (dict(gamma=1.5), "gamma"),
    (dict(gamma=-0.1), "gamma"),
    (dict(v_th=0.0), "v_th"),
    (dict(v_th=-1.0), "v_th"),
    (dict(v_th=float("nan")), "v_th"),
    (dict(reset="hard"), "reset"),
])
def test_float_params_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LIFParams(**kwargs)


def test_float_params_reject_wrong_types():
    with pytest.raises(TypeError, match="gamma"):
        LIFParams(gamma="0.5")


def test_fixed_params_reject_values_outside_bit_widths():
    fmt = load_profile("loihi2").neuron
    with pytest.raises(ValueError, match="dv"):
        LIFFixedParams(dv=4096, vth=10, fmt=fmt)
    with pytest.raises(ValueError, match="vth"):
        LIFFixedParams(dv=0, vth=2**17, fmt=fmt)
    with pytest.raises(ValueError, match="vth"):
        LIFFixedParams(dv=0, vth=0, fmt=fmt)


@pytest.mark.parametrize("xp", [np, torch])
def test_add_into_writes_in_place_only_where_the_result_fits(xp):
    """``scale * fresh + other`` in ``fresh``'s storage when shape and dtype allow; otherwise
    exactly what the plain expression gives (broadcasting, type promotion, scalars)."""
    from lava_local.kernels._array import add_into

    arr = (lambda v, dt=np.float64: torch.as_tensor(np.asarray(v, dt))) if xp is torch else \
        (lambda v, dt=np.float64: np.asarray(v, dt))
    fresh = arr([1.0, 2.0, 3.0])
    result = add_into(fresh, arr([0.5, 0.5, 0.5]), 2.0)
    assert result is fresh
    np.testing.assert_array_equal(np.asarray(result), [2.5, 4.5, 6.5])
    for other in (arr([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), arr([1.0, 1.0, 1.0], np.float64)):
        small = arr([1.0, 2.0, 3.0], np.float32)
        expected = 0.5 * small + other
        got = add_into(small, other, 0.5)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
        np.testing.assert_array_equal(np.asarray(small), [1.0, 2.0, 3.0])  # not written over
    assert add_into(np.float64(2.0), 1.0, 3.0) == 7.0


def test_broadcasts_into_agrees_with_numpy_broadcasting(rng):
    """``broadcasts_into(shape, target)`` is ``np.broadcast_shapes(target, shape) == target``
    (False where they do not broadcast at all), over random shapes with ones, equal and
    unequal dimensions, and fewer or more dimensions than the target."""
    from lava_local.kernels._array import broadcasts_into

    for _ in range(2000):
        target = tuple(int(d) for d in rng.integers(1, 4, rng.integers(0, 4)))
        shape = tuple(int(d) for d in rng.integers(1, 4, rng.integers(0, 5)))
        try:
            expected = np.broadcast_shapes(target, shape) == target
        except ValueError:
            expected = False
        assert broadcasts_into(shape, target) == expected, (shape, target)
        assert broadcasts_into(torch.Size(shape), torch.Size(target)) == expected

"""The float -> fixed conversion: its rules, and values that do not fit."""
import numpy as np
import pytest

from lava_local.fixed_point import (
    LIFConfig,
    dequantize_factor,
    quantize_decay,
    quantize_dense_weights,
    quantize_input,
    quantize_lif,
)
from lava_local.kernels import LIFParams, Surrogate, TraceParams


def test_default_conversion_follows_the_documented_rules():
    fx = quantize_lif(LIFConfig(), scale=1024)
    assert fx.neuron.dv == 2048  # gamma 0.5
    assert fx.neuron.vth == 614  # round(0.6 * 1024)
    assert fx.neuron.threshold == 614 << 6
    assert fx.membrane_unit == 1024 << 6
    assert fx.post_decay == round(4096 * 0.8)
    # Psi peak 0.3 and h <= 0.3 / 0.8 = 0.375 must fit 7-bit traces: 8 fractional bits
    assert fx.psi.frac_bits == 8
    assert 0.375 * 2**fx.psi.frac_bits <= 127


def test_psi_width_shrinks_so_the_post_trace_cannot_saturate():
    cfg = LIFConfig(surrogate=Surrogate("inverse_square"), traces=TraceParams(lambda_post=0.5))
    fx = quantize_lif(cfg)
    assert 2.0 * 2**fx.psi.frac_bits <= 127 < 2.0 * 2 ** (fx.psi.frac_bits + 1)
    assert dequantize_factor(fx.psi.table[0], fx) == pytest.approx(1.0, abs=0.5)


def test_quantize_input_rounds_and_checks_the_width():
    fx = quantize_lif(LIFConfig(), scale=1024)
    np.testing.assert_array_equal(quantize_input([0.5, -0.25, 0.0004], fx), [512, -256, 0])
    with pytest.raises(ValueError, match="16-bit input range"):
        quantize_input([40.0], fx)
    with pytest.raises(ValueError, match="NaN"):
        quantize_input([np.nan], fx)


@pytest.mark.parametrize("kwargs, message", [
    (dict(config=LIFConfig(LIFParams(v_th=500.0)), scale=1024), "17-bit threshold"),
    (dict(config=LIFConfig(LIFParams(v_th=1e-4)), scale=16), "vth=0"),
    (dict(config=LIFConfig(LIFParams(gamma=1e-5))), "too small for a 12-bit decay"),
    (dict(config=LIFConfig(), scale=0), "scale"),
    (dict(config=LIFConfig(), scale=2**20), "scale"),
    (dict(config=LIFConfig(), profile="loihi7"), "unknown hardware profile"),
])
def test_values_that_do_not_fit_the_profile_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quantize_lif(**kwargs)


def test_conversion_type_errors():
    with pytest.raises(TypeError, match="LIFConfig"):
        quantize_lif(LIFParams())
    with pytest.raises(TypeError, match="scale"):
        quantize_lif(LIFConfig(), scale=1.5)


def test_decay_quantization():
    assert quantize_decay("gamma", 1.0, 12) == 0
    assert quantize_decay("gamma", 0.25, 12) == 3072


def test_dense_weights_fit_lava_even_mantissas(rng):
    w = rng.normal(0, 0.2, size=(20, 30))
    q = quantize_dense_weights(w, scale=1024)
    assert np.all(q.weights % 2 == 0) and np.abs(q.weights).max() <= 254
    step = 2.0 ** (q.weight_exp + 1) / 1024
    assert np.max(np.abs(q.dequantize(1024) - w)) <= step / 2 + 1e-12
    with pytest.raises(ValueError, match="do not fit"):
        quantize_dense_weights(np.array([[1e6]]), scale=1024)

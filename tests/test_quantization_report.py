"""The quantization report: weight saturation and rounding to zero counted element by
element, state saturation counted on real runs, accuracy from the fixed-point models."""
import json

import numpy as np
import pytest

from lava_local.fixed_point import quantize_dense_layer, quantize_readout
from lava_local.hw_profile import load_profile
from lava_local.network import Network
from lava_local.quantization_report import quantization_report, quantize_network
from lava_local.reference import reference_run

HW = load_profile("loihi2")
SCALE = 1024


def _net(rng, n_in=6, hidden=(4,), n_classes=2):
    return Network(n_in, hidden=hidden, n_classes=n_classes, seed=int(rng.integers(1000)))


def _frames(rng, samples, steps, n_in, rate=0.5):
    return (rng.random((samples, steps, n_in)) < rate).astype(np.uint8)


def _expected_counts(w, exp):
    """Saturated and rounded-to-zero weights, one weight at a time."""
    saturated = zero = 0
    for value in np.asarray(w, dtype=float).ravel():
        mantissa = round(value * SCALE / 2.0**exp)  # Python's round: half to even, as np.round
        saturated += abs(mantissa) > HW.synapse.weight_max
        zero += value != 0 and mantissa == 0
    return saturated, zero


def test_huge_outliers_saturate_and_the_counts_match_an_element_wise_count(rng):
    net = _net(rng)
    w0 = rng.normal(0.0, 0.05, size=(4, 6))
    w0[:, :3] = 50.0  # three inputs with weights far beyond 8-bit mantissas at any exponent
    w0[0, 5] = -40.0
    net.weights[0] = w0
    frames = np.zeros((3, 5, 6), dtype=np.uint8)
    frames[:, 1, :3] = 1  # the three outlier inputs together: 3 x 127 << 7 overflows the 16-bit input
    frames[1, 3, 5] = 1
    report = quantization_report(net, (frames, np.array([0, 1, 0])))
    layer = report.layers[0]
    assert layer.weight_exp == HW.synapse.weight_exp_max  # the range is exhausted
    expected_saturated, expected_zero = _expected_counts(w0, layer.weight_exp)
    assert (layer.saturated_weights, layer.zero_weights) == (expected_saturated, expected_zero)
    assert layer.saturated_weights == 13 and layer.saturated_fraction == pytest.approx(13 / 24)
    # the synaptic input of every neuron, one sample, step and neuron at a time
    mantissas = quantize_network(net, steps_per_sample=5).layers[0].weights
    expected_inputs = 0
    for sample in frames:
        for pre in sample:
            for row in mantissas:
                current = int(sum(int(m) * int(s) for m, s in zip(row, pre))) << layer.weight_exp
                expected_inputs += not -HW.neuron.input_max - 1 <= current <= HW.neuron.input_max
    assert expected_inputs > 0
    assert layer.saturated_states["input"] == expected_inputs
    assert layer.state_slots["input"] == 3 * 5 * 4
    assert "| hidden0 | 7 |" in report.to_markdown()
    assert json.loads(report.to_json())["layers"][0]["saturated_weights"] == 13


def test_tiny_weights_round_to_zero_and_the_counts_match_an_element_wise_count(rng):
    net = _net(rng, n_in=8, hidden=(5,))
    w0 = rng.normal(0.0, 2e-4, size=(5, 8))
    w0[2, 3] = 0.8  # sets the shared exponent: most weights fall below half a mantissa step
    w0[4, 4] = 0.0  # an exact zero is not counted as rounded to zero
    net.weights[0] = w0
    frames = _frames(rng, 2, 4, 8)
    report = quantization_report(net, (frames, np.array([0, 1])))
    layer = report.layers[0]
    # the library's conversion (the one the Lava fixed-point models use) chose this exponent
    _, q = quantize_dense_layer(w0, net.neuron, net.surrogate, net.rule_for(4), 5, SCALE, HW)
    assert layer.weight_exp == q.weight_exp
    expected_saturated, expected_zero = _expected_counts(w0, layer.weight_exp)
    assert layer.saturated_weights == expected_saturated == 0
    assert layer.zero_weights == expected_zero == 38  # all 40 but the large one and the exact zero
    assert layer.zero_fraction == pytest.approx(38 / 40)
    assert np.count_nonzero(quantize_network(net, steps_per_sample=4).layers[0].weights) == 40 - 38 - 1
    # the read-out keeps the library's exponent too
    _, q_ro = quantize_readout(net.weights[-1], net.readout_gamma, net.readout_lr_for(4), SCALE, HW)
    assert report.layers[-1].weight_exp == q_ro.weight_exp


def test_headroom_one_takes_one_more_bit_than_the_learning_models(rng):
    net = _net(rng)
    two = quantize_network(net, headroom=2.0, steps_per_sample=10)
    one = quantize_network(net, headroom=1.0, steps_per_sample=10)
    assert [a.weight_exp - b.weight_exp for a, b in zip(two.layers, one.layers)] == [1, 1]


def test_accuracies_are_those_of_the_lava_models_kernels(rng):
    """The report's fixed-point and float predictions are the reference network's (the
    NumPy mirror of the Lava float and fixed-point models, tested against them)."""
    net = Network(12, hidden=(10, 6), n_classes=3, seed=3)
    frames = _frames(rng, 12, 6, 12, rate=0.4)
    labels = rng.integers(0, 3, size=12)
    report = quantization_report(net, (frames, labels))
    order, learn = np.arange(12), np.zeros(12, dtype=bool)
    fixed, _, _ = reference_run(net, frames, labels, order, learn, "fixed")
    floating, _, _ = reference_run(net, frames, labels, order, learn, "float")
    np.testing.assert_array_equal(report.activity.predictions, fixed)
    assert report.fixed_accuracy == pytest.approx(np.mean(fixed == labels))
    assert report.float_accuracy == pytest.approx(np.mean(floating == labels))
    assert report.agreement == pytest.approx(np.mean(fixed == floating))
    assert report.accuracy_drop == pytest.approx(100 * (report.float_accuracy - report.fixed_accuracy))
    assert [layer.name for layer in report.layers] == ["hidden0", "hidden1", "readout"]
    assert "post_trace" not in report.layers[-1].state_slots  # the read-out has no post trace


def test_max_samples_and_bad_input(rng):
    net = _net(rng)
    frames = _frames(rng, 5, 3, 6)
    report = quantization_report(net, (frames, np.zeros(5, dtype=np.int64)), max_samples=2)
    assert report.samples == 2 and report.steps == 3
    with pytest.raises(ValueError, match="spike counts"):
        quantization_report(net, (frames * 0.5, np.zeros(5, dtype=np.int64)))
    with pytest.raises(TypeError, match="Network or a trainer"):
        quantization_report(object(), (frames, np.zeros(5, dtype=np.int64)))


def test_learning_steps_per_sample_need_the_samples_length(rng):
    """At the default steps per sample the learning-rate mantissas follow the samples'
    length (a quarter of the step per time step at 4 times the length); without a length
    quantize_network refuses, and with both rates given per time step it needs none."""
    net = _net(rng)
    with pytest.raises(ValueError, match="steps_per_sample"):
        quantize_network(net)
    with pytest.raises(ValueError, match=r"for_steps\(T\)"):  # a layer's own conversion needs a rate per step
        quantize_dense_layer(net.weights[0], net.neuron, net.surrogate, net.rule, 4, SCALE, HW)
    with pytest.raises(ValueError, match=r"readout_lr_for\(T\)"):
        quantize_readout(net.weights[-1], net.readout_gamma, net.readout_lr, SCALE, HW)
    rates = {}
    for steps in (10, 40):
        layers = quantize_network(net, steps_per_sample=steps).layers
        rates[steps] = [layer.params.lr_mant * 2.0 ** -layer.params.lr_shift for layer in layers]
    assert rates[40] == pytest.approx([r / 4 for r in rates[10]], rel=1e-2)
    given = Network(6, hidden=(4,), n_classes=2, rule=net.rule.with_(lr=1e-3), readout_lr=1e-3, seed=net.seed)
    assert [layer.params.lr_mant for layer in quantize_network(given).layers] == \
        [layer.params.lr_mant for layer in quantize_network(net, steps_per_sample=10).layers]

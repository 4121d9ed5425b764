"""The Loihi mapping in fixed point: ``run_config("fixed", mapping="loihi")`` runs
``DenseLayer`` as Lava's fixed-point ``LearningDense`` (the fused fixed model's integer
weight mantissas and exponent), ``TessPost``'s fixed model (the fused fixed model's integer
LIF, Psi table and post trace; y2, y3 scaled into the learning engine's ``y_bits`` and
saturated) and ``LearningSignal``'s fixed model.

Against the fused fixed-point network with the same rule (``timing="loihi"``,
``apply="step"``, whose dense layers learn as the engine does,
:mod:`lava_local.kernels.learning_engine`) the weights of every layer, the spikes and the
predictions are identical, bit for bit, over 400 steps of which 300 learn: the fused
layers draw Lava's random numbers for the engine's stochastic rounding, and the same
numbers as ``TessPost`` for the factors it rounds into y2, y3.
"""
import numpy as np
import pytest

import lava_local
from lava_local.fixed_point import engine_factor_scale, quantize_dense_layer
from lava_local.hw_profile import load_profile
from lava_local.kernels.learning_signal import SignalParams
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.plasticity import engine_factor_fixed
from lava_local.kernels.surrogate import Surrogate
from lava_local.network import Network
from lava_local.rules import LLS, TESS

from test_mapping import N_IN, NET, _assert_parts, _compiled, _data, _run

pytestmark = pytest.mark.timeout(180)

def test_every_process_of_the_loihi_mapping_has_a_fixed_point_model():
    from lava.proc.dense.models import PyLearningDenseModelBitApproximate

    from lava_local.proc.dense_layer import DenseLayer
    from lava_local.proc.dense_layer.models import PyDenseLayerLoihiModelFixed
    from lava_local.proc.learning_signal.models import PyLearningSignalModelFixed
    from lava_local.proc.tess_post.models import PyTessPostModelFixed

    cfg = lava_local.run_config("fixed", mapping="loihi")
    assert cfg.select_tag == "fixed_pt"
    assert cfg.exception_proc_model_map == {DenseLayer: PyDenseLayerLoihiModelFixed}
    layers, readout = _compiled("loihi", "fixed")
    try:
        _assert_parts(layers, PyDenseLayerLoihiModelFixed, PyLearningDenseModelBitApproximate,
                      PyTessPostModelFixed, PyLearningSignalModelFixed)
        assert readout.model_class.__name__ == "PyReadoutModelFixed"
    finally:
        readout.stop()


@pytest.mark.parametrize("name, rule, active", [
    ("lls", LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square")), 50),
    ("tess", TESS(lr=0.05, timing="loihi", apply="step"), 10),
    # every sample active to its last step, so that the drain's factors are not zero
    ("tess_drain", TESS(lr=0.05, timing="loihi", apply="step", drain=True), 50),
])
def test_fixed_point_loihi_mapping_learns_bit_for_bit_what_the_fused_fixed_model_learns(name, rule, active):
    """Two hidden layers + read-out, 8 samples of 50 steps (6 learning), in fixed point:
    every layer learns, and the weights of every layer, the hidden spikes at every step and
    the predictions are identical in both mappings."""
    rng = np.random.default_rng(0)
    frames, labels = _data(rng, 8, 50, active)
    fused = _run(rule, frames, labels, 6, "fused", "fixed")
    loihi = _run(rule, frames, labels, 6, "loihi", "fixed")
    for got, want, start in zip(loihi[0], fused[0], _start_mantissas(rule, frames, labels)):
        assert np.array_equal(got, np.round(got)), "the Loihi mapping's weights are integer mantissas"
        assert np.count_nonzero(got != start) >= 3, "every layer learns"
        np.testing.assert_array_equal(got, want)
    for got, want in zip(loihi[1], fused[1]):
        assert got.sum() > 0
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loihi[2], fused[2])


def _start_mantissas(rule, frames, labels):
    """The integer initial weights of every layer (the read-out last), in both mappings."""
    net = Network(N_IN, rule=rule, **NET)
    n = len(frames)
    _, layers, readout = net.build(frames, labels, np.arange(n), np.arange(n) < 6)
    return [np.asarray(p.proc_params["weights_fixed"], float) for p in (*layers, readout)]


def test_engine_factors_saturate_at_the_profile_limits():
    """y2, y3 at and beyond the profile's y_bits saturate to +-(2**y_bits - 1), with their
    sign, and never wrap, from the largest integer factors the neuron can form."""
    hw = load_profile("loihi2")
    limit = 2**hw.learning.y_bits - 1
    rng = np.random.default_rng(0)
    for rule in (TESS(lr=0.05), LLS(lr=0.05, signal=SignalParams(basis="square")), TESS(lr=50.0)):
        fixed, _ = quantize_dense_layer(np.ones((4, 3)), LIFParams(), Surrogate(), rule, 4)
        scale = engine_factor_scale(fixed)
        assert scale.limit == limit
        m_max = 2**16 - 1  # the signal's port width
        top = m_max * max(int(fixed.psi.table.max()), fixed.trace.max)
        factors = np.array([top, -top, 2**40, -(2**40), 0], np.int64)
        for mant, shift in ((scale.y2_mant, scale.y2_shift), (scale.y3_mant, scale.y3_shift)):
            y = engine_factor_fixed(factors, mant, shift, limit, rng)
            assert np.all(np.abs(y) <= limit)
            assert y[2] == limit and y[3] == -limit and y[4] == 0
            assert np.sign(y[0]) >= 0 and np.sign(y[1]) <= 0
    # a large learning rate pushes the largest factors to the limit itself
    fixed, _ = quantize_dense_layer(np.ones((4, 3)), LIFParams(), Surrogate(), TESS(lr=50.0), 4)
    scale = engine_factor_scale(fixed)
    y = engine_factor_fixed(np.array([2**24, -(2**24)]), scale.y3_mant, scale.y3_shift, limit, rng)
    np.testing.assert_array_equal(y, [limit, -limit])


def _engine_weights(dw: str, y: int, steps: int = 3):
    """One synapse of Lava's fixed-point LearningDense, its pre neuron spiking every step and
    y2 = y3 = ``y`` sent every step: the weight after each step."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer

    rule = Loihi3FLearningRule(dw=dw, x1_impulse=63, x1_tau=2, t_epoch=1)
    dense = LearningDense(weights=np.zeros((1, 1)), learning_rule=rule, num_weight_bits=9)
    sources = [RingBuffer(data=np.full((1, steps), v)) for v in (1, 0, 0, y, y)]
    ports = (dense.s_in, dense.s_in_bap, dense.s_in_y1, dense.s_in_y2, dense.s_in_y3)
    for source, port in zip(sources, ports):
        source.s_out.connect(port)
    weights, x1 = [], []
    try:
        for _ in range(steps):
            dense.run(condition=RunSteps(1), run_cfg=lava_local.run_config("fixed"))
            weights.append(int(dense.weights.get()[0, 0]))
            x1.append(int(dense.x1.get()[0]))
    finally:
        dense.stop()
    return weights, x1


def test_the_engine_scaling_engine_factor_scale_assumes():
    """Lava's fixed-point engine changes a weight by ``x0 y`` for ``-x0 y3`` and by
    ``x1 y >> 3`` for ``-u0 x1 y2`` (the 7 + 7 + 4 - 15 excess bits), as
    :func:`engine_factor_scale` assumes; y at the limit saturates the weight at the engine's
    range, never wrapping."""
    weights, _ = _engine_weights("-x0 * y3", -5)
    assert weights == [5, 10, 15]
    weights, x1 = _engine_weights("-u0 * x1 * y2", -4)
    steps = np.diff([0] + weights)
    expected = [v * 4 >> 3 for v in x1]
    assert all(abs(int(s) - e) <= 1 for s, e in zip(steps, expected)), (weights, x1)
    weights, _ = _engine_weights("-x0 * y3", -127, steps=4)
    assert weights[-1] == max(weights) > 127 and all(np.diff(weights) >= 0)
    weights, _ = _engine_weights("-x0 * y3", 127, steps=4)
    assert weights[-1] == min(weights) < -127 and all(np.diff(weights) <= 0)


def test_network_fit_in_fixed_point_in_both_mappings():
    """Network.fit(numeric="fixed", mapping=...): the user writes the network once; both
    mappings train and evaluate in fixed point (how close they learn: the test above)."""
    rule = LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square"))
    frames, labels = _data(np.random.default_rng(1), 6, 12, 12)
    start = Network(N_IN, rule=rule, **NET).weights
    learned = {}
    for mapping in ("fused", "loihi"):
        net = Network(N_IN, rule=rule, **NET)
        history = net.fit((frames[:4], labels[:4]), (frames[4:], labels[4:]), progress=False, mapping=mapping,
                          numeric="fixed")
        assert len(history.test_accuracy) == 1
        learned[mapping] = net.weights
    for got, want, init in zip(learned["loihi"], learned["fused"], start):
        assert got.shape == want.shape == init.shape
        assert np.all(np.isfinite(got)) and np.all(np.isfinite(want))

"""One network, two mappings: ``DenseLayer``'s fused leaf models and its sub-process model
built from Loihi 2 primitives (``LearningDense`` + ``TessPost`` + ``LearningSignal``),
chosen by the run configuration (``mapping="fused" | "loihi"``).

With ``rule.timing="loihi"`` and ``apply="step"`` the two learn the same weights, spike
alike and predict alike: to 1e-12 for a rule without a pre trace (LLS: every difference
is float rounding, Lava's float learning engine multiplies by ``Y_DECAY`` what
``TessPost`` divided by it), and for TESS on samples that end with 40 silent steps, where
the synapses' pre trace, which Loihi's learning engine cannot reset between samples,
has decayed to ``0.5**40`` of its last value (``PyDenseLayerLoihiModel``). Without the
silent tail the carried-over trace changes TESS's weights (pinned below).
"""
import numpy as np
import pytest

import lava_local
from lava_local.kernels.learning_signal import SignalParams
from lava_local.health import TrainingCollapse
from lava_local.network import Network
from lava_local.rules import LLS, TESS

pytestmark = pytest.mark.timeout(180)

N_IN, HIDDEN, C = 30, (16, 12), 4
NET = dict(hidden=HIDDEN, n_classes=C, init_scale=3.0, readout_lr=0.05, seed=3)


def _data(rng, n, steps, active, rate=0.3):
    frames = np.zeros((n, steps, N_IN), np.uint8)
    frames[:, :active] = rng.random((n, active, N_IN)) < rate
    return frames, rng.integers(0, C, n)


def _run(rule, frames, labels, n_train, mapping, numeric="float"):
    """Train on the first ``n_train`` samples, then play the rest without labels, recording
    every hidden layer's spikes; returns weights, spikes (one row per sample step) and
    predictions."""
    from lava.proc.monitor.process import Monitor

    net = Network(N_IN, rule=rule, **NET)
    schedule, learn = np.arange(len(frames)), np.arange(len(frames)) < n_train
    source, layers, readout = net.build(frames, labels, schedule, learn)
    total = frames.shape[0] * (frames.shape[1] + rule.drain_steps)  # with the drain's steps
    steps = total + net.latency + 1
    monitors = []
    for layer in layers:
        monitors.append(Monitor())
        monitors[-1].probe(layer.o, steps)
    try:
        lava_local.run(readout, steps, numeric=numeric, mapping=mapping, stop=False)
        weights = [np.asarray(layer.weights.get()) for layer in layers] + [np.asarray(readout.weights.get())]
        # row r: after time step r + 1; a layer's step n runs at offset + n (+1 in the Loihi mapping)
        first = [layer.proc_params["offset"] + (mapping == "loihi") for layer in layers]
        spikes = [np.asarray(m.get_data()[layer.name]["o"]).reshape(steps, -1)[f:f + total]
                  for m, layer, f in zip(monitors, layers, first)]
        predictions = np.asarray(readout.predictions.get())
        counts = [int(np.asarray(layer.spike_count.get())[0]) for layer in layers]
    finally:
        readout.stop()
    return weights, spikes, predictions, net, counts


@pytest.mark.parametrize("name, rule, active", [
    ("lls", LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square")), 50),
    ("tess", TESS(lr=0.05, timing="loihi", apply="step"), 10),
    ("lls_drain", LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square"), drain=True), 50),
])
def test_loihi_mapping_learns_what_the_fused_model_learns(name, rule, active, rng):
    """Two hidden layers + read-out, 8 samples of 50 steps (6 learning: 300 steps of
    learning, then 2 without labels): weights to 1e-12, spikes and predictions equal."""
    frames, labels = _data(rng, 8, 50, active)
    fused = _run(rule, frames, labels, 6, "fused")
    loihi = _run(rule, frames, labels, 6, "loihi")
    start = Network(N_IN, rule=rule, **NET).weights
    for got, want, init in zip(loihi[0], fused[0], start):
        assert np.abs(want - init).max() > 1e-2, "every layer must learn"
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    for got, want in zip(loihi[1], fused[1]):
        assert want.sum() > 0
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loihi[2], fused[2])
    # each layer's spike_count (the collapse check's): every spike recorded, in both mappings
    assert loihi[4] == fused[4] == [int(s.sum()) for s in fused[1]]


def test_tess_pre_trace_carries_over_samples_in_the_loihi_mapping(rng):
    """The one difference: without silent steps at the end of each sample, the synapses'
    pre trace x1 enters the next sample (the fused q starts from 0), and the weights differ."""
    rule = TESS(lr=0.05, timing="loihi", apply="step")
    frames, labels = _data(rng, 3, 20, 20)
    fused = _run(rule, frames, labels, 3, "fused")
    loihi = _run(rule, frames, labels, 3, "loihi")
    assert np.abs(loihi[0][0] - fused[0][0]).max() > 1e-6


def _compiled(mapping, numeric="float"):
    net = Network(N_IN, hidden=(8, 6), n_classes=C, rule=TESS(timing="loihi", apply="step"))
    frames = np.zeros((2, 5, N_IN), np.uint8)
    source, layers, readout = net.build(frames, np.array([0, 1]), np.arange(2), np.array([True, False]))
    readout.compile(lava_local.run_config(numeric, mapping=mapping))
    return layers, readout


def _assert_parts(layers, layer_model, dense_model, post_model, signal_model):
    """Each layer compiled to ``layer_model``, its parts to the given leaf models."""
    for layer in layers:
        assert layer.model_class is layer_model
        parts = {type(p).__name__: p.model_class.__name__ for p in layer.procs}
        assert parts == {"LearningDense": dense_model.__name__, "TessPost": post_model.__name__,
                         "LearningSignal": signal_model.__name__}


def test_the_run_configuration_chooses_the_mapping():
    """mapping="loihi": each DenseLayer is its sub-process model, whose compiled parts are
    Lava's LearningDense, TessPost and LearningSignal; "fused": the leaf model, no parts."""
    from lava.proc.dense.models import PyLearningDenseModelFloat

    from lava_local.proc.dense_layer.models import PyDenseLayerLoihiModel, PyDenseLayerModelFloat
    from lava_local.proc.learning_signal.models import PyLearningSignalModelFloat
    from lava_local.proc.tess_post.models import PyTessPostModelFloat

    layers, readout = _compiled("loihi")
    _assert_parts(layers, PyDenseLayerLoihiModel, PyLearningDenseModelFloat, PyTessPostModelFloat,
                  PyLearningSignalModelFloat)
    assert readout.model_class.__name__ == "PyReadoutModelFloat"
    layers, _ = _compiled("fused")
    for layer in layers:
        assert layer.model_class.__name__ == PyDenseLayerModelFloat.__name__
        assert len(list(layer.procs)) == 0


def test_run_config_mapping_and_hardware():
    from lava_local.proc.dense_layer import DenseLayer
    from lava_local.proc.dense_layer.models import PyDenseLayerLoihiModel

    cfg = lava_local.run_config("float", mapping="loihi")
    assert cfg.select_tag == "floating_pt"
    assert cfg.exception_proc_model_map == {DenseLayer: PyDenseLayerLoihiModel}
    assert lava_local.run_config("float").exception_proc_model_map == {}
    assert "loihi" in PyDenseLayerLoihiModel.tags
    with pytest.raises(ValueError, match="mapping must be one of"):
        lava_local.run_config("float", mapping="chip")
    from lava_local.proc.dense_layer.models import PyDenseLayerLoihiModelFixed

    fixed = lava_local.run_config("fixed", mapping="loihi")  # every part has a fixed-point model
    assert fixed.select_tag == "fixed_pt"
    assert fixed.exception_proc_model_map == {DenseLayer: PyDenseLayerLoihiModelFixed}
    with pytest.raises(ValueError, match="hardware=True runs the Loihi mapping"):
        lava_local.run_config("float", hardware=True, mapping="fused")
    hw = lava_local.run_config("float", hardware=True)  # hardware implies the Loihi mapping
    assert type(hw).__name__ == "Loihi2HwCfg" and hw.select_tag == "floating_pt"
    assert set(hw.exception_proc_model_map) == {DenseLayer}


def test_loihi_mapping_needs_the_loihi_timing_and_step_updates(rng):
    frames, labels = _data(rng, 4, 5, 5)
    for rule, message in ((TESS(apply="step"), "timing='loihi'"), (TESS(timing="loihi"), "apply='step'")):
        net = Network(N_IN, rule=rule, **NET)
        with pytest.raises(ValueError, match=message):
            net.fit((frames[:2], labels[:2]), (frames[2:], labels[2:]), progress=False, mapping="loihi")
    with pytest.raises(ValueError, match="mapping must be one of"):
        Network(N_IN, **NET).predict(frames, mapping="chip")


def test_network_fit_and_record_in_both_mappings(rng):
    """Network.fit / record with mapping=: the user writes the network once."""
    rule = LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square"))
    frames, labels = _data(rng, 6, 12, 12)
    nets, histories, spikes = {}, {}, {}
    for mapping in ("fused", "loihi"):
        nets[mapping] = Network(N_IN, rule=rule, **NET)
        histories[mapping] = nets[mapping].fit((frames[:4], labels[:4]), (frames[4:], labels[4:]), progress=False,
                                               mapping=mapping)
        spikes[mapping] = nets[mapping].record(frames[0], mapping=mapping)
    for got, want in zip(nets["loihi"].weights, nets["fused"].weights):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert histories["loihi"].test_accuracy == histories["fused"].test_accuracy
    for got, want in zip(spikes["loihi"], spikes["fused"]):
        assert want.shape == (12, got.shape[1]) and want.sum() > 0
        np.testing.assert_array_equal(got, want)


def test_loihi_mapping_stops_when_hidden_weights_explode(rng):
    """The Loihi mapping's hidden layers write no snapshot: at each epoch's end their
    weights are read from the paused runtime, so a learning step of 1000 on the unscaled
    square basis (the first layer's norm over 100 times its start within the first epoch)
    stops fit with the reason; at a step of 1e-3 the same network trains on."""
    frames, labels = _data(rng, 20, 20, 20)
    train, test = (frames[:16], labels[:16]), (frames[16:], labels[16:])
    rule = TESS(signal=SignalParams(basis="square"), lr=1000.0, timing="loihi", apply="step")
    net = Network(N_IN, hidden=(16,), n_classes=C, rule=rule, seed=0)
    with pytest.raises(TrainingCollapse, match="^epoch 1: hidden layer 0's weights exploded"):
        net.fit(train, test, epochs=3, progress=False, mapping="loihi")
    calm = Network(N_IN, hidden=(16,), n_classes=C, rule=rule.with_(lr=1e-3), seed=0)
    history = calm.fit(train, test, epochs=2, progress=False, mapping="loihi")
    assert len(history.test_accuracy) == 2


def test_loihi_mapping_stops_when_a_hidden_layer_saturates(rng):
    """The Loihi mapping's spike count over the steps run since the last check: hidden
    weights all positive and 5 times their drawn size make the first layer fire at nearly
    every step, and fit stops in the first epoch with the reason."""
    frames, labels = _data(rng, 12, 10, 10)
    train, test = (frames[:8], labels[:8]), (frames[8:], labels[8:])
    rule = TESS(signal=SignalParams(basis="square"), lr=1e-3, timing="loihi", apply="step")
    net = Network(N_IN, hidden=(16, 8), n_classes=C, rule=rule, seed=0)
    net.weights[0] = np.abs(net.weights[0]) * 5.0
    with pytest.raises(TrainingCollapse, match="^epoch 1: hidden layer 0 saturated"):
        net.fit(train, test, epochs=3, progress=False, mapping="loihi")


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_loihi_mapping_stops_when_a_hidden_layer_falls_silent(numeric, rng):
    """The Loihi mapping's neurons count their spikes in a Var that fit reads at each
    epoch's end: weights too small to reach threshold leave the first layer silent, and
    fit stops in the first epoch with the reason; frozen (only the read-out learns), the
    same network is no collapse."""
    frames, labels = _data(rng, 12, 10, 10)
    train, test = (frames[:8], labels[:8]), (frames[8:], labels[8:])
    rule = TESS(signal=SignalParams(basis="square"), lr=1e-3, timing="loihi", apply="step")
    net = Network(N_IN, hidden=(16, 8), n_classes=C, rule=rule, init_scale=0.001, seed=0)
    with pytest.raises(TrainingCollapse, match="^epoch 1: hidden layer 0 fell silent"):
        net.fit(train, test, epochs=3, numeric=numeric, progress=False, mapping="loihi")
    frozen = Network(N_IN, hidden=(16, 8), n_classes=C, rule=rule, init_scale=0.001, seed=0, frozen=True)
    history = frozen.fit(train, test, epochs=1, numeric=numeric, progress=False, mapping="loihi")
    assert len(history.test_accuracy) == 1

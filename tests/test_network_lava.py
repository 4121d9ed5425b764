"""The Lava network (float and fixed-point) computes exactly what the kernels compute,
learns locally, and rejects bad input before Lava starts."""
import numpy as np
import pytest

from lava_local.kernels import LIFParams
from lava_local.kernels.learning_signal import SignalParams
from lava_local.network import Network
from lava_local.health import TrainingCollapse
from lava_local.reference import reference_run
from lava_local.rules import LLS, STLLR, TESS

pytestmark = pytest.mark.timeout(120)


def _data(rng, n=14, steps=8, n_in=40, rate=0.25):
    frames = (rng.random((n, steps, n_in)) < rate).astype(np.uint8)
    labels = rng.integers(0, 10, size=n)
    return frames, labels


#: every rule and option the Lava network runs, each with the read-out's random start
REFERENCE_RULES = {
    "tess": TESS(lr=0.05), "stllr": STLLR.cifar10_dvs(lr=0.05), "lls": LLS(signal=TESS().signal, lr=0.05),
    "tess-online": TESS(lr=0.05, apply="step"), "tess-clipped": TESS(lr=0.05, signal=SignalParams(error="clipped")),
    "tess-pwl-softmax": TESS(lr=0.05, signal=SignalParams(error="pwl_softmax")),
    "tess-loihi-timing": TESS(lr=0.05, timing="loihi"), "tess-loihi-drain": TESS(lr=0.05, timing="loihi", drain=True),
    "tess-rate-scale": TESS(lr=0.05, signal=SignalParams(scale="rate")),
    "tess-split-basis": TESS(lr=0.05, signal=SignalParams(basis="square_split", scale="1/sqrt(d)")),
}


@pytest.mark.parametrize("numeric", ["float", "fixed"])
@pytest.mark.parametrize("rule, readout_init, readout_learns",
                         [pytest.param(rule, "random", True, id=name) for name, rule in REFERENCE_RULES.items()]
                         + [pytest.param(TESS(lr=0.05), "basis", True, id="tess-basis-readout"),
                            pytest.param(TESS(lr=0.05), "basis", False, id="tess-fixed-readout")])
def test_lava_network_equals_kernel_reference(rule, readout_init, readout_learns, numeric, rng):
    trained, start = _fit_equals_reference(rule, readout_init, readout_learns, numeric, rng)
    _assert_learned(trained, start, readout_learns, numeric)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
@pytest.mark.parametrize("readout_learns", [True, False], ids=["learned-readout", "fixed-readout"])
@pytest.mark.parametrize("filtered", [True, "last"], ids=["every-layer", "last-layer"])
def test_lava_network_with_the_filtered_eligibility_equals_kernel_reference(filtered, readout_learns, numeric, rng):
    """``TESS(filtered=True)``: the layers keep one filtered eligibility per synapse and
    read their spikes filtered by the read-out's leak; ``filtered="last"``: the last hidden
    layer does, the first keeps TESS's traces."""
    trained, start = _fit_equals_reference(TESS(lr=0.05, filtered=filtered), "basis", readout_learns, numeric,
                                           rng)
    _assert_learned(trained, start, readout_learns, numeric)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_lava_network_with_the_sum_filter_equals_kernel_reference(numeric):
    """``filtered_gain``: TESS's default, the unit gain, is the test above; the read-out's sum
    (``"sum"``, S-TLLR's and LLS's default) runs as the reference too. The float model scales
    what enters the eligibility by the rule's gain, the fixed-point one its learning rate (the
    layer's quantisation, which reference and model share). In float the learned last layer
    differs between the two gains, so the gain reaches the model."""
    rule = TESS(lr=0.05, filtered="last")
    assert rule.filtered_gain == "unit"
    trained, start = _fit_equals_reference(rule.with_(filtered_gain="sum"), "basis", True, numeric,
                                           np.random.default_rng(7))
    _assert_learned(trained, start, True, numeric)
    if numeric == "float":
        frames, labels = _data(np.random.default_rng(7))  # the same samples
        net = Network(40, hidden=(16, 12), rule=rule, init_scale=3.0, readout_lr=0.05, readout_init="basis", seed=3)
        _, unit, _ = reference_run(net, frames, labels, *net.schedule(10, 4, 2), "float")
        assert np.abs(unit[1] - trained[1]).max() > 1e-3


def _fit_equals_reference(rule, readout_init, readout_learns, numeric, rng):
    """Two epochs of ``Network.fit`` in Lava; asserts they equal :func:`reference_run` (test
    accuracies, and the weights bit for bit). Returns the trained and the initial weights."""
    frames, labels = _data(rng)
    train, test = (frames[:10], labels[:10]), (frames[10:], labels[10:])
    kwargs = dict(hidden=(16, 12), rule=rule, init_scale=3.0, readout_lr=0.05, readout_init=readout_init,
                  readout_learns=readout_learns, seed=3)
    net = Network(40, **kwargs)
    start = [w.copy() for w in net.weights]
    ref_net = Network(40, **kwargs)
    history = net.fit(train, test, epochs=2, numeric=numeric, progress=False)
    ref_net.calibrate_signal(train[0])  # a scale="rate" signal's rates, as fit measures them (else nothing)
    schedule, learn = ref_net.schedule(10, 4, 2)
    preds, weights, _ = reference_run(ref_net, frames, labels, schedule, learn, numeric)
    expected_test = [np.mean(preds[e * 14 + 10:(e + 1) * 14] == labels[schedule[e * 14 + 10:(e + 1) * 14]])
                     for e in range(2)]
    assert history.test_accuracy == pytest.approx(expected_test)
    if numeric == "fixed":
        # the network hands back float weights: mantissa * 2**exp / scale
        from lava_local.fixed_point import quantize_dense_layer, quantize_readout

        exps = [quantize_dense_layer(w, ref_net.neuron, ref_net.surrogate, ref_net.layer_rule(i), w.shape[0])[0]
                .weight_exp for i, w in enumerate(start[:-1])]
        exps.append(quantize_readout(start[-1], 0.5, 0.05)[0].weight_exp)
        weights = [w * 2.0**e / 1024 for w, e in zip(weights, exps)]
    for got, want in zip(net.weights, weights):
        np.testing.assert_array_equal(got, want)
    return net.weights, start


@pytest.mark.parametrize("steps", [1, 10, 40, 100])
def test_a_rate_not_given_is_a_step_per_sample_over_the_samples_time_steps(steps):
    """``lr=None`` (the rules' and the read-out's default) becomes 1e-2 / T per time step in
    the processes built for T-step samples; a rate given is a step per time step and stays."""
    from lava_local.proc.conv_layer import ConvLayer
    from lava_local.proc.dense_layer import DenseLayer
    from lava_local.proc.readout import Readout

    for rule in (TESS(), STLLR(), LLS()):
        assert rule.lr is None and rule.for_steps(steps).lr == 1e-2 / steps
    assert TESS(lr=3e-4).for_steps(steps).lr == 3e-4 and STLLR.shd().for_steps(steps).lr == 2e-4
    rule = TESS().for_classes(4)
    dense = DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=steps, rule=rule)
    conv = ConvLayer(weights=np.zeros((2, 1, 3, 3)), in_shape=(1, 6, 6), steps_per_sample=steps, rule=rule)
    assert dense.proc_params["rule"].lr == conv.proc_params["rule"].lr == 1e-2 / steps
    assert DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=steps,
                      rule=rule.with_(lr=3e-4)).proc_params["rule"].lr == 3e-4
    assert Readout(weights=np.zeros((4, 8)), steps_per_sample=steps, n_samples=1).proc_params["lr"] == 1e-2 / steps
    assert Readout(weights=np.zeros((4, 8)), steps_per_sample=steps, n_samples=1, lr=5e-3).proc_params["lr"] == 5e-3
    net = Network(6, hidden=(8,), n_classes=4)
    assert (net.rule_for(steps).lr, net.readout_lr_for(steps)) == (1e-2 / steps, 1e-2 / steps)
    net = Network(6, hidden=(8,), n_classes=4, rule=TESS(lr=3e-4), readout_lr=5e-3)
    assert (net.rule_for(steps).lr, net.readout_lr_for(steps)) == (3e-4, 5e-3)
    with pytest.raises(ValueError, match="steps"):
        TESS().for_steps(0)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_default_steps_are_a_step_per_sample_spread_over_its_time_steps(numeric, rng):
    """At its default rates (``rule.lr=None``, ``readout_lr=None``) the Lava network on
    20-step samples learns exactly as one given 1e-2 / 20 per time step, rule and read-out,
    written out (the reference run of that network); the per-step rate of N-MNIST's T = 10
    (1e-3) ends elsewhere."""
    frames, labels = _data(rng, n=10, steps=20)
    train, test = (frames[:8], labels[:8]), (frames[8:], labels[8:])
    common = dict(hidden=(16,), init_scale=3.0, readout_init="random", seed=3)
    net = Network(40, rule=TESS(), **common)
    assert (net.rule.lr, net.readout_lr) == (None, None)
    start = [w.copy() for w in net.weights]
    net.fit(train, test, epochs=1, numeric=numeric, progress=False)
    schedule, learn = net.schedule(8, 2, 1)
    weights = {}
    for name, lr, readout_lr in (("written out", 1e-2 / 20, 1e-2 / 20), ("T = 10's", 1e-3, 1e-3)):
        explicit = Network(40, rule=TESS(lr=lr), readout_lr=readout_lr, **common)
        weights[name] = reference_run(explicit, frames, labels, schedule, learn, numeric)[1]
    if numeric == "fixed":  # the network hands back float weights: mantissa * 2**exp / scale
        from lava_local.fixed_point import quantize_dense_layer, quantize_readout

        exps = [quantize_dense_layer(start[0], net.neuron, net.surrogate, net.rule_for(20), 16)[0].weight_exp,
                quantize_readout(start[1], net.readout_gamma, net.readout_lr_for(20))[0].weight_exp]
        weights = {k: [w * 2.0**e / 1024 for w, e in zip(v, exps)] for k, v in weights.items()}
    for got, want, other in zip(net.weights, weights["written out"], weights["T = 10's"]):
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got, other)


def _assert_learned(trained, start, readout_learns: bool, numeric: str) -> None:
    """Every hidden layer moved; the read-out moved if it learns, else kept its start."""
    for got, init in zip(trained[:-1], start[:-1]):
        assert not np.array_equal(got, init), "the test must train every hidden layer"
    if readout_learns:
        assert not np.array_equal(trained[-1], start[-1]), "the test must train the read-out"
    elif numeric == "float":  # the fixed model hands back its start quantised
        np.testing.assert_array_equal(trained[-1], start[-1])


def test_tess_layer_update_is_local(rng):
    """With its input spikes fixed, a TESS layer's update ignores everything downstream.

    Two runs share the first hidden layer's weights and the data, and differ in the second
    hidden layer's and the read-out's weights (so everything after layer 0 spikes and learns
    differently). Layer 0 must end bit-for-bit identical; layer 1 must not; and layer 0 must
    have learned (a rule that never updates layer 0 would pass the first check).
    """
    frames, labels = _data(rng, n=10)
    data = (frames[:8], labels[:8]), (frames[8:], labels[8:])
    a = Network(40, hidden=(16, 12), rule=TESS(lr=0.05), init_scale=3.0, seed=5)
    b = Network(40, hidden=(16, 12), rule=TESS(lr=0.05), init_scale=3.0, seed=5)
    b.weights[1] = np.random.default_rng(99).normal(0, 1.5, size=b.weights[1].shape)
    b.weights[2] = -3 * b.weights[2]
    first_before = a.weights[0].copy()
    a.fit(*data, epochs=1, progress=False)
    b.fit(*data, epochs=1, progress=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[1], b.weights[1])
    assert not np.array_equal(a.weights[0], first_before), "the first hidden layer must learn"


def test_frozen_control_keeps_hidden_weights(rng):
    frames, labels = _data(rng, n=8)
    net = Network(40, hidden=(16,), frozen=True, seed=1)
    hidden = net.weights[0].copy()
    readout = net.weights[1].copy()
    net.fit((frames[:6], labels[:6]), (frames[6:], labels[6:]), epochs=1, progress=False)
    np.testing.assert_array_equal(net.weights[0], hidden)
    assert not np.array_equal(net.weights[1], readout)


@pytest.mark.parametrize("change, error, message", [
    (lambda f, l: (f, l + 10), ValueError, r"labels must be integers in \[0, 10\)"),
    (lambda f, l: (f[:, :, :30], l), ValueError, "frames must have shape"),
    (lambda f, l: (f, l[:-1]), ValueError, "labels must have shape"),
    (lambda f, l: (f, np.where(np.arange(len(l)) == 4, -1, l)), ValueError,
     r"train labels must be integers in \[0, 10\); sample 4 has label -1"),
    (lambda f, l: (np.where(np.arange(f.size).reshape(f.shape) == 3 * 320 + 5, np.nan, f), l), ValueError,
     r"train frames hold 1 NaN or infinite value\(s\), the first in sample 3"),
    (lambda f, l: (f[:0], l[:0]), ValueError, r"train holds no samples: frames of shape \(0, 8, 40\)"),
])
def test_bad_data_is_rejected_before_lava_starts(change, error, message, rng):
    frames, labels = _data(rng, n=6)
    net = Network(40, hidden=(8,))
    with pytest.raises(error, match=message):
        net.fit(change(frames, labels), (frames, labels), progress=False)


def test_layer_rejects_basis_of_the_wrong_size():
    from lava_local.proc.dense_layer import DenseLayer

    with pytest.raises(ValueError, match=r"basis has shape \(10, 7\), expected"):
        DenseLayer(weights=np.zeros((8, 4)), steps_per_sample=5, basis=np.ones((10, 7)), rule=TESS().for_classes(10))
    with pytest.raises(ValueError, match="rule has no class count: give it with rule.for_classes"):
        DenseLayer(weights=np.zeros((8, 4)), steps_per_sample=5)
    with pytest.raises(ValueError, match="DFA"):
        DenseLayer(weights=np.zeros((8, 4)), steps_per_sample=5, rule=STLLR(feedback="dfa"))


def test_source_rejects_labels_outside_the_classes():
    from lava_local.proc.source import SpikeDataSource

    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\)"):
        SpikeDataSource(frames=np.zeros((2, 3, 4)), labels=np.array([0, 10]), n_classes=10)
    with pytest.raises(ValueError, match="values 0 or 1"):
        SpikeDataSource(frames=np.full((2, 3, 4), 2.0), labels=np.array([0, 1]), n_classes=10)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_lava_conv_network_equals_kernel_reference(numeric, rng):
    from lava_local.network import Conv

    frames = (rng.random((8, 6, 2 * 8 * 8)) < 0.2).astype(np.uint8)
    labels = rng.integers(0, 10, size=8)
    kwargs = dict(hidden=(Conv(4, kernel=3, stride=1, padding=1, pool=2), Conv(6, kernel=3, stride=2, padding=1, pool=2), 10),
                  rule=TESS(lr=0.05), init_scale=3.0, readout_lr=0.05, seed=2)
    net = Network((2, 8, 8), **kwargs)
    ref = Network((2, 8, 8), **kwargs)
    start = [w.copy() for w in net.weights]
    net.fit((frames[:6], labels[:6]), (frames[6:], labels[6:]), epochs=1, numeric=numeric, progress=False)
    schedule, learn = ref.schedule(6, 2, 1)
    _, weights, _ = reference_run(ref, frames, labels, schedule, learn, numeric)
    if numeric == "fixed":
        from lava_local.fixed_point import quantize_conv_layer, quantize_dense_layer, quantize_readout

        exps = [quantize_conv_layer(w, g, ref.neuron, ref.surrogate, ref.rule)[0].weight_exp if g is not None else
                quantize_dense_layer(w, ref.neuron, ref.surrogate, ref.rule, w.shape[0])[0].weight_exp
                for g, w in zip(ref.geometries, start[:-1])]
        exps.append(quantize_readout(start[-1], 0.5, 0.05)[0].weight_exp)
        weights = [w * 2.0**e / 1024 for w, e in zip(weights, exps)]
    for got, want, init in zip(net.weights, weights, start):
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got, init)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_fit_stops_when_a_layer_falls_silent(numeric, rng):
    """Weights too small to ever reach threshold: the first hidden layer sends no spike in
    the first epoch, and fit stops there with the reason (the runtime stopped) instead of
    training on; the same network frozen (only the read-out learns) is no collapse."""
    frames, labels = _data(rng, n=12, steps=10, n_in=30)
    train, test = (frames[:8], labels[:8]), (frames[8:], labels[8:])
    net = Network(30, hidden=(16, 8), n_classes=10, rule=TESS(lr=0.05), init_scale=0.01, seed=0)
    with pytest.raises(TrainingCollapse, match="^epoch 1: hidden layer 0 fell silent"):
        net.fit(train, test, epochs=3, numeric=numeric, progress=False)
    frozen = Network(30, hidden=(16, 8), n_classes=10, rule=TESS(lr=0.05), init_scale=0.01, seed=0, frozen=True)
    history = frozen.fit(train, test, epochs=1, numeric=numeric, progress=False)
    assert len(history.test_accuracy) == 1


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_fit_stops_when_a_layer_saturates(numeric, rng):
    """Hidden weights all positive and 5 times their drawn size: the first hidden layer
    fires at nearly every step of the first epoch (its spike count over the epoch's neuron
    steps, test samples and drain steps included, is at least 0.95), and fit stops there
    with the reason; the same network frozen is no collapse."""
    frames, labels = _data(rng, n=12, steps=10, n_in=30)
    train, test = (frames[:8], labels[:8]), (frames[8:], labels[8:])

    def saturated(frozen: bool) -> Network:
        net = Network(30, hidden=(16, 8), n_classes=10, rule=TESS(lr=0.05), seed=0, frozen=frozen)
        net.weights[0] = np.abs(net.weights[0]) * 5.0
        return net

    with pytest.raises(TrainingCollapse, match=r"^epoch 1: hidden layer 0 saturated: its neurons fired at (0\.9[5-9]\d|1\.000) of"):
        saturated(False).fit(train, test, epochs=3, numeric=numeric, progress=False)
    history = saturated(True).fit(train, test, epochs=1, numeric=numeric, progress=False)
    assert len(history.test_accuracy) == 1


def test_fit_stops_when_weights_explode(rng):
    """LLS with its basis unscaled and an SGD step of 1000 drives the hidden weights
    past 100 times their initial norm in the first epoch; at the rule's default rate the
    same network trains on."""
    frames, labels = _data(rng, n=20, steps=20, n_in=30)
    train, test = (frames[:16], labels[:16]), (frames[16:], labels[16:])
    rule = LLS(signal=SignalParams(basis="sine"), lr=1000.0)
    with pytest.raises(TrainingCollapse, match="^epoch 1: hidden layer 0's weights exploded"):
        Network(30, hidden=(16,), n_classes=10, rule=rule, seed=0).fit(train, test, epochs=3, progress=False)
    history = Network(30, hidden=(16,), n_classes=10, rule=rule.with_(lr=1e-3), seed=0).fit(
        train, test, epochs=2, progress=False)
    assert len(history.test_accuracy) == 2


def test_fit_times_every_epoch_when_the_run_segments_do_not_divide_it(rng):
    """61 samples an epoch, run in segments of 50 samples: every epoch ends inside a segment
    and still gets its time, and the times add up to no more than the whole fit."""
    import time

    frames, labels = _data(rng, n=61, steps=4, n_in=20)
    train, test = (frames[:55], labels[:55]), (frames[55:], labels[55:])
    start = time.perf_counter()
    history = Network(20, hidden=(8,), n_classes=10, rule=TESS(lr=0.05), seed=0).fit(
        train, test, epochs=3, progress=False)
    wall = time.perf_counter() - start
    assert len(history.epoch_seconds) == 3
    assert all(s > 0 for s in history.epoch_seconds)
    assert sum(history.epoch_seconds) <= wall


@pytest.mark.timeout(120)
def test_a_network_without_a_fixed_point_form_runs_in_float_and_says_so_in_fixed_point(rng, monkeypatch):
    """Weights beyond the profile's range (as a long float run can grow them) or a
    non-integer alpha have no fixed-point form: the float network runs all the same; a
    fixed-point run stops before Lava starts, naming the process, and the fixed models
    themselves report it (not a hang) where a run reaches them."""
    from dataclasses import replace

    import lava_local.proc.base

    frames, labels = _data(rng, n=6)
    data = (frames, labels)
    wide = Network(40, hidden=(16,), seed=1)
    wide.weights[0][0, 0] = 60.0  # beyond 8-bit mantissas with exponents up to 7 at scale 1024
    rule = TESS(lr=0.05)
    half = Network(40, hidden=(16,), rule=rule.with_(eligibility=replace(rule.eligibility, alpha_post=-0.5)), seed=1)
    for net, why in ((wide, "do not fit 8-bit weights"), (half, "integer alphas")):
        start = [w.copy() for w in net.weights]
        history = net.fit(data, data, epochs=1, numeric="float", progress=False)
        assert len(history.test_accuracy) == 1 and not np.array_equal(net.weights[0], start[0])
        with pytest.raises(ValueError, match=f"hidden0 has no fixed-point form: .*{why}"):
            net.fit(data, data, epochs=1, numeric="fixed", progress=False)
    monkeypatch.setattr(lava_local.proc.base, "check_fixed_point", lambda processes: None)  # as if a run got there
    with pytest.raises(Exception, match="no fixed-point form: .*do not fit 8-bit weights"):
        wide.fit(data, data, epochs=1, numeric="fixed", progress=False)

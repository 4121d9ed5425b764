"""A local signal whose basis scale is set from each layer's firing rate (``scale="rate"``).

The scale is ``k / sqrt(d r)`` (``lava_local.kernels.learning_signal``), ``r`` measured once on
training samples before learning. Checked here: the formula written out, the rates against
the spikes the Lava network itself records, the trainer's count against the NumPy layer
steps', that the rates stay fixed while training, travel with checkpoints and NIR files, and
that learning without them says what to do. That the trainer and the Lava network learn the
same with it is in tests/test_trainer.py and tests/test_network_lava.py (``tess-rate-scale``).
"""
import math

import numpy as np
import pytest

from lava_local.kernels.basis import make_basis
from lava_local.kernels.learning_signal import RATE_FLOOR, SignalParams
from lava_local.network import CALIBRATION_SAMPLES, Network, Recurrent, calibration_samples
from lava_local.rules import LLS, TESS

pytestmark = pytest.mark.timeout(180)

RATE_TESS = TESS(signal=SignalParams(scale="rate"))


def _torch():
    """torch, or a skip on a core install (the trainer's tests; the rest run without it)."""
    return pytest.importorskip("torch")


def _trainer(net, **kwargs):
    torch = _torch()
    from lava_local.trainer import LocalTrainer

    return LocalTrainer(net, device="cpu", dtype=kwargs.pop("dtype", torch.float64), **kwargs)


def _data(rng, n=12, steps=8, n_in=30, rate=0.25, classes=3):
    return (rng.random((n, steps, n_in)) < rate).astype(np.uint8), rng.integers(0, classes, size=n)


@pytest.mark.parametrize("gain, size, rate", [(2.0, 256, 0.07), (1.0, 128, 0.5), (3.0, 10, 1.0)])
def test_the_rate_scale_is_gain_over_sqrt_of_size_times_rate(gain, size, rate):
    signal = SignalParams(scale="rate", rate_gain=gain).for_rate(size, rate)
    assert signal.basis_scale(size) == pytest.approx(gain / math.sqrt(size * rate), rel=1e-12)
    assert signal.rate_gain == gain and signal.basis == "square"


def test_a_silent_layer_gets_the_floor_and_other_scales_ignore_the_rate():
    assert SignalParams(scale="rate").for_rate(100, 0.0).basis_scale(100) == pytest.approx(
        2.0 / math.sqrt(100 * RATE_FLOOR))
    for scale in (None, "1/d", "1/sqrt(d)", 0.3):
        signal = SignalParams(scale=scale)
        assert signal.for_rate(64, 0.01) is signal
    rule = TESS()
    assert rule.for_rate(64, 0.01) is rule
    assert RATE_TESS.for_rate(64, 0.25).signal.scale == pytest.approx(2.0 / math.sqrt(64 * 0.25))


@pytest.mark.parametrize("make, message", [
    (lambda: SignalParams(scale="rate").basis_scale(10), "calibrate_signal"),
    (lambda: SignalParams(scale="rate").for_rate(10, 1.5), "in \\[0, 1\\]"),
    (lambda: SignalParams(scale="rate", rate_gain=0.0), "rate_gain"),
    (lambda: SignalParams(scale="rates"), "scale"),
])
def test_bad_rate_settings_are_refused_with_a_reason(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_calibration_samples_spread_over_the_set():
    frames = np.arange(1000)
    picked = calibration_samples(frames)
    assert len(picked) == CALIBRATION_SAMPLES and picked[0] == 0 and picked[-1] == 999
    assert np.all(np.diff(picked) >= 15)  # evenly spread: a set sorted by class gives every class its share
    np.testing.assert_array_equal(calibration_samples(np.arange(5)), np.arange(5))


def test_the_rates_are_the_spikes_the_lava_network_records(rng):
    """Spikes per neuron and step of each hidden layer, counted from ``Network.record`` (the
    Lava float network with monitors), one sample at a time."""
    frames, _ = _data(rng, n=4)
    net = Network(30, hidden=(20, 12), n_classes=3, rule=RATE_TESS, init_scale=3.0, seed=1)
    rates = net.calibrate_signal(frames)
    recorded = [net.record(f) for f in frames]
    for i, n in enumerate((20, 12)):
        spikes = sum(float(r[i].sum()) for r in recorded)
        assert rates[i] == pytest.approx(spikes / (len(frames) * frames.shape[1] * n), rel=1e-12)
    assert 0 < rates[1] < 1
    d = net.signal_sizes
    assert [net.layer_rule(i).signal.scale for i in range(2)] == pytest.approx(
        [2.0 / math.sqrt(d[i] * rates[i]) for i in range(2)])


def test_the_trainer_counts_the_same_rates_and_keeps_them_while_learning(rng):
    frames, labels = _data(rng, n=80)
    make = lambda: Network(30, hidden=(24, 16), n_classes=3, rule=RATE_TESS, init_scale=3.0, seed=2)  # noqa: E731
    numpy_net, net = make(), make()
    expected = numpy_net.calibrate_signal(frames)  # the NumPy layer steps, on the same 64 samples
    trainer = _trainer(net, optimizer="adam", lr=1e-2)
    assert net.signal_rates is None
    trainer.fit_epoch(frames, labels, batch_size=8, generator=np.random.default_rng(0))
    np.testing.assert_allclose(net.signal_rates, expected, rtol=1e-12)
    for basis, signal_basis, d, r in zip(trainer.bases, trainer.signal_bases, net.signal_sizes, expected):
        np.testing.assert_allclose(signal_basis.numpy(), basis.numpy() * 2.0 / math.sqrt(d * r), rtol=1e-12)
    trainer.fit_epoch(frames, labels, batch_size=8, generator=np.random.default_rng(1))
    trainer.sync_to_network()
    assert not np.allclose(trainer.firing_rates(calibration_samples(frames)), expected, rtol=1e-3), \
        "the weights moved the rates"
    assert net.signal_rates == expected  # the scale stays where it was set


def test_a_recurrent_network_is_calibrated_by_the_trainer(rng):
    """Only the trainer runs recurrent layers; its own count sets their scale."""
    frames, labels = _data(rng, n=10)
    make = lambda: Network(30, hidden=(Recurrent(20),), n_classes=3, rule=RATE_TESS, init_scale=3.0, seed=3)  # noqa: E731
    net, untrained = make(), make()
    trainer = _trainer(net)
    trainer.fit_epoch(frames, labels, batch_size=5)
    # the rates of the untrained network (the recurrent step is checked against its own
    # written-out form in tests/test_trainer.py)
    expected = _trainer(untrained).firing_rates(calibration_samples(frames))
    assert net.signal_rates == pytest.approx(expected, rel=1e-12)
    assert 0 < net.signal_rates[0] < 1
    with pytest.raises(ValueError, match="Recurrent"):
        Network(30, hidden=(Recurrent(20),), n_classes=3, rule=RATE_TESS).calibrate_signal(frames)


def test_learning_without_the_rates_says_how_to_measure_them(rng):
    frames, labels = _data(rng)
    net = Network(30, hidden=(16,), n_classes=3, rule=RATE_TESS)
    trainer = _trainer(net)
    torch = _torch()
    trainer.evaluate(frames, labels)  # predicting needs no signal
    with pytest.raises(ValueError, match="calibrate_signal"):
        trainer.train_step(torch.as_tensor(frames[:2], dtype=torch.float64), torch.as_tensor(labels[:2]))
    from lava_local.quantization_report import quantize_network

    with pytest.raises(ValueError, match="calibrate_signal"):
        quantize_network(net, steps_per_sample=8)
    with pytest.raises(ValueError, match="one rate per hidden layer"):
        net.calibrate_signal(frames, rates=[0.1, 0.2])
    frozen = Network(30, hidden=(16,), n_classes=3, rule=RATE_TESS, frozen=True)
    _trainer(frozen).fit_epoch(frames, labels, batch_size=4)
    assert frozen.signal_rates is None  # no hidden layer learns: nothing to measure


def test_lls_with_the_rate_scale_learns_in_the_trainer(rng):
    frames, labels = _data(rng, n=24)
    net = Network(30, hidden=(16,), n_classes=3, rule=LLS(signal=SignalParams(basis="sine", scale="rate")),
                  init_scale=3.0)
    start = net.weights[0].copy()
    trainer = _trainer(net)
    trainer.fit_epoch(frames, labels, batch_size=4)
    trainer.sync_to_network()
    assert not np.allclose(net.weights[0], start)
    basis = make_basis("sine", 3, 16)
    np.testing.assert_allclose(trainer.signal_bases[0].numpy(),
                               basis * 2.0 / math.sqrt(16 * net.signal_rates[0]), rtol=1e-12)


def test_the_rates_travel_with_a_checkpoint(rng, tmp_path):
    _torch()
    from lava_local.trainer.checkpoint import load_checkpoint, save_checkpoint

    frames, labels = _data(rng, n=16)
    net = Network(30, hidden=(16,), n_classes=3, rule=RATE_TESS, init_scale=3.0)
    trainer = _trainer(net)
    trainer.fit_epoch(frames, labels, batch_size=4)
    torch = _torch()
    save_checkpoint(tmp_path / "ckpt.pt", trainer, epoch=1)
    fresh_net = Network(30, hidden=(16,), n_classes=3, rule=RATE_TESS, init_scale=3.0)
    fresh = _trainer(fresh_net)
    load_checkpoint(tmp_path / "ckpt.pt", fresh)
    assert fresh_net.signal_rates == net.signal_rates
    x, y = torch.as_tensor(frames[:4], dtype=torch.float64), torch.as_tensor(labels[:4])
    trainer.train_step(x, y)
    fresh.train_step(x, y)  # the loaded rates, not a new measurement at the trained weights
    for a, b in zip(trainer.params, fresh.params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:NIR cannot express this network exactly")  # its reset, beside the point here
def test_the_rates_travel_with_a_nir_file(rng, tmp_path):
    pytest.importorskip("nir")
    from lava_local.interchange import export_nir, import_nir

    frames, _ = _data(rng)
    net = Network(30, hidden=(16, 8), n_classes=3, rule=RATE_TESS, init_scale=3.0)
    net.calibrate_signal(frames)
    export_nir(net, tmp_path / "net.nir")
    back = import_nir(tmp_path / "net.nir")
    assert back.rule.signal.scale == "rate" and back.signal_rates == pytest.approx(net.signal_rates)


def test_the_signal_costs_are_counted_before_the_rates_are_measured():
    _torch()
    from lava_local.costs import learning_signal_macs

    make = lambda rule: Network(40, hidden=(24, 16), n_classes=5, rule=rule)  # noqa: E731
    assert learning_signal_macs(make(RATE_TESS), 10) == learning_signal_macs(make(TESS()), 10) > 0

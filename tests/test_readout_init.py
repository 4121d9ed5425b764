"""Network(readout_init=...): the read-out starts as the last hidden layer's local classifier
("basis", the default under a local signal) or at random."""
import numpy as np
import pytest

from lava_local.network import Conv, Network, Recurrent
from lava_local.rules import LLS, STLLR, TESS


def test_basis_readout_written_out_element_by_element():
    """TESS's square-wave basis over the read-out's n inputs, at the random start's scale:
    W[k, j] = sign(sin(f_k j)) / sqrt(n), sign(0) = +1, f_k = linspace(50, 512, C)[k]."""
    n_classes, n = 4, 12
    net = Network(7, hidden=(9, n), n_classes=n_classes, rule=TESS(), readout_init="basis", seed=3)
    frequencies = np.linspace(50.0, 512.0, n_classes)
    for k in range(n_classes):
        for j in range(n):
            want = (1.0 if np.sin(frequencies[k] * j) >= 0 else -1.0) / np.sqrt(n)
            assert net.weights[-1][k, j] == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize("rule", [TESS(), LLS(), STLLR(), STLLR(feedback="bp")],
                         ids=["tess", "lls", "stllr", "stllr-bp"])
def test_only_the_readout_changes(rule):
    """The hidden weights are the random start's, seed for seed; the read-out is the basis."""
    kwargs = dict(hidden=(10, 8), n_classes=5, rule=rule, seed=11)
    random, basis = Network(6, readout_init="random", **kwargs), Network(6, readout_init="basis", **kwargs)
    for got, want in zip(basis.weights[:-1], random.weights[:-1]):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(basis.weights[-1], random.weights[-1])
    assert basis.weights[-1].shape == random.weights[-1].shape
    # the same scale as the random start, N(0, 1 / sqrt(n)): every entry +-1/sqrt(8) or a cosine of it
    assert np.abs(basis.weights[-1]).max() <= 1 / np.sqrt(8) + 1e-12


@pytest.mark.parametrize("rule", [TESS(), LLS()], ids=["tess", "lls"])
def test_basis_readout_is_the_trainers_local_classifier_of_the_last_layer(rule):
    """For TESS and LLS (basis scale 1/sqrt(d)) the read-out starts equal to the projection the
    trainer's last hidden layer uses for its local signal, so before any learning the read-out's
    score of every step is the layer's local logits, leakily integrated."""
    torch = pytest.importorskip("torch")
    from lava_local.trainer import LocalTrainer

    net = Network(6, hidden=(10, 8), n_classes=5, rule=rule, readout_init="basis", seed=2)
    trainer = LocalTrainer(net, device="cpu")
    np.testing.assert_allclose(net.weights[-1], trainer.signal_bases[-1].double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(trainer.params[-1].detach().double().numpy(), net.weights[-1], rtol=1e-6)


def test_unknown_readout_init_is_refused():
    with pytest.raises(ValueError, match="readout_init must be one of 'auto', 'random', 'basis', got 'zeros'"):
        Network(6, readout_init="zeros")


@pytest.mark.parametrize("rule, hidden, want", [
    (TESS(), (10, 8), "basis"), (LLS(), (10, 8), "basis"), (STLLR(), (10, 8), "basis"),
    (TESS(), (Recurrent(8),), "basis"),  # a recurrent layer's local classifier is its basis too
    (STLLR(feedback="bp"), (10, 8), "random"), (STLLR(feedback="dfa"), (10, 8), "random"),
    (TESS(), (), "random"),  # no hidden layer, no local classifier to start at
], ids=["tess", "lls", "stllr", "tess-recurrent", "stllr-bp", "stllr-dfa", "no-hidden"])
def test_auto_starts_at_the_basis_exactly_under_a_local_signal(rule, hidden, want):
    """The default: the basis where the last hidden layer learns from its own fixed basis,
    random where its signal comes back from the read-out; the start taken is recorded, and
    the weights are the ones that start names."""
    kwargs = dict(hidden=hidden, n_classes=5, rule=rule, seed=4)
    auto = Network(6, **kwargs)
    named = Network(6, readout_init=want, **kwargs)
    assert auto.readout_init == want
    for got, expected in zip(auto.weights, named.weights):
        np.testing.assert_array_equal(got, expected)
    if want == "random":
        n = auto.weights[-1].shape[1]
        rng = np.random.default_rng(4)
        for w in auto.weights[:-1]:
            rng.normal(size=w.shape)  # the hidden layers' draws come first
        np.testing.assert_allclose(auto.weights[-1], rng.normal(0.0, 1.0 / np.sqrt(n), size=(5, n)))


def test_auto_starts_a_conv_network_at_random():
    """A Conv last layer's local classifier reads its pooled signal, not the read-out's
    inputs, so there is no basis to start the read-out at."""
    net = Network((2, 8, 8), hidden=(Conv(4, 3, 1, 1, pool=2),), n_classes=3, seed=0)
    assert net.readout_init == "random"

"""Network(readout_init="basis"): the read-out starts as the last hidden layer's local classifier."""
import numpy as np
import pytest

from lava_local.network import Network
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
    random, basis = Network(6, **kwargs), Network(6, readout_init="basis", **kwargs)
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
    with pytest.raises(ValueError, match="readout_init must be one of 'random', 'basis', got 'zeros'"):
        Network(6, readout_init="zeros")

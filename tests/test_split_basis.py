"""The square basis with every column split between the classes (``basis="square_split"``).

A neuron whose basis column is the same for every class gets no local signal under an error
that sums to zero over the classes (the softmax): ``m_j = s sum_c e_c B[c, j]``. Checked
here against the square basis written out as the sign of ``sin(f_k j)``; that the trainer and
the Lava network learn the same with it is in tests/test_network_lava.py
(``tess-split-basis``).
"""
import numpy as np
import pytest

from lava_local.kernels.basis import constant_columns, make_basis
from lava_local.kernels.learning_signal import SignalParams, learning_signal, one_hot


def _square_written_out(n_classes: int, size: int) -> np.ndarray:
    f = np.linspace(50.0, 512.0, n_classes)
    return np.array([[1.0 if np.sin(f[k] * j) >= 0 else -1.0 for j in range(size)] for k in range(n_classes)])


@pytest.mark.parametrize("n_classes, size", [(2, 16), (2, 256), (3, 100), (6, 256), (10, 128)])
def test_only_the_columns_equal_for_every_class_change_each_in_one_entry(n_classes, size):
    square = _square_written_out(n_classes, size)
    split = make_basis("square_split", n_classes, size)
    same = [j for j in range(size) if len(set(square[:, j])) == 1]
    assert same, "the square basis has such columns at these sizes"
    np.testing.assert_array_equal(constant_columns(square), same)
    for j in range(size):
        changed = np.flatnonzero(split[:, j] != square[:, j])
        if j in same:
            assert changed.tolist() == [j % n_classes] and split[j % n_classes, j] == -square[j % n_classes, j]
        else:
            assert changed.size == 0
    assert set(np.unique(split)) == {-1.0, 1.0}
    assert constant_columns(split).size == 0
    if n_classes == 2:
        np.testing.assert_array_equal(split[1], -split[0])


def test_every_neuron_gets_a_signal_with_the_split_basis_and_not_with_the_square(rng):
    """m = s B^T (softmax(s B o) - y*), summed by hand: exactly zero on the square basis's
    constant columns, non-zero everywhere on the split basis."""
    n_classes, size = 2, 64
    o = (rng.random(size) < 0.3).astype(float)
    target = one_hot(np.array(1), n_classes)
    for kind in ("square", "square_split"):
        basis = make_basis(kind, n_classes, size)
        params = SignalParams(n_classes=n_classes, basis=kind, scale="1/sqrt(d)")
        m = learning_signal(o, target, basis, params)
        s = 1 / np.sqrt(size)
        z = [s * sum(basis[c, j] * o[j] for j in range(size)) for c in range(n_classes)]
        p = np.exp(z) / np.sum(np.exp(z))
        by_hand = [s * sum((p[c] - target[c]) * basis[c, j] for c in range(n_classes)) for j in range(size)]
        np.testing.assert_allclose(m, by_hand, rtol=1e-12, atol=1e-15)
        silent = np.abs(m) < 1e-15
        if kind == "square":
            np.testing.assert_array_equal(np.flatnonzero(silent), constant_columns(basis))
            assert silent.mean() == pytest.approx(0.5, abs=0.15)
        else:
            assert not silent.any()


def test_the_split_basis_is_a_signal_kind():
    assert SignalParams(basis="square_split").basis == "square_split"
    with pytest.raises(ValueError, match="square_split"):
        SignalParams(basis="squares")

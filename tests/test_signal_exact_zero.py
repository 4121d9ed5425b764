"""A neuron whose basis column is the same for every class gets exactly no signal.

Under an error that sums to zero over the classes (softmax, ``pwl_softmax``) such a neuron's
signal ``m_j = s B[0, j] sum_c e_c`` is zero in exact arithmetic. Back-projected through
``B`` itself it is ``B[0, j]`` times the round-off of ``sum(e)`` in float32, and Adam's
normalised step moves the neuron's weights by it as far as a learning neuron's; the kernels
back-project through ``B - 1 B[0]`` (``back_projection_basis``), where the column is zero.
Checked against the signal summed by hand in float64, in float32 (NumPy, torch), in
integers, and in the batched trainer's gradient and Adam step.
"""
import numpy as np
import pytest
import torch

from lava_local.kernels.basis import constant_columns, make_basis
from lava_local.kernels.learning_signal import (
    SignalParams,
    back_projection_basis,
    fixed_error,
    integer_basis,
    label_targets,
    learning_signal,
    learning_signal_fixed,
    local_error_fixed,
    one_hot,
    project_target,
)
from lava_local.network import Network
from lava_local.rules import TESS
from lava_local.trainer import LocalTrainer


def _by_hand(o: np.ndarray, label: int, basis: np.ndarray, s: float, error: str, width: float = 2.0) -> np.ndarray:
    """m_j = s sum_c (p_c - y*_c) B[c, j] in float64, one sample, the prediction written out."""
    n_classes, size = basis.shape
    z = [s * sum(basis[c, j] * o[j] for j in range(size)) for c in range(n_classes)]
    if error == "softmax":
        p = np.exp(np.subtract(z, max(z)))
    else:  # pwl_softmax
        p = np.array([max(zc - max(z) + width, 0.0) for zc in z])
    p = p / p.sum()
    return np.array([s * sum((p[c] - (c == label)) * basis[c, j] for c in range(n_classes)) for j in range(size)])


@pytest.mark.parametrize("error", ["softmax", "pwl_softmax"])
@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_float32_signal_is_exactly_zero_where_the_classes_share_a_column(error, n_classes, rng):
    size, batch = 64, 200
    basis64 = make_basis("square", n_classes, size)
    shared = constant_columns(basis64)
    assert shared.size > 0
    others = np.setdiff1d(np.arange(size), shared)
    s = 1 / np.sqrt(size)
    params = SignalParams(n_classes=n_classes, scale="1/sqrt(d)", error=error)
    o = (rng.random((batch, size)) < 0.3).astype(np.float32)
    labels = rng.integers(n_classes, size=batch)
    y = one_hot(labels, n_classes).astype(np.float32)
    basis = basis64.astype(np.float32)
    t_basis, t_o, t_y = torch.as_tensor(basis), torch.as_tensor(o), torch.as_tensor(y)
    scaled = SignalParams(n_classes=n_classes, scale=1.0, error=error)  # the trainer's form: s B, scale 1
    signals = {
        "numpy, one-hot": learning_signal(o, y, basis, params),
        "numpy, projected": learning_signal(o, project_target(y, basis, error), basis, params),
        "torch, one-hot": learning_signal(t_o, t_y, t_basis, params).numpy(),
        "torch, projected": learning_signal(t_o, project_target(t_y, t_basis, error), t_basis, params).numpy(),
        "torch, s B projected": learning_signal(t_o, project_target(t_y, s * t_basis, error), s * t_basis, scaled).numpy(),
    }
    for n in range(0, batch, 40):
        want = _by_hand(o[n].astype(float), int(labels[n]), basis64, s, error)
        for how, m in signals.items():
            assert m.dtype == np.float32, how
            assert np.all(m[n, shared] == 0.0), how
            np.testing.assert_allclose(m[n, others], want[others], rtol=2e-5, atol=2e-6, err_msg=how)
    for how, m in signals.items():
        assert np.all(m[:, shared] == 0.0), how
        assert np.all(np.abs(m[:, others]).max(axis=1) > 0), how
    # what the difference basis removes: through B itself float32 leaves the round-off of sum(e)
    plain = (torch.softmax(s * t_o @ t_basis.T, -1) - t_y) @ t_basis if error == "softmax" else None
    if plain is not None:
        assert (plain[:, shared] != 0).any()


@pytest.mark.parametrize("error", ["identity", "clipped"])
def test_errors_that_do_not_sum_to_zero_keep_their_signal_on_shared_columns(error, rng):
    """identity and clipped errors need not sum to zero: a shared column's signal is
    s B[0, j] sum(e), and the back-projection stays B."""
    n_classes, size = 3, 48
    basis = make_basis("square", n_classes, size)
    shared = constant_columns(basis)
    assert back_projection_basis(basis, error) is basis
    params = SignalParams(n_classes=n_classes, scale=0.5, error=error)
    for _ in range(100):  # an activity whose error does not sum to zero (clipping often makes it)
        o = (rng.random(size) < rng.uniform(0.02, 0.4)).astype(float)
        z = 0.5 * basis @ o
        e = (z if error == "identity" else np.clip(z, 0.0, 1.0)) - one_hot(1, n_classes)
        if abs(e.sum()) > 0.25:
            break
    assert abs(e.sum()) > 0.25
    m = learning_signal(o, one_hot(1, n_classes), basis, params)
    np.testing.assert_allclose(m[shared], 0.5 * basis[0, shared] * e.sum(), rtol=1e-12)
    assert np.abs(m[shared]).min() > 0


@pytest.mark.parametrize("error", ["softmax", "pwl_softmax"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_integer_signal_is_exactly_zero_where_the_classes_share_a_column(error, n_classes, rng):
    """The rounded integer error need not sum to zero; the shared columns stay at zero, and
    the others are B^T e_int less B[0] times that rounding's sum."""
    size = 64
    basis = make_basis("square", n_classes, size).astype(np.int64)
    shared = constant_columns(basis)
    signal = SignalParams(n_classes=n_classes, scale="1/sqrt(d)", error=error)
    err = fixed_error(signal, signal.basis_scale(size), 2 * size, 8)
    held = integer_basis(basis, err)
    assert integer_basis(held, err) is held
    off_zero = 0
    for _ in range(200):
        o = (rng.random(size) < rng.uniform(0.05, 0.5)).astype(np.int64)
        label = int(rng.integers(n_classes))
        e = local_error_fixed(basis @ o, label, err)
        off_zero += e.sum() != 0
        m = learning_signal_fixed(o, label, basis, err)
        assert m.dtype == np.int64
        # a model's basis, made once, gives the same integers
        np.testing.assert_array_equal(learning_signal_fixed(o, label, held, err), m)
        assert np.all(m[shared] == 0)
        want = [sum(int(basis[c, j]) * int(e[c]) for c in range(n_classes)) - int(basis[0, j]) * int(e.sum())
                for j in range(size)]
        np.testing.assert_array_equal(m, want)
    if n_classes > 2:  # at two classes the rounding cancelled in every draw; from three on it does not
        assert off_zero > 0  # the rounding did leave sums off zero: the case the difference is for


def test_trainer_leaves_the_neurons_without_a_signal_where_they_are():
    """TESS at its defaults on two classes, float32, Adam: a batch's gradient rows of the
    neurons on shared columns are exactly zero in every hidden layer, and Adam's step leaves
    their weights unchanged; every other neuron's row moves."""
    net = Network(24, hidden=(32, 16), n_classes=2, rule=TESS(), seed=0)
    trainer = LocalTrainer(net, device="cpu", optimizer="adam", lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(8, 20, 24, generator=gen) < 0.3).float()
    y = torch.tensor([0, 1] * 4)
    before = [p.detach().clone() for p in trainer.params[:-1]]
    trainer.compute_grads(x, y)
    for i, p in enumerate(trainer.params[:-1]):
        assert p.dtype == torch.float32
        shared = constant_columns(trainer.signal_bases[i].numpy())
        assert shared.size == p.shape[0] // 2  # one neuron in two at two classes
        grad = p.grad.reshape(p.shape[0], -1)
        assert torch.all(grad[shared] == 0), i
        learning = np.setdiff1d(np.arange(p.shape[0]), shared)
        assert (grad[learning].abs().sum(1) > 0).float().mean() > 0.5, i
    trainer.step_optimizers()
    for i, (p, p0) in enumerate(zip(trainer.params[:-1], before)):
        shared = constant_columns(trainer.signal_bases[i].numpy())
        assert torch.equal(p.detach()[shared], p0[shared]), i
        assert not torch.equal(p.detach(), p0), i


def test_a_target_projected_for_another_error_is_refused():
    """The projection through B - 1 B[0] is the softmax's; the identity error needs y* B, so
    a target projected for one and used with the other stops with a message."""
    basis = make_basis("square", 3, 12)
    y = one_hot(np.array([0, 2]), 3)
    o = np.ones((2, 12))
    with pytest.raises(ValueError, match="project_target"):
        learning_signal(o, project_target(y, basis, "softmax"), basis, SignalParams(n_classes=3, error="identity"))
    with pytest.raises(ValueError, match="project_target"):
        learning_signal(o, project_target(y, basis, "identity"), basis, SignalParams(n_classes=3, error="softmax"))
    projected = project_target(y, basis, "softmax")
    np.testing.assert_array_equal(projected.projection, y @ (basis - basis[0]))


def test_an_integer_basis_made_for_another_error_is_refused():
    """The integer form, as the float one: a basis held for the softmax (B - 1 B[0]) used
    with the clipped error (B) stops with a message, and one made for the pwl_softmax serves
    the softmax, whose back-projection basis is the same."""
    basis = make_basis("square", 3, 12).astype(np.int64)
    signal = SignalParams(n_classes=3)
    softmax_err = fixed_error(signal, 1.0, 24, 8)
    clipped_err = fixed_error(SignalParams(n_classes=3, error="clipped"), 1.0, 24, 8)
    pwl_err = fixed_error(SignalParams(n_classes=3, error="pwl_softmax"), 1.0, 24, 8)
    held = integer_basis(basis, softmax_err)
    assert held.error == "softmax"
    np.testing.assert_array_equal(held.back, basis - basis[0])
    o = np.ones(12, np.int64)
    with pytest.raises(ValueError, match="integer_basis"):
        learning_signal_fixed(o, 1, held, clipped_err)
    with pytest.raises(ValueError, match="integer_basis"):
        learning_signal_fixed(o, 1, integer_basis(basis, clipped_err), softmax_err)
    held_pwl = integer_basis(basis, pwl_err)
    np.testing.assert_array_equal(learning_signal_fixed(o, 1, held_pwl, softmax_err),
                                  learning_signal_fixed(o, 1, basis, softmax_err))


@pytest.mark.parametrize("error", ["softmax", "pwl_softmax", "identity", "clipped"])
def test_each_class_projected_once_is_the_one_hot_label_projected(error, rng):
    """label_targets (what a model holds, one per class) is project_target of each one-hot
    label, float for float; with it a shared column's signal is exactly zero under an error
    that sums to zero, and the other columns are the signal summed by hand."""
    n_classes, size = 3, 40
    basis = make_basis("square", n_classes, size)
    targets = label_targets(basis, error)
    assert len(targets) == n_classes
    for c, held in enumerate(targets):
        made = project_target(one_hot(c, n_classes), basis, error)
        assert held.error == made.error == error
        np.testing.assert_array_equal(held.projection, made.projection)
        np.testing.assert_array_equal(held.back, made.back)
    shared = constant_columns(basis)
    params = SignalParams(n_classes=n_classes, scale="1/sqrt(d)", error=error)
    for _ in range(20):
        o = (rng.random(size) < 0.3).astype(float)
        c = int(rng.integers(n_classes))
        m = learning_signal(o, targets[c], basis, params)
        np.testing.assert_allclose(m, learning_signal(o, one_hot(c, n_classes), basis, params), rtol=0, atol=1e-12)
        if error in ("softmax", "pwl_softmax"):
            assert np.all(m[shared] == 0.0)
            np.testing.assert_allclose(m, _by_hand(o, c, basis, 1 / np.sqrt(size), error), rtol=0, atol=1e-12)

"""A recurrent layer's initial weights and its optimiser step: the input block and the
recurrent block are each drawn at their own fan-in (the S-TLLR authors' two matrices), so a
layer's own spikes do not drown a narrow input however wide the layer is, and the
trainers step the recurrent block in proportion to its scale. The weight tests are
torch-free; the step tests skip where torch is not installed."""
import numpy as np
import pytest

from lava_local.network import Network, Recurrent


@pytest.mark.parametrize("n_in, size, init_scale, gain", [(24, 400, 2.0, 0.5), (6, 300, 3.0, 1.5)])
def test_each_block_is_drawn_at_its_own_fan_in(n_in, size, init_scale, gain):
    net = Network(n_in, hidden=(Recurrent(size, recurrent_gain=gain),), n_classes=3, init_scale=init_scale, seed=1)
    w = net.weights[0]
    assert w.shape == (size, n_in + size)
    w_in, w_rec = w[:, :n_in], w[:, n_in:]
    # std estimates over >= 1,800 draws: within 5 % of the formula (about 3 standard errors or more)
    assert np.std(w_in) == pytest.approx(init_scale / np.sqrt(n_in), rel=0.05)
    assert np.std(w_rec) == pytest.approx(gain * init_scale / np.sqrt(size), rel=0.05)
    assert abs(np.mean(w_in)) < 4 * init_scale / np.sqrt(n_in) / np.sqrt(w_in.size)


def test_the_initial_currents_do_not_depend_on_the_layer_width():
    """With every input and every neuron firing, row by row, the input current's spread is
    init_scale (n_in terms of init_scale / sqrt(n_in)) and the recurrent current's
    recurrent_gain * init_scale, whatever the layer's size: the ratio of the two is the gain."""
    for size in (64, 1024):
        net = Network(24, hidden=(Recurrent(size),), n_classes=3, init_scale=2.0, seed=size)
        w = net.weights[0]
        input_current = w[:, :24].sum(axis=1)       # all 24 inputs spike once
        recurrent_current = w[:, 24:].sum(axis=1)   # all neurons spiked at t - 1
        ratio = np.std(recurrent_current) / np.std(input_current)
        assert ratio == pytest.approx(Recurrent(size).recurrent_gain, rel=0.25)


def test_the_gain_scales_the_same_draw():
    """Two gains, one seed: the input blocks are equal, the recurrent blocks proportional,
    and a gain of 0 starts the layer without recurrence (a feed-forward layer that may learn it)."""
    make = lambda gain: Network(10, hidden=(Recurrent(12, recurrent_gain=gain), 5), n_classes=3,  # noqa: E731
                                seed=7).weights
    half, double, none = make(0.5), make(2.0), make(0.0)
    np.testing.assert_array_equal(half[0][:, :10], double[0][:, :10])
    np.testing.assert_allclose(double[0][:, 10:], 4.0 * half[0][:, 10:], rtol=1e-12)
    assert not np.any(none[0][:, 10:]) and np.any(none[0][:, :10])
    for a, b in zip(half[1:], none[1:]):  # the layers after it drew the same numbers
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("field", ["recurrent_gain", "recurrent_step"])
@pytest.mark.parametrize("value, error", [(-0.1, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_a_bad_gain_or_step_is_refused(field, value, error):
    with pytest.raises(error, match=field):
        Network(10, hidden=(Recurrent(12, **{field: value}),), n_classes=3)


def adam_steps(trainer_name: str, recurrent: "Recurrent", apply: str = "sample"):
    """One learning batch on a 20-input recurrent layer of 30; the weights' change per block."""
    torch = pytest.importorskip("torch")
    from lava_local.rules import TESS
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    net = Network(20, hidden=(recurrent,), n_classes=3, rule=TESS(apply=apply), init_scale=3.0, seed=4)
    trainer = {"local": LocalTrainer, "bptt": BPTTTrainer}[trainer_name](net, device="cpu", dtype=torch.float64, lr=1e-3)
    rng = np.random.default_rng(0)
    x = (rng.random((6, 12, 20)) < 0.3).astype(np.float64)
    before = trainer.params[0].detach().clone().numpy()
    steps = 12 if apply == "step" else 1
    trainer.train_step(torch.as_tensor(x), torch.as_tensor(np.arange(6) % 3))
    delta = np.abs(trainer.params[0].detach().numpy() - before)
    return delta[:, :20], delta[:, 20:], steps


@pytest.mark.parametrize("trainer_name, apply", [("local", "sample"), ("local", "step"), ("bptt", "sample")])
def test_the_recurrent_block_steps_at_its_scale_relative_to_the_input_block(trainer_name, apply):
    """Adam's first step moves a weight by lr (|g| / (|g| + eps), 1 for any gradient well
    above eps): the input block's weights move by 1e-3, the recurrent block's by
    recurrent_gain * sqrt(n_in / size) times that (0.5 sqrt(20 / 30)), or by recurrent_step
    when given. With ``apply="step"`` every time step is a step of the optimiser: the
    recurrent block's total move is the input block's scaled all the same."""
    kappa = 0.5 * np.sqrt(20 / 30)
    for recurrent, expected in ((Recurrent(30), kappa), (Recurrent(30, recurrent_step=1.0), 1.0),
                                (Recurrent(30, recurrent_gain=1.5, recurrent_step=0.25), 0.25)):
        d_in, d_rec, steps = adam_steps(trainer_name, recurrent, apply)
        moved_in, moved_rec = d_in[d_in > 1e-9], d_rec[d_rec > 1e-9]
        assert moved_in.size > 100 and moved_rec.size > 100  # both blocks learned
        if steps == 1:  # each moved weight by exactly lr (input) and expected * lr (recurrent)
            np.testing.assert_allclose(np.median(moved_in), 1e-3, rtol=1e-3)
            np.testing.assert_allclose(np.median(moved_rec), expected * 1e-3, rtol=1e-3)
            assert moved_rec.max() <= expected * 1e-3 * (1 + 1e-9)
        else:  # many small Adam steps: the largest moves stand in the blocks' ratio
            assert np.max(moved_rec) / np.max(moved_in) == pytest.approx(expected, rel=0.35)


def test_a_gain_of_zero_keeps_the_recurrence_off_unless_given_a_step():
    pytest.importorskip("torch")
    _, d_rec, _ = adam_steps("local", Recurrent(30, recurrent_gain=0.0))
    assert not np.any(d_rec)
    _, d_rec, _ = adam_steps("local", Recurrent(30, recurrent_gain=0.0, recurrent_step=1.0))
    assert np.median(d_rec[d_rec > 1e-9]) == pytest.approx(1e-3, rel=1e-3)


def _stacked_moves(trainer_name, rule, lower, upper=Recurrent(12)):
    """One training step of ``20 -> lower -> upper -> read-out``; each layer's moves per
    block, ``[(input block, recurrent block), ...]``."""
    torch = pytest.importorskip("torch")
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    net = Network(20, hidden=(lower, upper), n_classes=3, rule=rule, init_scale=3.0, seed=4)
    trainer = {"local": LocalTrainer, "bptt": BPTTTrainer}[trainer_name](net, device="cpu", dtype=torch.float64, lr=1e-3)
    x = (np.random.default_rng(0).random((6, 12, 20)) < 0.3).astype(np.float64)
    before = [p.detach().clone().numpy() for p in trainer.params[:2]]
    trainer.train_step(torch.as_tensor(x), torch.as_tensor(np.arange(6) % 3))
    moves = [np.abs(p.detach().numpy() - b) for p, b in zip(trainer.params[:2], before)]
    return [(d[:, :d.shape[1] - d.shape[0]], d[:, d.shape[1] - d.shape[0]:]) for d in moves]


def test_a_lower_recurrent_layer_keeps_its_recurrence_under_a_local_signal():
    """Under a local signal a recurrent layer below the last hidden layer keeps its recurrent
    block at its start unless its step is given; its input block learns, and so does the
    last layer's recurrent block. BPTT and S-TLLR's bp signal (the read-out's error at
    every layer) learn both layers' recurrent blocks."""
    from lava_local.rules import LLS, STLLR, TESS

    for rule in (TESS(), LLS(), STLLR()):
        (low_in, low_rec), (up_in, up_rec) = _stacked_moves("local", rule, Recurrent(16))
        assert not np.any(low_rec), type(rule).__name__
        assert np.count_nonzero(low_in) > 100 and np.count_nonzero(up_in) > 50 and np.count_nonzero(up_rec) > 50
    for trainer_name, rule in (("local", STLLR(feedback="bp")), ("bptt", TESS())):
        (low_in, low_rec), _ = _stacked_moves(trainer_name, rule, Recurrent(16))
        assert np.count_nonzero(low_rec) > 100 and np.count_nonzero(low_in) > 100, trainer_name
    # a given step holds: the recurrent block moves by it (Adam's first step: step * lr)
    (_, low_rec), _ = _stacked_moves("local", TESS(), Recurrent(16, recurrent_step=0.5))
    np.testing.assert_allclose(np.median(low_rec[low_rec > 1e-9]), 0.5e-3, rtol=1e-3)


def test_trainer_recurrent_steps_resolves_the_default_per_signal():
    net = Network(20, hidden=(Recurrent(16), 10, Recurrent(12), Recurrent(8, recurrent_step=0.3), Recurrent(6)),
                  n_classes=3, seed=0)
    kappa = [0.5 * np.sqrt(20 / 16), 1.0, 0.5 * np.sqrt(10 / 12), 0.3, 0.5 * np.sqrt(8 / 6)]
    np.testing.assert_allclose(net.trainer_recurrent_steps(local_signal=False), kappa)
    np.testing.assert_allclose(net.trainer_recurrent_steps(local_signal=True), [0.0, 1.0, 0.0, 0.3, kappa[4]])
    assert net.recurrent_step_given == [False, False, False, True, False]

"""A recurrent layer's initial weights: the input block and the recurrent block are each
drawn at their own fan-in (the S-TLLR authors' two matrices), so a layer's own spikes do
not drown a narrow input however wide the layer is. Torch-free."""
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


@pytest.mark.parametrize("gain, error", [(-0.1, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_a_bad_gain_is_refused(gain, error):
    with pytest.raises(error, match="recurrent_gain"):
        Network(10, hidden=(Recurrent(12, recurrent_gain=gain),), n_classes=3)

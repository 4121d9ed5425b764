"""Learning-signal MACs counted from the code agree with the papers' cost formulas."""
import pytest

from lava_local.costs import bptt_signal_macs, learning_signal_macs, paper_formulas
from lava_local.network import Network, vgg9
from lava_local.rules import STLLR


@pytest.mark.parametrize("steps", [10, 100])
def test_counted_macs_match_the_closed_forms_for_dense_networks(steps):
    net = Network(2312, hidden=(512, 256))
    formulas = paper_formulas(net, steps)
    assert learning_signal_macs(net, steps) == formulas["tess_signal"] == steps * 2 * (512 + 256) * 10
    assert bptt_signal_macs(net, steps) == formulas["bptt_signal_dense_layers"]
    assert formulas["bptt_signal_dense_layers"] == steps * (2312 * 512 + 512 * 256 + 256 * 10)


def test_t_l_skips_the_first_steps():
    net = Network(100, hidden=(50,), rule=STLLR(t_l=4))
    assert learning_signal_macs(net, 10) == 6 * 2 * 50 * 10


def test_vgg9_at_dvs_gesture_size_needs_over_100x_fewer_signal_macs_than_bptt():
    net = vgg9((2, 32, 32), 11)
    tess, bptt = learning_signal_macs(net, 20), bptt_signal_macs(net, 20)
    # pooled signal sizes: 64*16 + 128*4 + 256*4 + 256*4 + 512*4 * 3 + 512 = 10,240 per step
    assert tess == 20 * 2 * 11 * (64 * 16 + 128 * 4 + 256 * 4 + 256 * 4 + 512 * 4 * 3 + 512)
    assert 11_000e6 < bptt < 13_000e6  # TESS paper: 12,079.69 M for BPTT on DVS Gesture
    assert bptt / tess > 100

"""Costs counted from the code: learning-signal MACs against the papers' cost formulas, and
operations per training step."""
import numpy as np
import pytest
import torch

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


def test_count_operations_counts_computations_not_views():
    from lava_local.costs import count_operations

    a, b = torch.ones(3, 4), torch.ones(3, 4)
    assert count_operations(lambda: (a + b).reshape(4, 3).T * 2.0) == 2
    w = torch.ones(4, requires_grad=True)
    assert count_operations(lambda: (w * 3.0).sum().backward()) > 2  # backward operations count too

    def marked():  # as torch's optimisers mark their steps: markers launch nothing
        with torch.autograd.profiler.record_function("step"):
            return a + b

    assert count_operations(marked) == 1


def test_tess_issues_about_as_many_operations_as_bptt():
    """VGG-9's TESS step issues operations (kernel launches on a GPU) near BPTT's count step
    by step (both terms of the update in one product, fused trace and membrane updates,
    error and back-projection in one product; it was 1.56x) and fewer than BPTT in windows
    of 4."""
    from lava_local.costs import count_operations
    from lava_local.network import vgg9
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.random((1, 8, 2 * 16 * 16)) < 0.1, dtype=torch.float32)
    y = torch.as_tensor([3])
    counts = {}
    for name, make in (("step", lambda n: LocalTrainer(n)), ("window 4", lambda n: LocalTrainer(n, window=4)),
                       ("bptt", BPTTTrainer)):
        trainer = make(vgg9((2, 16, 16), 11, width=0.03, seed=0))
        trainer.compute_grads(x, y)  # caches (decay matrices) made once
        counts[name] = count_operations(lambda: trainer.compute_grads(x, y))
    assert counts["step"] < 1.1 * counts["bptt"], counts
    assert counts["window 4"] < 0.9 * counts["bptt"], counts

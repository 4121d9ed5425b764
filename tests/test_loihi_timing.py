"""``LearningRule(timing="loihi")``: the post factors paired with the pre quantities two
steps later, as the layer decomposed for Loihi 2 computes (lava_local.decomposed).

The trainer (batch 1, float64) equals ``stream_reference(offset=PAIRING_OFFSET,
psi_rest=False, apply="sample")``, the kernels' re-computation of the decomposed graph
without its idle first step (which the decomposed Lava graph equals with
``psi_rest=True``, tests/test_decomposed.py; for alpha_post = 0 the two are the same), and
the NumPy reference of the Lava network. The fused Lava float model equals the same
stream reference applied every step (tests/test_decomposed.py), and the Lava network,
float and fixed point, the network's reference (tests/test_network_lava.py).
"""
import numpy as np
import pytest
import torch

import lava_local
from lava_local.decomposed import PAIRING_OFFSET, stream_reference
from lava_local.kernels.learning_signal import SignalParams
from lava_local.kernels.plasticity import EligibilityParams
from lava_local.network import Conv, Network
from lava_local.reference import reference_run
from lava_local.rules import LLS, STLLR, TESS
from lava_local.trainer import LocalTrainer

pytestmark = pytest.mark.timeout(120)

N_IN, N_OUT, C, T = 20, 12, 4, 15

RULES = {
    "tess": TESS(lr=0.05, timing="loihi"),
    "tess_alpha_post0": TESS(lr=0.05, timing="loihi", eligibility=EligibilityParams(None, 0.2, 1.0, 0.0)),
    "lls": LLS(lr=0.05, timing="loihi", signal=SignalParams(basis="square")),
    "tess_pwl": TESS(lr=0.05, timing="loihi", signal=SignalParams(scale="1/sqrt(d)", error="pwl_softmax")),
}


def test_loihi_timing_is_the_decomposed_pairing_offset():
    assert TESS(timing="loihi").pairing_offset == PAIRING_OFFSET
    assert TESS().pairing_offset == 0
    with pytest.raises(ValueError, match="timing must be one of"):
        TESS(timing="chip")


@pytest.mark.parametrize("name", sorted(RULES))
def test_trainer_batch1_float64_equals_the_decomposed_reference(name, rng):
    """Three samples, one label each, SGD at the rule's rate: the hidden weights after each
    sample equal stream_reference's with the factors paired 2 steps later, summed over
    the sample (the layer's states, and its delay line, start empty with each sample)."""
    rule = RULES[name]
    net = Network(N_IN, hidden=(N_OUT,), n_classes=C, rule=rule, init_scale=3.0, seed=2)
    w = net.weights[0].copy()
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=[rule.lr, 0.05])
    for _ in range(3):
        spikes = (rng.random((T, N_IN)) < 0.3).astype(float)
        label = int(rng.integers(C))
        trainer.train_step(torch.as_tensor(spikes[None]), torch.tensor([label]))
        ref = stream_reference(spikes, np.full(T, label), w, net.rule, offset=PAIRING_OFFSET, apply="sample")
        if net.rule.eligibility.alpha_post == 0:  # the decomposed graph's idle step changes only h
            rest = stream_reference(spikes, np.full(T, label), w, net.rule, offset=PAIRING_OFFSET, psi_rest=True,
                                    apply="sample")
            np.testing.assert_array_equal(rest["weights"], ref["weights"])
        size = np.abs(ref["weights"] - w).max()
        assert size > 1e-3
        got = trainer.params[0].detach().numpy()
        np.testing.assert_allclose(got, ref["weights"], rtol=0, atol=1e-12)
        paper = stream_reference(spikes, np.full(T, label), w, net.rule, offset=0, apply="sample")["weights"]
        assert np.abs(paper - got).max() > 1e-3 * size  # the same-step pairing is another update
        w = got.copy()


@pytest.mark.parametrize("name, drain", [("tess", False), ("lls", False), ("tess", True), ("lls", True)])
def test_trainer_equals_the_lava_network_reference(name, drain, rng):
    """As tests/test_trainer.py, with the Loihi timing: batch 1, float64, two hidden layers;
    with the drain, the reference runs the Lava sample clock's silent, unlabelled steps
    after each sample (and the Lava network equals the reference, tests/test_network_lava.py)."""
    frames = (rng.random((8, 8, 40)) < 0.25).astype(np.uint8)
    labels = rng.integers(0, 10, size=8)
    rule = RULES[name].with_(drain=drain)
    make = lambda: Network(40, hidden=(16, 12), rule=rule, init_scale=3.0, readout_lr=0.05, seed=4)  # noqa: E731
    net, ref = make(), make()
    schedule, learn = np.arange(8), np.ones(8, bool)
    ref_pred, ref_weights, _ = reference_run(ref, frames, labels, schedule, learn, "float")
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=[rule.lr] * 2 + [0.05])
    predictions = [int(trainer.train_step(torch.as_tensor(frames[i:i + 1], dtype=torch.float64),
                                          torch.as_tensor(labels[i:i + 1])).argmax()) for i in schedule]
    trainer.sync_to_network()
    assert predictions == ref_pred.tolist()
    for got, want, init in zip(net.weights, ref_weights, make().weights):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        assert not np.allclose(got, init)
    paper_net = Network(40, hidden=(16, 12), rule=rule.with_(timing="paper", drain=False), init_scale=3.0,
                        readout_lr=0.05, seed=4)
    _, paper_weights, _ = reference_run(paper_net, frames, labels, schedule, learn, "float")
    assert np.abs(paper_weights[0] - ref_weights[0]).max() > 1e-3  # the timing changes the update
    other = Network(40, hidden=(16, 12), rule=rule.with_(drain=not drain), init_scale=3.0, readout_lr=0.05, seed=4)
    _, other_weights, _ = reference_run(other, frames, labels, schedule, learn, "float")
    # the drain changes the updates: every layer's with a pre trace (TESS); without one
    # (LLS) the drained factors meet the pre spikes of the silent steps, which only the
    # second layer has (the first layer's last spikes still reach it)
    changed = [np.abs(other_weights[i] - ref_weights[i]).max() > 1e-4 for i in range(2)]
    assert changed == ([True, True] if net.rule.eligibility.lambda_pre > 0 else [False, True])


def test_stream_reference_sample_mode_sums_the_steps(rng):
    """apply="sample": the forward pass keeps the initial weights, the steps' updates are
    summed; with a rate small enough the two modes agree to first order."""
    spikes = (rng.random((T, N_IN)) < 0.3).astype(float)
    w0 = rng.normal(0.0, 0.3, (N_OUT, N_IN))
    rule = TESS(lr=1e-9, signal=SignalParams(n_classes=C)).for_neuron(lava_local.kernels.LIFParams())
    step = stream_reference(spikes, np.full(T, 2), w0, rule, offset=2, apply="step")["weights"]
    sample = stream_reference(spikes, np.full(T, 2), w0, rule, offset=2, apply="sample")["weights"]
    assert np.abs(sample - w0).max() > 0
    np.testing.assert_allclose(sample - w0, step - w0, rtol=1e-5, atol=1e-18)
    with pytest.raises(ValueError, match="apply"):
        stream_reference(spikes, np.full(T, 2), w0, rule, apply="epoch")


def test_loihi_timing_is_refused_where_it_does_not_apply():
    rule = TESS(timing="loihi")
    with pytest.raises(ValueError, match="Conv layers learns with timing='paper'"):
        Network((2, 8, 8), hidden=(Conv(4),), rule=rule)
    with pytest.raises(ValueError, match="window > 1"):
        LocalTrainer(Network(40, hidden=(8,), rule=rule), window=2)
    from lava_local.proc.conv_layer import ConvLayer

    with pytest.raises(ValueError, match="ConvLayer learns with timing='paper'"):
        ConvLayer(weights=np.zeros((4, 2, 3, 3)), in_shape=(2, 8, 8), steps_per_sample=3,
                  rule=rule.for_classes(10))
    assert STLLR(feedback="bp", timing="loihi").pairing_offset == 2  # bp runs in the trainer, delayed too


def test_learning_memory_counts_the_delay_line(rng):
    """The delay line holds 2 x PAIRING_OFFSET factors per neuron and sample."""
    from lava_local.costs import learning_memory_bytes

    x = torch.as_tensor(rng.random((4, 6, 40)) < 0.3, dtype=torch.float32)
    y = torch.as_tensor([0, 1, 2, 3])
    held = {t: learning_memory_bytes(LocalTrainer(Network(40, hidden=(16, 12), rule=TESS(timing=t, filtered=False)),
                                                  device="cpu"), x, y) for t in ("paper", "loihi")}
    assert held["loihi"] - held["paper"] == 2 * PAIRING_OFFSET * 4 * (16 + 12) * 4  # float32


@pytest.mark.parametrize("name", ["tess", "tess_alpha_post0"])
def test_trainer_drain_is_two_silent_unlabelled_steps(name, rng):
    """drain=True: each sample's update equals stream_reference's on the sample followed by
    pairing_offset steps without input and without a label (the factors of the last steps
    meet the decayed pre trace instead of being dropped)."""
    rule = RULES[name].with_(drain=True)
    net = Network(N_IN, hidden=(N_OUT,), n_classes=C, rule=rule, init_scale=3.0, seed=2)
    w = net.weights[0].copy()
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=[rule.lr, 0.05])
    k = rule.pairing_offset
    for _ in range(3):
        spikes = (rng.random((T, N_IN)) < 0.3).astype(float)
        label = int(rng.integers(C))
        trainer.train_step(torch.as_tensor(spikes[None]), torch.tensor([label]))
        padded = np.concatenate([spikes, np.zeros((k, N_IN))])
        labels = np.concatenate([np.full(T, label), np.full(k, -1)])
        ref = stream_reference(padded, labels, w, net.rule, offset=PAIRING_OFFSET, apply="sample")
        got = trainer.params[0].detach().numpy()
        np.testing.assert_allclose(got, ref["weights"], rtol=0, atol=1e-12)
        dropped = stream_reference(spikes, np.full(T, label), w, net.rule.with_(drain=False), offset=PAIRING_OFFSET,
                                   apply="sample")["weights"]
        assert np.abs(dropped - got).max() > 1e-6, "the drained factors change the update"
        w = got.copy()


def test_drain_needs_the_loihi_timing():
    with pytest.raises(ValueError, match="timing='loihi'"):
        TESS(drain=True)
    assert TESS(timing="loihi", drain=True).drain_steps == PAIRING_OFFSET
    assert TESS(timing="loihi").drain_steps == 0

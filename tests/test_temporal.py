"""Temporal-data pieces of the trainers and the network builder: the class count taken
from the network, firing rates against the LIF equations written out, and the collapse
detector on deliberately broken training."""
import numpy as np
import pytest
import torch

from lava_local.kernels.learning_signal import SignalParams
from lava_local.kernels.neuron import LIFParams
from lava_local.network import Network, Recurrent
from lava_local.rules import LLS, STLLR, TESS
from lava_local.trainer import BPTTTrainer, LocalTrainer, TrainingCollapse


def spikes(rng, n, steps, n_in, rate=0.2):
    return (rng.random((n, steps, n_in)) < rate).astype(np.uint8)


@pytest.mark.parametrize("rule", [TESS(), STLLR(), LLS()], ids=["TESS", "S-TLLR", "LLS"])
def test_network_takes_the_class_count_when_the_rule_leaves_it_open(rule):
    net = Network(24, hidden=(8,), n_classes=9, rule=rule)
    assert rule.signal.n_classes is None and net.rule.signal.n_classes == 9
    trainer = LocalTrainer(net, device="cpu")
    assert tuple(trainer.bases[0].shape) == (9, 8)
    rng = np.random.default_rng(0)
    trainer.fit_epoch(spikes(rng, 18, 5, 24), np.arange(18) % 9, batch_size=9)  # label 8 is a class
    fixed = rule.with_(signal=SignalParams(n_classes=10))
    with pytest.raises(ValueError, match="set for 10 classes, the network has 9"):
        Network(24, hidden=(8,), n_classes=9, rule=fixed)
    assert Network(24, hidden=(8,), n_classes=10, rule=fixed).rule.signal == fixed.signal


@pytest.mark.parametrize("trainer_class", [LocalTrainer, BPTTTrainer])
def test_firing_rates_follow_the_lif_equations_written_out(trainer_class):
    """One dense layer: u[t] = gamma (u[t-1] - v_th o[t-1]) + W x[t], o[t] = u[t] > v_th,
    element by element in NumPy; the trainer's rate is the mean of o."""
    rng = np.random.default_rng(1)
    neuron = LIFParams(gamma=0.9, v_th=0.6)
    net = Network(12, hidden=(7,), n_classes=3, neuron=neuron, seed=3)
    x = spikes(rng, 5, 9, 12, 0.3)
    w = net.weights[0]
    fired = 0
    for sample in x:
        u, o = np.zeros(7), np.zeros(7)
        for t in range(9):
            for j in range(7):
                u[j] = neuron.gamma * (u[j] - neuron.v_th * o[j]) + sum(w[j, k] * sample[t, k] for k in range(12))
            o = (u > neuron.v_th).astype(float)
            fired += o.sum()
    trainer = trainer_class(net, device="cpu", dtype=torch.float64)
    rates = trainer.firing_rates(x, batch_size=2)
    assert rates == pytest.approx([fired / (5 * 9 * 7)], abs=1e-12)
    assert 0 < rates[0] < 1
    recurrent = trainer_class(Network(12, hidden=(Recurrent(6), 4), n_classes=3), device="cpu")
    assert len(recurrent.firing_rates(x)) == 2


def test_fit_epoch_reports_the_rates_of_the_epoch_it_trained():
    rng = np.random.default_rng(2)
    trainer = LocalTrainer(Network(20, hidden=(16, 8), n_classes=4), device="cpu")
    x, y = spikes(rng, 32, 10, 20), rng.integers(0, 4, 32)
    trainer.fit_epoch(x, y, batch_size=8)
    assert len(trainer.last_firing_rates) == 2 and all(0 < r < 1 for r in trainer.last_firing_rates)


def test_a_layer_driven_silent_is_reported_as_collapse():
    """LLS with its basis unscaled (the saturating signal) and a plain SGD step of 100 on
    both hidden layers silences the second within three epochs; the trainer says so
    instead of training on. At 1e-3 the same run is healthy."""
    rng = np.random.default_rng(0)
    x, y = spikes(rng, 64, 20, 30), rng.integers(0, 4, 64)
    unscaled = LLS(signal=SignalParams(basis="sine"), filtered=False)  # the paper's rule, its signal unscaled

    def trainer(lr: float) -> LocalTrainer:
        return LocalTrainer(Network(30, hidden=(16, 8), n_classes=4, rule=unscaled), device="cpu", optimizer="sgd",
                            lr=[lr, lr, 1e-3])

    healthy = trainer(1e-3)
    for _ in range(3):
        healthy.fit_epoch(x, y, batch_size=16)
    assert min(healthy.last_firing_rates) > 0.05
    broken = trainer(100.0)
    with pytest.raises(TrainingCollapse, match="hidden layer 1 fell silent"):
        for _ in range(3):
            broken.fit_epoch(x, y, batch_size=16)
    assert broken.last_firing_rates[1] == 0.0


def test_a_saturated_layer_is_reported_as_collapse():
    """Hidden weights all positive and 5 times their drawn size drive every neuron over
    threshold at nearly every step: the trainer's rate (spikes over neuron steps, checked
    against the LIF written out on the same weights and input) reaches 0.95 and the epoch ends with the
    reason; the same network frozen (only the read-out learns) is no collapse."""
    rng = np.random.default_rng(0)
    x, y = spikes(rng, 16, 10, 10), rng.integers(0, 3, 16)

    def saturated(frozen: bool) -> LocalTrainer:
        net = Network(10, hidden=(6,), n_classes=3, frozen=frozen)
        net.weights[0] = np.abs(net.weights[0]) * 5.0
        return LocalTrainer(net, device="cpu")

    trainer = saturated(False)
    with pytest.raises(TrainingCollapse, match=r"hidden layer 0 saturated: its neurons fired at 0\.9"):
        trainer.fit_epoch(x, y, batch_size=8)
    w = saturated(True).params[0].detach().double().numpy()
    lif = LIFParams()  # its LIF written out: u = gamma (u - v_th o) + I, o = H(u - v_th)
    u, o, fired = np.zeros((len(x), 6)), np.zeros((len(x), 6)), 0
    for t in range(x.shape[1]):
        u = lif.gamma * (u - lif.v_th * o) + x[:, t].astype(float) @ w.T
        o = (u > lif.v_th).astype(float)
        fired += int(o.sum())
    assert fired / (len(x) * x.shape[1] * 6) >= 0.95
    assert trainer.last_firing_rates[0] == pytest.approx(fired / (len(x) * x.shape[1] * 6), abs=1e-12)
    frozen = saturated(True)
    frozen.fit_epoch(x, y, batch_size=8)
    assert frozen.last_firing_rates[0] >= 0.95


def test_the_collapse_check_at_its_bounds():
    """``check_network`` alone: a rate of exactly SATURATED_RATE saturates, just under it
    does not; an unmeasured layer (None) and a frozen network are let be."""
    from lava_local.health import SATURATED_RATE, check_network
    check_network([1.0, 1.0], [1.0, 1.0], [0.5, SATURATED_RATE - 1e-9])
    check_network([1.0, 1.0], [1.0, 1.0], [None, 0.0], learns=False)
    check_network([1.0, 1.0], [1.0, 1.0], [None])
    with pytest.raises(TrainingCollapse, match="hidden layer 1 saturated"):
        check_network([1.0, 1.0], [1.0, 1.0], [0.5, SATURATED_RATE])
    with pytest.raises(TrainingCollapse, match="hidden layer 0 fell silent"):
        check_network([1.0, 1.0], [1.0, 1.0], [0.0, 0.5])
    with pytest.raises(TrainingCollapse, match="the read-out's weights exploded"):
        check_network([1.0, 101.0], [1.0, 1.0], [0.5])


def test_non_finite_and_exploded_weights_are_reported():
    rng = np.random.default_rng(0)
    x, y = spikes(rng, 16, 5, 10), rng.integers(0, 3, 16)
    trainer = LocalTrainer(Network(10, hidden=(6,), n_classes=3), device="cpu")
    with torch.no_grad():
        trainer.params[-1][0, 0] = float("nan")
    with pytest.raises(TrainingCollapse, match="read-out's weights hold NaN"):
        trainer.fit_epoch(x, y, batch_size=8)
    trainer = LocalTrainer(Network(10, hidden=(6,), n_classes=3), device="cpu")
    with torch.no_grad():
        trainer.params[0].mul_(1000.0)
    with pytest.raises(TrainingCollapse, match="hidden layer 0's weights exploded"):
        trainer.fit_epoch(x, y, batch_size=8)


def test_a_frozen_silent_layer_is_no_collapse():
    """The read-out-only control trains no hidden layer: silence there is the network's,
    not the rule's doing."""
    rng = np.random.default_rng(0)
    net = Network(10, hidden=(6,), n_classes=3, frozen=True, init_scale=1e-6)
    trainer = LocalTrainer(net, device="cpu")
    trainer.fit_epoch(spikes(rng, 16, 5, 10), rng.integers(0, 3, 16), batch_size=8)
    assert trainer.last_firing_rates == [0.0]


def test_the_pre_trace_follows_the_neuron_unless_the_rule_sets_it():
    neuron = LIFParams(gamma=0.9)
    for rule in (TESS(), STLLR()):
        assert rule.eligibility.lambda_pre is None
        assert Network(10, hidden=(4,), n_classes=3, rule=rule, neuron=neuron).rule.eligibility.lambda_pre == 0.9
        assert Network(10, hidden=(4,), n_classes=3, rule=rule).rule.eligibility.lambda_pre == 0.5  # the papers'
    preset = STLLR.dvs_gesture()
    assert Network(10, hidden=(4,), n_classes=3, rule=preset, neuron=neuron).rule.eligibility.lambda_pre == 0.75
    assert LLS().eligibility.lambda_pre == 0.0  # LLS is trace-free by definition
    traced = Network(10, hidden=(4,), n_classes=3, rule=LLS.with_pre_trace(), neuron=neuron).rule
    assert traced.eligibility.lambda_pre == 0.9  # the option: the pre trace of S-TLLR and TESS
    assert (traced.eligibility.alpha_pre, traced.eligibility.alpha_post) == (1.0, 0.0)
    assert (traced.signal.basis, traced.signal.scale, traced.name) == (LLS().signal.basis, LLS().signal.scale, "LLS")


def test_a_pre_trace_decaying_as_the_membrane_is_the_exact_weight_derivative():
    """Below threshold (no spike, no reset) u[t] = gamma u[t-1] + W x[t], so du[t]/dW_ij =
    sum_k gamma^k x_j[t-k]: autograd through the unrolled neuron against the rule's pre
    trace q[t] = lambda_pre q[t-1] + x[t] with lambda_pre filled in from the neuron."""
    from lava_local.kernels.traces import trace_step

    neuron = LIFParams(gamma=0.8, v_th=1e6)
    lam = TESS().for_neuron(neuron).eligibility.lambda_pre
    rng = np.random.default_rng(4)
    x = torch.as_tensor(rng.random((12, 5)) < 0.4, dtype=torch.float64)
    w = torch.zeros(1, 5, dtype=torch.float64, requires_grad=True)
    u, q = torch.zeros(1, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t in range(12):
        u = neuron.gamma * u + w @ x[t]
        q = trace_step(q, x[t], lam)
    (grad,) = torch.autograd.grad(u.sum(), w)
    np.testing.assert_allclose(grad[0].numpy(), q.numpy(), rtol=1e-12)

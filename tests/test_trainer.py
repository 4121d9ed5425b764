"""The batched trainer computes what the Lava network computes; memory stays flat in T."""
import numpy as np
import pytest
import torch

from lava_local.kernels.learning_signal import SignalParams
from lava_local.network import Conv, Network
from lava_local.reference import reference_run
from lava_local.rules import LLS, STLLR, TESS
from lava_local.trainer import BPTTTrainer, LocalTrainer

pytestmark = pytest.mark.timeout(120)


def _data(rng, n=12, steps=8, n_in=40, rate=0.25):
    return (rng.random((n, steps, n_in)) < rate).astype(np.uint8), rng.integers(0, 10, size=n)


# TESS's default filters the last hidden layer at unit gain (a dense one, below a conv layer in the conv
# network); "tess-unfiltered" is the paper's rule
RULES = {"tess": TESS(lr=0.05), "tess-unfiltered": TESS(lr=0.05, filtered=False),
         "stllr-preset": STLLR.dvs_gesture(lr=0.05), "stllr": STLLR(lr=0.05),
         "lls": LLS(lr=0.05), "tess-clipped": TESS(lr=0.05, signal=SignalParams(scale="1/sqrt(d)", error="clipped")),
         "tess-pwl-softmax": TESS(lr=0.05, signal=SignalParams(scale="1/sqrt(d)", error="pwl_softmax")),
         "tess-rate-scale": TESS(lr=0.05, signal=SignalParams(scale="rate")),
         "tess-split-basis": TESS(lr=0.05, signal=SignalParams(basis="square_split", scale="1/sqrt(d)"))}


@pytest.mark.parametrize("rule, conv", [pytest.param(rule, conv, id=f"{name}-{'conv' if conv else 'dense'}")
                                        for name, rule in RULES.items() for conv in (False, True)]
                         # one eligibility per synapse: dense layers only
                         + [pytest.param(TESS(lr=0.05, filtered=True), False, id="tess-filtered-dense"),
                            pytest.param(TESS(lr=0.05, filtered_gain="sum"), False, id="tess-sum-filter-dense"),
                            pytest.param(STLLR(lr=0.05, filtered="last"), True, id="stllr-filtered-last-conv")])
def test_trainer_batch1_float64_equals_the_lava_network(rule, conv, rng):
    """Batch 1, float64, SGD with the Lava models' learning rates: same weights and the
    same predictions as the NumPy reference, which the Lava float network equals bit for bit
    (tests/test_network_lava.py)."""
    if conv:
        frames = (rng.random((8, 6, 2 * 8 * 8)) < 0.2).astype(np.uint8)
        labels = rng.integers(0, 10, size=8)
        kwargs = dict(hidden=(Conv(4, kernel=3, padding=1, pool=2), 10), n_in=(2, 8, 8))
    else:
        frames, labels = _data(rng)
        kwargs = dict(hidden=(16, 12), n_in=40)
    make = lambda: Network(rule=rule, init_scale=3.0, readout_lr=0.05, seed=4, **kwargs)  # noqa: E731
    net, ref = make(), make()
    for n in (net, ref):  # a scale="rate" signal's rates, measured before learning (else nothing)
        n.calibrate_signal(frames)
    schedule = np.arange(len(labels))
    learn = np.ones(len(labels), bool)
    ref_pred, ref_weights, _ = reference_run(ref, frames, labels, schedule, learn, "float")
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd",
                           lr=[rule.lr] * (len(net.weights) - 1) + [net.readout_lr])
    for i in schedule:
        x = torch.as_tensor(frames[i:i + 1], dtype=torch.float64)
        scores = trainer.train_step(x, torch.as_tensor(labels[i:i + 1]))[0]
        # the reference's prediction is a top score here: two classes can tie exactly (read-out
        # rows that learned alike), and the last bit of float rounding, which differs between
        # CPUs, then picks between them
        assert float(scores.max() - scores[ref_pred[i]]) <= 1e-9 * float(scores.abs().max()), i
    trainer.sync_to_network()
    for got, want, init in zip(net.weights, ref_weights, make().weights):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        assert not np.allclose(got, init)


def test_updates_are_applied_through_grad_by_the_torch_optimizer(rng):
    """The batch-averaged local update is what the optimizer sees as .grad (SGD: W - lr dW / B)."""
    frames, labels = _data(rng, n=4)
    net = Network(40, hidden=(16,), rule=TESS(), init_scale=3.0)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=0.1)
    before = [p.detach().clone() for p in trainer.params]
    x = torch.as_tensor(frames, dtype=torch.float64)
    y = torch.as_tensor(labels)
    with torch.no_grad():
        states, readout = trainer._run(x, y, learn_hidden=True)
    trainer.train_step(x, y)
    expected = [b - 0.1 * s.dw / 4 for b, s in zip(before[:-1], states)] + [before[-1] - 0.1 * readout.dw / 4]
    for p, e in zip(trainer.params, expected):
        torch.testing.assert_close(p.detach(), e)


def test_tess_memory_is_flat_in_time_while_bptt_grows(rng):
    """No autograd graph across time for TESS: nothing is saved for backward and the state
    is the same size at T = 10 and T = 200; BPTT saves tensors in proportion to T."""
    from lava_local.costs import learning_memory_bytes

    net = Network(40, hidden=(32,), rule=TESS(), init_scale=3.0)
    local, bptt = LocalTrainer(net, device="cpu"), BPTTTrainer(net, device="cpu")
    held = {}
    for steps in (10, 200):
        x = torch.as_tensor((rng.random((4, steps, 40)) < 0.2), dtype=torch.float32)
        y = torch.as_tensor(rng.integers(0, 10, 4))
        saved = [0]
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.__setitem__(0, saved[0] + 1) or t,
                                                      lambda t: t):
            local.compute_grads(x, y)
        assert saved[0] == 0  # no tensor is kept for a backward pass
        held[steps] = (learning_memory_bytes(local, x, y), learning_memory_bytes(bptt, x, y))
    assert held[10][0] == held[200][0] > 0
    assert held[200][1] > 15 * held[10][1] > 0


def test_learning_memory_of_a_standardised_vgg_is_its_states(rng):
    """With weight standardisation too, the local trainer keeps nothing for a backward pass
    (the chain rule into ``.grad`` is in closed form): its learning memory is its states,
    flat in T, while BPTT's grows."""
    from lava_local.costs import learning_memory_bytes
    from lava_local.network import vgg9

    held = {}
    for steps in (4, 12):
        x = torch.as_tensor(rng.random((2, steps, 2 * 16 * 16)) < 0.1, dtype=torch.float32)
        y = torch.as_tensor([1, 5])
        local = LocalTrainer(vgg9((2, 16, 16), 11, width=0.03, seed=0), device="cpu")
        bptt = BPTTTrainer(vgg9((2, 16, 16), 11, width=0.03, seed=0), device="cpu")
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            local.compute_grads(x, y)
        assert not saved
        held[steps] = (learning_memory_bytes(local, x, y), learning_memory_bytes(bptt, x, y))
    with torch.no_grad():
        states, _ = local._run(x[:, :1], y, True)
    membranes = sum(s.u.numel() * s.u.element_size() for s in states)
    # u, o, h, Psi and q (the size of the input): five arrays of about the membranes' size
    assert held[4][0] == held[12][0] and 4.5 * membranes < held[4][0] < 5.5 * membranes
    assert held[12][1] > held[4][1] + 8 * membranes  # BPTT keeps several arrays per step


def test_bptt_spike_forward_equals_the_lif_kernel_and_learns(rng):
    frames, labels = _data(rng, n=16, rate=0.3)
    net = Network(40, hidden=(24,), init_scale=3.0, seed=1)
    bptt = BPTTTrainer(net, device="cpu", dtype=torch.float64, optimizer="adam", lr=1e-2)
    local = LocalTrainer(Network(40, hidden=(24,), init_scale=3.0, seed=1), device="cpu", dtype=torch.float64)
    x = torch.as_tensor(frames, dtype=torch.float64)
    torch.testing.assert_close(bptt.scores(x), local.scores(x))  # same forward pass
    y = torch.as_tensor(labels)
    loss = lambda: torch.nn.functional.cross_entropy(bptt.forward(x).sum(0), y).item()  # noqa: E731
    first = loss()
    for _ in range(30):
        bptt.train_step(x, y)
    assert loss() < 0.5 * first


def test_trainer_rejects_bad_configuration(rng):
    net = Network(40, hidden=(8,))
    with pytest.raises(ValueError, match="optimizer"):
        LocalTrainer(net, optimizer="rmsprop")
    with pytest.raises(ValueError, match="one rate per layer"):
        LocalTrainer(net, lr=[1e-3, 1e-3, 1e-3])
    with pytest.raises(TypeError, match="Network"):
        LocalTrainer("net")
    frames, labels = _data(rng, n=4)
    with pytest.raises(ValueError, match="labels must be integers"):
        LocalTrainer(net).fit_epoch(frames, labels + 10)


def test_stllr_bp_signal_is_the_instantaneous_gradient_across_layers(rng):
    """With feedback='bp', a hidden layer's signal at step t is dL_t/do[t] of the read-out's
    instantaneous loss through the layers above (Psi as the spike derivative), not through
    time: checked against autograd on a one-step graph."""
    from lava_local.kernels import LIFState, lif_step, psi

    net = Network(30, hidden=(12, 9), rule=STLLR(feedback="bp"), init_scale=3.0, seed=2)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64)
    x = torch.as_tensor(rng.random((1, 1, 30)) < 0.4, dtype=torch.float64)
    y = torch.tensor([3])
    states, _ = trainer._run(x, y, learn_hidden=True)
    w1, w2, w_ro = (p.detach() for p in trainer.params)
    # the same step by hand, with o1 as a leaf: L = CE(u_ro) with u_ro = W_ro o2 (zero start)
    o1 = states[0].o.clone().requires_grad_(True)
    u2 = o1 @ w2.T
    o2 = (u2 > 0.6).double()
    o2 = o2 + psi(u2, 0.6) * (u2 - u2.detach())  # spike with Psi as its derivative
    loss = torch.nn.functional.cross_entropy(o2 @ w_ro.T, y, reduction="sum")
    (grad_o1,) = torch.autograd.grad(loss, o1)
    m1 = grad_o1
    expected_dw1 = torch.outer((m1 * states[0].psi)[0], x[0, 0])  # q = o_pre at t = 0
    expected_dw1 += torch.outer((m1 * -1.0 * states[0].h)[0], x[0, 0])
    torch.testing.assert_close(states[0].dw, expected_dw1)


def test_stllr_dfa_trains_and_lava_rejects_nonlocal_feedback(rng):
    frames, labels = _data(rng, n=16)
    net = Network(40, hidden=(16,), rule=STLLR(feedback="dfa"), init_scale=3.0)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="adam", lr=1e-2)
    before = trainer.params[0].detach().clone()
    trainer.fit_epoch(frames, labels, batch_size=4)
    assert not torch.equal(before, trainer.params[0].detach())
    with pytest.raises(ValueError, match="feedback"):
        from lava_local.proc.dense_layer import DenseLayer

        DenseLayer(weights=np.zeros((4, 3)), steps_per_sample=2, rule=STLLR(feedback="bp"))


def test_recurrent_layer_is_a_dense_layer_on_input_and_its_own_last_spikes(rng):
    """S-TLLR's SHD network: a recurrent LIF layer sees [o_pre[t], o[t-1]]; the local rule
    treats the fed-back spikes as pre-synaptic input. Checked by hand against the kernel (the
    unfiltered one: the filtered eligibility has its own tests)."""
    from lava_local.kernels.basis import make_basis
    from lava_local.kernels.layer import dense_layer_init, dense_layer_step
    from lava_local.kernels.learning_signal import one_hot
    from lava_local.network import Recurrent

    net = Network(20, hidden=(Recurrent(12),), rule=STLLR.shd(filtered=False), init_scale=3.0, seed=3)
    assert net.weights[0].shape == (12, 32)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64)
    x = (rng.random((1, 15, 20)) < 0.3).astype(float)
    with torch.no_grad():
        states, _ = trainer._run(torch.as_tensor(x), torch.tensor([4]), learn_hidden=True)
    state = dense_layer_init(32, 12)
    basis = make_basis("square", 10, 12)
    for t in range(15):
        pre = np.concatenate([x[0, t], state.o])
        state = dense_layer_step(state, pre, net.weights[0], net.neuron, net.surrogate, net.rule.eligibility,
                                 basis, net.rule.signal, one_hot(4, 10))
    np.testing.assert_allclose(states[0].dw.numpy(), state.dw, rtol=1e-10, atol=1e-12)
    assert state.o.sum() > 0 and np.abs(state.dw[:, 20:]).sum() > 0  # recurrent weights learn
    bptt = BPTTTrainer(net, device="cpu", dtype=torch.float64)
    torch.testing.assert_close(bptt.scores(torch.as_tensor(x)), trainer.scores(torch.as_tensor(x)))
    with pytest.raises(ValueError, match="Recurrent layers"):
        net.build(x.astype(np.uint8), np.array([4]), np.array([0]), np.array([True]))


@pytest.mark.timeout(180)
def test_slayer_baseline_learns_the_same_layer_sizes(rng):
    from lava_local.trainer.slayer_baseline import SlayerTrainer

    frames, labels = _data(rng, n=32, rate=0.3)
    labels = labels % 2  # an easy two-class problem: counts of the first 20 inputs
    frames[labels == 1, :, :20] = 1
    net = Network(40, hidden=(24,), seed=0)
    trainer = SlayerTrainer(net, device="cpu", lr=1e-2)
    assert [b.synapse.weight.shape[:2] for b in trainer.model] == [(24, 40), (10, 24)]
    torch.randn(100)  # the initial weights come from the network's seed, not torch's global state
    again = SlayerTrainer(Network(40, hidden=(24,), seed=0), device="cpu", lr=1e-2)
    for a, b in zip(trainer.model.parameters(), again.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for _ in range(15):
        trainer.fit_epoch(frames, labels, batch_size=8)
    assert trainer.evaluate(frames, labels) >= 0.9
    with pytest.raises(ValueError, match="dense networks only"):
        from lava_local.network import Conv

        SlayerTrainer(Network((2, 8, 8), hidden=(Conv(4),)))


def test_weights_trained_by_the_trainer_classify_the_same_in_lava(rng):
    """Train with the batched trainer, hand the weights to the Lava network, and classify:
    Lava's float models give the trainer's predictions sample for sample."""
    frames, labels = _data(rng, n=24)
    net = Network(40, hidden=(16,), rule=TESS(), init_scale=3.0, seed=6)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="adam", lr=1e-2)
    for _ in range(3):
        trainer.fit_epoch(frames, labels, batch_size=8)
    trainer.sync_to_network()
    expected = trainer.scores(torch.as_tensor(frames, dtype=torch.float64)).argmax(-1).numpy()
    np.testing.assert_array_equal(net.predict(frames), expected)
    assert len(set(expected.tolist())) > 1


def test_stllr_bp_through_conv_and_pooling_matches_autograd_on_one_step(rng):
    """Conv + pool_out + dense: the bp signal of the first layer equals autograd's
    dL_t/do_1 on a graph of one step (spikes with Psi as their derivative)."""
    from lava_local.kernels.conv import avg_pool, conv2d, standardize_weights
    from lava_local.kernels.surrogate import psi

    net = Network((2, 8, 8), hidden=(Conv(3, kernel=3, padding=1, pool_out=2, standardize=True), 7),
                  rule=STLLR(feedback="bp"), init_scale=3.0, seed=5)
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64)
    x = torch.as_tensor(rng.random((2, 1, 128)) < 0.4, dtype=torch.float64)
    y = torch.tensor([2, 7])
    with torch.no_grad():
        states, _ = trainer._run(x, y, learn_hidden=True)
    w1, w2, w_ro = (p.detach() for p in trainer.params)
    o1 = states[0].o.clone().requires_grad_(True)                      # (2, 3, 8, 8)
    u2 = avg_pool(o1, 4).reshape(2, -1) @ w2.T
    o2 = (u2 > 0.6).double() + psi(u2, 0.6) * (u2 - u2.detach())
    loss = torch.nn.functional.cross_entropy(o2 @ w_ro.T, y, reduction="sum")
    (m1,) = torch.autograd.grad(loss, o1)
    a = m1 * 1.0 * states[0].psi  # alpha_pre 1; h = 0 at the first step, so only the causal term
    expected = torch.nn.grad.conv2d_weight(x[:, 0].reshape(2, 2, 8, 8), (3, 2, 3, 3), a, padding=1)
    torch.testing.assert_close(states[0].dw, expected)
    assert states[0].dw.abs().sum() > 0
    # and the whole thing trains end to end, DFA too
    for feedback in ("bp", "dfa"):
        net = Network((2, 8, 8), hidden=(Conv(3, kernel=3, padding=1, pool_out=2), 7), rule=STLLR(feedback=feedback))
        t = LocalTrainer(net, device="cpu", dtype=torch.float64, lr=1e-2)
        before = t.params[0].detach().clone()
        t.fit_epoch((rng.random((8, 4, 128)) < 0.3).astype(np.uint8), rng.integers(0, 10, 8), batch_size=4)
        assert not torch.equal(before, t.params[0].detach())


@pytest.mark.parametrize("window,kind", [(3, "conv"), (8, "conv"), (4, "recurrent")])
def test_windowed_updates_equal_step_by_step_updates(window, kind, rng):
    from lava_local.network import Conv, Recurrent

    frames = (rng.random((4, 8, 2 * 8 * 8)) < 0.3).astype(np.uint8)
    labels = rng.integers(0, 10, 4)
    if kind == "conv":
        make = lambda: Network((2, 8, 8), hidden=(Conv(4, kernel=3, padding=1, pool=2, pool_out=2), 12),  # noqa: E731
                               rule=TESS(filtered=False), init_scale=3.0, seed=9)  # windows: unfiltered
    else:  # S-TLLR's SHD layout, learning from step 2 on (inputs before the window are traces)
        make = lambda: Network(128, hidden=(Recurrent(12), 10), rule=STLLR.shd(t_l=2, filtered=False),  # noqa: E731
                               init_scale=3.0, seed=9)
    x, y = torch.as_tensor(frames, dtype=torch.float64), torch.as_tensor(labels)
    plain = LocalTrainer(make(), device="cpu", dtype=torch.float64)
    windowed = LocalTrainer(make(), device="cpu", dtype=torch.float64, window=window)
    with torch.no_grad():
        reference, _ = plain._run(x, y, True)
        got, _ = windowed._run(x, y, True)
    for r, g in zip(reference, got):
        assert r.dw.abs().sum() > 0
        torch.testing.assert_close(g.dw, r.dw, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="window"):
        LocalTrainer(make(), window=0)
    with pytest.raises(ValueError, match="local learning signal"):
        LocalTrainer(Network(20, hidden=(8,), rule=STLLR(feedback="dfa")), window=4)


def test_heap_peak_of_a_step_is_flat_in_time_for_tess_and_grows_for_bptt(rng):
    """The measured peak (every tensor, temporaries included), not a count: a TESS step,
    step by step or in windows, peaks at the same heap at T = 10 and T = 100; BPTT's grows."""
    import sys

    from lava_local.costs import peak_heap_bytes

    if not sys.platform.startswith("linux"):
        pytest.skip("peak_heap_bytes reads glibc's mallinfo2")
    net = lambda: Network(300, hidden=(256, 256), rule=TESS(filtered=False), init_scale=3.0)  # noqa: E731
    trainers = {"tess": LocalTrainer(net()), "tess window 5": LocalTrainer(net(), window=5), "bptt": BPTTTrainer(net())}
    peaks = {name: {} for name in trainers}
    for steps in (10, 100):
        x = torch.as_tensor((rng.random((32, steps, 300)) < 0.2), dtype=torch.float32)
        y = torch.as_tensor(rng.integers(0, 10, 32))
        for name, trainer in trainers.items():
            trainer.compute_grads(x, y)  # warm-up; the allocator settles within two calls
            peaks[name][steps] = max(peak_heap_bytes(lambda: trainer.compute_grads(x, y)) for _ in range(2))
    for name in ("tess", "tess window 5"):
        assert 0 < peaks[name][100] < 1.1 * peaks[name][10], peaks
    assert peaks["bptt"][100] > 5 * peaks["bptt"][10] > 0, peaks


@pytest.mark.parametrize("window", [1, 4])
def test_a_local_step_holds_little_beyond_its_gradients(window, rng):
    """The updates are summed in place into the arrays that become ``.grad``: a step's
    heap peak stays near one set of gradients (adding each step's update to a new sum,
    and copying the sum into ``.grad``, held about three)."""
    import sys

    from lava_local.costs import peak_heap_bytes

    if not sys.platform.startswith("linux"):
        pytest.skip("peak_heap_bytes reads glibc's mallinfo2")
    trainer = LocalTrainer(Network(2000, hidden=(512, 256), rule=TESS(filtered=False), init_scale=3.0),
                           window=window)  # the per-neuron states (filtered=False): nothing per synapse
    gradient_bytes = sum(p.numel() * p.element_size() for p in trainer.params)
    x = torch.as_tensor(rng.random((8, 12, 2000)) < 0.2, dtype=torch.float32)
    y = torch.as_tensor(rng.integers(0, 10, 8))
    trainer.compute_grads(x, y)
    peak = max(peak_heap_bytes(lambda: trainer.compute_grads(x, y)) for _ in range(2))
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.params)
    assert gradient_bytes < peak < 1.4 * gradient_bytes, (peak, gradient_bytes)


def test_compiled_layer_steps_give_the_same_updates(rng):
    """``compile``: each layer's step through torch.compile, traced without graph breaks
    (so the whole step can fuse), with the same updates and scores as the eager steps
    (term weights other than 1: inductor has dropped the scale of fused additions)."""
    import shutil

    import torch._dynamo

    from lava_local.kernels.plasticity import EligibilityParams

    def make():
        rule = TESS(eligibility=EligibilityParams(alpha_pre=0.7), filtered=False)  # the compiled layer steps
        return Network((2, 8, 8), hidden=(Conv(4, pool=2), 16), rule=rule, init_scale=3.0, seed=1)

    x = torch.as_tensor(rng.random((3, 4, 128)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor([1, 2, 3])
    eager = LocalTrainer(make(), dtype=torch.float64)
    eager.compute_grads(x, y)
    backends = ["aot_eager"] + (["inductor"] if shutil.which("c++") or shutil.which("g++") else [])
    for backend in backends:  # aot_eager: the traced graphs; inductor: the generated kernels too
        compiled = LocalTrainer(make(), dtype=torch.float64, compile=backend)
        compiled.compute_grads(x, y)
        for a, b in zip(eager.params, compiled.params):
            assert a.grad.abs().sum() > 0
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(compiled.scores(x), eager.scores(x), rtol=1e-12, atol=1e-12)
    states, _ = eager._zero_states(3)
    for i, (step, w) in enumerate(zip(eager._layer_steps, eager.effective_weights())):
        with torch.no_grad():
            explained = torch._dynamo.explain(step)(states[i], torch.zeros_like(states[i].q), w,
                                                    torch.eye(10, dtype=torch.float64)[:3])
        assert explained.graph_break_count == 0, explained.break_reasons
    with pytest.raises(ValueError, match="compile"):
        LocalTrainer(make(), compile=3)


def test_compile_refuses_torch_versions_that_compile_other_updates(monkeypatch):
    """torch 2.11 to 2.13 compiled the in-place layer steps into other updates (measured on
    each: weight gradients off by up to 1.05); ``compile`` says so instead of training on."""
    make = lambda: Network(6, hidden=(5,), n_classes=3, seed=0)  # noqa: E731
    monkeypatch.setattr(torch, "__version__", "2.13.1+cpu")
    with pytest.raises(ValueError, match="torch >= 2.14"):
        LocalTrainer(make(), compile=True)
    LocalTrainer(make(), compile=False)  # the eager steps are not concerned
    monkeypatch.setattr(torch, "__version__", "2.14.0")
    LocalTrainer(make(), compile=True)


def test_flush_subnormals_reaches_torch_worker_threads():
    """Called before torch works, the setting reaches the worker threads that split large
    operations (they copy it when they start); without it, subnormals survive."""
    import subprocess
    import sys

    code = ("import torch{}; torch.set_num_threads(2); x = torch.full((1 << 22,), 1e-39); "
            "print(float((x * 1.0).abs().max()), float(torch.tensor([1e-39]) * 1.0))")
    flushed = ("; from lava_local.trainer import flush_subnormals; assert flush_subnormals()")
    results = {}
    for name, prefix in (("plain", ""), ("flushed", flushed)):
        out = subprocess.run([sys.executable, "-c", code.format(prefix)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        results[name] = [float(v) for v in out.stdout.split()]
    assert results["plain"] == [pytest.approx(1e-39, rel=1e-3)] * 2
    assert results["flushed"] == [0.0, 0.0]


def _meta_cases():
    from lava_local.network import Recurrent, vgg9

    vgg = lambda: vgg9((2, 16, 16), 11, width=0.03, seed=0)  # noqa: E731
    return {
        "tess-vgg9": (vgg, LocalTrainer, {}),
        "tess-vgg9-window": (vgg, LocalTrainer, {"window": 4}),
        "bptt-vgg9": (vgg, BPTTTrainer, {}),
        "stllr-bp-conv": (lambda: Network((2, 8, 8), hidden=(Conv(4, kernel=3, padding=1, pool=2, pool_out=2), 12),
                                          rule=STLLR(feedback="bp")), LocalTrainer, {}),
        "stllr-dfa": (lambda: Network(40, hidden=(16,), rule=STLLR(feedback="dfa")), LocalTrainer, {}),
        "stllr-recurrent": (lambda: Network(20, hidden=(Recurrent(12),), rule=STLLR.shd(t_l=2)), LocalTrainer, {}),
        "lls-dense": (lambda: Network(40, hidden=(16, 12), rule=LLS()), LocalTrainer, {}),
    }


@pytest.mark.parametrize("case", list(_meta_cases()))
def test_a_training_step_runs_on_the_device_alone(case):
    """A step's work is all on the trainer's device and never waits for the host: no
    ``.item()``, no data-dependent shapes, no tensors made on the CPU. That is what capturing
    a step in a CUDA graph needs (``benchmarks/vgg9_step.py --graph``), checked without a
    GPU on torch's meta device, where each of those raises."""
    make_net, cls, kwargs = _meta_cases()[case]
    net = make_net()
    trainer = cls(net, device="meta", **kwargs)
    x = torch.zeros(2, 6, net.n_in, device="meta")
    scores = trainer.compute_grads(x, torch.zeros(2, dtype=torch.long, device="meta"))
    assert scores.device.type == "meta" and scores.shape == (2, net.n_classes)
    for p in trainer.params:
        assert p.grad is not None and p.grad.device.type == "meta" and p.grad.shape == p.shape
    with pytest.raises((NotImplementedError, RuntimeError)):  # the check bites: a host read fails here
        scores.sum().item()


@pytest.mark.parametrize("cls", [LocalTrainer, BPTTTrainer], ids=["local", "bptt"])
def test_trainers_refuse_nan_and_empty_data_before_touching_weights(cls, rng):
    """NaN or infinite frames, labels outside [0, C) and a dataset of no samples stop
    fit_epoch and evaluate with a message naming the sample, before any weight, optimiser
    state or shuffle changes."""
    frames, labels = _data(rng, n=6)
    frames = frames.astype(np.float32)
    frames[4, 3, 7] = np.nan
    frames[5, 0, 0] = -np.inf
    trainer = cls(Network(40, hidden=(16,), init_scale=3.0), device="cpu", dtype=torch.float64)
    before = [p.detach().clone() for p in trainer.params]
    shuffle = trainer.generator.bit_generator.state
    bad_labels = labels.copy()
    bad_labels[2] = 10
    for call in (trainer.fit_epoch, trainer.evaluate):
        with pytest.raises(ValueError, match=r"frames hold 2 NaN or infinite value\(s\), the first in sample 4"):
            call(frames, labels)
        with pytest.raises(ValueError, match=r"labels must be integers in \[0, 10\); sample 2 has label 10"):
            call(np.nan_to_num(frames), bad_labels)
        with pytest.raises(ValueError, match="data holds no samples"):
            call(frames[:0], labels[:0])
    for p, b in zip(trainer.params, before):
        assert torch.equal(p, b) and p.grad is None
    assert all(not o.state for o in trainer.optimizers)
    assert trainer.generator.bit_generator.state == shuffle
    assert trainer.fit_epoch(np.nan_to_num(frames), labels, 3) >= 0  # the cleaned data train
    assert not torch.equal(trainer.params[0], before[0])


def test_bptt_backward_uses_the_networks_psi(rng):
    """Same weights and batch, two surrogates: the hidden layers' BPTT gradients differ
    (the backward pass goes through Psi), the read-out's gradient is identical (it depends
    on the forward pass only, which Psi does not enter)."""
    from lava_local.kernels.surrogate import Surrogate

    frames, labels = _data(rng, n=6, rate=0.3)
    x, y = torch.as_tensor(frames, dtype=torch.float64), torch.as_tensor(labels)
    grads = {}
    for kind in ("triangular", "sigmoid"):
        net = Network(40, hidden=(16, 12), init_scale=3.0, seed=7, surrogate=Surrogate(kind))
        trainer = BPTTTrainer(net, device="cpu", dtype=torch.float64)
        trainer.compute_grads(x, y)
        grads[kind] = [p.grad.clone() for p in trainer.params]
    tri, sig = grads["triangular"], grads["sigmoid"]
    assert all(g.abs().sum() > 0 for g in tri + sig)
    for i in range(2):
        assert not torch.allclose(tri[i], sig[i]), f"hidden layer {i}: Psi does not reach the gradient"
    assert torch.equal(tri[-1], sig[-1])


def test_learning_memory_counts_the_steps_it_is_given(rng):
    """learning_memory_bytes runs all of x's steps: BPTT's saved activations grow with T
    (T = 8 holds more than T = 2), TESS's states do not (equal), a windowed TESS's buffers
    grow up to the window; measuring leaves no .grad behind."""
    from lava_local.costs import learning_memory_bytes

    net = Network(40, hidden=(16, 12), rule=TESS(filtered=False), init_scale=3.0)  # windows: unfiltered
    bptt, tess = BPTTTrainer(net, device="cpu"), LocalTrainer(net, device="cpu")
    windowed = LocalTrainer(net, device="cpu", window=8)
    held = {}
    for steps in (2, 8):
        x = torch.as_tensor(rng.random((3, steps, 40)) < 0.3, dtype=torch.float32)
        y = torch.as_tensor(rng.integers(0, 10, 3))
        held[steps] = [learning_memory_bytes(t, x, y) for t in (bptt, tess, windowed)]
    assert held[8][0] > 3 * held[2][0] > 0  # BPTT
    assert held[8][1] == held[2][1] > 0  # TESS
    assert held[8][2] > held[2][2] > held[2][1]  # TESS, window 8: T = 2 fills 2 of its steps
    assert all(p.grad is None for p in bptt.params)

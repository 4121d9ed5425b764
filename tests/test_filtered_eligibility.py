"""``LearningRule(filtered=True)``: the eligibility filtered by the read-out's leak
(e-prop's filtered eligibility) before it meets the signal: the read-out's error (S-TLLR
``bp``), or the local signal of the layer's spikes filtered by the same leak.

Checked against back-propagation through time, an independent computation: for the last
hidden layer (and the read-out) the filtered ``bp`` update is the gradient of the read-out's
summed per-step loss that ``BPTTTrainer`` computes with autograd (reset path detached), to
float64 rounding; without the filter it is not. Deeper layers keep S-TLLR's approximation
(the error crosses the layers above within the step). Under a local signal every layer's
update is the autograd gradient of its own summed local loss on its filtered spikes,
written here from the LIF equations.
"""
import numpy as np
import pytest
import torch

from lava_local.kernels import plasticity
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.plasticity import EligibilityParams, filtered_eligibility_step, filtered_update
from lava_local.network import Network
from lava_local.rules import LLS, STLLR, TESS
from lava_local.trainer import BPTTTrainer, LocalTrainer

pytestmark = pytest.mark.timeout(120)

TEMPORAL = dict(neuron=LIFParams(gamma=0.9), readout_gamma=0.9)


def _grads(trainer, x, y):
    trainer.compute_grads(x, y)
    return [p.grad.detach().clone() for p in trainer.params]


@pytest.mark.parametrize("hidden", [(16,), (16, 12)], ids=["one-layer", "two-layers"])
def test_filtered_bp_is_the_bptt_gradient_of_the_last_hidden_layer(hidden, rng):
    x = torch.as_tensor(rng.random((3, 30, 20)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor(rng.integers(0, 4, 3))
    rule = STLLR(feedback="bp", filtered=True)  # causal term only, pre trace decaying as the membrane
    make = lambda r: Network(20, hidden=hidden, n_classes=4, rule=r, init_scale=3.0, seed=1, **TEMPORAL)  # noqa: E731
    bptt = _grads(BPTTTrainer(make(rule), device="cpu", dtype=torch.float64), x, y)
    filtered = _grads(LocalTrainer(make(rule), device="cpu", dtype=torch.float64), x, y)
    plain = _grads(LocalTrainer(make(rule.with_(filtered=False)), device="cpu", dtype=torch.float64), x, y)
    for got, want in zip(filtered[-2:], bptt[-2:]):  # the last hidden layer and the read-out
        assert want.abs().max() > 1e-3
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
    gap = (plain[-2] - bptt[-2]).abs().max() / bptt[-2].abs().max()
    assert gap > 0.05, "without the filter the update is not the gradient"
    if len(hidden) > 1:  # the first layer's error crosses the second within the step: not the gradient
        assert (filtered[0] - bptt[0]).abs().max() / bptt[0].abs().max() > 1e-3


@pytest.mark.parametrize("gain", [1.0, 0.2], ids=["sum", "unit-gain"])
@pytest.mark.parametrize("backend", ["numpy", "torch", "torch, one product per sample"])
def test_the_filter_written_out_element_by_element(rng, backend, gain, monkeypatch):
    """e_bar[t]_ji = sum over t' <= t of decay**(t - t') g (a Psi_j(t') q_i(t') + b h_j(t') pre_i(t')),
    and dW_ji = sum over t and samples of m_j(t) e_bar[t]_ji, in plain loops, with the input
    gain g = 1 (the read-out's sum) and g = 1 - decay (unit gain); torch's in-place paths, the
    per-sample loop for large states included, compute the same."""
    steps, batch, n_out, n_in, decay = 6, 2, 3, 4, 0.8
    params = EligibilityParams(0.5, 0.2, 1.0, -0.7)
    psi, h, m = (rng.random((steps, batch, n_out)) for _ in range(3))
    q, pre = (rng.random((steps, batch, n_in)) for _ in range(2))
    as_array = np.asarray if backend == "numpy" else torch.from_numpy
    if backend == "torch, one product per sample":
        monkeypatch.setattr(plasticity, "_SAMPLE_LOOP_ABOVE", 0)
    e_bar, dw = None, as_array(np.zeros((n_out, n_in)))
    for t in range(steps):
        e_bar = filtered_eligibility_step(e_bar, *map(as_array, (psi[t], h[t], q[t], pre[t])), params, decay,
                                          in_place=t % 2 == 1, gain=gain)
        filtered_update(as_array(m[t]), e_bar, out=dw)
    dw = np.asarray(dw)
    want = np.zeros((n_out, n_in))
    for t in range(steps):
        for b in range(batch):
            for j in range(n_out):
                for i in range(n_in):
                    e = sum(decay ** (t - s) * gain * (params.alpha_pre * psi[s, b, j] * q[s, b, i]
                                                       + params.alpha_post * h[s, b, j] * pre[s, b, i])
                            for s in range(t + 1))
                    want[j, i] += m[t, b, j] * e
    np.testing.assert_allclose(dw, want, rtol=1e-12)


def _local_loss_gradients(net, x, y, scale):
    """Each hidden layer's gradient of its own summed local loss
    ``sum_t mean_b CE(s B o_bar[t], y)``, ``o_bar[t] = gamma_ro o_bar[t-1] + o[t]``, ``s =
    scale(d)``, by autograd through ``u[t] = gamma (u[t-1] - v_th o[t-1]) + W x[t]`` (reset
    detached; the spike's surrogate gradient is BPTT's), each layer's input taken as given (a
    local rule credits no layer below)."""
    from lava_local.kernels.basis import make_basis
    from lava_local.trainer.bptt import _Spike

    neuron, signal = net.neuron, net.rule.signal
    assert neuron.reset == "subtract"
    grads, pre = [], x
    for w0 in net.weights[:-1]:
        w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
        basis = torch.tensor(make_basis(signal.basis, net.n_classes, w.shape[0]), dtype=torch.float64)
        basis = basis * scale(w.shape[0])
        u = o = o_bar = torch.zeros(x.shape[0], w.shape[0], dtype=torch.float64)
        loss, out = 0.0, []
        for t in range(x.shape[1]):
            u = neuron.gamma * (u - neuron.v_th * o.detach()) + pre[:, t] @ w.T
            o = _Spike.apply(u, neuron.v_th, net.surrogate)
            o_bar = net.readout_gamma * o_bar + o
            if t >= net.rule.t_l:
                loss = loss + torch.nn.functional.cross_entropy(o_bar @ basis.T, y)
            out.append(o.detach())
        loss.backward()
        grads.append(w.grad)
        pre = torch.stack(out, 1)
    return grads


@pytest.mark.parametrize("rule", [STLLR(filtered=True), STLLR(filtered=True, t_l=10)], ids=["t_l=0", "t_l=10"])
def test_filtered_local_signal_is_the_gradient_of_each_layers_own_local_loss(rule, rng):
    """S-TLLR's causal eligibility (pre trace decaying as the membrane) filtered by the
    read-out's leak, met by the local signal of the spikes filtered alike: each of two hidden
    layers learns the gradient of its own per-step local loss, its classifier at the basis
    over sqrt(d) (S-TLLR's ``filtered_scale``); without the filter it does not."""
    assert rule.feedback == "local" and rule.eligibility.alpha_post == 0
    x = torch.as_tensor(rng.random((3, 30, 20)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor(rng.integers(0, 4, 3))
    make = lambda r: Network(20, hidden=(16, 12), n_classes=4, rule=r, init_scale=3.0, seed=1, **TEMPORAL)  # noqa: E731
    want = _local_loss_gradients(make(rule), x, y, scale=lambda d: d ** -0.5)
    got = _grads(LocalTrainer(make(rule), device="cpu", dtype=torch.float64), x, y)
    plain = _grads(LocalTrainer(make(rule.with_(filtered=False)), device="cpu", dtype=torch.float64), x, y)
    for i, w in enumerate(want):
        assert w.abs().max() > 1e-3
        torch.testing.assert_close(got[i], w, rtol=1e-9, atol=1e-12)
        assert (plain[i] - w).abs().max() / w.abs().max() > 0.05, "without the filter it is another update"


def test_a_unit_gain_filter_is_the_local_loss_gradient_scaled_by_one_minus_the_leak(rng):
    """``filtered_gain="unit"``: each filtered layer learns the gradient of its own local loss
    on its filtered spikes (autograd, as above) times ``1 - gamma_ro``: the same direction,
    an update the size of an unfiltered layer's; the signal still reads the read-out's sum."""
    rule = STLLR(filtered=True, filtered_gain="unit")
    x = torch.as_tensor(rng.random((3, 30, 20)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor(rng.integers(0, 4, 3))
    net = Network(20, hidden=(16, 12), n_classes=4, rule=rule, init_scale=3.0, seed=1, **TEMPORAL)
    want = _local_loss_gradients(net, x, y, scale=lambda d: d ** -0.5)
    got = _grads(LocalTrainer(net, device="cpu", dtype=torch.float64), x, y)
    for g, w in zip(got, want):
        assert w.abs().max() > 1e-3
        torch.testing.assert_close(g, (1 - TEMPORAL["readout_gamma"]) * w, rtol=1e-9, atol=1e-12)


def test_filtered_gain_is_validated_and_sets_the_filters_input_gain():
    """TESS filters at unit gain by default, S-TLLR and LLS with the read-out's sum; a rule
    stored before the option (no ``filtered_gain`` in its config) reads back with the sum."""
    from lava_local.interchange import rule_config, rule_from_config

    assert TESS().filtered_gain == "unit" and TESS().filter_input_gain(0.9) == pytest.approx(0.1)
    assert STLLR().filtered_gain == LLS().filtered_gain == "sum" and STLLR().filter_input_gain(0.9) == 1.0
    assert TESS().filter_input_gain(None) == 1.0  # a layer without a filter
    with pytest.raises(ValueError, match="filtered_gain must be one of 'sum', 'unit'"):
        TESS(filtered_gain="mean")
    assert rule_from_config(rule_config(TESS())) == TESS()
    stored = rule_config(TESS())
    del stored["filtered_gain"]
    assert rule_from_config(stored) == TESS(filtered_gain="sum")


def test_a_unit_gain_filter_takes_its_gain_in_the_fixed_point_learning_rate():
    """In integers the filtered eligibility keeps the read-out's sum (full precision) and a
    unit-gain filter's ``1 - decay`` goes into the layer's learning rate: its weight step
    before the stochastic rounding (``dW_int lr_mant / 2**lr_shift``), in float units, is the
    float kernel's ``lr (1 - decay) dW_sum`` to the integer update's error, a tenth of the
    sum filter's step at decay 0.9."""
    from lava_local.fixed_point import DEFAULT_SCALE, quantize_dense_layer
    from lava_local.kernels.surrogate import Surrogate

    flt, fix, fixed, rule = _float_and_fixed_steps(True, np.random.default_rng(5))
    w = np.random.default_rng(5).normal(0, 3 / np.sqrt(30), (16, 30))  # as _float_and_fixed_steps draws them
    neuron = LIFParams(gamma=0.9, v_th=0.6)
    summed, unit = (quantize_dense_layer(w, neuron, Surrogate(), rule.with_(filtered_gain=gain), 16,
                                         filter_decay=0.9)[0] for gain in ("sum", "unit"))
    step = lambda p: p.lr_mant / 2.0 ** p.lr_shift  # noqa: E731
    assert step(unit) / step(summed) == pytest.approx(0.1, rel=1 / 128)
    assert (unit.filter, unit.error, unit.alpha_pre) == (summed.filter, summed.error, summed.alpha_pre)
    want = rule.lr * flt.dw  # the float layer's step under the sum filter (the float step's gain 1): W -= lr dW
    assert np.abs(want).max() > 0
    for p, gain in ((summed, 1.0), (unit, 0.1)):
        got = fix.dw * step(p) * 2.0 ** fixed.weight_exp / DEFAULT_SCALE
        assert np.corrcoef(got.ravel(), gain * want.ravel())[0, 1] > 0.99
        assert np.abs(got).max() == pytest.approx(gain * np.abs(want).max(), rel=0.15)


@pytest.mark.parametrize("rule", [TESS(), STLLR(feedback="bp")], ids=["tess", "stllr-bp"])
def test_filtered_last_filters_the_last_hidden_layer_alone(rule, rng):
    """``filtered="last"``: the last hidden layer learns what ``filtered=True`` gives it (the
    gradient of its local loss on its filtered spikes, or of the read-out's loss, tested
    above), the layers below what the unfiltered rule gives them; it holds a filtered state
    for the last layer's synapses only."""
    x = torch.as_tensor(rng.random((3, 30, 20)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor(rng.integers(0, 4, 3))
    make = lambda f: Network(20, hidden=(16, 12, 10), n_classes=4, rule=rule.with_(filtered=f),  # noqa: E731
                             init_scale=3.0, seed=1, **TEMPORAL)
    assert [make("last").layer_filtered(i) for i in range(3)] == [False, False, True]
    trainers = {f: LocalTrainer(make(f), device="cpu", dtype=torch.float64) for f in (False, True, "last")}
    grads = {f: _grads(t, x, y) for f, t in trainers.items()}
    for i in range(3):
        want, other = (True, False) if i == 2 else (False, True)
        torch.testing.assert_close(grads["last"][i], grads[want][i], rtol=1e-9, atol=1e-12)
        assert (grads[other][i] - grads[want][i]).abs().max() / grads[want][i].abs().max() > 1e-3
    states = 12 * 10 + (10 if rule.feedback == "local" else 0)  # e_bar per synapse, o_bar per neuron
    assert trainers["last"].filtered_bytes == 3 * states * 8  # batch x states x float64


def test_filtered_is_refused_where_it_does_not_apply():
    with pytest.raises(TypeError, match="a bool, 'last' or 'auto'"):
        TESS(filtered="first")
    with pytest.raises(ValueError, match="timing='paper'"):
        TESS(filtered="last", timing="loihi")
    with pytest.raises(ValueError, match="timing='paper'"):
        STLLR(feedback="bp", filtered=True, timing="loihi")
    with pytest.raises(ValueError, match="timing='paper'"):
        TESS(filtered=True, timing="loihi")
    with pytest.raises(ValueError, match="apply='sample'"):
        TESS(filtered=True, apply="step")
    from lava_local.network import Conv

    with pytest.raises(ValueError, match="dense and recurrent layers only"):
        LocalTrainer(Network((2, 8, 8), hidden=(Conv(4),), n_classes=4, rule=STLLR(feedback="bp", filtered=True)))
    with pytest.raises(ValueError, match="step by step"):
        LocalTrainer(Network(20, hidden=(16,), n_classes=4, rule=TESS(filtered=True)), window=4)
    with pytest.raises(ValueError, match="dense and recurrent layers only"):  # the last layer a conv
        LocalTrainer(Network((2, 8, 8), hidden=(Conv(4),), n_classes=4, rule=TESS(filtered="last")))
    LocalTrainer(Network((2, 8, 8), hidden=(Conv(4), 16), n_classes=4, rule=TESS(filtered="last")))  # a dense one


def test_filtered_auto_filters_the_last_hidden_layer_where_it_can_hold_the_state(rng):
    """``filtered="auto"`` (the rules' default): the network resolves it to ``"last"`` where the
    last hidden layer is dense or recurrent and the rule learns at ``timing="paper"``,
    ``apply="sample"``, to ``False`` elsewhere; the trainer then learns exactly what
    ``filtered="last"`` learns, and a layer process on its own is unfiltered."""
    from lava_local.network import Conv, Recurrent
    from lava_local.proc.dense_layer import DenseLayer

    assert TESS().filtered == LLS().filtered == STLLR().filtered == "auto"
    resolved = lambda hidden, n_in=20, **rule: Network(n_in, hidden=hidden, n_classes=4,  # noqa: E731
                                                       rule=TESS(**rule)).rule.filtered
    assert resolved((16, 12)) == "last" and resolved((Recurrent(16),)) == "last"
    assert resolved((Conv(4), 16), n_in=(2, 8, 8)) == "last"
    assert resolved((Conv(4),), n_in=(2, 8, 8)) is False  # a conv layer holds no state per synapse
    assert resolved(()) is False
    assert resolved((16,), timing="loihi") is False and resolved((16,), apply="step") is False
    assert resolved((16,), filtered=False) is False  # a value given is kept
    # S-TLLR filters under its back-propagated and local signals; its DFA signal's filter is unmeasured
    stllr = lambda feedback: Network(20, hidden=(16, 12), n_classes=4,  # noqa: E731
                                     rule=STLLR(feedback=feedback)).rule.filtered
    assert stllr("bp") == "last" and stllr("local") == "last" and stllr("dfa") is False

    x = torch.as_tensor(rng.random((3, 20, 20)) < 0.3, dtype=torch.float64)
    y = torch.as_tensor(rng.integers(0, 4, 3))
    default, last, plain = (_grads(LocalTrainer(Network(20, hidden=(16, 12), n_classes=4, rule=TESS(**f), seed=2,
                                                        **TEMPORAL), device="cpu", dtype=torch.float64), x, y)
                            for f in ({}, {"filtered": "last"}, {"filtered": False}))
    for d, w in zip(default, last):
        assert torch.equal(d, w)
    assert (default[1] - plain[1]).abs().max() / plain[1].abs().max() > 1e-3  # the last layer is filtered

    with pytest.raises(ValueError, match="give the rule filtered=False"):
        LocalTrainer(Network(20, hidden=(16,), n_classes=4, rule=TESS()), window=4)
    LocalTrainer(Network(20, hidden=(16,), n_classes=4, rule=TESS(filtered=False)), window=4)
    LocalTrainer(Network((2, 8, 8), hidden=(Conv(4),), n_classes=4, rule=TESS()), window=4)  # resolved False

    layer = DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=5, rule=TESS().for_classes(4))
    assert layer.proc_params["rule"].filtered is False


@pytest.mark.timeout(60)
def test_the_lava_dense_layer_takes_a_filtered_rule_with_the_read_outs_leak():
    """One eligibility per synapse: the DenseLayer keeps it, given the read-out's leak it
    follows (and only a filtered rule takes one); the ConvLayer refuses the rule."""
    from lava_local.proc.conv_layer import ConvLayer
    from lava_local.proc.dense_layer import DenseLayer

    rule = TESS(filtered=True).for_classes(4)
    with pytest.raises(ValueError, match="needs filter_decay"):
        DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=5, rule=rule)
    with pytest.raises(ValueError, match="only such a rule"):
        DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=5, rule=TESS().for_classes(4), filter_decay=0.9)
    with pytest.raises(ValueError, match="Network.layer_rule"):
        DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=5, rule=TESS(filtered="last").for_classes(4),
                   filter_decay=0.9)
    layer = DenseLayer(weights=np.zeros((8, 6)), steps_per_sample=5, rule=rule, filter_decay=0.9)
    assert layer.proc_params["fixed"].filter.decay == round(4096 * 0.1)  # the read-out's 12-bit decay
    with pytest.raises(ValueError, match="the ConvLayer does not"):
        ConvLayer(weights=np.zeros((2, 1, 3, 3)), in_shape=(1, 6, 6), steps_per_sample=5, rule=rule)


@pytest.mark.parametrize("feedback", ["bp", "local"])
def test_learning_memory_counts_one_filtered_eligibility_per_synapse_and_sample(feedback, rng):
    """Under a local signal, the filtered spikes too: one more state per neuron and sample."""
    from lava_local.costs import learning_memory_bytes

    x = torch.as_tensor(rng.random((4, 6, 20)) < 0.3, dtype=torch.float32)
    y = torch.as_tensor([0, 1, 2, 3])
    make = lambda f: Network(20, hidden=(16, 12), n_classes=4, rule=STLLR(feedback=feedback, filtered=f))  # noqa: E731
    held = {f: learning_memory_bytes(LocalTrainer(make(f), device="cpu"), x, y) for f in (False, True)}
    neurons = (16 + 12) if feedback == "local" else 0
    assert held[True] - held[False] == 4 * (16 * 20 + 12 * 16 + neurons) * 4  # batch x states x float32


@pytest.mark.parametrize("readout_learns", [False, True], ids=["fixed-readout", "learned-readout"])
def test_a_fixed_basis_readout_makes_the_last_layers_local_loss_the_networks_loss(readout_learns, rng):
    """``Network(readout_init="basis", readout_learns=False)``: the read-out stays the last
    hidden layer's local classifier, so after training steps too the filtered local update of
    that layer is the BPTT gradient of the network's own loss (autograd, reset path detached);
    a read-out that learns moves away from it."""
    # a local signal on TESS's basis and scale (the read-out's start) with the causal
    # eligibility (alpha_post 0): a gradient
    rule = STLLR(filtered=True, signal=TESS().signal)
    data = torch.as_tensor(rng.random((8, 30, 20)) < 0.3, dtype=torch.float64)
    labels = torch.as_tensor(rng.integers(0, 4, 8))
    net = Network(20, hidden=(16, 12), n_classes=4, rule=rule, init_scale=3.0, readout_init="basis",
                  readout_learns=readout_learns, seed=1, **TEMPORAL)
    start = net.weights[-1].copy()
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=0.05)
    for k in range(0, 6, 2):
        trainer.train_step(data[k:k + 2], labels[k:k + 2])
    trainer.sync_to_network()
    assert not np.allclose(net.weights[-2], Network(20, hidden=(16, 12), n_classes=4, rule=rule, init_scale=3.0,
                                                    seed=1, **TEMPORAL).weights[-2]), "the last layer must learn"
    assert np.array_equal(net.weights[-1], start) == (not readout_learns)
    x, y = data[6:], labels[6:]
    local = _grads_or_none(LocalTrainer(net, device="cpu", dtype=torch.float64), x, y)
    bptt = _grads_or_none(BPTTTrainer(net, device="cpu", dtype=torch.float64), x, y)
    assert (local[-1] is None, bptt[-1] is None) == (not readout_learns, not readout_learns)
    assert bptt[-2].abs().max() > 1e-3
    if readout_learns:
        assert (local[-2] - bptt[-2]).abs().max() / bptt[-2].abs().max() > 0.05
    else:
        torch.testing.assert_close(local[-2], bptt[-2], rtol=1e-9, atol=1e-12)


def _grads_or_none(trainer, x, y):
    trainer.compute_grads(x, y)
    return [None if p.grad is None else p.grad.detach().clone() for p in trainer.params]


def _float_and_fixed_steps(filtered: bool, rng: np.random.Generator, steps: int = 24):
    """One labelled sample through a dense layer in float and in fixed point, on the same
    quantised weights (4 classes, 30 -> 16, leaks 0.9): the two final states, the fixed
    layer's parameters and the float rule."""
    from lava_local.fixed_point import DEFAULT_SCALE, quantize_dense_layer
    from lava_local.kernels.basis import make_basis
    from lava_local.kernels.layer import dense_layer_init, dense_layer_step, dense_layer_step_fixed
    from lava_local.kernels.learning_signal import one_hot
    from lava_local.kernels.surrogate import Surrogate

    n_in, n_out, decay, label = 30, 16, 0.9, 2
    neuron, surrogate = LIFParams(gamma=0.9, v_th=0.6), Surrogate()
    rule = TESS(filtered=filtered).for_classes(4).for_neuron(neuron).for_steps(steps)
    w = rng.normal(0, 3 / np.sqrt(n_in), (n_out, n_in))
    fixed, quantized = quantize_dense_layer(w, neuron, surrogate, rule, n_out, filter_decay=decay if filtered else None)
    weights = quantized.weights * 2.0 ** fixed.weight_exp / DEFAULT_SCALE  # the same weights in float
    basis = make_basis("square", 4, n_out)
    frames = (rng.random((steps, n_in)) < 0.3).astype(np.int64)
    flt = dense_layer_init(n_in, n_out, float, filtered=filtered)
    fix = dense_layer_init(n_in, n_out, np.int64, filtered=filtered)
    for t in range(steps):
        flt = dense_layer_step(flt, frames[t].astype(float), weights, neuron, surrogate, rule.eligibility, basis,
                               rule.signal, one_hot(label, 4), filter_decay=decay if filtered else None)
        fix = dense_layer_step_fixed(fix, frames[t], quantized.weights, fixed, basis.astype(np.int64), label)
        np.testing.assert_array_equal(fix.o, flt.o)  # the same spikes: what differs is the arithmetic
    return flt, fix, fixed, rule


def test_the_fixed_point_filtered_step_tracks_the_float_one():
    """The integer filtered eligibility, filtered spikes and update (decayed toward zero as
    the fixed-point read-out's membrane, logits rounded to whole spikes) follow the float
    kernel on the same quantised layer and spikes, as closely as the unfiltered integer
    update follows its float one: filtered spikes to 1/256 a step, and the update's error
    no more than the pre trace's own rounding gives the unfiltered update."""
    errors, sizes = {}, {}
    for filtered in (False, True):
        flt, fix, fixed, rule = _float_and_fixed_steps(filtered, np.random.default_rng(5))
        update_unit = 2.0 ** (fixed.error.frac_bits + fixed.psi.frac_bits) * fixed.pre_impulse
        dw_fixed = fix.dw * rule.signal.basis_scale(16) / update_unit
        sizes[filtered] = np.abs(flt.dw).max()
        errors[filtered] = np.abs(dw_fixed - flt.dw).max() / sizes[filtered]
        assert np.corrcoef(dw_fixed.ravel(), flt.dw.ravel())[0, 1] > 0.99
    assert flt.o_bar.max() > 1.5 and sizes[True] > 5 * sizes[False]  # filtered over many steps: a larger update
    np.testing.assert_allclose(fix.o_bar / 2 ** 8, flt.o_bar, atol=24 / 256)
    eligibility_unit = 2.0 ** fixed.psi.frac_bits * fixed.pre_impulse
    assert np.abs(fix.e_bar / eligibility_unit - flt.e_bar).max() < 0.15 * np.abs(flt.e_bar).max()
    assert errors[False] > 0.01  # the integer pre trace's floor decay: about 10 % here
    assert errors[True] < 1.5 * errors[False]


def test_stllr_local_signal_gives_its_filtered_last_layer_the_readouts_scale():
    """``STLLR()``: the layers below the last learn from the +-1 basis, the last hidden layer,
    filtered by default, from the basis over sqrt(d), which is where the read-out starts (its
    local loss is then that of the read-out at its start); the trainer's bases written out.
    Unfiltered, every layer stays at +-1; ``filtered=True`` puts every layer at 1/sqrt(d); TESS
    and LLS, whose ``filtered_scale`` is their scale, are unchanged."""
    from lava_local.interchange import rule_config, rule_from_config
    from lava_local.kernels.basis import make_basis

    def bases(rule):
        net = Network(20, hidden=(16, 12), n_classes=4, rule=rule, seed=1)
        return net, LocalTrainer(net, device="cpu", dtype=torch.float64).signal_bases

    square = [torch.as_tensor(make_basis("square", 4, d), dtype=torch.float64) for d in (16, 12)]
    net, got = bases(STLLR())
    assert net.rule.filtered == "last"
    torch.testing.assert_close(got[0], square[0], rtol=0, atol=0)
    torch.testing.assert_close(got[1], square[1] / 12 ** 0.5, rtol=1e-15, atol=0)
    np.testing.assert_allclose(net.weights[-1], got[1].numpy(), rtol=1e-15)  # the read-out's start
    for rule, scales in ((STLLR(filtered=False), (1.0, 1.0)), (STLLR(filtered=True), (16 ** -0.5, 12 ** -0.5)),
                         (TESS(), (16 ** -0.5, 12 ** -0.5))):
        for g, b, s in zip(bases(rule)[1], square, scales):
            torch.testing.assert_close(g, b * s, rtol=1e-15, atol=0)
    for g, d in zip(bases(LLS())[1], (16, 12)):  # LLS's sine basis keeps its 1/sqrt(d) on both layers
        torch.testing.assert_close(g, torch.as_tensor(make_basis("sine", 4, d), dtype=torch.float64) / d ** 0.5,
                                   rtol=1e-15, atol=0)
    assert rule_from_config(rule_config(STLLR())) == STLLR()  # checkpoints and NIR files keep it


def test_filtered_scale_is_validated_and_resolved():
    from lava_local.kernels.learning_signal import SignalParams

    signal = SignalParams(scale=None, filtered_scale="1/sqrt(d)")
    assert signal.for_filtered().basis_scale(64) == 0.125 and signal.basis_scale(64) == 1.0
    assert SignalParams(scale="1/d").for_filtered() == SignalParams(scale="1/d")  # "scale": kept
    assert SignalParams(filtered_scale=0.5).for_filtered().basis_scale(64) == 0.5
    with pytest.raises(ValueError, match="scale='rate'"):
        SignalParams(filtered_scale="rate")
    with pytest.raises(ValueError, match="filtered_scale"):
        SignalParams(filtered_scale=-1.0)
    with pytest.raises((TypeError, ValueError), match="filtered_scale"):
        SignalParams(filtered_scale="1/d^2")

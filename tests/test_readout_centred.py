"""The centred read-out (``Network(readout_centred=True)``): its step and its mean, written
out element by element; the Lava network, float and fixed point, equal to the reference;
the mean it keeps is the running mean of its input over the learning samples; NIR's
Affine read-out. (Data-parallel training: tests/test_distributed.py; netx: tests/test_export.py.)"""
import numpy as np
import pytest

from lava_local.kernels.layer import (
    CENTRE_FRAC_BITS,
    centre_shift,
    input_mean_update,
    input_mean_update_fixed,
    readout_init,
    readout_step,
    readout_step_fixed,
)
from lava_local.kernels.neuron import LIFParams
from lava_local.network import Network
from lava_local.reference import reference_run
from lava_local.rules import TESS

pytestmark = pytest.mark.timeout(120)


def test_the_means_steps_are_shifts_from_the_plain_mean_down_to_a_sixteenth():
    assert [centre_shift(n) for n in range(1, 20)] == [0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    rates = np.array([[0.5, 0.0], [0.25, 1.0], [0.0, 0.5]])
    steps = 8
    mean = np.zeros(2)
    for seen, rate in enumerate(rates, 1):
        mean = input_mean_update(mean, rate * steps, steps, seen)
    # the first sample's rate, the mean of two, then a quarter of the way to the third
    first_two = (rates[0] + rates[1]) / 2
    np.testing.assert_allclose(mean, first_two + (rates[2] - first_two) / 4)


def test_the_integer_mean_tracks_the_float_mean_within_its_rounding(rng):
    steps, n = 50, 64
    mean, mean_fixed = np.zeros(n), np.zeros(n, np.int64)
    for seen in range(1, 41):
        counts = rng.binomial(steps, rng.random(n))
        mean = input_mean_update(mean, counts, steps, seen)
        mean_fixed = input_mean_update_fixed(mean_fixed, counts, steps, seen)
    # the rate floors, the shift rounds: within the shift's half step (8 units) and the rate's unit
    error = mean - mean_fixed / 2.0**CENTRE_FRAC_BITS
    assert np.all(np.abs(error) <= 9 / 2.0**CENTRE_FRAC_BITS)
    assert abs(error.mean()) < 2 / 2.0**CENTRE_FRAC_BITS  # and no drift one way


def test_the_centred_step_integrates_the_spikes_less_their_mean(rng):
    n_in, n_classes, gamma = 6, 3, 0.8
    weights = rng.normal(size=(n_classes, n_in))
    mean = rng.random(n_in)
    spikes = (rng.random((5, n_in)) < 0.4).astype(float)
    target = np.eye(n_classes)[1]
    state = readout_init(n_in, n_classes)
    u, q, score, dw = np.zeros(n_classes), np.zeros(n_in), np.zeros(n_classes), np.zeros((n_classes, n_in))
    for o in spikes:
        state = readout_step(state, o, weights, gamma, target, mean=mean)
        for j in range(n_in):
            q[j] = gamma * q[j] + (o[j] - mean[j])
        for c in range(n_classes):
            u[c] = gamma * u[c] + sum(weights[c, j] * (o[j] - mean[j]) for j in range(n_in))
        p = np.exp(u - u.max()) / np.exp(u - u.max()).sum()
        for c in range(n_classes):
            for j in range(n_in):
                dw[c, j] += (p[c] - target[c]) * q[j]
        score += u
    np.testing.assert_allclose(state.u, u)
    np.testing.assert_allclose(state.q, q)
    np.testing.assert_allclose(state.score, score)
    np.testing.assert_allclose(state.dw, dw)


def test_the_fixed_centred_step_with_a_zero_mean_scores_as_the_plain_step(rng):
    from lava_local.fixed_point import quantize_readout

    weights = rng.normal(0, 0.3, size=(4, 20))
    plain, quantized = quantize_readout(weights, 0.8, 1e-3)
    centred, _ = quantize_readout(weights, 0.8, 1e-3, centred=True)
    assert centred.centre_bits == CENTRE_FRAC_BITS and plain.centre_bits == 0
    a = b = readout_init(20, 4, np.int64)
    for o in (rng.random((12, 20)) < 0.3).astype(np.int64):
        a = readout_step_fixed(a, o, quantized.weights, plain, 2)
        b = readout_step_fixed(b, o, quantized.weights, centred, 2, mean=np.zeros(20, np.int64))
        # the same scores; the centred trace is the plain one 2**F finer: the plain trace's
        # floor loses up to a unit a step, which decays at 0.8 (at most 5 units in all)
        np.testing.assert_array_equal(b.u, a.u)
        lost = b.q - (a.q << CENTRE_FRAC_BITS)
        assert np.all(lost >= 0) and np.all(lost < 5 << CENTRE_FRAC_BITS)


def _data(rng, n=14, steps=8, n_in=40, rate=0.25):
    frames = (rng.random((n, steps, n_in)) < rate).astype(np.uint8)
    return frames, rng.integers(0, 10, size=n)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_lava_network_with_a_centred_readout_equals_the_reference_and_predicts_with_its_mean(numeric, rng):
    frames, labels = _data(rng)
    kwargs = dict(hidden=(16, 12), rule=TESS(lr=0.05), init_scale=3.0, readout_lr=0.05, readout_centred=True,
                  seed=3)
    net, ref_net, plain = Network(40, **kwargs), Network(40, **kwargs), Network(40, **kwargs | {"readout_centred": False})
    history = net.fit((frames[:10], labels[:10]), (frames[10:], labels[10:]), epochs=2, numeric=numeric,
                      progress=False)
    schedule, learn = ref_net.schedule(10, 4, 2)
    predictions, weights, _ = reference_run(ref_net, frames, labels, schedule, learn, numeric)
    assert history.test_accuracy == pytest.approx(
        [np.mean(predictions[e * 14 + 10:(e + 1) * 14] == labels[10:]) for e in range(2)])
    np.testing.assert_array_equal(history.test_predictions[-1], predictions[-4:])
    if numeric == "fixed":  # the network hands back float weights: mantissa * 2**exp / scale
        from lava_local.fixed_point import quantize_dense_layer, quantize_readout

        exps = [quantize_dense_layer(w, ref_net.neuron, ref_net.surrogate, ref_net.rule, w.shape[0])[0].weight_exp
                for w in ref_net.weights[:-1]]
        exps.append(quantize_readout(ref_net.weights[-1], 0.5, 0.05)[0].weight_exp)
        weights = [w * 2.0**e / 1024 for w, e in zip(weights, exps)]
    for got, want in zip(net.weights, weights):
        np.testing.assert_array_equal(got, want)
    # the read-out kept a mean of its 20 learning samples, and predicting afterwards uses it
    assert net.readout_seen == 20 and np.all(net.readout_mean >= 0) and 0 < net.readout_mean.max() < 1
    np.testing.assert_array_equal(net.predict(frames[10:], numeric=numeric), predictions[-4:])
    # centring is not a no-op: the plain read-out learns otherwise from the same start
    plain_predictions, plain_weights, _ = reference_run(plain, frames, labels, schedule, learn, numeric)
    assert not np.array_equal(plain_weights[-1], weights[-1])


def test_the_mean_is_the_running_mean_of_the_learning_samples_input(rng):
    """Hidden layers frozen: the read-out's input per sample is known beforehand, and the
    mean the Lava network hands back is the schedule of shifts over it, written out."""
    frames, labels = _data(rng)
    net = Network(40, hidden=(16,), init_scale=3.0, frozen=True, readout_centred=True, seed=5)
    spikes = [reference_run(net, frames, labels, [k], [False])[2][-1].reshape(8, -1) for k in range(14)]
    net.fit((frames[:10], labels[:10]), (frames[10:], labels[10:]), epochs=2, progress=False)
    schedule, learn = net.schedule(10, 4, 2)
    mean, seen = np.zeros(16), 0
    for k, learns in zip(schedule, learn):
        if learns:
            seen += 1
            step = 1.0 if seen == 1 else 0.5 if seen == 2 else 0.25 if seen <= 4 else 0.125 if seen <= 8 else 1 / 16
            mean = mean + step * (spikes[k].mean(axis=0) - mean)
    assert net.readout_seen == 20
    np.testing.assert_allclose(net.readout_mean, mean, rtol=1e-12, atol=1e-12)


def test_a_fixed_readout_cannot_be_centred():
    with pytest.raises(ValueError, match="fixed read-out"):
        Network(40, hidden=(16,), readout_centred=True, readout_learns=False)


def test_nir_writes_the_centred_readout_as_an_affine_node_and_import_restores_it(tmp_path, rng):
    """The graph's read-out, evaluated from NIR's definitions (``W o + b`` into an LI under
    forward Euler), scores as the centred read-out; import gives back the centred network,
    which goes on learning as the original; a bias that the mean does not explain is refused."""
    nir = pytest.importorskip("nir")
    from lava_local.interchange import export_nir, import_nir, to_nir

    frames, labels = _data(rng)
    net = Network(40, hidden=(16, 12), rule=TESS(lr=0.05), init_scale=3.0, readout_lr=0.05, readout_centred=True,
                  neuron=LIFParams(reset="zero"), seed=3)
    net.readout_mean, net.readout_seen = rng.uniform(0.05, 0.6, size=12), 9
    graph = to_nir(net)
    affine, li = graph.nodes["readout.affine"], graph.nodes["readout.li"]
    assert isinstance(affine, nir.Affine) and isinstance(li, nir.LI)
    for k in range(10, 14):  # a test sample: the reference's prediction against the graph's
        prediction, _, spikes = reference_run(net, frames, labels, [k], [False])
        v, score = np.zeros(10), np.zeros(10)
        for o in spikes[-1].reshape(frames.shape[1], -1):
            current = np.array([sum(affine.weight[c, i] * o[i] for i in range(12)) + affine.bias[c]
                                for c in range(10)])
            v = v + float(graph.metadata["dt"]) / li.tau * (li.v_leak - v + li.r * current)
            score += v
        assert score.argmax() == prediction[0]
        assert np.abs(score).max() > 0.1  # the read-out is not silent

    export_nir(net, tmp_path / "centred.nir")
    back = import_nir(tmp_path / "centred.nir")
    assert back.readout_centred and back.readout_seen == 9
    np.testing.assert_array_equal(back.readout_mean, net.readout_mean)
    schedule, learn = net.schedule(10, 4, 1)
    pred_a, w_a, _ = reference_run(net, frames, labels, schedule, learn)
    pred_b, w_b, _ = reference_run(back, frames, labels, schedule, learn)
    np.testing.assert_array_equal(pred_a, pred_b)
    for a, b in zip(w_a, w_b):
        np.testing.assert_array_equal(a, b)

    affine.bias = affine.bias + 0.5
    with pytest.raises(ValueError, match="does not give the bias of node 'readout.affine'"):
        import_nir(graph)
    li.metadata, graph.metadata = {}, {}  # another tool's read-out with a bias: nothing says what it centres
    with pytest.raises(ValueError, match=r"node 'readout.affine' \(Affine\) has a non-zero bias"):
        import_nir(graph)
    # the papers' read-out comes back plain; another tool's plain read-out takes the default
    plain = Network(40, hidden=(16,), neuron=LIFParams(reset="zero"), readout_centred=False)
    graph = to_nir(plain)
    assert import_nir(graph).readout_centred is False
    for node in graph.nodes.values():
        node.metadata = {}
    graph.metadata = {}
    assert import_nir(graph).readout_centred is True


def _trainers():
    torch = pytest.importorskip("torch")
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    return torch, LocalTrainer, BPTTTrainer


@pytest.mark.parametrize("rule", [TESS(lr=0.05), TESS(lr=0.05, filtered=True)], ids=["tess", "tess-filtered"])
def test_the_trainer_at_batch_one_learns_what_the_lava_float_network_learns(rule, rng):
    """SGD at the Lava rates, one sample a batch in the schedule's order: every weight, the
    mean and the test predictions as the Lava float network's (both paths of the local
    trainer: the plain rule, and the filtered one that runs step by step)."""
    torch, LocalTrainer, _ = _trainers()
    frames, labels = _data(rng)
    kwargs = dict(hidden=(16, 12), rule=rule, init_scale=3.0, readout_lr=0.05, readout_init="basis",
                  readout_centred=True, seed=3)
    lava_net, net = Network(40, **kwargs), Network(40, **kwargs)
    history = lava_net.fit((frames[:10], labels[:10]), (frames[10:], labels[10:]), epochs=1, progress=False)
    steps = frames.shape[1]
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd",
                           lr=[net.rule_for(steps).lr] * 2 + [net.readout_lr_for(steps)])
    schedule, _ = net.schedule(10, 4, 1)
    for k in schedule[:10]:
        trainer.train_step(torch.as_tensor(frames[k:k + 1], dtype=torch.float64), torch.as_tensor(labels[k:k + 1]))
    trainer.sync_to_network()
    for got, want in zip(net.weights, lava_net.weights):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert net.readout_seen == lava_net.readout_seen == 10
    np.testing.assert_allclose(net.readout_mean, lava_net.readout_mean, rtol=0, atol=1e-12)
    scores = trainer.scores(torch.as_tensor(frames[10:], dtype=torch.float64))
    np.testing.assert_array_equal(scores.argmax(1).numpy(), history.test_predictions[0])


def test_bptt_centres_the_readout_and_checkpoints_keep_the_mean(rng, tmp_path):
    """BPTT's read-out integrates the input less the mean (its scores at a known mean, written
    out), the mean moves after a batch, and a checkpoint restores it."""
    torch, LocalTrainer, BPTTTrainer = _trainers()
    from lava_local.trainer import load_checkpoint, save_checkpoint

    frames, labels = _data(rng)
    net = Network(40, hidden=(16,), readout_centred=True, readout_gamma=0.8, seed=4)
    net.readout_mean = rng.random(16) * 0.3
    trainer = BPTTTrainer(net, device="cpu", dtype=torch.float64)
    x = torch.as_tensor(frames[:3], dtype=torch.float64)
    with torch.no_grad():
        u = trainer.forward(x).numpy()
        # the same hidden spikes through the plain read-out of a network without centring
        plain = BPTTTrainer(Network(40, hidden=(16,), readout_gamma=0.8, seed=4), device="cpu", dtype=torch.float64)
        spikes = []
        plain.layer_output = lambda i, o, count=True: spikes.append(o.clone()) or o.reshape(o.shape[0], -1)
        plain.forward(x)
    expected = np.zeros((3, net.n_classes))
    for t, o in enumerate(spikes):
        expected = 0.8 * expected + (o.numpy() - net.readout_mean) @ net.weights[-1].T
        np.testing.assert_allclose(u[t], expected, rtol=1e-10, atol=1e-10)
    mean = trainer.readout_mean.clone()
    trainer.train_step(x, torch.as_tensor(labels[:3]))
    assert trainer.readout_seen == 3 and not torch.equal(trainer.readout_mean, mean)
    save_checkpoint(tmp_path / "ckpt.pt", trainer, epoch=1)
    other = BPTTTrainer(Network(40, hidden=(16,), readout_centred=True, readout_gamma=0.8, seed=4), device="cpu",
                        dtype=torch.float64)
    load_checkpoint(tmp_path / "ckpt.pt", other)
    assert other.readout_seen == 3 and torch.equal(other.readout_mean, trainer.readout_mean)
    with pytest.raises(ValueError, match="centred"):  # a plain trainer does not take a centred one's state
        load_checkpoint(tmp_path / "ckpt.pt", BPTTTrainer(Network(40, hidden=(16,), readout_gamma=0.8,
                                                                  readout_centred=False, seed=4),
                                                          device="cpu", dtype=torch.float64))


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_measured_activity_reads_out_with_the_mean(numeric, rng):
    """``measure_activity`` (the quantization report's and the cost estimate's run) scores a
    centred read-out with its mean, as the network predicts."""
    from lava_local.activity import measure_activity
    from lava_local.quantization_report import quantize_network

    frames, labels = _data(rng)
    net = Network(40, hidden=(16,), init_scale=3.0, readout_centred=True, seed=6)
    net.readout_mean = rng.random(16) * 0.5
    schedule = np.arange(len(frames))
    predictions, _, _ = reference_run(net, frames, labels, schedule, np.zeros(len(frames), bool), numeric)
    quantized = quantize_network(net, steps_per_sample=8) if numeric == "fixed" else None
    activity = measure_activity(net, frames, quantized)
    np.testing.assert_array_equal(activity.predictions, predictions)
    net.readout_mean = np.zeros(16)  # the same network without its mean scores otherwise
    assert not np.array_equal(measure_activity(net, frames, quantized).scores, activity.scores)


def test_reports_on_a_trainer_read_out_with_the_trainers_mean(rng):
    """The deployment reports take a trainer as they take a network: its weights and the
    read-out's mean it learned, not the mean its network held before training."""
    torch, LocalTrainer, _ = _trainers()
    from lava_local.activity import measure_activity
    from lava_local.quantization_report import network_and_weights

    frames, labels = _data(rng)
    trainer = LocalTrainer(Network(40, hidden=(16,), init_scale=3.0, readout_centred=True, seed=6), device="cpu",
                           dtype=torch.float64)
    trainer.fit_epoch(frames, labels, batch_size=7, generator=np.random.default_rng(0))
    reported = network_and_weights(trainer)
    assert trainer.net.readout_seen == 0 and reported.readout_seen == 14  # the trainer's network is left as it was
    np.testing.assert_array_equal(reported.readout_mean, trainer.readout_mean.numpy())
    scores = trainer.scores(torch.as_tensor(frames, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(measure_activity(reported, frames, None).scores, scores, rtol=1e-9, atol=1e-9)

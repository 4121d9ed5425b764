"""``rule.apply="step"`` in the trainer: the hidden weights change after every step, as in
the Lava models and the Loihi mapping's learning engine.

The direct check: the trainer (batch 1, float64, SGD at the Lava rates) learns what the
Lava network mapped for Loihi 2 (``mapping="loihi"``: ``LearningDense`` + ``TessPost`` +
``LearningSignal`` per layer, float) learns, weights and predictions. For TESS the
samples end with silent steps: the synapses' pre trace x1, which no sample boundary resets
on the chip (the trainer's q starts each sample at 0), has then decayed below the
tolerance. LLS has no pre trace, so its samples are active to the end, and the drain's
steps pair the last factors with the spikes the first layer still sends.
"""
import numpy as np
import pytest
import torch

from lava_local.decomposed import PAIRING_OFFSET, stream_reference
from lava_local.kernels.learning_signal import SignalParams
from lava_local.network import Network
from lava_local.rules import LLS, STLLR, TESS
from lava_local.trainer import LocalTrainer

from test_mapping import C, HIDDEN, N_IN, NET, _data

pytestmark = pytest.mark.timeout(180)


def _trainer(net, rule):
    return LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd",
                        lr=[rule.lr] * len(HIDDEN) + [NET["readout_lr"]])


LLS_STEP = LLS(lr=0.05, timing="loihi", apply="step", signal=SignalParams(basis="square"))


@pytest.mark.parametrize("name, rule, active", [
    ("lls", LLS_STEP, 50),
    ("lls_drain", LLS_STEP.with_(drain=True), 50),
    ("tess", TESS(lr=0.05, timing="loihi", apply="step"), 10),
])
def test_trainer_learns_what_the_float_loihi_mapping_learns(name, rule, active, rng):
    """Two hidden layers + read-out, 5 training samples of 50 steps, then 2 test samples:
    every weight to 1e-9 and the test predictions equal."""
    frames, labels = _data(rng, 7, 50, active)
    train, test = (frames[:5], labels[:5]), (frames[5:], labels[5:])
    lava_net = Network(N_IN, rule=rule, **NET)
    start = [w.copy() for w in lava_net.weights]
    history = lava_net.fit(train, test, epochs=1, numeric="float", progress=False, mapping="loihi")

    net = Network(N_IN, rule=rule, **NET)
    trainer = _trainer(net, rule)
    schedule, _ = net.schedule(5, 2, 1)
    for i in schedule[:5]:
        trainer.train_step(torch.as_tensor(frames[i:i + 1], dtype=torch.float64), torch.as_tensor(labels[i:i + 1]))
    trainer.sync_to_network()
    for got, want, init in zip(net.weights, lava_net.weights, start):
        assert np.abs(want - init).max() > 1e-2, "every layer must learn"
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    predictions = trainer.scores(torch.as_tensor(test[0], dtype=torch.float64)).argmax(1).numpy()
    np.testing.assert_array_equal(predictions, history.test_predictions[0])


@pytest.mark.parametrize("timing, drain", [("paper", False), ("loihi", False), ("loihi", True)])
def test_step_updates_equal_the_stream_reference_applied_every_step(timing, drain, rng):
    """One layer, batch 1: the weights after each sample equal ``stream_reference(apply="step")``
    (the layer's kernels re-run with the update applied after every step; with the drain, on
    the sample followed by its silent, unlabelled steps), and differ from the per-sample
    update."""
    rule = TESS(lr=0.05, timing=timing, apply="step", drain=drain)
    net = Network(20, hidden=(12,), n_classes=C, rule=rule, init_scale=3.0, seed=2)
    w = net.weights[0].copy()
    trainer = LocalTrainer(net, device="cpu", dtype=torch.float64, optimizer="sgd", lr=[rule.lr, 0.05])
    steps, k = 15, net.rule.drain_steps
    for _ in range(3):
        spikes = (rng.random((steps, 20)) < 0.3).astype(float)
        label = int(rng.integers(C))
        trainer.train_step(torch.as_tensor(spikes[None]), torch.tensor([label]))
        stream = np.concatenate([spikes, np.zeros((k, 20))])
        stream_labels = np.concatenate([np.full(steps, label), np.full(k, -1)])
        offset = PAIRING_OFFSET if timing == "loihi" else 0
        ref = stream_reference(stream, stream_labels, w, net.rule, offset=offset, apply="step")["weights"]
        got = trainer.params[0].detach().numpy()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
        per_sample = stream_reference(stream, stream_labels, w, net.rule, offset=offset, apply="sample")["weights"]
        assert np.abs(per_sample - got).max() > 1e-6, "applying every step is another update"
        w = got.copy()


def test_step_updates_are_refused_where_they_cannot_run():
    net = Network(20, hidden=(8,), n_classes=C, rule=TESS(apply="step"))
    with pytest.raises(ValueError, match="apply='step'.*window=1"):
        LocalTrainer(net, window=4)
    with pytest.raises(ValueError, match="apply='step'.*feedback='local'"):
        LocalTrainer(Network(20, hidden=(8,), n_classes=C, rule=STLLR(feedback="bp", apply="step")))
    from lava_local.trainer.distributed import DataParallelTrainer

    with pytest.raises(ValueError, match="data-parallel"):
        DataParallelTrainer(LocalTrainer(net))

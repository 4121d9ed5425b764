"""The deployment reports take a trainer as well as a network, and the measured training
step leaves the network as it was."""
import numpy as np
import pytest
import torch

from lava_local.cost_estimate import estimate_cost, measure_training_step
from lava_local.network import Network
from lava_local.quantization_report import quantization_report, quantize_network
from lava_local.trainer import BPTTTrainer, LocalTrainer


def _data(n=16, steps=5, n_in=20, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, steps, n_in)) < 0.3).astype(np.uint8), rng.integers(0, 3, size=n)


def test_reports_read_a_trainers_current_weights_without_touching_its_network():
    torch.manual_seed(0)
    net = Network(20, hidden=(10,), n_classes=3, seed=4)
    before = [w.copy() for w in net.weights]
    trainer = LocalTrainer(net, device="cpu", lr=0.05)
    frames, labels = _data()
    trainer.fit_epoch(frames, labels, batch_size=8, check=False)
    trained = [p.detach().double().numpy() for p in trainer.params]
    assert not np.allclose(trained[0], before[0])  # training moved the weights
    report = quantization_report(trainer, (frames, labels))
    for w, b in zip(net.weights, before):
        np.testing.assert_array_equal(w, b)
    steps = frames.shape[1]
    quantized = quantize_network(trainer, steps_per_sample=steps)
    expected = Network(20, hidden=(10,), n_classes=3, seed=4)
    expected.weights = trained
    for q, e in zip(quantized.layers, quantize_network(expected, steps_per_sample=steps).layers):
        np.testing.assert_array_equal(q.weights, e.weights)
    # the float accuracy is the trainer's own evaluation (the same network, the same steps)
    assert report.float_accuracy == pytest.approx(trainer.evaluate(frames, labels))
    assert estimate_cost(trainer, activity=report.activity).samples == len(labels)


@pytest.mark.parametrize("method", ["bptt", "local"])
def test_training_step_is_measured_on_a_copy(method):
    net = Network(20, hidden=(16,), n_classes=3, seed=1)
    before = [w.copy() for w in net.weights]
    frames, labels = _data(n=8, steps=6)
    step = measure_training_step(net, (frames, labels), method, batch_size=4, repeats=2)
    assert step.method == method and step.batch_size == 4 and step.steps == 6
    assert step.seconds > 0 and step.seconds_per_sample == pytest.approx(step.seconds / 4)
    assert step.peak_bytes is None or step.peak_bytes > 0
    for w, b in zip(net.weights, before):
        np.testing.assert_array_equal(w, b)
    with pytest.raises(ValueError, match="method"):
        measure_training_step(net, (frames, labels), "adam")


def test_bptt_trainer_reports_like_any_trainer():
    net = Network(20, hidden=(8,), n_classes=3, seed=2)
    trainer = BPTTTrainer(net, device="cpu")
    frames, labels = _data(n=6)
    report = quantization_report(trainer, (frames, labels))
    assert report.float_accuracy == pytest.approx(trainer.evaluate(frames, labels))

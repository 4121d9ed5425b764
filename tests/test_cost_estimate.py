"""The on-chip cost estimate against counts taken from recorded Lava runs, and NeuroBench's
metrics on a hand-made network against values computed by hand."""
import numpy as np
import pytest

from lava_local.activity import Activity, LayerActivity
from lava_local.cost_estimate import estimate_cost, neurobench_metrics, synapse_events
from lava_local.hw_profile import load_profile
from lava_local.kernels.layer import ConvGeometry
from lava_local.kernels.plasticity import EligibilityParams
from lava_local.network import Network
from lava_local.rules import TESS

COSTS = load_profile("loihi2").costs


def test_loihi2_profile_states_published_operation_costs():
    assert (COSTS.synaptic_op_pj, COSTS.neuron_update_pj, COSTS.synaptic_update_pj) == (23.6, 81.0, 120.0)
    assert (COSTS.synaptic_op_ns, COSTS.barrier_sync_ns) == (3.5, 465.0)


def test_operation_counts_equal_those_of_a_recorded_lava_run():
    """Spikes recorded from the Lava fixed-point network (Monitors on each layer), counted
    here: synaptic ops = sum over steps of spikes in x fan-out, and so on."""
    rng = np.random.default_rng(5)
    # lambda_pre = 0: a pre trace is non-zero exactly when its input spiked, so the learning
    # updates of a hidden layer equal its synaptic operations
    rule = TESS(eligibility=EligibilityParams(0.0, 0.2, 1.0, -1.0))
    net = Network(16, hidden=(12, 7), n_classes=3, rule=rule, init_scale=4.0, seed=2)
    steps, samples = 6, 2
    frames = (rng.random((samples, steps, 16)) < 0.4).astype(np.uint8)
    recorded = [net.record(frames[k], numeric="fixed") for k in range(samples)]  # [(T, 12), (T, 7)] each
    spikes_in = [frames.sum(), sum(r[0].sum() for r in recorded), sum(r[1].sum() for r in recorded)]
    assert spikes_in[1] > 0 and spikes_in[2] > 0  # the layers fire: the counts below mean something
    fan_out = [12, 7, 3]
    slots = samples * steps
    expected_synops = sum(s * f for s, f in zip(spikes_in, fan_out)) / slots

    cost = estimate_cost(net, frames)
    inference = cost.inference
    assert inference.synaptic_ops == pytest.approx(expected_synops)
    assert [layer.synaptic_ops for layer in cost.layers] == pytest.approx([s * f / slots for s, f in
                                                                           zip(spikes_in, fan_out)])
    assert inference.neuron_updates == 12 + 7 + 3
    assert inference.spikes == pytest.approx(sum(spikes_in) / slots)
    assert inference.learning_updates == 0
    expected_energy = (expected_synops * COSTS.synaptic_op_pj + 22 * COSTS.neuron_update_pj
                       + sum(spikes_in) / slots * COSTS.spike_pj)
    assert inference.energy_pj == pytest.approx(expected_energy)
    assert cost.energy_per_sample_uj == pytest.approx(expected_energy * steps * 1e-6)
    # latency: every layer on one core here, the slowest one plus the barrier
    busy = [s * f / slots * COSTS.synaptic_op_ns + n * COSTS.neuron_update_ns + out * COSTS.spike_ns
            for s, f, n, out in zip(spikes_in, fan_out, (12, 7, 3), (spikes_in[1] / slots, spikes_in[2] / slots, 0))]
    assert inference.latency_ns == pytest.approx(max(busy) + COSTS.barrier_sync_ns)

    learning = cost.learning
    hidden0, hidden1, readout = cost.layers
    assert hidden0.learning_updates == pytest.approx(hidden0.synaptic_ops)
    assert hidden1.learning_updates == pytest.approx(hidden1.synaptic_ops)
    assert 0 < readout.learning_updates <= 3 * 7  # the read-out's trace outlives the spikes
    # the local signal: projection (spikes x C) and back-projection (C x n) per hidden layer
    assert hidden0.signal_ops == pytest.approx((spikes_in[1] / slots + 12) * 3)
    assert hidden1.signal_ops == pytest.approx((spikes_in[2] / slots + 7) * 3)
    assert learning.neuron_updates == 22 + 2 * 3
    assert learning.synaptic_ops == pytest.approx(expected_synops + hidden0.signal_ops + hidden1.signal_ops)
    assert learning.energy_pj > inference.energy_pj
    table = cost.to_markdown()
    assert "| inference step |" in table and "| learning step |" in table and "NeuroBench" in table


def test_a_frozen_network_learns_in_its_read_out_only():
    net = Network(10, hidden=(6,), n_classes=2, frozen=True, seed=1)
    frames = (np.random.default_rng(0).random((2, 4, 10)) < 0.5).astype(np.uint8)
    cost = estimate_cost(net, frames)
    assert cost.layers[0].learning_updates == 0 and cost.layers[0].signal_ops == 0
    assert cost.learning.neuron_updates == cost.inference.neuron_updates
    assert any("frozen" in note for note in cost.notes)


def test_conv_synapse_events_match_an_explicit_window_count(rng):
    g = ConvGeometry((2, 5, 5), 3, kernel=3, stride=1, padding=1, pool=1)
    counts = rng.integers(0, 4, size=2 * 5 * 5)
    mask = rng.random(g.weight_shape) < 0.6
    image = counts.reshape(2, 5, 5)
    expected = 0
    for co in range(3):
        for oy in range(5):
            for ox in range(5):
                for ci in range(2):
                    for ky in range(3):
                        for kx in range(3):
                            y, x = oy + ky - 1, ox + kx - 1
                            if 0 <= y < 5 and 0 <= x < 5 and mask[co, ci, ky, kx]:
                                expected += image[ci, y, x]
    assert synapse_events(counts, mask, g) == expected
    dense_mask = rng.random((4, 7)) < 0.5
    dense_counts = rng.integers(0, 3, size=7)
    assert synapse_events(dense_counts, dense_mask) == sum(
        dense_counts[j] for i in range(4) for j in range(7) if dense_mask[i, j])


def _hand_made():
    """3 inputs -> 2 spiking neurons -> 2-class read-out; 2 samples of 3 steps."""
    net = Network(3, hidden=(2,), n_classes=2, seed=0)
    net.weights = [np.array([[1.0, 0.0, 0.5], [0.0, 0.0, 2.0]]), np.array([[1.0, -1.0], [0.0, 1.0]])]
    layers = [
        LayerActivity("hidden0", "dense", 3, 2, input_events=np.array([2, 0, 3]), input_active=np.array([2, 0, 3]),
                      trace_active=np.array([2, 0, 3]), output_spikes=np.array([1, 2])),
        LayerActivity("readout", "readout", 2, 2, input_events=np.array([1, 2]), input_active=np.array([1, 2]),
                      trace_active=np.array([1, 2]), output_spikes=np.zeros(2, np.int64)),
    ]
    return net, Activity("fixed", 2, 3, layers, np.zeros(2, np.int64), np.zeros((2, 2)))


def test_neurobench_metrics_of_a_hand_made_network():
    net, activity = _hand_made()
    m = neurobench_metrics(net, activity, weight_bits=8)
    assert m.parameters == 10
    assert m.footprint_bytes == 40  # 10 float32 parameters
    assert m.quantized_footprint_bytes == 10
    assert m.connection_sparsity == pytest.approx(4 / 10)  # three zeros in W0, one in the read-out
    assert m.activation_sparsity == pytest.approx(1 - 3 / (2 * 2 * 3))  # 3 spikes in 12 neuron-steps
    # (non-zero input, non-zero weight) pairs: layer 0: 2 x 1 + 0 x 0 + 3 x 2 = 8; read-out: 1 x 1 + 2 x 2 = 5
    assert (m.effective_acs, m.effective_macs) == (pytest.approx(13 / 2), 0)
    assert m.dense_ops == (3 * 2 + 2 * 2) * 3  # every input and weight one, every step
    activity.layers[0].spiking_input = False  # analog input: the first layer's operations are MACs
    m = neurobench_metrics(net, activity)
    assert (m.effective_macs, m.effective_acs) == (pytest.approx(4.0), pytest.approx(2.5))
    assert m.quantized_footprint_bytes is None


def test_a_profile_without_operation_costs_is_refused(tmp_path):
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "hw_profiles" / "loihi2.toml"
    text = shipped.read_text()
    path = tmp_path / "chip.toml"
    path.write_text(text[:text.index("[operation_costs]")])
    assert load_profile(path).costs is None
    with pytest.raises(ValueError, match="no \\[operation_costs\\]"):
        estimate_cost(Network(4, hidden=(3,), n_classes=2), np.zeros((1, 2, 4), np.uint8), path)
    negative = tmp_path / "negative.toml"  # (profiles are cached by path)
    negative.write_text(text.replace("synaptic_op_pj = 23.6", "synaptic_op_pj = -1.0"))
    with pytest.raises(ValueError, match=r"\[operation_costs\] synaptic_op_pj = -1.0 is outside"):
        load_profile(negative)

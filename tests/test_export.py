"""netx export: lava-dl loads the file into Lava, and with Lava's reset-to-zero the
deployed network spikes exactly as our fixed-point kernels compute."""
import numpy as np
import pytest

from lava_local.export import export_netx
from lava_local.hw_profile import load_profile
from lava_local.kernels import LIFFixedParams, LIFParams, LIFState, lif_step_fixed
from lava_local.network import Conv, Network

pytestmark = pytest.mark.timeout(180)


def _deploy_and_run(net, path, spikes, layer):
    """Export ``net``, load it with netx, feed ``spikes`` (T, n_in) and return the scale and
    layer ``layer``'s membrane ``v`` at every step, read by a Lava Monitor."""
    from lava.lib.dl import netx
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    import lava_local

    scale = export_netx(net, path)
    deployed = netx.hdf5.Network(net_config=str(path))
    assert [lay.shape for lay in deployed.layers] == [(w.shape[0],) for w in net.weights]
    steps = spikes.shape[0]
    source = RingBuffer(data=spikes.T)
    source.s_out.connect(deployed.inp)
    neuron = deployed.layers[layer].neuron
    monitor = Monitor()
    monitor.probe(neuron.v, steps)
    try:
        lava_local.run(source, steps, numeric="fixed", stop=False)
        return scale, monitor.get_data()[neuron.name]["v"]
    finally:
        source.stop()


def test_exported_network_runs_in_lava_bit_exactly(tmp_path, rng):
    net = Network(40, hidden=(16,), neuron=LIFParams(gamma=0.75, v_th=0.6, reset="zero"), init_scale=3.0, seed=1)
    steps = 60
    spikes = (rng.random((steps, 40)) < 0.3).astype(int)
    scale, v = _deploy_and_run(net, tmp_path / "net.h5", spikes, layer=0)

    # our integer kernels with the exported integers: W_int, vth, dv, reset to zero, du = 4095
    w_int = np.clip(2 * np.round(net.weights[0] * scale / 2), -256, 254).astype(np.int64)
    params = LIFFixedParams(dv=1024, vth=int(round(0.6 * scale)), fmt=load_profile().neuron, reset="zero")
    state = LIFState(np.zeros(16, np.int64), np.zeros(16, np.int64))
    expected = []
    for t in range(steps - 1):  # the Dense hop delays input by one step
        state = lif_step_fixed(state, w_int @ spikes[t], params)
        expected.append(np.where(state.o > 0, 0, state.u))
    expected = np.array(expected)
    assert (expected == 0).sum() > 20  # spikes happened
    np.testing.assert_array_equal(v[1:], expected)


def test_export_rejects_what_netx_export_does_not_cover(tmp_path):
    with pytest.raises(ValueError, match="dense feed-forward"):
        export_netx(Network((2, 8, 8), hidden=(Conv(4),)), tmp_path / "x.h5")


def test_a_centred_readout_deploys_with_its_mean_as_the_neuron_bias(tmp_path, rng):
    """The read-out's membrane in Lava (netx's CUBA layer, bias = round(-W_int m)) against
    Loihi's integer membrane equation written out: v <- v (4096 - dv) / 4096 (truncated)
    + (W_int o + bias) * 64."""
    net = Network(40, hidden=(16,), neuron=LIFParams(gamma=0.75, v_th=0.6, reset="zero"), readout_gamma=0.5,
                  init_scale=3.0, readout_centred=True, seed=1)
    net.readout_mean = rng.uniform(0.1, 0.5, size=16)
    steps = 40
    spikes = (rng.random((steps, 40)) < 0.3).astype(int)
    scale, v = _deploy_and_run(net, tmp_path / "net.h5", spikes, layer=1)

    w_int = [np.clip(2 * np.round(w * scale / 2), -256, 254).astype(np.int64) for w in net.weights]
    bias = [int(round(-sum(w_int[1][c, i] * net.readout_mean[i] for i in range(16)))) for c in range(10)]
    assert max(abs(b) for b in bias) > 50  # the bias is not negligible
    params = LIFFixedParams(dv=1024, vth=int(round(0.6 * scale)), fmt=load_profile().neuron, reset="zero")
    state = LIFState(np.zeros(16, np.int64), np.zeros(16, np.int64))
    hidden = [np.zeros(16, np.int64)]  # what the hidden layer sends at each step (nothing at the first)
    for t in range(steps - 1):  # the Dense hop delays input by one step
        state = lif_step_fixed(state, w_int[0] @ spikes[t], params)
        hidden.append(state.o)
    u, expected = np.zeros(10, np.int64), []
    for t in range(steps):  # the second hop delays the hidden spikes by one more step
        current = w_int[1] @ hidden[t - 1] if t >= 1 else np.zeros(10, np.int64)
        decayed = np.array([int((abs(x) * (4096 - 2048)) >> 12) * (1 if x >= 0 else -1) for x in u])
        u = decayed + (current + np.array(bias)) * 64
        expected.append(u)
    np.testing.assert_array_equal(v, np.array(expected))


def test_a_centred_readout_whose_bias_does_not_fit_is_refused(tmp_path):
    net = Network(40, hidden=(32,), init_scale=3.0, readout_centred=True, seed=1)
    net.weights[-1] = np.full_like(net.weights[-1], np.abs(net.weights[0]).max())  # 254 at the export's scale
    net.readout_mean = np.full(32, 0.5)  # 32 x 254 x 0.5 = 4064: fits
    export_netx(net, tmp_path / "x.h5")
    net.readout_mean = np.full(32, 0.6)  # 4877: does not
    with pytest.raises(ValueError, match="13-bit bias mantissa"):
        export_netx(net, tmp_path / "x.h5")

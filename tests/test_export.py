"""netx export: lava-dl loads the file into Lava, and with Lava's reset-to-zero the
deployed network spikes exactly as our fixed-point kernels compute."""
import numpy as np
import pytest

from lava_local.export import export_netx
from lava_local.hw_profile import load_profile
from lava_local.kernels import LIFFixedParams, LIFParams, LIFState, lif_step_fixed
from lava_local.network import Conv, Network

pytestmark = pytest.mark.timeout(180)


def test_exported_network_runs_in_lava_bit_exactly(tmp_path, rng):
    from lava.lib.dl import netx
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    import lava_local

    net = Network(40, hidden=(16,), neuron=LIFParams(gamma=0.75, v_th=0.6, reset="zero"), init_scale=3.0, seed=1)
    path = tmp_path / "net.h5"
    scale = export_netx(net, path)
    deployed = netx.hdf5.Network(net_config=str(path))
    assert [layer.shape for layer in deployed.layers] == [(16,), (10,)]

    steps = 60
    spikes = (rng.random((steps, 40)) < 0.3).astype(int)
    source = RingBuffer(data=spikes.T)
    source.s_out.connect(deployed.inp)
    hidden = deployed.layers[0].neuron
    monitor = Monitor()
    monitor.probe(hidden.v, steps)
    try:
        lava_local.run(source, steps, numeric="fixed", stop=False)
        v = monitor.get_data()[hidden.name]["v"]
    finally:
        source.stop()

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

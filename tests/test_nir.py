"""NIR export and import (lava_local.interchange): the mapping of our discrete neuron to NIR's
continuous one, round trips that keep weights, neuron, rule and spikes, hand-written graphs,
clear errors, and snnTorch rebuilding an exported network spike for spike."""
import warnings

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from lava_local import export_nir, import_nir, to_nir  # noqa: E402
from lava_local.interchange import DEFAULT_DT, SUPPORTED_NODES  # noqa: E402
from lava_local.kernels import LIFParams, LIFState, lif_step  # noqa: E402
from lava_local.kernels.conv import standardize_weights  # noqa: E402
from lava_local.network import Conv, Network, Recurrent  # noqa: E402
from lava_local.reference import reference_run  # noqa: E402
from lava_local.rules import LLS, STLLR, TESS  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def _spike_frames(rng, n, steps, n_in, p=0.3):
    return (rng.random((n, steps, n_in)) < p).astype(np.uint8)


def _euler(node, dt, current):
    """NIR's neuron ODE under forward Euler, written from NIR's definitions (not ours)."""
    v, out = np.zeros(current.shape[1]), []
    for i_t in current:
        if isinstance(node, (nir.IF, nir.I)):
            v = v + dt * node.r * i_t
        else:
            v = v + dt / node.tau * (node.v_leak - v + node.r * i_t)
        if isinstance(node, (nir.LIF, nir.IF)):
            z = v > node.v_threshold
            out.append((v.copy(), z.astype(float)))
            v = np.where(z, node.v_reset, v)
        else:
            out.append((v.copy(), None))
    return out


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("dt", [DEFAULT_DT, 1e-3])
def test_nir_neuron_under_forward_euler_is_our_neuron(gamma, dt, rng):
    net = Network(8, hidden=(6,), n_classes=6, neuron=LIFParams(gamma=gamma, v_th=0.6, reset="zero"),
                  readout_gamma=gamma)
    graph = to_nir(net, dt=dt)
    lif, li = graph.nodes["hidden0.lif"], graph.nodes["readout.li"]
    assert isinstance(lif, nir.IF if gamma == 1.0 else nir.LIF)
    assert isinstance(li, nir.I if gamma == 1.0 else nir.LI)
    if gamma < 1.0:
        np.testing.assert_allclose(lif.tau, dt / (1 - gamma))
        np.testing.assert_allclose(lif.r * dt / lif.tau, 1.0)
    current = rng.normal(0.3, 0.5, size=(40, 6))
    state, spikes = LIFState(np.zeros(6), np.zeros(6)), 0
    for (v_nir, z_nir), i_t in zip(_euler(lif, dt, current), current):
        state = lif_step(state, i_t, net.neuron)
        np.testing.assert_allclose(state.u, v_nir, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(state.o, z_nir)
        spikes += state.o.sum()
    assert spikes > 5
    u = np.zeros(6)
    for (v_nir, _), i_t in zip(_euler(li, dt, current), current):
        u = gamma * u + i_t  # the read-out's membrane
        np.testing.assert_allclose(u, v_nir, rtol=1e-9, atol=1e-12)
    assert import_nir(graph).neuron == net.neuron  # the time step travels in the metadata


def test_round_trip_keeps_weights_neuron_rule_and_spikes(tmp_path, rng):
    rule = STLLR.dvs_gesture(lr=0.02)
    net = Network((2, 8, 8), hidden=(Conv(4, kernel=3, padding=1, pool=2), 12), n_classes=4, rule=rule,
                  neuron=LIFParams(gamma=0.8, v_th=0.7), readout_gamma=0.9, readout_lr=0.05, init_scale=3.0,
                  readout_learns=False, seed=5)
    path = tmp_path / "net.nir"
    with pytest.warns(UserWarning, match="reset='subtract'"):
        export_nir(net, path)

    graph = nir.read(path)  # type-checks the graph as written
    kinds = [type(graph.nodes[a]).__name__ for a, _ in graph.edges] + ["Output"]
    assert kinds == ["Input", "Conv2d", "LIF", "Flatten", "Linear", "LIF", "Linear", "LI", "Output"]
    assert float(graph.metadata["dt"]) == DEFAULT_DT
    assert "subtract" in graph.metadata["lava_local"] and '"S-TLLR"' in graph.nodes["hidden1.lif"].metadata[
        "lava_local"]

    back = import_nir(path)
    assert back.in_shape == net.in_shape and back.hidden == net.hidden and back.geometries == net.geometries
    assert back.neuron == net.neuron and back.rule == net.rule and type(back.rule) is STLLR
    assert (back.readout_gamma, back.readout_lr, back.surrogate, back.seed) == (0.9, 0.05, net.surrogate, 5)
    assert back.readout_learns is False  # kept in the graph's settings
    for ours, theirs in zip(net.weights, back.weights):
        np.testing.assert_array_equal(ours, theirs)

    # the float reference of the Lava network, learning on three samples, then testing two
    frames, labels = _spike_frames(rng, 5, 8, 128), np.array([0, 3, 1, 2, 1])
    schedule, learn = [0, 1, 2, 3, 4], [True, True, True, False, False]
    pred_a, w_a, spikes_a = reference_run(net, frames, labels, schedule, learn)
    pred_b, w_b, spikes_b = reference_run(back, frames, labels, schedule, learn)
    np.testing.assert_array_equal(pred_a, pred_b)
    assert sum(s.sum() for s in spikes_a) > 10
    for a, b in zip(spikes_a + w_a, spikes_b + w_b):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(w_a[0], net.weights[0])  # the rule did learn


def test_round_trip_of_pooled_standardised_and_recurrent_layers_in_the_trainer(tmp_path):
    torch = pytest.importorskip("torch")
    from lava_local.trainer import LocalTrainer

    net = Network((2, 8, 8), hidden=(Conv(4, pool_out=2, standardize=True), Recurrent(10, recurrent_step=0.3)),
                  n_classes=3, rule=LLS(), neuron=LIFParams(gamma=0.75, reset="zero"), seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a zero reset is exact in NIR: no warning
        graph = export_nir(net, tmp_path / "net.nir")
    np.testing.assert_allclose(graph.nodes["hidden0.conv"].weight, standardize_weights(net.weights[0]))
    assert isinstance(graph.nodes["hidden0.pool"], nir.AvgPool2d)
    assert ("hidden1.recurrent", "hidden1.lif") in graph.edges

    back = import_nir(tmp_path / "net.nir")
    assert back.geometries == net.geometries and back.recurrent == [False, True] and type(back.rule) is LLS
    assert back.recurrent_steps == net.recurrent_steps == [1.0, 0.3]  # the recurrent block's step travels
    for ours, theirs in zip(net.weights, back.weights):
        np.testing.assert_array_equal(ours, theirs)  # raw conv weights, [W_ff, W_rec] for the recurrent layer

    x = torch.as_tensor(np.random.default_rng(0).random((4, 6, 128)) < 0.4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1])
    a, b = (LocalTrainer(n, device="cpu", dtype=torch.float64, optimizer="sgd") for n in (net, back))
    torch.testing.assert_close(a.compute_grads(x, y), b.compute_grads(x, y), rtol=0, atol=0)
    for pa, pb in zip(a.params, b.params):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=0, atol=0)
    assert float(a.params[0].grad.abs().sum()) > 0


def _two_layer_graph(w1, w2, dt):
    """Input(6) -> Affine -> LIF -> Linear -> LI -> Output, as another tool might write it."""
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([6])}),
            "fc1": nir.Affine(weight=w1, bias=np.zeros(5)),
            # tau = 2 dt: gamma = 0.5; r = 1: the input is scaled by r dt / tau = 0.5
            "lif1": nir.LIF(tau=np.full(5, 2 * dt), r=np.ones(5), v_leak=np.zeros(5), v_threshold=np.ones(5),
                            v_reset=np.zeros(5)),
            "fc2": nir.Linear(weight=w2),
            "li": nir.LI(tau=np.full(3, 4 * dt), r=np.full(3, 4.0), v_leak=np.zeros(3)),
            "out": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "li"), ("li", "out")],
    )


def test_a_recurrent_layer_without_a_given_step_travels_as_such(tmp_path):
    """A default ``Recurrent`` leaves its step to the trainer (0 for a lower recurrent layer
    under a local signal): the graph carries no step for it, and the import resolves the
    same steps for either signal; a given step travels as given."""
    net = Network(6, hidden=(Recurrent(5), Recurrent(4, recurrent_step=0.7)), n_classes=3, rule=TESS(),
                  neuron=LIFParams(reset="zero"), seed=0)  # a zero reset: NIR's own, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_nir(net, tmp_path / "net.nir")
    back = import_nir(tmp_path / "net.nir")
    assert back.recurrent_step_given == net.recurrent_step_given == [False, True]
    for local in (False, True):
        assert back.trainer_recurrent_steps(local) == net.trainer_recurrent_steps(local)
    assert net.trainer_recurrent_steps(True)[0] == 0.0 and net.trainer_recurrent_steps(False)[0] > 0


def test_hand_written_two_layer_graph_imports_and_runs(tmp_path, rng):
    import lava_local.runtime  # noqa: F401  (Lava run below)

    dt = 1e-3
    w1, w2 = rng.normal(0.8, 0.6, size=(5, 6)), rng.normal(0.0, 1.0, size=(3, 5))
    nir.write(tmp_path / "hand.nir", _two_layer_graph(w1, w2, dt))
    net = import_nir(tmp_path / "hand.nir", dt=dt)
    assert net.hidden == [5] and net.n_classes == 3 and net.readout_gamma == 0.75
    assert net.neuron == LIFParams(gamma=0.5, v_th=1.0, reset="zero")
    assert type(net.rule) is TESS and net.rule == TESS().for_classes(3).for_neuron(net.neuron).for_last_layer(True)
    np.testing.assert_array_equal(net.weights[0], 0.5 * w1)
    np.testing.assert_array_equal(net.weights[1], w2)

    frames = _spike_frames(rng, 3, 10, 6, p=0.5)
    predictions, _, spikes = reference_run(net, frames, np.zeros(3, np.int64), [0, 1, 2], [False] * 3)
    nir_spikes = [z for _, z in _euler(nir.read(tmp_path / "hand.nir").nodes["lif1"], dt, frames[2] @ w1.T)]
    np.testing.assert_array_equal(spikes[0], np.array(nir_spikes))
    assert spikes[0].sum() > 3
    # and in Lava's simulator (float models): the same classes as the reference
    np.testing.assert_array_equal(net.predict(frames), predictions)


def test_forms_other_tools_write_import_with_their_scales_folded_into_the_weights(rng):
    """A recurrent layer as a nested sub-graph (snnTorch's form), a CubaLIF whose current
    lasts one step with w_in = 2, a SumPool2d (window sums: 4 times the average that
    Network's pool_out computes): each scale lands in the weights that feed the node."""
    dt = DEFAULT_DT
    w_ff, w_rec, w_ro = rng.normal(size=(5, 4)), rng.normal(size=(5, 5)), rng.normal(size=(2, 5))
    lif = nir.LIF(tau=np.full(5, 4 * dt), r=np.full(5, 4.0), v_leak=np.zeros(5), v_threshold=np.ones(5))
    recurrent = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([5])}), "lif": lif,
                                    "w_rec": nir.Linear(weight=w_rec),
                                    "output": nir.Output(output_type={"output": np.array([5])})},
                             edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    graph = _chain(("in", nir.Input(input_type={"input": np.array([4])})), ("fc", nir.Linear(weight=w_ff)),
                   ("rnn", recurrent), ("ro", nir.Linear(weight=w_ro)), ("li", _li(2)),
                   ("out", nir.Output(output_type={"output": np.array([2])})))
    net = import_nir(graph)
    assert net.recurrent == [True] and net.neuron == LIFParams(gamma=0.75, v_th=1.0, reset="zero")
    np.testing.assert_array_equal(net.weights[0], np.hstack([w_ff, w_rec]))

    w_conv, w_fc = rng.normal(size=(2, 1, 3, 3)), rng.normal(size=(3, 8))
    cuba = nir.CubaLIF(tau_syn=np.full((2, 4, 4), dt), tau_mem=np.full((2, 4, 4), 2 * dt), r=np.full((2, 4, 4), 2.0),
                       v_leak=np.zeros((2, 4, 4)), v_threshold=np.ones((2, 4, 4)), w_in=2.0)
    conv = nir.Conv2d(input_shape=(4, 4), weight=w_conv, stride=1, padding=1, dilation=1, groups=1,
                      bias=np.zeros(2))
    graph = _chain(("in", nir.Input(input_type={"input": np.array([1, 4, 4])})), ("conv", conv), ("lif", cuba),
                   ("pool", nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                          padding=np.array([0, 0]))),
                   ("flat", nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0)),
                   ("fc", nir.Linear(weight=w_fc)), ("lif2", _lif(3)), ("ro", _dense(3, 2, rng)), ("li", _li(2)),
                   ("out", nir.Output(output_type={"output": np.array([2])})))
    net = import_nir(graph)
    assert net.geometries[0].pool_out == 2 and net.geometries[0].padding == 1 and net.hidden == [8, 3]
    np.testing.assert_array_equal(net.weights[0], 2.0 * w_conv)  # w_in
    np.testing.assert_array_equal(net.weights[1], 4.0 * w_fc)  # the window area of the sum


def _graph_with(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _dense(n_in, n_out, rng):
    return nir.Linear(weight=rng.normal(size=(n_out, n_in)))


def _lif(n):
    return nir.LIF(tau=np.full(n, 2e-4), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.ones(n))


def _li(n):
    return nir.LI(tau=np.full(n, 2e-4), r=np.full(n, 2.0), v_leak=np.zeros(n))


def _chain(*pairs):
    nodes = dict(pairs)
    names = list(nodes)
    return _graph_with(nodes, list(zip(names[:-1], names[1:])))


UNSUPPORTED = {
    "delay": r"node 'wait' is a Delay, which import_nir does not read; supported nodes: Input, Output, Linear",
    "bias": r"node 'fc' \(Affine\) has a non-zero bias",
    "spiking_output": r"the graph ends with 'lif' \(LIF\); a Network ends with a non-spiking read-out",
    "leak": r"node 'lif' \(LIF\): v_leak must be 0",
    "slow_synapse": r"node 'lif' \(CubaLIF\): tau_syn = 0.001 keeps a synaptic current",
    "branch": r"node 'in' feeds \['fc', 'fc_b'\]: import_nir reads feed-forward chains",
}


@pytest.mark.parametrize("case", UNSUPPORTED)
def test_unsupported_graphs_name_the_node(case, rng):
    inp = ("in", nir.Input(input_type={"input": np.array([4])}))
    readout = [("ro", _dense(3, 2, rng)), ("li", _li(2)), ("out", nir.Output(output_type={"output": np.array([2])}))]
    lif = _lif(3)
    if case == "leak":
        lif.v_leak = np.full(3, 0.1)
    if case == "slow_synapse":
        lif = nir.CubaLIF(tau_syn=np.full(3, 1e-3), tau_mem=np.full(3, 2e-4), r=np.full(3, 2.0),
                          v_leak=np.zeros(3), v_threshold=np.ones(3))
    fc = nir.Affine(weight=rng.normal(size=(3, 4)), bias=np.ones(3)) if case == "bias" else _dense(4, 3, rng)
    layers = [inp, ("fc", fc), ("lif", lif)]
    if case == "delay":
        layers.insert(1, ("wait", nir.Delay(delay=np.ones(4))))
    if case == "spiking_output":
        graph = _chain(*layers, ("out", nir.Output(output_type={"output": np.array([3])})))
    elif case == "branch":
        graph = _chain(*layers, *readout)
        graph.nodes["fc_b"] = _dense(4, 3, rng)
        graph.edges += [("in", "fc_b"), ("fc_b", "lif")]
    else:
        graph = _chain(*layers, *readout)
    with pytest.raises(ValueError, match=UNSUPPORTED[case]):
        import_nir(graph)
    assert set(SUPPORTED_NODES) >= {"LIF", "CubaLIF", "LI", "Conv2d", "AvgPool2d", "Flatten"}


MISMATCHED = {
    "dense": r"node 'fc2' \(Linear\): weight of shape \(2, 5\) does not take the 3 values that 'lif' gives",
    "neurons": r"node 'lif' \(LIF\): \w+ has 4 values for a layer of 3 neurons",
    "channels": r"node 'conv' \(Conv2d\): its weight \(4, 3, 3, 3\) takes 3 input channels, but its input "
                r"\(2, 6, 6\) has 2",
    "no_flatten": r"node 'fc' \(Linear\) receives shape \(4, 4, 4\) from 'lif'; put a Flatten node before it",
}


@pytest.mark.parametrize("case", MISMATCHED)
def test_mismatched_shapes_are_reported(case, rng):
    out = ("out", nir.Output(output_type={"output": np.array([2])}))
    if case in ("dense", "neurons"):
        graph = _chain(("in", nir.Input(input_type={"input": np.array([4])})), ("fc", _dense(4, 3, rng)),
                       ("lif", _lif(4 if case == "neurons" else 3)),
                       ("fc2", _dense(5 if case == "dense" else 3, 2, rng)), ("li", _li(2)), out)
    else:
        conv = nir.Conv2d(input_shape=(6, 6), weight=rng.normal(size=(4, 3 if case == "channels" else 2, 3, 3)),
                          stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(4))
        graph = _chain(("in", nir.Input(input_type={"input": np.array([2, 6, 6])})), ("conv", conv),
                       ("lif", _lif(64)), ("fc", _dense(64, 2, rng)), ("li", _li(2)), out)
    with pytest.raises(ValueError, match=MISMATCHED[case]):
        import_nir(graph)


def test_a_graph_without_read_out_is_refused_by_import():
    net = Network(6, hidden=(4,), n_classes=2, neuron=LIFParams(reset="zero"))
    graph = to_nir(net, readout=False)
    assert type(graph.nodes[[a for a, b in graph.edges if b == "output"][0]]).__name__ == "LIF"
    with pytest.raises(ValueError, match="non-spiking read-out"):
        import_nir(graph)
    with pytest.raises(ValueError, match="only its read-out"):
        to_nir(Network(6, hidden=(), n_classes=2), readout=False)


def test_snntorch_rebuilds_the_exported_network_spike_for_spike():
    """snnTorch's own NIR importer (fixed dt = 1e-4, beta = 1 - dt/tau, input scale r dt/tau,
    reset to zero) runs our exported conv network on real N-MNIST samples and produces the
    same spikes in every hidden layer as our float reference, sample by sample, unbatched (NIR
    shapes have no batch axis). Weights on a 1/64 grid and gamma = 0.5 keep every membrane
    exactly representable in float32 (snnTorch) and float64 (ours), so the comparison is of
    the same numbers, not of close ones. snnTorch has no LI node: the read-out is left out."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("nirtorch")
    snn = pytest.importorskip("snntorch")
    from snntorch.import_nir import import_from_nir

    from lava_local.data import NMNISTSubset

    steps = 10
    frames, labels = NMNISTSubset("test").dense(steps, indices=range(6))

    def compare(reset):
        net = Network((2, 34, 34), hidden=(Conv(4, kernel=5, stride=3, padding=0), 32),
                      neuron=LIFParams(gamma=0.5, v_th=0.6, reset=reset), seed=1)
        net.weights = [np.round(w * 64) / 64 for w in net.weights]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the subtractive reset's warning
            module = import_from_nir(to_nir(net, readout=False))
        neurons = [m for m in module.modules() if isinstance(m, snn.Leaky)]
        assert len(neurons) == 2
        recorded = [[], []]
        for i, m in enumerate(neurons):
            m.register_forward_hook(lambda mod, inp, out, i=i: recorded[i].append(out.detach().numpy().copy()))
        differ, counts = 0, np.zeros(2)
        for k in range(len(frames)):
            for m in neurons:
                m.reset_mem()
            recorded[0].clear(), recorded[1].clear()
            with torch.no_grad():
                for t in range(steps):
                    module(torch.as_tensor(frames[k, t].reshape(2, 34, 34), dtype=torch.float32))
            _, _, ours = reference_run(net, frames[k:k + 1], labels[k:k + 1], [0], [False])
            for i in range(2):
                theirs, mine = np.array(recorded[i]).reshape(steps, -1), ours[i].reshape(steps, -1)
                differ += int(np.sum(theirs != mine))
                counts[i] += mine.sum()
        return differ, counts

    differ, counts = compare("zero")
    assert differ == 0
    assert counts[0] > 100 and counts[1] > 20  # both layers spike: the comparison means something
    differ, _ = compare("subtract")  # what NIR cannot express (and the export warns about)
    assert differ > 0

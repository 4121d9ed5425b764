"""Tutorial 1: a LIF population as a Lava process, in float and in Loihi fixed-point.

Run:  .venv/bin/python tutorials/01_lif_population.py

What it shows
1. The kernels are plain functions: one LIF step by hand.
2. The same neurons as a Lava process, fed by a spike source through a Dense layer.
3. The fixed-point model after the documented conversion, and how close it stays.
4. What the population exposes for learning: Psi(u) and the post trace h.
"""
import numpy as np

import lava_local  # first: makes lava-nc importable on Python 3.11
from lava_local.fixed_point import LIFConfig, quantize_dense_weights, quantize_lif
from lava_local.kernels import LIFParams, LIFState, Surrogate, TraceParams, lif_step


def main() -> None:
    # 1. A kernel call: state in, state out.
    params = LIFParams(gamma=0.5, v_th=0.6)
    state = LIFState(np.zeros(3), np.zeros(3))
    state = lif_step(state, np.array([0.2, 0.7, 1.4]), params)
    print("1. one LIF step: u =", state.u, "spikes =", state.o)

    # 2. A network: 20 Poisson inputs -> Dense -> 5 LIF neurons, in Lava's simulator.
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    from lava_local.proc.lif import LIF

    rng = np.random.default_rng(0)
    steps, n_in, n = 60, 20, 5
    spikes = (rng.random((n_in, steps)) < 0.3).astype(float)
    weights = rng.normal(0.1, 0.15, size=(n, n_in))
    config = LIFConfig(params, Surrogate("triangular"), TraceParams(lambda_post=0.2))

    def simulate(numeric: str):
        source = RingBuffer(data=spikes)
        if numeric == "float":
            dense = Dense(weights=weights)
        else:
            q = quantize_dense_weights(weights)
            dense = Dense(weights=q.weights, weight_exp=q.weight_exp)
        lif = LIF(shape=(n,), config=config)
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        monitors = {name: Monitor() for name in ("o", "psi", "post_trace")}
        for name, monitor in monitors.items():
            monitor.probe(getattr(lif, name), steps)
        try:
            lava_local.run(lif, steps, numeric=numeric, stop=False)
            return {k: m.get_data()[lif.name][k] for k, m in monitors.items()}
        finally:
            lif.stop()

    float_run = simulate("float")
    print(f"2. float model: {int(float_run['o'].sum())} spikes in {steps} steps")

    # 3. Fixed point: the conversion and the agreement.
    fixed = quantize_lif(config)
    print(f"3. fixed-point parameters: dv={fixed.neuron.dv}, vth={fixed.neuron.vth} "
          f"(threshold {fixed.neuron.threshold}), Psi in {fixed.psi.frac_bits} fractional bits")
    fixed_run = simulate("fixed")
    agree = (float_run["o"] == fixed_run["o"]).mean()
    print(f"   fixed model: {int(fixed_run['o'].sum())} spikes; {100 * agree:.1f} % of spike entries agree")

    # 4. What learning rules read.
    psi_float = float_run["psi"][-1]
    psi_fixed = fixed_run["psi"][-1] / 2**fixed.psi.frac_bits
    print("4. Psi(u) at the last step, float:", np.round(psi_float, 3), "fixed:", np.round(psi_fixed, 3))
    print("   post trace h, float:", np.round(float_run["post_trace"][-1], 3))


if __name__ == "__main__":
    main()

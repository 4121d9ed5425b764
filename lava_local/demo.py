"""Main demo: a small LIF network on a real N-MNIST recording, float and fixed-point.

    python -m lava_local.demo [--steps 100] [--neurons 64] [--out results/demo]

Bins one N-MNIST test recording (34 x 34 x 2 events, 300 ms) into time steps, feeds the
spikes through a random dense layer into a :class:`lava_local.proc.lif.LIF` population,
and runs the network in Lava's CPU simulator twice: with the float models and with the
Loihi 2 fixed-point models (weights and neuron converted by lava_local.fixed_point). It
prints what each run did, how far the two agree, and saves a spike raster.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Dict

import numpy as np

import lava_local
from lava_local.data import NMNISTSubset
from lava_local.fixed_point import LIFConfig, quantize_dense_weights, quantize_lif


def run_lif_network(frames: np.ndarray, weights: np.ndarray, numeric: str,
                    config: LIFConfig = LIFConfig(), scale: int = lava_local.DEFAULT_SCALE) -> Dict[str, np.ndarray]:
    """Run spikes -> Dense -> LIF in Lava; return the LIF spikes and membrane per step.

    ``frames`` is ``(T, n_in)``; the Dense hop delays input by one step, so the network
    runs ``T + 1`` steps and the first output step (empty input) is dropped.
    """
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    from lava_local.proc.lif import LIF

    n_steps = frames.shape[0] + 1
    source = RingBuffer(data=np.concatenate([frames.T, np.zeros((frames.shape[1], 1))], axis=1))
    if numeric == "float":
        dense = Dense(weights=weights)
    else:
        q = quantize_dense_weights(weights, scale)
        dense = Dense(weights=q.weights, weight_exp=q.weight_exp, num_message_bits=0)
    lif = LIF(shape=(weights.shape[0],), config=config, fixed=quantize_lif(config, scale))
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitors = {name: Monitor() for name in ("o", "u")}
    monitors["o"].probe(lif.o, n_steps)
    monitors["u"].probe(lif.u, n_steps)
    try:
        lava_local.run(lif, n_steps, numeric=numeric, stop=False)
        out = {name: m.get_data()[lif.name][name][1:] for name, m in monitors.items()}
    finally:
        lif.stop()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="time steps (bins of the 300 ms recording)")
    parser.add_argument("--neurons", type=int, default=64)
    parser.add_argument("--sample", type=int, default=0, help="index into the 100 test recordings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    args = parser.parse_args(argv)

    data = NMNISTSubset("test")
    frames = data.frames(args.sample, args.steps)
    print(f"N-MNIST test recording {data.ids[args.sample]} (digit {data.labels[args.sample]}): "
          f"{int(frames.sum())} input spikes over {args.steps} steps of {300 / args.steps:.1f} ms")
    rng = np.random.default_rng(args.seed)
    active = max(frames.sum(axis=1).mean(), 1.0)
    weights = rng.normal(0.0, 0.5 / np.sqrt(active), size=(args.neurons, frames.shape[1]))

    results, seconds = {}, {}
    for numeric in ("float", "fixed"):
        start = time.perf_counter()
        results[numeric] = run_lif_network(frames, weights, numeric)
        seconds[numeric] = time.perf_counter() - start
        spikes = results[numeric]["o"]
        print(f"  {numeric:5s} model: {int(spikes.sum()):5d} spikes from {args.neurons} LIF neurons, "
              f"mean rate {spikes.mean():.3f} per step, "
              f"{1000 * seconds[numeric] / args.steps:.2f} ms per step (incl. start-up)")
    same = (results["float"]["o"] == results["fixed"]["o"]).mean()
    print(f"  float vs fixed-point: {100 * same:.2f} % of (neuron, step) spike entries agree")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plot)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=False)
    t_in, i_in = np.nonzero(frames)
    axes[0].scatter(t_in, i_in, s=0.5, c="k")
    axes[0].set(title="input spikes (N-MNIST)", xlabel="step", ylabel="input")
    for ax, numeric in zip(axes[1:], ("float", "fixed")):
        t, i = np.nonzero(results[numeric]["o"])
        ax.scatter(t, i, s=3, c="tab:blue" if numeric == "float" else "tab:red")
        ax.set(title=f"LIF spikes, {numeric}", xlabel="step", ylabel="neuron")
    fig.tight_layout()
    path = args.out / "lif_demo.png"
    fig.savefig(path, dpi=120)
    print(f"  spike raster saved to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

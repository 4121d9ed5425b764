"""Lava time per simulated step: a TESS network against Lava's own learning engine.

    .venv/bin/python benchmarks/lava_step_time.py [--steps 400] [--hidden 128]

Both networks have the same sizes (N-MNIST input 2312 -> hidden -> 10) and learn every
step, in one run of this script on the same machine:

* ours, fast model: SpikeDataSource -> DenseLayer (TESS, fused) -> Readout (local CE)
* ours, Loihi-mapped decomposition of the hidden layer (float): LearningDense
  (Loihi3FLearningRule) + TessPost + LearningSignal (lava_local.decomposed), as in
  benchmarks/decomposed_step_time.py; its read-out is not included, which favours it
* ours, the Loihi mapping (float and fixed point): the same fused network description run with
  ``mapping="loihi"`` (the hidden DenseLayer as its sub-process model, rule
  ``timing="loihi"``), read-out included
* Lava: RingBuffer -> LearningDense (STDPLoihi, t_epoch 1) -> LIF -> LearningDense -> LIF

Writes ``results/lava_step_time.{md,json}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import lava_local
from lava_local.data import NMNISTSubset

sys.path.insert(0, str(Path(__file__).resolve().parent))


def time_ours(frames, labels, hidden, numeric, mapping="fused"):
    from lava_local.network import Network
    from lava_local.rules import TESS

    # the rule both mappings build: the Loihi mapping holds no filtered eligibility
    rule = TESS(timing="loihi", apply="step") if mapping == "loihi" else TESS(filtered=False)
    net = Network(frames.shape[2], hidden=(hidden,), rule=rule)
    source, layers, readout = net.build(frames, labels, np.arange(len(labels)), np.ones(len(labels), bool))
    steps = frames.shape[0] * frames.shape[1]
    warm = frames.shape[1]
    try:
        lava_local.run(readout, warm, numeric=numeric, stop=False, mapping=mapping)
        start = time.perf_counter()
        lava_local.run(readout, steps - warm, numeric=numeric, stop=False, check_every=steps, mapping=mapping)
        return 1000 * (time.perf_counter() - start) / (steps - warm), 3 + 3
    finally:
        readout.stop()


def time_lava_stdp(frames, hidden, numeric):
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer
    from lava.proc.learning_rules.stdp_learning_rule import STDPLoihi
    from lava.proc.lif.process import LIF

    flat = frames.reshape(-1, frames.shape[2]).T
    rng = np.random.default_rng(0)
    rule = STDPLoihi(learning_rate=1, A_plus=1, A_minus=-1, tau_plus=10, tau_minus=10, t_epoch=1)
    fixed = numeric == "fixed"
    w1 = rng.integers(-20, 20, (hidden, flat.shape[0])) if fixed else rng.normal(0, 0.05, (hidden, flat.shape[0]))
    w2 = rng.integers(-20, 20, (10, hidden)) if fixed else rng.normal(0, 0.1, (10, hidden))
    source = RingBuffer(data=flat)
    d1 = LearningDense(weights=w1, learning_rule=rule)
    l1 = LIF(shape=(hidden,), du=4095 if fixed else 1.0, dv=2048 if fixed else 0.5, vth=10 if fixed else 0.6)
    d2 = LearningDense(weights=w2, learning_rule=rule)
    l2 = LIF(shape=(10,), du=4095 if fixed else 1.0, dv=2048 if fixed else 0.5, vth=10 if fixed else 0.6)
    source.s_out.connect(d1.s_in)
    d1.a_out.connect(l1.a_in)
    l1.s_out.connect(d1.s_in_bap)
    l1.s_out.connect(d2.s_in)
    d2.a_out.connect(l2.a_in)
    l2.s_out.connect(d2.s_in_bap)
    cfg = lava_local.run_config(numeric)
    steps = flat.shape[1]
    warm = frames.shape[1]
    try:
        source.run(condition=RunSteps(num_steps=warm), run_cfg=cfg)
        start = time.perf_counter()
        source.run(condition=RunSteps(num_steps=steps - warm), run_cfg=cfg)
        return 1000 * (time.perf_counter() - start) / (steps - warm), 5 + 3
    finally:
        source.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--steps-per-sample", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    data = NMNISTSubset("train")
    frames, labels = data.dense(args.steps_per_sample, range(args.samples))
    rows = []
    for numeric in ("float", "fixed"):
        ours, ours_procs = time_ours(frames, labels, args.hidden, numeric)
        lava, lava_procs = time_lava_stdp(frames, args.hidden, numeric)
        rows.append({"numeric": numeric, "model": "fused TESS network", "tess_ms_per_step": ours,
                     "lava_stdp_ms_per_step": lava, "ratio": ours / lava, "tess_os_processes": ours_procs,
                     "lava_os_processes": lava_procs})
        print(f"{numeric:5s}: TESS network {ours:.2f} ms/step, Lava LIF+LearningDense+STDPLoihi "
              f"{lava:.2f} ms/step, ratio {ours / lava:.3f}")
        if numeric == "float":
            from decomposed_step_time import time_decomposed

            rng = np.random.default_rng(0)
            w0 = rng.normal(0, 2.0 / np.sqrt(frames.shape[2]), (args.hidden, frames.shape[2]))
            dec, dec_procs = time_decomposed(frames, labels, w0)
            rows.append({"numeric": numeric, "model": "Loihi-mapped decomposition (hidden layer)",
                         "tess_ms_per_step": dec, "lava_stdp_ms_per_step": lava, "ratio": dec / lava,
                         "tess_os_processes": dec_procs, "lava_os_processes": lava_procs})
            print(f"float: decomposed TESS layer {dec:.2f} ms/step, ratio {dec / lava:.3f}")
        mapped, mapped_procs = time_ours(frames, labels, args.hidden, numeric, mapping="loihi")
        rows.append({"numeric": numeric, "model": "TESS network, mapping='loihi'", "tess_ms_per_step": mapped,
                     "lava_stdp_ms_per_step": lava, "ratio": mapped / lava,
                     "tess_os_processes": mapped_procs + 3, "lava_os_processes": lava_procs})
        print(f"{numeric}: TESS network in the Loihi mapping {mapped:.2f} ms/step, ratio {mapped / lava:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lava_step_time.json").write_text(json.dumps(rows, indent=2))
    lines = ["| numeric | TESS model | TESS (ms/step) | Lava STDP (ms/step) | ratio |", "|---|---|---|---|---|"]
    lines += [f"| {r['numeric']} | {r['model']} | {r['tess_ms_per_step']:.2f} | {r['lava_stdp_ms_per_step']:.2f} | "
              f"{r['ratio']:.3f} |" for r in rows]
    header = (f"2312 -> {args.hidden} -> 10, {args.samples} N-MNIST samples x {args.steps_per_sample} steps, "
              "both learning every step, one run\n\n")
    (args.out / "lava_step_time.md").write_text(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

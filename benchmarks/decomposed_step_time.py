"""Lava time per simulated step: the decomposed (Loihi 2 mapped) TESS layer vs the fused one.

    .venv/bin/python benchmarks/decomposed_step_time.py [--input nmnist|random] [--hidden 128]

Both graphs hold one TESS layer 2312 -> hidden, learn every step (apply="step") and run
in one invocation of this script on the same machine, float models:

* fused:      SpikeDataSource -> DenseLayer (W, LIF, traces, signal, update in one process)
* decomposed: RingBuffer -> LearningDense(Loihi3FLearningRule) -> TessPost <-> LearningSignal,
              labels through a second RingBuffer (lava_local.decomposed)

Input: ``NMNISTSubset("train").dense(steps_per_sample, range(samples))`` or binary random
spikes of the same shape and rate. The first sample's steps warm up (compilation, process
start) and are not timed. Writes ``results/decomposed_step_time.{md,json}``.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import lava_local
from lava_local.kernels.learning_signal import SignalParams
from lava_local.rules import TESS


def _rule() -> TESS:
    return TESS(apply="step", signal=SignalParams(n_classes=10, basis="square"))


def time_fused(frames, labels, w0):
    from lava_local.proc.dense_layer import DenseLayer
    from lava_local.proc.source import SpikeDataSource

    steps_per_sample = frames.shape[1]
    source = SpikeDataSource(frames=frames, labels=labels, n_classes=10)
    layer = DenseLayer(weights=w0, steps_per_sample=steps_per_sample, rule=_rule())
    source.s_out.connect(layer.s_in)
    source.label_out.connect(layer.label_in)
    return _time(layer, frames.shape[0] * steps_per_sample, steps_per_sample), 2 + 3


def time_decomposed(frames, labels, w0):
    from lava_local.decomposed import build_decomposed_tess_layer

    steps_per_sample = frames.shape[1]
    spikes = frames.reshape(-1, frames.shape[2])
    step_labels = np.repeat(labels, steps_per_sample)
    layer = build_decomposed_tess_layer(w0, _rule(), spikes=spikes, labels=step_labels)
    return _time(layer.post, spikes.shape[0], steps_per_sample), len(layer.processes) + 3


def _time(process, steps, warm):
    try:
        lava_local.run(process, warm, numeric="float", stop=False)
        start = time.perf_counter()
        lava_local.run(process, steps - warm, numeric="float", stop=False, check_every=steps)
        return 1000 * (time.perf_counter() - start) / (steps - warm)
    finally:
        process.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", choices=("nmnist", "random"), default="nmnist")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--steps-per-sample", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    if args.input == "nmnist":
        from lava_local.data import NMNISTSubset

        frames, labels = NMNISTSubset("train").dense(args.steps_per_sample, range(args.samples))
        frames = (frames > 0).astype(float)
    else:
        rng = np.random.default_rng(0)
        frames = (rng.random((args.samples, args.steps_per_sample, 2312)) < 0.02).astype(float)
        labels = rng.integers(0, 10, args.samples)
    n_in = frames.shape[2]
    w0 = np.random.default_rng(1).normal(0.0, 2.0 / np.sqrt(n_in), (args.hidden, n_in))
    rate = float(frames.mean())
    fused, fused_procs = time_fused(frames, labels, w0)
    dec, dec_procs = time_decomposed(frames, labels, w0)
    rows = [
        {"graph": "fused DenseLayer", "ms_per_step": fused, "os_processes": fused_procs},
        {"graph": "decomposed LearningDense + TessPost + LearningSignal", "ms_per_step": dec,
         "os_processes": dec_procs},
    ]
    info = {"input": args.input, "input_rate": rate, "n_in": n_in, "hidden": args.hidden,
            "samples": args.samples, "steps_per_sample": args.steps_per_sample,
            "timed_steps": args.samples * args.steps_per_sample - args.steps_per_sample,
            "ratio_decomposed_over_fused": dec / fused, "python": platform.python_version(), "rows": rows}
    header = (f"{n_in} -> {args.hidden} TESS layer, float models, learning every step; {args.input} input "
              f"(rate {rate:.3f}), {args.samples} samples x {args.steps_per_sample} steps, first sample "
              "not timed; one run")
    lines = ["| graph | ms / step | OS processes (incl. 3 of Lava) |", "|---|---|---|"]
    lines += [f"| {r['graph']} | {r['ms_per_step']:.2f} | {r['os_processes']} |" for r in rows]
    lines.append(f"\nratio decomposed / fused: {dec / fused:.1f}")
    print(header)
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "decomposed_step_time.json").write_text(json.dumps(info, indent=2))
    (args.out / "decomposed_step_time.md").write_text(header + "\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

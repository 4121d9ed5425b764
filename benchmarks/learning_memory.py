"""Learning-state memory per layer: TESS's traces versus what BPTT stores.

    .venv/bin/python benchmarks/learning_memory.py [--hidden 128] [--steps 10,100,1000] [--vgg9 20,60]

For each layer of 2312 -> hidden -> 10 it runs the layer kernel over T steps and measures
the state the layer keeps between steps (traces q and h, Psi, membrane, spikes; the
accumulated update is the same size as BPTT's gradient and is listed apart). BPTT must
keep, per step, the layer's input spikes, membrane and output spikes for the backward
pass: T (n_in + 2 n_out) values (S-TLLR sec. 4.3: Mem_BPTT = T sum n_l). Writes
``results/learning_memory.{md,json}``.

``--vgg9 20,60`` adds VGG-9 at DVS Gesture size (2x32x32, 11 classes), one sample, through
the batched trainers (needs torch): :func:`lava_local.costs.learning_memory_bytes`, TESS's
states against what BPTT saves for its backward pass, each storage once.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lava_local.kernels import LIFParams, Surrogate
from lava_local.kernels.basis import make_basis
from lava_local.kernels.layer import dense_layer_init, dense_layer_step
from lava_local.kernels.learning_signal import one_hot
from lava_local.rules import TESS


def tess_state_bytes(n_in: int, n_out: int, steps: int) -> int:
    rng = np.random.default_rng(0)
    rule = TESS().for_neuron(LIFParams())
    w = rng.normal(0, 0.05, (n_out, n_in))
    basis = make_basis("square", 10, n_out)
    state = dense_layer_init(n_in, n_out)
    for _ in range(steps):
        pre = (rng.random(n_in) < 0.05).astype(float)
        state = dense_layer_step(state, pre, w, LIFParams(), Surrogate(), rule.eligibility, basis, rule.signal,
                                 one_hot(1, 10))
    return sum(x.nbytes for x in state[:5])


def vgg9_rows(steps_list) -> list:
    """Learning memory of one VGG-9 sample for TESS and BPTT at each T (bytes)."""
    import torch

    import lava_local  # noqa: F401 - first, as everywhere
    from lava_local.costs import learning_memory_bytes
    from lava_local.network import vgg9
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    rows = []
    for steps in steps_list:
        rng = np.random.default_rng(0)
        x = torch.as_tensor(rng.random((1, steps, 2 * 32 * 32)) < 0.05, dtype=torch.float32)
        y = torch.as_tensor([3])
        held = {name: learning_memory_bytes(cls(vgg9((2, 32, 32), 11, seed=0), device="cpu"), x, y)
                for name, cls in (("tess", LocalTrainer), ("bptt", BPTTTrainer))}
        rows.append({"T": steps, "layer": "VGG-9, one sample", "tess_bytes": held["tess"],
                     "bptt_bytes": held["bptt"], "ratio": held["bptt"] / held["tess"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--steps", default="10,100,1000")
    parser.add_argument("--vgg9", default="", help="also VGG-9 (2x32x32), one sample, at these T (e.g. 20,60)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    layers = [(2312, args.hidden), (args.hidden, 10)]
    rows = []
    for steps in (int(s) for s in args.steps.split(",")):
        for i, (n_in, n_out) in enumerate(layers):
            tess = tess_state_bytes(n_in, n_out, steps)
            bptt = steps * (n_in + 2 * n_out) * 8
            rows.append({"T": steps, "layer": f"{n_in}->{n_out}", "tess_bytes": tess, "bptt_bytes": bptt,
                         "ratio": bptt / tess, "update_accumulator_bytes": n_in * n_out * 8})
    lines = ["| T | layer | TESS state (KiB) | BPTT stored (KiB) | BPTT / TESS |", "|---|---|---|---|---|"]
    lines += [f"| {r['T']} | {r['layer']} | {r['tess_bytes'] / 1024:.1f} | {r['bptt_bytes'] / 1024:.1f} | "
              f"{r['ratio']:.0f}x |" for r in rows]
    lines.append("")
    lines.append("float64 values; both also hold one weight-sized update accumulator (not listed).")
    if args.vgg9:
        vgg = vgg9_rows(int(s) for s in args.vgg9.split(","))
        rows += vgg
        lines += ["", "| T | VGG-9, one sample | TESS states (MB) | BPTT saved (MB) | BPTT / TESS |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['T']} | 2x32x32 | {r['tess_bytes'] / 1e6:.1f} | {r['bptt_bytes'] / 1e6:.1f} | "
                  f"{r['ratio']:.0f}x |" for r in vgg]
        lines += ["", "float32 (the trainers); `lava_local.costs.learning_memory_bytes`, each storage once."]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "learning_memory.json").write_text(json.dumps(rows, indent=2))
    (args.out / "learning_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Convolution work of one VGG-9 time step: TESS's products against BPTT's, layer by layer.

    .venv/bin/python benchmarks/conv_costs.py [--device cuda] [--batch 16] [--repeats 5]
        [--width 1.0] [--size 32]

Convolutions are most of a VGG-9 training step (about 70 % on a CPU, for both rules). Per
conv layer and time step, TESS runs the forward convolution over the batch B and one weight
gradient over its two stacked eligibility terms (2B samples, :func:`~lava_local.kernels.
plasticity.stacked_update`); BPTT runs the forward over B and, in its backward pass, the
input gradient (not in the first layer, whose input needs none) and the weight gradient over
B. A window of k steps (:mod:`lava_local.kernels.window`) needs (k + 1) B samples of weight
gradient per k steps instead of 2 k B. This script times each of these products alone
(median of ``--repeats`` after a warm-up, ``torch.cuda.synchronize`` on GPUs), on random
inputs with 5 % spikes, and sums them over the layers: what one time step costs each rule
in convolutions, whatever the rest of the step costs.

Writes ``results/conv_costs.{md,json}`` with the device name.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Callable, Dict

import torch

from lava_local.kernels.conv import conv2d, conv2d_weight_grad
from lava_local.network import vgg9
from lava_local.trainer import flush_subnormals


def median_ms(run: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    run()  # warm-up: kernel selection and allocator
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def layer_costs(geometry, batch: int, repeats: int, device: torch.device, first: bool) -> Dict[str, float]:
    """Milliseconds of each convolution one time step runs in this layer."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    stride, padding = geometry.stride, geometry.padding
    weight = torch.randn(geometry.weight_shape, generator=generator).to(device)
    pre = (torch.rand((2 * batch, *geometry.in_shape), generator=generator) < 0.05).float().to(device)
    post = torch.randn((2 * batch, *geometry.out_shape), generator=generator).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    mask = [not first, False, True]  # BPTT: the input's gradient except for the network's input

    return {
        "forward": median_ms(lambda: conv2d(pre[:batch], weight, stride, padding), repeats, sync),
        "tess_weight_grad_2B": median_ms(
            lambda: conv2d_weight_grad(pre, post, geometry.weight_shape, stride, padding), repeats, sync),
        "weight_grad_B": median_ms(
            lambda: conv2d_weight_grad(pre[:batch], post[:batch], geometry.weight_shape, stride, padding),
            repeats, sync),
        "bptt_backward_B": median_ms(
            lambda: torch.ops.aten.convolution_backward(post[:batch], pre[:batch], weight, None, [stride] * 2,
                                                        [padding] * 2, [1, 1], False, [0, 0], 1, mask),
            repeats, sync),
    }


def main() -> None:
    flush_subnormals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0: the papers' VGG-9)")
    parser.add_argument("--size", type=int, default=32, help="input height and width")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    net = vgg9((2, args.size, args.size), 11, width=args.width, seed=0)
    rows = []
    for i, geometry in enumerate(net.geometries):
        costs = layer_costs(geometry, args.batch, args.repeats, device, first=(i == 0))
        c_in, c_out, h = geometry.in_shape[0], geometry.out_channels, geometry.out_shape[1]
        rows.append({"layer": f"{c_in}->{c_out} at {h}x{h}", **costs,
                     "tess_step": costs["forward"] + costs["tess_weight_grad_2B"],
                     "bptt_step": costs["forward"] + costs["bptt_backward_B"]})
        print(f"{rows[-1]['layer']}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in costs.items()), flush=True)
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "layer"}
    rows.append({"layer": "all conv layers", **total})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "conv_costs.json").write_text(json.dumps(
        {"device": name, "args": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=2))
    lines = [f"VGG-9 (width {args.width}), 2x{args.size}x{args.size}, batch {args.batch}, device {name}; "
             "ms per time step\n",
             "| layer | forward (B) | TESS weight gradient (2B) | weight gradient (B) | BPTT input + weight "
             "gradient (B) | TESS step | BPTT step | TESS / BPTT |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['forward']:.2f} | {r['tess_weight_grad_2B']:.2f} | {r['weight_grad_B']:.2f}"
                     f" | {r['bptt_backward_B']:.2f} | {r['tess_step']:.2f} | {r['bptt_step']:.2f} | "
                     f"{r['tess_step'] / r['bptt_step']:.2f} |")
    (args.out / "conv_costs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

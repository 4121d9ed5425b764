"""VGG-9 at DVS Gesture size: TESS versus BPTT, time per training step and peak memory.

    .venv/bin/python benchmarks/vgg9_step.py [--device cuda] [--steps 20] [--batch 16] [--repeats 5]

Input 2 x 32 x 32, 11 classes, T = 20, batch 16 (the TESS paper's DVS Gesture setting),
random input spikes at 5 %. Both trainers run in the same process on the same device,
after one warm-up step each: median time per training step (with torch.cuda.synchronize
on GPUs) and peak memory of a step (CUDA: torch's peak allocation; CPU: bytes held for
learning, as in compare_rules.py). Writes ``results/vgg9_step.{md,json}``; say which
device gave the numbers (the script records torch's device name).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lava_local  # noqa: E402,F401
from lava_local.costs import learning_memory_bytes  # noqa: E402
from lava_local.network import vgg9  # noqa: E402
from lava_local.trainer import BPTTTrainer, LocalTrainer  # noqa: E402


def measure(cls, args, device, window=None):
    net = vgg9((2, 32, 32), 11, seed=0)
    extra = {"window": window} if window else {}
    trainer = cls(net, device=device, optimizer="adam", lr=1e-3, **extra)
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.random((args.batch, args.steps, 2 * 32 * 32)) < 0.05, dtype=torch.float32,
                        device=trainer.device)
    y = torch.as_tensor(rng.integers(0, 11, args.batch), device=trainer.device)
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    trainer.train_step(x, y)  # warm-up
    sync()
    if trainer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        trainer.train_step(x, y)
        sync()
        times.append(time.perf_counter() - start)
    if trainer.device.type == "cuda":
        memory = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        memory = learning_memory_bytes(trainer, x, y) / 2**20
    return statistics.median(times) * 1000, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--window", type=int, default=10, help="TESS weight-gradient window (steps)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    rows = {}
    runs = (("TESS", LocalTrainer, None), (f"TESS window {args.window}", LocalTrainer, args.window),
            ("BPTT", BPTTTrainer, None))
    for label, cls, window in runs:
        ms, mib = measure(cls, args, device, window)
        rows[label] = {"ms_per_step": ms, "memory_MiB": mib}
        print(f"{label}: {ms:.0f} ms per training step, {mib:.0f} MiB", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vgg9_step.json").write_text(json.dumps({"device": name, "args": vars(args) | {"out": str(args.out)},
                                                        "rows": rows}, indent=2))
    best = min((r for k, r in rows.items() if k.startswith("TESS")), key=lambda r: r["ms_per_step"])
    speed = rows["BPTT"]["ms_per_step"] / best["ms_per_step"]
    memory = rows["BPTT"]["memory_MiB"] / best["memory_MiB"]
    (args.out / "vgg9_step.md").write_text(
        f"VGG-9, 2x32x32, T = {args.steps}, batch {args.batch}, device {name}\n\n"
        "| trainer | ms per step | memory (MiB) |\n|---|---|---|\n"
        + "".join(f"| {k} | {v['ms_per_step']:.0f} | {v['memory_MiB']:.0f} |\n" for k, v in rows.items())
        + f"\nBPTT / fastest TESS: time {speed:.2f}x, memory {memory:.1f}x\n")
    print(f"BPTT / fastest TESS: time {speed:.2f}x, memory {memory:.1f}x")


if __name__ == "__main__":
    main()

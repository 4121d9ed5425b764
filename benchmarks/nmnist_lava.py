"""TESS trained online in the Lava simulator on the real N-MNIST 1k/100 subset.

    .venv/bin/python benchmarks/nmnist_lava.py [--epochs 5] [--steps 10] [--hidden 128]
        [--readout-init auto|random|basis] [--runs float,frozen,fixed] [--seed 0]

Runs, in one invocation: TESS with the float models, the same network with frozen random
hidden weights (read-out-only control) and TESS with the Loihi fixed-point models. Each
epoch plays the 1,000 training recordings (learning) and then the 100 test recordings
(no learning). Writes ``results/nmnist_lava.{md,json}`` and a plot of test accuracy per
epoch. One test sample is one accuracy point: report as "N-MNIST 1k/100 subset".
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

import lava_local  # noqa: F401
from lava_local.data import NMNISTSubset
from lava_local.kernels.learning_signal import SignalParams
from lava_local.network import READOUT_INITS, Network
from lava_local.rules import TESS

DEFAULTS = dict(epochs=5, steps=10, hidden=256, lr=1e-3, readout_lr=1e-3, init_scale=1.75, alpha_post=0.0)


def make_network(args, frozen: bool = False) -> Network:
    # online batch-1 settings: unscaled +-1 basis, alpha_post 0 (see lava_local.rules.TESS),
    # unfiltered (the demo's online preset, lava_local.demo)
    rule = TESS(lr=args.lr, signal=SignalParams(basis="square"), filtered=False)
    rule = rule.with_(eligibility=replace(rule.eligibility, alpha_post=args.alpha_post))
    return Network(2312, hidden=(args.hidden,), rule=rule, frozen=frozen, init_scale=args.init_scale,
                   readout_lr=args.readout_lr, readout_init=args.readout_init, seed=args.seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readout-init", choices=READOUT_INITS, default="auto",
                        help="the read-out's start (Network(readout_init=...))")
    parser.add_argument("--runs", default="float,frozen,fixed")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    train, test = NMNISTSubset("train").dense(args.steps), NMNISTSubset("test").dense(args.steps)
    results = {}
    for run in args.runs.split(","):
        net = make_network(args, frozen=(run == "frozen"))
        numeric = "fixed" if run == "fixed" else "float"
        history = net.fit(train, test, epochs=args.epochs, numeric=numeric,
                          on_epoch=lambda e, h, run=run: print(
                              f"{run:6s} epoch {e + 1}: train {h.train_accuracy[-1]:.3f} "
                              f"test {h.test_accuracy[-1]:.3f} ({h.epoch_seconds[e]:.1f} s)", flush=True))
        results[run] = history.as_dict()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nmnist_lava.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                          "results": results}, indent=2))
    lines = [f"N-MNIST 1k/100 subset, Lava simulator, 2312-{args.hidden}-10, T = {args.steps}, "
             f"{args.epochs} epochs, seed {args.seed}, read-out start {args.readout_init}", "",
             "| run | best test acc | final test acc | final train acc | s/epoch |", "|---|---|---|---|---|"]
    for run, h in results.items():
        lines.append(f"| {run} | {max(h['test_accuracy']):.2f} | {h['test_accuracy'][-1]:.2f} | "
                     f"{h['train_accuracy'][-1]:.3f} | {np.mean(h['epoch_seconds']):.1f} |")
    (args.out / "nmnist_lava.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for run, h in results.items():
            ax.plot(range(1, len(h["test_accuracy"]) + 1), h["test_accuracy"], marker="o", label=run)
        ax.set(xlabel="epoch", ylabel="test accuracy (100 samples)", title="TESS in Lava, N-MNIST subset")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out / "nmnist_lava.png", dpi=120)
    except ImportError:
        pass


if __name__ == "__main__":
    main()

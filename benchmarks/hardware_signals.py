"""Hardware-friendly local errors against the softmax signal, with the batched trainer.

    .venv/bin/python benchmarks/hardware_signals.py [--datasets nmnist,fashion] [--seeds 3]
        [--epochs nmnist:20,fashion:5] [--errors softmax,clipped,pwl_softmax] [--timings paper]
        [--pad 0] [--drain] [--out results]

TESS at its defaults (square basis scaled by 1/sqrt(d), alpha_post -1) with the local error
``SignalParams(error=...)`` changed: ``softmax`` (the papers'), ``clipped`` (clip(z, 0, 1)
- y*) and ``pwl_softmax`` (relu(z - max z + 2) normalised), the errors a neuro-core's
error units can compute. ``--timings paper,loihi`` adds each error with
``LearningRule(timing="loihi")``: the post factors paired with the pre quantities two steps
later, as the layer decomposed for Loihi 2 learns; ``--pad N`` follows every sample with N
silent steps (a Loihi-timing row is then compared with the same error at the papers' timing
without them); ``--drain`` gives the Loihi-timing rows ``LearningRule(drain=True)``. The network and protocol are benchmarks/compare_rules.py's:
2312 (or 784) -> 512 -> 256 -> leaky read-out, Adam 1e-3 per layer, batch 32; N-MNIST
1k/100 subset at T = 10 for 20 epochs, Fashion-MNIST 60k/10k with direct input at T = 6
for 5 epochs (``--epochs 3`` sets every dataset's, ``nmnist:20,fashion:2`` each one's).
Test accuracy, mean and spread over seeds 0 .. seeds-1; beside it the difference to the
softmax row (for a Loihi-timing row: to the same error at the papers' timing).

Writes ``<out>/hardware_signals.{md,json}``; rows already in the JSON from an earlier run
(other variants) are kept, so variants can be measured one command at a time.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

DATASETS = ("nmnist", "fashion")
DEFAULT_EPOCHS = {"nmnist": 20, "fashion": 5}


def parse_epochs(text: str) -> dict:
    """``"3"`` for every dataset, or ``"nmnist:20,fashion:2"``."""
    if ":" not in text:
        return {name: int(text) for name in DATASETS}
    epochs = dict(DEFAULT_EPOCHS)
    for part in text.split(","):
        name, value = part.split(":")
        if name not in DATASETS:
            raise SystemExit(f"unknown dataset {name!r} in --epochs; choose from {', '.join(DATASETS)}")
        epochs[name] = int(value)
    return epochs


def make_rule(error: str, timing: str = "paper", drain: bool = False):
    from lava_local.rules import TESS

    default = TESS()
    return default.with_(signal=replace(default.signal, error=error), timing=timing, drain=drain)


def variant_name(error: str, timing: str = "paper", pad: int = 0, drain: bool = False) -> str:
    name = error if timing == "paper" else f"{error}, {timing} timing" + (", drain" if drain else "")
    return name if pad == 0 else f"{name}, +{pad} silent steps"


def pad_silence(data, steps: int):
    """Each sample followed by ``steps`` silent steps (no input events)."""
    frames, labels = data
    if steps == 0:
        return data
    silence = np.zeros((frames.shape[0], steps) + frames.shape[2:], frames.dtype)
    return np.concatenate([frames, silence], axis=1), labels


def load(name: str, train_samples: int):
    if name == "nmnist":
        from lava_local.data import NMNISTSubset

        train, test = NMNISTSubset("train").dense(10), NMNISTSubset("test").dense(10)
        return (train[0][:train_samples], train[1][:train_samples]), test
    from lava_local.data import load_fashion_mnist_spikes

    train = load_fashion_mnist_spikes("train", encoding="direct", n_steps=6, n_samples=train_samples)
    return train, load_fashion_mnist_spikes("test", encoding="direct", n_steps=6)


def train_eval(rule, train, test, epochs: int, seed: int, device: str):
    """compare_rules.py's protocol: Adam 1e-3 per layer, batch 32, the seed's shuffles."""
    import torch

    from lava_local.network import Network
    from lava_local.trainer import LocalTrainer

    net = Network(train[0].shape[2], hidden=(512, 256), rule=rule, seed=seed)
    torch.manual_seed(seed)
    trainer = LocalTrainer(net, device=device, optimizer="adam", lr=1e-3)
    generator = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.fit_epoch(*train, batch_size=32, generator=generator)
    return trainer.evaluate(*test), (time.perf_counter() - start) / max(epochs, 1)


def write_tables(out: Path, rows: dict, args: dict) -> str:
    """``hardware_signals.json`` (every row) and ``.md``: one line a variant, one column
    pair a dataset, the difference to the softmax row of the same epochs beside it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "hardware_signals.json").write_text(json.dumps({"args": args, "rows": rows}, indent=2))
    variants = list(dict.fromkeys(r["variant"] for r in rows.values()))
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows.values())]
    header = ["variant"] + [f"{d} ({_epochs(rows, d)} epochs): accuracy, vs softmax" for d in datasets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for v in variants:
        cells = [v]
        for d in datasets:
            row = rows.get(f"{d}/{v}")
            if row is None:
                cells.append("-")
                continue
            same_error = row.get("timing", "paper") != "paper" or row.get("pad")
            base = rows.get(f"{d}/{row['error'] if same_error else 'softmax'}")
            cell = f"{row['acc_mean']:.3f} +- {row['acc_std']:.3f} (n={len(row['acc'])})"
            if base is not None and base is not row:
                cell += f", {100 * (row['acc_mean'] - base['acc_mean']):+.1f} pt"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (out / "hardware_signals.md").write_text(table)
    return table


def _epochs(rows: dict, dataset: str) -> str:
    return "/".join(str(e) for e in sorted({r["epochs"] for r in rows.values() if r["dataset"] == dataset}))


def main() -> None:
    from lava_local.kernels.learning_signal import ERRORS
    from lava_local.rules import TIMINGS
    from lava_local.trainer import flush_subnormals

    flush_subnormals()  # first, so that torch's worker threads inherit it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="nmnist,fashion")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=parse_epochs, default=dict(DEFAULT_EPOCHS),
                        help="every dataset's (3) or each one's (nmnist:20,fashion:5, the default)")
    parser.add_argument("--errors", default="softmax,clipped,pwl_softmax")
    parser.add_argument("--timings", default="paper", help="paper, loihi or both (comma-separated)")
    parser.add_argument("--pad", type=int, default=0,
                        help="silent steps after every sample (train and test): with the Loihi timing they "
                             "let the factors of a sample's last two steps meet its traces")
    parser.add_argument("--drain", action="store_true",
                        help="the Loihi timing's rows with LearningRule(drain=True)")
    parser.add_argument("--train-samples", type=int, default=60000, help="at most this many training samples")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    errors = [e for e in args.errors.split(",") if e]
    timings = [t for t in args.timings.split(",") if t]
    for value, known, what in ((datasets, DATASETS, "dataset"), (errors, ERRORS, "error"),
                               (timings, tuple(TIMINGS), "timing")):
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise SystemExit(f"unknown {what}(s) {unknown}; choose from {', '.join(known)}")

    path = args.out / "hardware_signals.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else {}
    for name in datasets:
        train, test = (pad_silence(d, args.pad) for d in load(name, args.train_samples))
        epochs = args.epochs[name]
        for error, timing in ((e, t) for t in timings for e in errors):
            drain = args.drain and timing != "paper"
            variant = variant_name(error, timing, args.pad, drain)
            accs, seconds = [], []
            for seed in range(args.seeds):
                acc, sec = train_eval(make_rule(error, timing, drain), train, test, epochs, seed, args.device)
                accs.append(float(acc))
                seconds.append(sec)
                print(f"{name} {variant} seed {seed}: test {acc:.4f}, {sec:.1f} s/epoch", flush=True)
            rows[f"{name}/{variant}"] = {"dataset": name, "variant": variant, "error": error, "timing": timing,
                                         "pad": args.pad, "drain": drain, "epochs": epochs,
                                         "acc": accs, "acc_mean": float(np.mean(accs)),
                                         "acc_std": float(np.std(accs)), "s_per_epoch": float(np.mean(seconds))}
            table = write_tables(args.out, rows, vars(args) | {"out": str(args.out)})
    print(table)


if __name__ == "__main__":
    main()

"""TESS, S-TLLR, LLS and BPTT on the same network: accuracy, memory, MACs, time.

    .venv/bin/python benchmarks/compare_rules.py [--seeds 3] [--nmnist-epochs 20]
        [--fashion-epochs 5] [--parts nmnist,fashion,memory] [--device cpu]
        [--memory-steps 10,100,1000] [--memory-batch 32]

Network 2312 (or 784) -> 512 -> 256 -> leaky read-out, the same LIF neuron (gamma 0.5,
v_th 0.6, triangular Psi as BPTT's surrogate), Adam 1e-3 per layer, batch 32:

* accuracy: N-MNIST 1k/100 subset (T = 10) and Fashion-MNIST 60k/10k (direct input,
  T = 6), mean and spread over seeds, with the read-out-only control (random, frozen
  hidden layers); S-TLLR uses the back-propagated instantaneous signal (its paper's
  default; ``STLLR(feedback="bp")``, its last hidden layer filtered, ``filtered="auto"``),
  TESS and LLS their local signals (TESS-B/d: TESS with the basis scaled by
  1/d, as the authors' code does; TESS (unscaled basis): entries +-1; TESS (rate-scaled
  basis): 2 / sqrt(d r), r the layer's firing rate before training; TESS (split basis): the
  square basis with every column split between the classes, basis="square_split"; TESS
  (rate-scaled split basis): both); SLAYER is lava-dl's
  BPTT on the same layer sizes (CUBA neurons with the same decay and threshold, reset to zero); S-TLLR
  (filtered) is ``STLLR(feedback="bp", filtered=True)``, S-TLLR (local) the rule's default
  ``STLLR()`` (its last hidden layer filtered, at TESS's basis scale), S-TLLR (local
  unfiltered) ``STLLR(filtered=False)`` (its local signal's default before, every layer at the
  +-1 basis), S-TLLR (local basis over sqrt(d)) ``STLLR(signal=SignalParams(scale="1/sqrt(d)"))``
  (TESS's scale on every layer), TESS (filtered) ``TESS(filtered=True)`` (its local signal on the spikes
  filtered by the read-out's leak, the eligibility filtered alike), TESS (last layer
  filtered) ``TESS(filtered="last")`` (so for the last hidden layer alone; TESS's default,
  ``filtered="auto"``, is that on these dense networks), TESS (unfiltered)
  ``TESS(filtered=False)`` (TESS's default before), LLS (last layer filtered)
  ``LLS(filtered="last")`` (LLS's default likewise), LLS (unfiltered) ``LLS(filtered=False)``,
  S-TLLR (last layer filtered) ``STLLR(feedback="bp", filtered="last")`` (S-TLLR's default
  likewise), S-TLLR (unfiltered) ``STLLR(feedback="bp", filtered=False)`` (the paper's rule);
  the read-out starts as
  ``Network`` starts it by default (at the rule's basis under a local signal: TESS, LLS,
  S-TLLR (local), TESS (filtered), readout-only; at random for S-TLLR and BPTT), "+ basis
  read-out" / "+ random read-out" name the start (``Network(readout_init=...)``), "+ fixed
  read-out" keeps the read-out at the basis (``readout_learns=False``); a learning read-out
  integrates its input less the input's running mean (``readout_centred=True``, the
  network's default; "+ centred read-out" names it), "+ plain read-out" (run only when
  named, ``--methods "TESS + plain read-out"``) the spikes themselves, as in the papers;
* memory versus T (10, 100, 1000) and batch size (``--memory-batch``, 32 by default):
  the peak memory of a whole training step (CUDA: torch's peak allocation; CPU: the C
  heap's peak; see ``memory_point``) and the learning state within it (what BPTT saves
  for its backward pass against the local rules' traces and states,
  ``lava_local.costs.learning_memory_bytes``). The step holds the weights' gradients
  whatever the rule (5.0 MiB here); the learning state grows with batch x T for BPTT
  only, so the whole step's ratio depends on the batch and the learning state's does not;
* learning-signal MACs per sample, counted from the code (lava_local.costs);
* time per epoch.

Writes ``results/compare_rules.{md,csv,json}``.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import time
from pathlib import Path
from typing import Tuple

import numpy as np
from method_labels import readout_options, split_method

METHODS = ("TESS", "TESS-B/d", "TESS-B/sqrt(d)", "TESS (unscaled basis)", "TESS (rate-scaled basis)",
           "TESS (split basis)", "TESS (rate-scaled split basis)", "S-TLLR", "S-TLLR (filtered)", "LLS", "BPTT",
           "readout-only", "SLAYER",
           "TESS + basis read-out", "readout-only + basis read-out", "TESS + random read-out",
           "readout-only + random read-out", "LLS + random read-out", "S-TLLR (local)",
           "S-TLLR (local) + random read-out", "TESS (filtered)", "TESS (filtered) + fixed read-out",
           "TESS (last layer filtered)", "TESS (unfiltered)", "LLS (last layer filtered)", "LLS (unfiltered)",
           "S-TLLR (last layer filtered)", "S-TLLR (unfiltered)", "S-TLLR (local unfiltered)",
           "S-TLLR (local basis over sqrt(d))")
#: the read-out's input less its running mean (Network(readout_centred=True), the network's
#: default) named explicitly, and the papers' read-out on the spikes (readout_centred=False)
CENTRED_METHODS = tuple(f"{m} + {kind} read-out" for kind in ("centred", "plain")
                        for m in ("TESS", "S-TLLR", "S-TLLR (local)", "LLS", "BPTT", "readout-only"))


def make(method: str, n_in: int, seed: int):
    import torch  # noqa: F401

    from lava_local.network import Network
    from lava_local.rules import LLS, STLLR, TESS
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    from lava_local.kernels.learning_signal import SignalParams

    rules = {"TESS": TESS(), "TESS-B/d": TESS(signal=SignalParams(scale="1/d")),
             "TESS-B/sqrt(d)": TESS(signal=SignalParams(scale="1/sqrt(d)")),
             "TESS (unscaled basis)": TESS(signal=SignalParams(scale=None)),
             "TESS (rate-scaled basis)": TESS(signal=SignalParams(scale="rate")),
             "TESS (split basis)": TESS(signal=SignalParams(basis="square_split", scale="1/sqrt(d)")),
             "TESS (rate-scaled split basis)": TESS(signal=SignalParams(basis="square_split", scale="rate")),
             "S-TLLR": STLLR(feedback="bp"),
             "S-TLLR (filtered)": STLLR(feedback="bp", filtered=True), "S-TLLR (local)": STLLR(),
             "LLS": LLS(), "TESS (filtered)": TESS(filtered=True),
             "TESS (last layer filtered)": TESS(filtered="last"), "TESS (unfiltered)": TESS(filtered=False),
             "LLS (last layer filtered)": LLS(filtered="last"), "LLS (unfiltered)": LLS(filtered=False),
             "S-TLLR (last layer filtered)": STLLR(feedback="bp", filtered="last"),
             "S-TLLR (unfiltered)": STLLR(feedback="bp", filtered=False),
             "S-TLLR (local unfiltered)": STLLR(filtered=False),
             "S-TLLR (local basis over sqrt(d))": STLLR(signal=SignalParams(scale="1/sqrt(d)"))}
    method, start = split_method(method)  # the read-out's start (benchmarks/method_labels.py)
    rule = rules.get(method, TESS())
    net = Network(n_in, hidden=(512, 256), rule=rule, frozen=(method == "readout-only"), seed=seed,
                  **readout_options(start, method))
    cls = BPTTTrainer if method == "BPTT" else LocalTrainer
    return net, cls


def train_eval(method, train, test, epochs, seed, device):
    import torch

    net, cls = make(method, train[0].shape[2], seed)
    torch.manual_seed(seed)
    if method == "SLAYER":  # lava-dl's own BPTT on the same layer sizes and neuron
        from lava_local.trainer.slayer_baseline import SlayerTrainer

        trainer = SlayerTrainer(net, device=device, lr=1e-3)
    else:
        trainer = cls(net, device=device, optimizer="adam", lr=1e-3)
    generator = np.random.default_rng(seed)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        trainer.fit_epoch(*train, batch_size=32, generator=generator)
        seconds.append(time.perf_counter() - start)
    return trainer.evaluate(*test), float(np.mean(seconds))


def memory_point(method: str, steps: int, device: str, batch: int = 32) -> Tuple[float, float]:
    """Peak memory of a training step and the learning state in it (MiB), for one batch
    of ``batch`` samples at ``steps`` time steps.

    On CUDA: torch's peak allocation during the step above what was allocated before it.
    On the CPU: the peak of the C heap in use during the step above its level before
    (``lava_local.costs.peak_heap_bytes``: saved tensors, states and temporaries alike).
    """
    import torch

    net, cls = make(method, 2312, 0)
    trainer = cls(net, device=device, optimizer="adam", lr=1e-3)
    frames = (np.random.default_rng(0).random((batch, steps, 2312)) < 0.05).astype(np.uint8)
    if hasattr(trainer, "calibrate_signal"):  # TESS (rate-scaled basis): its rates, before the step
        trainer.calibrate_signal(frames)
    x = torch.as_tensor(frames, dtype=torch.float32, device=trainer.device)
    y = torch.as_tensor(np.arange(batch) % 10, device=trainer.device)
    from lava_local.costs import learning_memory_bytes, peak_heap_bytes

    state = learning_memory_bytes(trainer, x, y) / 2**20
    if trainer.device.type == "cuda":
        trainer.train_step(x[:, :2], y)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        trainer.train_step(x, y)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20, state
    trainer.train_step(x, y)  # warm-up: optimiser state and allocator settle
    return max(peak_heap_bytes(lambda: trainer.train_step(x, y)) for _ in range(2)) / 2**20, state


def main() -> None:
    from lava_local.trainer import flush_subnormals

    flush_subnormals()  # first, so that torch's worker threads inherit it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--nmnist-epochs", type=int, default=20)
    parser.add_argument("--fashion-epochs", type=int, default=5)
    parser.add_argument("--fashion-train", type=int, default=60000)
    parser.add_argument("--parts", default="nmnist,fashion,memory")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--memory-steps", default="10,100,1000")
    parser.add_argument("--memory-batch", default="32", help="batch sizes of the memory part, comma-separated")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    from lava_local.costs import bptt_signal_macs, learning_signal_macs

    parts = args.parts.split(",")
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS + CENTRED_METHODS)
    if unknown:
        raise SystemExit(f"unknown method(s) {sorted(unknown)}; choose from {', '.join(METHODS + CENTRED_METHODS)}")
    rows = {m: {"method": m} for m in methods}
    datasets = {}
    if "nmnist" in parts:
        from lava_local.data import NMNISTSubset

        datasets["nmnist"] = (NMNISTSubset("train").dense(10), NMNISTSubset("test").dense(10), args.nmnist_epochs)
    if "fashion" in parts:
        from lava_local.data import load_fashion_mnist_spikes

        train = load_fashion_mnist_spikes("train", encoding="direct", n_steps=6, n_samples=args.fashion_train)
        test = load_fashion_mnist_spikes("test", encoding="direct", n_steps=6)
        datasets["fashion"] = (train, test, args.fashion_epochs)
    for name, (train, test, epochs) in datasets.items():
        for method in methods:
            accs, times = [], []
            for seed in range(args.seeds):
                acc, sec = train_eval(method, train, test, epochs, seed, args.device)
                accs.append(acc)
                times.append(sec)
                print(f"{name} {method} seed {seed}: test {acc:.4f}, {sec:.1f} s/epoch", flush=True)
            rows[method][f"{name}_acc_mean"] = float(np.mean(accs))
            rows[method][f"{name}_acc_std"] = float(np.std(accs))
            rows[method][f"{name}_s_per_epoch"] = float(np.mean(times))
    for method in methods:
        net, _ = make(method, 2312, 0)
        # BPTT and S-TLLR's back-propagated signal go through the weights at every step; the
        # local signals through a C-row basis; the control learns only its read-out.
        base = split_method(method)[0]
        through_weights = base in ("BPTT", "SLAYER") or net.rule.feedback != "local"
        macs = bptt_signal_macs(net, 10) if through_weights else learning_signal_macs(net, 10)
        rows[method]["signal_MMACs_T10"] = 0.0 if base == "readout-only" else macs / 1e6
    if "memory" in parts:
        learners = ("TESS", "TESS-B/d", "TESS-B/sqrt(d)", "TESS (unscaled basis)", "TESS (rate-scaled basis)",
                    "TESS (split basis)", "TESS (rate-scaled split basis)",
                    "S-TLLR", "S-TLLR (filtered)", "S-TLLR (last layer filtered)", "S-TLLR (unfiltered)",
                    "S-TLLR (local)", "S-TLLR (local unfiltered)",
                    "LLS", "BPTT", "TESS (filtered)", "TESS (last layer filtered)", "TESS (unfiltered)")
        for method in [m for m in methods if m in learners]:
            for batch in (int(b) for b in args.memory_batch.split(",")):
                for steps in (int(s) for s in args.memory_steps.split(",")):
                    step, state = memory_point(method, steps, args.device, batch)
                    rows[method][f"step_MiB_B{batch}_T{steps}"] = step
                    rows[method][f"state_MiB_B{batch}_T{steps}"] = state
                    print(f"memory {method} batch {batch} T={steps}: step {step:.1f} MiB, learning state "
                          f"{state:.2f} MiB", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    table = list(rows.values())
    (args.out / "compare_rules.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                            "rows": table}, indent=2))
    # numbers in column names in numeric order (B64 before B128, T100 before T1000)
    keys = sorted({k for r in table for k in r},
                  key=lambda k: (k != "method", [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", k)]))
    with open(args.out / "compare_rules.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(table)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in table:
        lines.append("| " + " | ".join(f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, ""))
                                       for k in keys) + " |")
    (args.out / "compare_rules.md").write_text(
        f"seeds {args.seeds}, device {args.device}; accuracy mean and std over seeds\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

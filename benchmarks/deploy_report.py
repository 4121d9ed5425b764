"""Deployment report: float against fixed-point accuracy, the Loihi 2 cost estimate and the
measured BPTT training step, per data set.

    .venv/bin/python benchmarks/deploy_report.py [--datasets nmnist,fashion,basicmotions]
        [--epochs N] [--batch N] [--quick] [--threads 2] [--out results/deploy]

For each data set a network is trained with :class:`~lava_local.trainer.LocalTrainer` (the
rule's library default, ``TESS()``), then:

* :func:`lava_local.quantization_report.quantization_report` on the test set: weight
  exponents, saturated and rounded-to-zero weights, saturated states, float against
  fixed-point accuracy (the Lava fixed-point models' kernels);
* :func:`lava_local.cost_estimate.estimate_cost` from the same fixed-point run: operations,
  energy and latency per sample on Loihi 2 (``hw_profiles/loihi2.toml``'s per-operation
  figures, Loihi 1's published ones), NeuroBench's metrics;
* :func:`lava_local.cost_estimate.measure_training_step` on this machine: one BPTT step (and
  one TESS step) of the same network on a batch, time and peak memory.

Data: ``nmnist`` the N-MNIST 1k/100 subset shipped with the library (T = 10, 2312 inputs,
2312-512-256-10); ``fashion`` Fashion-MNIST from the Debian package ``dataset-fashion-mnist``
(rate code, T = 10, 784-512-256-10; skipped with a message when the files are absent);
``basicmotions`` the UEA set BasicMotions, encoded as ``benchmarks/temporal.py`` does
(``encode_ucr_pair``, ``--encoding``: the level code by default; the aeon wheel is fetched
with pip on first use; 48-256-128-4 with the level code, 24-256-128-4 with the delta code, the
temporal network's neuron, gamma 0.9). ``--quick`` shrinks everything to seconds (a smoke
run, not a result).

Epochs and batch size per set (``SET_DEFAULTS``; ``--epochs`` / ``--batch`` override them for
every set): N-MNIST and Fashion-MNIST 5 epochs at batch 32; BasicMotions (40 training
series) as ``benchmarks/temporal.py`` trains it, 30 epochs at batch 16 with its
``TEMPORAL_NETWORK`` (5 epochs at batch 32 are 10 updates, too few to learn). Epochs are
shuffled by a Generator seeded with ``--seed``.

Writes ``<out>/deploy_report.md`` (the summary table, then each set's quantization and cost
tables) and ``<out>/deploy_report.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the repository's lava_local, also without an installed package
    sys.path.insert(0, str(ROOT))

from ucr_options import add_encoding_option  # noqa: E402

DATASETS = ("nmnist", "fashion", "basicmotions")
#: epochs and batch size of each set (basicmotions: benchmarks/temporal.py's defaults)
SET_DEFAULTS = {"nmnist": dict(epochs=5, batch=32), "fashion": dict(epochs=5, batch=32),
                "basicmotions": dict(epochs=30, batch=16)}


def load(name: str, quick: bool, args: argparse.Namespace) -> Optional[Tuple[Any, Any, Dict[str, Any]]]:
    """``(train, test, network keyword arguments)``, or None (with a message) where the data is missing."""
    if name == "nmnist":
        from lava_local.data import NMNISTSubset

        train_set, test_set = NMNISTSubset("train"), NMNISTSubset("test")
        n_train = 200 if quick else len(train_set)
        n_test = 30 if quick else len(test_set)
        return (train_set.dense(10, range(n_train)), test_set.dense(10, range(n_test)),
                dict(n_in=2312, hidden=(32,) if quick else (512, 256), n_classes=10))
    if name == "fashion":
        from lava_local.data import load_fashion_mnist_spikes

        n_train = 500 if quick else args.fashion_train
        n_test = 50 if quick else args.test_samples
        try:
            train = load_fashion_mnist_spikes("train", "rate", 10, n_samples=n_train, seed=0)
            test = load_fashion_mnist_spikes("test", "rate", 10, n_samples=n_test, seed=1)
        except (FileNotFoundError, ValueError) as error:
            print(f"fashion: skipped ({error}); install it with: sudo apt-get install -y dataset-fashion-mnist")
            return None
        return train, test, dict(n_in=784, hidden=(32,) if quick else (512, 256), n_classes=10)
    if name == "basicmotions":
        from lava_local.data.timeseries import encode_ucr_pair, load_uea_ucr
        from temporal import TEMPORAL_NETWORK  # benchmarks/temporal.py (this script's folder)

        try:
            train_ts, test_ts = load_uea_ucr("BasicMotions", args.cache_dir, download=True)
        except Exception as error:  # no network, no pip: say so and go on with the other sets
            print(f"basicmotions: skipped ({error})")
            return None
        train, test, encoding = encode_ucr_pair(train_ts, test_ts, args.encoding)
        return train, test, dict(n_in=encoding["n_inputs"], hidden=(32,) if quick else (256, 128),
                                 n_classes=len(train_ts.class_names), **TEMPORAL_NETWORK)
    raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")


def run_set(name: str, args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    import torch

    from lava_local.cost_estimate import estimate_cost, measure_training_step
    from lava_local.network import Network
    from lava_local.quantization_report import quantization_report
    from lava_local.rules import TESS
    from lava_local.trainer import LocalTrainer

    loaded = load(name, args.quick, args)
    if loaded is None:
        return None
    (x, y), (x_test, y_test), spec = loaded
    n_in = spec.pop("n_in")
    torch.manual_seed(args.seed)
    net = Network(n_in, rule=TESS(), seed=args.seed, **spec)
    trainer = LocalTrainer(net, device="cpu")
    epochs = 1 if args.quick else (args.epochs or SET_DEFAULTS[name]["epochs"])
    batch = args.batch or SET_DEFAULTS[name]["batch"]
    generator = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        train_accuracy = trainer.fit_epoch(x, y, batch_size=batch, generator=generator, check=False)
        print(f"{name}: epoch {epoch + 1}/{epochs} train accuracy {train_accuracy:.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - start
    trainer_accuracy = trainer.evaluate(x_test, y_test)
    start = time.perf_counter()
    report = quantization_report(trainer, (x_test, y_test), headroom=args.headroom)
    cost = estimate_cost(trainer, activity=report.activity, headroom=args.headroom)
    report_seconds = time.perf_counter() - start
    steps = {method: measure_training_step(trainer, (x, y), method, batch_size=batch,
                                           repeats=1 if args.quick else 3)
             for method in ("bptt", "local")}
    print(f"{name}: float {report.float_accuracy:.4f}, fixed {report.fixed_accuracy:.4f} "
          f"({-report.accuracy_drop:+.2f} points); Loihi 2 estimate {cost.energy_per_sample_uj:.3g} uJ, "
          f"{cost.latency_per_sample_ms:.3g} ms per sample; BPTT step {1e3 * steps['bptt'].seconds:.0f} ms",
          flush=True)
    return {
        "dataset": name, "layers": [n_in, *net.hidden, net.n_classes], "steps": int(x.shape[1]),
        "train_samples": int(len(y)), "test_samples": int(len(y_test)), "epochs": epochs, "batch": batch,
        "train_seconds": train_seconds, "report_seconds": report_seconds, "trainer_test_accuracy": trainer_accuracy,
        "quantization": report.to_dict(), "cost": cost.to_dict(),
        "training_step": {m: vars(s) for m, s in steps.items()},
        "markdown": {"quantization": report.to_markdown(), "cost": cost.to_markdown()},
    }


def _mib(value: Optional[int]) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def summary_table(rows: List[Dict[str, Any]]) -> str:
    lines = ["| data | network | T | epochs (batch) | float acc | fixed acc | drop (points) | same prediction | "
             "Loihi 2 est. energy / sample (uJ) | est. latency / sample (ms) | est. learning energy / sample (uJ) | "
             "activation sparsity | effective ACs / sample | BPTT step, this CPU (ms / MiB) | "
             "TESS step, this CPU (ms / MiB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q, c, s = r["quantization"], r["cost"], r["training_step"]
        nb = c["neurobench"]
        learning = c["learning_energy_per_sample_uj"]
        lines.append(
            f"| {r['dataset']} | {'-'.join(map(str, r['layers']))} | {r['steps']} | {r['epochs']} ({r['batch']}) | "
            f"{q['float_accuracy']:.4f} | "
            f"{q['fixed_accuracy']:.4f} | {q['accuracy_drop_points']:+.2f} | {100 * q['agreement']:.1f} % | "
            f"{c['energy_per_sample_uj']:.3g} | {c['latency_per_sample_ms']:.3g} | "
            f"{'-' if learning is None else f'{learning:.3g}'} | {nb['activation_sparsity']:.3f} | "
            f"{nb['effective_acs']:.3g} | {1e3 * s['bptt']['seconds']:.0f} / {_mib(s['bptt']['peak_bytes'])} | "
            f"{1e3 * s['local']['seconds']:.0f} / {_mib(s['local']['peak_bytes'])} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: " + ", ".join(DATASETS))
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every set (default: per set, " + ", ".join(
                            f"{k} {v['epochs']}" for k, v in SET_DEFAULTS.items()) + ")")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one epoch: a smoke run")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size for every set (default: per set, " + ", ".join(
                            f"{k} {v['batch']}" for k, v in SET_DEFAULTS.items()) + ")")
    parser.add_argument("--headroom", type=float, default=2.0,
                        help="weight range reserved for on-chip learning (2: the Lava fixed-point models)")
    parser.add_argument("--fashion-train", type=int, default=10000, help="Fashion-MNIST training samples")
    parser.add_argument("--test-samples", type=int, default=2000, help="Fashion-MNIST test samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the aeon wheel is (or is fetched to)")
    add_encoding_option(parser)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "deploy")
    args = parser.parse_args(argv)

    import torch

    import lava_local  # noqa: F401  (Lava's Python 3.11 fix before anything imports it)
    from lava_local.trainer import flush_subnormals

    torch.set_num_threads(args.threads)
    flush_subnormals()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    rows, skipped = [], []
    for name in names:
        row = run_set(name, args)
        (rows.append(row) if row is not None else skipped.append(name))
    args.out.mkdir(parents=True, exist_ok=True)
    command = "benchmarks/deploy_report.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None
                                                                                  else sys.argv[1:]))
    header = (f"# Deployment report\n\n`{command}` on {platform.processor() or platform.machine()}, "
              f"{args.threads} torch thread(s); TESS (library default) trained with LocalTrainer, "
              f"quantized with headroom {args.headroom:g}.\n\n")
    body = summary_table(rows)
    if skipped:
        body += f"\nSkipped (data not available): {', '.join(skipped)}.\n"
    for r in rows:
        body += f"\n## {r['dataset']}\n\n{r['markdown']['quantization']}\n{r['markdown']['cost']}"
    (args.out / "deploy_report.md").write_text(header + body)
    (args.out / "deploy_report.json").write_text(json.dumps(
        {"command": command, "threads": args.threads, "rows": rows, "skipped": skipped}, indent=2, default=str))
    print(f"wrote {args.out / 'deploy_report.md'} and {args.out / 'deploy_report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

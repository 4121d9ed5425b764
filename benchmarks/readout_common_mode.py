"""The read-out's input online: its common mode, and the read-out learning with it removed.

    .venv/bin/python benchmarks/readout_common_mode.py [--sets BasicMotions,GunPoint,...]
        [--readout-steps 0.001,0.01,0.03] [--mean-rate 0] [--epochs 5] [--seeds 3] [--jobs 2] [--limit N]
        [--cache-dir DIR] [--out results/readout_common_mode]

The network is ``benchmarks/online_steps.py``'s read-out-only control (hidden layers frozen at
their random start, the read-out started as ``Network`` starts it, at the basis), in float.
Its read-out sees the last hidden layer's spikes ``o[t]``, and its class scores are
``W Q`` with ``Q = sum_t q[t]``, ``q`` the read-out's leaky trace of ``o``. Every neuron fires
at a positive rate, so ``Q`` has a large component along the mean over the training set (the
*common mode*) that says nothing about the class. This program measures, per set and seed:

* the common mode: the norm of ``Q``'s component along the mean direction (mean and std
  over the test samples) against the norm of what is left off it, and the share of test
  samples that the start's scores put in one class;
* the read-out learning online (one sample at a time, SGD at ``step / T`` per time step, in
  :func:`~lava_local.network.Network.schedule`'s order) from the read-out kernel
  :func:`~lava_local.kernels.layer.readout_step`, twice: on ``o[t]`` as the network runs
  it (*raw*: the same predictions as :func:`~lava_local.reference.reference_run` and the Lava
  float network), and on ``o[t] - m`` (*centred*), ``m`` each input's mean spikes per step
  over the training samples seen so far (a running mean, updated after each training sample
  and fixed on the test set: nothing the read-out could not keep itself, one value per input).
  ``--mean-rate r`` makes it an exponential average, ``m += max(1/n, r) (rate - m)`` after the
  n-th sample: with ``r = 2^-k`` the form a chip computes with a shift.

Writes ``<out>/readout_common_mode.{md,json,png}``: test accuracy after the last epoch and the
largest one-class share of the test predictions (mean ± std over seeds), the common-mode
table, and a figure of test accuracy per epoch, raw against centred.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import product
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from online_steps import load_set, parse_steps
from temporal import TEMPORAL_NETWORK, hidden_layers, make_rule

DEFAULT_SETS = "BasicMotions,PickupGestureWiimoteZ,ItalyPowerDemand,GunPoint,OSULeaf,ACSF1,nmnist"


def control_network(name: str, n_in: int, n_classes: int, seed: int, readout_lr: Optional[float] = None):
    """``online_steps.py``'s read-out-only control for one set: frozen hidden layers, TESS's
    placeholder rule (its basis is the read-out's start), the papers' read-out on the spikes
    (this program centres them itself)."""
    from lava_local.network import Network

    network: Dict[str, Any] = dict(hidden=(256,)) if name == "nmnist" else dict(hidden=hidden_layers("ff"),
                                                                             **TEMPORAL_NETWORK)
    return Network(n_in, n_classes=n_classes, seed=seed, rule=make_rule("TESS"), frozen=True, readout_lr=readout_lr,
                   readout_centred=False, **network)


def last_hidden_spikes(net, frames: np.ndarray) -> np.ndarray:
    """(N, T, n) spikes of the last hidden layer, each sample played alone through the frozen
    network (the Lava network's float steps, :func:`~lava_local.reference.reference_run`)."""
    from lava_local.reference import reference_run

    labels = np.zeros(len(frames), np.int64)
    return np.stack([reference_run(net, frames, labels, [k], [False])[2][-1].reshape(frames.shape[1], -1)
                     for k in range(len(frames))])


def common_mode(net, spikes: np.ndarray, n_train: int) -> Dict[str, float]:
    """``Q = sum_t q[t]`` split along the training mean's direction and off it (test samples)."""
    from lava_local.kernels.traces import trace_step

    q, total = np.zeros(spikes.shape[::2]), np.zeros(spikes.shape[::2])
    for t in range(spikes.shape[1]):
        q = trace_step(q, spikes[:, t], net.readout_gamma)
        total += q
    direction = total[:n_train].mean(0)
    direction /= np.linalg.norm(direction)
    test = total[n_train:]
    along = test @ direction
    off = np.linalg.norm(test - along[:, None] * direction, axis=1)
    start = np.argmax(test @ net.weights[-1].T, axis=1)
    return dict(along_mean=float(along.mean()), along_std=float(along.std()), off_mean=float(off.mean()),
                start_one_class_share=float(np.bincount(start).max() / len(start)))


def online_readout(net, spikes: np.ndarray, labels: np.ndarray, n_train: int, epochs: int, step: float,
                   centred: bool, mean_rate: float = 0.0) -> Dict[str, List[float]]:
    """The read-out alone, online, on the spikes (raw or centred: less the mean of the training
    samples seen, exponential at ``mean_rate`` once ``1 / n`` falls below it); per epoch its test
    accuracy and the largest share of test samples predicted as one class."""
    from lava_local.kernels.layer import readout_init, readout_step
    from lava_local.kernels.learning_signal import one_hot

    n_classes, n_in = net.weights[-1].shape
    weights, lr = net.weights[-1].copy(), step / spikes.shape[1]
    mean, seen = np.zeros(n_in), 0
    schedule, learn = net.schedule(n_train, len(spikes) - n_train, epochs)
    predictions = np.zeros(len(schedule), np.int64)
    for k, (index, learns) in enumerate(zip(schedule, learn)):
        target = one_hot(int(labels[index]), n_classes) if learns else None
        state = readout_init(n_in, n_classes)
        for pre in (spikes[index] - mean if centred else spikes[index]):
            state = readout_step(state, pre, weights, net.readout_gamma, target)
        predictions[k] = int(np.argmax(state.score))
        if learns:
            weights = weights - lr * state.dw
            seen += 1
            mean += max(1 / seen, mean_rate) * (spikes[index].mean(0) - mean)  # the running mean
    per_epoch, test = len(spikes), labels[n_train:]
    epochs_predictions = [predictions[e * per_epoch + n_train:(e + 1) * per_epoch] for e in range(epochs)]
    return dict(test_accuracy=[float(np.mean(p == test)) for p in epochs_predictions],
                one_class_share=[float(np.bincount(p).max() / len(p)) for p in epochs_predictions],
                predictions=[int(p) for p in predictions])


def run_set(task: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One set and seed: its common mode, then every step raw and centred."""
    x_tr, y_tr, x_te, y_te, n_classes = load_set(task["set"], task["cache_dir"])
    if task["limit"]:
        x_tr, y_tr, x_te, y_te = x_tr[:task["limit"]], y_tr[:task["limit"]], x_te[:task["limit"]], y_te[:task["limit"]]
    start = time.perf_counter()
    net = control_network(task["set"], x_tr.shape[2], n_classes, task["seed"])
    frames, labels = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
    spikes = last_hidden_spikes(net, frames)
    mode = common_mode(net, spikes, len(y_tr))
    records = []
    for step, centred in product(task["steps"], (False, True)):
        run = online_readout(net, spikes, labels, len(y_tr), task["epochs"], step, centred, task["mean_rate"])
        if not task["limit"]:
            del run["predictions"]  # kept for the tests' small runs only
        records.append(dict(set=task["set"], seed=task["seed"], readout_step=step, centred=centred,
                            mean_rate=task["mean_rate"], steps=x_tr.shape[1],
                            **mode, **run))
    for record in records:
        record["seconds"] = round(time.perf_counter() - start, 1)
    return records


def summary(values: List[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def tables(records: List[Dict[str, Any]], sets: List[str], steps: List[float]) -> List[str]:
    lines = ["Test accuracy after the last epoch / the largest share of the test set predicted as one class:", "",
             "| read-out step per sample | input | " + " | ".join(sets) + " |", "|---|---|" + "---|" * len(sets)]
    for step, centred in product(steps, (False, True)):
        cells = []
        for name in sets:
            runs = [r for r in records if (r["set"], r["readout_step"], r["centred"]) == (name, step, centred)]
            cells.append(f"{summary([r['test_accuracy'][-1] for r in runs])} / "
                         f"{np.mean([r['one_class_share'][-1] for r in runs]):.2f}" if runs else "-")
        lines.append(f"| {step:g} | {'centred' if centred else 'raw'} | " + " | ".join(cells) + " |")
    lines += ["", "The read-out's input summed over the sample, `Q = sum_t q[t]` (test samples, mean over seeds): "
              "its component along the training mean, what is left off it, and the share of test samples the "
              "start's scores put in one class:", "",
              "| set | along the mean (mean ± std over samples) | off it | ratio | one class at the start |",
              "|---|---|---|---|---|"]
    for name in sets:
        runs = [r for r in records if r["set"] == name and r["readout_step"] == steps[0] and not r["centred"]]
        if runs:
            along, spread, off = (np.mean([r[k] for r in runs]) for k in ("along_mean", "along_std", "off_mean"))
            lines.append(f"| {name} | {along:.1f} ± {spread:.1f} | {off:.1f} | {along / off:.1f} | "
                         f"{np.mean([r['start_one_class_share'] for r in runs]):.2f} |")
    return lines


def plot(records: List[Dict[str, Any]], sets: List[str], steps: List[float], path: Path) -> None:
    """Test accuracy per online epoch, mean over seeds: a panel per set, a colour per step,
    raw dashed and centred solid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, len(sets))
    rows = -(-len(sets) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows + 0.4), squeeze=False)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(steps)))
    for ax in axes.flat[len(sets):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, sets):
        for colour, step in zip(colours, steps):
            for centred, style in ((False, "--"), (True, "-")):
                runs = [r["test_accuracy"] for r in records
                        if (r["set"], r["readout_step"], r["centred"]) == (name, step, centred)]
                if runs:
                    ax.plot(np.arange(1, len(runs[0]) + 1), np.mean(runs, axis=0), style, color=colour, marker="o",
                            markersize=3, label=f"{step:g}, {'centred' if centred else 'raw'}")
        ax.set(title=name, xlabel="online epoch", ylim=(0, 1))
    for row in axes:
        row[0].set_ylabel("test accuracy (mean over seeds)")
    axes[0][0].legend(fontsize=7, title="read-out step per sample", title_fontsize=7)
    fig.suptitle("The read-out alone online (hidden layers frozen): raw spikes (dashed) against spikes less their "
                 "running mean (solid)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=DEFAULT_SETS, help="nmnist and/or UEA/UCR sets in the aeon wheel")
    parser.add_argument("--readout-steps", default="0.001,0.01,0.03",
                        help="the read-out's SGD steps per sample (each run takes step / T per time step)")
    parser.add_argument("--mean-rate", type=float, default=0.0,
                        help="centring: 0 for the mean of the training samples seen, r in (0, 1] for an exponential "
                             "average at r per sample (after the first 1/r samples)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..n-1")
    parser.add_argument("--jobs", type=int, default=2, help="sets and seeds at a time, in worker processes")
    parser.add_argument("--limit", type=int, default=0, help="keep the first N training and test samples (0: all)")
    parser.add_argument("--cache-dir", default=None, help="where the aeon wheel is (fetched with pip if missing)")
    parser.add_argument("--out", type=Path, default=Path("results/readout_common_mode"))
    args = parser.parse_args()
    sets, steps = args.sets.split(","), parse_steps(parser, "--readout-steps", args.readout_steps)
    if args.epochs < 1 or args.seeds < 1:
        parser.error("--epochs and --seeds take at least 1")
    if not 0 <= args.mean_rate <= 1:
        parser.error(f"--mean-rate takes a number in [0, 1], got {args.mean_rate}")
    tasks = [dict(set=s, seed=seed, steps=steps, epochs=args.epochs, mean_rate=args.mean_rate, cache_dir=args.cache_dir,
                  limit=args.limit)
             for s, seed in product(sets, range(args.seeds))]
    records: List[Dict[str, Any]] = []
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_set, task) for task in tasks]
        for i, future in enumerate(as_completed(futures), 1):
            runs = future.result()
            records += runs
            print(f"[{i}/{len(tasks)}] {runs[0]['set']} seed {runs[0]['seed']} ({runs[0]['seconds']:.0f} s): " +
                  ", ".join(f"{r['readout_step']:g} {'centred' if r['centred'] else 'raw'} "
                            f"{r['test_accuracy'][-1]:.3f}" for r in runs), flush=True)
    wall = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    header = [f"# The read-out alone online, raw and centred ({args.epochs} epochs, seeds 0-{args.seeds - 1}, "
              f"{wall:.0f} s wall)", "",
              "`" + shlex.join(["python", "benchmarks/readout_common_mode.py", *sys.argv[1:]]) + "`", ""]
    (args.out / "readout_common_mode.md").write_text("\n".join(header + tables(records, sets, steps)) + "\n")
    (args.out / "readout_common_mode.json").write_text(json.dumps(
        {"args": vars(args) | {"out": str(args.out)}, "wall_s": wall, "runs": records}, indent=1))
    plot(records, sets, steps, args.out / "readout_common_mode.png")
    print(f"wall time {wall:.0f} s; written to {args.out}/readout_common_mode.{{md,json,png}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

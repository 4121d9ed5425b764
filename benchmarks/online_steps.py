"""The SGD steps per sample, online: float and Loihi fixed point side by side.

    .venv/bin/python benchmarks/online_steps.py [--sets nmnist,BasicMotions,...]
        [--readout-steps 0.1,0.01,0.003] [--hidden-steps 0.01] [--method TESS] [--plain-readout]
        [--numerics float,fixed]
        [--epochs 5] [--seeds 3] [--jobs 2] [--limit N] [--encoding delta+rate|delta] [--cache-dir DIR]
        [--out results/online_steps]

Each run is ``Network.fit`` online (one sample at a time, SGD) at the library's defaults but
for the read-out's and the hidden layers' steps per sample, which the run gives as
``readout_lr = step / T`` and ``rule.with_(lr=step / T)`` per time step; a hidden step of 0
freezes the hidden layers (``Network(frozen=True)``, the read-out-only control, its read-out
learning from the network's default start whatever the method). It runs in
:func:`lava_local.reference.reference_run`, the NumPy mirror of the Lava float and fixed-point
models (bit for bit what the Lava network computes,
``tests/test_network_lava.py``), which takes seconds where the Lava run takes minutes. Sets:
``nmnist`` (the shipped N-MNIST subset at T = 10, 2312 -> 256 -> 10, the demo's size, at
``Network``'s other defaults) and UEA/UCR sets from the aeon wheel (encoded as
``benchmarks/temporal.py`` does, ``--encoding``, N -> 256 -> 128 -> C with N the code's inputs:
24 under the delta code, 36 for a univariate set and 48 for BasicMotions under the level code;
hidden and read-out leak 0.9). The hidden layers learn ``--method`` (a label of
``benchmarks/temporal.py`` that the Lava network runs: TESS, S-TLLR, LLS, their ``(filtered)``
options and a ``+ fixed read-out``; default TESS), by default at its default step per sample
(``SAMPLE_STEP``). The read-out is the network's default,
centred (it integrates its input less its running mean; a fixed read-out reads the spikes);
``--plain-readout`` runs every network with the papers' read-out on the spikes,
``Network(readout_centred=False)``. Writes
``<out>/online_steps.{md,json,png}``: test accuracy after the last epoch (mean ± std over seeds) and
the share of the read-out's weights at the end of the 8-bit mantissa range (fixed point); the
JSON also holds each hidden layer's relative weight change, ``|W - W0| / |W0|``; the figure, test
accuracy per epoch. ``--reread`` also trains, after each float run whose hidden layers learn, a
fresh read-out from the control's start on those layers frozen as learned: the learned
features' worth apart from a read-out that has to chase them while they move.
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
from typing import Any, Dict, List, Tuple

import numpy as np

from lava_local.data.timeseries import UCR_ENCODER
from method_labels import readout_options, split_method
from ucr_options import add_encoding_option
from temporal import TEMPORAL_NETWORK, hidden_layers, make_rule  # the temporal benchmark's network and rules

# the rules the Lava network runs, as benchmarks/temporal.py labels them
LAVA_METHODS = tuple(f"{rule}{option}{readout}" for rule in ("TESS", "S-TLLR", "LLS")
                     for option in ("", " (filtered)", " (unit-gain filter)", " (sum filter)")
                     for readout in ("", " + fixed read-out"))

_DATA: Dict[str, Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]] = {}


def load_set(name: str, cache_dir: str | None,
             encoding: str = UCR_ENCODER) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``(x_train, y_train, x_test, y_test, n_classes)`` as spike counts, read once per process
    (a UEA/UCR set in the code ``encoding``)."""
    if name not in _DATA:
        if name == "nmnist":
            from lava_local.data import NMNISTSubset

            (x_tr, y_tr), (x_te, y_te) = NMNISTSubset("train").dense(10), NMNISTSubset("test").dense(10)
            n_classes = 10
        else:
            from lava_local.data import load_uea_ucr
            from lava_local.data.timeseries import encode_ucr_pair

            train, test = load_uea_ucr(name, cache_dir=cache_dir, download=True)
            (x_tr, y_tr), (x_te, y_te), _ = encode_ucr_pair(train, test, encoding)
            n_classes = len(train.class_names)
        _DATA[name] = (x_tr, y_tr, x_te, y_te, n_classes)
    return _DATA[name]


def run_one(task: Dict[str, Any]) -> Dict[str, Any]:
    """One online run; its record."""
    from lava_local.fixed_point import load_profile
    from lava_local.network import Network
    from lava_local.reference import reference_run

    x_tr, y_tr, x_te, y_te, n_classes = load_set(task["set"], task["cache_dir"], task["encoding"])
    if task["limit"]:
        x_tr, y_tr, x_te, y_te = x_tr[:task["limit"]], y_tr[:task["limit"]], x_te[:task["limit"]], y_te[:task["limit"]]
    steps = x_tr.shape[1]
    network: Dict[str, Any] = dict(hidden=(256,))
    if task["set"] != "nmnist":
        network = dict(hidden=hidden_layers("ff"), **TEMPORAL_NETWORK)
    hidden_step = task["hidden_step"]

    def make_network(rule, frozen: bool, readout: Dict[str, Any]) -> Network:
        return Network(x_tr.shape[2], n_classes=n_classes, readout_lr=task["readout_step"] / steps, seed=task["seed"],
                       rule=rule, frozen=frozen, readout_centred=task["centred"], **readout, **network)

    def control_network() -> Network:
        """The read-out-only control, whatever the method: TESS's placeholder rule, frozen, the
        default read-out (as in temporal.py)."""
        return make_network(make_rule("TESS"), True, {})

    def test_accuracy(predictions: np.ndarray) -> List[float]:
        return [float(np.mean(predictions[e * per_epoch + len(y_tr):(e + 1) * per_epoch] == y_te))
                for e in range(task["epochs"])]

    if hidden_step:
        rule = make_rule(task["method"]).with_(lr=hidden_step / steps)
        net = make_network(rule, False, readout_options(split_method(task["method"])[1]))
    else:
        net = control_network()
    frames, labels = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
    schedule, learn = net.schedule(len(y_tr), len(y_te), task["epochs"])
    per_epoch = len(y_tr) + len(y_te)
    start = time.perf_counter()
    predictions, weights, _ = reference_run(net, frames, labels, schedule, learn, task["numeric"])
    accuracy = test_accuracy(predictions)
    reread = None
    if task.get("reread") and hidden_step and task["numeric"] == "float":
        # the hidden layers as they learned, frozen, read by a fresh read-out from the control's
        # start over as many epochs: the features' worth without the read-out chasing them
        fresh = control_network()
        fresh.weights[:-1] = [w.copy() for w in weights[:-1]]
        reread = test_accuracy(reference_run(fresh, frames, labels, schedule, learn, "float")[0])
    # the hidden weights' relative change, in the model's own units (an empty schedule gives its start)
    _, start_weights, _ = reference_run(net, frames, labels, [], [], task["numeric"])
    hidden_change = [float(np.linalg.norm(w - w0) / np.linalg.norm(w0))
                     for w, w0 in zip(weights[:-1], start_weights[:-1])]
    readout = np.abs(weights[-1])
    at_limit = (float(np.mean(readout >= load_profile(net.profile).synapse.weight_max))
                if task["numeric"] == "fixed" else None)
    return dict(task, test_accuracy=accuracy, reread_accuracy=reread, readout_max=float(readout.max()),
                readout_at_limit=at_limit, hidden_change=hidden_change,
                seconds=round(time.perf_counter() - start, 1), steps=steps)


def runs_of(records: List[Dict[str, Any]], name: str, rate: float, hidden_rate: float,
            numeric: str) -> List[Dict[str, Any]]:
    """The runs of one set at one pair of steps in one numeric, over seeds."""
    return [r for r in records
            if (r["set"], r["readout_step"], r["hidden_step"], r["numeric"]) == (name, rate, hidden_rate, numeric)]


def hidden_label(hidden_rate: float) -> str:
    return f"{hidden_rate:g}" if hidden_rate else "0 (frozen)"


def table(records: List[Dict[str, Any]], sets: List[str], rates: List[float], hidden_rates: List[float],
          numerics: List[str]) -> List[str]:
    lines = ["| read-out step per sample | hidden step per sample | numeric | " + " | ".join(sets) + " |",
             "|---|---|---|" + "---|" * len(sets)]
    for rate, hidden_rate, numeric in product(rates, hidden_rates, numerics):
        cells = []
        for name in sets:
            runs = runs_of(records, name, rate, hidden_rate, numeric)
            final = [r["test_accuracy"][-1] for r in runs]
            cell = f"{np.mean(final):.3f} ± {np.std(final):.3f}" if final else "-"
            if numeric == "fixed" and runs:
                cell += f" ({np.mean([r['readout_at_limit'] for r in runs]):.0%} at ±127)"
            reread = [r["reread_accuracy"][-1] for r in runs if r.get("reread_accuracy")]
            if reread:
                cell += f" [re-read {np.mean(reread):.3f} ± {np.std(reread):.3f}]"
            cells.append(cell)
        lines.append(f"| {rate:g} | {hidden_label(hidden_rate)} | {numeric} | " + " | ".join(cells) + " |")
    return lines


def plot(records: List[Dict[str, Any]], sets: List[str], method: str, path: Path) -> None:
    """Test accuracy per online epoch, mean over seeds: a panel per set, a colour per pair of
    steps, float solid and fixed point dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.6), squeeze=False)
    steps = sorted({(r["readout_step"], r["hidden_step"]) for r in records})
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(steps)))
    for ax, name in zip(axes[0], sets):
        for colour, (rate, hidden_rate) in zip(colours, steps):
            for numeric, style in (("float", "-"), ("fixed", "--")):
                runs = [r["test_accuracy"] for r in runs_of(records, name, rate, hidden_rate, numeric)]
                if not runs:
                    continue
                label = f"hidden {hidden_label(hidden_rate)}, read-out {rate:g}, {numeric}"
                ax.plot(np.arange(1, len(runs[0]) + 1), np.mean(runs, axis=0), style, color=colour, marker="o",
                        markersize=3, label=label)
        ax.set(title=name, xlabel="online epoch", ylabel="test accuracy (mean over seeds)", ylim=(0, 1))
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{method} online, steps per sample", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_steps(parser: argparse.ArgumentParser, option: str, text: str) -> List[float]:
    """Comma-separated steps per sample, each a number >= 0; a clear error otherwise."""
    try:
        steps = [float(r) for r in text.split(",")]
    except ValueError:
        parser.error(f"{option} takes numbers, got {text!r}")
    if any(step < 0 for step in steps):
        parser.error(f"{option} takes steps >= 0, got {text!r}")
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="nmnist,BasicMotions,PickupGestureWiimoteZ,ItalyPowerDemand",
                        help="nmnist and/or UEA/UCR sets in the aeon wheel, comma-separated")
    parser.add_argument("--readout-steps", default="0.1,0.01,0.003",
                        help="the read-out's SGD steps per sample (each run takes step / T per time step)")
    parser.add_argument("--hidden-steps", default=None,
                        help="the hidden layers' steps per sample (0: frozen, the read-out-only control; "
                             "default: the library's SAMPLE_STEP)")
    parser.add_argument("--method", default="TESS",
                        help="the hidden layers' rule, a label of benchmarks/temporal.py (e.g. 'TESS (filtered) + "
                             "fixed read-out')")
    parser.add_argument("--plain-readout", action="store_true",
                        help="every network with Network(readout_centred=False): the papers' read-out on the spikes "
                             "(default: the network's, centred)")
    parser.add_argument("--reread", action="store_true",
                        help="after each float run whose hidden layers learn, freeze them as learned and train a "
                             "fresh read-out from the control's start for as many epochs: the learned features' "
                             "accuracy without a read-out that chases them ([re-read] in the table)")
    parser.add_argument("--numerics", default="float,fixed")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..n-1")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, in worker processes")
    parser.add_argument("--limit", type=int, default=0, help="keep the first N training and test samples (0: all)")
    parser.add_argument("--cache-dir", default=None, help="where the aeon wheel is (fetched with pip if missing)")
    add_encoding_option(parser)
    parser.add_argument("--out", type=Path, default=Path("results/online_steps"))
    args = parser.parse_args()
    sets, numerics = args.sets.split(","), args.numerics.split(",")
    from lava_local.rules import SAMPLE_STEP

    rates, hidden_rates = parse_steps(parser, "--readout-steps", args.readout_steps), \
        parse_steps(parser, "--hidden-steps", args.hidden_steps or str(SAMPLE_STEP))
    if any(n not in ("float", "fixed") for n in numerics):
        parser.error(f"--numerics takes float and/or fixed, got {args.numerics!r}")
    if args.method not in LAVA_METHODS:
        parser.error(f"--method takes one of {', '.join(LAVA_METHODS)}, got {args.method!r}")
    tasks = [dict(set=s, readout_step=r, hidden_step=h, method=args.method, numeric=n, seed=seed, epochs=args.epochs,
                  centred=False if args.plain_readout else None, cache_dir=args.cache_dir, limit=args.limit,
                  encoding=args.encoding, reread=args.reread)
             for s, r, h, n, seed in product(sets, rates, hidden_rates, numerics, range(args.seeds))]
    records, start = [], time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, task) for task in tasks]
        for i, future in enumerate(as_completed(futures), 1):
            record = future.result()
            records.append(record)
            print(f"[{i}/{len(tasks)}] {record['set']} read-out step {record['readout_step']:g} hidden step "
                  f"{record['hidden_step']:g} {record['numeric']} "
                  f"seed {record['seed']}: test {record['test_accuracy'][-1]:.3f} ({record['seconds']:.0f} s)",
                  flush=True)
    wall = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    header = [f"# The SGD steps per sample, online, {args.method}{', plain read-out' if args.plain_readout else ''} "
              f"({args.epochs} epochs, seeds 0-{args.seeds - 1}, {wall:.0f} s wall)", "", "`" + shlex.join(["python", "benchmarks/online_steps.py", *sys.argv[1:]]) + "`",
              "", "Test accuracy after the last epoch, mean ± std over seeds (fixed point: the share of the "
              "read-out's weights at the end of the mantissa range):", ""]
    (args.out / "online_steps.md").write_text(
        "\n".join(header + table(records, sets, rates, hidden_rates, numerics)) + "\n")
    (args.out / "online_steps.json").write_text(json.dumps(
        {"args": vars(args) | {"out": str(args.out)}, "wall_s": wall, "runs": records}, indent=1))
    plot(records, sets, args.method + (", plain read-out" if args.plain_readout else ""),
         args.out / "online_steps.png")
    print(f"wall time {wall:.0f} s; written to {args.out}/online_steps.{{md,json,png}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

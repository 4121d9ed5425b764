"""How close a rule's update comes to BPTT's gradient, layer by layer, along its own training.

    .venv/bin/python benchmarks/gradient_alignment.py [--sets OSULeaf] [--methods "S-TLLR (bp)"]
        [--arch ff,rec] [--seeds 3] [--first-seed 0] [--epochs 30] [--probe-epochs 0,1,15,30]
        [--batch 16] [--encoding delta+rate|delta] [--cache-dir DIR] [--out results/alignment]

A rule that learns locally in time (S-TLLR, TESS, LLS) follows eligibility traces where BPTT
follows the gradient of the read-out's loss through every layer and step. This program trains
a rule exactly as ``benchmarks/temporal.py`` does (same encoding, network, seed, sample order
and optimiser, so its final accuracy is that run's) and, at each probe epoch, before that
epoch's training, lets the rule's trainer and a ``BPTTTrainer`` holding the same weights and
read-out state compute their update on every batch of the training set (in order, ``--batch``
samples each). The trainer's state is restored after each probe, so probing does not change the
training. Per hidden layer (a recurrent layer's input and recurrent blocks apart) it writes:

* ``cos_batch``: the cosine between the rule's update and BPTT's gradient, mean over batches;
* ``cos_epoch``: the same between their sums over the epoch (a systematic difference stays in
  it, batch noise averages out);
* ``sign_agree``: the fraction of weights whose summed update has the sign of BPTT's (what
  Adam, which normalises each weight's step, mostly sees);
* ``norm_ratio``: the summed update's norm over BPTT's.

A cosine of 1 is BPTT's direction: S-TLLR (bp) on a filtered last hidden layer without
recurrence gets it exactly (its eligibility is then the gradient of the read-out's per-step
loss, reset aside). Writes ``alignment.md``, ``alignment.csv`` (one row per run, epoch, layer
and block), ``alignment.json`` (the same and the command) and, with matplotlib,
``alignment.png`` (``cos_epoch`` over the epochs, one panel per set and architecture).
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import temporal  # noqa: E402  (the benchmark's encoding, networks and rules)
from ucr_options import add_encoding_option  # noqa: E402

#: methods without a rule of their own to compare with BPTT
NOT_RULES = ("BPTT", "read-out only")


def _cosine(a, b) -> float:
    denominator = float(a.norm() * b.norm())
    return float((a * b).sum()) / denominator if denominator > 0 else float("nan")


def blocks(net, i: int, weight) -> Dict[str, Any]:
    """Layer ``i``'s weight (or update) by block: ``in`` and ``rec`` for a recurrent layer,
    ``all`` otherwise."""
    if not net.recurrent[i]:
        return {"all": weight}
    n_in = weight.shape[1] - weight.shape[0]
    return {"in": weight[:, :n_in], "rec": weight[:, n_in:]}


def _updates(trainer, x, y) -> List[Any]:
    trainer.compute_grads(x, y)
    grads = [None if p.grad is None else p.grad.detach().clone() for p in trainer.params]
    for p in trainer.params:
        p.grad = None
    return grads


def probe(rule_trainer, bptt_trainer, frames: np.ndarray, labels: np.ndarray, batch: int) -> List[Dict[str, Any]]:
    """The rule's update against BPTT's gradient on every batch, per hidden layer and block;
    both trainers are left as ``rule_trainer`` was."""
    saved = copy.deepcopy(rule_trainer.state_dict())
    net = rule_trainer.net
    n_hidden = len(net.hidden)
    per_batch: Dict[Tuple[int, str], List[float]] = {}
    sums: Dict[Tuple[int, str], List[Any]] = {}
    for x, y in rule_trainer.batches(frames, labels, batch, shuffle=False):
        rule_trainer.load_state_dict(copy.deepcopy(saved))
        bptt_trainer.load_state_dict(copy.deepcopy(saved))
        ours, theirs = _updates(rule_trainer, x, y), _updates(bptt_trainer, x, y)
        for i in range(n_hidden):
            if ours[i] is None:  # a layer that does not learn
                continue
            for name, a in blocks(net, i, ours[i]).items():
                b = blocks(net, i, theirs[i])[name]
                per_batch.setdefault((i, name), []).append(_cosine(a, b))
                pair = sums.setdefault((i, name), [a * 0, b * 0])
                pair[0] += a
                pair[1] += b
    rule_trainer.load_state_dict(saved)
    rows = []
    for (i, name), (a, b) in sums.items():
        rows.append({"layer": i, "block": name, "cos_batch": float(np.nanmean(per_batch[(i, name)])),
                     "cos_epoch": _cosine(a, b), "sign_agree": float(((a > 0) == (b > 0)).float().mean()),
                     "norm_ratio": float(a.norm() / b.norm()) if float(b.norm()) > 0 else float("nan")})
    return rows


def run_one(data: Dict[str, Any], method: str, arch: str, seed: int, epochs: int, probes: Sequence[int],
            batch: int, lr: float) -> Dict[str, Any]:
    """Train ``method`` as ``temporal.py`` does, probing at ``probes``; the run's record."""
    from lava_local.trainer import BPTTTrainer

    x_tr, y_tr = temporal._load(data["paths"]["train"])
    x_te, y_te = temporal._load(data["paths"]["test"])
    network = dict(temporal.TEMPORAL_NETWORK)
    trainer, lr = temporal.make_trainer(method, arch, x_tr.shape[2], data["n_classes"], seed, network, lr, "cpu",
                                        data["shd"])
    bptt = BPTTTrainer(trainer.net, device="cpu", optimizer="adam", lr=lr)
    generator = np.random.default_rng(seed)
    rows, start = [], time.perf_counter()
    for epoch in range(epochs + 1):
        if epoch in probes:
            for row in probe(trainer, bptt, x_tr, y_tr, batch):
                rows.append(dict(set=data["name"], method=method, arch=arch, seed=seed, epoch=epoch, **row))
        if epoch < epochs:
            trainer.fit_epoch(x_tr, y_tr, batch_size=batch, generator=generator)
    return {"set": data["name"], "method": method, "arch": arch, "seed": seed,
            "accuracy": float(trainer.evaluate(x_te, y_te)), "seconds": time.perf_counter() - start, "rows": rows}


def summary(rows: List[Dict[str, Any]], probes: Sequence[int]) -> List[str]:
    """Markdown: ``cos_epoch`` (mean ± std over seeds) per set, method, arch, layer and block
    against the probe epochs, then the same for ``sign_agree``."""
    lines = []
    for key, label in (("cos_epoch", "cosine of the epoch's summed update with BPTT's"),
                       ("sign_agree", "fraction of weights whose summed update has BPTT's sign")):
        lines += [f"{label}, mean ± std over seeds, at the start of each epoch:", "",
                  "| set | method | arch | layer | " + " | ".join(f"epoch {e}" for e in probes) + " |",
                  "|---|---|---|---|" + "---|" * len(probes)]
        groups: Dict[Tuple, Dict[int, List[float]]] = {}
        for r in rows:
            group = (r["set"], r["method"], r["arch"], f"{r['layer']}" + ("" if r["block"] == "all" else
                                                                          f" ({r['block']})"))
            groups.setdefault(group, {}).setdefault(r["epoch"], []).append(r[key])
        for (name, method, arch, layer), by_epoch in groups.items():
            cells = [f"{np.mean(by_epoch[e]):+.3f} ± {np.std(by_epoch[e]):.3f}" if e in by_epoch else "-"
                     for e in probes]
            lines.append(f"| {name} | {method} | {arch} | {layer} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def plot(path: Path, rows: List[Dict[str, Any]]) -> bool:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    panels = sorted({(r["set"], r["arch"]) for r in rows})
    fig = Figure(figsize=(4.2 * len(panels), 3.4))
    for k, (name, arch) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        curves: Dict[str, Dict[int, List[float]]] = {}
        for r in rows:
            if (r["set"], r["arch"]) == (name, arch):
                label = f"{r['method']}, layer {r['layer']}" + ("" if r["block"] == "all" else f" {r['block']}")
                curves.setdefault(label, {}).setdefault(r["epoch"], []).append(r["cos_epoch"])
        for label, by_epoch in curves.items():
            epochs = sorted(by_epoch)
            ax.plot(epochs, [np.mean(by_epoch[e]) for e in epochs], "o-", label=label)
        ax.set(title=f"{name}, {arch}", xlabel="epoch", ylabel="cosine with BPTT's gradient", ylim=(-0.2, 1.05))
        ax.axhline(1.0, color="grey", lw=0.5)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> int:
    from lava_local.trainer import flush_subnormals

    flush_subnormals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--sets", default="OSULeaf", help="UEA/UCR data sets in the aeon wheel, comma-separated")
    parser.add_argument("--methods", default="S-TLLR (bp)",
                        help="comma-separated temporal.py methods that learn with a rule (not BPTT or read-out only)")
    parser.add_argument("--arch", default="ff,rec", help="ff, rec and/or rec2 (temporal.py's networks)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--probe-epochs", default=None,
                        help="epochs at whose start the updates are compared, comma-separated (0: the initial "
                             "weights; the number of epochs: the trained network; default 0, 1, half and all "
                             "of --epochs)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--cache-dir", default=None, help="where the aeon wheel is (or is fetched to with pip)")
    add_encoding_option(parser)
    parser.add_argument("--out", type=Path, default=Path("results/alignment"))
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    archs = [a.strip() for a in args.arch.split(",") if a.strip()]
    if args.probe_epochs is None:
        args.probe_epochs = ",".join(map(str, sorted({0, min(1, args.epochs), args.epochs // 2, args.epochs})))
    try:
        probes = sorted({int(e) for e in args.probe_epochs.split(",") if e.strip()})
    except ValueError:
        parser.error(f"--probe-epochs takes whole numbers, comma-separated; got {args.probe_epochs!r}")
    if args.epochs < 1 or args.seeds < 1 or args.batch < 1 or args.first_seed < 0:
        parser.error("--epochs, --seeds and --batch must be positive, --first-seed 0 or more")
    if not probes or probes[0] < 0 or probes[-1] > args.epochs:
        parser.error(f"--probe-epochs must lie in 0..{args.epochs} (the number of epochs)")
    known = temporal.METHODS + temporal.NAMED_METHODS
    for method in methods:
        if method in NOT_RULES or method not in known:
            parser.error(f"{method!r}: give a method that learns with a rule, of "
                         f"{', '.join(m for m in known if m not in NOT_RULES)}")
    for arch in archs:
        if arch not in temporal.ARCHS + temporal.NAMED_ARCHS:
            parser.error(f"unknown --arch {arch!r}: ff, rec or rec2")
    args.out.mkdir(parents=True, exist_ok=True)
    data = {}
    for name in (s.strip() for s in args.sets.split(",")):
        if not name:
            continue
        try:
            data[name] = temporal.encode_uea_ucr(name, args.cache_dir, args.out / "encoded", args.encoding)
        except (FileNotFoundError, ValueError) as error:  # no wheel (and pip failed), or no such set
            print(error, file=sys.stderr)
            return 2
    runs = []
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    total = len(data) * len(methods) * len(archs) * len(seeds)
    for name, record in data.items():
        for method in methods:
            for arch in archs:
                for seed in seeds:
                    run = run_one(record, method, arch, seed, args.epochs, probes, args.batch, args.lr)
                    runs.append(run)
                    last = [r for r in run["rows"] if r["epoch"] == probes[-1]]
                    print(f"[{len(runs)}/{total}] {name} | {method} | {arch} | seed {seed}: test "
                          f"{run['accuracy']:.3f}, {run['seconds']:.0f} s; epoch {probes[-1]} cosines "
                          + ", ".join(f"{r['layer']}{'' if r['block'] == 'all' else r['block']} "
                                      f"{r['cos_epoch']:+.3f}" for r in last), flush=True)
    rows = [r for run in runs for r in run["rows"]]
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    with open(args.out / "alignment.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    header = {"command": command, "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    (args.out / "alignment.json").write_text(json.dumps(
        {**header, "runs": [{k: v for k, v in run.items() if k != "rows"} for run in runs], "rows": rows},
        indent=1))
    accuracy = ["test accuracy after training (the temporal.py run of the same seed):", "",
                "| set | method | arch | seeds | accuracy |", "|---|---|---|---|---|"]
    for key in dict.fromkeys((r["set"], r["method"], r["arch"]) for r in runs):
        values = [r["accuracy"] for r in runs if (r["set"], r["method"], r["arch"]) == key]
        accuracy.append(f"| {' | '.join(key)} | {len(values)} | {np.mean(values):.3f} ± {np.std(values):.3f} |")
    lines = [f"command: `{command}`", "", f"{header['date']}; batch {args.batch}, {args.epochs} epochs", "",
             *summary(rows, probes), *accuracy, ""]
    (args.out / "alignment.md").write_text("\n".join(lines))
    drawn = plot(args.out / "alignment.png", rows)
    print("\n".join(lines))
    print(f"written to {args.out}/alignment.{{md,csv,json{',png' if drawn else ''}}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

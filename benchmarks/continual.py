"""Continual online learning on N-MNIST: digits arrive two at a time, each sample is seen once.

    .venv/bin/python benchmarks/continual.py [--hidden 128] [--samples-per-task N] [--numeric fixed]

The N-MNIST 1k/100 subset shipped with the library (T = 10 steps) is played as a stream of
tasks {0,1}, {2,3}, ..., {8,9}: every training recording of a task once, in a shuffled order
within the task, no replay buffer, no task boundaries given to the learners. Three learners
see the same stream, on the same 2312-H-10 network (same initial weights):

* TESS online in the Lava models (``--numeric fixed``: the Loihi 2 fixed-point models),
  every layer learning from its local signal while the network infers;
* the same Lava network with frozen random hidden layers (the read-out learns);
* plain fine-tuning by BPTT in the torch trainer (``BPTTTrainer``, Adam 1e-3, batch 1),
  one pass over each task's samples in the same order.

After each task every learner is tested (no learning) on the test recordings of all classes
seen so far, with a 10-way arg-max (class-incremental: the task is not given). Writes
``continual.{json,md,png}`` to ``--out`` (default ``results/continual``). One test recording
is one accuracy point (about 10 per class): report as "N-MNIST 1k/100 subset".
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import lava_local  # noqa: F401  (first: makes lava-nc importable on Python 3.11)
from lava_local.data import NMNISTSubset
from lava_local.kernels.learning_signal import SignalParams
from lava_local.kernels.plasticity import EligibilityParams
from lava_local.network import Network
from lava_local.rules import TESS

# the online (batch 1) settings of lava_local/demo.py
SETTINGS = dict(lr=1e-3, readout_lr=1e-3, init_scale=1.75, steps=10)
LEARNERS = {"tess": "TESS online (Lava)", "frozen": "frozen hidden layers (read-out learns)",
            "bptt": "BPTT fine-tuning (trainer)"}


def make_network(hidden: int, seed: int, frozen: bool = False, readout_init: str = "auto") -> Network:
    rule = TESS(lr=SETTINGS["lr"], eligibility=EligibilityParams(0.5, 0.2, 1.0, 0.0),
                signal=SignalParams(basis="square"), filtered=False)  # the demo's online preset
    return Network(2312, hidden=(hidden,), rule=rule, frozen=frozen, init_scale=SETTINGS["init_scale"],
                   readout_lr=SETTINGS["readout_lr"], readout_init=readout_init, seed=seed)


def lava_task(net: Network, train, test, numeric: str):
    """One task in Lava: :meth:`Network.fit` for one epoch (``train`` once with labels, then
    ``test`` without); the weights stay in ``net`` for the next task. Returns (online train
    accuracy, test predictions), so that accuracies can be split by class."""
    history = net.fit(train, test, epochs=1, numeric=numeric, progress=False)
    return history.train_accuracy[0], history.test_predictions[0]


def bptt_task(trainer, train, test, order: np.ndarray, batch: int):
    import torch

    (x_tr, y_tr), (x_te, _) = train, test
    correct = 0
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        x = torch.as_tensor(x_tr[idx], dtype=trainer.dtype)
        y = torch.as_tensor(y_tr[idx], dtype=torch.long)
        correct += int((trainer.train_step(x, y).argmax(-1) == y).sum())
    with torch.no_grad():
        predictions = np.concatenate([trainer.scores(torch.as_tensor(x_te[i:i + 100], dtype=trainer.dtype))
                                      .argmax(-1).numpy() for i in range(0, len(x_te), 100)])
    return correct / len(order), predictions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--samples-per-task", type=int, default=0,
                        help="training recordings per task (0: all of the two classes, about 200)")
    parser.add_argument("--tasks", type=int, default=5, help="number of tasks played (1..5)")
    parser.add_argument("--numeric", choices=("fixed", "float"), default="fixed")
    parser.add_argument("--learners", default="tess,frozen,bptt")
    parser.add_argument("--bptt-optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--bptt-lr", type=float, default=1e-3)
    parser.add_argument("--bptt-batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/continual"))
    args = parser.parse_args(argv)
    if not 1 <= args.tasks <= 5:
        parser.error("--tasks must be 1..5")
    learners = [name for name in args.learners.split(",") if name]
    if not learners or set(learners) - set(LEARNERS):
        parser.error(f"--learners: a comma-separated subset of {','.join(LEARNERS)}")

    start = time.perf_counter()
    x_train, y_train = NMNISTSubset("train").dense(SETTINGS["steps"])
    x_test, y_test = NMNISTSubset("test").dense(SETTINGS["steps"])
    tasks = [(2 * k, 2 * k + 1) for k in range(args.tasks)]
    # the test recordings of every class the run will see; sliced by class afterwards
    in_run = np.isin(y_test, np.arange(2 * args.tasks))
    test = (x_test[in_run], y_test[in_run])
    streams = []
    for classes in tasks:
        idx = np.flatnonzero(np.isin(y_train, classes))
        if args.samples_per_task:
            idx = idx[:args.samples_per_task]
        streams.append((x_train[idx], y_train[idx]))
    print(f"N-MNIST 1k/100 subset, T = {SETTINGS['steps']}: tasks {tasks}, "
          f"{[len(s[1]) for s in streams]} training recordings per task, {len(test[1])} test recordings "
          f"(loaded in {time.perf_counter() - start:.1f} s)", flush=True)

    nets = {"tess": make_network(args.hidden, args.seed), "frozen": make_network(args.hidden, args.seed, True),
            "bptt": make_network(args.hidden, args.seed, readout_init="random")}  # as BPTT baselines start
    trainer = None
    if "bptt" in learners:
        import torch

        from lava_local.trainer import BPTTTrainer, flush_subnormals

        flush_subnormals()
        torch.manual_seed(args.seed)
        trainer = BPTTTrainer(nets["bptt"], device="cpu", optimizer=args.bptt_optimizer, lr=args.bptt_lr)

    results = {name: {"seen_accuracy": [], "task_accuracy": [], "train_accuracy": [], "seconds": []}
               for name in learners}
    for k, (classes, train) in enumerate(zip(tasks, streams)):
        seen = np.arange(2 * (k + 1))
        for name in learners:
            t0 = time.perf_counter()
            if name == "bptt":
                order = nets["bptt"].schedule(len(train[1]), 0, 1)[0]  # Lava's order within the task
                train_acc, pred = bptt_task(trainer, train, test, order, args.bptt_batch)
            else:
                train_acc, pred = lava_task(nets[name], train, test, args.numeric)
            r = results[name]
            r["seconds"].append(time.perf_counter() - t0)
            r["train_accuracy"].append(train_acc)
            mask = np.isin(test[1], seen)
            r["seen_accuracy"].append(float(np.mean(pred[mask] == test[1][mask])))
            # accuracy on each task seen so far (10-way arg-max, task not given)
            r["task_accuracy"].append([float(np.mean(pred[np.isin(test[1], c)] == test[1][np.isin(test[1], c)]))
                                       for c in tasks[:k + 1]])
            print(f"after task {k + 1} {classes}: {name:6s} seen-class accuracy {r['seen_accuracy'][-1]:.2f} "
                  f"(per task {' '.join(f'{a:.2f}' for a in r['task_accuracy'][-1])}), online train "
                  f"{train_acc:.2f}, {r['seconds'][-1]:.1f} s", flush=True)
    wall = time.perf_counter() - start

    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"args": vars(args) | {"out": str(args.out)}, "settings": SETTINGS, "tasks": tasks,
               "train_per_task": [len(s[1]) for s in streams],
               "test_per_task": [int(np.isin(test[1], c).sum()) for c in tasks],
               "chance": [1 / (2 * (k + 1)) for k in range(len(tasks))],
               "labels": {n: LEARNERS[n] for n in learners}, "results": results, "wall_seconds": wall}
    (args.out / "continual.json").write_text(json.dumps(payload, indent=2))
    lines = [f"Continual N-MNIST (1k/100 subset, T = {SETTINGS['steps']}), 2312-{args.hidden}-10, tasks of two "
             f"digits, each sample once, Lava models {args.numeric}, BPTT {args.bptt_optimizer} "
             f"lr {args.bptt_lr} batch {args.bptt_batch}, seed {args.seed}; accuracy on the test recordings "
             f"of all classes seen so far (10-way arg-max). Wall time {wall:.0f} s.", "",
             "| after task | chance | " + " | ".join(LEARNERS[n] for n in learners) + " |",
             "|---|---|" + "---|" * len(learners)]
    for k, classes in enumerate(tasks):
        cells = [f"{results[n]['seen_accuracy'][k]:.2f}" for n in learners]
        lines.append(f"| {k + 1} {{{classes[0]},{classes[1]}}} | {payload['chance'][k]:.2f} | " + " | ".join(cells) + " |")
    lines += ["", "Accuracy on each task after the last one (forgetting):", "",
              "| learner | " + " | ".join(f"{{{a},{b}}}" for a, b in tasks) + " | s total |",
              "|---|" + "---|" * (len(tasks) + 1)]
    for n in learners:
        lines.append(f"| {LEARNERS[n]} | " + " | ".join(f"{a:.2f}" for a in results[n]["task_accuracy"][-1])
                     + f" | {sum(results[n]['seconds']):.0f} |")
    (args.out / "continual.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(1, len(tasks) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for n in learners:
        axes[0].plot(x, results[n]["seen_accuracy"], "o-", label=LEARNERS[n])
        axes[1].plot(x, [a[0] for a in results[n]["task_accuracy"]], "o-", label=LEARNERS[n])
    axes[0].plot(x, payload["chance"], "k--", label="chance (1 / classes seen)")
    axes[0].set(xlabel="tasks seen (2 digits each)", ylabel="accuracy on all classes seen",
                title="Continual N-MNIST, each sample once", ylim=(0, 1), xticks=x)
    axes[1].set(xlabel="tasks seen", ylabel="accuracy on digits {0,1}", title="Forgetting of the first task",
                ylim=(0, 1), xticks=x)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "continual.png", dpi=120)
    print(f"wrote {args.out}/continual.{{json,md,png}} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

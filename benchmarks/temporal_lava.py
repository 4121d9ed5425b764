"""The rules online in the Lava simulator on a temporal set: float and Loihi fixed point.

    .venv/bin/python benchmarks/temporal_lava.py [--sets PickupGestureWiimoteZ]
        [--methods "TESS,TESS (filtered) + fixed read-out,read-out only"] [--numerics float,fixed]
        [--epochs 10] [--seeds 3] [--lr LR] [--readout-lr LR] [--jobs 2] [--encoding delta+rate|delta]
        [--cache-dir DIR] [--out results]

Each run is what a user runs: ``lava-local train --data ucr:NAME --hidden 256,128 --backend
lava-float|lava-fixed`` (one process per run, ``--jobs`` at a time), so the network is the
CLI's for a UEA/UCR set (``--encoding``, the level code by default, as
``benchmarks/temporal.py``; hidden and read-out
leak 0.9) and it learns online, one sample at a time, with the Lava models' SGD (the
library's default steps per sample spread over the sample's T steps, 1e-2 / T for the rule and
1e-2 / T for the read-out; ``--lr`` and ``--readout-lr`` set steps per time step instead).
Methods: ``TESS`` (the default rule: its last hidden layer filtered, ``filtered="auto"``),
``TESS (unfiltered)`` (``--filtered none``), ``TESS
(filtered)`` (``--filtered``), ``+ fixed read-out`` (``--fixed-readout``), ``read-out only``
(``--method readout-only``), ``S-TLLR`` (``--rule stllr``: its local signal at its default,
the last hidden layer filtered at the read-out's scale) and ``S-TLLR (unfiltered)`` (``--rule
stllr --filtered none``, its default before). Writes ``<out>/temporal_lava.{md,json}``: test accuracy after the
last epoch, mean +- std over seeds, and seconds per epoch, per method and numeric.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from ucr_options import add_encoding_option

ROOT = Path(__file__).resolve().parents[1]
METHODS = {"TESS": [], "TESS (unfiltered)": ["--filtered", "none"], "TESS (filtered)": ["--filtered"],
           "TESS (filtered) + fixed read-out":
           ["--filtered", "--fixed-readout"], "read-out only": ["--method", "readout-only"],
           "S-TLLR": ["--rule", "stllr"], "S-TLLR (unfiltered)": ["--rule", "stllr", "--filtered", "none"]}


def command(task: Dict[str, Any], args: argparse.Namespace, out: Path) -> List[str]:
    """The CLI call of one run."""
    cmd = [sys.executable, "-m", "lava_local.cli", "train", "--data", f"ucr:{task['set']}", "--hidden", "256,128",
           "--backend", f"lava-{task['numeric']}", "--epochs", str(args.epochs), "--seed", str(task["seed"]),
           "--out", str(out), "--no-progress", "--json", *METHODS[task["method"]]]
    for option, value in (("--lr", args.lr), ("--readout-lr", args.readout_lr)):
        if value is not None:
            cmd += [option, str(value)]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    return cmd + ["--encoding", args.encoding]


def run_one(task: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    """One run in its own process; its record (an error's message instead of a result)."""
    name = "-".join(str(task[k]) for k in ("set", "method", "numeric", "seed"))
    out = args.out / "temporal_lava_runs" / "".join(c if c.isalnum() or c in "-." else "_" for c in name)
    start = time.perf_counter()
    done = subprocess.run(command(task, args, out), capture_output=True, text=True, cwd=ROOT)
    record = dict(task, seconds=round(time.perf_counter() - start, 1), error="", out=str(out))
    if done.returncode != 0:
        record["error"] = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return record
    epochs = json.loads((out / "history.json").read_text())["epochs"]
    record.update(test_accuracy=[e["test_accuracy"] for e in epochs], epoch_seconds=[e["seconds"] for e in epochs])
    return record


def table(records: List[Dict[str, Any]], sets: List[str], methods: List[str], numerics: List[str]) -> List[str]:
    """Markdown: one row per method and numeric, one column per set."""
    lines = ["| method | numeric | " + " | ".join(sets) + " | s/epoch |", "|---|---|" + "---|" * (len(sets) + 1)]
    for method in methods:
        for numeric in numerics:
            cells, seconds = [], []
            for name in sets:
                runs = [r for r in records if (r["set"], r["method"], r["numeric"]) == (name, method, numeric)]
                final = [r["test_accuracy"][-1] for r in runs if not r["error"]]
                seconds += [s for r in runs if not r["error"] for s in r["epoch_seconds"] if s is not None]
                failed = len(runs) - len(final)
                cell = f"{np.mean(final):.3f} ± {np.std(final):.3f}" if final else "-"
                cells.append(cell + (f" ({failed} failed)" if failed else ""))
            per_epoch = f"{np.mean(seconds):.1f}" if seconds else "-"
            lines.append(f"| {method} | {numeric} | " + " | ".join(cells) + f" | {per_epoch} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="PickupGestureWiimoteZ", help="UEA/UCR sets, comma-separated")
    parser.add_argument("--methods", default=",".join(m for m in METHODS if m != "TESS (filtered)"
                                                      and not m.startswith("S-TLLR")),
                        help=f"comma-separated, of: {', '.join(METHODS)}")
    parser.add_argument("--numerics", default="float,fixed", help="float and/or fixed")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..n-1")
    parser.add_argument("--lr", type=float, default=None,
                        help="the hidden layers' SGD step per time step in Lava (default: the library's, 1e-2 / T)")
    parser.add_argument("--readout-lr", type=float, default=None,
                        help="the read-out's SGD step per time step in Lava (default: the library's, 1e-2 / T)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (each its own process)")
    parser.add_argument("--cache-dir", default=None, help="where the aeon wheel is (fetched with pip if missing)")
    add_encoding_option(parser)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    sets, methods, numerics = (s.split(",") for s in (args.sets, args.methods, args.numerics))
    unknown = [m for m in methods if m not in METHODS] + [n for n in numerics if n not in ("float", "fixed")]
    if unknown:
        parser.error(f"unknown method or numeric: {', '.join(unknown)}")
    tasks = [dict(set=s, method=m, numeric=n, seed=seed) for s in sets for m in methods for n in numerics
             for seed in range(args.seeds)]
    records = []
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:  # each thread waits on its run's process
        futures = [pool.submit(run_one, task, args) for task in tasks]
        for i, future in enumerate(as_completed(futures), 1):
            record = future.result()
            records.append(record)
            result = record["error"] or f"test {record['test_accuracy'][-1]:.3f}"
            print(f"[{i}/{len(tasks)}] {record['set']} {record['method']} {record['numeric']} seed "
                  f"{record['seed']}: {result} ({record['seconds']:.0f} s)", flush=True)
    wall = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    header = [f"# The rules online in Lava on temporal data ({args.epochs} epochs, seeds 0-{args.seeds - 1}, "
              f"{wall:.0f} s wall)", "", "`" + shlex.join(["python", "benchmarks/temporal_lava.py", *sys.argv[1:]]) + "`",
              "", "Test accuracy after the last epoch, mean ± std over seeds:", ""]
    (args.out / "temporal_lava.md").write_text("\n".join(header + table(records, sets, methods, numerics)) + "\n")
    (args.out / "temporal_lava.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                             "wall_seconds": wall, "runs": records}, indent=2))
    print((args.out / "temporal_lava.md").read_text())
    return 1 if any(r["error"] for r in records) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Paired differences between the runs of one or more ``benchmarks/temporal.py`` outputs.

    .venv/bin/python benchmarks/temporal_paired.py results/a results/b [--arch ff]
        [--same "TESS + centred read-out=TESS"] [--reference BPTT] [--control "read-out only"]
        [--out results/paired]

Every run of ``temporal.py`` is deterministic and seeded (network, torch and the shuffle), so
two methods' runs with the same seed on the same set share their initial weights and the
order of the samples. Their difference per seed is the fair comparison; its mean and standard
error over the seeds both have are what this program writes, for each method against
``--reference`` (the gap) and against ``--control`` (the margin), beside each method's mean
and standard deviation over seeds.

``--same "LABEL=NAME"`` (repeatable) files the runs of ``LABEL`` under ``NAME``: a method
run under an explicit label (``"TESS + centred read-out"``) is the default's run (``"TESS"``)
when the default names the same network. A (set, method, seed) found in two folders must
have the same accuracy, or the program stops: the runs are deterministic, so two different
results mean two different configurations under one name.

Writes ``<out>/temporal_paired.md`` and prints it.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Tuple

Runs = Dict[Tuple[str, str, int], float]  # (method, set, seed) -> test accuracy


def load_runs(folders: List[Path], arch: str, same: Dict[str, str]) -> Tuple[Runs, List[str], List[str]]:
    """The runs of ``arch`` in ``folders``' ``temporal.json``, labels renamed by ``same``;
    also the methods and the sets in the order first seen."""
    runs: Runs = {}
    methods: List[str] = []
    sets: List[str] = []
    codes: Dict[str, Tuple[str, Path]] = {}  # set -> (its encoder, the first folder that has it)
    for folder in folders:
        path = folder / "temporal.json"
        if not path.is_file():
            raise SystemExit(f"{path}: not found (a folder written by benchmarks/temporal.py)")
        result = json.loads(path.read_text())
        # runs of one set under two encodings (temporal.py --encoding) are not one configuration,
        # even where their seeds do not overlap
        for name, record in result.get("encodings", {}).items():
            code = str(record.get("encoding", {}).get("encoder", ""))
            first = codes.setdefault(name, (code, folder))
            if first[0] != code:
                raise SystemExit(f"{name}: encoded {first[0]!r} in {first[1]} and {code!r} in {folder}: "
                                 f"pair runs of one encoding")
        for run in result["runs"]:
            if run["arch"] != arch or run.get("error") or not math.isfinite(run["accuracy"]):
                continue
            method = same.get(run["method"], run["method"])
            key = (method, run["set"], int(run["seed"]))
            if key in runs and abs(runs[key] - run["accuracy"]) > 1e-9:
                raise SystemExit(f"{method}, {run['set']}, seed {key[2]}: {runs[key]:.4f} in one folder and "
                                 f"{run['accuracy']:.4f} in {folder}: two configurations under one name")
            runs[key] = float(run["accuracy"])
            methods += [method] if method not in methods else []
            sets += [run["set"]] if run["set"] not in sets else []
    return runs, methods, sets


def summary(values: List[float]) -> Tuple[float, float]:
    """Mean and standard deviation (over seeds, ``ddof=0`` as ``temporal.py``'s tables)."""
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def paired(runs: Runs, method: str, other: str, name: str) -> Tuple[float, float, int]:
    """``method - other`` in accuracy points over the seeds both ran on ``name``: the mean,
    its standard error (nan for one seed) and the number of seeds."""
    seeds = sorted(s for (m, n, s) in runs if m == method and n == name and (other, name, s) in runs)
    diffs = [100.0 * (runs[(method, name, s)] - runs[(other, name, s)]) for s in seeds]
    if not diffs:
        return math.nan, math.nan, 0
    mean = sum(diffs) / len(diffs)
    if len(diffs) < 2:
        return mean, math.nan, 1
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return mean, math.sqrt(var / len(diffs)), len(diffs)


def table(runs: Runs, methods: List[str], sets: List[str], reference: str, control: str) -> List[str]:
    def accuracy(method: str, name: str) -> str:
        values = [a for (m, n, _), a in runs.items() if m == method and n == name]
        if not values:
            return "-"
        mean, std = summary(values)
        return f"{mean:.3f} ± {std:.3f} ({len(values)})"

    def difference(method: str, other: str, name: str) -> str:
        mean, se, n = paired(runs, method, other, name)
        if n == 0:
            return "-"
        return f"{mean:+.1f}" + ("" if math.isnan(se) else f" ± {se:.1f}") + f" ({n})"

    head = "| | " + " | ".join(sets) + " |"
    rule = "|---|" + "---|" * len(sets)
    lines = ["Test accuracy, mean ± std over seeds (number of seeds):", "", head, rule]
    lines += [f"| {m} | " + " | ".join(accuracy(m, n) for n in sets) + " |" for m in methods]
    for other, what in ((reference, "gap"), (control, "margin")):
        if other not in methods:
            continue
        lines += ["", f"{what.capitalize()}: method - {other}, accuracy points, paired by seed, mean ± standard "
                  "error (seeds both ran):", "", head, rule]
        lines += [f"| {m} - {other} | " + " | ".join(difference(m, other, n) for n in sets) + " |"
                  for m in methods if m != other]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders written by benchmarks/temporal.py")
    parser.add_argument("--arch", default="ff", help="ff or rec")
    parser.add_argument("--same", action="append", default=[], metavar="LABEL=NAME",
                        help="file LABEL's runs under NAME (repeatable)")
    parser.add_argument("--reference", default="BPTT", help="the method gaps are measured to")
    parser.add_argument("--control", default="read-out only", help="the method margins are measured over")
    parser.add_argument("--out", type=Path, default=None, help="also write <out>/temporal_paired.md")
    args = parser.parse_args()
    same = {}
    for item in args.same:
        label, sep, name = item.partition("=")
        if not sep or not label.strip() or not name.strip():
            parser.error(f"--same takes LABEL=NAME, got {item!r}")
        same[label.strip()] = name.strip()
    runs, methods, sets = load_runs(args.folders, args.arch, same)
    if not runs:
        parser.error(f"no finished {args.arch} runs in {', '.join(map(str, args.folders))}")
    lines = table(runs, methods, sets, args.reference, args.control)
    command = shlex.join(["benchmarks/temporal_paired.py", *sys.argv[1:]])
    text = "\n".join([f"`{command}`", ""] + lines) + "\n"
    print(text, end="")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "temporal_paired.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``lava-local``: the library's command-line tool.

    lava-local info [--json]                         versions, GPU, data sets found
    lava-local train [--data nmnist] [--rule tess] [--method local] [--backend trainer] ...
    lava-local eval --checkpoint DIR/last.pt [--data nmnist] ...
    lava-local bench NAME [ARGS...]                  a script of the repository's benchmarks/
    lava-local deploy --checkpoint DIR [--profile loihi2] [--data nmnist] --out DIR
                                                     quantization, fit, cost, netx and NIR files

``deploy`` writes a trained network's quantization report, chip fit (where each layer
learns), cost estimate (NeuroBench's metrics included), netx HDF5 and NIR files into
``--out``; a part the network cannot go through (netx for conv or recurrent layers, the
fixed-point run for recurrent layers or analog frames) is skipped with a warning line and
exit code 0, listed under ``skipped`` in its JSON.

Exit codes: 0 success; 1 a run failed (``TrainingCollapse``, an error while training); 2 bad
usage or missing/invalid data, with one line on stderr and no traceback (``--traceback``
shows it). ``--json`` prints one JSON object on stdout and nothing else there.

Each subcommand is one ``cmd_*`` function taking the parsed arguments and returning the exit
code; :func:`main` parses, dispatches and maps exceptions to exit codes. The data loaders and
the network builder below are the CLI's glue around ``lava_local.data``, ``Network`` and the
trainers; the library holds the algorithms.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

PROG = "lava-local"
RULE_CHOICES = ("tess", "stllr", "stllr-bp", "lls")
METHOD_CHOICES = ("local", "bptt", "readout-only")
# lava_local.data.timeseries.UCR_ENCODERS (the standard first), not imported here: --help
# stays free of the data modules' imports
UCR_ENCODING_CHOICES = ("delta+rate", "delta")
BACKEND_CHOICES = ("trainer", "lava-float", "lava-fixed")
VERSION_PACKAGES = ("numpy", "lava-nc", "lava-dl", "torch", "tonic", "nir")
CHECKPOINT_NAME = "last.pt"
#: what ``deploy`` writes (key in its summary's "files" -> file name in --out)
DEPLOY_FILES = {"quantization_md": "quantization.md", "quantization_json": "quantization.json",
                "fit_md": "fit.md", "fit_json": "fit.json", "cost_md": "cost.md", "cost_json": "cost.json",
                "netx": "network.netx.h5", "nir": "network.nir", "summary": "deploy.json"}
#: the repository's benchmark scripts (absent when the package is installed without it)
BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"

# Defaults of the options that ``--resume`` and ``eval`` take from the checkpoint when they
# are not given (argparse's own defaults are None, so "not given" can be told apart); a
# checkpoint without ``centred_readout`` predates the centred read-out, so it is plain there
# (a fresh run decides it in ``train``: centred unless the read-out is fixed); one without
# ``filtered`` predates the filtered eligibility, so it is unfiltered there (a fresh run takes
# the rule's default).
NETWORK_DEFAULTS: Dict[str, Any] = dict(rule="tess", method="local", hidden="256", readout_init="auto", filtered=False,
                                        rate_scale=False, fixed_readout=False, centred_readout=False, seed=0)
#: ``--filtered``'s choices and the rule's ``filtered`` each stands for; a checkpoint without
#: ``filtered`` (or holding a bool) predates them
FILTERED_CHOICES: Dict[str, Union[str, bool]] = {"auto": "auto", "last": "last", "all": True, "none": False}
DATA_DEFAULTS: Dict[str, Any] = dict(data="nmnist", test_fraction=0.2)
TRAIN_DEFAULTS: Dict[str, Any] = dict(lr=1e-3, epochs=5, batch_size=32)
#: time steps per sample where the data set has a fixed binning (npz: the file's own)
DEFAULT_STEPS = {"nmnist": 10, "fashion": 6}

# the network of the temporal benchmark (benchmarks/temporal.py, TEMPORAL_NETWORK)
UCR_NETWORK = dict(gamma=0.9, readout_gamma=0.9)  # memory long enough for a gesture


class UsageError(Exception):
    """Bad usage or unusable input: exit code 2, one line on stderr."""


class RunFailed(Exception):
    """A run that started and failed: exit code 1, one line on stderr."""


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


# ----------------------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (the usage is one ``--help`` away)."""

    def error(self, message: str):  # noqa: D401  (argparse's hook)
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def _hidden_spec(text: str) -> str:
    _parse_hidden(text)  # checked now: a bad list is a usage error
    return text


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _data_options() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    g = p.add_argument_group("data")
    g.add_argument("--data", default=None,
                   help="nmnist (the shipped N-MNIST 1k/100 subset, default), fashion (Fashion-MNIST idx "
                        "files, direct encoding), ucr:NAME (a UEA/UCR set from the aeon wheel, encoded as "
                        "benchmarks/temporal.py does, see --encoding) or a PATH to a .npz data set")
    g.add_argument("--encoding", choices=UCR_ENCODING_CHOICES, default=None,
                   help="ucr: sets' spike code: delta+rate (the library's standard, the level code: the delta "
                        "code of the changes and a population code of the level) or delta (the delta code "
                        "alone) (default delta+rate)")
    g.add_argument("--steps", type=_positive_int, default=None,
                   help="time steps per sample: N-MNIST bins (default 10), Fashion-MNIST repeats "
                        "(default 6), events in a .npz (default: the file's)")
    g.add_argument("--test-npz", type=Path, default=None, help="test set for a .npz --data")
    g.add_argument("--test-fraction", type=_fraction, default=None,
                   help="without --test-npz: hold out this fraction of a .npz --data, seeded by --seed "
                        "(default 0.2)")
    g.add_argument("--limit", type=_positive_int, default=None,
                   help="use only the first N training and the first N test samples")
    g.add_argument("--data-root", type=Path, default=None,
                   help="folder of the N-MNIST subset or of the Fashion-MNIST idx files (defaults: the "
                        "library's copy / $LAVA_LOCAL_DATA, /usr/share/datasets/fashion-mnist)")
    g.add_argument("--cache-dir", type=Path, default=None,
                   help="where the aeon wheel with the UEA/UCR sets is (default: $LAVA_LOCAL_DATA/aeon "
                        "or ~/.cache/lava_local/aeon)")
    g.add_argument("--download", action="store_true",
                   help="fetch the aeon wheel with pip if it is missing (ucr: sets)")
    return p


def _network_options() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    g = p.add_argument_group("network")
    g.add_argument("--rule", choices=RULE_CHOICES, default=None,
                   help="hidden layers' rule at its library default: TESS(), STLLR(), STLLR(feedback='bp'), "
                        "LLS() (default tess)")
    g.add_argument("--method", choices=METHOD_CHOICES, default=None,
                   help="local: the rule (LocalTrainer); bptt: BPTTTrainer on the same network; "
                        "readout-only: frozen random hidden layers (default local)")
    g.add_argument("--hidden", type=_hidden_spec, default=None,
                   help="hidden layer sizes, comma-separated; rN is a Recurrent(N) layer; 'none' for "
                        "a read-out only network (default 256)")
    g.add_argument("--gamma", type=float, default=None,
                   help="hidden neurons' leak (default: LIFParams' 0.5; 0.9 for ucr: sets)")
    g.add_argument("--readout-gamma", type=float, default=None,
                   help="read-out leak (default: Network's 0.5; 0.9 for ucr: sets)")
    # lava_local.network.READOUT_INITS, not imported here: --help stays free of Lava's import
    g.add_argument("--readout-init", choices=("auto", "random", "basis"), default=None,
                   help="the read-out's start: random, or the rule's fixed basis (the last hidden layer's "
                        "local classifier; see Network); auto: the basis under a local signal (tess, lls, "
                        "stllr), random otherwise (stllr-bp, --method bptt) (default auto)")
    g.add_argument("--filtered", nargs="?", const="all", choices=tuple(FILTERED_CHOICES), default=None,
                   help="which hidden layers learn with the eligibility, and a local signal's view of the "
                        "spikes, filtered by the read-out's leak (one state per synapse; dense and recurrent "
                        "layers): all (filtered=True; the flag alone), last (the last hidden layer), none, "
                        "or auto (the last hidden layer where it can hold it). Default: the rule's own "
                        "(auto for every rule)")
    g.add_argument("--rate-scale", action="store_true", default=None,
                   help="the local signal's basis scaled by 2 / sqrt(d r) per layer, r the layer's firing rate "
                        "measured before training (SignalParams(scale='rate'); tess, lls, stllr, whose filtered "
                        "last layer keeps the basis over sqrt(d); an option for sparse layers)")
    g.add_argument("--fixed-readout", action="store_true", default=None,
                   help="keep the read-out at its start (Network(readout_learns=False)); at the basis and "
                        "with --filtered, the last hidden layer's local loss is the network's loss")
    g.add_argument("--centred-readout", action="store_true", default=None,
                   help="the read-out integrates its input less its running mean (Network(readout_centred=True)); "
                        "the default for a learning read-out")
    g.add_argument("--plain-readout", dest="centred_readout", action="store_false",
                   help="the read-out integrates the spikes themselves, as in the papers (readout_centred=False)")
    g.add_argument("--seed", type=int, default=None, help="network, shuffle and split seed (default 0)")
    return p


def _trainer_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("trainer")
    g.add_argument("--device", default=None, help="torch device for --backend trainer (default: CUDA if "
                                                  "available, else the CPU)")
    g.add_argument("--batch-size", type=_positive_int, default=None, help="default 32")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Local learning rules (TESS, S-TLLR, LLS) for spiking networks: "
                                            "train, evaluate, benchmark and deploy from the command line.",
                     epilog="Exit codes: 0 ok, 1 a run failed, 2 bad usage or missing data. "
                            f"'{PROG} COMMAND --help' describes each command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version('lava-local')}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of a failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("info", help="versions, GPU, lava-loihi and the data sets found",
                       description="Versions of Python and the libraries, the GPU, lava-loihi, and where "
                                   "the data sets are.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--cache-dir", type=Path, default=None, help="aeon wheel cache to look in")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", parents=[_data_options(), _network_options()],
                       help="train a network and write its history and plots",
                       description="Train a network on a data set with a local rule (or BPTT, or the "
                                   "read-out only), with the batched torch trainer or online in Lava. "
                                   "Writes history.json and plots (accuracy.png, weights.png, raster.png) "
                                   "into --out.")
    g = p.add_argument_group("training")
    g.add_argument("--backend", choices=BACKEND_CHOICES, default="trainer",
                   help="trainer: LocalTrainer/BPTTTrainer (default); lava-float / lava-fixed: "
                        "Network.fit online in Lava's simulator with the float / Loihi fixed-point models "
                        "(local rules only)")
    g.add_argument("--epochs", type=_positive_int, default=None, help="epochs in all, resumed ones "
                                                                       "included (default 5)")
    g.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate: Adam's for the trainer (default 1e-3), the rule's SGD step per time "
                        "step in Lava (default 1e-2 / T for samples of T steps: 1e-3 at N-MNIST's T = 10)")
    g.add_argument("--readout-lr", type=_positive_float, default=None,
                   help="the read-out's rate: its Adam rate in the trainer (default: --lr), its SGD step per "
                        "time step in Lava (default 1e-2 / T, Network's: 1e-3 at T = 10)")
    g.add_argument("--checkpoint", type=Path, default=None, metavar="DIR",
                   help=f"save DIR/{CHECKPOINT_NAME} after every epoch (trainer backend)")
    g.add_argument("--resume", action="store_true",
                   help=f"continue from DIR/{CHECKPOINT_NAME}; network and data options left out are "
                        "taken from it, the learning rule as the network resolved it")
    g.add_argument("--out", type=Path, default=Path("results/cli"), help="output folder (default results/cli)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _trainer_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", parents=[_data_options(), _network_options()],
                       help="test accuracy of a trainer checkpoint",
                       description="Load a checkpoint written by 'train --checkpoint' into a trainer of the "
                                   "network and report its accuracy on the test set. Network and data "
                                   "options left out are taken from the checkpoint.")
    p.add_argument("--checkpoint", type=Path, required=True, metavar="PATH",
                   help=f"the checkpoint file (or its folder, for {CHECKPOINT_NAME})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _trainer_options(p)
    p.set_defaults(func=cmd_eval)

    names = list_benchmarks()
    listing = "\n".join(f"  {name:<22} {doc}" for name, doc in names.items()) if names else (
        f"  (none: {BENCHMARKS_DIR} is missing; lava_local is installed without its repository)")
    p = sub.add_parser("bench", help="run a benchmark script of the repository",
                       description="Run benchmarks/NAME.py with this Python, passing ARGS through; "
                                   "returns its exit code. 'lava-local bench NAME --help' shows the "
                                   "script's own options.",
                       epilog="benchmarks:\n" + listing, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", nargs="?", help="benchmark (file name without .py)")
    p.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="arguments for the script")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("deploy", parents=[_data_options(), _network_options()],
                       help="quantization report, chip fit, cost estimate, netx and NIR files of a network",
                       description="Prepare a trained network for a chip: on the test set of --data (first "
                                   "--limit samples) measure what the conversion to the profile's fixed point "
                                   "costs (quantization report) and what the network would cost on the chip "
                                   "(operations, energy, latency, NeuroBench's metrics), check that it fits and "
                                   "where each layer learns, and write lava-dl's netx HDF5 file and a NIR file. "
                                   "Network and data options left out are taken from the checkpoint. A part "
                                   "the network cannot go through (netx for conv or recurrent layers, the "
                                   "fixed-point run for recurrent layers or analog frames) is skipped with a "
                                   "warning line and the rest is written (exit code 0). Files are written to a "
                                   "temporary folder and moved into --out at the end: a failed run leaves --out "
                                   "as it was.",
                       epilog="Writes into --out: " + ", ".join(DEPLOY_FILES.values()) + " (the summary).")
    p.add_argument("--checkpoint", type=Path, required=True, metavar="PATH",
                   help=f"the network: a checkpoint written by 'train --checkpoint' (the file or its folder, for "
                        f"{CHECKPOINT_NAME}) or a NIR file (.nir, as export_nir writes)")
    p.add_argument("--profile", default="loihi2",
                   help="hardware profile: a shipped name (loihi2, the default) or the path of a .toml file")
    p.add_argument("--headroom", type=_positive_float, default=2.0,
                   help="weight range kept for on-chip learning when quantizing (2, the default: what the "
                        "Lava fixed-point models use; 1: a network deployed frozen)")
    p.add_argument("--out", type=Path, default=Path("results/cli/deploy"),
                   help="output folder (default results/cli/deploy)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_deploy)
    return parser


# ------------------------------------------------------------------------------- helpers


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _emit(args: argparse.Namespace, summary: Dict[str, Any], text: str) -> None:
    """The result: one JSON object with ``--json``, else the text."""
    if getattr(args, "json", False):
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(text)


def _logger(args: argparse.Namespace) -> Callable[[str], None]:
    """Progress lines: stdout, or stderr when stdout carries JSON."""
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout

    def log(message: str) -> None:
        print(message, file=stream, flush=True)

    return log


def _parse_hidden(text: str) -> List[Any]:
    """``"256,128"`` -> ``[256, 128]``; ``"r256"`` -> ``[Recurrent(256)]``; ``"none"`` -> ``[]``."""
    from lava_local.network import Recurrent

    if text.strip().lower() in ("", "none"):
        return []
    layers: List[Any] = []
    for item in text.split(","):
        item = item.strip().lower()
        recurrent = item.startswith("r")
        digits = item[1:] if recurrent else item
        if not digits.isdigit() or int(digits) < 1:
            raise argparse.ArgumentTypeError(f"hidden layers are positive sizes or rN (recurrent), got {item!r} "
                                             f"in {text!r}")
        layers.append(Recurrent(int(digits)) if recurrent else int(digits))
    return layers


def list_benchmarks() -> Dict[str, str]:
    """Benchmark name -> first line of its docstring, from the repository's benchmarks/."""
    if not BENCHMARKS_DIR.is_dir():
        return {}
    names = {}
    for path in sorted(BENCHMARKS_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        except (OSError, SyntaxError, ValueError):
            doc = ""
        names[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return names


def _fill(args: argparse.Namespace, stored: Dict[str, Any], defaults: Dict[str, Any]) -> None:
    """Options left out (None) take the checkpoint's value, else the default."""
    for key, default in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, stored.get(key, default))


def _resolve_options(args: argparse.Namespace, stored: Optional[Dict[str, Any]] = None) -> None:
    stored = stored or {}
    if stored and all(getattr(args, key, None) is None for key in ("rule", "filtered", "rate_scale")):
        # the rule the checkpoint trained with, as its network resolved it: a library default
        # changed since (``filtered="auto"``, the signal's scales) does not change a resumed run
        args.rule_config = stored.get("rule_config") or _legacy_rule_config(stored)
    _fill(args, stored, NETWORK_DEFAULTS)
    _fill(args, stored, DATA_DEFAULTS)
    if getattr(args, "encoding", None) is None and str(args.data).startswith("ucr:"):
        # a checkpoint keeps its set's code; one saved before --encoding ran the delta code,
        # the standard then
        args.encoding = stored.get("encoding", "delta") if stored else UCR_ENCODING_CHOICES[0]
    for key in ("steps", "gamma", "readout_gamma", "limit", "test_npz"):
        if getattr(args, key, None) is None and stored.get(key) is not None:
            setattr(args, key, Path(stored[key]) if key == "test_npz" else stored[key])
    if hasattr(args, "batch_size") and args.batch_size is None:
        args.batch_size = TRAIN_DEFAULTS["batch_size"]


def _config(args: argparse.Namespace) -> Dict[str, Any]:
    """The run's network and data options, as kept in the checkpoint and history.json."""
    keys = ("data", "encoding", "steps", "test_npz", "test_fraction", "limit", "rule", "method", "hidden", "gamma",
            "readout_gamma", "readout_init", "filtered", "rate_scale", "fixed_readout", "centred_readout", "seed")
    values = {k: getattr(args, k, None) for k in keys}
    if not str(values["data"]).endswith(".npz") or values["test_npz"] is not None:
        values["test_fraction"] = None  # no split made
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items() if v is not None}


# ---------------------------------------------------------------------------------- data


@dataclass
class Dataset:
    """Frames ``(N, T, n_in)`` and labels of both splits, and what they are."""

    name: str
    train: Tuple[np.ndarray, np.ndarray]
    test: Tuple[np.ndarray, np.ndarray]
    n_classes: int
    network: Dict[str, Any] = field(default_factory=dict)  # the data set's network defaults
    description: str = ""

    @property
    def n_in(self) -> int:
        return int(self.train[0].shape[2])


def _split(frames: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    if len(labels) < 2:
        raise UsageError(f"cannot split {len(labels)} sample(s) into a training and a test set: give --test-npz")
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = min(len(labels) - 1, max(1, int(round(fraction * len(labels)))))
    test, train = order[:n_test], order[n_test:]
    return (frames[train], labels[train]), (frames[test], labels[test])


def load_data(args: argparse.Namespace) -> Dataset:
    """The data set ``--data`` names, with its test split, limited to ``--limit`` samples."""
    spec, limit = str(args.data), args.limit
    if args.test_npz is not None and not spec.endswith(".npz"):
        raise UsageError("--test-npz goes with a .npz --data")
    code = getattr(args, "encoding", None)  # absent from namespaces saved before the option
    if code is not None and not spec.startswith("ucr:"):
        raise UsageError("--encoding goes with a ucr: set (the other sets come encoded)")
    if spec.startswith("ucr:") and args.steps is not None:
        raise UsageError("--steps does not apply to ucr: sets (T follows the series, averaged as in "
                         "benchmarks/temporal.py)")
    if spec == "nmnist":
        from lava_local.data import NMNISTSubset

        steps = args.steps or DEFAULT_STEPS["nmnist"]
        splits = []
        for split in ("train", "test"):
            subset = NMNISTSubset(split, root=args.data_root)
            splits.append(subset.dense(steps, range(min(limit or len(subset), len(subset)))))
        return Dataset("nmnist", splits[0], splits[1], 10,
                       description=f"N-MNIST 1k/100 subset ({splits[0][1].size}/{splits[1][1].size}), T = {steps}")
    if spec == "fashion":
        from lava_local.data import load_fashion_mnist_spikes

        steps = args.steps or DEFAULT_STEPS["fashion"]
        train, test = (load_fashion_mnist_spikes(split, "direct", n_steps=steps, n_samples=limit, root=args.data_root)
                       for split in ("train", "test"))
        return Dataset("fashion", train, test, 10,
                       description=f"Fashion-MNIST ({train[1].size}/{test[1].size}), direct encoding, T = {steps}")
    if spec.startswith("ucr:"):
        name = spec[4:]
        if not name:
            raise UsageError("--data ucr:NAME needs a set name, e.g. ucr:BasicMotions")
        from lava_local.data import load_uea_ucr
        from lava_local.data.timeseries import encode_ucr_pair

        try:
            train_set, test_set = load_uea_ucr(name, cache_dir=args.cache_dir, download=args.download)
        except FileNotFoundError as error:
            if args.download:
                raise
            raise FileNotFoundError(f"{error} (lava-local: add --download to fetch it)") from None
        train, test, encoding = encode_ucr_pair(train_set, test_set, **({"encoder": code} if code else {}))
        n_classes = len(train_set.class_names)
        if limit:
            train, test = (train[0][:limit], train[1][:limit]), (test[0][:limit], test[1][:limit])
        return Dataset(spec, train, test, n_classes, network=dict(UCR_NETWORK),
                       description=f"UEA/UCR {name} ({train[1].size}/{test[1].size}), {encoding['encoder']} encoded, "
                                   f"{train[0].shape[2]} inputs, T = {encoding['n_steps']}")
    path = Path(spec)
    if path.suffix != ".npz":
        raise UsageError(f"unknown data set {spec!r}: give nmnist, fashion, ucr:NAME or a path to a .npz file")
    from lava_local.data import load_npz_dataset

    frames, labels = load_npz_dataset(path, n_steps=args.steps)
    if args.test_npz is not None:
        train, test = (frames, labels), load_npz_dataset(args.test_npz, n_steps=args.steps)
    else:
        train, test = _split(frames, labels, args.test_fraction, args.seed)
    if train[0].shape[2:] != test[0].shape[2:]:
        raise UsageError(f"training frames have {train[0].shape[2]} inputs, test frames {test[0].shape[2]}")
    if limit:
        train, test = (train[0][:limit], train[1][:limit]), (test[0][:limit], test[1][:limit])
    n_classes = max(2, int(max(train[1].max(), test[1].max())) + 1)
    return Dataset(str(path), train, test, n_classes,
                   description=f"{path.name} ({train[1].size}/{test[1].size}), T = {train[0].shape[1]}")


# ------------------------------------------------------------------------------- network


def make_rule(name: str, filtered: Union[str, bool, None] = None, rate_scale: bool = False):
    """The rule ``--rule name`` at its library default; ``filtered`` a ``--filtered`` choice
    (a checkpoint written before the choices holds a bool: ``filtered=True`` or ``False``),
    ``None`` keeping the rule's own."""
    from lava_local.rules import LLS, STLLR, TESS

    rule = {"tess": TESS, "stllr": STLLR, "stllr-bp": lambda: STLLR(feedback="bp"), "lls": LLS}[name]()
    if rate_scale:
        rule = rule.with_(signal=replace(rule.signal, scale="rate"))
    if filtered is None:
        return rule
    return rule.with_(filtered=filtered if isinstance(filtered, bool) else FILTERED_CHOICES[filtered])


def _legacy_rule_config(stored: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The rule of a checkpoint written before the resolved rule was kept (``rule_config``),
    where the library's default has changed since: S-TLLR's local signal (``--rule stllr``)
    resolved ``"auto"`` to unfiltered and kept the +-1 basis on a filtered layer. ``None``
    where the options rebuild the rule it trained with."""
    from lava_local.interchange import rule_config
    from lava_local.kernels.learning_signal import AS_SCALE

    if stored.get("rule") != "stllr":
        return None
    filtered = stored.get("filtered", NETWORK_DEFAULTS["filtered"])
    rule = make_rule("stllr", "none" if filtered == "auto" else filtered, bool(stored.get("rate_scale")))
    return rule_config(rule.with_(signal=replace(rule.signal, filtered_scale=AS_SCALE)))


def filtered_choice(name: str) -> str:
    """The ``--filtered`` choice of rule ``name``'s library default."""
    value = make_rule(name).filtered
    return next(choice for choice, v in FILTERED_CHOICES.items() if v == value)


def build_network(args: argparse.Namespace, data: Dataset, lava: bool = False):
    """The ``Network`` of the options (the data set supplies its own leak defaults). With
    ``lava``, ``--lr`` and ``--readout-lr`` are the Lava models' SGD steps per time step;
    without them the network keeps its default steps per sample, resolved with the data's T
    (:meth:`~lava_local.network.Network.rule_for`, :meth:`~lava_local.network.Network.readout_lr_for`).
    The trainer gives its optimisers the rates instead."""
    from lava_local.kernels.neuron import LIFParams
    from lava_local.network import Network

    stored_rule = getattr(args, "rule_config", None)  # a resumed run's (_resolve_options)
    if stored_rule is not None:
        from lava_local.interchange import rule_from_config

        rule = rule_from_config(stored_rule)
    else:
        rule = make_rule(args.rule, args.filtered, args.rate_scale)
    extra = {}
    if lava and args.lr is not None:
        rule = rule.with_(lr=args.lr)
    if lava and args.readout_lr is not None:
        extra["readout_lr"] = args.readout_lr
    gamma = args.gamma if args.gamma is not None else data.network.get("gamma")
    readout_gamma = args.readout_gamma if args.readout_gamma is not None else data.network.get("readout_gamma")
    if readout_gamma is not None:
        extra["readout_gamma"] = readout_gamma
    neuron = LIFParams() if gamma is None else replace(LIFParams(), gamma=gamma)
    # BPTT learns no local signal, so "auto" starts its read-out at random, as BPTT baselines start
    readout_init = "random" if args.method == "bptt" and args.readout_init == "auto" else args.readout_init
    return Network(data.n_in, hidden=_parse_hidden(args.hidden), n_classes=data.n_classes, rule=rule,
                   neuron=neuron, frozen=(args.method == "readout-only"), readout_init=readout_init,
                   readout_learns=not args.fixed_readout, readout_centred=args.centred_readout, seed=args.seed,
                   **extra)


def make_trainer(args: argparse.Namespace, net, lr: float = 1e-3):
    try:
        import torch
    except ImportError:
        raise UsageError("the trainer needs torch: pip install 'lava-local[torch]'") from None
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    torch.manual_seed(args.seed)
    cls = BPTTTrainer if args.method == "bptt" else LocalTrainer
    readout_lr = getattr(args, "readout_lr", None)
    rates = lr if readout_lr is None else [lr] * (len(net.weights) - 1) + [readout_lr]
    return cls(net, device=args.device, optimizer="adam", lr=rates)


def _checkpoint_file(path: Path) -> Path:
    return path / CHECKPOINT_NAME if path.is_dir() else path


def _stored_options(path: Path) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(options, extra)`` the CLI kept in a checkpoint (empty for other checkpoints)."""
    from lava_local.trainer.checkpoint import read_checkpoint

    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    extra = read_checkpoint(path).get("extra") or {}
    return dict(extra.get("cli") or {}), extra


# --------------------------------------------------------------------------------- plots


def _figure(width: float, height: float):
    """A matplotlib figure drawn by Agg without pyplot (no global backend state), or None."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure(figsize=(width, height))


def plot_accuracy(path: Path, epochs: List[Dict[str, Any]], title: str) -> Optional[Path]:
    fig = _figure(5, 3.5)
    if fig is None:
        return None
    ax = fig.add_subplot()
    x = [e["epoch"] for e in epochs]
    ax.plot(x, [e["test_accuracy"] for e in epochs], "o-", label="test")
    ax.plot(x, [e["train_accuracy"] for e in epochs], "s--", label="train")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title=title, xticks=x)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_weights(path: Path, before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> Optional[Path]:
    fig = _figure(3.2 * len(after), 3.0)
    if fig is None:
        return None
    axes = fig.subplots(1, len(after), squeeze=False)[0]
    for i, (ax, w0, w1) in enumerate(zip(axes, before, after)):
        values = np.concatenate([np.ravel(w0), np.ravel(w1)])
        values = values[np.isfinite(values)]
        bins = np.linspace(values.min(), values.max(), 60) if values.size and values.min() < values.max() else 60
        ax.hist(np.ravel(w0), bins=bins, alpha=0.6, label="before")
        ax.hist(np.ravel(w1), bins=bins, alpha=0.6, label="after")
        name = "read-out" if i == len(after) - 1 else f"hidden {i}"
        ax.set(title=f"{name} {tuple(np.shape(w1))}", xlabel="weight")
    axes[0].set_ylabel("count")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_raster(path: Path, spikes: np.ndarray, label: int, title: str) -> Optional[Path]:
    fig = _figure(6, 3.5)
    if fig is None:
        return None
    ax = fig.add_subplot()
    t, i = np.nonzero(spikes)
    ax.scatter(t, i, s=4, c="tab:blue")
    ax.set(xlabel="time step", ylabel="neuron", xlim=(-0.5, spikes.shape[0] - 0.5), ylim=(-1, spikes.shape[1]),
           title=f"{title}: first hidden layer, test sample 0 (label {label})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def record_first_layer(net, data: Dataset, backend: str) -> Tuple[Optional[np.ndarray], str]:
    """Spikes ``(T, n)`` of the first hidden layer on test sample 0, or ``(None, why not)``.

    The trainers expose no per-step spikes; for their networks the library's NumPy mirror of
    the Lava network (``lava_local.reference.reference_run``, the same kernels, no learning)
    records them; the Lava backends record them in Lava (``Network.record``)."""
    if not net.hidden:
        return None, "no raster: the network has no hidden layer"
    x, y = data.test[0][0], int(data.test[1][0])
    if backend.startswith("lava-"):
        return net.record(x, y, numeric=backend[len("lava-"):])[0], ""
    if any(net.recurrent):
        return None, "no raster: recurrent layers have no per-step spike record outside the trainer"
    from lava_local.reference import reference_run

    _, _, spikes = reference_run(net, x[None], np.array([y]), [0], [False], numeric="float")
    return np.asarray(spikes[0]).reshape(x.shape[0], -1), ""


# ----------------------------------------------------------------------------- commands


def cmd_info(args: argparse.Namespace) -> int:
    """Versions, GPU, lava-loihi and where the data sets are."""
    import lava_local
    from lava_local.data import default_aeon_cache, find_fashion_mnist_files, find_nmnist_subset
    from lava_local.data.timeseries import AEON_WHEEL

    info: Dict[str, Any] = {"lava_local": lava_local.__version__,
                            "python": sys.version.split()[0], "executable": sys.executable}
    info["packages"] = {name: _version(name) for name in VERSION_PACKAGES}
    gpu: Dict[str, Any] = {"available": False, "name": None}
    if info["packages"]["torch"] != "not installed":
        try:
            import torch

            gpu["available"] = bool(torch.cuda.is_available())
            gpu["name"] = torch.cuda.get_device_name(0) if gpu["available"] else None
        except Exception as error:  # noqa: BLE001  (a broken CUDA set-up is information too)
            gpu["error"] = _one_line(error)
    info["gpu"] = gpu
    try:
        nc = importlib.util.find_spec("lava.magma.compiler.subcompilers.nc") is not None
    except (ImportError, ValueError):
        nc = False
    info["lava_loihi"] = nc or _version("lava-loihi") != "not installed"
    try:
        info["nmnist_subset"] = str(find_nmnist_subset())
    except FileNotFoundError:
        info["nmnist_subset"] = None
    try:
        files = find_fashion_mnist_files()
        info["fashion_mnist"] = {"present": True, "folder": str(next(iter(files.values())).parent)}
    except FileNotFoundError as error:
        info["fashion_mnist"] = {"present": False, "error": _one_line(error)}
    cache = args.cache_dir if args.cache_dir is not None else default_aeon_cache()
    info["aeon"] = {"cache": str(cache), "wheel": AEON_WHEEL, "present": (cache / AEON_WHEEL).is_file()}

    lines = [f"lava-local {info['lava_local']} (Python {info['python']}, {info['executable']})"]
    lines += [f"  {name:<8} {version}" for name, version in info["packages"].items()]
    if gpu["available"]:
        lines.append(f"GPU: {gpu['name']}")
    else:
        lines.append("GPU: none" + (f" ({gpu['error']})" if "error" in gpu else ""))
    lines.append("lava-loihi: " + ("present" if info["lava_loihi"] else "not installed (Loihi 2 needs Intel's "
                                                                          "lava-loihi, on INRC)"))
    lines.append(f"N-MNIST subset: {info['nmnist_subset'] or 'not found'}")
    fm = info["fashion_mnist"]
    lines.append(f"Fashion-MNIST: {fm['folder'] if fm['present'] else 'not found (apt install dataset-fashion-mnist)'}")
    fetch = "missing (lava-local train --data ucr:NAME --download fetches it)"
    lines.append(f"aeon wheel (UEA/UCR): {cache / AEON_WHEEL} {'present' if info['aeon']['present'] else fetch}")
    _emit(args, info, "\n".join(lines))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train with the trainer or in Lava; write history.json and plots; print a summary."""
    from lava_local.interchange import rule_config

    log = _logger(args)
    lava = args.backend.startswith("lava-")
    stored: Dict[str, Any] = {}
    resume_extra: Dict[str, Any] = {}
    checkpoint = args.checkpoint / CHECKPOINT_NAME if args.checkpoint is not None else None
    if args.resume:
        if checkpoint is None:
            raise UsageError("--resume needs --checkpoint DIR")
        stored, resume_extra = _stored_options(checkpoint)
    elif checkpoint is not None and checkpoint.exists():
        raise UsageError(f"{checkpoint} exists: add --resume to continue that run, or give another --checkpoint "
                         "DIR (a fresh run never replaces a saved one)")
    if not args.resume and args.centred_readout is None:  # the network's default, recorded in the checkpoint
        args.centred_readout = not args.fixed_readout
    if not args.resume and args.filtered is None:  # the rule's default, likewise
        args.filtered = filtered_choice(args.rule or NETWORK_DEFAULTS["rule"])
    _resolve_options(args, stored)
    if args.centred_readout and args.fixed_readout:
        raise UsageError("--centred-readout centres a learning read-out; --fixed-readout keeps it at its start")
    epochs = args.epochs or TRAIN_DEFAULTS["epochs"]
    lr, readout_lr = args.lr or TRAIN_DEFAULTS["lr"], args.readout_lr
    if lava:
        _check_lava_options(args)
    if args.rate_scale and (args.rule == "stllr-bp" or args.method != "local"):
        raise UsageError("--rate-scale scales a local signal's basis: give --rule tess, lls or stllr with "
                         "--method local")
    data = load_data(args)
    if lava and not _is_spikes(data):
        raise UsageError(f"{data.name}'s frames are analog (not whole spike counts): the Lava backends play "
                         "spikes; use --backend trainer")
    net = build_network(args, data, lava=lava)
    if lava:  # the steps the Lava models take per time step, as the config records them
        steps = data.train[0].shape[1]
        lr, readout_lr = net.rule_for(steps).lr, net.readout_lr_for(steps)
    if lava and any(net.recurrent):
        raise UsageError("Recurrent layers run in the trainer: use --backend trainer")
    initial = [w.copy() for w in net.weights]
    learning = {"local": args.rule, "bptt": "BPTT", "readout-only": "read-out only"}[args.method]
    log(f"{data.description}; network {data.n_in} -> {' -> '.join(map(str, net.hidden)) or '(none)'} -> "
        f"{data.n_classes}, {learning}, backend {args.backend}")
    args.out.mkdir(parents=True, exist_ok=True)
    config = dict(_config(args), rule_config=rule_config(net.rule), backend=args.backend, epochs=epochs, lr=lr,
                  readout_lr=readout_lr, **({} if lava else {"batch_size": args.batch_size}))
    trainer_info: Dict[str, Any] = {"notes": []}
    trainer, generator, first, previous = None, None, 0, []
    if not lava:
        trainer = make_trainer(args, net, lr)
        generator = np.random.default_rng(args.seed)
        if args.resume:  # a checkpoint of another network is refused here (exit 2), before any training
            from lava_local.trainer import load_checkpoint

            first = load_checkpoint(checkpoint, trainer, generator=generator)["epoch"]
            previous = [dict(e) for e in resume_extra.get("history", [])][:first]
            log(f"resumed from {checkpoint} at epoch {first}")
            if first >= epochs:
                trainer_info["notes"].append(f"the checkpoint is at epoch {first} already (--epochs {epochs}): "
                                             "nothing to train")
    start = time.perf_counter()
    try:
        if lava:
            history, collapse = _train_lava(args, net, data, epochs, log), None
        else:
            history, collapse, run_info = _train_trainer(args, trainer, data, epochs, first, previous, generator,
                                                         checkpoint, config, log)
            trainer_info.update(run_info)
            trainer.sync_to_network()
    except (ValueError, TypeError, FileNotFoundError) as error:  # not bad usage: the run itself failed
        if args.traceback:
            raise
        raise RunFailed(f"{type(error).__name__}: {error}") from error
    seconds = time.perf_counter() - start

    notes: List[str] = list(trainer_info["notes"])
    files = write_outputs(args.out, net, data, initial, history, collapse, config, f"{learning} on {data.name}",
                          args.backend, notes)
    if "checkpoint" in trainer_info:
        files["checkpoint"] = trainer_info["checkpoint"]

    last = history[-1] if history else {}
    summary = {"status": "collapsed" if collapse else "ok", "final_test_accuracy": last.get("test_accuracy"),
               "final_train_accuracy": last.get("train_accuracy"), "epochs": len(history),
               "epochs_this_run": trainer_info.get("epochs_run", len(history)), "seconds": round(seconds, 3),
               "out": str(args.out), "files": files, "notes": notes, "config": config, "data": data.description}
    if collapse:
        summary["error"] = collapse
    text = [f"final test accuracy {last['test_accuracy']:.4f} after {len(history)} epoch(s)" if history
            else "no epoch completed", f"time {seconds:.1f} s", f"files in {args.out}: "
            + ", ".join(Path(p).name for k, p in files.items() if k != "checkpoint")]
    if "checkpoint" in files:
        text.append(f"checkpoint {files['checkpoint']}")
    text += [f"note: {n}" for n in notes]
    _emit(args, summary, "\n".join(text))
    if collapse:
        raise RunFailed(f"training collapsed: {collapse}")
    return 0


def write_outputs(out: Path, net, data: Dataset, initial: List[np.ndarray], history: List[Dict[str, Any]],
                  collapse: Optional[str], config: Dict[str, Any], title: str, backend: str,
                  notes: List[str]) -> Dict[str, str]:
    """history.json and the plots (accuracy, weights before/after, raster) in ``out``;
    returns what was written (name -> path) and adds to ``notes`` what was not."""
    history_path = out / "history.json"
    history_path.write_text(json.dumps({"config": config, "data": data.description, "epochs": history,
                                        "collapse": collapse}, indent=2))
    files = {"history": str(history_path)}
    if _figure(1, 1) is None:
        notes.append("no plots: matplotlib is not installed (pip install 'lava-local[plot]')")
        return files
    plotted = [plot_accuracy(out / "accuracy.png", history, title) if history else None,
               plot_weights(out / "weights.png", initial, net.weights)]
    if collapse is None:  # a collapsed network's raster shows nothing worth a Lava run
        spikes, why = record_first_layer(net, data, backend)
        if spikes is not None:
            plotted.append(plot_raster(out / "raster.png", spikes, int(data.test[1][0]), title))
        elif why:
            notes.append(why)
    files.update({path.stem: str(path) for path in plotted if path is not None})
    return files


def _check_lava_options(args: argparse.Namespace) -> None:
    if args.method == "bptt":
        raise UsageError("--method bptt runs in the trainer: use --backend trainer")
    if args.rule == "stllr-bp":
        raise UsageError("S-TLLR's back-propagated signal (stllr-bp) runs in the trainer: use --backend trainer "
                         "or a local rule")
    if args.checkpoint is not None or args.resume:
        raise UsageError("--checkpoint and --resume are for --backend trainer (a Lava run is one schedule)")


def _is_spikes(data: Dataset) -> bool:
    frames = [data.train[0], data.test[0]]
    return all(f.dtype.kind in "iub" or bool(np.all(f == np.round(f))) for f in frames)


def _progress(args: argparse.Namespace, **kwargs):
    """A tqdm bar when tqdm imports, stdout is a terminal and bars are wanted; else None."""
    if args.no_progress or not sys.stdout.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(**kwargs)


def _train_trainer(args, trainer, data: Dataset, epochs: int, first: int, history: List[Dict[str, Any]],
                   generator: np.random.Generator, checkpoint: Optional[Path], config: Dict[str, Any], log):
    """Epochs ``first + 1 .. epochs`` with LocalTrainer/BPTTTrainer, appended to ``history``;
    returns ``(history, collapse message or None, info)``."""
    from lava_local.trainer import TrainingCollapse, save_checkpoint

    info: Dict[str, Any] = {}
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        info["checkpoint"] = str(checkpoint)
    (x, y), (x_test, y_test) = data.train, data.test
    epoch_bar = _progress(args, total=epochs, initial=first, desc="epochs", unit="epoch")
    batch_bar = _progress(args, total=math.ceil(len(y) / args.batch_size), desc="batches", unit="batch",
                          leave=False)
    if batch_bar is not None:  # count batches as the trainer's fit_epoch takes them
        step = trainer.train_step

        def train_step(xb, yb):
            scores = step(xb, yb)
            batch_bar.update(1)
            return scores

        trainer.train_step = train_step
    collapse = None
    try:
        for epoch in range(first, epochs):
            if batch_bar is not None:
                batch_bar.reset()
            start = time.perf_counter()
            try:
                train_accuracy = trainer.fit_epoch(x, y, batch_size=args.batch_size, generator=generator)
            except TrainingCollapse as error:
                collapse = f"epoch {epoch + 1}: {error}"
                break
            seconds = time.perf_counter() - start
            rates = [float(r) for r in getattr(trainer, "last_firing_rates", [])]
            test_accuracy = trainer.evaluate(x_test, y_test)
            history.append({"epoch": epoch + 1, "train_accuracy": float(train_accuracy),
                            "test_accuracy": float(test_accuracy), "seconds": round(seconds, 4),
                            "firing_rates": rates})
            if checkpoint is not None:  # only a healthy epoch is saved (atomically, by save_checkpoint)
                save_checkpoint(checkpoint, trainer, epoch + 1, generator=generator,
                                extra={"cli": config, "history": history})
            line = (f"epoch {epoch + 1}/{epochs}: train {train_accuracy:.4f}, test {test_accuracy:.4f}, "
                    f"{seconds:.1f} s, firing rates " + ", ".join(f"{r:.3f}" for r in rates))
            if epoch_bar is not None:
                epoch_bar.update(1)
                epoch_bar.write(line)
            else:
                log(line)
    finally:
        for bar in (batch_bar, epoch_bar):
            if bar is not None:
                bar.close()
    info["epochs_run"] = len(history) - min(first, len(history))
    return history, collapse, info


def _train_lava(args, net, data: Dataset, epochs: int, log) -> List[Dict[str, Any]]:
    """All epochs online in Lava (one schedule); firing rates are not measured there."""
    numeric = args.backend[len("lava-"):]

    def report(epoch: int, h) -> None:
        log(f"epoch {epoch + 1}/{epochs}: train {h.train_accuracy[epoch]:.4f} (online), "
            f"test {h.test_accuracy[epoch]:.4f}, {h.epoch_seconds[epoch]:.1f} s")

    show = not args.no_progress and sys.stdout.isatty()
    h = net.fit(data.train, data.test, epochs=epochs, numeric=numeric, progress=show, on_epoch=report)
    return [{"epoch": e + 1, "train_accuracy": h.train_accuracy[e], "test_accuracy": h.test_accuracy[e],
             "seconds": round(h.epoch_seconds[e], 4) if e < len(h.epoch_seconds) else None, "firing_rates": None}
            for e in range(epochs)]


def cmd_eval(args: argparse.Namespace) -> int:
    """Accuracy of a trainer checkpoint on the test set."""
    from lava_local.trainer import load_checkpoint

    path = _checkpoint_file(args.checkpoint)
    stored, _ = _stored_options(path)
    _resolve_options(args, stored)
    data = load_data(args)
    net = build_network(args, data)
    trainer = make_trainer(args, net)
    epoch = load_checkpoint(path, trainer)["epoch"]
    start = time.perf_counter()
    accuracy = float(trainer.evaluate(*data.test, batch_size=100))
    summary = {"accuracy": accuracy, "n_test": int(data.test[1].size), "checkpoint": str(path), "epoch": epoch,
               "seconds": round(time.perf_counter() - start, 3), "data": data.description, "config": _config(args)}
    _emit(args, summary, f"test accuracy {accuracy:.4f} on {data.test[1].size} samples ({data.description}); "
                         f"checkpoint {path} at epoch {epoch}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run benchmarks/NAME.py with this Python; its exit code is ours."""
    names = list_benchmarks()
    if not names:
        raise UsageError(f"no benchmarks: {BENCHMARKS_DIR} is missing (lava_local is installed without its "
                         "repository; clone the repository and install it with pip install -e)")
    if args.name not in names:
        what = f"unknown benchmark {args.name!r}" if args.name else "name a benchmark"
        raise UsageError(f"{what}; available: {', '.join(names)}")
    command = [sys.executable, str(BENCHMARKS_DIR / f"{args.name}.py"), *args.args]
    try:
        return subprocess.run(command).returncode
    except KeyboardInterrupt:
        return 130


def _deploy_network(args: argparse.Namespace):
    """``(network, data, source info)`` of ``deploy --checkpoint``: a trainer checkpoint's
    trained network (options from the checkpoint) or a NIR file's network."""
    path = args.checkpoint
    if path.suffix == ".nir":
        if not path.is_file():
            raise UsageError(f"NIR file not found: {path}")
        try:
            from lava_local.interchange import import_nir

            net = import_nir(path)
        except ImportError as error:
            raise UsageError(f"reading a NIR file needs the nir package: pip install 'lava-local[nir]' ({error})")
        except (ValueError, KeyError, OSError) as error:
            raise UsageError(f"{path} is not a NIR file of a network lava_local reads: {_one_line(error)}") from None
        _resolve_options(args, {})
        data = load_data(args)
        if (net.n_in, net.n_classes) != (data.n_in, data.n_classes):
            raise UsageError(f"{path}'s network takes {net.n_in} inputs and {net.n_classes} classes, {data.name} "
                             f"has {data.n_in} inputs and {data.n_classes} classes")
        return net, data, {"checkpoint": str(path), "format": "nir"}
    from lava_local.trainer import load_checkpoint

    path = _checkpoint_file(path)
    stored, _ = _stored_options(path)
    _resolve_options(args, stored)
    data = load_data(args)
    net = build_network(args, data)
    trainer = make_trainer(replace_namespace(args, device="cpu"), net)  # the reports run in NumPy
    epoch = load_checkpoint(path, trainer)["epoch"]
    trainer.sync_to_network()
    return net, data, {"checkpoint": str(path), "format": "trainer checkpoint", "epoch": epoch,
                       "config": _config(args)}


def replace_namespace(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    """A copy of ``args`` with ``changes``."""
    return argparse.Namespace(**{**vars(args), **changes})


def _skipped_part(error: BaseException) -> str:
    """Why a part of ``deploy`` was skipped, in one line."""
    if isinstance(error, ImportError):
        return f"{_one_line(error)} (pip install 'lava-local[all]')"
    return _one_line(error)


def _deploy_parts(net, data: Dataset, hw, headroom: float, folder: Path, log) -> Tuple[Dict[str, Any], Dict[str, str],
                                                                                        List[str]]:
    """Write the reports and network files into ``folder``; returns ``(results, skipped
    part -> why, notes)``. A part the network cannot go through (the library raises
    ``ValueError``, or a package is missing) is skipped; anything else propagates."""
    import warnings

    from lava_local.cost_estimate import estimate_cost
    from lava_local.hw_profile import check_fit
    from lava_local.quantization_report import quantization_report

    results: Dict[str, Any] = {}
    skipped: Dict[str, str] = {}
    notes: List[str] = []

    def write(key: str, text: str) -> None:
        (folder / DEPLOY_FILES[key]).write_text(text)

    fit = check_fit(net, hw)
    write("fit_md", fit.to_markdown())
    write("fit_json", fit.to_json())
    results["fit"] = fit
    n_test = int(data.test[1].size)
    if not _is_spikes(data):
        skipped["quantization"] = skipped["cost"] = (
            f"{data.name}'s frames are analog (not whole spike counts): the fixed-point models take spike counts")
    else:
        log(f"quantization report: float and fixed-point runs on {n_test} test samples")
        try:
            report = quantization_report(net, data.test, hw, headroom=headroom)
        except ValueError as error:
            skipped["quantization"] = skipped["cost"] = _skipped_part(error)
        else:
            write("quantization_md", report.to_markdown())
            write("quantization_json", report.to_json())
            results["quantization"] = report
            try:
                cost = estimate_cost(net, profile=hw, activity=report.activity, headroom=headroom)
            except ValueError as error:
                skipped["cost"] = _skipped_part(error)
            else:
                write("cost_md", cost.to_markdown())
                write("cost_json", cost.to_json())
                results["cost"] = cost
    try:
        from lava_local.export import export_netx

        results["netx_scale"] = export_netx(net, folder / DEPLOY_FILES["netx"])
        if net.neuron.reset != "zero":
            notes.append("netx: Loihi's LIF resets to zero, the network was trained with the subtractive reset "
                         "(train with LIFParams(reset='zero') to deploy exactly)")
    except (ValueError, ImportError) as error:
        skipped["netx"] = _skipped_part(error)
    try:
        from lava_local.interchange import export_nir

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export_nir(net, folder / DEPLOY_FILES["nir"])
        notes += [f"nir: {_one_line(w.message)}" for w in caught]
    except (ValueError, ImportError) as error:
        skipped["nir"] = _skipped_part(error)
    return results, skipped, notes


def _deploy_summary(net, source: Dict[str, Any], data: Dataset, hw, results: Dict[str, Any]) -> Dict[str, Any]:
    summary: Dict[str, Any] = {
        "status": "ok", **source, "profile": hw.name, "profile_source": hw.source, "data": data.description,
        "samples": int(data.test[1].size), "layers": [int(net.n_in), *map(int, net.hidden), int(net.n_classes)],
        "rule": getattr(net.rule, "name", type(net.rule).__name__)}
    fit = results["fit"]
    summary["fit"] = {"fits": fit.fits, "cores": fit.cores, "neurons": fit.neurons, "synapses": fit.synapses,
                      **{f"learning_{where}": fit.learning_on(where) for where in ("chip", "host", "none")}}
    report = results.get("quantization")
    if report is not None:
        summary["quantization"] = {
            "float_accuracy": report.float_accuracy, "fixed_accuracy": report.fixed_accuracy,
            "accuracy_drop_points": report.accuracy_drop, "agreement": report.agreement,
            "weights": sum(layer.weights for layer in report.layers),
            "saturated_weights": sum(layer.saturated_weights for layer in report.layers),
            "zero_weights": sum(layer.zero_weights for layer in report.layers)}
    cost = results.get("cost")
    if cost is not None:
        summary["cost"] = {"energy_per_sample_uj": cost.energy_per_sample_uj,
                           "latency_per_sample_ms": cost.latency_per_sample_ms,
                           "learning_energy_per_sample_uj": cost.learning_energy_per_sample_uj,
                           "neurobench": vars(cost.neurobench), "notes": cost.notes}
    if "netx_scale" in results:
        summary["netx"] = {"scale": results["netx_scale"], "layers": len(net.weights) + 1}  # with the input layer
    return summary


def _deploy_text(summary: Dict[str, Any], skipped: Dict[str, str], notes: List[str]) -> List[str]:
    """The terminal summary of ``deploy`` (the files and warnings are added by the caller)."""
    where = summary["fit"]
    lines = [f"network {' -> '.join(map(str, summary['layers']))} ({summary['rule']}) from {summary['checkpoint']}"
             + (f" (epoch {summary['epoch']})" if "epoch" in summary else "")
             + f"; profile {summary['profile']}; {summary['samples']} test samples of {summary['data']}",
             f"fit: {where['neurons']} neurons, {where['synapses']} synapses, about {where['cores']} neuro-cores: "
             + ("fits on one chip" if where["fits"] else "does NOT fit on one chip")
             + f"; learning on chip: {', '.join(where['learning_chip']) or 'none'}; on the host: "
             + f"{', '.join(where['learning_host']) or 'none'}"
             + (f"; frozen: {', '.join(where['learning_none'])}" if where["learning_none"] else "")]
    q = summary.get("quantization")
    if q is not None:
        lines.append(f"quantization: float accuracy {q['float_accuracy']:.4f}, fixed point {q['fixed_accuracy']:.4f} "
                     f"({-q['accuracy_drop_points']:+.2f} points), same prediction on {100 * q['agreement']:.1f} %; "
                     f"{q['saturated_weights']} of {q['weights']} weights saturated, {q['zero_weights']} rounded to 0")
    c = summary.get("cost")
    if c is not None:
        learning = c["learning_energy_per_sample_uj"]
        lines.append(f"cost estimate: {c['energy_per_sample_uj']:.3g} uJ and {c['latency_per_sample_ms']:.3g} ms per "
                     "sample (inference)" + ("" if learning is None else f", {learning:.3g} uJ per learning sample")
                     + f"; per-operation figures from {summary['profile_source']}")
    return lines + [f"note: {n}" for n in notes]


def cmd_deploy(args: argparse.Namespace) -> int:
    """Quantization report, fit, cost estimate, netx and NIR files of a trained network."""
    import shutil
    import tempfile

    from lava_local.hw_profile import load_profile

    log = _logger(args)
    try:
        hw = load_profile(args.profile)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file, not a folder")
    net, data, source = _deploy_network(args)
    log(f"{data.description}; network {' -> '.join(map(str, [net.n_in, *net.hidden, net.n_classes]))}; "
        f"profile {hw.name}")
    start = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.deploy-", dir=args.out.parent))
    try:
        try:
            results, skipped, notes = _deploy_parts(net, data, hw, args.headroom, folder, log)
        except (ValueError, TypeError) as error:  # not bad usage: the run itself failed
            if args.traceback:
                raise
            raise RunFailed(f"{type(error).__name__}: {error}") from error
        summary = _deploy_summary(net, source, data, hw, results)
        names = [name for key, name in DEPLOY_FILES.items() if (folder / name).is_file() or key == "summary"]
        files = {key: str(args.out / name) for key, name in DEPLOY_FILES.items() if name in names}
        stale = [str(args.out / name) for name in DEPLOY_FILES.values() if name not in names
                 and (args.out / name).exists()]
        summary.update(seconds=round(time.perf_counter() - start, 3), out=str(args.out), files=files,
                       skipped=skipped, notes=notes, stale=stale, headroom=args.headroom)
        (folder / DEPLOY_FILES["summary"]).write_text(json.dumps(summary, indent=2, default=str))
        args.out.mkdir(parents=True, exist_ok=True)
        for name in names:  # every part is written: now they replace the files of an earlier run
            os.replace(folder / name, args.out / name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = _deploy_text(summary, skipped, notes)
    text += [f"warning: {part} not written: {why}" for part, why in skipped.items()]
    text += [f"warning: {path} is an earlier run's (this run skipped it)" for path in stale]
    text += [f"files in {args.out}:"] + [f"  {Path(path).name}" for path in files.values()]
    _emit(args, summary, "\n".join(text))
    return 0


# ---------------------------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` (default: the command line), run the subcommand, return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: name a command (see {PROG} --help)", file=sys.stderr)
        return 2
    prog = f"{PROG} {args.command}"
    if argv is None and args.command in ("train", "eval", "deploy"):
        # a program run (not a call from Python): subnormal traces cost a CPU many times the
        # time; torch's threads take the setting only if it comes first (README)
        from lava_local.trainer import flush_subnormals

        flush_subnormals()
    try:
        return args.func(args)
    except UsageError as error:
        code, message = 2, str(error)
    except RunFailed as error:
        code, message = 1, str(error)
    except (FileNotFoundError, ValueError, TypeError, argparse.ArgumentTypeError) as error:
        code, message = 2, str(error)  # the library's message for bad input or a mismatched checkpoint
    except KeyboardInterrupt:
        code, message = 130, "interrupted"
    except Exception as error:  # noqa: BLE001  (a run that failed: one line, unless --traceback)
        if args.traceback:
            raise
        code, message = 1, f"{type(error).__name__}: {error} (--traceback shows where)"
    if args.traceback and code != 130:
        import traceback

        traceback.print_exc()
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

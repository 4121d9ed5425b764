"""Temporal data: the local rules against BPTT on real time series (UEA/UCR) and SHD.

    .venv/bin/python benchmarks/temporal.py [--sets PickupGestureWiimoteZ,BasicMotions,OSULeaf,ACSF1]
        [--methods TESS,S-TLLR,S-TLLR (bp),LLS,LLS (pre trace),BPTT,read-out only] [--arch ff,rec]
        [--epochs 30] [--seeds 3] [--first-seed 0] [--batch 16] [--lr 1e-3 | --lr 1e-3,1e-3,1e-3] [--jobs 1]
        [--device cpu]
        [--recurrent-step S] [--gamma 0.9] [--readout-gamma 0.9] [--encoding delta+rate|delta]
        [--shd-root DIR] [--cache-dir DIR]
        [--out results]

Data: each UEA/UCR set is read out of the aeon 1.6.0 wheel (``load_uea_ucr``; the wheel is
fetched once with pip into ``--cache-dir``) and encoded by the library's standard encoding, the
level code (``lava_local.data.timeseries.encode_ucr_pair``), the same rule for every set: the
training set's per-channel mean and std (``fit_scaler``), the analog series averaged over
``UCR_DOWNSAMPLE`` samples so that T stays near or below 200, then the delta (level-crossing)
code of its changes, K = max(1, 12 // channels) thresholds 0.1, 0.2, ..., 0.1 K training stds,
up and down events (24 inputs for a univariate set and for BasicMotions' 6 channels), and after
them a population code of its level, max(4, 12 // channels) Gaussian receptive fields per
channel over -2 ... +2 training stds, each firing at its response by sigma-delta (12 more
inputs for a univariate set, 24 for BasicMotions); padding at the end to the training set's
longest series. ``--encoding delta`` keeps the delta code alone (the standard before the level
code; every temporal figure in RESULTS.md measured before "The level code by default" ran it).
The test set is encoded with the training scaler and length. The encoded arrays are cached
in ``<out>/encoded/`` (re-written by every run of this script), so worker processes load
them instead of encoding again. SHD (``--shd-root``, files you already have; never
downloaded) is binned by ``lava_local.data.load_shd`` (100 steps of 10 ms, 700 inputs); its
S-TLLR rows use the library's ``STLLR.shd`` preset (eligibility and learning rate).

Methods, each rule at its library default (``Network`` gives it the set's class count):
``TESS`` = ``TESS()`` (its last hidden layer filtered, ``filtered="auto"``), ``S-TLLR`` =
``STLLR()`` (local signal; its last hidden layer filtered, as TESS, and at TESS's basis scale,
``SignalParams(filtered_scale="1/sqrt(d)")``, the layers below at the +-1 basis), ``S-TLLR
(bp)`` = ``STLLR(feedback="bp")`` (its last hidden layer filtered, as TESS), ``LLS`` = ``LLS()``
(filtered as TESS), ``LLS (pre trace)`` = ``LLS.with_pre_trace()`` (an option of the rule), ``BPTT`` (``BPTTTrainer``), ``read-out only`` (random frozen hidden
layers, ``LocalTrainer``). Named in ``--methods`` only: ``TESS (clipped)``, ``TESS
(pwl_softmax)`` (``SignalParams(error=...)``, the errors a neuro-core computes), ``TESS
(Loihi timing)`` (``TESS(timing="loihi")``, the chip's pairing) and ``TESS (Loihi drain)``
(``TESS(timing="loihi", drain=True)``); ``S-TLLR (dfa)`` (``STLLR(feedback="dfa")``: the read-out's
error through fixed random matrices) and ``S-TLLR (filtered bp)`` (``STLLR(feedback="bp",
filtered=True)``: the eligibility filtered by the read-out's leak); ``S-TLLR (basis over
sqrt(d))`` (S-TLLR's local signal at TESS's scale on every layer, not on its filtered last one
only) and ``S-TLLR (split basis)`` (its local signal on ``SignalParams(basis="square_split")``,
the basis of ``TESS (split basis)``); ``TESS (filtered)``,
``S-TLLR (filtered)`` and ``LLS (filtered)`` (the rule ``.with_(filtered=True)`` under its local
signal: each layer's classifier reads its spikes filtered by the read-out's leak, and the
eligibility is filtered alike); ``TESS (last layer filtered)``, ``S-TLLR (last layer
filtered)``, ``S-TLLR (last layer filtered bp)`` and ``LLS (last layer filtered)`` (the rule
``.with_(filtered="last")``: the last hidden layer alone); ``TESS (unfiltered)``, ``S-TLLR
(unfiltered)`` (S-TLLR's local signal before ``filtered="auto"`` filtered it: every layer at the
+-1 basis), ``S-TLLR (unfiltered bp)`` and ``LLS (unfiltered)`` (``.with_(filtered=False)``, the
papers' rules); ``<method> + basis read-out`` and ``<method> + random
read-out`` (the read-out's start named, ``Network(readout_init=...)``); ``TESS (filtered) +
fixed read-out``, ``LLS (filtered) + fixed read-out``, ``TESS + fixed read-out`` and ``BPTT +
fixed read-out`` (the read-out kept at
the basis, ``Network(readout_init="basis", readout_learns=False)``); ``<method> + centred read-out``
(TESS, S-TLLR, S-TLLR (bp), LLS, BPTT, read-out only, TESS (filtered): the method's own start,
the read-out's input less its running mean, ``Network(readout_centred=True)``, the network's
default for a learning read-out) and ``<method> + plain read-out`` (the same methods with the
papers' read-out on the spikes themselves, ``readout_centred=False``).
Unnamed, the read-out is centred (fixed read-outs aside) and starts as ``Network`` starts it by default (``"auto"``: at the rule's basis
under a local signal, so for TESS, S-TLLR, LLS and read-out only (whose placeholder rule is
TESS), at random under S-TLLR (bp)); BPTT's at random, as BPTT baselines start.
Architectures: ``ff`` = n_in -> 256 -> 128 -> leaky read-out; ``rec`` = S-TLLR's SHD network,
one recurrent LIF layer of 256 (``Recurrent(256)``: each weight block drawn and stepped at
its own scale) and the read-out (``REC_METHODS``: every rule at its default, BPTT, read-out
only and the filter and read-out options); named only, ``rec2`` = two recurrent layers, 256
and 128, for the same methods (``filtered="auto"`` filters the upper one alone). The neuron
is ``TEMPORAL_NETWORK`` for every set and method. Adam per layer (``--optimizer sgd``: plain
SGD steps), batch 16, seeds 0..n-1 (network, torch and the shuffle), CPU with one thread per
run; ``--jobs N`` runs N runs at a time in worker processes.

After training: test accuracy, seconds per epoch and the mean firing rate of each hidden
layer on the test set (``trainer.firing_rates``; NaN where the trainer lacks it). A run
whose training collapses (``lava_local.trainer.TrainingCollapse``: a silent layer or
non-finite weights) keeps the accuracy evaluated at that point and marks its cell
"(collapsed k/n)".

Writes ``<out>/temporal.{md,csv,json}``: one row per method and architecture, one column
per data set (mean +- std of the test accuracy over seeds), time per epoch; the Markdown
file adds a table of firing rates and one of the targets (S-TLLR within 2 points of BPTT,
TESS within 5, every rule at least 10 points above read-out only where that is below 0.80).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from method_labels import readout_options, split_method

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the repository's lava_local, also without an installed package
    sys.path.insert(0, str(ROOT))

from lava_local.kernels.neuron import LIFParams  # noqa: E402  (after the path fix above)
from lava_local.data.timeseries import UCR_DOWNSAMPLE, UCR_ENCODER  # noqa: E402
from ucr_options import add_encoding_option  # noqa: E402


# The network's setting, not a rule's: the same for every set and method. Time constants
# long enough to hold a gesture (measured: BPTT on PickupGestureWiimoteZ reached 0.17 test
# accuracy with gamma 0.5 and 0.44 with 0.9). v_th stays at LIFParams' default.
TEMPORAL_NETWORK = dict(neuron=LIFParams(gamma=0.9), readout_gamma=0.9)

METHODS = ("TESS", "S-TLLR", "S-TLLR (bp)", "LLS", "LLS (pre trace)", "BPTT", "read-out only")
# options of TESS for the Loihi 2 mapping, run only when named in --methods: the
# hardware-friendly local errors and the chip's pairing of factors and traces
HARDWARE_METHODS = ("TESS (clipped)", "TESS (pwl_softmax)", "TESS (Loihi timing)", "TESS (Loihi drain)")
# where the hidden layers' signal comes from, run only when named: S-TLLR with the
# read-out's error sent through fixed random matrices (no weight transport) or with the
# eligibility filtered by the read-out's leak; and the rule of a method with its filter set,
# each named with the method it changes and the value: every layer (filtered=True: the local signals of the spikes filtered so), the last
# hidden layer alone ("last", the layers below at the rule's traces), or none (False: the
# papers' rules, where the default filters the last hidden layer, filtered="auto": TESS, LLS,
# S-TLLR (bp))
FILTER_METHODS = {"TESS (filtered)": ("TESS", True), "S-TLLR (filtered)": ("S-TLLR", True),
                  "S-TLLR (filtered bp)": ("S-TLLR (bp)", True),
                  "LLS (filtered)": ("LLS", True),
                  "TESS (last layer filtered)": ("TESS", "last"), "S-TLLR (last layer filtered)": ("S-TLLR", "last"),
                  "S-TLLR (last layer filtered bp)": ("S-TLLR (bp)", "last"), "LLS (last layer filtered)": ("LLS", "last"),
                  "TESS (unfiltered)": ("TESS", False), "S-TLLR (unfiltered bp)": ("S-TLLR (bp)", False),
                  "LLS (unfiltered)": ("LLS", False), "S-TLLR (unfiltered)": ("S-TLLR", False)}
# S-TLLR's local signal with TESS's basis scale on every layer, not only on its filtered last one
STLLR_SCALED = "S-TLLR (basis over sqrt(d))"
# S-TLLR's local signal on the split square basis (TESS (split basis)'s basis, S-TLLR's scales)
STLLR_SPLIT = "S-TLLR (split basis)"
# the filtered last layer's eligibility at unit gain or as the read-out's sum
# (LearningRule(filtered_gain=...); TESS's default is "unit", S-TLLR's and LLS's "sum"): the
# update's size, which sets the layer's step under plain SGD
GAIN_METHODS = {f"{rule} ({label} filter)": (rule, gain) for rule in ("TESS", "S-TLLR", "S-TLLR (bp)", "LLS")
                for label, gain in (("unit-gain", "unit"), ("sum", "sum"))}
SIGNAL_METHODS = ("S-TLLR (dfa)", STLLR_SCALED, STLLR_SPLIT) + tuple(FILTER_METHODS) + tuple(GAIN_METHODS)
# the read-out's start named, run only when named: "<method> + basis read-out" /
# "<method> + random read-out" (Network(readout_init=...); otherwise the network's "auto")
READOUT_STARTS = ("basis", "random")
READOUT_METHODS = tuple(f"{m} + {start} read-out" for start in READOUT_STARTS
                        for m in ("TESS", "S-TLLR", "S-TLLR (bp)", "LLS", "BPTT", "read-out only"))
# the read-out kept at the basis, run only when named (Network(readout_learns=False)): under
# TESS (filtered) or LLS (filtered) the last hidden layer's local loss is then the network's loss
FIXED_READOUT_METHODS = tuple(f"{m} + fixed read-out" for m in ("TESS (filtered)", "LLS (filtered)", "TESS", "BPTT"))
# the read-out's input less its running mean (Network(readout_centred=True), the network's
# default) named explicitly, and the papers' read-out on the spikes (readout_centred=False),
# run only when named
CENTRED_READOUT_METHODS = tuple(f"{m} + {kind} read-out" for kind in ("centred", "plain")
                                for m in ("TESS", "S-TLLR", "S-TLLR (bp)", "LLS", "BPTT", "read-out only",
                                          "TESS (filtered)"))
# TESS with its basis changed, run only when named: the square basis unscaled (+-1) or scaled
# from each layer's firing rate, 2 / sqrt(d r), instead of the default 1/sqrt(d)
# (SignalParams(scale=...)); every column split between the classes (basis="square_split")
BASIS_METHODS = {"TESS (unscaled basis)": {"scale": None}, "TESS (rate-scaled basis)": {"scale": "rate"},
                 "TESS (split basis)": {"basis": "square_split"},
                 "TESS (rate-scaled split basis)": {"basis": "square_split", "scale": "rate"}}
NAMED_METHODS = (HARDWARE_METHODS + tuple(BASIS_METHODS) + SIGNAL_METHODS + READOUT_METHODS + FIXED_READOUT_METHODS
                 + CENTRED_READOUT_METHODS)
ARCHS = ("ff", "rec")
# run only when named: two recurrent layers, where filtered="auto" filters the upper one alone
NAMED_ARCHS = ("rec2",)
# the recurrent network runs for these methods only
REC_METHODS = ("TESS", "S-TLLR (bp)", "LLS", "S-TLLR", "BPTT", "read-out only", "S-TLLR (filtered bp)", "TESS (filtered)",
               *BASIS_METHODS, "TESS (unfiltered)", "LLS (unfiltered)", "S-TLLR (unfiltered bp)",
               "S-TLLR (unfiltered)", STLLR_SCALED, STLLR_SPLIT,
               "TESS (last layer filtered)",
               "S-TLLR (last layer filtered bp)") \
    + tuple(f"{m} + {start} read-out" for start in READOUT_STARTS + ("centred", "plain")
            for m in ("TESS", "S-TLLR (bp)", "BPTT", "read-out only")) \
    + FIXED_READOUT_METHODS
DEFAULT_SETS = "PickupGestureWiimoteZ,BasicMotions,OSULeaf,ACSF1"
SHD = "SHD"

# targets (accuracy points): S-TLLR (bp) >= BPTT - 2, TESS >= BPTT - 5, every rule >=
# read-out only + 10 where read-out only < 0.80
TARGET_STLLR, TARGET_TESS, TARGET_MARGIN, MARGIN_BELOW = 2.0, 5.0, 10.0, 0.80
RULES = ("TESS", "S-TLLR", "S-TLLR (bp)", "LLS", "LLS (pre trace)")


# ------------------------------------------------------------------------------- models


def make_rule(method: str, shd: bool = False):
    """The method's rule at its library default (SHD: S-TLLR's SHD preset)."""
    from lava_local.rules import LLS, STLLR, TESS

    method, _ = split_method(method)  # the read-out's start is the network's, not the rule's
    if method in FILTER_METHODS:  # an option of the rule, or the paper's rule where the default differs
        base, filtered = FILTER_METHODS[method]
        return make_rule(base, shd).with_(filtered=filtered)
    if method in GAIN_METHODS:
        base, gain = GAIN_METHODS[method]
        return make_rule(base, shd).with_(filtered_gain=gain)
    if method in (STLLR_SCALED, STLLR_SPLIT):
        rule = make_rule("S-TLLR", shd)
        change = {"scale": "1/sqrt(d)"} if method == STLLR_SCALED else {"basis": "square_split"}
        return rule.with_(signal=dataclasses.replace(rule.signal, **change))
    if method.startswith("S-TLLR"):
        feedback = {"S-TLLR (bp)": "bp", "S-TLLR (dfa)": "dfa"}.get(method, "local")
        rule = STLLR.shd(feedback=feedback) if shd else STLLR(feedback=feedback)
    elif method == "LLS":
        rule = LLS()
    elif method == "LLS (pre trace)":  # an option of the rule, not its default
        rule = LLS.with_pre_trace()
    elif method == "TESS (Loihi timing)":
        rule = TESS(timing="loihi")
    elif method == "TESS (Loihi drain)":
        rule = TESS(timing="loihi", drain=True)
    elif method in BASIS_METHODS or method in HARDWARE_METHODS:  # TESS with its signal changed
        default = TESS()
        change = BASIS_METHODS[method] if method in BASIS_METHODS else {"error": method[6:-1]}
        rule = default.with_(signal=dataclasses.replace(default.signal, **change))
    else:  # TESS; BPTT and read-out only learn no hidden rule, but Network wants one
        rule = TESS()
    return rule


def hidden_layers(arch: str, recurrent_step: Optional[float] = None) -> Tuple[Any, ...]:
    """The architecture's hidden layers; ``recurrent_step`` the recurrent block's optimiser
    step relative to the input block's (``Recurrent(recurrent_step=...)``; ``None``: the
    network's default, 0: the recurrent weights stay at their start)."""
    from lava_local.network import Recurrent

    if arch == "ff":
        return (256, 128)
    if arch == "rec2":
        return (Recurrent(256, recurrent_step=recurrent_step), Recurrent(128, recurrent_step=recurrent_step))
    return (Recurrent(256, recurrent_step=recurrent_step),)


def make_trainer(method: str, arch: str, n_in: int, n_classes: int, seed: int, network: Dict[str, Any],
                 lr: float, device: str, shd: bool = False, recurrent_step: Optional[float] = None,
                 optimizer: str = "adam"):
    import torch

    from lava_local.network import Network
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    rule = make_rule(method, shd)
    base, start = split_method(method)
    net = Network(n_in, hidden=hidden_layers(arch, recurrent_step), n_classes=n_classes, rule=rule,
                  frozen=(base == "read-out only"), seed=seed, **readout_options(start, base), **network)
    torch.manual_seed(seed)
    if shd and method.startswith("S-TLLR"):
        lr = rule.lr  # the S-TLLR paper's SHD learning rate, as the preset has it
    cls = BPTTTrainer if base == "BPTT" else LocalTrainer
    return cls(net, device=device, optimizer=optimizer, lr=lr), lr


# --------------------------------------------------------------------------------- data


def encode_uea_ucr(name: str, cache_dir: Optional[str], folder: Path, encoder: str = UCR_ENCODER) -> Dict[str, Any]:
    """Read and encode one set (``encode_ucr_pair`` with ``encoder``); save train/test as
    ``.npz``; return its record."""
    from lava_local.data import load_uea_ucr, save_encoded_npz
    from lava_local.data.timeseries import encode_ucr_pair

    train, test = load_uea_ucr(name, cache_dir=cache_dir, download=True)
    (x_tr, y_tr), (x_te, y_te), encoding = encode_ucr_pair(train, test, encoder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"train": str(save_encoded_npz(folder / f"{name}_train.npz", x_tr, y_tr, encoding)),
             "test": str(save_encoded_npz(folder / f"{name}_test.npz", x_te, y_te, encoding))}
    return {"name": name, "paths": paths, "n_classes": len(train.class_names), "n_inputs": int(x_tr.shape[2]),
            "n_steps": int(x_tr.shape[1]), "n_train": len(y_tr), "n_test": len(y_te), "shd": False,
            "encoding": encoding, "spikes_per_step": float(x_tr.mean() * x_tr.shape[2])}


def load_shd_set(root: Optional[str], folder: Path) -> Tuple[Optional[Dict[str, Any]], str]:
    """SHD from the user's files as frames cached in ``folder``; ``(None, why)`` without them."""
    if not root:
        return None, "no --shd-root given"
    from lava_local.data import load_encoded_npz, load_shd, save_encoded_npz, shd_preprocessing

    cached = {split: folder / f"SHD_{split}.npz" for split in ("train", "test")}
    if all(p.is_file() for p in cached.values()):  # binned by an earlier run from the same files
        (x_tr, y_tr, encoding), (x_te, y_te, _) = (load_encoded_npz(p) for p in cached.values())
        if encoding.get("root") == str(root):
            return _shd_record(cached, encoding, x_tr, y_tr, y_te), ""
    try:
        train, test = load_shd(root, train=True), load_shd(root, train=False)
        x_tr, y_tr = train.dense()
        x_te, y_te = test.dense()
    except (FileNotFoundError, ImportError) as error:
        return None, f"{type(error).__name__}: {error}"
    prep = shd_preprocessing()
    encoding = {"encoder": "tonic frames (lava_local.data.load_shd)", "n_steps": int(x_tr.shape[1]),
                "n_inputs": int(x_tr.shape[2]), "preprocessing": repr(prep), "root": str(root)}
    folder.mkdir(parents=True, exist_ok=True)
    save_encoded_npz(cached["train"], x_tr, y_tr, encoding)
    save_encoded_npz(cached["test"], x_te, y_te, encoding)
    return _shd_record(cached, encoding, x_tr, y_tr, y_te), ""


def _shd_record(paths: Dict[str, Path], encoding: Dict[str, Any], x_tr: np.ndarray, y_tr: np.ndarray,
                y_te: np.ndarray) -> Dict[str, Any]:
    n_classes = max(int(max(y_tr.max(), y_te.max())) + 1, 20)  # SHD: 20 digits
    return {"name": SHD, "paths": {k: str(p) for k, p in paths.items()}, "n_classes": n_classes,
            "n_inputs": int(x_tr.shape[2]), "n_steps": int(x_tr.shape[1]), "n_train": len(y_tr),
            "n_test": len(y_te), "shd": True, "encoding": encoding,
            "spikes_per_step": float(x_tr.mean() * x_tr.shape[2])}


_LOADED: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}


def _load(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """An encoded set, read once per process."""
    if path not in _LOADED:
        from lava_local.data import load_encoded_npz

        frames, labels, _ = load_encoded_npz(path)
        _LOADED[path] = (frames, labels)
    return _LOADED[path]


# --------------------------------------------------------------------------------- runs


def _collapse_class():
    try:
        from lava_local.trainer import TrainingCollapse
    except ImportError:  # not in this version of the library: nothing raises it
        return None
    return TrainingCollapse


def exit_with_parent(parent: int, poll_s: float = 2.0) -> threading.Thread:
    """Watch, from a daemon thread, that process ``parent`` is still this one's parent, and end
    this process when it is not: a worker whose main process was killed (SIGTERM, SIGKILL:
    no pool shutdown runs then) would otherwise train on, orphaned, to the end of its run."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def init_worker(threads: int, parent: Optional[int] = None) -> None:
    """Each process: subnormals flushed before torch does any work, then its threads; a pool
    worker (``parent``, the main process) ends with the main process."""
    if parent is not None:
        exit_with_parent(parent)
    from lava_local.trainer import flush_subnormals

    flush_subnormals()
    import torch

    torch.set_num_threads(threads)


def run_one(task: Dict[str, Any]) -> Dict[str, Any]:
    """Train one (set, method, arch, seed); returns its record (never raises)."""
    record = {k: task[k] for k in ("set", "method", "arch", "seed")}
    record.update(accuracy=float("nan"), train_accuracy=[], s_per_epoch=float("nan"), rates=[],
                  collapsed=False, collapse_epoch=None, collapse_message="", error="", lr=task["lr"])
    collapse = _collapse_class()
    try:
        x_tr, y_tr = _load(task["paths"]["train"])
        x_te, y_te = _load(task["paths"]["test"])
        trainer, record["lr"] = make_trainer(task["method"], task["arch"], x_tr.shape[2], task["n_classes"],
                                             task["seed"], task["network"], task["lr"], task["device"],
                                             task["shd"], task.get("recurrent_step"),
                                             task.get("optimizer", "adam"))
        n_hidden = len(trainer.net.hidden)
        record["layer_lr"] = [o.param_groups[0]["lr"] for o in trainer.optimizers]  # what each layer got
        record["readout_init"] = trainer.net.readout_init
        record["readout_learns"] = trainer.net.readout_learns
        generator = np.random.default_rng(task["seed"])
        seconds = []
        for epoch in range(task["epochs"]):
            start = time.perf_counter()
            try:
                record["train_accuracy"].append(trainer.fit_epoch(x_tr, y_tr, batch_size=task["batch"],
                                                                  generator=generator))
            except Exception as error:
                if collapse is None or not isinstance(error, collapse):
                    raise
                record.update(collapsed=True, collapse_epoch=epoch, collapse_message=str(error))
                break
            finally:
                seconds.append(time.perf_counter() - start)
        record["s_per_epoch"] = float(np.mean(seconds))
        try:
            record["accuracy"] = float(trainer.evaluate(x_te, y_te))
        except Exception as error:  # a collapsed network may not evaluate (non-finite weights)
            if not record["collapsed"]:
                raise
            record["collapse_message"] += f"; evaluation failed: {error}"
        rates = getattr(trainer, "firing_rates", None)
        record["rates"] = [float("nan")] * n_hidden
        if rates is not None:
            try:
                record["rates"] = [float(r) for r in rates(x_te, batch_size=100)]
            except Exception as error:
                if not record["collapsed"]:
                    raise
                record["collapse_message"] += f"; firing rates failed: {error}"
    except Exception:  # noqa: BLE001  (recorded and reported; the other runs go on)
        record["error"] = traceback.format_exc()
    return record


# ------------------------------------------------------------------------------ results


_OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD"}


def learning_rates(text: str) -> Union[float, List[float]]:
    """``--lr``: one rate for every layer, or one per layer (``1e-20,1e-3,1e-3``)."""
    try:
        rates = [float(r) for r in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate or a comma-separated list of rates: {text!r}") from None
    if not all(r > 0 for r in rates):
        raise argparse.ArgumentTypeError(f"rates must be positive: {text!r}")
    return rates[0] if len(rates) == 1 else rates


def _rates(lr: Union[float, List[float]]) -> str:
    return " / ".join(f"{r:g}" for r in lr) if isinstance(lr, list) else f"{lr:g}"


def _seed_range(args: Dict[str, Any]) -> str:
    first, n = args.get("first_seed", 0), args["seeds"]
    return f"{n} seed(s)" if first == 0 else f"{n} seed(s), {first}-{first + n - 1}"


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _finite_mean(values) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def aggregate(runs: List[Dict[str, Any]], set_names: List[str], pairs: List[Tuple[str, str]]) -> List[Dict[str, Any]]:
    """One row per (method, arch): accuracy mean/std, s/epoch, rates, collapses per set."""
    rows = []
    for method, arch in pairs:
        row: Dict[str, Any] = {"method": method, "arch": arch}
        for name in set_names:
            mine = [r for r in runs if (r["set"], r["method"], r["arch"]) == (name, method, arch)]
            if not mine:
                continue
            accs = np.array([r["accuracy"] for r in mine], dtype=float)
            ok = accs[np.isfinite(accs)]
            rates = [r["rates"] for r in mine if r["rates"]]
            row[f"{name}_acc_mean"] = float(ok.mean()) if ok.size else float("nan")
            row[f"{name}_acc_std"] = float(ok.std()) if ok.size else float("nan")
            row[f"{name}_acc"] = [float(a) for a in accs]
            row[f"{name}_s_per_epoch"] = float(np.nanmean([r["s_per_epoch"] for r in mine])) \
                if any(np.isfinite(r["s_per_epoch"]) for r in mine) else float("nan")
            row[f"{name}_rates"] = [_finite_mean(layer) for layer in zip(*rates)]  # per layer
            row[f"{name}_n"] = len(mine)
            row[f"{name}_collapsed"] = sum(r["collapsed"] for r in mine)
            row[f"{name}_errors"] = sum(bool(r["error"]) for r in mine)
        rows.append(row)
    return rows


def accuracy_cell(row: Dict[str, Any], name: str, missing: Dict[str, str]) -> str:
    if name in missing:
        return "no data"
    if f"{name}_n" not in row:
        return ""
    mean, std, n = row[f"{name}_acc_mean"], row[f"{name}_acc_std"], row[f"{name}_n"]
    cell = f"{mean:.3f} ± {std:.3f}" if np.isfinite(mean) else "-"
    if row[f"{name}_collapsed"]:
        cell += f" (collapsed {row[f'{name}_collapsed']}/{n})"
    if row[f"{name}_errors"]:
        cell += f" (error {row[f'{name}_errors']}/{n})"
    return cell


def targets_table(rows: List[Dict[str, Any]], set_names: List[str], archs: List[str]) -> List[str]:
    """Per set and architecture: BPTT, the gaps to it and every rule's margin over read-out only."""
    by = {(r["method"], r["arch"]): r for r in rows}

    def acc(method, arch, name):
        value = by.get((method, arch), {}).get(f"{name}_acc_mean")
        return value if value is not None and np.isfinite(value) else None

    def mark(value, ok):
        return "-" if value is None else f"{value:+.1f} {'✓' if ok else '✗'}"

    lines = [f"targets: S-TLLR within {TARGET_STLLR:g} points of BPTT, TESS within {TARGET_TESS:g}, every rule "
             f">= read-out only + {TARGET_MARGIN:g} points where read-out only < {MARGIN_BELOW:.2f} "
             "(gaps = rule - BPTT, margins = rule - read-out only, in accuracy points; no mark: no target)", "",
             "| set | arch | BPTT | S-TLLR (bp) gap | TESS gap | read-out only | "
             + " | ".join(f"{rule} margin" for rule in RULES) + " |",
             "|" + "---|" * (6 + len(RULES))]
    for name in set_names:
        for arch in archs:
            bptt, ro = acc("BPTT", arch, name), acc("read-out only", arch, name)
            if all(acc(m, arch, name) is None for m in METHODS):
                continue
            cells = [name, arch, _fmt(bptt), "", "", _fmt(ro)]
            for col, method, limit in ((3, "S-TLLR (bp)", TARGET_STLLR), (4, "TESS", TARGET_TESS)):
                value = acc(method, arch, name)
                gap = None if value is None or bptt is None else 100 * (value - bptt)
                cells[col] = mark(gap, gap is not None and gap >= -limit)
            for rule in RULES:
                value = acc(rule, arch, name)
                margin = None if value is None or ro is None else 100 * (value - ro)
                if margin is not None and ro >= MARGIN_BELOW:
                    cells.append(f"{margin:+.1f}")
                else:
                    cells.append(mark(margin, margin is not None and margin >= TARGET_MARGIN))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_results(out: Path, header: Dict[str, Any], runs: List[Dict[str, Any]], set_names: List[str],
                  missing: Dict[str, str], pairs: List[Tuple[str, str]], archs: List[str]) -> List[str]:
    rows = aggregate(runs, [n for n in set_names if n not in missing], pairs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "temporal.json").write_text(json.dumps(dict(header, missing=missing, rows=rows, runs=runs), indent=2))
    # CSV: flat columns, one per set and quantity (rates one column per layer)
    flat = []
    for row in rows:
        line: Dict[str, Any] = {"method": row["method"], "arch": row["arch"]}
        for name in set_names:
            if name in missing:
                line[f"{name}_acc_mean"] = "no data"
                continue
            for key in ("acc_mean", "acc_std", "s_per_epoch", "n", "collapsed", "errors"):
                if f"{name}_{key}" in row:
                    line[f"{name}_{key}"] = row[f"{name}_{key}"]
            for layer, rate in enumerate(row.get(f"{name}_rates", [])):
                line[f"{name}_rate_layer{layer}"] = rate
        flat.append(line)
    keys: List[str] = []
    for line in flat:
        keys += [k for k in line if k not in keys]
    with open(out / "temporal.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(flat)
    # Markdown: accuracy table, firing rates, targets
    present = [n for n in set_names if n not in missing]
    lines = [f"command: `{header['command']}`", "",
             f"machine: {header['cpu_count']} CPUs ({header['machine']}), device {header['args']['device']}, "
             f"{header['date']}; {_seed_range(header['args'])}, {header['args']['epochs']} epochs, batch "
             f"{header['args']['batch']}, {_OPTIMIZER_NAMES[header['args'].get('optimizer', 'adam')]} lr "
             f"{_rates(header['args']['lr'])} per layer; neuron "
             f"gamma {header['network']['gamma']:g}, v_th {header['network']['v_th']:g}, read-out gamma "
             f"{header['network']['readout_gamma']:g}"
             + (f"; recurrent block's step {header['args']['recurrent_step']:g} of the input block's"
                if header["args"].get("recurrent_step") is not None else ""), "",
             "test accuracy, mean ± std over seeds; s/epoch per set in the order of the columns", "",
             "| method | arch | " + " | ".join(set_names) + " | s/epoch (per set) |",
             "|---|---|" + "---|" * len(set_names) + "---|"]
    for row in rows:
        times = " / ".join(_fmt(row.get(f"{n}_s_per_epoch"), 2) if f"{n}_n" in row else "-" for n in present)
        lines.append(f"| {row['method']} | {row['arch']} | "
                     + " | ".join(accuracy_cell(row, n, missing) for n in set_names) + f" | {times} |")
    for name, why in missing.items():
        lines.append(f"\n{name}: no data ({why.splitlines()[0]})")
    lines += ["", "firing rate of each hidden layer on the test set after training (spikes per neuron and step, "
              "mean over seeds; layers separated by /)", "",
              "| method | arch | " + " | ".join(present) + " |", "|---|---|" + "---|" * len(present)]
    for row in rows:
        lines.append(f"| {row['method']} | {row['arch']} | " + " | ".join(
            " / ".join(_fmt(v, 4) for v in row[f"{n}_rates"]) if f"{n}_rates" in row else "" for n in present) + " |")
    lines += [""] + targets_table(rows, present, archs)
    encodings = header["encodings"]
    lines += ["", "data: " + "; ".join(
        f"{n}: {e['n_train']}/{e['n_test']} samples, {e['n_classes']} classes, T = {e['n_steps']}, "
        f"{e['n_inputs']} inputs, {e['spikes_per_step']:.2f} input spikes per step" for n, e in encodings.items())]
    (out / "temporal.md").write_text("\n".join(lines) + "\n")
    return lines


# --------------------------------------------------------------------------------- main


def main() -> int:
    from lava_local.trainer import flush_subnormals

    flush_subnormals()  # first, so that torch's worker threads inherit it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--sets", default=DEFAULT_SETS, help="UEA/UCR data sets in the aeon wheel, comma-separated")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of: {', '.join(METHODS)}; also {', '.join(NAMED_METHODS)}")
    parser.add_argument("--arch", default=",".join(ARCHS), help="ff (256-128) and/or rec (recurrent 256); also rec2 "
                        "(recurrent 256, recurrent 128)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..n-1 (from --first-seed on)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed: --first-seed 6 --seeds 4 runs seeds 6-9, to add seeds to earlier runs "
                             "(temporal_paired.py pairs the folders)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=learning_rates, default=1e-3,
                        help="the optimiser's rate for every layer, or one per layer, comma-separated (the "
                             "hidden layers', then the read-out's; 1e-20 all but freezes a layer)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="each layer's optimiser: adam (the papers') or sgd (plain steps, as the Lava models "
                             "take them; with --batch 1 and --lr step/T, the online runs' per-sample SGD)")
    parser.add_argument("--recurrent-step", type=float, default=None,
                        help="rec: the recurrent block's optimiser step relative to the input block's "
                             "(Recurrent(recurrent_step=...); 0 keeps the recurrent weights at their start; "
                             "default: the network's, the ratio of the blocks' scales)")
    parser.add_argument("--gamma", type=float, default=TEMPORAL_NETWORK["neuron"].gamma,
                        help="hidden neurons' leak (TEMPORAL_NETWORK)")
    parser.add_argument("--readout-gamma", type=float, default=TEMPORAL_NETWORK["readout_gamma"],
                        help="the read-out's leak (TEMPORAL_NETWORK)")
    add_encoding_option(parser)
    parser.add_argument("--shd-root", default=None, help="folder holding SHD/shd_{train,test}.h5 (never downloaded)")
    parser.add_argument("--cache-dir", default=None, help="where the aeon wheel is (or is fetched to with pip)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, in worker processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    archs = [a.strip() for a in args.arch.split(",") if a.strip()]
    set_names = [s.strip() for s in args.sets.split(",") if s.strip()]
    for label, chosen, known in (("method", methods, METHODS + NAMED_METHODS), ("arch", archs, ARCHS + NAMED_ARCHS)):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            parser.error(f"unknown {label}(s) {unknown}; choose from {', '.join(known)}")
    if args.epochs < 1 or args.seeds < 1 or args.jobs < 1 or args.batch < 1:
        parser.error("--epochs, --seeds, --jobs and --batch must be positive")
    if args.first_seed < 0:
        parser.error("--first-seed must be 0 or more")
    if args.recurrent_step is not None and not args.recurrent_step >= 0:
        parser.error("--recurrent-step must be >= 0")
    if isinstance(args.lr, list):
        for arch in archs:
            if len(args.lr) != len(hidden_layers(arch)) + 1:
                parser.error(f"--lr gives {len(args.lr)} rates; the {arch} network has "
                             f"{len(hidden_layers(arch)) + 1} layers (hidden layers, then the read-out)")
    network = dict(neuron=dataclasses.replace(TEMPORAL_NETWORK["neuron"], gamma=args.gamma),
                   readout_gamma=args.readout_gamma)
    pairs = [(m, a) for m in methods for a in archs if a == "ff" or m in REC_METHODS]
    started = time.perf_counter()

    folder = args.out / "encoded"
    data: Dict[str, Dict[str, Any]] = {}
    missing: Dict[str, str] = {}
    for name in set_names:
        try:
            data[name] = encode_uea_ucr(name, args.cache_dir, folder, args.encoding)
        except (FileNotFoundError, ValueError) as error:  # no wheel (and pip failed), or no such set
            print(error, file=sys.stderr)
            return 2
    shd, why = load_shd_set(args.shd_root, folder)
    if shd is not None:
        data[SHD] = shd
    else:
        missing[SHD] = why
    set_names.append(SHD)
    for name, record in data.items():
        print(f"{name}: {record['n_train']} train / {record['n_test']} test, {record['n_classes']} classes, "
              f"T = {record['n_steps']}, {record['n_inputs']} inputs", flush=True)
    if SHD in missing:
        print(f"SHD: no data ({missing[SHD].splitlines()[0]})", flush=True)

    tasks = [dict(set=name, method=m, arch=a, seed=seed, paths=d["paths"], n_classes=d["n_classes"], shd=d["shd"],
                  network=network, lr=args.lr, epochs=args.epochs, batch=args.batch, device=args.device,
                  recurrent_step=args.recurrent_step, optimizer=args.optimizer)
             for name, d in data.items() for m, a in pairs
             for seed in range(args.first_seed, args.first_seed + args.seeds)]
    header = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "cpu_count": os.cpu_count(), "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "args": vars(args) | {"out": str(args.out)},
        "network": {"gamma": network["neuron"].gamma, "v_th": network["neuron"].v_th,
                    "reset": network["neuron"].reset, "readout_gamma": network["readout_gamma"],
                    "ff": "n_in -> 256 -> 128 -> leaky read-out", "rec": "n_in -> recurrent 256 -> leaky read-out",
                    "rec2": "n_in -> recurrent 256 -> recurrent 128 -> leaky read-out"},
        "downsample": UCR_DOWNSAMPLE,
        "rules": {m: dataclasses.asdict(make_rule(m)) for m in methods if m in RULES + NAMED_METHODS
                  and split_method(m)[0] not in ("BPTT", "read-out only")},
        "shd_rules": {m: dataclasses.asdict(make_rule(m, shd=True)) for m in methods if m.startswith("S-TLLR")},
        "encodings": {n: {k: v for k, v in d.items() if k != "paths"} for n, d in data.items()},
        "firing_rates": "trainer.firing_rates" if _has_firing_rates() else "NaN: the trainers lack firing_rates",
        "collapse_check": "lava_local.trainer.TrainingCollapse" if _collapse_class() else "none in this library",
    }

    runs: List[Dict[str, Any]] = []
    bar = _bar(len(tasks))
    say = bar.write if bar is not None else print

    def finished(record: Dict[str, Any]) -> None:
        runs.append(record)
        rates = " / ".join(_fmt(v, 4) for v in record["rates"])
        state = " COLLAPSED at epoch %s" % record["collapse_epoch"] if record["collapsed"] else ""
        say(f"{record['set']} | {record['method']} | {record['arch']} | seed {record['seed']}: test "
            f"{_fmt(record['accuracy'])}, {_fmt(record['s_per_epoch'], 2)} s/epoch, rates {rates}{state}"
            + (f"\n{record['error']}" if record["error"] else ""))
        sys.stdout.flush()
        if bar is not None:
            bar.update(1)
        header["wall_s"] = time.perf_counter() - started
        write_results(args.out, header, runs, set_names, missing, pairs, archs)

    if args.jobs == 1:
        init_worker(args.threads)
        for task in tasks:
            finished(run_one(task))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context, initializer=init_worker,
                                 initargs=(args.threads, os.getpid())) as pool:
            for future in as_completed([pool.submit(run_one, task) for task in tasks]):
                finished(future.result())
    if bar is not None:
        bar.close()
    order = {(t["set"], t["method"], t["arch"], t["seed"]): i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: order[(r["set"], r["method"], r["arch"], r["seed"])])
    header["wall_s"] = time.perf_counter() - started
    lines = write_results(args.out, header, runs, set_names, missing, pairs, archs)
    print("\n".join(lines))
    print(f"wall time {header['wall_s']:.0f} s; written to {args.out}/temporal.{{md,csv,json}}", flush=True)
    return 1 if any(r["error"] for r in runs) else 0


def _has_firing_rates() -> bool:
    from lava_local.trainer import BPTTTrainer, LocalTrainer

    return all(hasattr(cls, "firing_rates") for cls in (LocalTrainer, BPTTTrainer))


def _bar(total: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="runs", unit="run", file=sys.stderr, disable=None)  # None: off without a TTY


if __name__ == "__main__":
    sys.exit(main())

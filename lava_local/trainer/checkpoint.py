"""Checkpoints of the torch trainers, in a format that loads without unpickling code.

A checkpoint is one ``torch.save`` file holding only tensors, numbers, strings, lists,
tuples and dicts: the weights, every layer's optimiser state (Adam moments and step
counts), the epoch, the numpy Generator state (as a JSON string: its 128-bit integers
would not survive otherwise) and the torch CPU RNG state. It is read back with
``torch.load(..., weights_only=True)`` only, which refuses any other pickled object, so
opening a file from elsewhere cannot run code. Resuming restores everything a
:meth:`~lava_local.trainer.base.TrainerBase.fit_epoch` reads, so ``fit 1 epoch, save,
load into a fresh trainer, fit 1 epoch`` gives exactly the weights of ``fit 2 epochs``::

    gen = np.random.default_rng(seed)
    trainer.fit_epoch(frames, labels, 32, generator=gen)
    save_checkpoint("run.pt", trainer, epoch=1, generator=gen)
    ...
    gen = np.random.default_rng()                         # any state: it is overwritten
    info = load_checkpoint("run.pt", fresh_trainer, generator=gen)   # info["epoch"] == 1

In data-parallel runs save on the main process only
(:func:`lava_local.trainer.distributed.is_main_process`) and load on every rank.
"""
from __future__ import annotations

import json
import os
import pickle
import tempfile
from typing import Any, Dict, List, Optional

import numpy as np
import torch

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint", "generator_state", "set_generator_state",
           "FORMAT", "VERSION"]

FORMAT = "lava_local.trainer.checkpoint"
VERSION = 1
#: what a trainer's state holds beside its weights and optimisers, when it has it: a
#: centred read-out's input mean and count, a ``scale="rate"`` signal's measured rates
STATE_EXTRAS = ("readout_mean", "readout_seen", "signal_rates")


# -- numpy Generator state <-> JSON -------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def generator_state(generator: np.random.Generator) -> str:
    """A numpy Generator's full state (any bit generator) as a JSON string."""
    if not isinstance(generator, np.random.Generator):
        raise TypeError("generator must be a numpy.random.Generator")
    return json.dumps(_encode(generator.bit_generator.state))


def set_generator_state(generator: Optional[np.random.Generator], state: str) -> np.random.Generator:
    """Put ``state`` (from :func:`generator_state`) into ``generator`` in place, or into a new
    Generator of the saved bit-generator kind when ``generator`` is ``None``; return it."""
    decoded = _decode(json.loads(state))
    kind = decoded.get("bit_generator")
    if generator is None:
        bit_cls = getattr(np.random, str(kind), None)
        if not (isinstance(bit_cls, type) and issubclass(bit_cls, np.random.BitGenerator)):
            raise ValueError(f"checkpoint: unknown numpy bit generator {kind!r}")
        generator = np.random.Generator(bit_cls())
    elif type(generator.bit_generator).__name__ != kind:
        raise ValueError(f"checkpoint: the saved generator is {kind}, the given one "
                         f"{type(generator.bit_generator).__name__}")
    generator.bit_generator.state = decoded
    return generator


# -- save ---------------------------------------------------------------------------------
def _unwrap(trainer):
    from lava_local.trainer.base import TrainerBase

    inner = getattr(trainer, "trainer", trainer)  # a DataParallelTrainer holds .trainer
    if not isinstance(inner, TrainerBase):
        raise TypeError("trainer must be a LocalTrainer, BPTTTrainer or DataParallelTrainer")
    return inner


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def save_checkpoint(path: Any, trainer, epoch: int, generator: Optional[np.random.Generator] = None,
                    extra: Optional[Dict[str, Any]] = None, torch_rng: bool = True) -> None:
    """Write the trainer's weights and optimiser states, ``epoch`` and the Generator state.

    ``trainer``: a LocalTrainer, BPTTTrainer or DataParallelTrainer. ``generator``: the
    numpy Generator that shuffles the epochs (needed for an exact resume). ``extra``:
    anything else to keep, made of tensors, numbers, strings, lists and dicts only (else
    ``ValueError``: it could not be loaded safely). The file is written to a temporary
    name and renamed, so a crash never leaves half a checkpoint.
    """
    t = _unwrap(trainer)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
    state = t.state_dict()
    payload: Dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "trainer": type(t).__name__,
        "rule": getattr(t.net.rule, "name", ""),
        "dtype": str(t.dtype).replace("torch.", ""),
        "shapes": [list(p.shape) for p in t.params],
        "optimizer": [type(o).__name__ for o in t.optimizers],
        "weights": [w.detach().cpu().clone() for w in state["weights"]],
        "optimizers": _to_cpu(state["optimizers"]),
        **{key: _to_cpu(state[key]) for key in STATE_EXTRAS if key in state},
        "generator": generator_state(generator) if generator is not None else None,
        "torch_rng": torch.get_rng_state() if torch_rng else None,
        "extra": _to_cpu(extra) if extra is not None else {},
    }
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        try:  # check that it loads back under weights_only (e.g. no objects in `extra`)
            torch.load(tmp, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            raise ValueError(f"checkpoint: `extra` holds something that cannot be loaded safely: {err}") from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# -- load ---------------------------------------------------------------------------------
def read_checkpoint(path: Any) -> Dict[str, Any]:
    """The checkpoint's contents, loaded with ``weights_only=True`` (no code can run).

    ``ValueError`` when the file holds anything but plain tensors and containers (e.g. a
    pickled object), is not a torch file, or is not a lava_local checkpoint.
    """
    path = os.fspath(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path} is not a safe checkpoint: it holds objects other than tensors and plain "
                         f"containers, refused by weights_only loading ({str(err).splitlines()[0]})") from None
    except Exception as err:  # noqa: BLE001  (torch.load fails on other bytes in many ways, e.g. KeyError)
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a lava_local trainer checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')!r} is not supported "
                         f"(this code reads version {VERSION})")
    return payload


_REQUIRED = ("epoch", "shapes", "optimizer", "weights", "optimizers")


def _check_compatible(path: str, payload: Dict[str, Any], t) -> None:
    """Raise ``ValueError`` unless the checkpoint fits ``t``: same trainer and rule kind (where
    stored), layer count, weight shapes and optimisers. Nothing is modified."""
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise ValueError(f"{path}: the checkpoint lacks {missing}: a damaged or foreign file")
    stored_trainer, our_trainer = payload.get("trainer"), type(t).__name__
    if stored_trainer and stored_trainer != our_trainer:
        raise ValueError(f"{path}: the checkpoint was written by a {stored_trainer}, this trainer is a "
                         f"{our_trainer}: a different kind of training")
    stored_rule, our_rule = payload.get("rule"), getattr(t.net.rule, "name", "")
    if stored_rule and our_rule and stored_rule != our_rule:
        raise ValueError(f"{path}: the checkpoint's network learns with {stored_rule}, the trainer's "
                         f"with {our_rule}: a different network")
    shapes: List[List[int]] = [list(s) for s in payload["shapes"]]
    ours = [list(p.shape) for p in t.params]
    if len(shapes) != len(ours):
        raise ValueError(f"{path}: the checkpoint has {len(shapes)} weight layers, the trainer "
                         f"{len(ours)} (shapes {shapes} vs {ours}): a different network")
    if len(payload["weights"]) != len(shapes) or len(payload["optimizers"]) != len(shapes):
        raise ValueError(f"{path}: the checkpoint lists {len(shapes)} weight shapes but holds "
                         f"{len(payload['weights'])} weights and {len(payload['optimizers'])} optimizer "
                         "states: a damaged file")
    for i, (a, b, w) in enumerate(zip(shapes, ours, payload["weights"])):
        if a != b or list(w.shape) != b:
            raise ValueError(f"{path}: layer {i} weight shape {tuple(a)} in the checkpoint does not match "
                             f"the trainer's {tuple(b)} (shapes {shapes} vs {ours}): a different network")
    kinds = [type(o).__name__ for o in t.optimizers]
    if list(payload["optimizer"]) != kinds:
        raise ValueError(f"{path}: the checkpoint's optimizers {list(payload['optimizer'])} differ from the "
                         f"trainer's {kinds}")
    for i, (opt_state, shape) in enumerate(zip(payload["optimizers"], ours)):
        for slot in opt_state.get("state", {}).values():
            for name, value in slot.items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and list(value.shape) != shape:
                    raise ValueError(f"{path}: optimizer state {name!r} of layer {i} has shape "
                                     f"{tuple(value.shape)}, the weight {tuple(shape)}")


def load_checkpoint(path: Any, trainer, generator: Optional[np.random.Generator] = None,
                    restore_torch_rng: bool = True) -> Dict[str, Any]:
    """Load weights and optimiser states into ``trainer`` (checked against its shapes first).

    ``generator``: a numpy Generator whose state is overwritten in place with the saved one;
    with ``None`` a new Generator is made. Returns ``{"epoch", "generator", "extra",
    "trainer", "rule", "dtype"}`` (``generator`` is ``None`` when none was saved).
    ``ValueError`` for unsafe or foreign files, for a network of other shapes or layer count
    (naming the first mismatching layer and both shapes), another trainer kind or rule, other
    optimisers or a generator of another kind, all raised before the trainer or ``generator``
    changes; a state that still fails to load midway is rolled back. The trainer's Network is
    not touched: call ``trainer.sync_to_network()`` for that.
    """
    t = _unwrap(trainer)
    payload = read_checkpoint(path)
    _check_compatible(os.fspath(path), payload, t)
    saved_gen = payload.get("generator")
    if saved_gen is not None:  # decoded and checked against `generator` before anything changes
        kind = type(set_generator_state(None, saved_gen).bit_generator).__name__
        if generator is not None and type(generator.bit_generator).__name__ != kind:
            raise ValueError(f"{os.fspath(path)}: the saved generator is {kind}, the given one "
                             f"{type(generator.bit_generator).__name__}")
    backup = _to_cpu(t.state_dict())  # copies: a state that fails to load midway is rolled back
    try:
        t.load_state_dict({key: payload[key] for key in ("weights", "optimizers", *STATE_EXTRAS) if key in payload})
    except Exception as err:
        t.load_state_dict(backup)
        raise ValueError(f"{os.fspath(path)}: the checkpoint's weights or optimizer states do not load "
                         f"({type(err).__name__}: {err}); the trainer is left as it was") from err
    for p in t.params:
        p.grad = None
    gen = None
    if saved_gen is not None:
        gen = set_generator_state(generator, saved_gen)
    if restore_torch_rng and payload.get("torch_rng") is not None:
        torch.set_rng_state(payload["torch_rng"])
    return {"epoch": int(payload["epoch"]), "generator": gen, "extra": payload.get("extra", {}),
            "trainer": payload.get("trainer"), "rule": payload.get("rule"), "dtype": payload.get("dtype")}

"""Sample bookkeeping shared by the learning layers' models.

Every layer sees the same sample clock: sample k of a run occupies time steps
``k T + 1 .. (k + 1) T`` (the source, layers and read-out exchange spikes within a step,
so there is no pipeline delay). A layer resets its state at phase 0, learns when the
step's label is >= 0 (and the phase is >= the rule's t_l), and applies the accumulated
update after phase T - 1.

With the Loihi timing (``LearningRule(timing="loihi")``) every dense layer passes its spikes
on one step later, as a layer on Loihi 2 does (the Dense hop), so the layers form a
pipeline: a process ``offset`` steps down it runs sample k at time steps
``k T + 1 + offset .. (k + 1) T + offset`` (Lava's idiom for this is a reset offset per
layer, as lava-dl's netx sets), and takes the label that the source sent ``offset`` steps
before (:class:`LabelDelay`). Each sample is computed exactly as without the pipeline.

With the drain (``LearningRule(drain=True)``) every sample is followed by ``gap =
rule.drain_steps`` silent, unlabelled steps: the source sends no spikes and label -1, the
dense layers run on without a reset (their delay lines apply the waiting factors) and apply
a sample's update after its last gap step, and the read-out ignores the gap. A sample then
occupies ``T + gap`` steps (:func:`period`) of every process's clock.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np


def period(steps_per_sample: int, gap: int = 0) -> int:
    """Time steps one sample occupies: its ``T`` steps and the ``gap`` of the drain after it."""
    return int(steps_per_sample) + int(gap)


def phase(time_step: int, steps_per_sample: int, offset: int = 0, gap: int = 0) -> Tuple[int, int]:
    """``(sample index, step within the sample)`` of a 1-based Lava time step for a process
    ``offset`` steps down the pipeline; the sample index is negative before its first sample.
    Steps ``T .. T + gap - 1`` of a sample are its drain (module docstring)."""
    return divmod(int(time_step) - 1 - offset, period(steps_per_sample, gap))


class LabelDelay:
    """The labels a process ``offset`` steps down the pipeline needs: each one ``offset``
    steps after the source sent it (-1, no label, before that)."""

    def __init__(self, offset: int) -> None:
        self.line = [-1] * offset

    def __call__(self, label: int) -> int:
        if not self.line:
            return label
        self.line.append(label)
        return self.line.pop(0)


def write_snapshot(path: Optional[str], weights: np.ndarray, spikes: Optional[int] = None) -> None:
    """The fast weight read path: one ``.npy`` file (atomic rename) instead of Var.get.
    ``spikes``: the layer's spike count since its last snapshot, written beside it
    (:func:`spike_count_path`), for the collapse check of :meth:`Network.fit`."""
    if not path:
        return
    files = [(Path(path), weights)]
    if spikes is not None:
        files.append((spike_count_path(path), np.array([spikes], np.int64)))
    for target, values in files:
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp.npy")
        np.save(tmp, values)
        os.replace(tmp, target)


def spike_count_path(path: str) -> Path:
    """Where :func:`write_snapshot` puts the spike count of the snapshot at ``path``."""
    target = Path(path)
    return target.with_name(target.stem + ".spikes.npy")

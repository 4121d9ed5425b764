"""A spike source that plays a dataset sample after sample, with its labels."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.proc.base import LocalProcess
from lava_local.proc.sample import period


class SpikeDataSource(LocalProcess):
    """Plays ``frames[i]`` (``T`` steps of binary spikes) for each ``i`` in ``schedule``.

    Sample ``k`` of the schedule occupies time steps ``k P + 1 .. (k + 1) P``, ``P = T +
    gap``. ``s_out`` sends the spikes, ``label_out`` the sample's label, or -1 where
    ``learn[k]`` is false (evaluation: layers then do not learn); on the ``gap`` steps after
    each sample (the drain, :mod:`lava_local.proc.sample`) and after the schedule it sends
    zeros and -1.

    Parameters
    ----------
    frames : array (N, T, n) of 0/1
    labels : array (N,) of int in [0, n_classes)
    schedule : sequence of sample indices (default: every sample once, in order)
    learn : sequence of bool per schedule entry (default: all True)
    n_classes : labels must lie in [0, n_classes)
    gap : silent, unlabelled steps after each sample (default 0)
    """

    def __init__(self, *, frames: Any, labels: Any, n_classes: int, schedule: Optional[Sequence[int]] = None,
                 learn: Optional[Sequence[bool]] = None, gap: int = 0, name: Optional[str] = None) -> None:
        frames = np.asarray(frames)
        if frames.ndim != 3:
            raise ValueError(f"frames must have shape (samples, steps, inputs), got {frames.shape}")
        if frames.size and (not np.all(np.isfinite(frames)) or frames.min() < 0 or frames.max() > 1):
            raise ValueError("frames must hold spikes: values 0 or 1")
        labels = np.asarray(labels)
        if labels.shape != (frames.shape[0],):
            raise ValueError(f"labels has shape {labels.shape}, expected ({frames.shape[0]},)")
        n_classes = _validate.integer("n_classes", n_classes, 2)
        if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= n_classes)):
            raise ValueError(f"labels must be integers in [0, {n_classes}), got range "
                             f"[{labels.min()}, {labels.max()}]")
        schedule = np.arange(frames.shape[0]) if schedule is None else np.asarray(schedule, dtype=np.int64)
        if schedule.ndim != 1 or (schedule.size and (schedule.min() < 0 or schedule.max() >= frames.shape[0])):
            raise ValueError("schedule must be a 1-D sequence of sample indices")
        learn = np.ones(len(schedule), bool) if learn is None else np.asarray(learn, dtype=bool)
        if learn.shape != schedule.shape:
            raise ValueError("learn must have one entry per schedule entry")
        gap = _validate.integer("gap", gap, 0)
        n = frames.shape[2]
        super().__init__(frames=frames.astype(np.uint8), labels=labels.astype(np.int64), schedule=schedule,
                         learn=learn, gap=gap, name=name)
        self.proc_params["process_name"] = self.name
        self.s_out = OutPort(shape=(n,))
        self.label_out = OutPort(shape=(1,))
        self.sample = Var(shape=(1,), init=0)

    @property
    def steps_per_sample(self) -> int:
        return self.proc_params["frames"].shape[1]

    @property
    def num_steps(self) -> int:
        return period(self.steps_per_sample, self.proc_params["gap"]) * len(self.proc_params["schedule"])

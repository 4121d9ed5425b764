"""Sample bookkeeping shared by the learning layers' models.

Every layer sees the same sample clock: sample k of a run occupies time steps
``k T + 1 .. (k + 1) T`` (the source, layers and read-out exchange spikes within a step,
so there is no pipeline delay). A layer resets its state at phase 0, learns when the
step's label is >= 0 (and the phase is >= the rule's t_l), and applies the accumulated
update after phase T - 1.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np


def phase(time_step: int, steps_per_sample: int) -> Tuple[int, int]:
    """``(sample index, step within the sample)`` of a 1-based Lava time step."""
    return divmod(int(time_step) - 1, steps_per_sample)


def write_snapshot(path: Optional[str], weights: np.ndarray) -> None:
    """The fast weight read path: one ``.npy`` file (atomic rename) instead of Var.get."""
    if not path:
        return
    target = Path(path)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp.npy")
    np.save(tmp, weights)
    os.replace(tmp, target)

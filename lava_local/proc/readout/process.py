"""The classifier read-out: a leaky integrator that learns from its own local loss."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.fixed_point import DEFAULT_SCALE, quantize_readout
from lava_local.kernels.layer import input_mean_fixed, input_mean_float
from lava_local.proc.base import LearningLayerProcess, fixed_point_form
from lava_local.rules import READOUT_SAMPLE_STEP, step_per_time_step


class Readout(LearningLayerProcess):
    """Non-spiking read-out ``u[t] = gamma u[t-1] + W o_pre[t]`` with class scores sum_t u[t].

    Learns with the exact local gradient of CE(softmax(u[t]), y*) (see
    :mod:`lava_local.kernels.layer`). At the end of every sample it writes its prediction
    (the arg-max score) into ``predictions[k]``; ``n_samples`` bounds k. ``lr``: the SGD step
    per time step; ``None`` is :data:`~lava_local.rules.READOUT_SAMPLE_STEP` per sample,
    spread over its ``steps_per_sample`` steps (1e-3 at T = 10).

    Ports: ``s_in``, ``label_in`` (shape (1,), -1 = do not learn).
    ``offset``: steps between the sample clock and this read-out's input (its place in the
    pipeline of layers with the Loihi timing, :mod:`lava_local.proc.sample`); ``gap``: the
    drain's steps after each sample, which the read-out ignores.
    ``centred``: the read-out integrates ``o_pre[t] - m`` instead of ``o_pre[t]``, ``m`` each
    input's mean spikes per step over the learning samples seen (``input_mean``, updated
    after each learning sample by :func:`~lava_local.kernels.layer.input_mean_update`;
    ``seen`` of them before this run).
    """

    def __init__(self, *, weights: Any, steps_per_sample: int, n_samples: int, gamma: float = 0.5,
                 lr: Optional[float] = None, learn: bool = True, scale: int = DEFAULT_SCALE, profile: Any = "loihi2",
                 seed: int = 0, snapshot: Optional[str] = None, snapshot_every: int = 0,
                 offset: int = 0, gap: int = 0, centred: bool = False, input_mean: Any = None, seen: int = 0,
                 name: Optional[str] = None) -> None:
        w = _validate.finite_array("weights", weights)
        if w.ndim != 2:
            raise ValueError(f"weights must be a 2-D (n_classes, n_in) matrix, got shape {w.shape}")
        steps = _validate.integer("steps_per_sample", steps_per_sample, 1)
        n_samples = _validate.integer("n_samples", n_samples, 1)
        gamma = _validate.in_unit_interval("gamma", gamma)
        lr = step_per_time_step(lr, READOUT_SAMPLE_STEP, steps)
        offset = _validate.integer("offset", offset, 0)
        gap = _validate.integer("gap", gap, 0)
        n_classes, n_in = w.shape
        mean = np.zeros(n_in) if input_mean is None else _validate.finite_array("input_mean", input_mean)
        if mean.shape != (n_in,):
            raise ValueError(f"input_mean must have one value per input, shape ({n_in},), got {mean.shape}")
        seen = _validate.integer("seen", seen, 0)
        fixed = fixed_point_form(lambda: quantize_readout(w, gamma, lr, scale, profile, bool(centred)))
        super().__init__(weights=w, steps=steps, gamma=gamma, lr=lr, learn=bool(learn), **fixed,
                         scale=scale, seed=int(seed), snapshot=snapshot,
                         snapshot_every=int(snapshot_every), offset=offset, gap=gap, centred=bool(centred),
                         mean_fixed=input_mean_fixed(mean), name=name)
        self.proc_params["process_name"] = self.name
        self.s_in = InPort(shape=(n_in,))
        self.label_in = InPort(shape=(1,))
        self.weights = Var(shape=w.shape, init=w)
        self.u = Var(shape=(n_classes,), init=0)
        self.q = Var(shape=(n_in,), init=0)
        self.score = Var(shape=(n_classes,), init=0)
        self.predictions = Var(shape=(n_samples,), init=-1)
        self.input_mean = Var(shape=(n_in,), init=mean)
        self.seen = Var(shape=(1,), init=seen)

    mean_float = staticmethod(input_mean_float)  # the fixed model's input mean in spikes per step

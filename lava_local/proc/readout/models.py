"""Float and fixed-point models of :class:`Readout`."""
from typing import Dict

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.kernels.layer import (
    ReadoutState,
    input_mean_update,
    input_mean_update_fixed,
    readout_apply_fixed,
    readout_step,
    readout_step_fixed,
)
from lava_local.kernels.learning_signal import one_hot
from lava_local.proc.guarded import GuardedModel
from lava_local.proc.readout.process import Readout
from lava_local.proc.sample import LabelDelay, phase, write_snapshot


class _ReadoutModel(GuardedModel):
    in_ports = ("s_in", "label_in")
    out_ports = ()

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.steps = proc_params["steps"]
        self.dw = None
        self.offset = proc_params["offset"]
        self.gap = proc_params.get("gap", 0)  # the drain's steps after each sample: ignored
        self.labels = LabelDelay(self.offset)

    def step(self, s_in: np.ndarray, label_in: np.ndarray) -> Dict[str, np.ndarray]:
        k, t = phase(self.time_step, self.steps, self.offset, self.gap)
        label = self.labels(int(label_in[0]))
        if k < 0:  # before its first sample
            return {}
        if t < self.steps:  # the drain's steps after a sample are not the read-out's
            self._sample_step(k, t, s_in, label)
        every = self.proc_params["snapshot_every"]
        if every and (self.time_step - self.offset) % every == 0:
            write_snapshot(self.proc_params["snapshot"], self.weights)
        return {}

    def _sample_step(self, k: int, t: int, s_in: np.ndarray, label: int) -> None:
        centred = self.proc_params["centred"]
        if t == 0:
            for var in (self.u, self.q, self.score):
                var[:] = 0
            self.dw = np.zeros(self.weights.shape, dtype=self.weights.dtype)
            self.counts = np.zeros(self.q.shape, dtype=np.int64)  # the sample's spikes per input
        learning = self.proc_params["learn"] and label >= 0
        state = self._advance(ReadoutState(self.u, self.q, self.score, self.dw), s_in, label if learning else -1)
        self.u[:], self.q[:], self.score[:] = state[:3]
        self.dw = state.dw
        if centred and learning:
            self.counts += np.asarray(s_in, np.int64)
        if t == self.steps - 1:
            if learning:
                self._apply()
                if centred:
                    self.seen[0] += 1
                    self.input_mean[:] = self._mean_update(self.input_mean, self.counts, self.steps, int(self.seen[0]))
            if k < len(self.predictions):
                self.predictions[k] = int(np.argmax(self.score))


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyReadoutModelFloat(_ReadoutModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    q: np.ndarray = LavaPyType(np.ndarray, float)
    score: np.ndarray = LavaPyType(np.ndarray, float)
    predictions: np.ndarray = LavaPyType(np.ndarray, int)
    input_mean: np.ndarray = LavaPyType(np.ndarray, float)
    seen: np.ndarray = LavaPyType(np.ndarray, int)
    _mean_update = staticmethod(input_mean_update)

    def _advance(self, state, s_in, label):
        n_classes = self.weights.shape[0]
        target = one_hot(label, n_classes) if label >= 0 else None
        mean = self.input_mean if self.proc_params["centred"] else None
        return readout_step(state, s_in, self.weights, self.proc_params["gamma"], target, mean=mean)

    def _apply(self) -> None:
        self.weights -= self.proc_params["lr"] * self.dw


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyReadoutModelFixed(_ReadoutModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    q: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)  # centred: signed, CENTRE_FRAC_BITS finer
    score: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    predictions: np.ndarray = LavaPyType(np.ndarray, int)
    input_mean: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)  # units of 2**-CENTRE_FRAC_BITS
    seen: np.ndarray = LavaPyType(np.ndarray, int)
    _mean_update = staticmethod(input_mean_update_fixed)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.rng = np.random.default_rng(proc_params["seed"])
        self.loaded = False

    def _advance(self, state, s_in, label):
        if self.proc_params["fixed"] is None:  # reported by the guard, raised in the caller
            raise ValueError(f"no fixed-point form: {self.proc_params['unfit']}")
        if not self.loaded:
            self.weights[:] = self.proc_params["weights_fixed"]
            self.input_mean[:] = self.proc_params["mean_fixed"]
            self.loaded = True
        state = state._replace(dw=np.asarray(state.dw, np.int64))
        mean = self.input_mean if self.proc_params["centred"] else None
        return readout_step_fixed(state, np.asarray(s_in, np.int64), self.weights, self.proc_params["fixed"], label,
                                  mean=mean)

    def _apply(self) -> None:
        self.weights[:] = readout_apply_fixed(self.weights, self.dw, self.proc_params["fixed"], self.rng)

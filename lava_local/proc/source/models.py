import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.proc.guarded import GuardedModel
from lava_local.proc.sample import phase
from lava_local.proc.source.process import SpikeDataSource


@implements(proc=SpikeDataSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PySpikeDataSourceModel(GuardedModel):
    """Sends the current sample's spikes and label (same model for float and fixed)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    sample: np.ndarray = LavaPyType(np.ndarray, int)

    out_ports = ("s_out", "label_out")

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.frames = proc_params["frames"]
        self.labels = proc_params["labels"]
        self.schedule = proc_params["schedule"]
        self.learn = proc_params["learn"]

    def step(self):
        steps = self.frames.shape[1]
        k, t = phase(self.time_step, steps, gap=self.proc_params["gap"])
        self.sample[0] = k
        if k >= len(self.schedule) or t >= steps:  # after the schedule, or the sample's drain
            return {"s_out": np.zeros(self.frames.shape[2]), "label_out": np.array([-1.0])}
        index = self.schedule[k]
        label = float(self.labels[index]) if self.learn[k] else -1.0
        return {"s_out": self.frames[index, t].astype(float), "label_out": np.array([label])}

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_local.proc.guarded import GuardedModel
from helpers.faulty.process import Faulty


@implements(proc=Faulty, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PyFaultyModel(GuardedModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    count: np.ndarray = LavaPyType(np.ndarray, int)

    in_ports = ("a_in",)
    out_ports = ("s_out",)

    def step(self, a_in):
        self.count[0] += 1
        if self.time_step == self.proc_params["fail_at"]:
            raise ZeroDivisionError("deliberate failure for the test")
        return {"s_out": a_in + 1.0}

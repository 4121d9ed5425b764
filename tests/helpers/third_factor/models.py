"""Float and fixed ProcessModels of :class:`ThirdFactorPost` (found by Lava by path)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from helpers.third_factor.process import ThirdFactorPost


class _ReplayMixin:
    """Sends bap, y1, y2, y3 every step (all four: LearningDense waits for each)."""

    _dtype = float

    def _replay(self) -> None:
        self.a_in.recv()
        y2_seq, y3_seq = self.proc_params["y2_seq"], self.proc_params["y3_seq"]
        k = (self.time_step - 1) % y2_seq.shape[1]
        n_post = y2_seq.shape[0]
        y2 = y2_seq[:, k].astype(self._dtype)
        y3 = y3_seq[:, k].astype(self._dtype)
        self.y2[:] = y2
        self.y3[:] = y3
        self.s_out_bap.send(np.zeros(n_post, dtype=bool))
        self.s_out_y1.send(np.zeros(n_post, dtype=self._dtype))
        self.s_out_y2.send(y2)
        self.s_out_y3.send(y3)


@implements(proc=ThirdFactorPost, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyThirdFactorPostFloat(_ReplayMixin, LearningNeuronModelFloat):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    _dtype = float

    def run_spk(self) -> None:
        self._replay()


@implements(proc=ThirdFactorPost, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyThirdFactorPostFixed(_ReplayMixin, LearningNeuronModelFixed):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    _dtype = np.int32

    def run_spk(self) -> None:
        self._replay()

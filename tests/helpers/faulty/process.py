"""A process whose model raises at a chosen step, to test failure reporting."""
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class Faulty(AbstractProcess):
    def __init__(self, *, shape, fail_at: int, name=None) -> None:
        super().__init__(shape=shape, fail_at=fail_at, name=name)
        self.proc_params["process_name"] = self.name
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.count = Var(shape=(1,), init=0)

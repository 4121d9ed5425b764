"""A ProcessModel base that turns failures into reports instead of Lava hangs.

See :mod:`lava_local.runtime` for why. A subclass names its ports and implements
``step``: the base receives every input, calls ``step`` with them, checks what comes back
and only then sends, so a failing ``step`` never leaves a port half-served.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel

from ..runtime import report_failure


class GuardedModel(PyLoihiProcessModel):
    """Receive all inputs, compute, send all outputs; on failure report and send zeros."""

    in_ports: Tuple[str, ...] = ()
    out_ports: Tuple[str, ...] = ()

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.failed = False
        self.process_name = proc_params.get("process_name", type(self).__name__)

    def step(self, **inputs: np.ndarray) -> Dict[str, np.ndarray]:
        raise NotImplementedError

    def _zeros(self, name: str) -> np.ndarray:
        port = getattr(self, name)
        return np.zeros(port._shape, port._d_type)

    def _fail(self, exc: BaseException) -> None:
        self.failed = True
        report_failure(self.process_name, type(self).__name__, int(self.time_step), exc)

    def run_spk(self) -> None:
        received = {name: getattr(self, name).recv() for name in self.in_ports}
        outputs = None
        if not self.failed:
            try:
                outputs = self.step(**received)
                for name in self.out_ports:
                    expected = getattr(self, name)._shape
                    if np.shape(outputs[name]) != tuple(expected):
                        raise ValueError(
                            f"output {name} has shape {np.shape(outputs[name])}, port expects {expected}"
                        )
            except Exception as exc:  # reported, raised in the parent by lava_local.runtime
                self._fail(exc)
                outputs = None
        for name in self.out_ports:
            getattr(self, name).send(outputs[name] if outputs is not None else self._zeros(name))

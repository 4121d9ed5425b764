"""Run a Lava network through lava_local.run and record Vars every step."""
from typing import Dict

import numpy as np

import lava_local


def run_and_record(root, variables: Dict[str, object], n_steps: int, numeric: str) -> Dict[str, np.ndarray]:
    from lava.proc.monitor.process import Monitor

    monitors = {}
    for key, var in variables.items():
        monitor = Monitor()
        monitor.probe(var, n_steps)
        monitors[key] = (monitor, var)
    try:
        lava_local.run(root, n_steps, numeric=numeric, stop=False)
        return {
            key: np.asarray(m.get_data()[var.process.name][var.name])
            for key, (m, var) in monitors.items()
        }
    finally:
        root.stop()

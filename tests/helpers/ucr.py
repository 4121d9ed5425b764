"""A fake aeon 1.6.0 wheel with one small UEA/UCR set, for the code that reads the sets out
of the wheel (``lava_local.data.load_uea_ucr``) without the real one."""
import zipfile

import numpy as np


def toy_ts(rng, n_per_class: int, length: int = 40) -> str:
    """A univariate two-class .ts file: sines against square waves, each with its own phase,
    period and noise."""
    rows = []
    for i in range(2 * n_per_class):
        label = ("sine", "square")[i % 2]
        t = np.arange(length)
        wave = np.sin(2 * np.pi * t / rng.uniform(12, 20) + rng.uniform(0, 2 * np.pi))
        values = (np.sign(wave) if label == "square" else wave) + 0.05 * rng.standard_normal(length)
        rows.append(",".join(f"{v:.4f}" for v in values) + f":{label}")
    return ("# generated for the test\n@problemName Toy\n@timeStamps false\n@missing false\n@univariate true\n"
            f"@equalLength true\n@seriesLength {length}\n@classLabel true sine square\n@data\n"
            + "\n".join(rows) + "\n")


def toy_wheel(folder) -> None:
    """A fake aeon 1.6.0 wheel in ``folder`` holding one UEA/UCR set, Toy (12 + 12 series)."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(folder / "aeon-1.6.0-py3-none-any.whl", "w") as archive:
        archive.writestr("aeon/__init__.py", "")
        archive.writestr("aeon/datasets/data/Toy/Toy_TRAIN.ts", toy_ts(rng, 12))
        archive.writestr("aeon/datasets/data/Toy/Toy_TEST.ts", toy_ts(rng, 12))

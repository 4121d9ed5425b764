"""Reading learned weights out of a Lava run: ``Var.get()`` versus the snapshot fast path.

    .venv/bin/python benchmarks/weight_io.py

For a DenseLayer of 300 x 300 and of 128 x 2312 (the N-MNIST hidden layer), times
``layer.weights.get()`` (Lava sends one message per element) against the layer model's
``.npy`` snapshot (written inside the model, loaded with ``np.load``), and checks that both
return the same matrix. Writes ``results/weight_io.{md,json}``.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

import lava_local
from lava_local.proc.dense_layer import DenseLayer
from lava_local.proc.source import SpikeDataSource
from lava_local.rules import TESS


def measure(n_out: int, n_in: int) -> dict:
    rng = np.random.default_rng(0)
    frames = (rng.random((1, 5, n_in)) < 0.1).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npy"
        source = SpikeDataSource(frames=frames, labels=np.array([1]), n_classes=10)
        layer = DenseLayer(weights=rng.normal(0, 0.1, (n_out, n_in)), steps_per_sample=5,
                           rule=TESS().for_classes(10), snapshot=str(path), snapshot_every=5)
        source.s_out.connect(layer.s_in)
        source.label_out.connect(layer.label_in)
        try:
            lava_local.run(layer, 5, stop=False)
            start = time.perf_counter()
            via_get = layer.weights.get()
            get_s = time.perf_counter() - start
            start = time.perf_counter()
            via_snapshot = np.load(path)
            snap_s = time.perf_counter() - start
        finally:
            layer.stop()
    assert np.array_equal(via_get, via_snapshot)
    return {"shape": f"{n_out}x{n_in}", "var_get_s": get_s, "snapshot_s": snap_s, "speedup": get_s / snap_s}


def main() -> None:
    rows = [measure(300, 300), measure(128, 2312)]
    lines = ["| weights | Var.get (s) | snapshot (s) | speed-up |", "|---|---|---|---|"]
    lines += [f"| {r['shape']} | {r['var_get_s']:.2f} | {r['snapshot_s']:.4f} | {r['speedup']:.0f}x |" for r in rows]
    out = Path("results")
    out.mkdir(exist_ok=True)
    (out / "weight_io.json").write_text(json.dumps(rows, indent=2))
    (out / "weight_io.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

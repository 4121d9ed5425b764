"""Tutorial 2: a learning network wired by hand from lava_local's processes.

Run:  .venv/bin/python tutorials/02_network_from_processes.py

SpikeDataSource -> DenseLayer (TESS) -> Readout, on 60 real N-MNIST recordings. The source
plays one sample every T steps and sends its label (-1 for samples to evaluate without
learning); every layer learns from its own local signal; the read-out stores a prediction
per sample. ``lava_local.Network`` does exactly this wiring for you (tutorial 5).
"""
import numpy as np

import lava_local
from lava_local.data import NMNISTSubset
from lava_local.proc.dense_layer import DenseLayer
from lava_local.proc.readout import Readout
from lava_local.proc.source import SpikeDataSource
from lava_local.rules import TESS


def main() -> None:
    steps = 10
    frames, labels = NMNISTSubset("train").dense(steps, range(60))
    schedule = np.concatenate([np.arange(50), np.arange(50, 60)])  # 50 to learn, 10 to test
    learn = np.arange(60) < 50
    rng = np.random.default_rng(0)

    source = SpikeDataSource(frames=frames, labels=labels, n_classes=10, schedule=schedule, learn=learn, name="source")
    hidden = DenseLayer(weights=rng.normal(0, 2 / np.sqrt(2312), (64, 2312)), steps_per_sample=steps,
                        rule=TESS(lr=1e-3).for_classes(10), name="hidden")  # a Network sets the class count itself
    readout = Readout(weights=rng.normal(0, 1 / 8, (10, 64)), steps_per_sample=steps, n_samples=60, lr=1e-2, name="readout")
    source.s_out.connect(hidden.s_in)
    source.label_out.connect(hidden.label_in)
    hidden.s_out.connect(readout.s_in)
    source.label_out.connect(readout.label_in)
    print(f"1. wired {source.name} -> {hidden.name} (2312 -> 64, TESS) -> {readout.name} (64 -> 10)")

    before = hidden.weights.init.copy()
    try:
        lava_local.run(readout, 60 * steps, numeric="float", stop=False)
        predictions = np.asarray(readout.predictions.get(), dtype=int)
        after = hidden.weights.get()
    finally:
        readout.stop()
    print(f"2. ran {60 * steps} steps; hidden weights moved by {np.abs(after - before).mean():.2e} on average")
    print(f"3. online train accuracy {np.mean(predictions[:50] == labels[:50]):.2f} (50 samples, one pass)")
    print(f"4. test accuracy on 10 held-out samples: {np.mean(predictions[50:] == labels[50:]):.2f}")


if __name__ == "__main__":
    main()

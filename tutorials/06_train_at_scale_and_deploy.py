"""Tutorial 6: train with the batched trainer, check it in Lava, fit it on Loihi, export it.

Run:  .venv/bin/python tutorials/06_train_at_scale_and_deploy.py

1. The same TESS network trained by ``LocalTrainer`` (torch, batches, CPU or GPU) and by
   ``BPTTTrainer`` (the baseline: same neuron, Psi as surrogate gradient); then
   ``LocalTrainer(..., window=5)``, which learns in windows of 5 steps (fewer, larger
   operations) and computes the same updates, for a rule whose eligibility is not filtered
   (``TESS(filtered=False)``: TESS's default filters the last hidden layer step by step).
2. The trained weights go back into the ``Network`` and classify in Lava's simulator,
   agreeing with the trainer sample for sample.
3. ``check_fit`` estimates the Loihi 2 resources; ``export_netx`` writes lava-dl's netx
   file for deployment.
"""
import tempfile
from pathlib import Path

import numpy as np
import torch

import lava_local
from lava_local.data import NMNISTSubset
from lava_local.export import export_netx
from lava_local.hw_profile import check_fit
from lava_local.trainer import BPTTTrainer, LocalTrainer, flush_subnormals


def main() -> None:
    flush_subnormals()  # first thing: keeps long sequences fast on a CPU (see the README)
    train = NMNISTSubset("train").dense(10, range(300))
    test = NMNISTSubset("test").dense(10, range(40))
    results = {}
    for name, cls in (("TESS", LocalTrainer), ("BPTT", BPTTTrainer)):
        net = lava_local.Network(2312, hidden=(128,), rule=lava_local.TESS(), seed=0)
        trainer = cls(net, device=None, optimizer="adam", lr=1e-3)  # None: CUDA when available
        generator = np.random.default_rng(0)
        for _ in range(4):
            trainer.fit_epoch(*train, batch_size=32, generator=generator)
        results[name] = (net, trainer)
        print(f"1. {name}: test accuracy {trainer.evaluate(*test):.2f} on 40 samples after 4 epochs of 300 "
              f"(device {trainer.device})")

    x = torch.as_tensor(train[0][:32], dtype=torch.float64)
    y = torch.as_tensor(train[1][:32])
    grads = []
    for window in (1, 5):  # windows learn from each step's eligibility, unfiltered
        net = lava_local.Network(2312, hidden=(128,), rule=lava_local.TESS(filtered=False), seed=1)
        windowed = LocalTrainer(net, device="cpu", dtype=torch.float64, window=window)
        windowed.compute_grads(x, y)
        grads.append([p.grad for p in windowed.params])
    difference = max(float((a - b).abs().max()) for a, b in zip(*grads))
    print(f"1b. window=5 against step by step: largest difference of the updates {difference:.1e}")

    net, trainer = results["TESS"]
    trainer.sync_to_network()
    in_lava = net.predict(test[0][:10])
    in_torch = trainer.scores(torch.as_tensor(test[0][:10], dtype=trainer.dtype, device=trainer.device))
    agree = np.mean(in_lava == in_torch.argmax(-1).cpu().numpy())
    print(f"2. Lava float network and trainer agree on {100 * agree:.0f} % of 10 test samples")

    print("3.", check_fit(net, "loihi2"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tess_nmnist.h5"
        scale = export_netx(net, path)
        print(f"   netx file written ({path.stat().st_size} bytes, weight scale {scale}); load it with "
              "lava.lib.dl.netx.hdf5.Network")


if __name__ == "__main__":
    main()

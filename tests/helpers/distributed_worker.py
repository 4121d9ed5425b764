"""Worker for tests/test_distributed.py: one rank of a gloo data-parallel run.

Run by ``torch.multiprocessing.start_processes`` (spawn): each rank sets the variables
``torchrun`` would set, joins through :func:`init_distributed` (the env:// path), trains
every case of :data:`CASES` and writes its final weights to ``<out>/<case>_rank<r>.pt``.
"""
import os
import sys

import numpy as np
import torch

# name: (optimizer, lr, samples, global batch size, epochs)
CASES = {
    "sgd_even": ("sgd", 0.05, 12, 4, 1),        # shards 2 + 2
    "adam_even": ("adam", 1e-2, 12, 4, 2),      # two epochs: generator advances identically
    "adam_uneven": ("adam", 1e-2, 13, 5, 1),    # shards 3 + 2 (last batch 3: 2 + 1)
    "sgd_empty_shard": ("sgd", 0.05, 13, 4, 1),  # last batch 1: shards 1 + 0
    # a centred read-out: its mean moves over the global batch in its order, on every rank
    "adam_uneven_centred": ("adam", 1e-2, 13, 5, 2),
    "sgd_empty_shard_centred": ("sgd", 0.05, 13, 4, 1),
}


def data(n, steps=6, n_in=40, seed=7):
    rng = np.random.default_rng(seed)
    return (rng.random((n, steps, n_in)) < 0.3).astype(np.uint8), rng.integers(0, 10, size=n)


def make_trainer(optimizer, lr, device="cpu", centred=False):
    from lava_local.network import Network
    from lava_local.rules import TESS
    from lava_local.trainer import LocalTrainer

    net = Network(40, hidden=(16,), rule=TESS(lr=0.05), init_scale=3.0, readout_centred=centred, seed=3)
    return LocalTrainer(net, device=device, dtype=torch.float64, optimizer=optimizer, lr=lr)


def worker(rank, world_size, port, out):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import lava_local  # noqa: F401
    from lava_local.trainer.distributed import (DataParallelTrainer, destroy_distributed, get_world_size,
                                                init_distributed, is_main_process)

    device = init_distributed(device="cpu", timeout_s=120)
    try:
        assert device.type == "cpu" and get_world_size() == world_size
        assert is_main_process() == (rank == 0)
        for name, (optimizer, lr, n, batch, epochs) in CASES.items():
            frames, labels = data(n)
            trainer = make_trainer(optimizer, lr, device, centred=name.endswith("centred"))
            if rank == 1:  # a differently initialised rank: the wrapper must broadcast rank 0's weights
                with torch.no_grad():
                    for p in trainer.params:
                        p.add_(1.0)
                if trainer.readout_mean is not None:  # and the mean
                    trainer.readout_mean, trainer.readout_seen = trainer.readout_mean + 0.5, 7
            dp = DataParallelTrainer(trainer)
            gen = np.random.default_rng(11)
            accs = [dp.fit_epoch(frames, labels, batch, generator=gen) for _ in range(epochs)]
            in_sync = dp.parameters_in_sync(atol=0.0)
            torch.save({"weights": [p.detach().clone() for p in trainer.params], "accs": accs,
                        "in_sync": in_sync, "next": int(gen.integers(1 << 30)),
                        "mean": None if trainer.readout_mean is None else trainer.readout_mean.clone(),
                        "seen": trainer.readout_seen},
                       os.path.join(out, f"{name}_rank{rank}.pt"))
    finally:
        destroy_distributed()
    # Skip the interpreter's C++ static destructors: gloo's can abort a process that has
    # already finished and written its results (seen about once in ten runs on 2 cores).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

"""Data-parallel training (gloo, 2 CPU processes) equals one process on the same global batches."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import distributed_worker as dw
from lava_local.trainer.distributed import (DataParallelTrainer, get_rank, get_world_size, is_main_process,
                                            shard_indices, shard_sizes)

WORLD = 2
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(out: Path, timeout: float = 150.0) -> None:
    import torch.multiprocessing as mp

    ctx = mp.start_processes(dw.worker, args=(WORLD, _free_port(), str(out)), nprocs=WORLD, join=False,
                             start_method="spawn")
    deadline = time.monotonic() + timeout
    try:
        while not ctx.join(timeout=1.0):  # raises ProcessRaisedException if a rank fails
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {WORLD} ranks did not finish in {timeout} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("dp")
    _spawn(out)
    return {name: [torch.load(out / f"{name}_rank{r}.pt", weights_only=True) for r in range(WORLD)]
            for name in dw.CASES}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", list(dw.CASES))
def test_two_gloo_ranks_equal_one_process_on_the_same_global_batches(ranks, case):
    """Each rank trains on its shard of every global batch, .grad is averaged across ranks
    (weighted by shard size), and the weights equal a single process's (SGD and Adam, even,
    uneven and empty shards), identical on both ranks, with the same accuracy and the same
    generator state afterwards; a centred read-out's mean too."""
    results = ranks[case]
    optimizer, lr, n, batch, epochs = dw.CASES[case]
    frames, labels = dw.data(n)
    centred = case.endswith("centred")
    ref_trainer = dw.make_trainer(optimizer, lr, centred=centred)
    gen = np.random.default_rng(11)
    ref_accs = [ref_trainer.fit_epoch(frames, labels, batch, generator=gen) for _ in range(epochs)]
    reference = [p.detach().numpy() for p in ref_trainer.params]
    init = [p.detach().numpy() for p in dw.make_trainer(optimizer, lr).params]
    if centred:  # the mean of every learning sample, in the global order, on both ranks
        assert ref_trainer.readout_seen == n * epochs and float(ref_trainer.readout_mean.max()) > 0.05
        for r in results:
            assert r["seen"] == ref_trainer.readout_seen
            np.testing.assert_allclose(r["mean"].numpy(), ref_trainer.readout_mean.numpy(), rtol=0, atol=1e-12)
    for r in results:
        assert r["in_sync"]
        assert r["accs"] == pytest.approx(ref_accs)
        assert r["next"] == results[0]["next"]
        for got, want, w0 in zip(r["weights"], reference, init):
            np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-10)
            assert not np.allclose(want, w0)  # it did learn
    for a, b in zip(results[0]["weights"], results[1]["weights"]):
        assert torch.equal(a, b)  # bit-identical across ranks


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8])
def test_shards_cover_the_batch_in_order_and_differ_by_at_most_one(n):
    idx = np.arange(100, 100 + n)
    for world in (1, 2, 3):
        parts = [shard_indices(idx, r, world) for r in range(world)]
        np.testing.assert_array_equal(np.concatenate(parts), idx)
        sizes = [len(p) for p in parts]
        assert sizes == shard_sizes(n, world)
        assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError, match="rank"):
        shard_indices(idx, 2, 2)


def test_without_a_process_group_the_wrapper_is_the_plain_trainer():
    assert (get_rank(), get_world_size(), is_main_process()) == (0, 1, True)
    frames, labels = dw.data(10)
    a, b = dw.make_trainer("adam", 1e-2), dw.make_trainer("adam", 1e-2)
    dp = DataParallelTrainer(b)
    acc_a = a.fit_epoch(frames, labels, 4, generator=np.random.default_rng(5))
    acc_b = dp.fit_epoch(frames, labels, 4, generator=np.random.default_rng(5))
    assert acc_a == acc_b
    for p, q in zip(a.params, b.params):
        assert torch.equal(p, q)
    assert dp.evaluate(frames, labels) == a.evaluate(frames, labels)
    with pytest.raises(TypeError, match="TrainerBase"):
        DataParallelTrainer("trainer")


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


@pytest.mark.timeout(120)
def test_command_line_entry_under_torchrun(tmp_path):
    """``torchrun -m lava_local.trainer.distributed`` trains, checkpoints on rank 0, and its
    weights equal those of the same command run in a single process (a centred read-out
    here: its mean moves over the global batch)."""
    help_text = subprocess.run([sys.executable, "-m", "lava_local.trainer.distributed", "--help"], env=_env(),
                               capture_output=True, text=True, timeout=60, check=True).stdout
    assert "torchrun" in help_text and "--batch-size" in help_text
    common = ["-m", "lava_local.trainer.distributed", "--synthetic", "9", "--steps", "4", "--hidden", "8",
              "--batch-size", "4", "--epochs", "2", "--dtype", "float64", "--optimizer", "sgd", "--lr", "0.05",
              "--centred-readout"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
                f"--master_port={_free_port()}"]
    multi = subprocess.run(torchrun + common + ["--save-weights", str(tmp_path / "dp.npz"), "--checkpoint",
                                                str(tmp_path / "ck.pt")],
                           env=_env(), capture_output=True, text=True, timeout=100)
    assert multi.returncode == 0, multi.stderr[-3000:]
    assert "world_size=2" in multi.stdout
    single = subprocess.run([sys.executable] + common + ["--save-weights", str(tmp_path / "one.npz")],
                            env=_env(), capture_output=True, text=True, timeout=60)
    assert single.returncode == 0, single.stderr[-3000:]
    with np.load(tmp_path / "dp.npz") as a, np.load(tmp_path / "one.npz") as b:
        assert len(a.files) == 2
        for k in a.files:
            np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-10)
    from lava_local.trainer.checkpoint import read_checkpoint

    assert read_checkpoint(tmp_path / "ck.pt")["epoch"] == 2

"""Data-parallel training of the torch trainers with ``torch.distributed``.

Launch one process per device with ``torchrun``; every process builds the same
:class:`~lava_local.network.Network` and trainer, wraps it in :class:`DataParallelTrainer`
and calls :meth:`DataParallelTrainer.fit_epoch` with the *global* batch size and a numpy
Generator seeded identically on every rank::

    device = init_distributed()                 # gloo on CPU, NCCL on CUDA (from the device)
    trainer = LocalTrainer(Network(...), device=device, optimizer="adam", lr=1e-3)
    dp = DataParallelTrainer(trainer)           # broadcasts rank 0's weights
    gen = np.random.default_rng(seed)           # same seed on all ranks: same shuffle
    for epoch in range(epochs):
        acc = dp.fit_epoch(frames, labels, batch_size=64, generator=gen)
        if is_main_process():
            save_checkpoint("ckpt.pt", trainer, epoch + 1, generator=gen)

or from the command line: ``torchrun --nproc_per_node=2 -m lava_local.trainer.distributed --help``.

Every rank draws the same permutation, cuts the same global batches and takes its own
contiguous slice of each (:func:`shard_indices`; sizes differ by at most one, a rank may
get nothing). The local rules need no backward pass: after ``compute_grads`` each rank's
``.grad`` is the mean update over its shard, so the ranks exchange ``shard_size * .grad``
(and their shard sizes) in one ``all_reduce(SUM)`` and divide by the global batch size:
the result is the mean over the global batch, exactly what one process computes on the
whole batch (up to float rounding), also for uneven shards. The optimisers then take the
same step on every rank, so the weights stay identical without further communication.
The same holds for :class:`~lava_local.trainer.BPTTTrainer` (its loss is a batch mean).
A centred read-out (``Network(readout_centred=True)``) moves its input mean after each batch,
sample by sample: the ranks gather every sample's read-out input (:meth:`gather_rows`, in the
global batch's order) and each moves the mean over the whole batch, so the means stay equal
to one process's too.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import timedelta
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.distributed as dist

__all__ = [
    "init_distributed",
    "destroy_distributed",
    "is_distributed",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "barrier",
    "default_device",
    "shard_indices",
    "shard_sizes",
    "DataParallelTrainer",
    "main",
]


# -- process group ------------------------------------------------------------------------
def is_distributed() -> bool:
    """``True`` when a default process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0 (or the only process): the one that logs and writes checkpoints."""
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def default_device(backend: Optional[str] = None) -> torch.device:
    """This process's device: ``cuda:LOCAL_RANK`` when CUDA is available (and the backend
    is not gloo-only by choice), else the CPU."""
    if torch.cuda.is_available() and backend != "gloo":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    return torch.device("cpu")


def init_distributed(backend: Optional[str] = None, device: Any = None,
                     timeout_s: float = 600.0) -> torch.device:
    """Join the process group that ``torchrun`` describes; return this process's device.

    ``backend=None`` picks from the device: ``"nccl"`` for CUDA, ``"gloo"`` for the CPU.
    ``device=None`` picks ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU. Reads
    ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` (``env://``). Without those
    variables (a plain ``python`` run) nothing is initialised and the run is single-process:
    :class:`DataParallelTrainer` then trains exactly like the wrapped trainer. Idempotent.
    """
    if backend not in (None, "gloo", "nccl", "mpi"):
        raise ValueError(f"backend must be None, 'gloo', 'nccl' or 'mpi', got {backend!r}")
    device = torch.device(device) if device is not None else default_device(backend)
    if backend is None:
        backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise ValueError("the NCCL backend needs a CUDA device")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if is_distributed():
        return device
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return device  # single process
    if not dist.is_available():
        raise RuntimeError("torch.distributed is not available in this torch build")
    kwargs = dict(backend=backend, init_method="env://", timeout=timedelta(seconds=timeout_s))
    if backend == "nccl":
        kwargs["device_id"] = device
    dist.init_process_group(**kwargs)
    return device


def destroy_distributed() -> None:
    """Leave the process group (safe to call when none is initialised)."""
    if is_distributed():
        # Every rank reaches this point before the group is torn down: gloo aborts the
        # process ("terminate called without an active exception") if a peer disconnects
        # while its threads still serve the last collectives.
        dist.barrier()
        dist.destroy_process_group()


# -- sharding -----------------------------------------------------------------------------
def shard_sizes(n: int, world_size: int) -> List[int]:
    """How many of ``n`` samples each rank gets: ``n // W`` or one more (first ranks)."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    base, extra = divmod(int(n), world_size)
    return [base + (r < extra) for r in range(world_size)]


def shard_indices(indices: Sequence[int], rank: Optional[int] = None,
                  world_size: Optional[int] = None) -> np.ndarray:
    """This rank's contiguous slice of one global batch's sample indices.

    The slices of all ranks, in rank order, concatenate back to ``indices``; their sizes
    differ by at most one (:func:`shard_sizes`) and may be zero when the batch is smaller
    than the world. Defaults: the current process group's rank and size.
    """
    rank = get_rank() if rank is None else int(rank)
    world_size = get_world_size() if world_size is None else int(world_size)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    indices = np.asarray(indices)
    sizes = shard_sizes(len(indices), world_size)
    start = sum(sizes[:rank])
    return indices[start:start + sizes[rank]]


# -- the wrapper --------------------------------------------------------------------------
class DataParallelTrainer:
    """Data-parallel wrapper of a :class:`~lava_local.trainer.base.TrainerBase` trainer.

    ``broadcast=True`` copies rank 0's weights to every rank at construction (as
    ``DistributedDataParallel`` does), so ranks start identical even if their networks were
    seeded differently. Without an initialised process group the world has size 1 and no
    collective runs: :meth:`fit_epoch` then equals ``trainer.fit_epoch`` bit for bit.
    Optimiser states are not exchanged: they evolve identically from identical gradients.
    Every rank must construct the wrapper and call its methods in the same order (they run
    collectives).
    """

    def __init__(self, trainer, group: Any = None, broadcast: bool = True) -> None:
        from lava_local.trainer.base import TrainerBase

        if not isinstance(trainer, TrainerBase):
            raise TypeError("trainer must be a LocalTrainer or BPTTTrainer (a TrainerBase)")
        if trainer.net.rule.apply == "step":
            raise ValueError("rule.apply='step' updates the weights after every step on each rank; data-parallel "
                             "training averages the updates per batch: use apply='sample'")
        self.trainer = trainer
        self.group = group
        self.rank = dist.get_rank(group) if is_distributed() else 0
        self.world_size = dist.get_world_size(group) if is_distributed() else 1
        self._cpu_comm = False
        if self.world_size > 1:
            comm_backend = dist.get_backend(group)
            if comm_backend == "nccl" and trainer.device.type != "cuda":
                raise ValueError("the process group uses NCCL but the trainer is on the CPU")
            # gloo reduces CUDA tensors only in some builds: go through the CPU then
            self._cpu_comm = comm_backend == "gloo" and trainer.device.type != "cpu"
            if broadcast:
                self.broadcast_parameters()

    # communication helpers
    def _to_comm(self, t: torch.Tensor) -> torch.Tensor:
        return t.cpu() if self._cpu_comm else t

    def _all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        buf = self._to_comm(t)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM, group=self.group)
        return buf.to(t.device) if buf is not t else t

    def broadcast_parameters(self, src: int = 0) -> None:
        """Copy rank ``src``'s weights to every rank."""
        if self.world_size == 1:
            return
        t = self.trainer
        with torch.no_grad():
            for p in t.params:
                buf = self._to_comm(p.detach().clone())
                dist.broadcast(buf, src=src, group=self.group)
                p.copy_(buf.to(p.device))
            if t.readout_mean is not None:  # a centred read-out's mean and count go along
                ref = t.readout_mean
                buf = self._to_comm(torch.cat([ref, ref.new_tensor([float(t.readout_seen)])]))
                dist.broadcast(buf, src=src, group=self.group)
                buf = buf.to(ref.device)
                t.readout_mean, t.readout_seen = buf[:-1].clone(), int(round(float(buf[-1])))

    def parameters_in_sync(self, atol: float = 0.0) -> bool:
        """``True`` when every rank holds the same weights (max abs difference <= ``atol``)."""
        if self.world_size == 1:
            return True
        flat = torch.cat([p.detach().reshape(-1) for p in self.trainer.params]).to(torch.float64)
        lo, hi = self._to_comm(flat.clone()), self._to_comm(flat.clone())
        dist.all_reduce(lo, op=dist.ReduceOp.MIN, group=self.group)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX, group=self.group)
        return bool((hi - lo).abs().max() <= atol)

    def average_gradients(self, shard_size: int) -> int:
        """Replace every ``.grad`` (a mean over this rank's ``shard_size`` samples) by the
        mean over the global batch; return the global batch size.

        One ``all_reduce`` carries ``shard_size * grad`` of every parameter, a presence flag
        per parameter (a rank with an empty shard has no grads but learns which layers the
        others updated) and the shard size. Layers that no rank updated keep ``grad=None``.
        """
        params = self.trainer.params
        if self.world_size == 1:
            return int(shard_size)
        ref = params[0]
        parts = []
        for p in params:
            if p.grad is not None and shard_size > 0:
                parts.append(p.grad.detach().reshape(-1).to(ref.dtype) * float(shard_size))
            else:
                parts.append(torch.zeros(p.numel(), dtype=ref.dtype, device=ref.device))
        flags = [1.0 if (p.grad is not None and shard_size > 0) else 0.0 for p in params]
        tail = torch.tensor(flags + [float(shard_size)], dtype=ref.dtype, device=ref.device)
        buf = self._all_reduce(torch.cat(parts + [tail]))
        total = int(round(float(buf[-1])))
        offset = 0
        for i, p in enumerate(params):
            n = p.numel()
            if float(buf[-1 - len(params) + i]) > 0 and total > 0:
                p.grad = (buf[offset:offset + n] / total).reshape(p.shape).to(p.dtype)
            else:
                p.grad = None
            offset += n
        return total

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One global batch, given this rank's shard ``(x, y)`` (may be empty): local grads,
        weighted average across ranks, optimiser step. Returns this shard's scores."""
        t = self.trainer
        centred = t.readout_mean is not None and self.world_size > 1
        if centred:  # the mean every rank read in this batch, moved below over the global batch
            before, t.last_readout_input_sum = (t.readout_mean, t.readout_seen), None
        if x.shape[0] > 0:
            scores = t.compute_grads(x, y)
        else:
            for p in t.params:
                p.grad = None
            scores = torch.zeros(0, t.net.n_classes, dtype=t.dtype, device=t.device)
        self.average_gradients(int(x.shape[0]))
        if centred:
            sums = t.last_readout_input_sum
            if sums is None:  # an empty shard
                sums = before[0].new_zeros(0, before[0].shape[0])
            t.readout_mean, t.readout_seen = before
            t.update_readout_mean(x.shape[1], self.gather_rows(sums))
        t.step_optimizers()
        return scores

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Every rank's ``rows`` (``(k_r, n)``, ``k_r`` may be 0) stacked in rank order: a
        global batch's per-sample values in the batch's order, since shards are contiguous."""
        if self.world_size == 1:
            return rows
        count = torch.tensor([rows.shape[0]], dtype=torch.int64, device="cpu" if self._cpu_comm else rows.device)
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        dist.all_gather(counts, count, group=self.group)
        sizes = [int(c) for c in counts]
        padded = self._to_comm(torch.cat([rows, rows.new_zeros(max(sizes) - rows.shape[0], *rows.shape[1:])]))
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded, group=self.group)
        return torch.cat([part[:k] for part, k in zip(parts, sizes)]).to(rows.device)

    # data
    def _tensors(self, frames: np.ndarray, labels: np.ndarray, idx: np.ndarray) -> Tuple[torch.Tensor, torch.Tensor]:
        t = self.trainer
        if len(idx) == 0:
            x = torch.zeros((0, *np.shape(frames)[1:]), dtype=t.dtype, device=t.device)
            return x, torch.zeros(0, dtype=torch.long, device=t.device)
        # the same conversion as TrainerBase.batches
        x = torch.as_tensor(np.asarray(frames[idx], dtype=np.float32), dtype=t.dtype, device=t.device)
        return x, torch.as_tensor(np.asarray(labels[idx]), dtype=torch.long, device=t.device)

    def global_batches(self, n: int, batch_size: int, shuffle: bool,
                       generator: Optional[np.random.Generator] = None) -> Iterator[np.ndarray]:
        """The global batches' sample indices, drawn exactly as ``TrainerBase.batches`` does
        (so every rank, given the same generator state, cuts the same batches)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = (generator or self.trainer.generator).permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]

    def _sum_across(self, values: Sequence[float]) -> List[float]:
        if self.world_size == 1:
            return [float(v) for v in values]
        t = torch.tensor(list(values), dtype=torch.float64,
                         device=self.trainer.device if not self._cpu_comm else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=self.group)
        return [float(v) for v in t.cpu()]

    def fit_epoch(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 32,
                  generator: Optional[np.random.Generator] = None) -> float:
        """One shuffled pass; ``batch_size`` is the *global* batch. Every rank must pass the
        same data and a generator in the same state. Returns the global training accuracy."""
        self.trainer._check(frames, labels)
        if hasattr(self.trainer, "calibrate_signal"):  # every rank has the whole set: the same rates
            self.trainer.calibrate_signal(frames)
        correct = 0
        for idx in self.global_batches(len(labels), batch_size, True, generator):
            x, y = self._tensors(frames, labels, shard_indices(idx, self.rank, self.world_size))
            scores = self.train_step(x, y)
            correct += int((scores.argmax(-1) == y).sum()) if len(y) else 0
        return self._sum_across([correct])[0] / len(labels)

    def evaluate(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 100) -> float:
        """Accuracy over the whole set, each rank scoring its shard of every batch."""
        self.trainer._check(frames, labels)
        correct = 0
        with torch.no_grad():
            for idx in self.global_batches(len(labels), batch_size, False):
                x, y = self._tensors(frames, labels, shard_indices(idx, self.rank, self.world_size))
                if len(y):
                    correct += int((self.trainer.scores(x).argmax(-1) == y).sum())
        return self._sum_across([correct])[0] / len(labels)

    # conveniences forwarded to the trainer
    def sync_to_network(self) -> None:
        self.trainer.sync_to_network()

    def state_dict(self):
        return self.trainer.state_dict()

    def load_state_dict(self, state) -> None:
        self.trainer.load_state_dict(state)


# -- command line -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lava_local.trainer.distributed",
        description="Data-parallel training of a lava_local Network with its local rule. Launch with "
                    "torchrun, e.g. `torchrun --nproc_per_node=2 -m lava_local.trainer.distributed "
                    "--data train.npz --hidden 128 --epochs 3 --checkpoint run.pt`. A plain python run "
                    "trains in one process.",
    )
    p.add_argument("--data", help="an .npz with arrays 'frames' (N, T, n_in) and 'labels' (N,); optional "
                                  "'test_frames', 'test_labels' (loaded without pickle)")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="instead of --data: N random Bernoulli samples (smoke test)")
    p.add_argument("--steps", type=int, default=10, help="time steps of the synthetic samples")
    p.add_argument("--n-in", type=int, default=40, help="inputs of the synthetic samples")
    p.add_argument("--n-classes", type=int, default=10)
    p.add_argument("--hidden", type=int, nargs="*", default=[128], help="hidden layer sizes")
    p.add_argument("--rule", choices=["tess", "stllr", "lls", "bptt"], default="tess")
    p.add_argument("--centred-readout", action="store_true", default=None,
                   help="the read-out integrates its input less its running mean (Network(readout_centred=True), "
                        "the default)")
    p.add_argument("--plain-readout", dest="centred_readout", action="store_false",
                   help="the papers' read-out on the spikes themselves (readout_centred=False)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32, help="global batch size (all ranks together)")
    p.add_argument("--seed", type=int, default=0, help="network init and shuffling (same on all ranks)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--device", default=None, help="default: cuda:LOCAL_RANK if available, else cpu")
    p.add_argument("--backend", choices=["gloo", "nccl"], default=None, help="default: from the device")
    p.add_argument("--checkpoint", help="write a checkpoint here after every epoch (rank 0)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    p.add_argument("--save-weights", help="write the final weights as an .npz (rank 0)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command-line entry (see ``--help``); returns the exit code."""
    from lava_local.trainer.base import flush_subnormals

    flush_subnormals()  # first, so that torch's worker threads inherit it
    args = _parser().parse_args(argv)
    from lava_local.network import Network
    from lava_local.rules import LLS, STLLR, TESS
    from lava_local.trainer import BPTTTrainer, LocalTrainer
    from lava_local.trainer.checkpoint import load_checkpoint, save_checkpoint

    if bool(args.data) == bool(args.synthetic):
        _parser().error("give exactly one of --data and --synthetic")
    device = init_distributed(args.backend, args.device)
    try:
        test = None
        if args.data:
            with np.load(args.data, allow_pickle=False) as f:
                frames, labels = f["frames"], f["labels"].astype(np.int64)
                if "test_frames" in f and "test_labels" in f:
                    test = (f["test_frames"], f["test_labels"].astype(np.int64))
        else:
            data_rng = np.random.default_rng(args.seed + 1)
            frames = (data_rng.random((args.synthetic, args.steps, args.n_in)) < 0.2).astype(np.uint8)
            labels = data_rng.integers(0, args.n_classes, size=args.synthetic)
        rule = {"tess": TESS, "stllr": STLLR, "lls": LLS, "bptt": TESS}[args.rule]()
        rule = rule.with_(signal=dataclasses.replace(rule.signal, n_classes=args.n_classes))
        net = Network(frames.shape[2], hidden=tuple(args.hidden), n_classes=args.n_classes, rule=rule,
                      readout_centred=args.centred_readout, seed=args.seed)
        cls = BPTTTrainer if args.rule == "bptt" else LocalTrainer
        trainer = cls(net, device=device, dtype=getattr(torch, args.dtype), optimizer=args.optimizer, lr=args.lr)
        dp = DataParallelTrainer(trainer)
        generator = np.random.default_rng(args.seed)
        start = 0
        if args.resume and args.checkpoint and os.path.exists(args.checkpoint):
            start = load_checkpoint(args.checkpoint, trainer, generator=generator)["epoch"]
        for epoch in range(start, args.epochs):
            acc = dp.fit_epoch(frames, labels, args.batch_size, generator)
            line = f"epoch {epoch + 1}/{args.epochs} train_acc={acc:.4f}"
            if test is not None:
                line += f" test_acc={dp.evaluate(*test):.4f}"
            if is_main_process():
                print(line + f" (world_size={dp.world_size})", flush=True)
                if args.checkpoint:
                    save_checkpoint(args.checkpoint, trainer, epoch + 1, generator=generator)
            barrier()
        if args.save_weights and is_main_process():
            np.savez(args.save_weights, *[p.detach().cpu().double().numpy() for p in trainer.params])
    finally:
        destroy_distributed()
    return 0


if __name__ == "__main__":
    code = main()
    # Leave without the interpreter's C++ static destructors: gloo's can abort (SIGABRT) a
    # rank that has already finished, checkpointed and torn down its process group (2 of
    # 6 runs on a loaded 2-core machine), which torchrun reports as a failure.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

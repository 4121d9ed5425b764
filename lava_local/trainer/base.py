"""Shared parts of the trainers: parameters, optimisers, data batches, evaluation."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from lava_local import _validate
from lava_local.health import check_network
from lava_local.kernels.basis import make_basis
from lava_local.kernels.conv import avg_pool, standardize_weights, standardize_weights_grad
from lava_local.kernels.layer import input_mean_update


def resolve_device(device: Any = None) -> torch.device:
    """``None`` picks CUDA when available, else the CPU (no device is hard-coded)."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def flush_subnormals() -> bool:
    """Flush subnormal floats to zero in this process's CPU arithmetic (x86 FTZ/DAZ, Arm FZ).

    Traces of silent neurons decay geometrically, and past about 50 steps their products
    in the weight-gradient convolutions fall below 1.2e-38 (float32), where CPUs compute
    many times slower: a VGG-9 TESS step at T = 60 took 30 s instead of 19 s on 2 cores.
    Values that small change no update measurably (GPUs are not affected).

    Call it at the start of a program, before torch does any work: the setting belongs to
    each thread, and torch's worker threads copy it only when they start. It stays on for
    the process (the training programs of this package call it). Returns ``False`` where
    the CPU cannot do it.
    """
    for kind in (np.float16, np.float32, np.float64, np.longdouble):
        np.finfo(kind)  # cached now: computed later, NumPy would warn that subnormals read as 0
    return torch.set_flush_denormal(True)


def _adam(param: torch.nn.Parameter, lr: float) -> torch.optim.Adam:
    """Adam in torch's fused form where the device has it: one kernel per step and no
    parameter-sized temporaries (the loop form's square roots and quotients were the peak
    of a local rule's training step); the same update up to float rounding."""
    try:
        return torch.optim.Adam([param], lr=lr, fused=True)
    except RuntimeError:  # a device without the fused kernel
        return torch.optim.Adam([param], lr=lr)




class TrainerBase:
    """Holds the network's weights as torch parameters and one optimiser per layer.

    ``optimizer``: ``"adam"`` (the papers': Adam per layer) or ``"sgd"``; ``lr``: one rate
    for every layer, or a list with one per layer (hidden layers first, read-out last).
    """

    #: whether each hidden layer learns from its own local loss (LocalTrainer under a local
    #: signal), which keeps lower recurrent layers' recurrent blocks at their start by default
    #: (:meth:`~lava_local.network.Network.trainer_recurrent_steps`)
    learns_locally: bool = False

    def __init__(self, net, device: Any = None, dtype: torch.dtype = torch.float32,
                 optimizer: str = "adam", lr: Any = 1e-3) -> None:
        from lava_local.network import Network

        if not isinstance(net, Network):
            raise TypeError("net must be a lava_local.network.Network")
        self.net = net
        #: each hidden layer's recurrent-block step relative to its input block's, resolved once
        #: for this trainer's signal (:meth:`~lava_local.network.Network.trainer_recurrent_steps`)
        self.recurrent_steps: List[float] = net.trainer_recurrent_steps(self.learns_locally)
        self.device = resolve_device(device)
        self.dtype = dtype
        self.params: List[torch.nn.Parameter] = [
            torch.nn.Parameter(torch.as_tensor(w, dtype=dtype, device=self.device)) for w in net.weights
        ]
        rates = list(lr) if isinstance(lr, (list, tuple)) else [lr] * len(self.params)
        if len(rates) != len(self.params):
            raise ValueError(f"lr needs one rate per layer ({len(self.params)}), got {len(rates)}")
        for r in rates:
            _validate.positive("lr", r)
        if optimizer == "adam":
            self.optimizers = [_adam(p, r) for p, r in zip(self.params, rates)]
        elif optimizer == "sgd":
            self.optimizers = [torch.optim.SGD([p], lr=r) for p, r in zip(self.params, rates)]
        else:
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        # shuffles when no generator is passed: seeded, and advancing from epoch to epoch
        self.generator = np.random.default_rng(net.seed)
        # spikes of each hidden layer summed on the device while counting (fit_epoch,
        # firing_rates), with the neuron-steps they came from: one host read per epoch
        self._spike_counts: Optional[List[torch.Tensor]] = None
        self._neuron_steps: List[int] = [0] * (len(self.params) - 1)
        self._initial_norms = [float(np.linalg.norm(w)) for w in net.weights]
        sizes = net.signal_sizes
        self.bases = [torch.as_tensor(make_basis(net.rule.signal.basis, net.rule.signal.n_classes, n),
                                      dtype=dtype, device=self.device) for n in sizes]
        #: a centred read-out's input mean (``Network(readout_centred=True)``; ``None`` otherwise)
        #: and the learning samples it has seen; the last batch's read-out input summed over time
        self.readout_mean: Optional[torch.Tensor] = (
            torch.as_tensor(net.readout_mean, dtype=dtype, device=self.device) if net.readout_centred else None)
        self.readout_seen = int(net.readout_seen)
        self._readout_input_sum: Optional[torch.Tensor] = None
        #: the read-out's input summed over time, per sample of the last learning batch that
        #: moved the mean (data-parallel training gathers it from every rank)
        self.last_readout_input_sum: Optional[torch.Tensor] = None

    # -- the centred read-out -------------------------------------------------------------
    def readout_input_sum(self, batch: int, learning: bool, like: torch.Tensor) -> Optional[torch.Tensor]:
        """Where a learning batch sums the read-out's input over time (a centred read-out
        only), kept for :meth:`update_readout_mean`."""
        n_in = self.params[-1].shape[1]
        self._readout_input_sum = like.new_zeros(batch, n_in) if self.readout_mean is not None and learning else None
        return self._readout_input_sum

    def update_readout_mean(self, steps: int, sums: Optional[torch.Tensor] = None) -> None:
        """After a learning batch, the centred read-out's mean moves sample by sample, in the
        batch's order (:func:`~lava_local.kernels.layer.input_mean_update`): at batch 1, what
        the Lava read-out does after each sample; in a batch, every sample reads the mean of
        the samples before the batch. ``sums``: the samples' read-out input summed over
        ``steps`` (default: the batch just run)."""
        if sums is None:
            sums, self._readout_input_sum = self._readout_input_sum, None
        if sums is None:
            return
        self.last_readout_input_sum = sums
        for counts in sums:
            self.readout_seen += 1
            self.readout_mean = input_mean_update(self.readout_mean, counts, steps, self.readout_seen)

    # -- architecture pieces shared by both trainers ---------------------------------------
    def effective_weights(self) -> List[torch.Tensor]:
        """Hidden weights as the forward pass uses them (standardised where a Conv asks)."""
        return [standardize_weights(p) if g is not None and g.standardize else p
                for g, p in zip(self.net.geometries, self.params[:-1])]

    def layer_output(self, i: int, spikes: torch.Tensor, count: bool = True) -> torch.Tensor:
        """What layer ``i`` passes on: its spikes, average-pooled by ``pool_out``, flattened."""
        if count and self._spike_counts is not None:  # every trainer passes each step's spikes through here
            self._spike_counts[i] += spikes.detach().sum()
            self._neuron_steps[i] += spikes.numel()
        g = self.net.geometries[i]
        if g is not None and g.pool_out > 1:
            spikes = avg_pool(spikes, g.next_shape[1])
        return spikes.reshape(spikes.shape[0], -1)

    def to_parameter_grad(self, i: int, update: torch.Tensor) -> torch.Tensor:
        """Map an update of the effective weights to the raw parameter (chain rule through
        weight standardisation, which depends on the weights only, not on time; in closed
        form, so a local rule runs no backward pass at all)."""
        g = self.net.geometries[i]
        if g is None or not g.standardize:
            return update
        return standardize_weights_grad(self.params[i].detach(), update)

    # -- data ---------------------------------------------------------------------------
    def batches(self, frames: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool,
                generator: Optional[np.random.Generator] = None) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        order = (generator or self.generator).permutation(len(labels)) if shuffle else np.arange(len(labels))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            x = torch.as_tensor(np.asarray(frames[idx], dtype=np.float32), dtype=self.dtype, device=self.device)
            yield x, torch.as_tensor(np.asarray(labels[idx]), dtype=torch.long, device=self.device)

    def _check(self, frames: np.ndarray, labels: np.ndarray) -> None:
        from lava_local.network import _check_data

        _check_data("data", (frames, labels), self.net.n_in, self.net.n_classes)

    def compute_grads(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fill ``.grad`` for one batch and return the read-out scores (per trainer)."""
        raise NotImplementedError

    def step_optimizers(self) -> None:
        """Apply ``.grad`` with each layer's optimiser (layers without a grad are skipped)."""
        for i, (p, opt) in enumerate(zip(self.params, self.optimizers)):
            if p.grad is not None:
                self.optimizer_step(i)
            opt.zero_grad(set_to_none=True)

    def optimizer_step(self, i: int) -> None:
        """Layer ``i``'s optimiser step; a recurrent layer's recurrent block moves by its
        ``recurrent_step`` times that (:class:`~lava_local.network.Recurrent`), so both blocks
        change at one pace relative to their scales."""
        step = self.recurrent_steps[i] if i < len(self.recurrent_steps) else 1.0
        if step == 1.0:
            self.optimizers[i].step()
            return
        p = self.params[i]
        block = p.detach()[:, p.shape[1] - p.shape[0]:]  # [input | recurrent]: the square block
        before = block.clone()
        self.optimizers[i].step()
        block.sub_(before).mul_(step).add_(before)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One batch: gradients (local updates or BPTT) into ``.grad``, then the optimisers."""
        scores = self.compute_grads(x, y)
        self.step_optimizers()
        return scores

    def fit_epoch(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 32,
                  generator: Optional[np.random.Generator] = None, check: bool = True) -> float:
        """One shuffled pass over the data; returns the training accuracy.

        ``check``: count each hidden layer's spikes during the epoch (kept in
        :attr:`last_firing_rates`) and raise :class:`~lava_local.health.TrainingCollapse` at its end if a
        layer that learns fell silent or saturated or the weights became non-finite or exploded.
        """
        self._check(frames, labels)
        correct = 0
        with self._counting_spikes(check):
            for x, y in self.batches(frames, labels, batch_size, shuffle=True, generator=generator):
                correct += int((self.train_step(x, y).argmax(-1) == y).sum())
        if check:
            self.check_health()
        return correct / len(labels)

    @contextmanager
    def _counting_spikes(self, enabled: bool = True) -> Iterator[None]:
        """Count each hidden layer's spikes while the block runs; the mean rates go to
        :attr:`last_firing_rates` (one host read at the end)."""
        if not enabled:
            yield
            return
        self._spike_counts = [torch.zeros((), dtype=torch.float64, device=self.device) for _ in self.params[:-1]]
        self._neuron_steps = [0] * len(self._spike_counts)
        try:
            yield
        finally:
            counts = torch.stack(self._spike_counts).cpu().numpy() if self._spike_counts else np.zeros(0)
            self.last_firing_rates = [float(c) / max(n, 1) for c, n in zip(counts, self._neuron_steps)]
            self._spike_counts = None

    def firing_rates(self, frames: np.ndarray, batch_size: int = 100) -> List[float]:
        """Each hidden layer's mean firing rate (spikes per neuron and step) on ``frames``,
        without learning."""
        labels = np.zeros(len(frames), dtype=np.int64)
        self._check(frames, labels)
        with torch.no_grad(), self._counting_spikes():
            for x, _ in self.batches(frames, labels, batch_size, shuffle=False):
                self.scores(x)
        return list(self.last_firing_rates)

    def check_health(self) -> None:
        """Raise :class:`~lava_local.health.TrainingCollapse` if a weight is non-finite or a
        layer's weights exploded, or a hidden layer that learns was silent or saturated through
        the last counted epoch (:func:`lava_local.health.check_network`)."""
        check_network([float(p.detach().norm()) for p in self.params], self._initial_norms,
                      getattr(self, "last_firing_rates", []), learns=not self.net.frozen)

    def sync_to_network(self) -> None:
        """Copy the trained weights back into the Network (and so into its Lava processes),
        and a centred read-out's input mean."""
        self.write_state(self.net)

    def write_state(self, net: Any) -> None:
        """Put the trained weights and a centred read-out's input mean into ``net`` (this
        trainer's network or a copy of it)."""
        net.weights = [p.detach().cpu().double().numpy().copy() for p in self.params]
        if self.readout_mean is not None:
            net.readout_mean = self.readout_mean.detach().cpu().double().numpy().copy()
            net.readout_seen = self.readout_seen

    def evaluate(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 100) -> float:
        self._check(frames, labels)
        correct = 0
        with torch.no_grad():
            for x, y in self.batches(frames, labels, batch_size, shuffle=False):
                correct += int((self.scores(x).argmax(-1) == y).sum())
        return correct / len(labels)

    def state_dict(self) -> Dict[str, Any]:
        state = {
            "weights": [p.detach().cpu() for p in self.params],
            "optimizers": [o.state_dict() for o in self.optimizers],
        }
        if self.readout_mean is not None:
            state["readout_mean"] = self.readout_mean.detach().cpu()
            state["readout_seen"] = self.readout_seen
        if self.net.signal_rates is not None:  # the measured rates fix a scale="rate" signal
            state["signal_rates"] = list(self.net.signal_rates)
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if (self.readout_mean is not None) != ("readout_mean" in state):
            raise ValueError("a centred read-out's state holds its input mean, another's does not: "
                             f"this trainer's read-out is {'' if self.readout_mean is not None else 'not '}centred")
        with torch.no_grad():
            for p, w in zip(self.params, state["weights"]):
                p.copy_(w.to(p.device, p.dtype))
        for o, s in zip(self.optimizers, state["optimizers"]):
            o.load_state_dict(s)
        if self.readout_mean is not None:
            self.readout_mean = state["readout_mean"].to(self.device, self.dtype).clone()
            self.readout_seen = int(state["readout_seen"])
        if "signal_rates" in state:
            self.net.signal_rates = [float(r) for r in state["signal_rates"]]

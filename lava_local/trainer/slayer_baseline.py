"""lava-dl's SLAYER as the ecosystem's reference BPTT, for dense networks.

Builds the same layer sizes as a :class:`~lava_local.network.Network` from
``lava.lib.dl.slayer.block.cuba.Dense`` blocks with the papers' neuron mapped onto CUBA
(current decay 1: the current holds only this step's input; voltage decay 1 - gamma;
threshold v_th; SLAYER's reset is Loihi's reset to zero) and trains it with SLAYER's own
surrogate gradient through time. The read-out is the last block's spike count, trained
with cross-entropy on the counts. lava-dl is optional: importing this module without it
raises an ImportError that says how to install it.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

try:
    import lava.lib.dl.slayer as slayer
except ImportError as exc:  # pragma: no cover - exercised only without lava-dl
    raise ImportError(
        "the SLAYER baseline needs lava-dl: pip install --no-deps --ignore-requires-python "
        "-r requirements/lava.txt (see README)"
    ) from exc

from lava_local.trainer.base import resolve_device


class SlayerTrainer:
    """SLAYER BPTT on the dense layer sizes of ``net`` (conv and recurrent layers: not here)."""

    def __init__(self, net, device: Any = None, lr: float = 1e-3) -> None:
        if any(g is not None for g in net.geometries) or any(net.recurrent):
            raise ValueError("the SLAYER baseline covers dense networks only")
        self.net = net
        self.device = resolve_device(device)
        params = {
            "threshold": net.neuron.v_th,
            "current_decay": 1.0,
            "voltage_decay": 1.0 - net.neuron.gamma,
            "requires_grad": False,
        }
        sizes = [net.n_in] + list(net.hidden) + [net.n_classes]
        with torch.random.fork_rng(devices=[]):  # SLAYER draws its initial weights from torch's
            torch.manual_seed(net.seed)          # global generator: seeded by the network instead
            self.model = torch.nn.Sequential(
                *[slayer.block.cuba.Dense(params, a, b, weight_norm=False) for a, b in zip(sizes[:-1], sizes[1:])]
            ).to(self.device)
        # shuffles when no generator is passed: seeded, and advancing from epoch to epoch
        self.generator = np.random.default_rng(net.seed)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)

    def _counts(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.permute(0, 2, 1)).sum(-1)  # SLAYER takes (batch, neurons, time)

    def fit_epoch(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 32,
                  generator: Optional[np.random.Generator] = None) -> float:
        order = (generator or self.generator).permutation(len(labels))
        correct = 0
        self.model.train()
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            x = torch.as_tensor(np.asarray(frames[idx], np.float32), device=self.device)
            y = torch.as_tensor(np.asarray(labels[idx]), dtype=torch.long, device=self.device)
            counts = self._counts(x)
            loss = torch.nn.functional.cross_entropy(counts, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            correct += int((counts.argmax(-1) == y).sum())
        return correct / len(labels)

    def evaluate(self, frames: np.ndarray, labels: np.ndarray, batch_size: int = 100) -> float:
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(labels), batch_size):
                x = torch.as_tensor(np.asarray(frames[start:start + batch_size], np.float32), device=self.device)
                y = torch.as_tensor(np.asarray(labels[start:start + batch_size]), device=self.device)
                correct += int((self._counts(x).argmax(-1) == y).sum())
        return correct / len(labels)

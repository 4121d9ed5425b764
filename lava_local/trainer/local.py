"""The local-rule trainer: TESS, S-TLLR and LLS on batches, from the shared kernels."""
from __future__ import annotations

from typing import Optional

import torch

from lava_local.kernels.layer import DenseLayerState, ReadoutState, conv_layer_step, dense_layer_step, readout_step
from lava_local.kernels.learning_signal import one_hot
from lava_local.trainer.base import TrainerBase


class LocalTrainer(TrainerBase):
    """Trains a :class:`~lava_local.network.Network` with its local rule, batched.

    Per time step every hidden layer runs :func:`~lava_local.kernels.layer.dense_layer_step`
    (or the conv step) on the batch, exactly as the Lava models do per sample; the summed
    update over the batch, divided by the batch size, becomes the parameter's ``.grad``
    after the sample (``rule.apply="sample"``). Everything runs under ``torch.no_grad()``:
    memory is the layer states, independent of T. Network delays: none (the Lava network
    exchanges spikes within a step), so step t here is step t there.
    """

    def _zero_states(self, batch: int):
        states = []
        for g, p in zip(self.net.geometries, self.params[:-1]):
            zeros = lambda *shape: torch.zeros(*shape, dtype=self.dtype, device=self.device)  # noqa: E731
            if g is None:
                n_out, n_in = p.shape
                out, inp = (batch, n_out), (batch, n_in)
            else:
                out, inp = (batch, *g.out_shape), (batch, *g.in_shape)
            states.append(DenseLayerState(zeros(*out), zeros(*out), zeros(*inp), zeros(*out), zeros(*out),
                                          zeros(*p.shape)))
        n_classes, n_in = self.params[-1].shape
        z = lambda *shape: torch.zeros(*shape, dtype=self.dtype, device=self.device)  # noqa: E731
        readout = ReadoutState(z(batch, n_classes), z(batch, n_in), z(batch, n_classes), z(n_classes, n_in))
        return states, readout

    def _run(self, x: torch.Tensor, y: Optional[torch.Tensor], learn_hidden: bool):
        net, rule = self.net, self.net.rule
        batch, steps = x.shape[0], x.shape[1]
        states, readout = self._zero_states(batch)
        target = one_hot(y, net.n_classes, like=x) if y is not None else None
        for t in range(steps):
            pre = x[:, t]
            hidden_target = target if (learn_hidden and t >= rule.t_l) else None
            for i, (g, w) in enumerate(zip(net.geometries, self.params[:-1])):
                if g is None:
                    states[i] = dense_layer_step(states[i], pre, w, net.neuron, net.surrogate, rule.eligibility,
                                                 self.bases[i], rule.signal, hidden_target)
                else:
                    states[i] = conv_layer_step(states[i], pre.reshape(batch, *g.in_shape), w, g, net.neuron,
                                                net.surrogate, rule.eligibility, self.bases[i], rule.signal,
                                                hidden_target)
                pre = states[i].o.reshape(batch, -1)
            readout = readout_step(readout, pre, self.params[-1], net.readout_gamma, target)
        return states, readout

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._run(x, None, False)[1].score

    def compute_grads(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run T steps on the batch and put each layer's batch-averaged update in ``.grad``.

        Returns the read-out scores. (Split from the optimiser step so that data-parallel
        training can average ``.grad`` across ranks in between.)
        """
        if self.net.rule.apply != "sample":
            raise ValueError("the trainer applies updates per sample (rule.apply='sample')")
        with torch.no_grad():
            states, readout = self._run(x, y, learn_hidden=not self.net.frozen)
            batch = x.shape[0]
            for p, s in zip(self.params[:-1], states):
                p.grad = None if self.net.frozen else s.dw / batch
            self.params[-1].grad = readout.dw / batch
        return readout.score

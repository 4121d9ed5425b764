"""Back-propagation through time on the same architecture, neuron and surrogate.

The forward pass calls the same LIF kernel; only the spike gets a surrogate gradient,
d o / d u = Psi(u) (the same secondary activation the local rules use), so a comparison
with TESS or S-TLLR isolates the learning rule. The loss is the read-out's own objective,
sum over t of CE(softmax(u_readout[t]), y*), averaged over the batch; the reset term is
detached (the usual choice; S-TLLR's eligibility ignores it too).
"""
from __future__ import annotations

import torch

from lava_local.kernels.conv import conv2d
from lava_local.kernels.neuron import LIFState, lif_step
from lava_local.kernels.surrogate import psi
from lava_local.kernels.traces import trace_step
from lava_local.trainer.base import TrainerBase


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, v_th, surrogate):  # noqa: D401
        ctx.save_for_backward(u)
        ctx.v_th, ctx.surrogate = v_th, surrogate
        return (u > v_th).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad * psi(u, ctx.v_th, ctx.surrogate), None, None


class BPTTTrainer(TrainerBase):
    """BPTT baseline for a :class:`~lava_local.network.Network` (dense and conv layers)."""

    def forward(self, x: torch.Tensor, learning: bool = False) -> torch.Tensor:
        """Read-out membrane per step, shape ``(T, B, n_classes)``, with the autograd graph
        (``learning``: a training batch, whose read-out input a centred read-out's mean takes in)."""
        net = self.net
        batch, steps = x.shape[0], x.shape[1]
        states = [None] * (len(self.params) - 1)
        u_ro = torch.zeros(batch, net.n_classes, dtype=self.dtype, device=self.device)
        input_sum = self.readout_input_sum(batch, learning, u_ro)
        outputs = []
        weights = self.effective_weights()
        for t in range(steps):
            pre = x[:, t]
            for i, (g, w) in enumerate(zip(net.geometries, weights)):
                if g is None:
                    if net.recurrent[i]:  # o[t-1] of this layer (zeros at t = 0), through time
                        previous = states[i].o if states[i] is not None else pre.new_zeros(batch, w.shape[0])
                        pre = torch.cat([pre, previous], -1)
                    current = pre @ w.T
                else:
                    current = conv2d(pre.reshape(batch, *g.in_shape), w, g.stride, g.padding)
                if states[i] is None:
                    states[i] = LIFState(torch.zeros_like(current), torch.zeros_like(current))
                lif = lif_step(LIFState(states[i].u, states[i].o.detach()), current, net.neuron)
                o = _Spike.apply(lif.u, net.neuron.v_th, net.surrogate)
                states[i] = LIFState(lif.u, o)
                pre = self.layer_output(i, o)
            if input_sum is not None:
                input_sum += pre.detach()
            centred = pre if self.readout_mean is None else pre - self.readout_mean
            u_ro = trace_step(u_ro, centred @ self.params[-1].T, net.readout_gamma)
            outputs.append(u_ro)
        return torch.stack(outputs)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.forward(x).sum(0)

    def compute_grads(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        u = self.forward(x, learning=True)
        loss = torch.nn.functional.cross_entropy(u.reshape(-1, u.shape[-1]), y.repeat(u.shape[0]),
                                                 reduction="sum") / x.shape[0]
        # only the layers that learn get a gradient (frozen hidden layers, a fixed read-out:
        # none), and autograd computes nothing for the others
        learns = [not self.net.frozen] * (len(self.params) - 1) + [self.net.readout_learns]
        learning = [p for p, flag in zip(self.params, learns) if flag]
        grads = iter(torch.autograd.grad(loss, learning) if learning else ())
        for p, flag in zip(self.params, learns):
            p.grad = next(grads) if flag else None
        self.update_readout_mean(x.shape[1])
        return u.detach().sum(0)

"""What a network does on real inputs: spikes, saturated states and predictions, measured.

:func:`measure_activity` plays samples through a :class:`~lava_local.network.Network`
without learning, one sample at a time, with the layer steps of
:mod:`lava_local.kernels.layer` that the Lava models call: the float steps, or, given a
:class:`~lava_local.quantization_report.QuantizedNetwork`, the integer steps of the
fixed-point models (bit for bit what ``Network.predict(numeric="fixed")`` computes in
Lava). Per layer it counts what the quantization report and the cost estimate need:

* the events each input delivered (spike counts; the data for the first layer, the previous
  layer's spikes after it), and how often each input was non-zero;
* how often each input's pre-synaptic trace or spike was non-zero (the synapses a learning
  engine would update; meaningful in fixed point, where traces decay to exactly zero);
* each neuron's spikes;
* states at their bound (fixed point only): the synaptic input at the neuron's
  ``input_bits``, the membrane at ``state_bits``, the pre and post traces at the trace width.

The read-out is the last entry of :attr:`Activity.layers` (a leaky integrator: no spikes, no
traces of its own beyond its input trace).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .kernels.basis import make_basis
from .kernels.conv import conv2d_int
from .kernels.layer import (
    conv_layer_init,
    conv_layer_step,
    conv_layer_step_fixed,
    dense_layer_init,
    dense_layer_step,
    dense_layer_step_fixed,
    input_mean_fixed,
    readout_init,
    readout_step,
    readout_step_fixed,
)

__all__ = ["Activity", "LayerActivity", "measure_activity", "check_deployable", "SATURATION_KINDS"]

#: the states whose saturation is counted, in report order
SATURATION_KINDS = ("input", "membrane", "pre_trace", "post_trace")


@dataclass
class LayerActivity:
    """Counts of one layer over every sample and step of a run (totals, not means)."""

    name: str
    kind: str  # "dense", "conv" or "readout"
    n_in: int
    n_out: int
    input_events: np.ndarray  # (n_in,) input values delivered (spike counts)
    input_active: np.ndarray  # (n_in,) steps in which the input was non-zero
    trace_active: np.ndarray  # (n_in,) steps in which the pre trace or the input was non-zero
    output_spikes: np.ndarray  # (n_out,) spikes (zeros for the read-out)
    saturated: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(SATURATION_KINDS, 0))
    spiking_input: bool = True  # every input value was -1, 0 or 1

    def saturation_slots(self, kind: str, samples: int, steps: int) -> int:
        """How many values of ``kind`` the run produced (the denominator of a fraction)."""
        return (self.n_in if kind == "pre_trace" else self.n_out) * samples * steps


@dataclass
class Activity:
    """A run's counts per layer (hidden layers, then the read-out) and its predictions."""

    numeric: str
    samples: int
    steps: int
    layers: List[LayerActivity]
    predictions: np.ndarray
    scores: np.ndarray

    @property
    def hidden(self) -> List[LayerActivity]:
        return self.layers[:-1]

    def accuracy(self, labels: Any) -> float:
        return float(np.mean(self.predictions == np.asarray(labels)[: self.samples]))


def check_deployable(net: Any) -> None:
    """Raise ``ValueError`` for layers that only the batched trainer runs (as the Lava
    network builder does): recurrent layers, ``Conv(pool_out > 1)``, weight standardisation."""
    for g, recurrent in zip(net.geometries, net.recurrent):
        if recurrent or (g is not None and (g.pool_out != 1 or g.standardize)):
            raise ValueError("Recurrent layers, Conv(pool_out > 1) and weight standardisation run in the trainer "
                             "(lava_local.trainer), not in the Lava processes, so they have no fixed-point model")


def _check_frames(net: Any, frames: Any, fixed: bool) -> np.ndarray:
    from .network import _check_data

    x, _ = _check_data("frames", (frames, np.zeros(len(frames), dtype=np.int64)), net.n_in, net.n_classes)
    if fixed and (x.dtype.kind == "f" and np.any(x != np.round(x)) or x.min() < 0 or x.max() > 255):
        raise ValueError("the fixed-point models take spike counts (integers in [0, 255]); encode analog input "
                         "as spikes first (e.g. lava_local.data.encode_rate)")
    return x


def _layer_steps(net: Any, quantized: Any) -> List[Callable]:
    """One ``step(state, pre) -> state`` per hidden layer: the kernels' step, no learning."""
    rule = net.rule
    sizes = net.signal_sizes
    steps = []
    for i, (g, n) in enumerate(zip(net.geometries, sizes)):
        basis = make_basis(rule.signal.basis, rule.signal.n_classes, n)
        if quantized is not None:
            layer = quantized.layers[i]
            w, params, sign = layer.weights, layer.params, basis.astype(np.int64)
            steps.append((lambda s, p, w=w, q=params, b=sign: dense_layer_step_fixed(s, p, w, q, b, -1)) if g is None
                         else (lambda s, p, w=w, q=params, b=sign, g=g:
                               conv_layer_step_fixed(s, p.reshape(g.in_shape), w, g, q, b, -1)))
        else:
            w = net.weights[i]
            common = (net.neuron, net.surrogate, rule.eligibility, basis, rule.signal, None)
            steps.append((lambda s, p, w=w: dense_layer_step(s, p, w, *common)) if g is None
                         else (lambda s, p, w=w, g=g: conv_layer_step(s, p.reshape(g.in_shape), w, g, *common)))
    return steps


def _synaptic_input(pre: np.ndarray, layer: Any, geometry: Any) -> np.ndarray:
    """The integer synaptic input a layer's neurons receive (to count its saturation)."""
    if geometry is None:
        active = np.flatnonzero(pre)
        acc = layer.weights[:, active] @ pre[active]
    else:
        acc = conv2d_int(pre.reshape(geometry.in_shape)[None], layer.weights, geometry.stride, geometry.padding)[0]
    exp = layer.weight_exp
    return acc << exp if exp >= 0 else acc >> -exp


def measure_activity(net: Any, frames: Any, quantized: Any = None, max_samples: Optional[int] = None) -> Activity:
    """Run ``frames`` (N, T, n_in) through ``net`` without learning and count its activity.

    ``quantized``: a :class:`~lava_local.quantization_report.QuantizedNetwork` of ``net``
    runs the fixed-point steps (integer weights and states, saturation counted); ``None``
    runs the float steps with ``net.weights``. ``max_samples`` keeps the first ones.
    """
    check_deployable(net)
    fixed = quantized is not None
    x = _check_frames(net, frames, fixed)
    if max_samples is not None:
        x = x[:max_samples]
    n_samples, n_steps = x.shape[0], x.shape[1]
    dtype = np.int64 if fixed else float
    steps = _layer_steps(net, quantized)
    shapes = [(w.shape[1], w.shape[0]) if g is None else (int(np.prod(g.in_shape)), int(np.prod(g.out_shape)))
              for g, w in zip(net.geometries, net.weights[:-1])]
    shapes.append((net.weights[-1].shape[1], net.weights[-1].shape[0]))
    kinds = ["dense" if g is None else "conv" for g in net.geometries] + ["readout"]
    names = [f"hidden{i}" for i in range(len(net.geometries))] + ["readout"]
    layers = [LayerActivity(name, kind, n_in, n_out, *(np.zeros(n, np.int64) for n in (n_in, n_in, n_in, n_out)))
              for name, kind, (n_in, n_out) in zip(names, kinds, shapes)]
    if fixed:
        hw = quantized.profile
        input_low, input_high = -hw.neuron.input_max - 1, hw.neuron.input_max
        state_max, trace_max = hw.neuron.state_max, hw.trace.max
        ro_params = quantized.layers[-1].params
    mean = None  # a centred read-out's input mean, in the steps' units
    if net.readout_centred:
        mean = input_mean_fixed(net.readout_mean) if fixed else net.readout_mean
    layers[0].spiking_input = bool(np.all((x == 0) | (np.abs(x) == 1)))  # later layers receive spikes
    predictions = np.zeros(n_samples, dtype=np.int64)
    scores = np.zeros((n_samples, net.n_classes))
    for k in range(n_samples):
        states = [dense_layer_init(n_in, n_out, dtype) if g is None else conv_layer_init(g, dtype)
                  for g, (n_in, n_out) in zip(net.geometries, shapes)]
        ro = readout_init(*shapes[-1], dtype)
        for t in range(n_steps):
            pre = x[k, t].astype(dtype)
            for i, record in enumerate(layers):
                record.input_events += pre.astype(np.int64)
                record.input_active += pre != 0
                h = None
                if i < len(states):
                    if fixed:
                        current = _synaptic_input(pre, quantized.layers[i], net.geometries[i])
                        record.saturated["input"] += int(np.count_nonzero((current < input_low) | (current > input_high)))
                    states[i] = steps[i](states[i], pre)
                    q, u, h, out = states[i].q.reshape(-1), states[i].u, states[i].h, states[i].o.reshape(-1)
                    record.output_spikes += out.astype(np.int64)
                else:
                    ro = (readout_step_fixed(ro, pre, quantized.layers[-1].weights, ro_params, -1, mean=mean) if fixed
                          else readout_step(ro, pre, net.weights[-1], net.readout_gamma, None, mean=mean))
                    q, u, out = ro.q, ro.u, None
                record.trace_active += (q != 0) | (pre != 0)
                if fixed:
                    record.saturated["membrane"] += int(np.count_nonzero(np.abs(u) >= state_max))
                    record.saturated["pre_trace"] += int(np.count_nonzero(q >= trace_max))
                    if h is not None:
                        record.saturated["post_trace"] += int(np.count_nonzero(h >= trace_max))
                pre = out
        scores[k] = ro.score
        predictions[k] = int(np.argmax(ro.score))
    return Activity("fixed" if fixed else "float", n_samples, n_steps, layers, predictions, scores)

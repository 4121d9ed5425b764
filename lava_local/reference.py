"""A NumPy reference of the Lava network, step for step, from the same kernels.

It executes what :class:`~lava_local.network.Network` wires into Lava (source, plastic
layers, read-out; same schedule, same per-layer RNG seeds) in one Python loop. Tests use
it to show that the Lava float and fixed-point models compute exactly the kernels'
results; it is also a quick way to try settings before a Lava run.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from .fixed_point import engine_factor_scale, quantize_conv_layer, quantize_dense_layer, quantize_readout
from .kernels.basis import make_basis
from .kernels.layer import (
    EngineStep,
    conv_layer_init,
    conv_layer_step,
    conv_layer_step_fixed,
    dense_layer_apply_fixed,
    dense_layer_init,
    dense_layer_step,
    dense_layer_step_fixed,
    input_mean_fixed,
    input_mean_update,
    input_mean_update_fixed,
    readout_apply_fixed,
    readout_init,
    readout_step,
    readout_step_fixed,
)
from .kernels.learning_engine import EngineRandoms, engine_apply, engine_params, factor_rng
from .kernels.learning_signal import integer_basis, label_targets, one_hot

__all__ = ["reference_run"]


def reference_run(
    net, frames: np.ndarray, labels: np.ndarray, schedule: Sequence[int], learn: Sequence[bool],
    numeric: str = "float",
) -> Tuple[np.ndarray, List[np.ndarray], List[np.ndarray]]:
    """Run ``net`` over ``schedule``; returns (predictions, final weights, hidden spikes of
    the last sample per layer). Weights are returned in the model's own units (float, or
    integer mantissas for ``numeric="fixed"``)."""
    if any(net.recurrent):
        raise ValueError("recurrent layers run in the trainer, not in the Lava network this mirrors")
    steps = frames.shape[1]
    rule, readout_lr = net.rule_for(steps), net.readout_lr_for(steps)  # the steps the Lava models take
    # each layer's own: the same but for a signal scale set from the layer's rate
    rules = net.layer_rules_for(steps, learning=bool(np.any(learn)) and not net.frozen)
    sizes = net.signal_sizes
    bases = [make_basis(rule.signal.basis, rule.signal.n_classes, n) for n in sizes]
    if numeric == "fixed":
        hidden_fixed = [
            quantize_dense_layer(w, net.neuron, net.surrogate, r, w.shape[0], net.scale, net.profile,
                                 net.readout_gamma if r.filtered else None)
            if g is None else quantize_conv_layer(w, g, net.neuron, net.surrogate, r, net.scale, net.profile)
            for g, w, r in zip(net.geometries, net.weights[:-1], rules)
        ]
        weights = [q.weights.copy() for _, q in hidden_fixed]
        ro_fixed, ro_q = quantize_readout(net.weights[-1], net.readout_gamma, readout_lr, net.scale, net.profile,
                                          net.readout_centred)
        weights.append(ro_q.weights.copy())
        mean = input_mean_fixed(net.readout_mean)
    else:
        weights = [w.copy() for w in net.weights]
        mean = net.readout_mean.copy()
    seen = net.readout_seen
    rngs = [np.random.default_rng(net.seed + i) for i in range(len(sizes))] + [np.random.default_rng(net.seed + 100)]
    # fixed-point dense layers with the Loihi timing learn as the chip's engine: its
    # parameters, its random streams (advanced through the layer's place in the pipeline,
    # one step per dense layer before it) and its pre trace, which runs across samples
    engines = [None] * len(sizes)
    if numeric == "fixed" and rule.timing == "loihi":
        for i, g in enumerate(net.geometries):
            if g is None:
                fixed = hidden_fixed[i][0]
                randoms = EngineRandoms(net.seed + i)
                for _ in range(i):
                    randoms.step()
                engines[i] = (engine_params(rule.eligibility.lambda_pre, fixed.pre_impulse, net.profile),
                              engine_factor_scale(fixed, net.profile), randoms)
    # each layer's projected labels (float) or integer basis (fixed), made once, as the models hold them
    if numeric == "fixed":
        integer_bases = [integer_basis(b, fixed.error) for b, (fixed, _) in zip(bases, hidden_fixed)]
    else:
        targets = [label_targets(b, r.signal.error) for b, r in zip(bases, rules)]
    x1 = [np.zeros(w.shape[1], np.int64) for w in weights[:-1]]
    predictions = np.full(len(schedule), -1, dtype=np.int64)
    dtype = np.int64 if numeric == "fixed" else float
    last_spikes: List[np.ndarray] = []
    for k, index in enumerate(schedule):
        label = int(labels[index]) if learn[k] else -1
        hidden_learns = label >= 0 and not net.frozen
        # each layer's filtered eligibility and spikes (its rule's filtered), in a learning sample
        filtered = [r.filtered and hidden_learns for r in rules]
        states = [dense_layer_init(w.shape[1], w.shape[0], dtype, rule.pairing_offset, f) if g is None
                  else conv_layer_init(g, dtype)
                  for g, w, f in zip(net.geometries, weights[:-1], filtered)]
        states = [state if engines[i] is None else state._replace(q=x1[i]) for i, state in enumerate(states)]
        ro = readout_init(weights[-1].shape[1], weights[-1].shape[0], dtype)
        centre = mean if net.readout_centred else None
        counts = np.zeros(weights[-1].shape[1], np.int64)  # the read-out's input spikes over the sample
        spikes = [[] for _ in states]
        for t in range(steps + rule.drain_steps):  # the sample, then its drain's silent steps
            in_sample = t < steps
            pre = frames[index, t].astype(dtype) if in_sample else np.zeros(frames.shape[2], dtype)
            layer_label = label if hidden_learns and in_sample and t >= rule.t_l else -1
            for i, state in enumerate(states):
                if numeric == "fixed" and net.geometries[i] is None:
                    step = None
                    if engines[i] is not None:
                        params, factors, randoms = engines[i]
                        step = EngineStep(params, factors, factor_rng(net.seed + i, k, t), randoms.step())
                    state = dense_layer_step_fixed(state, pre, weights[i], hidden_fixed[i][0],
                                                   integer_bases[i], layer_label, step)
                    x1[i] = state.q
                elif numeric == "fixed":
                    g = net.geometries[i]
                    state = conv_layer_step_fixed(state, pre.reshape(g.in_shape), weights[i], g, hidden_fixed[i][0],
                                                  integer_bases[i], layer_label)
                else:
                    target = targets[i][layer_label] if layer_label >= 0 else None
                    g = net.geometries[i]
                    if g is None:
                        state = dense_layer_step(state, pre, weights[i], net.neuron, net.surrogate,
                                                 rule.eligibility, bases[i], rules[i].signal, target,
                                                 filter_decay=net.readout_gamma if filtered[i] else None,
                                                 filter_gain=rules[i].filter_input_gain(net.readout_gamma))
                    else:
                        state = conv_layer_step(state, pre.reshape(g.in_shape), weights[i], g, net.neuron,
                                                net.surrogate, rule.eligibility, bases[i], rules[i].signal, target)
                if (layer_label >= 0 or hidden_learns and not in_sample) and rule.apply == "step":
                    weights[i] = _apply(weights[i], state.dw, numeric, rule.lr,
                                        hidden_fixed[i][0] if numeric == "fixed" else None, rngs[i], engines[i])
                    state = state._replace(dw=np.zeros_like(state.dw))
                states[i] = state
                if in_sample:
                    spikes[i].append(state.o.copy())
                pre = state.o.reshape(-1)
            if not in_sample:  # the read-out ignores the drain
                continue
            if numeric == "fixed":
                ro = readout_step_fixed(ro, pre, weights[-1], ro_fixed, label, mean=centre)
            else:
                ro = readout_step(ro, pre, weights[-1], net.readout_gamma,
                                  one_hot(label, weights[-1].shape[0]) if label >= 0 else None, mean=centre)
            if centre is not None:
                counts += np.asarray(pre, np.int64)
        for i, state in enumerate(states):
            if hidden_learns and rule.apply == "sample":
                weights[i] = _apply(weights[i], state.dw, numeric, rule.lr,
                                    hidden_fixed[i][0] if numeric == "fixed" else None, rngs[i], engines[i])
        if label >= 0 and net.readout_learns:
            if numeric == "fixed":
                weights[-1] = readout_apply_fixed(weights[-1], ro.dw, ro_fixed, rngs[-1])
            else:
                weights[-1] = weights[-1] - readout_lr * ro.dw
            if net.readout_centred:
                seen += 1
                update = input_mean_update_fixed if numeric == "fixed" else input_mean_update
                mean = update(mean, counts, steps, seen)
        predictions[k] = int(np.argmax(ro.score))
        last_spikes = [np.array(s) for s in spikes]
    return predictions, weights, last_spikes


def _apply(w, dw, numeric, lr, fixed, rng, engine=None):
    if engine is not None:
        return engine_apply(w, dw, engine[0])
    if numeric == "fixed":
        return dense_layer_apply_fixed(w, dw, fixed, rng)
    return w - lr * dw

"""The local-rule trainer: TESS, S-TLLR and LLS on batches, from the shared kernels."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from torch.torch_version import TorchVersion

from lava_local.kernels.conv import avg_pool_adjoint
from lava_local.kernels.layer import (
    DenseLayerState,
    ReadoutState,
    conv_layer_forward,
    conv_layer_learn,
    conv_layer_step,
    dense_layer_filter,
    dense_layer_forward,
    dense_layer_learn,
    delay_line,
    dense_layer_step,
    layer_integrate,
    layer_learn_window,
    layer_local_signal,
    readout_step,
)
from lava_local.kernels.learning_signal import (
    ProjectedTarget,
    SignalParams,
    local_error,
    one_hot,
    project_target,
)
from lava_local.kernels.neuron import spikes
from lava_local.kernels.plasticity import TermStacks
from lava_local.trainer.base import TrainerBase


class LocalTrainer(TrainerBase):
    """Trains a :class:`~lava_local.network.Network` with its local rule, batched.

    Per time step every hidden layer runs the layer step of :mod:`lava_local.kernels.layer`
    (or the conv step) on the batch, exactly as the Lava models do per sample; the summed
    update over the batch, divided by the batch size, becomes the parameter's ``.grad``
    after the sample (``rule.apply="sample"``). The updates are added in place into one
    accumulator per layer, which then becomes ``.grad`` itself (dense layers multiply
    straight into it, conv layers add one step's weight gradient at a time), and the layer
    states are written over in place: beyond the gradients any optimiser needs, a step
    holds the layer states and one layer's temporaries, independent of T (everything runs
    under ``torch.no_grad()``). Psi, h and q live in
    :class:`~lava_local.kernels.plasticity.TermStacks` (where both term weights are
    non-zero), so the causal and non-causal terms of a step's update are one product: one
    weight-gradient convolution per conv layer and step, not two. The basis comes with its
    scale multiplied in. Network delays: none (the Lava network exchanges spikes within a
    step), so step t here is step t there.

    S-TLLR's non-local signals (``rule.feedback``; dense, conv and recurrent layers):
    ``"bp"`` back-propagates the read-out's loss at step t across the layers (m_L = e W_ro,
    m_l = (m_{l+1} Psi_{l+1}) W_{l+1}, through convolutions and poolings by their adjoints,
    with e = softmax(u_ro[t]) - y*), never through time; ``"dfa"`` sends e through fixed
    random matrices (N(0, 1/C), seeded by the network seed).

    ``rule.filtered`` (dense and recurrent layers, step by step): the eligibility is filtered
    by the read-out's leak; under a local signal each layer's classifier reads its spikes
    filtered by the same leak (:class:`~lava_local.rules.LearningRule`).

    ``window`` (local signals): learn in windows of that many steps. Per step only the
    neurons run; per window the traces, Psi, signals and the update of all its steps are
    computed at once, the update through the backward view of the pre trace
    (:mod:`lava_local.kernels.window`). Same result up to float summation order; fewer,
    larger operations (fewer kernel launches on a GPU) and about half the weight-gradient
    arithmetic; memory grows with the window, not with T.

    ``compile`` (step by step): run each layer's step through ``torch.compile`` (``True``:
    its default backend, or a backend's name), which fuses the step's element-wise
    operations; on a GPU that removes most of the kernel launches that bound a small step.
    The first steps pay the compilation (each layer shape, with and without learning).

    ``rule.timing="loihi"`` (:class:`~lava_local.rules.LearningRule`): each layer state
    carries the kernels' delay line of post factors, which starts empty with each batch
    of samples, as in the Lava models; step by step only (``window=1``).

    ``rule.apply="step"`` (local signals, ``window=1``): each hidden layer's optimiser
    applies the step's batch-averaged update after every learning step (and drain step), as
    the Lava models and the Loihi mapping's learning engine do; the read-out still learns
    per sample. With ``optimizer="sgd"`` at the rule's ``lr`` and batch 1 this is the Lava
    network's update (``tests/test_trainer_online.py``). Data-parallel training averages
    per batch and refuses it.
    """

    def __init__(self, net, *args, window: int = 1, compile: Union[bool, str] = False, **kwargs) -> None:
        super().__init__(net, *args, **kwargs)
        if not isinstance(compile, (bool, str)):
            raise ValueError(f"compile must be True, False or a torch.compile backend name, got {compile!r}")
        if compile and TorchVersion(torch.__version__) < (2, 14):
            # the layer steps write their states in place; through AOT autograd (every backend
            # but "eager") torch 2.11 to 2.13 gave other updates than the eager steps, by up to
            # 1.05 in a weight gradient of test_compiled_layer_steps_give_the_same_updates
            raise ValueError(f"compile needs torch >= 2.14 (this is {torch.__version__}): earlier versions "
                             "compile the in-place layer steps into different updates; run without compile")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        if window > 1 and net.rule.feedback != "local":
            raise ValueError(f"window > 1 needs a local learning signal; feedback={net.rule.feedback!r} "
                             "sends each step's signal across layers, so it learns step by step (window=1)")
        if window > 1 and net.rule.filtered:
            raise ValueError(f"window > 1 learns from the eligibility of each step; filtered={net.rule.filtered!r} "
                             "filters it step by step (window=1). A rule's filtered='auto' (TESS's and LLS's default) "
                             "filters the last hidden layer of a network whose last hidden layer is dense or "
                             "recurrent: give the rule filtered=False to learn in windows")
        if window > 1 and net.rule.timing != "paper":
            raise ValueError(f"window > 1 learns with timing='paper'; timing={net.rule.timing!r} pairs the "
                             "factors through a delay line step by step (window=1)")
        if net.rule.apply == "step" and (window > 1 or net.rule.feedback != "local"):
            raise ValueError("apply='step' updates the hidden weights after every step: it needs a local "
                             "signal (feedback='local') learned step by step (window=1)")
        if any(g is not None and net.layer_filtered(i) for i, g in enumerate(net.geometries)):
            raise ValueError(f"filtered={net.rule.filtered!r} keeps one eligibility per synapse: dense and "
                             "recurrent layers only")
        self.window = window
        self.window_bytes = 0  # buffers of the last run's update windows
        self.filtered_bytes = 0  # the last run's filtered eligibilities (rule.filtered)
        self.compile = compile
        self.signal = replace(net.rule.signal, scale=None)
        self._set_signal_bases()
        generator = torch.Generator().manual_seed(net.seed + 7)
        out_sizes = [p.shape[0] if g is None else int(np.prod(g.out_shape))
                     for g, p in zip(net.geometries, self.params[:-1])]
        self.feedback = [
            (torch.randn(net.n_classes, n, generator=generator, dtype=torch.float64)
             / net.n_classes ** 0.5).to(self.device, self.dtype)
            for n in out_sizes
        ] if net.rule.feedback == "dfa" else []

    def _zero_states(self, batch: int, learning: bool = True):
        """Zero layer states for a batch; ``learning``: with the rule's delay line."""
        def zeros(*shape: int) -> torch.Tensor:
            return torch.zeros(*shape, dtype=self.dtype, device=self.device)

        net, eligibility = self.net, self.net.rule.eligibility
        # both terms of the update in one product (TermStacks): Psi and h side by side, q
        # beside the input spikes. Not for windows, which keep their own buffers, and not
        # for a dense layer whose input would need a copy beside q (a large input, like
        # N-MNIST's 2312, for one product instead of two): conv layers save a convolution
        stacked = self.window == 1 and eligibility.alpha_pre != 0 and eligibility.alpha_post != 0
        shapes = []
        for g, p in zip(net.geometries, self.params[:-1]):
            shapes.append(((batch, p.shape[0]), (batch, p.shape[1])) if g is None
                          else ((batch, *g.out_shape), (batch, *g.in_shape)))
        inside = [self._input_inside(i) for i in range(len(shapes))]
        stacks = [TermStacks(zeros(2, *out), zeros(2, *inp), inside[i])
                  if stacked and (g is not None or inside[i]) else None
                  for i, ((out, inp), g) in enumerate(zip(shapes, net.geometries))]
        states = []
        for i, (out, inp) in enumerate(shapes):
            # a layer whose spikes are the next layer's input as they are writes them straight
            # into that layer's stack, beside its pre trace: no copy, no second array
            feeds_stack = i + 1 < len(shapes) and stacks[i + 1] is not None and stacks[i + 1].input_inside
            o = stacks[i + 1].pre[1].view(out) if feeds_stack else zeros(*out)
            if stacks[i] is not None:
                psi, h, q = stacks[i].post[0], stacks[i].post[1], stacks[i].pre[0]
            else:
                psi, h, q = zeros(*out), zeros(*out), zeros(*inp)
            delay = delay_line(net.rule.pairing_offset if learning else 0, zeros(*out))
            # rule.filtered: one eligibility per synapse and sample, and, for a local signal to
            # read, the spikes filtered alike
            filtered = learning and net.layer_filtered(i)
            e_bar = zeros(batch, *self.params[i].shape) if filtered else None
            o_bar = zeros(*out) if filtered and net.rule.feedback == "local" else None
            states.append(DenseLayerState(zeros(*out), o, q, h, psi, zeros(*self.params[i].shape), stacks[i], delay,
                                          e_bar, o_bar))
        n_classes, n_in = self.params[-1].shape
        readout = ReadoutState(zeros(batch, n_classes), zeros(batch, n_in), zeros(batch, n_classes),
                               zeros(n_classes, n_in))
        return states, readout

    def _input_inside(self, i: int) -> bool:
        """Whether layer ``i`` receives the previous layer's spikes as they are (no pooling,
        no recurrent spikes appended), so they can be written where its update reads them."""
        if i == 0 or self.net.recurrent[i]:
            return False
        before = self.net.geometries[i - 1]
        return before is None or before.pool_out == 1

    # -- one layer, one step: the pieces every signal source shares ------------------------
    def _layer_input(self, i: int, pre: torch.Tensor, states) -> torch.Tensor:
        """What layer ``i`` receives: conv layers unflatten it, recurrent layers append
        their own spikes of step t-1."""
        g = self.net.geometries[i]
        if g is not None:
            return pre.reshape(pre.shape[0], *g.in_shape)
        if self.net.recurrent[i]:
            return torch.cat([pre, states[i].o], -1)
        return pre

    def _layer_forward(self, i: int, state, pre: torch.Tensor, weight: torch.Tensor):
        net, g = self.net, self.net.geometries[i]
        if g is None:
            return dense_layer_forward(state, pre, weight, net.neuron, net.surrogate, net.rule.eligibility,
                                       in_place=True)
        return conv_layer_forward(state, pre, weight, g, net.neuron, net.surrogate, net.rule.eligibility,
                                  in_place=True)

    def _layer_learn(self, i: int, state, pre: torch.Tensor, m: torch.Tensor):
        g = self.net.geometries[i]
        if g is None:
            return dense_layer_learn(state, pre, m, self.net.rule.eligibility, in_place=True)
        return conv_layer_learn(state, pre, m, g, self.net.rule.eligibility, in_place=True)

    def _set_signal_bases(self) -> None:
        """Each layer's basis with its scale s multiplied in once (s B o and s B^T e as one
        product each: the same signal, two element-wise operations fewer per layer and step),
        and the layer steps that use it. A signal with ``scale="rate"`` takes each layer's
        number from the network's measured rates (:meth:`calibrate_signal`); before they are
        measured the bases serve prediction only (:meth:`compute_grads` refuses to learn)."""
        net = self.net
        self._signal_rates = net.signal_rates
        self.signal_bases = [b * net.layer_rule(i, learning=False).signal.basis_scale(b.shape[-1])
                             for i, b in enumerate(self.bases)]
        self._layer_steps = [self._make_layer_step(i) for i in range(len(net.geometries))]
        if self.compile:
            backend = {} if self.compile is True else {"backend": self.compile}
            self._layer_steps = [torch.compile(step, dynamic=False, **backend) for step in self._layer_steps]

    def calibrate_signal(self, frames: np.ndarray) -> None:
        """For a signal with ``scale="rate"``: each hidden layer's firing rate on the
        training ``frames`` (the samples :meth:`~lava_local.network.Network.calibrate_signal`
        measures, counted by this trainer's own forward pass, which also runs recurrent
        layers), kept in the network, once. :meth:`fit_epoch` calls it; a no-op otherwise."""
        if self.net.needs_calibration:
            from lava_local.network import calibration_samples

            self.net.calibrate_signal(frames, self.firing_rates(calibration_samples(frames)))
        if self._signal_rates is not self.net.signal_rates:
            self._set_signal_bases()

    def fit_epoch(self, frames: np.ndarray, labels: np.ndarray, *args, **kwargs) -> float:
        self.calibrate_signal(frames)
        return super().fit_epoch(frames, labels, *args, **kwargs)

    fit_epoch.__doc__ = TrainerBase.fit_epoch.__doc__

    def _make_layer_step(self, i: int) -> Callable:
        """Layer ``i``'s whole step with its local signal, the layer step of
        :mod:`lava_local.kernels.layer` (as the Lava models run it) on the trainer's own
        state, written over in place; ``target=None``: no learning."""
        net, g, basis, signal = self.net, self.net.geometries[i], self.signal_bases[i], self.signal
        rule = net.rule

        def step(state: DenseLayerState, pre: torch.Tensor, weight: torch.Tensor,
                 target: Optional[ProjectedTarget]) -> DenseLayerState:
            if g is None:
                return dense_layer_step(state, pre, weight, net.neuron, net.surrogate, rule.eligibility, basis,
                                        signal, target, in_place=True)
            return conv_layer_step(state, pre, weight, g, net.neuron, net.surrogate, rule.eligibility, basis,
                                   signal, target, in_place=True)

        return step

    @property
    def learns_locally(self) -> bool:
        """Under a local signal each hidden layer learns from its own local loss; S-TLLR's
        ``"bp"`` and ``"dfa"`` signals bring the read-out's error to every layer."""
        return self.net.rule.feedback == "local"

    @torch.no_grad()  # nothing here is differentiated (and the states are written over in place)
    def _run(self, x: torch.Tensor, y: Optional[torch.Tensor], learn_hidden: bool):
        if self.net.rule.feedback != "local" or self.net.rule.filtered:
            return self._run_stepwise(x, y, learn_hidden)
        if not self.compile:
            return self._run_local(x, y, learn_hidden)
        # the layers share one step function, so torch.compile keeps an entry per layer
        # shape, with and without learning: more than its default limit for VGG-9
        import torch._dynamo

        config = torch._dynamo.config
        limit = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"  # older torch
        with config.patch(**{limit: max(8, 2 * len(self.net.geometries) + 2)}):
            return self._run_local(x, y, learn_hidden)

    def _run_local(self, x: torch.Tensor, y: Optional[torch.Tensor], learn_hidden: bool):
        """T steps of every layer with its local signal (the layer step of
        :mod:`lava_local.kernels.layer`: forward, local signal, update).

        With ``window > 1`` a learning step runs only the synaptic input and the LIF of each
        layer and keeps its membrane and input; every ``window`` steps
        :func:`~lava_local.kernels.layer.layer_learn_window` computes the traces, Psi, local
        signals and the update of those steps at once, the update in the backward view of
        :mod:`lava_local.kernels.window` (one product per layer and window instead of two per
        step; a few large operations instead of many small ones per step; memory bounded by
        the window)."""
        net, rule = self.net, self.net.rule
        batch, steps = x.shape[0], x.shape[1]
        states, readout = self._zero_states(batch, y is not None and learn_hidden)
        target = one_hot(y, net.n_classes, like=x) if y is not None else None
        readout_target = target if net.readout_learns else None  # a fixed read-out accumulates no update
        input_sum = self.readout_input_sum(batch, y is not None, x)
        # each layer's y* B' once per batch (B' = B - 1 B[0] for the softmax): one product per step
        layer_targets = [None if target is None else project_target(target, b, self.signal.error)
                         for b in self.signal_bases]
        weights = self.effective_weights()
        windowed = self.window > 1 and target is not None and learn_hidden
        capacity = min(self.window, max(steps - rule.t_l, 1))
        u_steps: List[Optional[torch.Tensor]] = [None] * len(states)  # window buffers: membranes
        recurrent_inputs: List[Optional[torch.Tensor]] = [None] * len(states)
        held, first = 0, 0  # steps in the window buffers, time of the first

        def window_inputs(i: int) -> torch.Tensor:
            """Layer i's inputs over the window, ``(k, B, ...)``: recomputed from the input
            batch or the previous layer's membranes (the same operations as the steps), so
            only recurrent layers, whose input includes their own past spikes, store them."""
            if net.recurrent[i]:
                return recurrent_inputs[i][:held]
            if i == 0:
                inputs = x[:, first:first + held].transpose(0, 1)
            else:
                o = spikes(u_steps[i - 1][:held], net.neuron)
                inputs = self.layer_output(i - 1, o.reshape(-1, *o.shape[2:]), count=False)  # counted per step
            g = net.geometries[i]
            return inputs.reshape(held, batch, *(g.in_shape if g is not None else (-1,)))

        def learn_window() -> None:
            for i, g in enumerate(net.geometries):
                states[i] = layer_learn_window(states[i], u_steps[i][:held], window_inputs(i), layer_targets[i],
                                               self.signal_bases[i], net.neuron, net.surrogate, rule.eligibility,
                                               self.signal, g, in_place=True)

        for t in range(steps):
            pre = x[:, t]
            learning = target is not None and learn_hidden and t >= rule.t_l
            if learning and windowed and held == 0:
                first = t
            for i, w in enumerate(weights):
                pre = self._layer_input(i, pre, states)
                if learning and windowed:
                    states[i] = layer_integrate(states[i], pre, w, net.neuron, net.geometries[i], in_place=True)
                    if u_steps[i] is None:
                        u_steps[i] = pre.new_empty((capacity, *states[i].u.shape))
                        if net.recurrent[i]:
                            recurrent_inputs[i] = pre.new_empty((capacity, *pre.shape))
                    u_steps[i][held] = states[i].u
                    if net.recurrent[i]:
                        recurrent_inputs[i][held] = pre
                else:
                    states[i] = self._layer_steps[i](states[i], pre, w, layer_targets[i] if learning else None)
                pre = self.layer_output(i, states[i].o)
            if learning and rule.apply == "step":
                weights = self._apply_step(states, batch)
            readout = readout_step(readout, pre, self.params[-1], net.readout_gamma, readout_target, in_place=True,
                                   mean=self.readout_mean)
            if input_sum is not None:
                input_sum += pre
            if learning and windowed:
                held += 1
                if held == capacity:
                    learn_window()
                    held = 0
        if held:
            learn_window()
        if rule.drain and target is not None and learn_hidden:
            self._drain(states, x, weights)
        self.window_bytes = sum(b.numel() * b.element_size() for b in u_steps + recurrent_inputs if b is not None)
        return states, readout

    def _run_stepwise(self, x: torch.Tensor, y: Optional[torch.Tensor], learn_hidden: bool):
        """The signals that need every layer's step first: S-TLLR's from the read-out's loss at
        step t (``bp`` or ``dfa``), and with ``rule.filtered`` each layer's eligibility
        filtered by the read-out's leak, met by the read-out's error or, under a local signal,
        by the signal of the layer's spikes filtered by the same leak."""
        net, rule = self.net, self.net.rule
        batch, steps = x.shape[0], x.shape[1]
        states, readout = self._zero_states(batch, y is not None and learn_hidden)
        target = one_hot(y, net.n_classes, like=x) if y is not None else None
        readout_target = target if net.readout_learns else None  # a fixed read-out accumulates no update
        input_sum = self.readout_input_sum(batch, y is not None, x)
        softmax = SignalParams(n_classes=net.n_classes)
        local = rule.feedback == "local"
        layer_targets = [project_target(target, b, self.signal.error) if local and target is not None else None
                         for b in self.signal_bases]
        filter_gain = rule.filter_input_gain(net.readout_gamma)
        weights = self.effective_weights()
        for t in range(steps):
            inputs, pre = [], x[:, t]
            for i, w in enumerate(weights):
                pre = self._layer_input(i, pre, states)
                inputs.append(pre)
                states[i] = self._layer_forward(i, states[i], pre, w)
                pre = self.layer_output(i, states[i].o)
            readout = readout_step(readout, pre, self.params[-1], net.readout_gamma, readout_target, in_place=True,
                                   mean=self.readout_mean)
            if input_sum is not None:
                input_sum += pre
            if target is None or not learn_hidden:
                continue
            if rule.filtered:  # from step 0 on: a spike before t_l still moves the read-out after it
                states = [s if s.e_bar is None else dense_layer_filter(s, p, rule.eligibility, net.readout_gamma,
                                                                       in_place=True, gain=filter_gain)
                          for s, p in zip(states, inputs)]
            if t < rule.t_l:
                continue
            if local:  # each layer's classifier reads its (filtered, or pooled) spikes, as its layer step does
                signals = [layer_local_signal(s, c, b, self.signal, g)
                           for s, c, b, g in zip(states, layer_targets, self.signal_bases, net.geometries)]
            else:
                error = local_error(readout.u, target, softmax)
                if rule.feedback == "dfa":
                    signals = [(error @ b).reshape(s.o.shape) for b, s in zip(self.feedback, states)]
                else:
                    signals = self._backpropagate_step(error @ self.params[-1], states, inputs, weights)
            for i, m in enumerate(signals):
                states[i] = self._layer_learn(i, states[i], inputs[i], m)
        self.filtered_bytes = sum(x.numel() * x.element_size() for s in states for x in (s.e_bar, s.o_bar)
                                  if x is not None)
        if rule.drain and target is not None and learn_hidden:
            self._drain(states, x, weights)
        return states, readout

    def _drain(self, states: List[DenseLayerState], x: torch.Tensor, weights) -> None:
        """``rule.drain``: ``pairing_offset`` steps without input and without a label after
        the batch's samples (no local signal, no read-out learning), so the Loihi timing's
        delay lines apply the factors of the samples' last steps."""
        silence = x.new_zeros(x[:, 0].shape)
        for _ in range(self.net.rule.drain_steps):
            pre = silence
            for i, w in enumerate(weights):
                pre = self._layer_input(i, pre, states)
                states[i] = self._layer_steps[i](states[i], pre, w, None)
                pre = self.layer_output(i, states[i].o)
            if self.net.rule.apply == "step":
                weights = self._apply_step(states, x.shape[0])

    def _apply_step(self, states: List[DenseLayerState], batch: int) -> List[torch.Tensor]:
        """``rule.apply="step"``: each hidden layer's optimiser applies the step's update
        (averaged over the batch) at once, as a Lava layer does every step; returns the
        weights the next step uses."""
        for i, (p, opt) in enumerate(zip(self.params[:-1], self.optimizers)):
            p.grad = self.to_parameter_grad(i, states[i].dw / batch)
            self.optimizer_step(i)
            opt.zero_grad(set_to_none=True)
            states[i].dw.zero_()
        return self.effective_weights()

    def _backpropagate_step(self, grad: torch.Tensor, states, inputs, weights):
        """dL_t/do of every hidden layer at one step, across layers only (Psi as the spike
        derivative); ``grad`` is dL_t/d(what the last hidden layer passes on)."""
        net = self.net
        signals = [None] * len(states)
        for i in range(len(states) - 1, -1, -1):
            g = net.geometries[i]
            if g is not None:  # undo the flattening and the average pooling of layer_output
                grad = grad.reshape(grad.shape[0], *g.next_shape)
                if g.pool_out > 1:
                    grad = avg_pool_adjoint(grad, g.out_shape[1:])
            signals[i] = grad
            if i == 0:
                break
            delta = grad * states[i].psi
            if g is None:  # feed-forward part of the weights only: spatial, not temporal
                n_ff = weights[i].shape[1] - (weights[i].shape[0] if net.recurrent[i] else 0)
                grad = delta @ weights[i][:, :n_ff]
            else:
                grad = torch.nn.grad.conv2d_input(inputs[i].shape, weights[i], delta, stride=g.stride,
                                                  padding=g.padding)
            grad = grad.reshape(grad.shape[0], -1)
        return signals

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._run(x, None, False)[1].score

    def compute_grads(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run T steps on the batch and put each layer's batch-averaged update in ``.grad``.

        Returns the read-out scores. (Split from the optimiser step so that data-parallel
        training can average ``.grad`` across ranks in between.)
        """
        if self._signal_rates is not self.net.signal_rates:  # measured since (or loaded)
            self._set_signal_bases()
        if self.net.needs_calibration:
            raise ValueError("the rule's signal has scale='rate': measure the layers' firing rates first "
                             "(trainer.calibrate_signal(train_frames); fit_epoch does it)")
        with torch.no_grad():
            states, readout = self._run(x, y, learn_hidden=not self.net.frozen)
            batch = x.shape[0]
            for i, p in enumerate(self.params[:-1]):
                if self.net.rule.apply == "step":  # applied at every step already
                    p.grad = None
                    continue
                # the accumulator becomes the gradient (no copy); each state is let go as
                # soon as it is used, so weight standardisation's chain rule (closed form,
                # a few weight-sized temporaries) runs on one layer at a time
                dw, states[i] = states[i].dw, None
                p.grad = None if self.net.frozen else self.to_parameter_grad(i, dw.div_(batch))
                del dw
            self.params[-1].grad = readout.dw.div_(batch) if self.net.readout_learns else None
            self.update_readout_mean(x.shape[1])
        return readout.score

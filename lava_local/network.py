"""Networks in a few lines: a builder that wires learning layers into Lava and trains them.

    net = Network(n_in=2312, hidden=(128,), n_classes=10, rule=TESS())
    history = net.fit(train=(x_train, y_train), test=(x_test, y_test), epochs=3, numeric="float")

The builder wires ``SpikeDataSource -> DenseLayer -> ... -> Readout`` (one OS process per
layer: fewer, fatter processes are faster in Lava) and runs it with
:func:`lava_local.run` on ``Loihi2SimCfg`` in float or fixed-point. All epochs run as one
Lava schedule: each epoch plays the shuffled training set with labels (layers learn) and
then the test set without labels (no learning), and the read-out records its prediction
for every sample. Weights stay in this object between calls; the layers hand them back
through ``.npy`` snapshots (the fast path; ``Var.get`` of a large matrix takes seconds).

One network, two mappings: ``fit``, ``predict`` and ``record`` take ``mapping="fused"`` (one
leaf model per layer, the default) or ``mapping="loihi"`` (each dense layer built from Loihi 2
primitives by its sub-process model, :class:`~lava_local.proc.dense_layer.DenseLayer`); the
graph is the same, the run configuration chooses (:func:`lava_local.run_config`). The Loihi
mapping needs ``rule.timing="loihi"`` and ``rule.apply="step"``. With the Loihi timing every
dense layer passes its spikes on one step later (Loihi 2's Dense hop) in both mappings: the
builder gives each layer its place in the pipeline (``offset``) and runs as many steps more
at the end. With ``rule.drain`` every sample is followed by ``rule.drain_steps`` silent,
unlabelled steps in every process's sample clock (:mod:`lava_local.proc.sample`).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import _validate
from .fixed_point import DEFAULT_SCALE
from .health import TrainingCollapse, check_network
from .kernels.basis import make_basis
from .kernels.neuron import LIFParams
from .kernels.surrogate import Surrogate
from .proc.sample import period, spike_count_path
from .rules import READOUT_SAMPLE_STEP, TESS, LearningRule, step_per_time_step
from .runtime import run

__all__ = ["Network", "History", "Conv", "Recurrent", "vgg9"]


@dataclass(frozen=True)
class Conv:
    """A conv layer in ``Network(hidden=[...])``: ``Conv(16, kernel=3, padding=1, pool=2)``.

    ``pool``: the local signal reads the output average-pooled to ``pool x pool`` per
    channel. ``pool_out``: average-pool the spikes by this factor before the next layer
    (VGG's "P"); ``standardize``: weight standardisation. Both run in the trainer only.
    """

    channels: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 1
    pool_out: int = 1
    standardize: bool = False


@dataclass(frozen=True)
class Recurrent:
    """A recurrent LIF layer in ``Network(hidden=[...])`` (S-TLLR's SHD network): its input
    is ``[o_pre[t], o[t-1]]``, one weight matrix ``(size, n_in + size)``, and the local rule
    treats the fed-back spikes as further pre-synaptic input. Runs in the trainer.

    Each block is drawn at its own fan-in, as the S-TLLR authors' two matrices are: the
    input block ~ N(0, init_scale / sqrt(n_in)), the recurrent block ~
    N(0, recurrent_gain * init_scale / sqrt(size)); at ``Network``'s ``init_scale = 2`` the
    default gain gives the recurrent block their unit scale, 1 / sqrt(size). One fan-in over
    both blocks would let a layer of 256 drown a 24-channel input in its own spikes
    (benchmarks/RESULTS.md, "The recurrent layer's initial weights and its step").

    The trainers' optimiser steps move the recurrent block by ``recurrent_step`` times what
    they move the input block (``None``: the ratio of the two blocks' initial scales,
    ``recurrent_gain * sqrt(n_in / size)``; and 0, the recurrent block kept at its start, for
    a recurrent layer below the last hidden layer of a network that learns from a local
    signal, :meth:`Network.trainer_recurrent_steps`). Adam moves every weight by about its learning
    rate whatever the weight's scale, so without it a block drawn 6.5 times smaller (256
    neurons, 24 inputs) changes 6.5 times faster relative to its size; a recurrent block
    rebuilt that fast cost TESS 2 to 10 points on six time series sets and BPTT 7 on OSULeaf
    (benchmarks/RESULTS.md, "The recurrent layer's initial weights and its step"). With
    ``recurrent_gain=0`` and ``recurrent_step=None`` the recurrence stays off; give
    ``recurrent_step`` to let it be learned from zero.

    Under a local signal (TESS, LLS, S-TLLR's local signal) a recurrent layer below the last
    hidden layer learns its own local classifier's task, step by step; its recurrent weights,
    moved by that loss, pulled two stacked recurrent layers below their own frozen start on
    OSULeaf (TESS 0.431, LLS 0.466, control 0.577); kept at their start, they lift both by 12
    points there and TESS by 11 on GunPoint (where two of six seeds had fallen to 0.61), the
    other sets within their spread (6 seeds; benchmarks/RESULTS.md, "Two recurrent layers"). So with ``recurrent_step=None`` such a
    layer's recurrent block stays at its start; its input block learns. A given
    ``recurrent_step`` always holds.
    """

    size: int
    #: the recurrent block's scale relative to the input block's (``0``: no recurrence at the start)
    recurrent_gain: float = 0.5
    #: the recurrent block's optimiser step relative to the input block's (``None``: their scales' ratio)
    recurrent_step: Optional[float] = None

    def block_scales(self, n_in: int, init_scale: float) -> Tuple[float, float]:
        """The input and recurrent blocks' initial standard deviations, each at its own fan-in."""
        return init_scale / np.sqrt(n_in), self.recurrent_gain * init_scale / np.sqrt(self.size)

    def step_ratio(self, n_in: int) -> float:
        """The recurrent block's optimiser step relative to the input block's."""
        if self.recurrent_step is not None:
            return float(self.recurrent_step)
        input_scale, recurrent_scale = self.block_scales(n_in, 1.0)
        return float(recurrent_scale / input_scale)


def vgg9(in_shape=(2, 32, 32), n_classes: int = 10, width: float = 1.0, **kwargs) -> "Network":
    """The papers' VGG-9: 64C3-128C3-P-256C3-256C3-P-512C3-512C3-P-512C3-512C3-P-FC.

    Weight standardisation, no batch norm; the local signal pools to 4 x 4 in the first
    layer, 2 x 2 later and 1 x 1 in the last conv (LLS/TESS). The FC layer is the
    read-out. ``width`` scales every channel count (at least 1 channel; 1.0 is the
    papers' network). Keyword arguments go to :class:`Network` (rule, neuron, seed, ...).
    """
    from dataclasses import replace

    default = TESS()
    kwargs.setdefault("rule", default.with_(signal=replace(default.signal, n_classes=n_classes)))
    _validate.positive("width", width)
    c = lambda ch, pool, pool_out=1: Conv(max(1, round(ch * width)), 3, 1, 1, pool=pool,  # noqa: E731
                                          pool_out=pool_out, standardize=True)
    hidden = (c(64, 4), c(128, 2, 2), c(256, 2), c(256, 2, 2), c(512, 2), c(512, 2, 2), c(512, 2), c(512, 1, 2))
    return Network(in_shape, hidden=hidden, n_classes=n_classes, **kwargs)


#: how the read-out starts (Network(readout_init=...)); "auto" picks one of the other two
READOUT_INITS = ("auto", "random", "basis")


@dataclass
class History:
    """What :meth:`Network.fit` measured, one entry per epoch."""

    train_accuracy: List[float] = field(default_factory=list)
    test_accuracy: List[float] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    numeric: str = "float"
    #: the read-out's class for every test sample, in the test set's order, per epoch
    test_predictions: List[np.ndarray] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "epoch_seconds": self.epoch_seconds, "numeric": self.numeric}


CALIBRATION_SAMPLES = 64
"""How many training samples :meth:`Network.calibrate_signal` measures the firing rates on."""


def calibration_samples(frames: np.ndarray) -> np.ndarray:
    """The samples the firing rates of ``scale="rate"`` are measured on: at most
    :data:`CALIBRATION_SAMPLES`, spread evenly from the first to the last (a set sorted by
    class gives each class its share)."""
    n = len(frames)
    return frames[np.unique(np.linspace(0, n - 1, min(n, CALIBRATION_SAMPLES)).round().astype(np.int64))]


def _check_data(name: str, data: Any, n_in: int, n_classes: int) -> Tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a (frames, labels) pair")
    frames, labels = np.asarray(data[0]), np.asarray(data[1])
    if frames.ndim != 3 or frames.shape[2] != n_in:
        raise ValueError(f"{name} frames must have shape (samples, steps, {n_in}), got {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError(f"{name} holds no samples: frames of shape {frames.shape}")
    if frames.shape[1] == 0:
        raise ValueError(f"{name} frames hold no time steps: shape {frames.shape}")
    if labels.shape != (frames.shape[0],):
        raise ValueError(f"{name} labels must have shape ({frames.shape[0]},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{name} labels must be integers in [0, {n_classes}), got dtype {labels.dtype}")
    outside = (labels < 0) | (labels >= n_classes)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise ValueError(f"{name} labels must be integers in [0, {n_classes}); sample {index} has label "
                         f"{int(labels[index])}")
    # integer frames cannot be NaN; for float ones one float64 sum, without a temporary, is
    # finite exactly when every value is (short of float64 overflow, sorted out below)
    with np.errstate(over="ignore", invalid="ignore"):
        suspect = frames.dtype.kind == "f" and not np.isfinite(np.sum(frames, dtype=np.float64))
    if suspect:
        per_sample = np.count_nonzero(~np.isfinite(frames.reshape(len(frames), -1)), axis=1)
        if per_sample.any():
            first = int(np.flatnonzero(per_sample)[0])
            raise ValueError(f"{name} frames hold {int(per_sample.sum())} NaN or infinite value(s), the "
                             f"first in sample {first} ({int(per_sample[first])} there); frames must be finite")
    return frames, labels


class Network:
    """A feed-forward spiking network of plastic dense layers and a learning read-out.

    Parameters
    ----------
    n_in, hidden, n_classes : sizes (``hidden`` may be empty: read-out only)
    rule : the hidden layers' learning rule (TESS, STLLR or LLS). :attr:`rule` holds it for
        this network: with its class count, its pre trace's decay, and ``filtered="auto"``
        (TESS's and LLS's default) resolved to ``"last"`` or ``False``
        (:meth:`~lava_local.rules.LearningRule.for_last_layer`)
    frozen : hidden layers keep their random weights (the read-out-only control)
    init_scale : hidden weights ~ N(0, init_scale / sqrt(fan_in)) (a recurrent layer: per
        block, :class:`Recurrent`)
    readout_lr, readout_gamma : the read-out's SGD step per time step and its leak;
        ``readout_lr=None`` (the default) is :data:`~lava_local.rules.READOUT_SAMPLE_STEP`
        per sample, spread over its T steps (1e-3 at N-MNIST's T = 10, 1e-4 on a 100-step
        series), as a rule with ``lr=None`` takes :data:`~lava_local.rules.SAMPLE_STEP`
        (:meth:`readout_lr_for`, :meth:`~lava_local.rules.LearningRule.for_steps`): a
        per-step rate summed over a sample grows with T, and one set on 10-step samples
        blows the online read-out up on 100-step series (benchmarks/RESULTS.md).
    readout_init : ``"auto"`` (the default), ``"random"`` (read-out ~ N(0, 1 / sqrt(n))) or
        ``"basis"``: the read-out starts at the rule's fixed periodic basis over its n inputs,
        at the same scale (``make_basis(rule.signal.basis, C, n) / sqrt(n)``). For a dense or
        recurrent last hidden layer under a local signal (TESS, LLS, S-TLLR with
        ``feedback="local"``) that is the last layer's own local classifier (exactly at basis
        scale 1/sqrt(d), TESS's and LLS's default; S-TLLR's unscaled one up to its scale), so
        the read-out reads from its first step what the layer's local signal trains the layer
        to express; started at random, it does not find those directions within a training
        run (benchmarks/RESULTS.md, "TESS: where its hidden learning goes": +3 to +12 points
        for TESS on every temporal set, the static sets unchanged). ``"auto"`` is ``"basis"`` there and ``"random"`` otherwise (a signal sent
        back from the read-out, a Conv last layer, no hidden layer). :attr:`readout_init`
        holds the start taken.
    readout_learns : ``False`` keeps the read-out at its start (a fixed classifier). With
        ``readout_init="basis"`` and a rule with ``filtered=True`` under a local signal (basis
        scale 1/sqrt(d)), the last hidden layer's local loss is then the network's own loss at
        every step: with a causal eligibility that layer learns the network's gradient (reset
        aside), with nothing transported; TESS adds its non-causal term. An option, not a
        default (the read-out learns in the papers); benchmarks/RESULTS.md, "A fixed read-out".
    readout_centred : ``True`` (the default for a learning read-out; ``None``: ``True``
        unless ``readout_learns=False``) feeds the read-out ``o[t] - m`` instead of the last
        hidden layer's spikes ``o[t]``, ``m`` each input's mean spikes per step over the learning
        samples seen (:attr:`readout_mean`, updated after each by a shift,
        :func:`~lava_local.kernels.layer.input_mean_update`; fixed while predicting). Every
        neuron fires at a positive rate, so the read-out's input has a part common to all
        samples (4 to 11 times the rest on the temporal sets); online, per-sample SGD swings
        the scores along it from class to class, and centring removes it (+5 to +38 points
        for the read-out-only control online on seven sets; benchmarks/RESULTS.md, "The
        read-out's common mode online"). Runs in the Lava network, float and fixed point, in
        :func:`~lava_local.reference.reference_run` and in the batched trainer (which moves
        the mean sample by sample after each batch, over the global batch in data-parallel
        training); exported as the read-out's bias ``-W m`` (netx: the neurons' bias; NIR:
        an ``Affine`` node, the mean kept in its metadata). ``False``: the papers' read-out,
        on the spikes themselves. The default since it lifts every rule and BPTT on the
        temporal sets (+0.2 to +16 points in the trainer) and online, and holds the N-MNIST
        subset and Fashion-MNIST (benchmarks/RESULTS.md, "The centred read-out by default").
    """

    def __init__(
        self,
        n_in: Any,
        hidden: Sequence[Any] = (128,),
        n_classes: int = 10,
        rule: LearningRule = TESS(),
        neuron: LIFParams = LIFParams(),
        surrogate: Surrogate = Surrogate(),
        frozen: bool = False,
        init_scale: float = 2.0,
        readout_lr: Optional[float] = None,
        readout_gamma: float = 0.5,
        readout_init: str = "auto",
        readout_learns: bool = True,
        readout_centred: Optional[bool] = None,
        scale: int = DEFAULT_SCALE,
        profile: Any = "loihi2",
        seed: int = 0,
    ) -> None:
        from .kernels.layer import ConvGeometry

        self.in_shape = _validate.shape("n_in", n_in)
        self.n_in = int(np.prod(self.in_shape))
        self.geometries: List[Optional[ConvGeometry]] = []
        self.recurrent: List[bool] = []
        #: per hidden layer, the recurrent block's optimiser step relative to the input block's
        #: (:class:`Recurrent`; 1 for a layer without one)
        self.recurrent_steps: List[float] = []
        #: per hidden layer, whether its :class:`Recurrent` gave ``recurrent_step`` (else the
        #: default, which :meth:`trainer_recurrent_steps` resolves per signal)
        self.recurrent_step_given: List[bool] = []
        shape = self.in_shape
        sizes = [self.n_in]
        hidden = tuple(hidden)
        for spec in hidden:
            if isinstance(spec, Conv):
                if len(shape) != 3:
                    raise ValueError("a Conv layer needs a (C, H, W) input: give n_in as a shape "
                                     "and put Conv layers before dense ones")
                geometry = ConvGeometry(shape, spec.channels, spec.kernel, spec.stride, spec.padding, spec.pool,
                                        spec.pool_out, spec.standardize)
                _, ho, wo = geometry.out_shape
                if min(ho, wo) < 1 or ho % spec.pool or wo % spec.pool or ho % spec.pool_out or wo % spec.pool_out:
                    raise ValueError(f"conv layer {len(self.geometries)}: output {ho}x{wo} does not fit "
                                     f"pool={spec.pool} / pool_out={spec.pool_out}")
                shape = geometry.next_shape
            elif isinstance(spec, Recurrent):
                geometry = None
                shape = (_validate.integer("recurrent size", spec.size, 1),)
                for name in ("recurrent_gain", "recurrent_step"):
                    value = getattr(spec, name)
                    if value is not None and _validate.real(name, value) < 0:
                        raise ValueError(f"{name} must be >= 0, got {value}")
            else:
                geometry = None
                shape = (_validate.integer("hidden size", spec, 1),)
            self.recurrent.append(isinstance(spec, Recurrent))
            self.recurrent_step_given.append(isinstance(spec, Recurrent) and spec.recurrent_step is not None)
            if isinstance(spec, Recurrent):
                self.recurrent_steps.append(spec.step_ratio(sizes[-1]))
            else:
                self.recurrent_steps.append(1.0)
            self.geometries.append(geometry)
            sizes.append(int(np.prod(shape)))
        self.hidden = sizes[1:]
        self.n_classes = _validate.integer("n_classes", n_classes, 2)
        if not isinstance(rule, LearningRule):
            raise TypeError("rule must be a LearningRule (TESS, STLLR, LLS)")
        # filtered="auto": the last hidden layer filtered where it can hold one state per synapse
        last_dense = bool(self.geometries) and self.geometries[-1] is None
        rule = rule.for_classes(self.n_classes).for_neuron(neuron).for_last_layer(last_dense)
        if rule.timing != "paper" and any(g is not None for g in self.geometries):
            raise ValueError(f"timing={rule.timing!r} is the dense layers' Loihi mapping (Lava's learning engine "
                             "has dense synapses only); a network with Conv layers learns with timing='paper'")
        self.rule, self.neuron, self.surrogate = rule, neuron, surrogate
        self.frozen = bool(frozen)
        self.readout_lr = None if readout_lr is None else _validate.positive("readout_lr", readout_lr)
        self.readout_gamma = _validate.in_unit_interval("readout_gamma", readout_gamma)
        self.scale, self.profile, self.seed = scale, profile, int(seed)
        if readout_init not in READOUT_INITS:
            raise ValueError(f"readout_init must be one of {', '.join(map(repr, READOUT_INITS))}, got {readout_init!r}")
        if readout_init == "auto":
            local_classifier = (rule.feedback == "local" and bool(self.geometries) and self.geometries[-1] is None)
            readout_init = "basis" if local_classifier else "random"
        self.readout_init = readout_init
        self.readout_learns = bool(readout_learns)
        # a fixed read-out is the last hidden layer's local classifier: it reads the spikes
        self.readout_centred = self.readout_learns if readout_centred is None else bool(readout_centred)
        if self.readout_centred and not self.readout_learns:
            raise ValueError("readout_centred=True centres what the read-out learns from; a fixed read-out "
                             "(readout_learns=False) is the last hidden layer's local classifier, which reads the "
                             "spikes themselves")
        rng = np.random.default_rng(seed)
        self.weights: List[np.ndarray] = []
        for spec, geometry, fan_in, fan_out in zip(hidden, self.geometries, sizes[:-1], sizes[1:]):
            if isinstance(spec, Recurrent):  # [input | recurrent] blocks, each at its own fan-in
                weight = rng.normal(0.0, 1.0, size=(fan_out, fan_in + fan_out))
                input_scale, recurrent_scale = spec.block_scales(fan_in, init_scale)
                weight[:, :fan_in] *= input_scale
                weight[:, fan_in:] *= recurrent_scale
                self.weights.append(weight)
            elif geometry is None:
                self.weights.append(rng.normal(0.0, init_scale / np.sqrt(fan_in), size=(fan_out, fan_in)))
            else:
                w_shape = geometry.weight_shape
                self.weights.append(rng.normal(0.0, init_scale / np.sqrt(np.prod(w_shape[1:])), size=w_shape))
        self.weights.append(rng.normal(0.0, 1.0 / np.sqrt(sizes[-1]), size=(self.n_classes, sizes[-1])))
        if readout_init == "basis":  # drawn above all the same: the hidden weights do not depend on the choice
            self.weights[-1] = make_basis(rule.signal.basis, self.n_classes, sizes[-1]) / np.sqrt(sizes[-1])
        #: the centred read-out's input mean (spikes per step) and the learning samples it has seen
        self.readout_mean = np.zeros(sizes[-1])
        self.readout_seen = 0
        #: each hidden layer's firing rate at the initial weights, for a signal with
        #: ``scale="rate"`` (:meth:`calibrate_signal`); ``None`` until measured
        self.signal_rates: Optional[List[float]] = None

    # -- the local signal's per-layer scale ------------------------------------------------
    @property
    def signal_sizes(self) -> List[int]:
        """Each hidden layer's signal size ``d``: its neurons, or a conv layer's pooled output."""
        return [g.signal_size if g is not None else w.shape[0] for g, w in zip(self.geometries, self.weights[:-1])]

    @property
    def needs_calibration(self) -> bool:
        """The rule's signal scale is set from each layer's firing rate, a hidden layer
        learns with it, and the rates are not measured yet."""
        return (self.rule.signal.scale == "rate" and bool(self.hidden) and not self.frozen
                and self.signal_rates is None)

    def calibrate_signal(self, frames: np.ndarray, rates: Optional[Sequence[float]] = None) -> Optional[List[float]]:
        """Measure each hidden layer's firing rate for a signal with ``scale="rate"``
        (:class:`~lava_local.kernels.learning_signal.SignalParams`), once, before learning.

        The rate is spikes per neuron and step over :data:`CALIBRATION_SAMPLES` samples of
        ``frames`` (the training frames) spread evenly through them, without learning, at the
        current weights (:func:`~lava_local.activity.measure_activity`: the float layer steps
        the Lava models take). ``rates`` gives them instead (the batched trainer passes its
        own count over the same samples, and recurrent layers, which only it runs). The rates
        are kept in :attr:`signal_rates` and a later call keeps them: the scale is fixed for
        the rest of training, as a chip's would be. Returns them; ``None`` (and nothing
        measured) for any other scale."""
        if not self.needs_calibration:
            return self.signal_rates
        if rates is None:
            from .activity import measure_activity

            activity = measure_activity(self, calibration_samples(frames))
            rates = [float(layer.output_spikes.sum()) / (activity.samples * activity.steps * layer.n_out)
                     for layer in activity.hidden]
        rates = [_validate.real("rate", r) for r in rates]
        if len(rates) != len(self.hidden):
            raise ValueError(f"rates needs one rate per hidden layer ({len(self.hidden)}), got {len(rates)}")
        self.signal_rates = rates
        return rates

    def layer_rule(self, i: int, learning: bool = True) -> LearningRule:
        """The rule hidden layer ``i`` runs: :attr:`rule`, with a signal of ``scale="rate"``
        set to that layer's number (:meth:`~lava_local.rules.LearningRule.for_rate`).
        ``learning=False`` (or a frozen network): a run where nothing learns, which never uses
        the signal, may build an uncalibrated network (the scale then stands at ``k / sqrt(d)``).
        A rule with ``filtered="last"`` gives the layer ``filtered=True`` or ``False``
        (:meth:`layer_filtered`); a filtered layer under a local signal takes the signal's
        ``filtered_scale`` (:meth:`SignalParams.for_filtered
        <lava_local.kernels.learning_signal.SignalParams.for_filtered>`)."""
        rule = self.rule
        if rule.filtered == "last":
            rule = rule.with_(filtered=self.layer_filtered(i))
        if rule.filtered is True and rule.feedback == "local":  # its classifier reads filtered spikes
            rule = rule.with_(signal=rule.signal.for_filtered())
        if rule.signal.scale != "rate":
            return rule
        if self.signal_rates is None:
            if learning and not self.frozen:
                rule.signal.basis_scale(1)  # raises, saying how to measure the rates
            return rule.for_rate(self.signal_sizes[i], 1.0)
        return rule.for_rate(self.signal_sizes[i], self.signal_rates[i])

    def trainer_recurrent_steps(self, local_signal: bool) -> List[float]:
        """Each hidden layer's recurrent-block step, relative to its input block's, for a
        trainer: :attr:`recurrent_steps`, except that with ``local_signal`` (each layer
        learns from its own local loss) a recurrent layer below the last hidden layer whose
        :class:`Recurrent` gave no ``recurrent_step`` keeps its recurrent block at its
        start (0; the reason is in :class:`Recurrent`)."""
        steps = list(self.recurrent_steps)
        if local_signal:
            for i in range(len(steps) - 1):
                if self.recurrent[i] and not self.recurrent_step_given[i]:
                    steps[i] = 0.0
        return steps

    def layer_filtered(self, i: int) -> bool:
        """Whether hidden layer ``i`` learns with the filtered eligibility (``rule.filtered``:
        ``True`` for every layer, ``"last"`` for the last hidden layer only)."""
        return self.rule.filters(i, len(self.hidden))

    # -- building -----------------------------------------------------------------------
    def build(self, frames: np.ndarray, labels: np.ndarray, schedule: np.ndarray, learn: np.ndarray,
              snapshot_dir: Optional[Path] = None, snapshot_every: int = 0, numeric: str = "float"):
        """Wire the Lava processes; returns ``(source, layers, readout)``. With
        ``numeric="fixed"`` a process whose weights or rule have no fixed-point form in the
        profile raises ``ValueError`` here, before Lava starts (a float run needs none)."""
        from .proc.base import check_fixed_point
        from .proc.conv_layer import ConvLayer
        from .proc.dense_layer import DenseLayer
        from .proc.readout import Readout
        from .proc.source import SpikeDataSource

        for g, recurrent in zip(self.geometries, self.recurrent):
            if recurrent or (g is not None and (g.pool_out != 1 or g.standardize)):
                raise ValueError("Recurrent layers, Conv(pool_out > 1) and weight standardisation run in "
                                 "the trainer (lava_local.trainer), not in the Lava processes")

        steps, gap = frames.shape[1], self.rule.drain_steps
        hop = int(self.rule.timing == "loihi")  # the Loihi timing's one step per dense layer
        source = SpikeDataSource(frames=frames, labels=labels, n_classes=self.n_classes,
                                 schedule=schedule, learn=learn, gap=gap, name="source")
        layers, previous = [], source.s_out
        learning = bool(np.any(learn)) and not self.frozen
        for i, w in enumerate(self.weights[:-1]):
            common = dict(
                weights=w, steps_per_sample=steps, rule=self.layer_rule(i, learning), neuron=self.neuron,
                surrogate=self.surrogate, learn=not self.frozen, name=f"hidden{i}",
                snapshot=str(snapshot_dir / f"hidden{i}.npy") if snapshot_dir else None,
                snapshot_every=snapshot_every,
            )
            g = self.geometries[i]
            if g is None:
                layer = DenseLayer(scale=self.scale, profile=self.profile, seed=self.seed + i, offset=hop * i,
                                   filter_decay=self.readout_gamma if common["rule"].filtered else None, **common)
            else:
                layer = ConvLayer(in_shape=g.in_shape, stride=g.stride, padding=g.padding, pool=g.pool,
                                  scale=self.scale, profile=self.profile, seed=self.seed + i, **common)
            previous.connect(layer.s_in)
            source.label_out.connect(layer.label_in)
            layers.append(layer)
            previous = layer.s_out
        readout = Readout(
            weights=self.weights[-1], steps_per_sample=steps, n_samples=len(schedule),
            gamma=self.readout_gamma, lr=self.readout_lr, learn=self.readout_learns, scale=self.scale,
            profile=self.profile, seed=self.seed + 100, name="readout",
            snapshot=str(snapshot_dir / "readout.npy") if snapshot_dir else None,
            snapshot_every=snapshot_every, offset=self.latency, gap=gap, centred=self.readout_centred,
            input_mean=self.readout_mean, seen=self.readout_seen,
        )
        previous.connect(readout.s_in)
        source.label_out.connect(readout.label_in)
        if numeric == "fixed":
            check_fixed_point([*layers, readout])
        return source, layers, readout

    def readout_lr_for(self, steps: int) -> float:
        """The read-out's SGD step per time step on samples of ``steps`` time steps
        (``readout_lr``, or the default step per sample spread over them)."""
        return step_per_time_step(self.readout_lr, READOUT_SAMPLE_STEP, steps)

    def rule_for(self, steps: int) -> LearningRule:
        """The hidden layers' rule as the Lava models run it on ``steps``-step samples: on
        this network's neuron, with its step per time step resolved
        (:meth:`~lava_local.rules.LearningRule.for_steps`)."""
        return self.rule.for_steps(steps)

    def layer_rules_for(self, steps: int, learning: bool = True) -> List[LearningRule]:
        """Each hidden layer's rule as its Lava model runs it on ``steps``-step samples
        (:meth:`rule_for`, with the layer's own signal scale, :meth:`layer_rule`)."""
        return [self.layer_rule(i, learning).for_steps(steps) for i in range(len(self.hidden))]

    @property
    def latency(self) -> int:
        """Steps between the source and the read-out: one per dense layer with the Loihi
        timing, none otherwise; runs take as many steps more."""
        return len(self.hidden) if self.rule.timing == "loihi" else 0

    def _check_run(self, numeric: str, mapping: str) -> None:
        from .runtime import MAPPINGS

        if numeric not in ("float", "fixed"):
            raise ValueError(f"numeric must be 'float' or 'fixed', got {numeric!r}")
        if mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {', '.join(map(repr, MAPPINGS))}, got {mapping!r}")
        if mapping == "loihi":
            from .proc.dense_layer.models import check_loihi_mapping

            check_loihi_mapping(self.rule)

    def _read_weights(self, layers, readout, numeric: str, mapping: str, snapshots: Optional[Path]) -> None:
        """The weights after a run (before the runtime stops): the snapshots the fused
        models wrote, the aliased Vars of the Loihi mapping."""
        if mapping == "fused":
            self._load_snapshots(snapshots, layers, readout, numeric)
            return
        for i, layer in enumerate(layers):
            self.weights[i] = self._var_weights(layer, numeric)
        self._load_snapshots(snapshots, [], readout, numeric)

    # -- training -----------------------------------------------------------------------
    def schedule(self, n_train: int, n_test: int, epochs: int) -> Tuple[np.ndarray, np.ndarray]:
        """The sample order :meth:`fit` plays (indices into train + test) and its learn flags."""
        rng = np.random.default_rng(self.seed)
        order: List[int] = []
        learn: List[bool] = []
        for _ in range(epochs):
            order += list(rng.permutation(n_train)) + list(range(n_train, n_train + n_test))
            learn += [True] * n_train + [False] * n_test
        return np.array(order, dtype=np.int64), np.array(learn, dtype=bool)

    def fit(
        self,
        train: Tuple[np.ndarray, np.ndarray],
        test: Tuple[np.ndarray, np.ndarray],
        epochs: int = 1,
        numeric: str = "float",
        progress: bool = True,
        on_epoch: Optional[Callable[[int, "History"], None]] = None,
        mapping: str = "fused",
    ) -> History:
        """Train online for ``epochs`` (each: shuffled train set, then the test set unlabelled).

        ``mapping``: ``"fused"`` or ``"loihi"`` (module docstring)."""
        x_tr, y_tr = _check_data("train", train, self.n_in, self.n_classes)
        x_te, y_te = _check_data("test", test, self.n_in, self.n_classes)
        if x_tr.shape[1] != x_te.shape[1]:
            raise ValueError("train and test frames must have the same number of steps")
        epochs = _validate.integer("epochs", epochs, 1)
        self._check_run(numeric, mapping)
        self.calibrate_signal(x_tr)
        frames = np.concatenate([x_tr, x_te]).astype(np.uint8)
        labels = np.concatenate([y_tr, y_te]).astype(np.int64)
        n_tr, n_te, steps = len(y_tr), len(y_te), frames.shape[1]
        schedule, learn = self.schedule(n_tr, n_te, epochs)
        sample_steps = period(steps, self.rule.drain_steps)
        per_epoch = (n_tr + n_te) * sample_steps
        total = per_epoch * epochs
        history = History(numeric=numeric)
        initial_norms = [float(np.linalg.norm(w)) for w in self.weights]
        spikes_counted = [0] * len(self.hidden)  # each hidden layer's spike count at the last check
        with tempfile.TemporaryDirectory(prefix="lava_local_net_") as tmp:
            snap = Path(tmp)
            source, layers, readout = self.build(frames, labels, schedule, learn, snap, per_epoch, numeric)
            bar = _progress(total, f"{numeric} {self.rule.name if not self.frozen else 'frozen'}", progress)
            start = time.perf_counter()
            clock = {"done": 0, "chunk_start": start, "epoch_start": start, "epochs": 0, "checked_at": 0}

            def on_chunk(steps_run: int) -> None:
                now = time.perf_counter()
                before = clock["done"]
                clock["done"] += steps_run
                if bar is not None:
                    bar.update(steps_run)
                # the epochs that ended inside this chunk (the chunks need not divide an
                # epoch): each end's time interpolated at the chunk's mean step rate
                for end in range((before // per_epoch + 1) * per_epoch, min(clock["done"], total) + 1, per_epoch):
                    at = clock["chunk_start"] + (now - clock["chunk_start"]) * (end - before) / steps_run
                    history.epoch_seconds.append(at - clock["epoch_start"])
                    clock["epoch_start"] = at
                clock["chunk_start"] = now
                if clock["done"] // per_epoch > clock["epochs"]:  # an epoch ended: its snapshots are there
                    clock["epochs"] = clock["done"] // per_epoch
                    try:
                        self._check_health(snap, layers, readout, numeric, initial_norms, mapping, spikes_counted,
                                           per_epoch, clock["done"] - clock["checked_at"])
                        clock["checked_at"] = clock["done"]
                    except TrainingCollapse as error:  # stops the runtime (lava_local.run), says when
                        raise TrainingCollapse(f"epoch {clock['epochs']}: {error}") from None

            try:
                run(readout, total + self.latency, numeric=numeric, check_every=min(per_epoch, 50 * sample_steps),
                    stop=False, on_chunk=on_chunk, mapping=mapping)
                predictions = np.asarray(readout.predictions.get(), dtype=np.int64)
                self._read_weights(layers, readout, numeric, mapping, snap)
                if self.readout_centred:
                    mean = np.asarray(readout.input_mean.get())
                    self.readout_mean = readout.mean_float(mean) if numeric == "fixed" else mean.astype(float)
                    self.readout_seen = int(np.asarray(readout.seen.get())[0])
            finally:
                readout.stop()
                if bar is not None:
                    bar.close()
        for e in range(epochs):
            block = slice(e * (n_tr + n_te), (e + 1) * (n_tr + n_te))
            pred, sched = predictions[block], schedule[block]
            history.train_accuracy.append(float(np.mean(pred[:n_tr] == labels[sched[:n_tr]])))
            history.test_accuracy.append(float(np.mean(pred[n_tr:] == labels[sched[n_tr:]])))
            history.test_predictions.append(pred[n_tr:].copy())  # the test part plays in order
            if on_epoch is not None:
                on_epoch(e, history)
        return history

    def predict(self, frames: np.ndarray, numeric: str = "float", progress: bool = False,
                mapping: str = "fused") -> np.ndarray:
        """Classify ``frames`` (N, T, n_in) in Lava without learning: the read-out's arg-max
        score per sample (e.g. after training with :mod:`lava_local.trainer`)."""
        x, _ = _check_data("frames", (frames, np.zeros(len(frames), dtype=np.int64)), self.n_in, self.n_classes)
        self._check_run(numeric, mapping)
        schedule = np.arange(len(x))
        source, layers, readout = self.build(x.astype(np.uint8), np.zeros(len(x), dtype=np.int64), schedule,
                                             np.zeros(len(x), dtype=bool), numeric=numeric)
        total = len(x) * period(x.shape[1], self.rule.drain_steps)
        bar = _progress(total, f"{numeric} predict", progress)
        try:
            run(readout, total + self.latency, numeric=numeric, stop=False, mapping=mapping,
                on_chunk=(lambda n: bar.update(n)) if bar is not None else None)
            return np.asarray(readout.predictions.get(), dtype=np.int64)
        finally:
            readout.stop()
            if bar is not None:
                bar.close()

    def record(self, frames: np.ndarray, label: int = 0, numeric: str = "float",
               mapping: str = "fused") -> List[np.ndarray]:
        """Run one sample ``(T, n_in)`` without learning; return each hidden layer's spikes (T, n)."""
        from lava.proc.monitor.process import Monitor

        x, y = _check_data("sample", (frames[None], np.array([label])), self.n_in, self.n_classes)
        self._check_run(numeric, mapping)
        steps = x.shape[1]
        # a layer's row n: its step n (the Loihi mapping's neurons run one step after the synapses)
        first = [layer_offset + int(mapping == "loihi") for layer_offset in range(len(self.hidden))] \
            if self.rule.timing == "loihi" else [0] * len(self.hidden)
        total = steps + self.latency + int(mapping == "loihi")
        source, layers, readout = self.build(x.astype(np.uint8), y, np.array([0]), np.array([False]), numeric=numeric)
        monitors = []
        for layer in layers:
            monitor = Monitor()
            monitor.probe(layer.o, total)
            monitors.append(monitor)
        try:
            run(readout, total, numeric=numeric, stop=False, mapping=mapping)
            spikes = [np.asarray(m.get_data()[layer.name]["o"]).reshape(total, -1)[f:f + steps]
                      for m, layer, f in zip(monitors, layers, first)]
        finally:
            readout.stop()
        return spikes

    def _check_health(self, folder: Path, layers, readout, numeric: str, initial_norms: List[float],
                      mapping: str, spikes_counted: List[int], per_epoch: int, steps_since_check: int) -> None:
        """:func:`lava_local.health.check_network` on the epoch's snapshots: each layer's
        weights and each fused hidden layer's firing rate over the epoch (its spike count over
        the ``per_epoch`` steps the snapshot covers). The Loihi mapping's hidden layers write
        no snapshot: their weights and spike counts are read from the paused runtime (the
        Vars aliased to the learning engine's weights and to the neurons' count), the spikes
        since the last check (``spikes_counted``, updated here) over the
        ``steps_since_check`` steps run since then: about an epoch, as the check runs at the
        end of the first run segment after each epoch's end. A fused layer whose snapshot is
        not there yet (down the Loihi timing's pipeline it is written a step after the epoch
        ends) is checked at the next epoch."""
        norms: List[Optional[float]] = []
        rates: List[Optional[float]] = []
        for i, layer in enumerate(layers):
            neurons = int(np.prod(layer.s_out.shape))
            path = folder / f"hidden{i}.npy"
            if mapping == "loihi":
                norms.append(float(np.linalg.norm(self._var_weights(layer, numeric))))
                total = int(np.asarray(layer.spike_count.get())[0])
                rates.append((total - spikes_counted[i]) / (neurons * max(steps_since_check, 1)))
                spikes_counted[i] = total
                continue
            weights = self._snapshot_weights(path, layer, numeric)
            norms.append(None if weights is None else float(np.linalg.norm(weights)))
            spike_path = spike_count_path(str(path))
            rates.append(int(np.load(spike_path)[0]) / (neurons * per_epoch)
                         if weights is not None and spike_path.is_file() else None)
        weights = self._snapshot_weights(folder / "readout.npy", readout, numeric)
        norms.append(None if weights is None else float(np.linalg.norm(weights)))
        check_network(norms, initial_norms, rates, learns=not self.frozen)

    @staticmethod
    def _var_weights(layer, numeric: str) -> np.ndarray:
        """A layer's weights read from its Var (a paused runtime), in float units."""
        values = np.asarray(layer.weights.get())
        return layer.weights_float(values) if numeric == "fixed" else values

    @staticmethod
    def _snapshot_weights(path: Path, process, numeric: str, required: bool = False) -> Optional[np.ndarray]:
        """A snapshot's weights in float units; ``None`` without the file unless ``required``."""
        if not path.is_file() and not required:
            return None
        values = np.load(path)
        return process.weights_float(values) if numeric == "fixed" else values

    def _load_snapshots(self, folder: Path, layers, readout, numeric: str) -> None:
        for i, layer in enumerate(layers):
            self.weights[i] = self._snapshot_weights(folder / f"hidden{i}.npy", layer, numeric, required=True)
        self.weights[-1] = self._snapshot_weights(folder / "readout.npy", readout, numeric, required=True)


def _progress(total: int, label: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="step", unit_scale=True, leave=False, disable=None)

"""The learning rules as users see them: S-TLLR, LLS and TESS configurations.

A rule is a frozen dataclass handed to a layer or network. All three share one synapse
update (:mod:`lava_local.kernels.plasticity`) and differ in its parameters and in where
the learning signal comes from:

======  =========================================  ==========================================
rule    eligibility                                learning signal
======  =========================================  ==========================================
TESS    traces q, h (lambda_pre = the neuron's      local: fixed square-wave basis per layer
        gamma, lambda_post 0.2), alpha_pre 1,      (temporal *and* spatial locality)
        alpha_post -1
S-TLLR  causal trace q (lambda_pre = gamma),       local basis (as TESS), the read-out's
        alpha_post 0; the papers' presets per      error at step t back-propagated across
        dataset                                    layers (bp), or DFA
LLS     instantaneous Psi(u[t]) o_pre[t]           local: fixed periodic basis (sine,
        (lambda_pre 0, alpha_post 0)               scaled by 1/sqrt(d))
======  =========================================  ==========================================

TESS is fully local: no error or gradient crosses a layer. (The public TESS code
back-propagates the output loss through all layers in most steps; this library implements
the paper's rule.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Union

from . import _validate
from .kernels.learning_signal import SignalParams
from .kernels.neuron import LIFParams
from .kernels.plasticity import EligibilityParams

__all__ = ["LearningRule", "TESS", "STLLR", "LLS", "TIMINGS", "SAMPLE_STEP", "READOUT_SAMPLE_STEP", "step_per_time_step"]

SAMPLE_STEP = 1e-2
"""The Lava models' default SGD step of a learning rule, per sample: a rule with ``lr=None``
(the default) learns ``SAMPLE_STEP / T`` per time step of a T-step sample
(:meth:`LearningRule.for_steps`). A per-step update summed over a sample grows with T, so a
fixed per-step rate set on 10-step samples is ten times too large on 100-step series
(benchmarks/RESULTS.md, "The Lava steps follow the sample length")."""

READOUT_SAMPLE_STEP = 1e-2
"""The read-out's default SGD step per sample (``Network(readout_lr=None)``, the Lava
``Readout(lr=None)``): ``READOUT_SAMPLE_STEP / T`` per time step, 1e-3 at N-MNIST's T = 10
(the online N-MNIST runs' setting). Ten times this (the library's per-step 1e-2 before)
drove the fixed-point read-out's 8-bit weights into saturation on every set measured, N-MNIST
included (online in the NumPy reference of the Lava models, 3 seeds: fixed point 0.517
against 0.720 on the N-MNIST subset, chance against 0.567 on BasicMotions), while float
accuracy held (benchmarks/RESULTS.md, "The read-out's step per sample")."""


def step_per_time_step(lr: Optional[float], per_sample: float, steps: int) -> float:
    """The SGD step per time step: ``lr`` when one is given (a rate per time step, as the
    Lava models apply it), else ``per_sample`` spread over the sample's ``steps`` time steps.
    At T = 10 the defaults give 1e-3, for a rule and for the read-out."""
    steps = _validate.integer("steps", steps, 1)
    if lr is not None:
        return _validate.positive("lr", lr)
    return _validate.positive("per_sample", per_sample) / steps


FILTER_GAINS = ("sum", "unit")
"""``LearningRule.filtered_gain``: the filtered eligibility as the read-out's sum, or at unit gain."""

TIMINGS = {"paper": 0, "loihi": 2}
"""Steps between a step's post-synaptic factors and the pre-synaptic quantities they are
paired with, per ``LearningRule.timing``; ``"loihi"`` is
:data:`lava_local.decomposed.PAIRING_OFFSET` (the Dense hop plus the signal's latency)."""


@dataclass(frozen=True)
class LearningRule:
    """Common fields. ``lr``: SGD step of the Lava models per time step (the trainer uses
    torch optimizers); ``None`` (the default) is :data:`SAMPLE_STEP` per sample, spread over
    the sample's T steps (:meth:`for_steps`, which the layers apply: 1e-3 at N-MNIST's T = 10,
    1e-4 on a 100-step series).

    ``t_l``: learn only from step ``t_l`` of each sample on (S-TLLR's T_l; 0 in TESS).
    ``apply``: ``"sample"`` accumulates dW over a sample and applies it at its end (the
    papers' Algorithm 1); ``"step"`` applies it every step (online variant; the Loihi
    mapping's learning engine does this; in the trainer each hidden layer's optimiser then
    steps every time step).
    ``feedback``: where the learning signal comes from: ``"local"`` (the layer's fixed
    basis, LLS/TESS), or, for S-TLLR only, ``"bp"`` (the read-out's instantaneous loss at
    step t back-propagated across layers, not through time) or ``"dfa"`` (that loss's error
    through fixed random feedback matrices). ``"bp"`` and ``"dfa"`` run in the trainer.
    ``timing``: ``"paper"`` pairs each step's post-synaptic factors ``a[n] = m alpha_pre
    Psi(u[n])``, ``b[n] = m alpha_post h[n]`` with that step's pre trace and spikes;
    ``"loihi"`` pairs them with those of step n + 2, as the layer decomposed for Loihi 2
    computes (:mod:`lava_local.decomposed`): ``dW[n] = a[n-2] (x) q[n] + b[n-2] (x)
    o_pre[n]``. The layer state then holds a delay line of the last two steps' factors,
    which starts empty with each sample (the factors of a sample's last two steps are not
    applied). Dense and recurrent layers, in the trainer (step by step, ``window=1``) and
    in the Lava float and fixed-point models; the read-out keeps its exact local gradient.
    ``drain`` (with ``timing="loihi"``): after each training sample the layers run
    ``pairing_offset`` more steps without input and without a label, as two silent,
    unlabelled steps between samples on the chip: the factors of the sample's last steps,
    otherwise dropped, meet its decayed traces (and whatever the layers below still emit),
    and nothing is learned from the silence itself. In the trainer
    (:class:`~lava_local.trainer.LocalTrainer`, after each training sample) and in the Lava
    models, fused and Loihi mapping, whose sample clock then gives every sample
    ``drain_steps`` more steps (:mod:`lava_local.proc.sample`).
    ``filtered`` (``timing="paper"``, ``apply="sample"``; dense and recurrent layers in the
    trainer, dense layers in the Lava models, float and fixed point): the eligibility is
    low-pass filtered by the read-out's leak before
    it meets the signal (e-prop's filtered eligibility,
    :func:`~lava_local.kernels.plasticity.filtered_eligibility_step`), so the signal at step t
    also credits the spikes of earlier steps that a leaky read-out still holds. With
    ``feedback="bp"`` or ``"dfa"`` the signal is the read-out's error; for the last hidden
    layer that is the gradient of the read-out's per-step loss. With the local signal (TESS,
    S-TLLR, LLS) each layer's fixed classifier reads its spikes filtered by the same leak,
    ``o_bar[t] = gamma_ro o_bar[t-1] + o[t]``, as the read-out integrates them, and the
    update is the gradient of the per-step local loss ``CE(softmax(s B o_bar[t]), y*)``
    (the reset's path aside): what a leaky read-out at the basis would send the layer,
    still from nothing but the layer's own spikes and the label. One state per synapse and
    sample instead of per neuron (on Loihi 2, what a synapse's tag can hold; the Loihi
    mapping does not build it). Measured on the four temporal sets
    (``benchmarks/RESULTS.md``): TESS +0.7 to +4.4 points (10 seeds); LLS, with a fixed
    read-out too (``Network(readout_learns=False)``), +1 to +6 on six sets (10 seeds). (LLS's
    former cosine basis, aliased on these widths, silenced its second layer here.)
    ``filtered="last"`` filters the last hidden layer only, the one the read-out reads, and
    leaves the layers below it with the per-neuron traces: the filtered state then grows with
    that layer's synapses alone. Under TESS's local signal its classifier, where the read-out
    starts, reads the spikes as the leaky read-out does. Measured (``benchmarks/RESULTS.md``,
    "The last hidden layer's signal filtered", 10 seeds on six time series sets): TESS
    within 5 points of BPTT on every set, on the feed-forward network (GunPoint +8.4 over
    TESS, the others level) and on the recurrent one (one hidden layer, so ``"last"`` and
    ``True`` agree; OSULeaf +12.4).
    ``filtered="auto"`` (the default of TESS, LLS and S-TLLR) is ``"last"`` where it can be
    held: the network resolves it (:meth:`for_last_layer`) to ``"last"`` when its last hidden
    layer is dense or recurrent and the rule learns at ``timing="paper"``, ``apply="sample"``,
    and to ``False`` otherwise (a conv last layer as VGG-9's, the Loihi timing, per-step
    updates, a layer process on its own; for S-TLLR, the DFA signal). A filtered layer under
    a local signal learns at its signal's ``filtered_scale`` (S-TLLR: the basis over sqrt(d)).
    ``filtered_gain``: ``"sum"`` (S-TLLR's and LLS's default) filters as the read-out
    integrates, so a filtered layer's update is the read-out's gradient, up to
    ``1 / (1 - gamma_ro)`` times an unfiltered layer's (10 at the temporal read-out's 0.9);
    ``"unit"`` (TESS's default) scales what enters the filter by ``1 - gamma_ro``, a low-pass
    of unit gain: the same direction, an update as large as the layers' below it
    (:meth:`filter_input_gain`). The signal reads the filtered spikes as before. Under Adam
    (the trainer's default) a constant scale per layer all but cancels; under plain SGD, as
    the Lava models learn online, it sets the filtered layer's step. Measured online
    (``benchmarks/RESULTS.md``, "The filtered layer's step online").
    """

    eligibility: EligibilityParams = field(default_factory=EligibilityParams)
    signal: SignalParams = field(default_factory=SignalParams)
    feedback: str = "local"
    t_l: int = 0
    apply: str = "sample"
    lr: Optional[float] = None
    timing: str = "paper"
    drain: bool = False
    filtered: Union[bool, str] = False
    filtered_gain: str = "sum"
    name: str = "rule"

    def __post_init__(self) -> None:
        if not isinstance(self.eligibility, EligibilityParams):
            raise TypeError("eligibility must be an EligibilityParams")
        if not isinstance(self.signal, SignalParams):
            raise TypeError("signal must be a SignalParams")
        if self.feedback not in ("local", "bp", "dfa"):
            raise ValueError(f"feedback must be 'local', 'bp' or 'dfa', got {self.feedback!r}")
        if self.apply not in ("sample", "step"):
            raise ValueError(f"apply must be 'sample' or 'step', got {self.apply!r}")
        _validate.integer("t_l", self.t_l, 0)
        if self.lr is not None:
            _validate.positive("lr", self.lr)
        if self.timing not in TIMINGS:
            raise ValueError(f"timing must be one of {', '.join(map(repr, TIMINGS))}, got {self.timing!r}")
        if not isinstance(self.drain, bool):
            raise TypeError(f"drain must be a bool, got {self.drain!r}")
        if self.drain and self.pairing_offset == 0:
            raise ValueError("drain=True drains the Loihi timing's delay line: it needs timing='loihi'")
        if not isinstance(self.filtered, bool) and self.filtered not in ("last", "auto"):
            raise TypeError(f"filtered must be a bool, 'last' or 'auto', got {self.filtered!r}")
        if self.filtered_gain not in FILTER_GAINS:
            raise ValueError(f"filtered_gain must be one of {', '.join(map(repr, FILTER_GAINS))}, "
                             f"got {self.filtered_gain!r}")
        if self.filtered in (True, "last") and (self.timing != "paper" or self.apply != "sample"):
            raise ValueError(f"filtered={self.filtered!r} filters the eligibility by the read-out's leak step by "
                             "step and applies the summed update after each sample: it needs timing='paper' and "
                             "apply='sample'")

    def filters(self, layer: int, n_layers: int) -> bool:
        """Whether hidden layer ``layer`` of ``n_layers`` learns with the filtered eligibility
        (``filtered=True``: every layer; ``"last"``: the one the read-out reads; ``"auto"``
        still to be resolved, :meth:`for_last_layer`: none)."""
        return self.filtered is True or (self.filtered == "last" and layer == n_layers - 1)

    def for_last_layer(self, holds_filter: bool) -> "LearningRule":
        """This rule with ``filtered="auto"`` resolved: ``"last"`` where the last hidden layer
        ``holds_filter`` (a dense or recurrent layer of a network, whose read-out's leak the
        filter follows) and the rule learns with ``timing="paper"`` and ``apply="sample"``;
        ``False`` otherwise (a conv last layer, a network without hidden layers, the Loihi
        timing or per-step updates, a layer process on its own). Any other value is kept."""
        if self.filtered != "auto":
            return self
        holds = bool(holds_filter) and self.timing == "paper" and self.apply == "sample"
        return replace(self, filtered="last" if holds else False)

    def filter_input_gain(self, decay: Optional[float]) -> float:
        """What a filtered layer's eligibility takes in per step, relative to the read-out's
        sum, for the read-out's leak ``decay``: 1 under ``filtered_gain="sum"``, ``1 - decay``
        under ``"unit"`` (:func:`~lava_local.kernels.plasticity.filtered_eligibility_step`);
        1 for a layer without a filter (``decay=None``)."""
        return 1.0 - decay if self.filtered_gain == "unit" and decay is not None else 1.0

    @property
    def pairing_offset(self) -> int:
        """Steps between the post factors and the pre quantities they are paired with."""
        return TIMINGS[self.timing]

    @property
    def drain_steps(self) -> int:
        """Silent, unlabelled steps after each sample: ``pairing_offset`` with ``drain``, else 0."""
        return self.pairing_offset if self.drain else 0

    def with_(self, **changes) -> "LearningRule":
        return replace(self, **changes)

    def for_classes(self, n_classes: int) -> "LearningRule":
        """This rule for a network of ``n_classes`` classes: a signal without a class count
        (``SignalParams(n_classes=None)``, the default) takes it; one that fixes another
        count is refused, since its basis would not match the network's labels."""
        _validate.integer("n_classes", n_classes, 2)
        if self.signal.n_classes is None:
            return replace(self, signal=replace(self.signal, n_classes=n_classes))
        if self.signal.n_classes != n_classes:
            raise ValueError(f"the rule's signal is set for {self.signal.n_classes} classes, the network has "
                             f"{n_classes}: leave SignalParams(n_classes=None) to take the network's")
        return self

    def for_steps(self, steps: int) -> "LearningRule":
        """This rule on samples of ``steps`` time steps: without its own rate (``lr=None``, the
        default) it takes :data:`SAMPLE_STEP` / ``steps`` per step, a fixed step per sample;
        a rate given stays as it is."""
        if self.lr is not None:
            _validate.integer("steps", steps, 1)
            return self
        return replace(self, lr=step_per_time_step(None, SAMPLE_STEP, steps))

    def for_rate(self, size: int, rate: float) -> "LearningRule":
        """This rule on one layer of ``size`` signal inputs firing at ``rate``: a signal with
        ``scale="rate"`` takes that layer's number (:meth:`SignalParams.for_rate
        <lava_local.kernels.learning_signal.SignalParams.for_rate>`); any other is kept."""
        signal = self.signal.for_rate(size, rate)
        return self if signal is self.signal else replace(self, signal=signal)

    def for_neuron(self, neuron: LIFParams) -> "LearningRule":
        """This rule on layers of ``neuron``: a pre trace without its own decay
        (``EligibilityParams(lambda_pre=None)``, the TESS and S-TLLR defaults) decays as the
        neuron's membrane, ``lambda_pre = gamma``."""
        if self.eligibility.lambda_pre is not None:
            return self
        return replace(self, eligibility=replace(self.eligibility, lambda_pre=neuron.gamma))


@dataclass(frozen=True)
class TESS(LearningRule):
    """TESS (IJCNN 2025): S-TLLR traces with a local square-wave signal, every step.

    Defaults measured with the batched trainer (2312/784-512-256, Adam, batch 32, 3 seeds;
    benchmarks/RESULTS.md): the square basis scaled by 1/sqrt(d) and alpha_post = -1 gave
    0.917 on the N-MNIST subset and 0.853 on Fashion-MNIST, against BPTT's 0.910 and 0.852;
    unscaled (+-1) it was 0.903 / 0.805, scaled by 1/d (the authors' code) 0.830 / 0.839.
    Online with batch 1 (the Lava network) the unscaled basis with alpha_post = 0 trained
    best, so the Lava demo and benchmark set those explicitly. The paper explores alpha_post
    in {-1, 0, +1}; alpha_post 0 cost 5.7 points on the N-MNIST subset (0.863 +- 0.012), so
    -1 stays.

    ``lambda_pre`` follows the neuron (``None``: the network fills in its ``gamma``): the
    paper's 0.5 on the paper's neuron (gamma 0.5), so the results above are unchanged, and
    on a temporal network (gamma 0.9) a trace as long as the membrane's memory.

    ``filtered="auto"``: the last hidden layer's eligibility and local classifier follow the
    read-out's leak where that layer is dense or recurrent (:class:`LearningRule`), the
    layers below keep the paper's per-neuron traces. The paper's rule filters nothing
    (``filtered=False``). Measured (benchmarks/RESULTS.md, "TESS filters its last hidden
    layer by default", 10 seeds, paired): within 5 points of BPTT on six time series sets,
    feed-forward and recurrent, where the paper's rule was 11.7 behind on GunPoint
    (feed-forward) and 12.0 on OSULeaf (recurrent); the N-MNIST subset 0.913 and
    Fashion-MNIST 0.858 +- 0.006 against 0.913 and 0.860 +- 0.003 (3 seeds). Its cost is one
    state per synapse of that layer and sample: 16.8 MiB of learning state instead of 0.75
    on the N-MNIST network at batch 32, still constant in T.

    ``filtered_gain="unit"``: that layer's eligibility enters its filter at ``1 - gamma_ro``,
    so its update is as large as the layers' below it (:class:`LearningRule`). Under Adam,
    the trainer's default, the scale cancels (OSULeaf and PickupGestureWiimoteZ within
    rounding, 3 seeds). Online, under the Lava models' one plain SGD step for every layer,
    the read-out's sum (``"sum"``) moved the filtered layer two to twelve times as far as the
    first and left TESS 12.7 and 10.0 points under its frozen control on OSULeaf and ACSF1
    (float; 12.9 and 16.3 in fixed point); at unit gain 4.5 and 2.7 (6.7 and 4.7), the four
    short sets and the N-MNIST subset within their spread over seeds (benchmarks/RESULTS.md,
    "The filtered layer's step online", 3 seeds, paired).
    """

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=None, lambda_post=0.2, alpha_pre=1.0, alpha_post=-1.0)
    )
    signal: SignalParams = field(default_factory=lambda: SignalParams(basis="square", scale="1/sqrt(d)"))
    filtered: Union[bool, str] = "auto"
    filtered_gain: str = "unit"
    name: str = "TESS"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feedback != "local":
            raise ValueError("TESS is fully local: feedback must be 'local'")


@dataclass(frozen=True)
class STLLR(LearningRule):
    """S-TLLR (TMLR 2025), with its general eligibility as the default.

    Default: the causal term only (alpha_post 0) with a pre trace that decays as the
    neuron's membrane (``lambda_pre=None`` -> gamma), which makes ``Psi(u[t]) q[t]`` the exact
    derivative of u[t] with respect to the weights (reset aside), and a local signal
    (``feedback="bp"`` for the paper's back-propagated one). Measured with
    ``feedback="bp"`` (benchmarks/RESULTS.md, 3 seeds): on the temporal network (gamma 0.9)
    it raised OSULeaf from 0.455 (the DVS Gesture preset 0.75, 0.2, 1, -1, the default
    before) to 0.561 and PickupGestureWiimoteZ from 0.440 to 0.507; on the N-MNIST subset
    (gamma 0.5) it gave 0.910 +- 0.016 against the preset's 0.927 +- 0.017. The papers'
    presets stay, labelled by dataset: :meth:`dvs_gesture`, :meth:`cifar10_dvs`, :meth:`shd`.

    ``filtered="auto"``: the last hidden layer's eligibility is filtered by the read-out's
    leak where that layer is dense or recurrent (:class:`LearningRule`), so the read-out's
    error at step t (``feedback="bp"``), or the local classifier of the spikes filtered alike
    (``"local"``), credits the spikes the leaky read-out still holds; the DFA signal stays
    unfiltered. Measured
    (benchmarks/RESULTS.md, "S-TLLR (bp) filters its last hidden layer by default", 10
    seeds, paired): within 2 points of BPTT on six time series sets (feed-forward), where
    the paper's rule was 2.6 and 2.9 behind on two; on the recurrent network OSULeaf 4.4
    behind BPTT instead of 9.3; the N-MNIST subset 0.900 +- 0.014 and Fashion-MNIST 0.849 +-
    0.014 against 0.897 +- 0.005 and 0.849 +- 0.010 (3 seeds). ``filtered=False`` is the
    paper's rule.

    The local signal's basis is the square one at +-1 on the layers below the last, and the
    basis over sqrt(d) on the filtered last hidden layer (``SignalParams(filtered_scale=
    "1/sqrt(d)")``), where the read-out starts: that layer's local loss is then the loss of
    the read-out at its start, on the spikes as the read-out integrates them. Measured
    (benchmarks/RESULTS.md, "S-TLLR's local signal: the filtered last layer at the read-out's
    scale", 10 seeds, paired, against the unfiltered +-1 basis it had before): OSULeaf
    +7.8 points feed-forward, from 3.6 below the frozen control to 4.2 above it, and +4.0 on
    the recurrent network; the other time series sets within their error or up; the N-MNIST
    subset level (-0.3) and Fashion-MNIST +0.9 (3 seeds). The basis over sqrt(d) on every
    layer (TESS's) lost 3.5 points on the N-MNIST subset: the lower layers learn best from
    the sharper +-1 signal there.
    """

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=None, lambda_post=0.2, alpha_pre=1.0, alpha_post=0.0)
    )
    signal: SignalParams = field(default_factory=lambda: SignalParams(basis="square", scale=None,
                                                                      filtered_scale="1/sqrt(d)"))
    filtered: Union[bool, str] = "auto"
    name: str = "S-TLLR"

    def for_last_layer(self, holds_filter: bool) -> "STLLR":
        """``filtered="auto"`` filters the last hidden layer under the back-propagated and the
        local signal; the DFA signal's filter was not measured, so it stays unfiltered."""
        return super().for_last_layer(holds_filter and self.feedback != "dfa")

    @classmethod
    def dvs_gesture(cls, **kw) -> "STLLR":
        return cls(eligibility=EligibilityParams(0.75, 0.2, 1.0, -1.0), **kw)

    @classmethod
    def cifar10_dvs(cls, **kw) -> "STLLR":
        """Also the N-Caltech101 preset."""
        return cls(eligibility=EligibilityParams(0.5, 0.2, 1.0, -1.0), **kw)

    @classmethod
    def shd(cls, **kw) -> "STLLR":
        kw.setdefault("lr", 2e-4)
        return cls(eligibility=EligibilityParams(1.0, 0.5, 1.0, 1.0), **kw)


@dataclass(frozen=True)
class LLS(LearningRule):
    """LLS (WACV 2025) in spiking form: trace-free eligibility, fixed periodic basis.

    The basis is the sine basis ``sin(f_k j)``, ``f_k = linspace(50, 512, C)``, the one the
    authors' LLS code computes for its default waveform. (This library's default was the
    DCT-like cosine ``cos(pi f_k (j + 0.5) / d)``, a variant that code keeps commented out:
    with ``f_k`` up to 512 it aliases on layers of 512 neurons or fewer, and on the widths
    used here its last class's row was constant (d = 128, 256) or zero (d = 512); on
    two-class sets the constant row silenced the second hidden layer (GunPoint: training
    accuracy flat at 0.52, every seed at chance). The sine basis gave the N-MNIST subset
    0.857 +- 0.009 against 0.823 +- 0.009, Fashion-MNIST 0.856 +- 0.006 against 0.794 +-
    0.047; benchmarks/RESULTS.md, "LLS's basis".)

    The basis is scaled by 1/sqrt(d), as TESS's. Unscaled (measured on the cosine basis), the
    local logits of a 256-neuron layer start with a spread of about 25 (BasicMotions, gamma
    0.9), the softmax saturates, and the large one-sided errors silence the second layer
    (rate 0.013 against 0.079 scaled), leaving the network below its own frozen
    initialisation (0.637 against 0.825); scaled it reached 0.913. The authors' 1/d is
    worse on the sine basis: N-MNIST subset 0.783 against 0.857 (3 seeds).

    ``filtered="auto"``, as TESS's: the last hidden layer's eligibility and local classifier
    follow the read-out's leak where that layer is dense or recurrent
    (:class:`LearningRule`); the paper's rule is ``filtered=False``. Measured
    (benchmarks/RESULTS.md, "TESS filters its last hidden layer by default", feed-forward, 5
    seeds, paired): +0.5 to +7.3 points on five of six time series sets (GunPoint +7.3, from
    12.1 behind BPTT to 4.8), -0.2 on ACSF1; the N-MNIST subset 0.870 against 0.867 and
    Fashion-MNIST 0.856 +- 0.005 against 0.858 +- 0.006 (3 seeds).
    """

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=0.0, lambda_post=0.0, alpha_pre=1.0, alpha_post=0.0)
    )
    signal: SignalParams = field(default_factory=lambda: SignalParams(basis="sine", scale="1/sqrt(d)"))
    filtered: Union[bool, str] = "auto"
    name: str = "LLS"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feedback != "local":
            raise ValueError("LLS is local: feedback must be 'local'")

    @classmethod
    def with_pre_trace(cls, **kw) -> "LLS":
        """LLS with a pre trace that decays as the neuron's membrane (``lambda_pre=None`` ->
        gamma): the causal term ``Psi(u[t]) q[t]`` of S-TLLR and TESS, the exact derivative of
        u[t] with respect to the weights (reset aside), instead of the trace-free
        ``Psi(u[t]) o_pre[t]``, which on a slow neuron sees only the input of the step itself.
        An option for temporal data, not the paper's rule. Measured (benchmarks/RESULTS.md,
        3 seeds unless stated): on the temporal network (gamma 0.9) BasicMotions 0.667 ->
        0.783, PickupGestureWiimoteZ 0.240 -> 0.280, OSULeaf 0.417 -> 0.421, ACSF1
        0.220 -> 0.220; on the N-MNIST subset (gamma 0.5) 0.813 +- 0.026 -> 0.830 +- 0.014.
        """
        return cls(eligibility=EligibilityParams(lambda_pre=None, lambda_post=0.0, alpha_pre=1.0, alpha_post=0.0),
                   **kw)

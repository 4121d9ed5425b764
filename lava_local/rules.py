"""The learning rules as users see them: S-TLLR, LLS and TESS configurations.

A rule is a frozen dataclass handed to a layer or network. All three share one synapse
update (:mod:`lava_local.kernels.plasticity`) and differ in its parameters and in where
the learning signal comes from:

======  =========================================  ==========================================
rule    eligibility                                learning signal
======  =========================================  ==========================================
TESS    traces q, h (lambda_pre 0.5, lambda_post   local: fixed square-wave basis per layer
        0.2), alpha_pre 1, alpha_post -1           (temporal *and* spatial locality)
S-TLLR  traces q, h, presets per dataset           local basis (as TESS) or DFA: a fixed
                                                   random projection of the output error
LLS     instantaneous Psi(u[t]) o_pre[t]           local: fixed periodic basis (cosine)
        (lambda_pre 0, alpha_post 0)
======  =========================================  ==========================================

TESS is fully local: no error or gradient crosses a layer. (The public TESS code
back-propagates the output loss through all layers in most steps; this library implements
the paper's rule.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import _validate
from .kernels.learning_signal import SignalParams
from .kernels.plasticity import EligibilityParams

__all__ = ["LearningRule", "TESS", "STLLR", "LLS"]


@dataclass(frozen=True)
class LearningRule:
    """Common fields. ``lr``: SGD step of the Lava models (the trainer uses torch optimizers).

    ``t_l``: learn only from step ``t_l`` of each sample on (S-TLLR's T_l; 0 in TESS).
    ``apply``: ``"sample"`` accumulates dW over a sample and applies it at its end (the
    papers' Algorithm 1); ``"step"`` applies it every step (online variant).
    ``feedback``: where the learning signal comes from: ``"local"`` (the layer's fixed
    basis, LLS/TESS), or, for S-TLLR only, ``"bp"`` (the read-out's instantaneous loss at
    step t back-propagated across layers, not through time) or ``"dfa"`` (that loss's error
    through fixed random feedback matrices). ``"bp"`` and ``"dfa"`` run in the trainer.
    """

    eligibility: EligibilityParams = field(default_factory=EligibilityParams)
    signal: SignalParams = field(default_factory=SignalParams)
    feedback: str = "local"
    t_l: int = 0
    apply: str = "sample"
    lr: float = 1e-3
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
        _validate.positive("lr", self.lr)

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


@dataclass(frozen=True)
class TESS(LearningRule):
    """TESS (IJCNN 2025): S-TLLR traces with a local square-wave signal, every step.

    Defaults measured with the batched trainer (2312/784-512-256, Adam, batch 32, 3 seeds;
    benchmarks/RESULTS.md): the square basis scaled by 1/sqrt(d) and alpha_post = -1 gave
    0.917 on the N-MNIST subset and 0.853 on Fashion-MNIST, against BPTT's 0.910 and 0.852;
    unscaled (+-1) it was 0.903 / 0.805, scaled by 1/d (the authors' code) 0.830 / 0.839.
    Online with batch 1 (the Lava network) the unscaled basis with alpha_post = 0 trained
    best, so the Lava demo and benchmark set those explicitly. The paper explores alpha_post
    in {-1, 0, +1}.
    """

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=0.5, lambda_post=0.2, alpha_pre=1.0, alpha_post=-1.0)
    )
    signal: SignalParams = field(default_factory=lambda: SignalParams(basis="square", scale="1/sqrt(d)"))
    name: str = "TESS"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feedback != "local":
            raise ValueError("TESS is fully local: feedback must be 'local'")


@dataclass(frozen=True)
class STLLR(LearningRule):
    """S-TLLR (TMLR 2025). Defaults: the DVS Gesture preset with a local signal."""

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=0.75, lambda_post=0.2, alpha_pre=1.0, alpha_post=-1.0)
    )
    name: str = "S-TLLR"

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
    """LLS (WACV 2025) in spiking form: trace-free eligibility, fixed periodic basis."""

    eligibility: EligibilityParams = field(
        default_factory=lambda: EligibilityParams(lambda_pre=0.0, lambda_post=0.0, alpha_pre=1.0, alpha_post=0.0)
    )
    signal: SignalParams = field(default_factory=lambda: SignalParams(basis="cosine"))
    name: str = "LLS"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feedback != "local":
            raise ValueError("LLS is local: feedback must be 'local'")

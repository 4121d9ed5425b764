"""The post-synaptic TESS neuron for Lava's ``LearningDense`` (the Loihi 2 mapping).

``LearningDense`` with a ``Loihi3FLearningRule`` computes the synapse update from its own
pre traces (x0 = pre spike, x1 = pre trace q) and per-neuron factors that the post neuron
sends every step on ``s_out_bap``, ``s_out_y1``, ``s_out_y2``, ``s_out_y3``
(DESIGN.md 3.2-3.4). This neuron runs the papers' LIF, Psi and post trace h
(:mod:`lava_local.kernels`), takes the learning signal m in, and sends

    y2 = y_scale * m * alpha_pre * Psi(u)       (factor of the causal term,   u0 * x1 * y2)
    y3 = y_scale * m * alpha_post * h           (factor of the non-causal term, x0 * y3)
    bap = o (its spikes), y1 = 0 (unused, but LearningDense waits for it)

so the rule ``dw = -u0 * x1 * y2 - x0 * y3`` is the TESS update
``dW = -lr ((m a_pre Psi) (x) q + (m a_post h) (x) o_pre)`` with ``y_scale`` carrying the
learning rate (Lava only takes constants 2^[-7, 9] in the rule string).

Timing: the m that arrives at step t belongs to this neuron's spikes of step t-1 (the
signal generator sends first, :class:`~lava_local.proc.learning_signal.LearningSignal`).
The neuron therefore pairs it with Psi(u) and h *of step t-1* (held one step), so each
(y2, y3) it sends is exactly the papers' factor pair of one neuron step. See
:mod:`lava_local.decomposed` for how this lines up with the synapse.
"""
from __future__ import annotations

from typing import Any, Optional

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.fixed_point import engine_factor_scale
from lava_local.kernels.neuron import LIFParams
from lava_local.kernels.plasticity import EligibilityParams
from lava_local.kernels.surrogate import Surrogate
from lava_local.proc.base import LocalProcess


class TessPost(LearningNeuronProcess, LocalProcess):
    """TESS LIF neurons that feed Lava's learning engine.

    Ports: ``a_in`` (synaptic input), ``m_in`` (learning signal), ``s_out`` (spikes) and,
    from ``LearningNeuronProcess``, ``s_out_bap``, ``s_out_y1``, ``s_out_y2``,
    ``s_out_y3`` (all sent every step; connect all four to the ``LearningDense``) and
    ``a_third_factor_in`` (unused).

    Vars: ``u`` (membrane before reset), ``o``, ``psi`` (Psi(u)), ``h`` (post trace),
    ``m`` (last signal received), ``y1``, ``y2``, ``y3`` (last factors sent),
    ``spike_count`` (shape (1,): the spikes all neurons have sent since the run started;
    the collapse check of :meth:`lava_local.network.Network.fit` reads it).

    Parameters
    ----------
    n : int
    learning_rule : Loihi3FLearningRule
        The rule of the ``LearningDense`` this neuron feeds (Lava's mixin needs it).
    neuron : LIFParams
    surrogate : Surrogate
    eligibility : EligibilityParams
        ``lambda_post``, ``alpha_pre``, ``alpha_post`` are used here (``lambda_pre``
        lives in the synapse's x1).
    y_scale : float
        Multiplies y2 and y3 (the learning rate folded into the factors).
    steps_per_sample : int, optional
        With a sample clock (the neurons of a :class:`~lava_local.proc.dense_layer.DenseLayer`
        in the Loihi mapping) the neurons reset u, o, Psi and h at the start of each sample and
        send the factors of the sample's steps ``t_l .. T-3`` only, which is what the fused
        layer's delay line applies (:mod:`lava_local.kernels.layer`); without one (default)
        they run one continuous stream.
    offset : int
        Steps between the sample clock and these neurons (:mod:`lava_local.proc.sample`).
    t_l : int
        First step of each sample whose factors are sent (the rule's ``t_l``).
    learn : bool
        False: every factor sent is zero (a frozen layer).
    fixed : DenseLayerFixedParams, optional
        The integer parameters of the layer (:func:`lava_local.fixed_point.quantize_dense_layer`)
        for the ``fixed_pt`` model: the LIF, Psi table and post trace of the fused fixed
        model, and the scaling of the factors into the learning engine's ``y_bits``
        (:func:`lava_local.fixed_point.engine_factor_scale`, ``profile``).
    seed : int
        Seed of the fixed model's stochastic rounding of y2, y3.
    """

    def __init__(
        self,
        *,
        n: int,
        learning_rule: Loihi3FLearningRule,
        neuron: LIFParams = LIFParams(),
        surrogate: Surrogate = Surrogate(),
        eligibility: EligibilityParams = EligibilityParams(),
        y_scale: float = 1.0,
        steps_per_sample: Optional[int] = None,
        offset: int = 0,
        t_l: int = 0,
        learn: bool = True,
        fixed: Any = None,
        profile: Any = "loihi2",
        seed: int = 0,
        name: Optional[str] = None,
    ) -> None:
        n = _validate.integer("n", n, 1)
        if not isinstance(learning_rule, Loihi3FLearningRule):
            raise TypeError(f"learning_rule must be a Loihi3FLearningRule, got {type(learning_rule).__name__}")
        if not isinstance(neuron, LIFParams) or not isinstance(surrogate, Surrogate):
            raise TypeError("neuron must be LIFParams and surrogate a Surrogate")
        if not isinstance(eligibility, EligibilityParams):
            raise TypeError(f"eligibility must be an EligibilityParams, got {type(eligibility).__name__}")
        y_scale = _validate.real("y_scale", y_scale)
        if steps_per_sample is not None:
            steps_per_sample = _validate.integer("steps_per_sample", steps_per_sample, 1)
        super().__init__(
            shape=(n,), learning_rule=learning_rule, n=n, neuron=neuron, surrogate=surrogate,
            eligibility=eligibility, y_scale=y_scale, steps=steps_per_sample,
            offset=_validate.integer("offset", offset, 0), t_l=_validate.integer("t_l", t_l, 0), learn=bool(learn),
            fixed=fixed, engine=None if fixed is None else engine_factor_scale(fixed, profile), seed=int(seed),
            name=name,
        )
        self.proc_params["process_name"] = self.name
        self.a_in = InPort(shape=(n,))
        self.m_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        for var in ("u", "o", "psi", "h", "m"):
            setattr(self, var, Var(shape=(n,), init=0))
        self.spike_count = Var(shape=(1,), init=0)

"""Loihi 2's learning engine as lava-nc 0.10's fixed-point ``LearningDense`` computes it, for
the TESS synapse rule: what the chip learns, step by step, in its own integers.

The Loihi mapping (:mod:`lava_local.decomposed`) learns with Lava's bit-approximate
learning engine (``LearningConnectionModelBitApproximate`` with
``LearningRuleApplierBitApprox``) and the ``Loihi3FLearningRule`` with ``t_epoch = 1``::

    dw = -u0 * x1 * y2 - x0 * y3        (lambda_pre > 0: the causal term on the pre trace x1)
    dw = -x0 * y2 - x0 * y3             (lambda_pre = 0, LLS: both terms on the pre spike x0)

A fixed-point fused layer with ``timing="loihi"`` runs these functions, so the two mappings
learn the same weights bit for bit. Per step, after the pre spikes ``x0`` arrive and the
post neuron has sent ``y2``, ``y3``:

1. **Traces** (``_compute_trace_histories``): every trace decays by ``exp(-1/tau)`` and is
   rounded stochastically, ``floor(v) + (r < frac(v))``, with *one* random number ``r`` per
   trace kind and step (not per synapse); a pre spike then adds x1's impulse (saturating at
   ``2**trace_bits - 1``). y2, y3 are overwritten by what the neuron sent, then decay the
   same way (their time constant is 65535 in the mapping: a decay of 1.5e-5, compensated in
   ``y_scale``).
2. **Products** (``LearningRuleApplierBitApprox.apply``): each factor saturates to
   ``[-2**7, 2**7 - 1]``; the product times the rule's scale mantissa (-1) shifts right by
   its excess width (``7 + 7 + 4 - 15 = 3`` for ``x1 y2``, none for ``x0 y3``), then left
   by the scale exponent (7) into the 15-bit accumulator, saturating there; the accumulator
   starts from ``w << 7`` and saturates after each product.
3. **Weights** (``_apply_learning_rules``): the accumulator is rounded stochastically to
   weight units (``/ 2**7``, one random number per step), then saturated to the engine's
   weight range ``[-2**8, 2**8 - 1]``.

The random numbers are Lava's: ``numpy.random.default_rng`` streams seeded by the rule's
``rng_seed`` (pre traces: decay ``seed``, impulse ``seed + 1``; post traces ``seed + 2``,
``seed + 3``) and by 2 for the weights, each drawn once at start and then advanced twice
per step (traces) or once per learning epoch (weights): :class:`EngineRandoms`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Tuple

import numpy as np

__all__ = [
    "LearningEngineParams",
    "EngineRandoms",
    "StepRandoms",
    "engine_params",
    "engine_trace_decay",
    "engine_pre_trace",
    "engine_weight_step",
    "engine_apply",
    "factor_rng",
]

#: time constant of y1..y3 in Lava's ``Loihi3FLearningRule`` (the largest the engine has)
Y_TAU = 65535
#: the seed Lava's ``ConnVarRandom`` (weight rounding) uses whatever the rule's seed
WEIGHT_ROUNDING_SEED = 2


@dataclass(frozen=True)
class LearningEngineParams:
    """The learning engine's configuration for one plastic dense layer.

    ``x1_tau`` and ``x1_impulse``: the pre trace's time constant and per-spike increment
    (``x1_tau = 0``: no pre trace, the causal term uses ``x0``); ``y_tau``: the post
    factors' time constant; widths as in ``hw_profiles/loihi2.toml [learning]``.
    """

    x1_tau: float
    x1_impulse: int
    y_tau: float = Y_TAU
    trace_bits: int = 7         # W_TRACE: traces and third factors
    scale_mantissa_bits: int = 4  # W_S_MANT
    accumulator_bits: int = 15  # W_ACCUMULATOR_U
    weight_bits: int = 8        # W_WEIGHTS_U: weights saturate to [-2**8, 2**8 - 1]
    scale_exp: int = 7          # the exponent Lava gives the rule's coefficients -1

    @property
    def causal_on_x0(self) -> bool:
        return self.x1_tau == 0

    @property
    def weight_shift(self) -> int:
        """Fractional bits of the accumulator below one weight unit (16 - 9 = 7)."""
        return self.accumulator_bits - self.weight_bits

    @property
    def rule(self) -> str:
        """The ``Loihi3FLearningRule`` string these parameters compute."""
        return "-x0 * y2 - x0 * y3" if self.causal_on_x0 else "-u0 * x1 * y2 - x0 * y3"


def engine_params(lambda_pre: float, impulse: int, profile=None) -> LearningEngineParams:
    """The engine's parameters for a layer with pre-trace decay ``lambda_pre`` (0: none) and
    ``impulse`` per pre spike (widths from ``profile``'s ``[learning]``: ``y_bits`` is Lava's
    ``W_TRACE``, the width of traces and third factors alike)."""
    from ..hw_profile import load_profile

    if not 0.0 <= lambda_pre < 1.0:
        raise ValueError(f"lambda_pre must lie in [0, 1) for a Loihi trace time constant, got {lambda_pre}")
    hw = load_profile(profile if profile is not None else "loihi2")
    tau = 0.0 if lambda_pre == 0.0 else -1.0 / math.log(lambda_pre)
    return LearningEngineParams(
        x1_tau=tau, x1_impulse=0 if lambda_pre == 0.0 else int(impulse), trace_bits=hw.learning.y_bits,
        scale_mantissa_bits=hw.learning.scale_mantissa_bits, accumulator_bits=hw.learning.accumulator_bits,
        weight_bits=hw.learning.engine_weight_bits,
    )


class StepRandoms(NamedTuple):
    """The engine's random numbers of one step: pre-trace decay, post-trace decay, weights."""

    x_decay: float
    y_decay: float
    weights: float


class EngineRandoms:
    """Lava's random streams of one ``LearningDense`` (``TraceRandom`` x and y,
    ``ConnVarRandom``), advanced as its fixed-point model advances them."""

    def __init__(self, rng_seed: int) -> None:
        self._x = np.random.default_rng(rng_seed)
        self._y = np.random.default_rng(rng_seed + 2)
        self._w = np.random.default_rng(WEIGHT_ROUNDING_SEED)
        # each generator draws once when created; impulses of integer size never use theirs
        self._x.random(1)
        self._y.random(1)
        self._w.random(1)

    def step(self) -> StepRandoms:
        """The numbers of the next step: two trace advances (after the pre spikes, after the
        post factors) and one weight advance (the learning phase)."""
        self._x.random(1)
        self._y.random(1)
        return StepRandoms(float(self._x.random(1)[0]), float(self._y.random(1)[0]), float(self._w.random(1)[0]))


def engine_trace_decay(values: np.ndarray, tau: float, r: float) -> np.ndarray:
    """One step of decay: ``floor(exp(-1/tau) v) + (r < frac)`` (``tau = 0``: the trace is
    off and reads 0), Lava's ``_decay_trace``."""
    v = np.asarray(values, np.int64)
    if tau == 0:
        return np.zeros_like(v)
    scaled = np.exp(-1 / np.array([tau])) * v  # the same float operations as Lava
    floor = np.floor(scaled)
    return (floor + (r < scaled % 1)).astype(np.int64)


def engine_pre_trace(x1: np.ndarray, pre: np.ndarray, params: LearningEngineParams, r: float) -> np.ndarray:
    """x1 after one step: decayed, plus the impulse where the pre neuron spiked, saturated
    to ``[0, 2**trace_bits - 1]`` there."""
    x1 = engine_trace_decay(x1, params.x1_tau, r)
    spiked = np.asarray(pre) != 0
    x1[spiked] = np.clip(x1[spiked] + params.x1_impulse, 0, 2**params.trace_bits - 1)
    return x1


def engine_weight_step(
    weights: np.ndarray,
    x1: np.ndarray,
    pre: np.ndarray,
    y2: np.ndarray,
    y3: np.ndarray,
    params: LearningEngineParams,
    randoms: StepRandoms,
) -> Tuple[np.ndarray, np.ndarray]:
    """One learning step of the engine: ``(weights, x1)`` after the pre spikes ``pre`` and
    the post factors ``y2``, ``y3`` of this step (``x1``: the trace before it).

    ``dw = -u0 x1 y2 - x0 y3`` (``-x0 y2 - x0 y3`` without a pre trace) in the engine's
    integers: factors saturated, products shifted into the accumulator and saturated, the
    sum rounded stochastically to weight units and saturated to the weight range.
    """
    x1 = engine_pre_trace(x1, pre, params, randoms.x_decay)
    x0 = (np.asarray(pre) != 0).astype(np.int64)[np.newaxis, :]
    y2 = engine_trace_decay(y2, params.y_tau, randoms.y_decay)[:, np.newaxis]
    y3 = engine_trace_decay(y3, params.y_tau, randoms.y_decay)[:, np.newaxis]
    lo, hi = -(2**params.trace_bits), 2**params.trace_bits - 1
    causal = x0 if params.causal_on_x0 else np.clip(x1, lo, hi)[np.newaxis, :]
    causal_widths = 0 if params.causal_on_x0 else params.trace_bits
    acc_lo, acc_hi = -(2**params.accumulator_bits) - 1, 2**params.accumulator_bits - 1
    acc = np.asarray(weights, np.int64) << params.weight_shift
    for dependency, factor, widths in ((causal, y2, causal_widths + params.trace_bits),
                                       (x0, y3, params.trace_bits)):
        product = -(dependency * np.clip(factor, lo, hi))  # the coefficient -1 (mantissa -1)
        product = product >> max(0, widths + params.scale_mantissa_bits - params.accumulator_bits)
        product = np.clip(product << params.scale_exp, acc_lo, acc_hi)
        acc = np.clip(acc + product, acc_lo, acc_hi)
    units = acc / 2**params.weight_shift
    units = np.floor(units) + (randoms.weights < units % 1)
    w = np.clip(units.astype(np.int64), -(2**params.weight_bits), 2**params.weight_bits - 1)
    return w, x1


def engine_apply(weights: np.ndarray, dw: np.ndarray, params: LearningEngineParams) -> np.ndarray:
    """``W + dW`` for summed engine steps ``dW`` (weight units), saturated to the engine's
    weight range (a layer that applies its update once per sample)."""
    limit = 2**params.weight_bits
    return np.clip(np.asarray(weights, np.int64) + np.asarray(dw, np.int64), -limit, limit - 1)


def factor_rng(seed: int, sample: int, step: int) -> np.random.Generator:
    """The random numbers that round the post factors of step ``step`` of sample ``sample``
    into the engine's ``y2``, ``y3`` (:func:`~.plasticity.engine_factor_fixed`).

    Keyed by the factors' own step rather than drawn in sequence, so the post neuron, which
    runs a step behind the synapses and sends the factors of the step before, and a fused
    layer draw the same numbers for the same factors.
    """
    return np.random.default_rng([seed, sample, step])

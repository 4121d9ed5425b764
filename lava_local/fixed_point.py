"""Float <-> fixed-point conversion: the one documented mapping between the two models.

A float LIF population (:class:`LIFConfig`) becomes a fixed-point one
(:class:`LIFFixedConfig`) through :func:`quantize_lif`, given a hardware profile and a
``scale``: the number of integer input units that stand for ``1.0`` of float input. The
rules, each checked against the profile's widths (a value that does not fit raises
``ValueError`` naming it):

* input:      ``a_in = round(x * scale)``, signed ``input_bits``
* membrane:   ``1.0`` is ``scale << input_shift`` units (the neuron shifts inputs left)
* threshold:  ``vth = round(v_th * scale)``, compared as ``vth << threshold_shift``; since
  ``threshold_shift == input_shift`` on Loihi, threshold and membrane share one unit
* decays:     ``dv = round(2**decay_bits * (1 - gamma))``; the trace decrement likewise
  from ``lambda_post`` with the trace's ``decay_bits``
* Psi:        a look-up table in ``psi_frac_bits`` fractional bits; ``psi_frac_bits`` is
  the largest width (at most the profile's ``factor_bits``) for which the post trace's
  bound ``Psi_peak / (1 - lambda_post)`` fits the unsigned trace width, so h never
  saturates
* post trace: same fractional bits as Psi

:func:`dequantize_membrane` and friends map integer states back to float units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Tuple

import numpy as np

from . import _validate
from .hw_profile import HardwareProfile, TraceFormat, load_profile
from .kernels.neuron import LIFFixedParams, LIFParams
from .kernels.surrogate import PsiTable, Surrogate, psi_table
from .kernels.traces import TraceParams

__all__ = [
    "LIFConfig",
    "LIFFixedConfig",
    "quantize_lif",
    "quantize_decay",
    "quantize_input",
    "dequantize_membrane",
    "dequantize_factor",
    "DEFAULT_SCALE",
    "QuantizedWeights",
    "quantize_dense_weights",
    "quantize_layer_weights",
    "quantize_dense_layer",
    "quantize_conv_layer",
    "quantize_readout",
    "EngineFactorScale",
    "engine_factor_scale",
]

DEFAULT_SCALE = 1024
"""Integer input units per 1.0 of float input: v_th = 0.6 becomes vth = 614 (0.5996)."""
#: fractional bits of a ``rule.filtered`` layer's filtered spikes: the sum of B o_bar keeps
#: them before its logits are rounded to whole spikes (the local error's unit)
FILTERED_SPIKE_FRAC_BITS = 8


@dataclass(frozen=True)
class LIFConfig:
    """Everything a float LIF population needs: neuron, Psi and post-trace decay."""

    neuron: LIFParams = field(default_factory=LIFParams)
    surrogate: Surrogate = field(default_factory=Surrogate)
    traces: TraceParams = field(default_factory=TraceParams)

    def __post_init__(self) -> None:
        for name, cls in (("neuron", LIFParams), ("surrogate", Surrogate), ("traces", TraceParams)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"LIFConfig.{name} must be a {cls.__name__}")


@dataclass(frozen=True)
class LIFFixedConfig:
    """The integer counterpart of :class:`LIFConfig` in one profile's format."""

    neuron: LIFFixedParams
    psi: PsiTable
    post_decay: int
    trace: TraceFormat
    scale: int

    @property
    def membrane_unit(self) -> int:
        """Integer membrane value that stands for 1.0."""
        return self.scale << self.neuron.fmt.input_shift


def quantize_decay(name: str, decay: float, decay_bits: int, allow_zero: bool = False) -> int:
    """``round(2**decay_bits * (1 - decay))``, which must fit ``decay_bits`` bits.

    ``allow_zero`` admits ``decay = 0`` (a trace that holds only the current impulse),
    which traces support and the neuron's 12-bit ``dv`` does not.
    """
    decay = _validate.in_unit_interval(name, decay)
    step = int(round((1 << decay_bits) * (1.0 - decay)))
    if allow_zero and step == 1 << decay_bits:
        return step
    if step > (1 << decay_bits) - 1:
        raise ValueError(
            f"{name}={decay} is too small for a {decay_bits}-bit decay "
            f"(smallest non-zero decay factor is 2**-{decay_bits})"
        )
    return step


def quantize_lif(
    config: LIFConfig = LIFConfig(),
    scale: int = DEFAULT_SCALE,
    profile: Any = "loihi2",
) -> LIFFixedConfig:
    """Convert float LIF parameters to a profile's fixed-point format (rules above)."""
    if not isinstance(config, LIFConfig):
        raise TypeError(f"config must be a LIFConfig, got {type(config).__name__}")
    hw: HardwareProfile = load_profile(profile)
    fmt = hw.neuron
    scale = _validate.integer("scale", scale, 1, fmt.input_max)
    if fmt.threshold_shift != fmt.input_shift:
        raise ValueError(
            f"profile {hw.name}: threshold_shift != input_shift is not supported "
            "(threshold and membrane must share a unit)"
        )
    vth = int(round(config.neuron.v_th * scale))
    if not 1 <= vth <= fmt.threshold_max:
        raise ValueError(
            f"v_th={config.neuron.v_th} at scale {scale} gives vth={vth}, which does not fit "
            f"the profile's {fmt.threshold_bits}-bit threshold [1, {fmt.threshold_max}]"
        )
    neuron = LIFFixedParams(
        dv=quantize_decay("gamma", config.neuron.gamma, fmt.decay_bits),
        vth=vth,
        fmt=fmt,
        reset=config.neuron.reset,
    )
    post_decay = quantize_decay("lambda_post", config.traces.lambda_post, hw.trace.decay_bits, allow_zero=True)
    lam = config.traces.lambda_post
    bound = config.surrogate.peak / (1.0 - lam) if lam < 1.0 else math.inf
    frac_bits = hw.learning.factor_bits
    while frac_bits > 0 and (
        round(config.surrogate.peak * 2**frac_bits) > hw.learning.factor_max
        or bound * 2**frac_bits > hw.trace.max
    ):
        frac_bits -= 1
    table = psi_table(
        config.surrogate, scale << fmt.input_shift, frac_bits, hw.learning.psi_lut_bits
    )
    return LIFFixedConfig(neuron=neuron, psi=table, post_decay=post_decay, trace=hw.trace, scale=scale)


def quantize_input(x: Any, fixed: LIFFixedConfig, name: str = "input") -> np.ndarray:
    """``round(x * scale)`` as integers, checked against the profile's input width."""
    array = _validate.finite_array(name, x)
    ints = np.round(array * fixed.scale).astype(np.int64)
    limit = fixed.neuron.fmt.input_max
    if ints.size and (ints.min() < -limit - 1 or ints.max() > limit):
        raise ValueError(
            f"{name} at scale {fixed.scale} spans [{ints.min()}, {ints.max()}], outside the "
            f"{fixed.neuron.fmt.input_bits}-bit input range"
        )
    return ints


def dequantize_membrane(u: Any, fixed: LIFFixedConfig) -> np.ndarray:
    return np.asarray(u, dtype=float) / fixed.membrane_unit


def dequantize_factor(x: Any, fixed: LIFFixedConfig) -> np.ndarray:
    """Psi or post-trace integers back to float."""
    return np.asarray(x, dtype=float) / 2**fixed.psi.frac_bits


@dataclass(frozen=True)
class QuantizedWeights:
    """Integer weights for Lava's bit-accurate ``Dense``: ``a = (W_int @ s) << weight_exp``.

    Lava's Dense (mixed sign) keeps ``weight_bits`` bits of magnitude with the least
    significant one dropped, i.e. even integers in ``[-2**weight_bits, 2**weight_bits - 2]``.
    """

    weights: np.ndarray
    weight_exp: int

    def dequantize(self, scale: int) -> np.ndarray:
        return self.weights.astype(float) * 2.0**self.weight_exp / scale


def quantize_dense_weights(weights: Any, scale: int = DEFAULT_SCALE, profile: Any = "loihi2") -> QuantizedWeights:
    """``W_int * 2**weight_exp ~= W * scale`` with the smallest shared exponent that fits.

    The synaptic input then arrives in the neuron's input unit (``round(x * scale)``), up
    to the weight rounding (half a mantissa step times ``2**weight_exp``).
    """
    hw = load_profile(profile)
    w = _validate.finite_array("weights", weights)
    bits = hw.synapse.weight_bits
    limit = 2**bits - 2  # largest even magnitude Lava's mixed-sign truncation keeps
    peak = float(np.max(np.abs(w))) * scale if w.size else 0.0
    exp = hw.synapse.weight_exp_min
    while exp < hw.synapse.weight_exp_max and peak / 2.0**exp > limit:
        exp += 1
    if peak / 2.0**exp > limit:
        raise ValueError(
            f"weights up to {peak / scale:.3g} do not fit {bits}-bit weights with exponents "
            f"up to {hw.synapse.weight_exp_max} at scale {scale}"
        )
    mantissa = 2 * np.round(w * scale / 2.0 ** (exp + 1)).astype(np.int64)
    return QuantizedWeights(np.clip(mantissa, -limit, limit), exp)


# --- plastic layers ----------------------------------------------------------------------


def _weight_exponent(weights: np.ndarray, scale: int, hw: HardwareProfile) -> int:
    """Smallest shared exponent with ``|W| * scale / 2**exp <= weight_max``."""
    peak = float(np.max(np.abs(weights))) * scale if weights.size else 0.0
    exp = hw.synapse.weight_exp_min
    while exp < hw.synapse.weight_exp_max and peak / 2.0**exp > hw.synapse.weight_max:
        exp += 1
    if peak / 2.0**exp > hw.synapse.weight_max:
        raise ValueError(
            f"weights up to {peak / scale:.3g} do not fit {hw.synapse.weight_bits}-bit weights "
            f"with exponents up to {hw.synapse.weight_exp_max} at scale {scale}"
        )
    return exp


def quantize_layer_weights(weights: Any, scale: int, profile: Any = "loihi2", headroom: float = 2.0) -> QuantizedWeights:
    """Weight mantissas (``|W_int| <= weight_max``) and exponent for a plastic layer.

    ``headroom`` reserves range for weights that grow while learning (the exponent is
    chosen for ``headroom * max|W|``); mantissas saturate beyond it.
    """
    hw = load_profile(profile)
    w = _validate.finite_array("weights", weights)
    exp = _weight_exponent(w * headroom, scale, hw)
    mantissa = np.clip(np.round(w * scale / 2.0**exp), -hw.synapse.weight_max, hw.synapse.weight_max)
    return QuantizedWeights(mantissa.astype(np.int64), exp)


def _pre_impulse(lambda_pre: float, trace_max: int) -> int:
    """Largest per-spike increment whose worst case (a spike every step) never saturates."""
    if lambda_pre >= 1.0:
        return max(1, trace_max // 16)  # no decay: saturation is unavoidable; documented
    return max(1, int(np.floor(trace_max * (1.0 - lambda_pre))))


def _learning_rate(lr: Optional[float], gains: Tuple[float, ...], denominator: float) -> tuple:
    """``lr * gains... / denominator`` as an 8-bit mantissa over a power of two: ``(mant, shift)``."""
    if lr is None:  # a step per sample, which only the samples' length turns into one per time step
        raise ValueError("the learning rate is None (the default step per sample): resolve it for the samples' "
                         "length first, rule.for_steps(T) or Network.readout_lr_for(T)")
    for gain in gains:
        lr = lr * gain
    value = lr / denominator
    shift = 0
    while value * 2**shift < 128 and shift < 62:
        shift += 1
    return int(round(value * 2**shift)), shift


def _integer_alpha(name: str, value: float) -> int:
    if value != round(value):
        raise ValueError(f"{name}={value}: the fixed-point models take integer alphas (-1, 0, +1 in the papers)")
    return int(round(value))


def quantize_dense_layer(
    weights: Any,
    neuron: LIFParams,
    surrogate: Surrogate,
    rule: Any,
    n_out: int,
    scale: int = DEFAULT_SCALE,
    profile: Any = "loihi2",
    filter_decay: Optional[float] = None,
):
    """Fixed-point parameters of a plastic dense layer and its integer initial weights.

    Returns ``(DenseLayerFixedParams, QuantizedWeights)``. The learning rate maps as
    ``dW_int = lr * s * scale / (2**(F_m + F_psi + exp) * impulse) * acc`` (see
    :class:`~lava_local.kernels.layer.DenseLayerFixedParams`). ``filter_decay``: the
    read-out's leak a ``rule.filtered`` layer follows, quantised as the read-out's
    (:func:`quantize_readout`); the filtered spikes keep ``FILTERED_SPIKE_FRAC_BITS``. The
    integer eligibility keeps the read-out's sum; a filter of unit gain
    (``rule.filtered_gain="unit"``) takes its gain in the learning rate.
    """
    from .kernels.learning_signal import fixed_error
    from .kernels.layer import DenseLayerFixedParams, FilterFixedParams

    hw = load_profile(profile)
    elig = rule.for_neuron(neuron).eligibility  # a pre trace without its own decay follows the neuron
    lif = quantize_lif(
        LIFConfig(neuron, surrogate, TraceParams(elig.lambda_pre, elig.lambda_post)), scale, hw
    )
    q = quantize_layer_weights(weights, scale, hw)
    impulse = _pre_impulse(elig.lambda_pre, hw.trace.max)
    s = rule.signal.basis_scale(n_out)
    frac_m = hw.learning.factor_bits
    error = fixed_error(rule.signal, s, 2 * n_out, frac_m)
    lr_mant, lr_shift = _learning_rate(
        rule.lr, (s, scale, rule.filter_input_gain(filter_decay)),
        2.0 ** (frac_m + lif.psi.frac_bits + q.weight_exp) * impulse
    )
    params = DenseLayerFixedParams(
        neuron=lif.neuron,
        psi=lif.psi,
        pre_decay=quantize_decay("lambda_pre", elig.lambda_pre, hw.trace.decay_bits, allow_zero=True),
        post_decay=lif.post_decay,
        pre_impulse=impulse,
        trace=hw.trace,
        synapse=hw.synapse,
        weight_exp=q.weight_exp,
        alpha_pre=_integer_alpha("alpha_pre", elig.alpha_pre),
        alpha_post=_integer_alpha("alpha_post", elig.alpha_post),
        error=error,
        lr_mant=lr_mant,
        lr_shift=lr_shift,
        filter=None if filter_decay is None else FilterFixedParams(
            quantize_decay("filter_decay", filter_decay, hw.neuron.decay_bits), hw.neuron.decay_bits,
            FILTERED_SPIKE_FRAC_BITS),
    )
    return params, q


def quantize_conv_layer(
    weights: Any,
    geometry: Any,
    neuron: LIFParams,
    surrogate: Surrogate,
    rule: Any,
    scale: int = DEFAULT_SCALE,
    profile: Any = "loihi2",
):
    """Fixed-point parameters of a plastic conv layer: as :func:`quantize_dense_layer`,
    with the average pooling's ``1 / area`` folded into the integer error (logits are
    ``s / area * B sum_pool(o)``) and into the learning rate (the back-projection spreads
    over each window without dividing)."""
    from .kernels.learning_signal import fixed_error

    _, ho, wo = geometry.out_shape
    area = (ho // geometry.pool) * (wo // geometry.pool)
    params, q = quantize_dense_layer(weights, neuron, surrogate, rule, geometry.signal_size, scale, profile)
    hw = load_profile(profile)
    s = rule.signal.basis_scale(geometry.signal_size)
    frac_m = hw.learning.factor_bits
    error = fixed_error(rule.signal, s / area, 2 * geometry.signal_size * area, frac_m)
    lr_mant, lr_shift = _learning_rate(
        rule.lr, (s, scale, 1.0 / area), 2.0 ** (frac_m + params.psi.frac_bits + q.weight_exp) * params.pre_impulse
    )
    return replace(params, error=error, lr_mant=lr_mant, lr_shift=lr_shift), q


def quantize_readout(weights: Any, gamma: float, lr: Optional[float], scale: int = DEFAULT_SCALE, profile: Any = "loihi2",
                     centred: bool = False):
    """Fixed-point parameters of the leaky read-out and its integer initial weights
    (``centred``: its input less its mean, :func:`~lava_local.kernels.layer.readout_step_fixed`)."""
    from .kernels.learning_signal import softmax_table
    from .kernels.layer import CENTRE_FRAC_BITS, ReadoutFixedParams

    hw = load_profile(profile)
    q = quantize_layer_weights(weights, scale, hw)
    unit = scale << hw.neuron.input_shift  # membrane integer per 1.0
    gap_shift = max(0, int(np.floor(np.log2(unit / 64))))  # 64 table steps per logit unit
    table = softmax_table(2.0**gap_shift / unit, 64 * 16, hw.learning.factor_bits)
    impulse = _pre_impulse(gamma, hw.trace.max)
    lr_mant, lr_shift = _learning_rate(lr, (scale,), 2.0 ** (hw.learning.factor_bits + q.weight_exp) * impulse)
    params = ReadoutFixedParams(
        decay=quantize_decay("gamma", gamma, hw.neuron.decay_bits),
        decay_bits=hw.neuron.decay_bits,
        state_max=hw.neuron.state_max,
        input_shift=hw.neuron.input_shift,
        input_max=hw.neuron.input_max,
        pre_impulse=impulse,
        trace=hw.trace,
        synapse=hw.synapse,
        weight_exp=q.weight_exp,
        softmax=table,
        gap_shift=gap_shift,
        lr_mant=lr_mant,
        lr_shift=lr_shift,
        centre_bits=CENTRE_FRAC_BITS if centred else 0,
    )
    return params, q


@dataclass(frozen=True)
class EngineFactorScale:
    """How the post factors ``a = m alpha_pre Psi`` and ``b = m alpha_post h`` of a fixed-point
    dense layer become the learning engine's ``y2`` and ``y3``: ``y = round(factor * mant /
    2**shift)`` (stochastically), saturated to ``[-limit, limit]``."""

    y2_mant: int
    y2_shift: int
    y3_mant: int
    y3_shift: int
    limit: int


def engine_factor_scale(params: Any, profile: Any = "loihi2") -> EngineFactorScale:
    """The scaling of :class:`EngineFactorScale` for a layer's :class:`DenseLayerFixedParams`.

    The fused fixed model changes a weight by ``(a q + b pre impulse) lr_mant / 2**lr_shift``.
    Lava's fixed-point engine changes it by ``x1 y2 >> c`` for ``-u0 x1 y2``, with ``c = trace
    bits + y bits + scale mantissa bits - accumulator bits`` (the product's excess width, 3 on
    Loihi 2), and by ``x0 y3`` for ``-x0 y3`` (no excess: one weight unit per unit of y3; both
    measured on ``LearningDense``'s fixed model, ``tests/test_mapping_fixed.py``). With
    ``x1 = q``: ``y2 = a lr_mant 2**c / 2**lr_shift`` and ``y3 = b impulse lr_mant /
    2**lr_shift``. A rule without a pre trace (``lambda_pre = 0``: ``q = pre impulse``) has
    the causal term on x0 too (:func:`lava_local.decomposed.loihi_learning_rule`), so y2
    scales as y3.
    """
    hw = load_profile(profile)
    lrn = hw.learning
    c2 = max(0, hw.trace.bits + lrn.y_bits + lrn.scale_mantissa_bits - lrn.accumulator_bits)
    c3 = max(0, 1 + lrn.y_bits + lrn.scale_mantissa_bits - lrn.accumulator_bits)
    y3 = (params.lr_mant * params.pre_impulse, params.lr_shift - c3)
    y2 = y3 if params.pre_decay >= 2**params.trace.decay_bits else (params.lr_mant, params.lr_shift - c2)
    return EngineFactorScale(*y2, *y3, 2**lrn.y_bits - 1)

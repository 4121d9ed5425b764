"""How a trained float network survives the conversion to a chip's fixed-point format.

    from lava_local.quantization_report import quantization_report
    report = quantization_report(trainer, (x_test, y_test), "loihi2")
    print(report.to_markdown()); Path("quant.json").write_text(report.to_json())

Per layer (hidden layers, then the read-out) the report gives the shared weight exponent
the conversion chose, how many weights saturate (their mantissa would exceed the profile's
``weight_bits``) and how many non-zero weights round to zero, and, measured by running the
fixed-point steps on the given inputs (:func:`~lava_local.activity.measure_activity`, the
steps the Lava ``fixed_pt`` models call), how often a state sat at its bound: the synaptic
input at ``input_bits``, the membrane at ``state_bits``, the pre and post traces at the trace
width. Then the accuracy of the fixed-point network against the float one on the same
samples, and how often the two predict the same class.

The conversion is the library's (:func:`~lava_local.fixed_point.quantize_dense_layer`,
:func:`~lava_local.fixed_point.quantize_conv_layer`,
:func:`~lava_local.fixed_point.quantize_readout`): per layer the smallest exponent with
``headroom * max|W| * scale / 2**exp <= weight_max``. ``headroom = 2`` is what the Lava
fixed-point models use (room for weights that grow while learning on chip); a network
deployed frozen can take ``headroom = 1`` (one more bit for the weights it has). Weights
larger than even the largest exponent can hold, which the conversion refuses, are reported
at the largest exponent with their mantissas saturated.
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _validate
from .activity import SATURATION_KINDS, Activity, check_deployable, measure_activity
from .fixed_point import quantize_conv_layer, quantize_dense_layer, quantize_layer_weights, quantize_readout
from .hw_profile import HardwareProfile, load_profile

__all__ = ["QuantizedLayer", "QuantizedNetwork", "quantize_network", "LayerQuantization", "QuantizationReport",
           "quantization_report", "network_and_weights"]


@dataclass(frozen=True)
class QuantizedLayer:
    """One layer in fixed point: the kernels' parameters and the integer weight mantissas."""

    name: str
    params: Any  # DenseLayerFixedParams (hidden layers) or ReadoutFixedParams (read-out)
    weights: np.ndarray  # integer mantissas: W ~= weights * 2**weight_exp / scale
    weight_exp: int
    saturated: int  # weights whose mantissa was clipped to +-weight_max
    rounded_to_zero: int  # non-zero weights whose mantissa is 0


@dataclass(frozen=True)
class QuantizedNetwork:
    """A :class:`~lava_local.network.Network`'s layers in one profile's fixed-point format."""

    profile: HardwareProfile
    scale: int
    headroom: float
    layers: Tuple[QuantizedLayer, ...]  # hidden layers, then the read-out


def network_and_weights(net_or_trainer: Any) -> Any:
    """The :class:`~lava_local.network.Network` to report on: a network as it is, or, for a
    trainer, a shallow copy of its network carrying the trainer's current weights and a
    centred read-out's mean (the trainer's own network is left as it is)."""
    from .network import Network

    if isinstance(net_or_trainer, Network):
        return net_or_trainer
    params = getattr(net_or_trainer, "params", None)
    net = getattr(net_or_trainer, "net", None)
    if not isinstance(net, Network) or params is None:
        raise TypeError(f"expected a Network or a trainer of one, got {type(net_or_trainer).__name__}")
    copied = copy.copy(net)
    write_state = getattr(net_or_trainer, "write_state", None)
    if write_state is not None:
        write_state(copied)
    else:
        copied.weights = [p.detach().cpu().double().numpy().copy() for p in params]
    return copied


def _mantissas(w: np.ndarray, scale: int, hw: HardwareProfile, headroom: float) -> Tuple[np.ndarray, int, np.ndarray]:
    """``(mantissas, exponent, unclipped mantissas)`` of one layer's weights."""
    try:
        q = quantize_layer_weights(w, scale, hw, headroom)
        exp, mantissas = q.weight_exp, q.weights
    except ValueError:  # out of range at every exponent: the largest one, the largest weights saturate
        exp = hw.synapse.weight_exp_max
        mantissas = None
    ideal = np.round(w * scale / 2.0**exp)
    if mantissas is None:
        limit = hw.synapse.weight_max
        mantissas = np.clip(ideal, -limit, limit).astype(np.int64)
    return mantissas, exp, ideal


def _layer_params(make: Any, w: np.ndarray) -> Any:
    """The fixed-point parameters ``make(weights)`` gives, also for weights the conversion
    refuses (their exponent is set by the caller; the parameters besides it and the
    learning rate do not depend on the weights)."""
    try:
        return make(w)[0]
    except ValueError:
        return make(np.zeros_like(w))[0]


def quantize_network(net_or_trainer: Any, profile: Any = None, scale: Optional[int] = None,
                     headroom: float = 2.0, steps_per_sample: Optional[int] = None) -> QuantizedNetwork:
    """Every layer of a network in ``profile``'s fixed-point format (default: the network's
    own profile and scale; ``headroom`` as in the module docstring). ``steps_per_sample``:
    the samples' length, which fixes the layers' learning steps per time step where the rule
    or the read-out keeps the default step per sample (``lr=None``); needed only then."""
    net = network_and_weights(net_or_trainer)
    check_deployable(net)
    if steps_per_sample is None:
        if net.rule.lr is None or net.readout_lr is None:
            raise ValueError("the network's learning steps are per sample (rule.lr or readout_lr is None): give "
                             "steps_per_sample, the length of the samples it learns from on chip")
        steps_per_sample = 1  # both rates given per time step: the length changes nothing
    rules, readout_lr = net.layer_rules_for(steps_per_sample), net.readout_lr_for(steps_per_sample)
    hw = load_profile(net.profile if profile is None else profile)
    scale = net.scale if scale is None else _validate.integer("scale", scale, 1)
    headroom = _validate.positive("headroom", headroom)
    layers = []
    makers = [(lambda w, r=r: quantize_dense_layer(w, net.neuron, net.surrogate, r, w.shape[0], scale, hw))
              if g is None else
              (lambda w, g=g, r=r: quantize_conv_layer(w, g, net.neuron, net.surrogate, r, scale, hw))
              for g, r in zip(net.geometries, rules)]
    makers.append(lambda w: quantize_readout(w, net.readout_gamma, readout_lr, scale, hw, net.readout_centred))
    names = [f"hidden{i}" for i in range(len(net.geometries))] + ["readout"]
    for name, make, w in zip(names, makers, net.weights):
        w = np.asarray(w, dtype=float)
        mantissas, exp, ideal = _mantissas(w, scale, hw, headroom)
        params = replace(_layer_params(make, w), weight_exp=exp)
        layers.append(QuantizedLayer(
            name, params, mantissas, exp,
            saturated=int(np.count_nonzero(np.abs(ideal) > hw.synapse.weight_max)),
            rounded_to_zero=int(np.count_nonzero((w != 0) & (mantissas == 0))),
        ))
    return QuantizedNetwork(hw, scale, headroom, tuple(layers))


@dataclass
class LayerQuantization:
    """One layer's line of the report (counts; fractions are properties)."""

    name: str
    weight_exp: int
    weight_step: float  # float value of one mantissa unit: 2**weight_exp / scale
    max_abs_weight: float
    weights: int
    saturated_weights: int
    zero_weights: int  # non-zero float weights that round to zero
    saturated_states: Dict[str, int] = field(default_factory=dict)
    state_slots: Dict[str, int] = field(default_factory=dict)  # values of each state in the run

    @property
    def saturated_fraction(self) -> float:
        return self.saturated_weights / max(self.weights, 1)

    @property
    def zero_fraction(self) -> float:
        return self.zero_weights / max(self.weights, 1)

    def state_fraction(self, kind: str) -> float:
        return self.saturated_states.get(kind, 0) / max(self.state_slots.get(kind, 0), 1)


@dataclass
class QuantizationReport:
    """What :func:`quantization_report` found; :meth:`to_markdown` and :meth:`to_json`."""

    profile: str
    scale: int
    headroom: float
    samples: int
    steps: int
    float_accuracy: float
    fixed_accuracy: float
    agreement: float  # fraction of samples on which both predict the same class
    layers: List[LayerQuantization]
    #: the fixed-point run the state counts came from (for :func:`~lava_local.cost_estimate.estimate_cost`)
    activity: Optional[Activity] = field(default=None, repr=False, compare=False)

    @property
    def accuracy_drop(self) -> float:
        """Float minus fixed-point accuracy, in percentage points."""
        return 100.0 * (self.float_accuracy - self.fixed_accuracy)

    def to_dict(self) -> Dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("activity", "layers")}
        out["accuracy_drop_points"] = self.accuracy_drop
        out["layers"] = []
        for layer in self.layers:
            row = asdict(layer)
            row["saturated_fraction"], row["zero_fraction"] = layer.saturated_fraction, layer.zero_fraction
            row["state_fractions"] = {k: layer.state_fraction(k) for k in layer.state_slots}
            out["layers"].append(row)
        return out

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        lines = [
            f"Quantization to `{self.profile}` (scale {self.scale}, headroom {self.headroom:g}) on {self.samples} "
            f"samples of {self.steps} steps: float accuracy {self.float_accuracy:.4f}, fixed point "
            f"{self.fixed_accuracy:.4f} ({-self.accuracy_drop:+.2f} points); same prediction on "
            f"{100 * self.agreement:.1f} % of the samples.",
            "",
            "| layer | exponent | step | max abs W | weights | saturated | round to 0 | "
            + " | ".join(f"{k.replace('_', ' ')} sat." for k in SATURATION_KINDS) + " |",
            "|---|---|---|---|---|---|---|" + "---|" * len(SATURATION_KINDS),
        ]
        for layer in self.layers:
            states = " | ".join(
                f"{layer.saturated_states[k]} ({100 * layer.state_fraction(k):.2g} %)" if k in layer.state_slots
                else "-" for k in SATURATION_KINDS)
            lines.append(
                f"| {layer.name} | {layer.weight_exp} | {layer.weight_step:.3g} | {layer.max_abs_weight:.3g} | "
                f"{layer.weights} | {layer.saturated_weights} ({100 * layer.saturated_fraction:.2g} %) | "
                f"{layer.zero_weights} ({100 * layer.zero_fraction:.2g} %) | {states} |")
        return "\n".join(lines) + "\n"


def quantization_report(net_or_trainer: Any, data: Tuple[Any, Any], profile: Any = None, *,
                        scale: Optional[int] = None, headroom: float = 2.0,
                        max_samples: Optional[int] = None) -> QuantizationReport:
    """Quantize a trained network (a :class:`~lava_local.network.Network` or a trainer of
    one) to ``profile`` and measure, on ``data = (frames, labels)`` (spike counts, as the
    fixed-point models take), what the conversion costs: see the module docstring.

    ``max_samples`` keeps the first samples of ``data`` (each runs the float and the
    fixed-point steps one sample at a time).
    """
    net = network_and_weights(net_or_trainer)
    frames, labels = data
    quantized = quantize_network(net, profile, scale, headroom, steps_per_sample=np.shape(frames)[1])
    labels = np.asarray(labels)
    fixed = measure_activity(net, frames, quantized, max_samples)
    reference = measure_activity(net, frames, None, max_samples)
    hw = quantized.profile
    layers = []
    for q, w, record in zip(quantized.layers, net.weights, fixed.layers):
        kinds = [k for k in SATURATION_KINDS if k in ("membrane", "pre_trace") or record.kind != "readout"]
        layers.append(LayerQuantization(
            name=q.name, weight_exp=q.weight_exp, weight_step=2.0**q.weight_exp / quantized.scale,
            max_abs_weight=float(np.max(np.abs(w))) if np.size(w) else 0.0, weights=int(np.size(w)),
            saturated_weights=q.saturated, zero_weights=q.rounded_to_zero,
            saturated_states={k: record.saturated[k] for k in kinds},
            state_slots={k: record.saturation_slots(k, fixed.samples, fixed.steps) for k in kinds},
        ))
    return QuantizationReport(
        profile=hw.name, scale=quantized.scale, headroom=quantized.headroom, samples=fixed.samples,
        steps=fixed.steps, float_accuracy=reference.accuracy(labels), fixed_accuracy=fixed.accuracy(labels),
        agreement=float(np.mean(fixed.predictions == reference.predictions)), layers=layers, activity=fixed,
    )

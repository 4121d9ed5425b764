"""On-chip cost of a network from the activity it shows on real inputs, and NeuroBench's metrics.

    from lava_local.cost_estimate import estimate_cost, measure_training_step
    cost = estimate_cost(trainer, (x_test, y_test), "loihi2")
    print(cost.to_markdown())       # per step and per sample: operations, energy, latency
    bptt = measure_training_step(trainer, (x_train, y_train), "bptt")   # this CPU, measured

**Operations** are counted from a fixed-point run of the network on the given inputs
(:func:`~lava_local.activity.measure_activity`, the steps of the Lava ``fixed_pt`` models),
averaged per time step:

* synaptic operations: every input event (a spike; a count of k is k events) reaches each
  of its synapses: ``sum over inputs of events x fan-out`` (dense and read-out layers: the
  layer's size; conv layers: the output positions and channels whose window holds the
  input). Synapses of zero weight count: dense synaptic memory stores them.
* neuron updates: every neuron of every layer (and the read-out's) is updated every step.
* spikes: the input events sent to the chip and every hidden spike sent on.
* learning-engine updates (a learning step): for each synapse whose pre-synaptic trace or
  spike is non-zero in that step, one update (the two terms of the rule's update are zero
  elsewhere); hidden layers (unless ``net.frozen``) and the read-out. An engine that visits
  every synapse each step does ``synapses`` updates instead (:attr:`LayerCost.synapses`).
* the local learning signal (a learning step, rules with ``feedback="local"``): per hidden
  layer ``C`` error neurons (updated every step, sending a graded spike each), the
  projection ``B o`` (``spikes x C`` synaptic operations) and the back-projection ``B^T e``
  (``C x n`` synaptic operations), as the fixed +-1 connections of DESIGN.md 3.2.

**Energy and latency** use the profile's ``[operation_costs]`` (for Loihi 2: Loihi 1's
published per-operation figures, see ``hw_profiles/loihi2.toml``): energy = synaptic ops x
``synaptic_op_pj`` + neuron updates x ``neuron_update_pj`` (the active figure, for every
update: an upper bound) + spikes x ``spike_pj`` (+ learning updates x
``synaptic_update_pj``). Latency of a step: each layer's operations run one after another
on its cores (as many as its neurons and synapse memory need, as
:func:`~lava_local.hw_profile.check_fit` counts them), the layers' cores in parallel, then one
barrier: ``max over layers (ops x time per op) / cores + barrier_sync_ns``. Routing between
tiles, host input/output and static (leakage) power are not modelled. These are
estimates from counted operations and published per-operation figures, not measurements.

**NeuroBench** (J. Yik et al., "The neurobench framework for benchmarking neuromorphic
computing algorithms and systems", Nature Communications 16, 1545, 2025; arXiv 2304.04640),
with the definitions of its harness (``neurobench.metrics``):

* footprint: bytes of the parameters (``numel x element_size``; the trainers hold float32);
* connection sparsity: zero weights over all weights of the linear and conv layers;
* activation sparsity: zero activations over all activations of the spiking layers, over
  every step and sample (the read-out, a non-spiking integrator, has none);
* synaptic operations per sample: with inputs and weights binarised (non-zero = 1), the
  sum over steps of each layer's binarised output, i.e. the (non-zero input, non-zero
  weight) pairs; effective ACs where a layer's inputs are all -1, 0 or 1 (spikes),
  effective MACs otherwise; "dense" is the same with every input and weight set to one.
  (NeuroBench decides spikes per forward call; here per layer over the whole run.)

The neurobench package itself needs snntorch, tonic, numba and torchaudio, so these few
definitions live here.
"""
from __future__ import annotations

import copy
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .activity import Activity, measure_activity
from .hw_profile import HardwareProfile, load_profile
from .kernels.conv import conv2d_int

__all__ = ["LayerCost", "StepCost", "CostEstimate", "estimate_cost", "NeuroBenchMetrics", "neurobench_metrics",
           "synapse_events", "TrainingStepCost", "measure_training_step"]


def synapse_events(counts: np.ndarray, mask: np.ndarray, geometry: Any = None) -> int:
    """``sum over inputs j and outputs i of counts[j] * mask[i, j]``: the synaptic events
    that ``counts`` input events cause through the synapses in ``mask`` (a layer's weight
    shape; dense ``(n_out, n_in)``, conv ``(C_out, C_in, k, k)`` shared over positions)."""
    counts = np.asarray(counts, dtype=np.int64)
    mask = np.asarray(mask, dtype=np.int64)
    if geometry is None:
        return int(counts @ mask.sum(axis=0))
    return int(conv2d_int(counts.reshape(geometry.in_shape)[None], mask, geometry.stride, geometry.padding).sum())


# --- NeuroBench -------------------------------------------------------------------------


@dataclass
class NeuroBenchMetrics:
    """NeuroBench's static and workload metrics of one network and run (module docstring)."""

    footprint_bytes: int
    quantized_footprint_bytes: Optional[int]  # the same weights at the profile's weight_bits
    connection_sparsity: float
    activation_sparsity: float
    effective_macs: float  # per sample
    effective_acs: float  # per sample
    dense_ops: float  # per sample
    parameters: int


def neurobench_metrics(net: Any, activity: Activity, weights: Optional[Sequence[np.ndarray]] = None,
                       bytes_per_parameter: int = 4, weight_bits: Optional[int] = None) -> NeuroBenchMetrics:
    """NeuroBench's metrics of ``net`` (its ``weights``, or the given ones, e.g. the deployed
    integer mantissas, whose zeros include the weights that rounded to zero) on ``activity``."""
    weights = [np.asarray(w) for w in (net.weights if weights is None else weights)]
    geometries = list(net.geometries) + [None]
    if len(weights) != len(activity.layers):
        raise ValueError(f"{len(weights)} weight arrays for {len(activity.layers)} layers")
    parameters = sum(w.size for w in weights)
    zeros = sum(int(np.count_nonzero(w == 0)) for w in weights)
    hidden = activity.hidden
    slots = sum(r.n_out for r in hidden) * activity.samples * activity.steps
    spikes = sum(int(r.output_spikes.sum()) for r in hidden)
    macs = acs = dense = 0
    for w, g, record in zip(weights, geometries, activity.layers):
        ops = synapse_events(record.input_active, w != 0, g)
        if record.spiking_input:
            acs += ops
        else:
            macs += ops
        dense += synapse_events(np.ones(record.n_in, np.int64), np.ones(w.shape, np.int64), g) * activity.steps
    n = max(activity.samples, 1)
    return NeuroBenchMetrics(
        footprint_bytes=parameters * bytes_per_parameter,
        quantized_footprint_bytes=None if weight_bits is None else math.ceil(parameters * weight_bits / 8),
        connection_sparsity=zeros / max(parameters, 1),
        activation_sparsity=1.0 - spikes / slots if slots else 0.0,
        effective_macs=macs / n, effective_acs=acs / n, dense_ops=float(dense), parameters=parameters,
    )


# --- operation counts, energy and latency ------------------------------------------------


@dataclass
class LayerCost:
    """One layer's operations per time step (means over the run) and its cores."""

    name: str
    neurons: int
    synapses: int
    cores: int
    synaptic_ops: float
    spikes: float  # spikes the layer sends on per step (0 for the read-out)
    learning_updates: float  # per learning step
    signal_ops: float  # per learning step: projection and back-projection of the local signal
    signal_neurons: int  # error neurons of the local signal (0 where the layer does not learn)


@dataclass
class StepCost:
    """Operations, energy and latency of one time step (inference or learning)."""

    synaptic_ops: float
    neuron_updates: float
    spikes: float
    learning_updates: float
    energy_pj: float
    latency_ns: float


@dataclass
class CostEstimate:
    """What :func:`estimate_cost` found; :meth:`to_markdown` and :meth:`to_json`."""

    profile: str
    samples: int
    steps: int
    inference: StepCost
    learning: Optional[StepCost]  # None where the rule's signal cannot be local on chip
    layers: List[LayerCost]
    neurobench: NeuroBenchMetrics
    notes: List[str] = field(default_factory=list)

    @property
    def energy_per_sample_uj(self) -> float:
        """Inference energy of one sample (all its steps), in microjoules."""
        return self.inference.energy_pj * self.steps * 1e-6

    @property
    def latency_per_sample_ms(self) -> float:
        """Inference latency of one sample (all its steps, unthrottled), in milliseconds."""
        return self.inference.latency_ns * self.steps * 1e-6

    @property
    def learning_energy_per_sample_uj(self) -> Optional[float]:
        return None if self.learning is None else self.learning.energy_pj * self.steps * 1e-6

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out.update(energy_per_sample_uj=self.energy_per_sample_uj, latency_per_sample_ms=self.latency_per_sample_ms,
                   learning_energy_per_sample_uj=self.learning_energy_per_sample_uj)
        return out

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        rows = [("inference step", self.inference)] + ([("learning step", self.learning)] if self.learning else [])
        lines = [f"Estimated cost on `{self.profile}` from the activity on {self.samples} samples of {self.steps} "
                 f"steps: {self.energy_per_sample_uj:.3g} uJ and {self.latency_per_sample_ms:.3g} ms per sample "
                 "(inference).", "",
                 "| per time step | synaptic ops | neuron updates | spikes | learning updates | energy (nJ) | "
                 "latency (us) |", "|---|---|---|---|---|---|---|"]
        for label, s in rows:
            lines.append(f"| {label} | {s.synaptic_ops:.4g} | {s.neuron_updates:.4g} | {s.spikes:.4g} | "
                         f"{s.learning_updates:.4g} | {s.energy_pj / 1e3:.4g} | {s.latency_ns / 1e3:.4g} |")
        lines += ["", "| layer | neurons | synapses | cores | synaptic ops / step | spikes / step | "
                  "learning updates / step | signal ops / step |", "|---|---|---|---|---|---|---|---|"]
        for c in self.layers:
            lines.append(f"| {c.name} | {c.neurons} | {c.synapses} | {c.cores} | {c.synaptic_ops:.4g} | "
                         f"{c.spikes:.4g} | {c.learning_updates:.4g} | {c.signal_ops:.4g} |")
        nb = self.neurobench
        lines += ["", "NeuroBench (per sample): footprint "
                  f"{nb.footprint_bytes} B (float32; {nb.quantized_footprint_bytes} B at the profile's weight width), "
                  f"connection sparsity {nb.connection_sparsity:.4f}, activation sparsity "
                  f"{nb.activation_sparsity:.4f}, effective MACs {nb.effective_macs:.4g}, effective ACs "
                  f"{nb.effective_acs:.4g}, dense {nb.dense_ops:.4g}."]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _cores(neurons: int, synapses: int, hw: HardwareProfile) -> int:
    """Neuro-cores one layer needs, as :func:`~lava_local.hw_profile.check_fit` counts them."""
    kib = synapses * (hw.synapse.weight_bits + 1) / 8 / 1024
    per_core = hw.chip.max_neurons // hw.chip.neuro_cores
    return max(1, -(-neurons // per_core), math.ceil(kib / hw.chip.memory_per_core_kib))


def _layer_costs(net: Any, activity: Activity, hw: HardwareProfile) -> List[LayerCost]:
    geometries = list(net.geometries) + [None]
    slots = max(activity.samples * activity.steps, 1)
    local = net.rule.feedback == "local"
    costs = []
    for w, g, record in zip(net.weights, geometries, activity.layers):
        ones = np.ones(np.shape(w), np.int64)
        readout = record.kind == "readout"
        learns = readout or not net.frozen
        signal_neurons = net.n_classes if learns and local and not readout else 0
        costs.append(LayerCost(
            name=record.name, neurons=record.n_out, synapses=int(np.size(w)),
            cores=_cores(record.n_out + signal_neurons, int(np.size(w)), hw),
            synaptic_ops=synapse_events(record.input_events, ones, g) / slots,
            spikes=0.0 if readout else float(record.output_spikes.sum()) / slots,
            learning_updates=synapse_events(record.trace_active, ones, g) / slots if learns else 0.0,
            signal_ops=(float(record.output_spikes.sum()) / slots + record.n_out) * signal_neurons,
            signal_neurons=signal_neurons,
        ))
    return costs


def _step_costs(layers: List[LayerCost], input_spikes: float, hw: HardwareProfile, learning: bool) -> StepCost:
    c = hw.costs
    syn = sum(x.synaptic_ops + (x.signal_ops if learning else 0.0) for x in layers)
    neurons = sum(x.neurons + (x.signal_neurons if learning else 0) for x in layers)
    spikes = input_spikes + sum(x.spikes + (x.signal_neurons if learning else 0) for x in layers)
    updates = sum(x.learning_updates for x in layers) if learning else 0.0
    energy = syn * c.synaptic_op_pj + neurons * c.neuron_update_pj + spikes * c.spike_pj
    energy += updates * c.synaptic_update_pj

    def busy(x: LayerCost) -> float:
        extra = x.signal_neurons if learning else 0
        ns = ((x.synaptic_ops + (x.signal_ops if learning else 0.0)) * c.synaptic_op_ns
              + (x.neurons + extra) * c.neuron_update_ns + (x.spikes + extra) * c.spike_ns)
        if learning:
            ns += x.learning_updates * c.synaptic_update_ns
        return ns / x.cores

    latency = max(busy(x) for x in layers) + c.barrier_sync_ns
    return StepCost(syn, float(neurons), spikes, updates, energy, latency)


def estimate_cost(net_or_trainer: Any, data: Any = None, profile: Any = None, *, activity: Optional[Activity] = None,
                  quantized: Any = None, max_samples: Optional[int] = None, scale: Optional[int] = None,
                  headroom: float = 2.0) -> CostEstimate:
    """Operation counts, energy and latency per inference and per learning step on
    ``profile`` (default: the network's), and NeuroBench's metrics, from the activity of the
    fixed-point network on ``data`` (frames, or ``(frames, labels)``).

    ``activity``: a fixed-point run already made (e.g. ``quantization_report(...).activity``),
    instead of running ``data``; ``quantized``: the
    :class:`~lava_local.quantization_report.QuantizedNetwork` to run (built from ``scale``
    and ``headroom`` otherwise).
    """
    from .quantization_report import network_and_weights, quantize_network

    net = network_and_weights(net_or_trainer)
    hw = load_profile(net.profile if profile is None else profile)
    if hw.costs is None:
        raise ValueError(f"hardware profile {hw.name} ({hw.source}) has no [operation_costs] section: "
                         "no per-operation energy and time to estimate with")
    if activity is None and data is None:
        raise ValueError("estimate_cost needs data (frames or (frames, labels)) or a measured activity")
    frames = None if data is None else data[0] if isinstance(data, (tuple, list)) else data
    if quantized is None:
        steps = activity.steps if activity is not None else np.shape(frames)[1]
        quantized = quantize_network(net, hw, scale, headroom, steps_per_sample=steps)
    if activity is None:
        activity = measure_activity(net, frames, quantized, max_samples)
    layers = _layer_costs(net, activity, hw)
    input_spikes = float(activity.layers[0].input_events.sum()) / max(activity.samples * activity.steps, 1)
    notes = []
    learning = None
    if net.rule.feedback == "local":
        learning = _step_costs(layers, input_spikes, hw, learning=True)
    else:
        notes.append(f"rule feedback {net.rule.feedback!r} sends errors across layers: no on-chip learning step "
                     "is estimated")
    if net.frozen:
        notes.append("hidden layers frozen: a learning step updates the read-out only")
    if any(g is not None for g in net.geometries):
        notes.append("conv layers are deployed frozen on chip (Lava's learning engine is dense-only)")
    notes.append(f"per-operation figures from {hw.source}; see the comments there for their sources")
    return CostEstimate(
        profile=hw.name, samples=activity.samples, steps=activity.steps,
        inference=_step_costs(layers, input_spikes, hw, learning=False), learning=learning, layers=layers,
        neurobench=neurobench_metrics(net, activity, [q.weights for q in quantized.layers],
                                      weight_bits=hw.synapse.weight_bits),
        notes=notes,
    )


# --- the measured counterpart: a training step on this machine ------------------------------


@dataclass
class TrainingStepCost:
    """One training step (a batch: forward, update, optimiser) measured on this machine."""

    method: str  # "bptt" or "local" (the network's rule)
    device: str
    batch_size: int
    steps: int
    seconds: float  # median over the repeats
    seconds_per_sample: float
    peak_bytes: Optional[int]  # peak heap above the start (None where not measurable)
    threads: int


def measure_training_step(net_or_trainer: Any, data: Any, method: str = "bptt", batch_size: int = 32,
                          repeats: int = 3, device: Any = "cpu") -> TrainingStepCost:
    """Time (median of ``repeats`` after one warm-up) and peak memory
    (:func:`~lava_local.costs.peak_heap_bytes`) of one training step of the network on a
    batch of ``data = (frames, labels)``, with :class:`~lava_local.trainer.BPTTTrainer`
    (``method="bptt"``) or :class:`~lava_local.trainer.LocalTrainer` (``"local"``). The
    step trains a copy: the network's weights are not changed."""
    import torch

    from .costs import peak_heap_bytes
    from .quantization_report import network_and_weights
    from .trainer import BPTTTrainer, LocalTrainer

    if method not in ("bptt", "local"):
        raise ValueError(f"method must be 'bptt' or 'local', got {method!r}")
    net = copy.copy(network_and_weights(net_or_trainer))
    net.weights = [np.array(w, dtype=np.float64, copy=True) for w in net.weights]
    trainer = (BPTTTrainer if method == "bptt" else LocalTrainer)(net, device=device)
    frames, labels = data
    x = torch.as_tensor(np.asarray(frames[:batch_size], dtype=np.float32), device=trainer.device)
    y = torch.as_tensor(np.asarray(labels[:batch_size]), dtype=torch.long, device=trainer.device)
    trainer.train_step(x, y)  # warm-up: first-call allocations and dispatch caches
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        trainer.train_step(x, y)
        times.append(time.perf_counter() - start)
    try:
        peak: Optional[int] = peak_heap_bytes(lambda: trainer.train_step(x, y)) if trainer.device.type == "cpu" else None
    except RuntimeError:
        peak = None
    seconds = statistics.median(times)
    return TrainingStepCost(method, str(trainer.device), len(y), int(x.shape[1]), seconds, seconds / len(y), peak,
                            torch.get_num_threads())

"""Hardware profiles: the bit widths and shifts that the fixed-point models obey.

A profile is a TOML file (the shipped ones live in the top-level ``hw_profiles/`` folder,
installed as ``lava_local.hw_profiles``). Every fixed-point model reads its widths from a
:class:`HardwareProfile` instead of from constants of its own, so a chip with other widths
is a new file, not a code change. An optional ``[operation_costs]`` section gives the
energy and time of one operation (synaptic event, neuron update, learning-engine update,
spike, barrier), from published figures, for :mod:`lava_local.cost_estimate`. ``load_profile("loihi2")`` loads a shipped profile by
name; ``load_profile("path/to/chip.toml")`` loads a user's file. Missing, unknown or
mistyped keys are reported with the file and key that is wrong.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Type, TypeVar, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "HardwareProfile",
    "NeuronFormat",
    "SynapseFormat",
    "TraceFormat",
    "LearningFormat",
    "ChipResources",
    "OperationCosts",
    "load_profile",
    "available_profiles",
    "check_fit",
    "FitReport",
    "LayerPlacement",
]


@dataclass(frozen=True)
class NeuronFormat:
    state_bits: int
    decay_bits: int
    threshold_bits: int
    threshold_shift: int
    input_bits: int
    input_shift: int

    @property
    def state_max(self) -> int:
        """Largest membrane value; the state saturates at +-state_max."""
        return 2 ** (self.state_bits - 1) - 1

    @property
    def decay_unity(self) -> int:
        return 2**self.decay_bits

    @property
    def threshold_max(self) -> int:
        return 2**self.threshold_bits - 1

    @property
    def input_max(self) -> int:
        return 2 ** (self.input_bits - 1) - 1


@dataclass(frozen=True)
class SynapseFormat:
    weight_bits: int
    weight_exp_min: int
    weight_exp_max: int

    @property
    def weight_max(self) -> int:
        return 2 ** (self.weight_bits - 1) - 1


@dataclass(frozen=True)
class TraceFormat:
    bits: int
    decay_bits: int

    @property
    def max(self) -> int:
        return 2**self.bits - 1


@dataclass(frozen=True)
class LearningFormat:
    factor_bits: int
    psi_lut_bits: int
    #: the learning engine's third factors y1..y3: signed width (Lava's ``W_TRACE``; its
    #: fixed-point applier saturates each factor to ``[-2**y_bits, 2**y_bits - 1]``)
    y_bits: int = 7
    #: the engine's product scaling mantissa (Lava's ``W_S_MANT``) and unsigned
    #: synaptic-change accumulator (``W_ACCUMULATOR_U``): a product whose factor widths
    #: plus ``scale_mantissa_bits`` exceed ``accumulator_bits`` is shifted right by the
    #: excess, and the accumulator holds the weight ``accumulator_bits - weight_bits``
    #: bits left of its mantissa
    scale_mantissa_bits: int = 4
    accumulator_bits: int = 15
    #: magnitude bits of the weights the engine writes (Lava's ``W_WEIGHTS_U``): it
    #: saturates them to ``[-2**engine_weight_bits, 2**engine_weight_bits - 1]``
    engine_weight_bits: int = 8

    @property
    def factor_max(self) -> int:
        return 2**self.factor_bits - 1


@dataclass(frozen=True)
class ChipResources:
    neuro_cores: int
    max_neurons: int
    max_synapses: int
    memory_per_core_kib: int


@dataclass(frozen=True)
class OperationCosts:
    """Energy (pJ) and time (ns) of one elementary operation on the chip, from published
    figures (each with its source in the profile file). Optional section
    ``[operation_costs]``; numbers may be fractional."""

    synaptic_op_pj: float
    synaptic_op_ns: float
    neuron_update_pj: float
    neuron_update_ns: float
    synaptic_update_pj: float
    synaptic_update_ns: float
    spike_pj: float
    spike_ns: float
    barrier_sync_ns: float


@dataclass(frozen=True)
class HardwareProfile:
    name: str
    description: str
    neuron: NeuronFormat
    synapse: SynapseFormat
    trace: TraceFormat
    learning: LearningFormat
    chip: ChipResources
    source: str = ""
    #: per-operation energy and time, where the profile states them (``None`` otherwise)
    costs: Optional[OperationCosts] = None


_SECTIONS: Dict[str, Type[Any]] = {
    "neuron": NeuronFormat,
    "synapse": SynapseFormat,
    "trace": TraceFormat,
    "learning": LearningFormat,
    "chip": ChipResources,
}
# sections a profile may leave out, and the type their values take
_OPTIONAL_SECTIONS: Dict[str, Type[Any]] = {"operation_costs": OperationCosts}
_FLOAT_RANGE = (0.0, 1e9)  # energies (pJ) and times (ns) of one operation: positive
# Bit widths and shifts must be small positive integers; exponents may be negative.
_RANGES: Dict[str, tuple] = {
    "weight_exp_min": (-32, 32),
    "weight_exp_max": (-32, 32),
    "neuro_cores": (1, 2**31),
    "max_neurons": (1, 2**40),
    "max_synapses": (1, 2**48),
    "memory_per_core_kib": (1, 2**31),
    "threshold_shift": (0, 31),
    "input_shift": (0, 31),
}
_DEFAULT_RANGE = (1, 32)

T = TypeVar("T")


def _section(path: str, table: Mapping[str, Any], name: str, cls: Type[T], numbers: bool = False) -> T:
    if name not in table:
        raise ValueError(f"hardware profile {path}: missing section [{name}]")
    values = table[name]
    if not isinstance(values, dict):
        raise ValueError(f"hardware profile {path}: [{name}] must be a table")
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"hardware profile {path}: unknown key(s) in [{name}]: {', '.join(unknown)}")
    optional = {f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if f.default is not dataclasses.MISSING}
    missing = [f for f in fields if f not in values and f not in optional]
    if missing:
        raise ValueError(f"hardware profile {path}: missing key(s) in [{name}]: {', '.join(missing)}")
    fields = [f for f in fields if f in values]
    for key in fields:
        value = values[key]
        kinds, what = ((int, float), "a number") if numbers else (int, "an integer")
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ValueError(
                f"hardware profile {path}: [{name}] {key} must be {what}, got {value!r}"
            )
        low, high = _FLOAT_RANGE if numbers else _RANGES.get(key, _DEFAULT_RANGE)
        inside = low < value <= high if numbers else low <= value <= high
        if not inside:
            raise ValueError(
                f"hardware profile {path}: [{name}] {key} = {value} is outside [{low}, {high}]"
            )
    return cls(**{k: float(values[k]) if numbers else values[k] for k in fields})  # type: ignore[call-arg]


def _parse(path: str, text: str) -> HardwareProfile:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"hardware profile {path} is not valid TOML: {exc}") from None
    meta = table.get("profile")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ValueError(f"hardware profile {path}: [profile] needs a string 'name'")
    unknown = sorted(set(table) - set(_SECTIONS) - set(_OPTIONAL_SECTIONS) - {"profile"})
    if unknown:
        raise ValueError(f"hardware profile {path}: unknown section(s): {', '.join(unknown)}")
    parts = {name: _section(path, table, name, cls) for name, cls in _SECTIONS.items()}
    costs = (_section(path, table, "operation_costs", OperationCosts, numbers=True)
             if "operation_costs" in table else None)
    synapse: SynapseFormat = parts["synapse"]
    if synapse.weight_exp_min > synapse.weight_exp_max:
        raise ValueError(f"hardware profile {path}: weight_exp_min > weight_exp_max")
    neuron: NeuronFormat = parts["neuron"]
    if neuron.input_bits + neuron.input_shift > neuron.state_bits:
        raise ValueError(
            f"hardware profile {path}: input_bits + input_shift exceeds state_bits"
        )
    return HardwareProfile(
        name=meta["name"], description=str(meta.get("description", "")), source=path, costs=costs, **parts
    )


def available_profiles() -> list[str]:
    """Names of the profiles shipped in ``hw_profiles/``."""
    folder = resources.files("lava_local.hw_profiles")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@functools.lru_cache(maxsize=None)
def _load_cached(key: str) -> HardwareProfile:
    if key.endswith(".toml") or os.sep in key:
        path = Path(key)
        if not path.is_file():
            raise ValueError(f"hardware profile file not found: {path}")
        return _parse(str(path), path.read_text())
    if key not in available_profiles():
        raise ValueError(
            f"unknown hardware profile {key!r}; shipped profiles: {', '.join(available_profiles())}"
            " (or pass the path of a .toml file)"
        )
    resource = resources.files("lava_local.hw_profiles").joinpath(f"{key}.toml")
    return _parse(f"hw_profiles/{key}.toml", resource.read_text())


def load_profile(profile: Union[str, os.PathLike, HardwareProfile] = "loihi2") -> HardwareProfile:
    """Load a hardware profile by shipped name, by file path, or pass one through."""
    if isinstance(profile, HardwareProfile):
        return profile
    if not isinstance(profile, (str, os.PathLike)):
        raise TypeError(f"profile must be a name, a path or a HardwareProfile, got {type(profile).__name__}")
    return _load_cached(os.fspath(profile))


@dataclass(frozen=True)
class LayerPlacement:
    """Where one layer of a network learns once deployed, and why (:func:`check_fit`).

    ``learning``: ``"chip"`` (its weights learn on chip, with the learning engine, from a
    signal the chip computes), ``"host"`` (the layer cannot learn on chip: it learns only in
    the trainer on the host, and runs frozen on chip where it runs there at all) or
    ``"none"`` (frozen by the network: it keeps its weights)."""

    name: str  # hidden0, hidden1, ..., readout
    kind: str  # dense, conv, recurrent or readout
    neurons: int
    synapses: int
    learning: str
    reason: str


@dataclass(frozen=True)
class FitReport:
    """How a network maps onto one chip of a profile (a first-order estimate), and where each
    layer learns (:attr:`layers`)."""

    neurons: int
    synapses: int
    synapse_kib: float
    cores_for_neurons: int
    cores_for_synapses: int
    cores: int
    fits: bool
    notes: tuple
    layers: tuple = ()  # LayerPlacement per hidden layer, then the read-out
    profile: str = ""

    def learning_on(self, where: str) -> list:
        """Names of the layers whose ``learning`` is ``where`` (``"chip"``, ``"host"``, ``"none"``)."""
        return [layer.name for layer in self.layers if layer.learning == where]

    def _summary(self) -> str:
        verdict = "fits on one chip" if self.fits else "does NOT fit on one chip"
        return (f"{self.neurons} neurons, {self.synapses} synapses ({self.synapse_kib:.0f} KiB of weights): "
                f"about {self.cores} neuro-cores ({self.cores_for_neurons} for neurons, "
                f"{self.cores_for_synapses} for synapse memory); {verdict}")

    def __str__(self) -> str:
        lines = [self._summary()]
        lines += [f"  - {layer.name} ({layer.kind}): learns {_WHERE[layer.learning]}: {layer.reason}"
                  for layer in self.layers]
        lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> Dict[str, Any]:
        out = dataclasses.asdict(self)
        out["layers"] = [dataclasses.asdict(layer) for layer in self.layers]
        out["notes"] = list(self.notes)
        out.update({f"learning_{where}": self.learning_on(where) for where in _WHERE})
        return out

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        on = f" on `{self.profile}`" if self.profile else ""
        lines = [f"Fit{on}: {self._summary()}.", "",
                 "| layer | kind | neurons | synapses | learns | why |", "|---|---|---|---|---|---|"]
        lines += [f"| {layer.name} | {layer.kind} | {layer.neurons} | {layer.synapses} | {layer.learning} | "
                  f"{layer.reason} |" for layer in self.layers]
        lines += [""] + [f"- {n}" for n in self.notes] if self.notes else []
        return "\n".join(lines) + "\n"


_WHERE = {"chip": "on chip", "host": "on the host only", "none": "nowhere (frozen)"}


def _placements(net: Any) -> list:
    """Where each layer of ``net`` learns once deployed, and why (:class:`LayerPlacement`)."""
    rule = net.rule
    local = getattr(rule, "feedback", "local") == "local"
    out = []
    for i, (g, recurrent, w) in enumerate(zip(net.geometries, net.recurrent, net.weights[:-1])):
        kind = "recurrent" if recurrent else ("dense" if g is None else "conv")
        neurons = int(np_prod(w.shape[0:1])) if g is None else int(np_prod(g.out_shape))
        if recurrent or (g is not None and (g.pool_out != 1 or g.standardize)):
            what = ("a recurrent layer" if recurrent else "a conv layer with weight standardisation" if g.standardize
                    else "Conv(pool_out > 1)")
            where, why = "host", f"{what} runs in the trainer only (no fixed-point model): the layer stays on the host"
        elif net.frozen:
            where, why = "none", "frozen network (read-out only): the layer keeps its random weights"
        elif g is not None:
            where, why = "host", ("conv layers are deployed frozen on chip (Lava's learning engine is dense-only); "
                                  "they learn in the trainer on the host")
        elif not local:
            where, why = "host", (f"the rule's signal (feedback {rule.feedback!r}) carries errors across layers, "
                                  "which the chip's local learning does not: it learns in the trainer on the host")
        elif net.layer_filtered(i):
            where, why = "chip", (f"filtered={rule.filtered!r}: the signal is local and the filtered eligibility is "
                                  "one state per synapse, which a Loihi 2 synapse's tag can hold; the fixed-point "
                                  "model learns it, the Loihi mapping (mapping='loihi') does not build it")
        else:
            where, why = "chip", (f"{getattr(rule, 'name', type(rule).__name__)}'s signal is local (the layer's own "
                                  "error neurons, fixed +-1 projections): Lava's learning engine updates it")
        out.append(LayerPlacement(f"hidden{i}", kind, neurons, int(np_prod(w.shape)), where, why))
    readout = net.weights[-1]
    if net.readout_learns:
        where, why = "chip", ("its error (scores against the label the host sends) is local: the learning engine "
                              "updates it")
    else:
        where, why = "none", "fixed read-out (readout_learns=False): it keeps its start"
    out.append(LayerPlacement("readout", "readout", int(net.n_classes), int(np_prod(readout.shape)), where, why))
    return out


def check_fit(net: Any, profile: Union[str, os.PathLike, HardwareProfile] = "loihi2") -> FitReport:
    """Estimate whether a :class:`~lava_local.network.Network` fits one chip of ``profile``,
    and where each layer learns once deployed (:attr:`FitReport.layers`).

    Counts neurons (hidden layers and read-out) and synapses (dense: ``n_out n_in``; conv:
    shared kernels, stored once per output channel group, so ``C_out C_in k k``), weights at
    the profile's ``weight_bits`` plus sign, and spreads them over neuro-cores: neurons per
    core ``max_neurons / neuro_cores``, synapse memory per core ``memory_per_core_kib``.
    Learning state (traces) and routing are not counted; treat the result as a lower bound.

    A layer learns on chip when its rule's signal is local (``feedback="local"``) and it is
    dense; conv layers are deployed frozen (Lava's learning engine is dense-only), recurrent
    layers have no fixed-point model, and a signal fed back across layers (``"bp"``,
    ``"dfa"``) needs the host: those learn in the trainer only. The read-out learns on chip.
    """
    hw = load_profile(profile)
    layers = _placements(net)
    neurons = sum(layer.neurons for layer in layers)
    synapses = sum(layer.synapses for layer in layers)
    kib = synapses * (hw.synapse.weight_bits + 1) / 8 / 1024
    per_core = hw.chip.max_neurons // hw.chip.neuro_cores
    cores_n = -(-neurons // per_core)
    cores_s = int(-(-kib // hw.chip.memory_per_core_kib))
    cores = max(cores_n, cores_s)
    notes = []
    if any(g is not None for g in net.geometries):
        notes.append("conv layers are deployed frozen on chip (Lava's learning engine is dense-only)")
    if synapses > hw.chip.max_synapses:
        notes.append(f"{synapses} synapses exceed the chip's {hw.chip.max_synapses}")
    fits = cores <= hw.chip.neuro_cores and neurons <= hw.chip.max_neurons and synapses <= hw.chip.max_synapses
    return FitReport(neurons, synapses, kib, cores_n, cores_s, cores, fits, tuple(notes), tuple(layers), hw.name)


def np_prod(shape: Any) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out

"""NIR export and import: networks that other neuromorphic frameworks read and write.

    from lava_local import Network, export_nir, import_nir
    export_nir(net, "tess.nir")          # a NIR graph (HDF5), read by nir.read, snnTorch, ...
    net2 = import_nir("tess.nir")       # a Network again: same weights, neuron and rule

NIR (the Neuromorphic Intermediate Representation, package ``nir`` 1.0) describes a network
as a graph of nodes whose neurons are continuous-time ODEs; a simulator discretises them
with its own time step. A :class:`~lava_local.network.Network` becomes::

    Input (C, H, W) or (n,)
      -> per hidden layer: Conv2d | [Flatten] Linear  ->  LIF  [-> AvgPool2d]
         (a Recurrent layer adds a Linear from its LIF back to itself)
      -> [Flatten] Linear -> LI  (the read-out)  -> Output
         (a centred read-out, ``readout_centred=True``: Affine with bias ``-W m``)

Synapses have no bias (``Conv2d.bias`` is zero) and no delay, as in the Network, whose
layers exchange spikes within a step. Shapes are a sample's, without a batch axis (NIR's
convention), so ``Flatten`` has ``start_dim=0``.

The neuron mapping
------------------
Our neuron (DESIGN.md 2.1), per step::

    u[t] = gamma * (u[t-1] - v_th o[t-1]) + I[t],    o[t] = H(u[t] - v_th)

NIR's LIF is ``tau dv/dt = (v_leak - v) + r I``, a spike when ``v > v_threshold``, then
``v = v_reset``. Forward Euler with step ``dt`` (what the NIR paper and the importers of
snnTorch and Norse compute), the input held over the step::

    v[t] = (1 - dt / tau) v[t-1] + (r dt / tau) I[t] + (dt / tau) v_leak

which is our step exactly when

    tau = dt / (1 - gamma),   r = tau / dt = 1 / (1 - gamma),   v_leak = 0,
    v_threshold = v_th,       v_reset = 0,

with ``dt`` the exporter's time step (:data:`DEFAULT_DT`, 1e-4, below). ``gamma = 1`` (no
leak) has no finite ``tau``: that layer is written as NIR's ``IF`` (``dv/dt = r I``) with
``r = 1 / dt``. The read-out ``u[t] = gamma_ro u[t-1] + W o[t]`` is NIR's ``LI`` by the same
mapping (``I`` when ``gamma_ro = 1``); its output is the membrane, and the class of a
sample is the arg-max of that membrane summed over the sample's steps (recorded in the
node's metadata: NIR has no node for it).

Reset. NIR resets to a value, so ``LIFParams(reset="zero")`` is exact (``v_reset = 0``;
``u * (1 - o)`` decays from zero at the next step in both). The papers' subtractive reset
(``reset="subtract"``, the default) subtracts ``v_th`` instead, which NIR cannot express:
the export writes ``v_reset = 0``, warns, and records ``"reset": "subtract"`` in each
neuron node's metadata and the difference under ``"deviations"`` in the graph's, so
:func:`import_nir` restores it while other tools run the network with a reset to zero.
Train with ``LIFParams(reset="zero")`` for a network that every NIR tool reproduces (it
also deploys to Loihi exactly, see :mod:`lava_local.export`).

The time step. NIR does not store a simulator's ``dt``; a file's time constants mean
steps only together with the ``dt`` its reader assumes. snnTorch's importer (and its
exporter) fix ``dt = 1e-4`` and compute ``beta = 1 - dt / tau``, an input scale
``r dt / tau`` and reset to zero, so the default ``dt = 1e-4`` makes snnTorch rebuild our
network exactly (tested). Norse 1.1's ``from_nir(graph, dt=...)`` takes the time step as an
argument (pass the same 1e-4) but ignores ``r``, so it scales the input by ``1 - gamma``.
snnTorch 1.0 (with nirtorch 2.6) has no ``LI`` node, so export for it with
``readout=False``, and it wires a recurrent layer's input through the recurrent weights, so
recurrent layers are reproduced by :func:`import_nir` only.
The chosen ``dt`` is also stored in the graph's metadata (``"dt"``), which
:func:`import_nir` reads back; for a file without it, give ``dt=``.

Beyond inference
----------------
What a learning network needs besides its weights travels in metadata, as JSON under the
key ``"lava_local"``: on the graph the network's settings (surrogate, read-out learning
rate, seed, fixed-point scale and profile, ...); on every hidden neuron node the layer's
neuron, its learning rule (class, traces, basis, scale, feedback, every parameter),
for conv layers the signal's pooling and weight standardisation, and for recurrent layers
the recurrent block's optimiser step where ``Recurrent.recurrent_step`` gave one (without
one, the importer leaves the trainer its default). A conv layer with weight
standardisation is exported with the standardised weights (what its forward pass uses) and
keeps the raw ones in the Conv2d node's metadata (``"lava_local_weight"``) to go on
learning.

A centred read-out integrates ``W (o[t] - m)``, ``m`` its input's running mean: the graph
writes it as ``Affine(W, -W m)``, exact for inference in any tool, and keeps ``m`` and the
count of samples behind it in the LI node's metadata, from which :func:`import_nir` restores
the centred read-out to go on learning.

Import reads feed-forward graphs of ``Input, Output, Linear, Affine`` (zero bias, except a
centred read-out's),
``Conv2d, Flatten, AvgPool2d, SumPool2d, LIF, CubaLIF, IF, LI, CubaLI, I`` (and a Linear
from a LIF back to itself: a recurrent layer; nested sub-graphs, as snnTorch writes
recurrent layers, are inlined). ``CubaLIF``/``CubaLI`` are accepted when their synaptic
current lasts one step (``tau_syn = dt``, our one-state neuron); an input scale other than
one (``r dt / tau``, ``w_in``) and a ``SumPool2d``'s window area are folded into the weights
that feed the node. Without rule metadata the network learns with the library's default
rule (:class:`~lava_local.rules.TESS`). Anything else raises ``ValueError`` naming the node.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, fields
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _validate
from .kernels.conv import conv_output_size, standardize_weights
from .kernels.neuron import LIFParams
from .kernels.plasticity import EligibilityParams
from .kernels.learning_signal import SignalParams
from .kernels.surrogate import Surrogate
from .network import Conv, Network, Recurrent
from .rules import LLS, STLLR, TESS, LearningRule

__all__ = ["DEFAULT_DT", "SUPPORTED_NODES", "to_nir", "export_nir", "from_nir", "import_nir"]

#: the time step the exported time constants refer to (snnTorch's fixed NIR time step)
DEFAULT_DT = 1e-4
#: metadata key of this library's entries (a JSON string), on the graph and on nodes
META_KEY = "lava_local"
#: metadata key of a standardised conv layer's raw weights (on its Conv2d node)
RAW_WEIGHT_KEY = "lava_local_weight"
FORMAT_VERSION = 1
#: the NIR node types :func:`import_nir` reads
SUPPORTED_NODES = ("Input", "Output", "Linear", "Affine", "Conv2d", "Flatten", "AvgPool2d", "SumPool2d",
                   "LIF", "CubaLIF", "IF", "LI", "CubaLI", "I")
_RULES = {cls.__name__: cls for cls in (LearningRule, TESS, STLLR, LLS)}
#: relative tolerance within which a time constant read back is the exported one
_MATCH = 1e-9

_SUBTRACT_NOTE = ("hidden neurons subtract v_th on a spike (reset='subtract'); NIR's LIF resets to v_reset, "
                  "so the graph says v_reset = 0 and other tools run it with a reset to zero")


def _nir():
    try:
        import nir
    except ImportError:
        raise ImportError("NIR export and import need the nir package: pip install 'lava-local[nir]' "
                          "(or pip install nir)") from None
    return nir


# -- export -------------------------------------------------------------------------------
def rule_config(rule: LearningRule) -> Dict[str, Any]:
    """A learning rule as plain data (JSON-ready): its class and every field."""
    return {"class": type(rule).__name__, **asdict(rule)}


def rule_from_config(config: Dict[str, Any]) -> LearningRule:
    """The rule :func:`rule_config` described (unknown fields are dropped with a warning)."""
    config = dict(config)
    name = config.pop("class", "TESS")
    if name not in _RULES:
        raise ValueError(f"unknown learning rule class {name!r} in the metadata; known: {', '.join(_RULES)}")
    cls = _RULES[name]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        warnings.warn(f"the {name} rule in the metadata has fields this version does not know, ignored: "
                      f"{', '.join(unknown)}", stacklevel=3)
    kwargs = {k: v for k, v in config.items() if k in known}
    # a rule written before ``filtered_gain`` filtered with the read-out's sum, whatever its
    # class's default is now
    kwargs.setdefault("filtered_gain", "sum")
    if "eligibility" in kwargs:
        kwargs["eligibility"] = EligibilityParams(**kwargs["eligibility"])
    if "signal" in kwargs:
        kwargs["signal"] = SignalParams(**kwargs["signal"])
    return cls(**kwargs)


def _profile_name(profile: Any) -> str:
    return profile if isinstance(profile, str) else str(getattr(profile, "name", profile))


def _neuron_node(nir, gamma: float, shape: Tuple[int, ...], dt: float, v_th: Optional[float], metadata: dict):
    """LIF / IF (``v_th`` given) or LI / I (the read-out) for a decay ``gamma`` at ``dt``."""
    ones, zeros = np.ones(shape), np.zeros(shape)
    meta = {META_KEY: json.dumps(metadata)}
    if gamma == 1.0:  # no leak: tau would be infinite
        if v_th is None:
            return nir.I(r=ones / dt, metadata=meta)
        return nir.IF(r=ones / dt, v_threshold=ones * v_th, v_reset=zeros, metadata=meta)
    tau = dt / (1.0 - gamma)
    if v_th is None:
        return nir.LI(tau=ones * tau, r=ones * (tau / dt), v_leak=zeros, metadata=meta)
    return nir.LIF(tau=ones * tau, r=ones * (tau / dt), v_leak=zeros, v_threshold=ones * v_th, v_reset=zeros,
                   metadata=meta)


def to_nir(net: Network, dt: float = DEFAULT_DT, readout: bool = True):
    """The NIR graph (``nir.NIRGraph``) of ``net``; see the module docstring for the mapping.

    ``dt``: the time step the time constants refer to. ``readout=False`` leaves the read-out
    out: the graph ends with the last hidden layer's spikes (for tools whose importer has no
    ``LI`` node, such as snnTorch 1.0; :func:`import_nir` needs the read-out).
    """
    return _graph(net, dt, readout)


def _graph(net: Network, dt: float, readout: bool):
    """:func:`to_nir`'s work (its warning points at the caller of to_nir / export_nir)."""
    nir = _nir()
    if not isinstance(net, Network):
        raise TypeError("to_nir exports a lava_local.network.Network")
    dt = _validate.positive("dt", dt)
    if not readout and not net.hidden:
        raise ValueError("a network without hidden layers has only its read-out to export: keep readout=True")
    deviations = []
    if net.neuron.reset == "subtract" and net.hidden:
        deviations.append(_SUBTRACT_NOTE)
        warnings.warn(f"NIR cannot express this network exactly: {_SUBTRACT_NOTE}; import_nir restores it from "
                      "the metadata. Train with LIFParams(reset='zero') for a network every NIR tool "
                      "reproduces.", stacklevel=3)
    nodes: Dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(net.in_shape)})}
    edges: List[Tuple[str, str]] = []
    last = ["input"]
    shape = tuple(net.in_shape)

    def append(name: str, node: Any) -> None:
        nodes[name] = node
        edges.append((last[0], name))
        last[0] = name

    def flatten(prefix: str) -> None:
        nonlocal shape
        if len(shape) > 1:
            append(f"{prefix}.flatten", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1))
            shape = (int(np.prod(shape)),)

    neuron = {"gamma": net.neuron.gamma, "v_th": net.neuron.v_th, "reset": net.neuron.reset}
    rule = rule_config(net.rule)
    for i, (w, g, recurrent) in enumerate(zip(net.weights[:-1], net.geometries, net.recurrent)):
        prefix = f"hidden{i}"
        layer: Dict[str, Any] = {"layer": i, "neuron": neuron, "rule": rule}
        if g is not None:
            meta = {RAW_WEIGHT_KEY: np.array(w, dtype=float)} if g.standardize else {}
            append(f"{prefix}.conv", nir.Conv2d(
                input_shape=tuple(g.in_shape[1:]),
                weight=standardize_weights(w) if g.standardize else np.array(w, dtype=float),
                stride=g.stride, padding=g.padding, dilation=1, groups=1, bias=np.zeros(g.out_channels),
                metadata=meta))
            layer["conv"] = {"pool": g.pool, "standardize": g.standardize}
            shape = tuple(g.out_shape)
        else:
            flatten(prefix)
            n_ff = w.shape[1] - (w.shape[0] if recurrent else 0)
            append(f"{prefix}.linear", nir.Linear(weight=np.array(w[:, :n_ff], dtype=float)))
            shape = (w.shape[0],)
            if recurrent and net.recurrent_step_given[i]:  # a given Recurrent.recurrent_step; without
                # one the importer resolves the same default (which depends on the trainer's signal)
                layer["recurrent_step"] = float(net.recurrent_steps[i])
        append(f"{prefix}.lif", _neuron_node(nir, net.neuron.gamma, shape, dt, net.neuron.v_th, layer))
        if recurrent:
            nodes[f"{prefix}.recurrent"] = nir.Linear(weight=np.array(w[:, n_ff:], dtype=float))
            edges += [(f"{prefix}.lif", f"{prefix}.recurrent"), (f"{prefix}.recurrent", f"{prefix}.lif")]
        if g is not None and g.pool_out > 1:
            p = g.pool_out
            append(f"{prefix}.pool", nir.AvgPool2d(kernel_size=np.array([p, p]), stride=np.array([p, p]),
                                                   padding=np.array([0, 0])))
            shape = tuple(g.next_shape)
    if readout:
        flatten("readout")
        w_ro = np.array(net.weights[-1], dtype=float)
        readout_meta = {"readout_gamma": net.readout_gamma, "readout_lr": net.readout_lr,
                        "score": "the membrane summed over a sample's steps; the class is its arg-max"}
        if net.readout_centred:  # W (o - m) = W o + b with b = -W m: NIR's Affine
            append("readout.affine", nir.Affine(weight=w_ro, bias=-(w_ro @ net.readout_mean)))
            readout_meta.update(readout_centred=True, readout_mean=[float(v) for v in net.readout_mean],
                                readout_seen=int(net.readout_seen))
        else:
            append("readout.linear", nir.Linear(weight=w_ro))
        shape = (net.n_classes,)
        append("readout.li", _neuron_node(nir, net.readout_gamma, shape, dt, None, readout_meta))
    append("output", nir.Output(output_type={"output": np.array(shape)}))
    settings = {
        "format_version": FORMAT_VERSION, "dt": dt, "in_shape": list(net.in_shape), "n_classes": net.n_classes,
        "surrogate": asdict(net.surrogate), "frozen": net.frozen, "readout_learns": net.readout_learns,
        "readout_lr": net.readout_lr, "readout_centred": net.readout_centred,
        "readout_gamma": net.readout_gamma, "scale": net.scale, "profile": _profile_name(net.profile),
        "seed": net.seed, "readout": bool(readout), "neuron": neuron, "deviations": deviations,
        "signal_rates": net.signal_rates,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={META_KEY: json.dumps(settings), "dt": dt})


def export_nir(net: Network, path: os.PathLike | str, dt: float = DEFAULT_DT, readout: bool = True):
    """Write ``net`` as a NIR file (HDF5, ``nir.write``); returns the graph written.

    ``dt`` and ``readout`` as in :func:`to_nir`. Warns when NIR cannot express the network
    exactly (the papers' subtractive reset); :func:`import_nir` restores it all the same.
    """
    nir = _nir()
    graph = _graph(net, dt, readout)
    nir.write(path, graph)
    return graph


# -- import -------------------------------------------------------------------------------
def _metadata(node: Any) -> Dict[str, Any]:
    raw = (getattr(node, "metadata", None) or {}).get(META_KEY)
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode("utf8")
    try:
        return json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise ValueError(f"the {META_KEY!r} metadata is not valid JSON: {err}") from None


def _inline(nir, nodes: Dict[str, Any], edges: List[Tuple[str, str]]):
    """Nested NIRGraph nodes replaced by their contents (``outer.inner`` names)."""
    while any(isinstance(n, nir.NIRGraph) for n in nodes.values()):
        name, sub = next((k, n) for k, n in nodes.items() if isinstance(n, nir.NIRGraph))
        inner = {f"{name}.{k}": n for k, n in sub.nodes.items()}
        ins = [k for k, n in inner.items() if isinstance(n, nir.Input)]
        outs = [k for k, n in inner.items() if isinstance(n, nir.Output)]
        if len(ins) != 1 or len(outs) != 1:
            raise ValueError(f"sub-graph {name!r} needs one Input and one Output node to be inlined")
        sub_edges = [(f"{name}.{a}", f"{name}.{b}") for a, b in sub.edges]
        sources = [a for a, b in edges if b == name]
        targets = [b for a, b in edges if a == name]
        new_edges = [(a, b) for a, b in edges if name not in (a, b)]
        for a, b in sub_edges:
            if a == ins[0]:
                new_edges += [(s, b) for s in sources]
            elif b == outs[0]:
                new_edges += [(a, t) for t in targets]
            else:
                new_edges.append((a, b))
        del inner[ins[0]], inner[outs[0]]
        nodes = {**{k: n for k, n in nodes.items() if k != name}, **inner}
        edges = new_edges
    return nodes, edges


def _uniform(name: str, node: Any, field: str, size: int) -> float:
    """A neuron parameter that must be one value for the whole layer."""
    values = np.asarray(getattr(node, field), dtype=float).reshape(-1)
    if values.size not in (1, size):
        raise ValueError(f"node {name!r} ({type(node).__name__}): {field} has {values.size} values for a layer "
                         f"of {size} neurons")
    if not np.all(values == values[0]):
        raise ValueError(f"node {name!r} ({type(node).__name__}): {field} differs between neurons "
                         f"({values.min():g} to {values.max():g}); a Network layer has one value for all")
    return float(values[0])


def _snap(value: float, exported: Optional[float]) -> float:
    """The exported value where the one read back equals it up to rounding."""
    if exported is not None and abs(value - exported) <= _MATCH * max(1.0, abs(exported)):
        return float(exported)
    return value


def _neuron_params(nir, name: str, node: Any, size: int, dt: float, meta: Dict[str, Any]):
    """``(gamma, v_th or None, input scale)`` of a NIR neuron node at time step ``dt``."""
    kind = type(node).__name__
    exported = meta.get("neuron", {}).get("gamma", meta.get("readout_gamma"))
    if hasattr(node, "v_leak") and _uniform(name, node, "v_leak", size) != 0.0:
        raise ValueError(f"node {name!r} ({kind}): v_leak must be 0; the library's neuron has no leak potential")
    if hasattr(node, "v_reset") and node.v_reset is not None and _uniform(name, node, "v_reset", size) != 0.0:
        raise ValueError(f"node {name!r} ({kind}): v_reset must be 0 (reset to zero, or the subtractive reset "
                         "recorded in metadata)")
    if isinstance(node, (nir.IF, nir.I)):
        gamma, scale = 1.0, _uniform(name, node, "r", size) * dt
    else:
        if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
            tau_syn = _uniform(name, node, "tau_syn", size)
            if abs(tau_syn - dt) > _MATCH * dt:
                raise ValueError(f"node {name!r} ({kind}): tau_syn = {tau_syn:g} keeps a synaptic current for "
                                 f"more than one step of dt = {dt:g}; the library's neuron is one-state "
                                 "(tau_syn must equal dt; pass import_nir(..., dt=...) if the file's dt differs)")
            tau, scale = _uniform(name, node, "tau_mem", size), _uniform(name, node, "w_in", size)
        else:
            tau, scale = _uniform(name, node, "tau", size), 1.0
        if tau < dt * (1 - _MATCH):
            raise ValueError(f"node {name!r} ({kind}): tau = {tau:g} is shorter than dt = {dt:g}, which forward "
                             "Euler turns into a negative decay; pass the graph's time step as import_nir(..., dt=...)")
        gamma = _snap(max(0.0, 1.0 - dt / tau), exported)
        scale *= _uniform(name, node, "r", size) * dt / tau
    v_th = _uniform(name, node, "v_threshold", size) if hasattr(node, "v_threshold") else None
    if v_th is not None and v_th <= 0:
        raise ValueError(f"node {name!r} ({kind}): v_threshold must be positive, got {v_th:g}")
    return gamma, v_th, _snap(scale, 1.0)


def _chain(nir, nodes: Dict[str, Any], edges: List[Tuple[str, str]]):
    """The nodes from Input to Output in order, and each neuron's recurrent Linear."""
    unsupported = [(k, type(n).__name__) for k, n in nodes.items() if type(n).__name__ not in SUPPORTED_NODES]
    if unsupported:
        name, kind = unsupported[0]
        raise ValueError(f"node {name!r} is a {kind}, which import_nir does not read; supported nodes: "
                         f"{', '.join(SUPPORTED_NODES)}")
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise ValueError(f"edge ({a!r}, {b!r}) names {end!r}, which is not a node of the graph")
    successors = {k: [b for a, b in edges if a == k] for k in nodes}
    predecessors = {k: [a for a, b in edges if b == k] for k in nodes}
    recurrent: Dict[str, str] = {}
    for name, node in nodes.items():
        if (isinstance(node, (nir.Linear, nir.Affine)) and len(predecessors[name]) == 1
                and successors[name] == predecessors[name]):
            lif = predecessors[name][0]
            if not isinstance(nodes[lif], (nir.LIF, nir.CubaLIF, nir.IF)):
                raise ValueError(f"node {name!r} feeds {lif!r} ({type(nodes[lif]).__name__}) back to itself; "
                                 "recurrent weights must connect a spiking layer (LIF, CubaLIF, IF) to itself")
            recurrent[lif] = name
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    outputs = [k for k, n in nodes.items() if isinstance(n, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"import_nir reads graphs with one Input and one Output node; this one has inputs "
                         f"{inputs} and outputs {outputs}")
    order, current = [inputs[0]], inputs[0]
    while current != outputs[0]:
        nexts = [s for s in successors[current] if s != recurrent.get(current)]
        if len(nexts) != 1:
            raise ValueError(f"node {current!r} feeds {nexts or 'nothing'}: import_nir reads feed-forward chains "
                             "(one successor per node, plus a layer's own recurrent weights)")
        current = nexts[0]
        feeding = [p for p in predecessors[current] if p != recurrent.get(current)]
        if len(feeding) != 1:
            raise ValueError(f"node {current!r} receives from {feeding}: import_nir reads feed-forward chains "
                             "(one input per node, plus a layer's own recurrent weights)")
        if current in order:
            raise ValueError(f"the graph loops back to node {current!r}")
        order.append(current)
    left = sorted(set(nodes) - set(order) - set(recurrent.values()))
    if left:
        raise ValueError(f"nodes {left} are not on the path from Input to Output")
    return order, recurrent


def _conv_spec(name: str, node: Any, shape: Tuple[int, ...]):
    weight = np.asarray(node.weight, dtype=float)
    if len(shape) != 3:
        raise ValueError(f"node {name!r} (Conv2d) needs a (C, H, W) input, but receives shape {shape}")
    c_out, c_in, kh, kw = weight.shape
    if c_in != shape[0]:
        raise ValueError(f"node {name!r} (Conv2d): its weight {weight.shape} takes {c_in} input channels, but its "
                         f"input {shape} has {shape[0]}")
    pair = lambda v: tuple(int(x) for x in np.broadcast_to(np.asarray(v).reshape(-1), (2,)))  # noqa: E731
    if kh != kw:
        raise ValueError(f"node {name!r} (Conv2d): kernel {kh}x{kw}; Network's Conv takes square kernels")
    padding = node.padding
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding == "same" and kh % 2 == 0:
            raise ValueError(f"node {name!r} (Conv2d): padding 'same' with an even kernel pads unevenly")
        padding = 0 if padding == "valid" else (kh - 1) // 2
    (sh, sw), (ph, pw), (dh, dw) = pair(node.stride), pair(padding), pair(node.dilation)
    if sh != sw or ph != pw:
        raise ValueError(f"node {name!r} (Conv2d): stride {(sh, sw)} and padding {(ph, pw)} must be the same "
                         "along both axes")
    if (dh, dw) != (1, 1) or int(np.asarray(node.groups)) != 1:
        raise ValueError(f"node {name!r} (Conv2d): dilation {(dh, dw)} and groups {node.groups} must be 1")
    if node.bias is not None and np.any(np.asarray(node.bias) != 0):
        raise ValueError(f"node {name!r} (Conv2d) has a bias; Network's layers have none")
    out = (c_out, conv_output_size(shape[1], kh, sh, ph), conv_output_size(shape[2], kw, sw, pw))
    return weight, dict(channels=c_out, kernel=kh, stride=sh, padding=ph), out


def from_nir(graph: Any, dt: Optional[float] = None, rule: Optional[LearningRule] = None) -> Network:
    """A :class:`~lava_local.network.Network` from a NIR graph (see :func:`import_nir`)."""
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir reads a nir.NIRGraph, got {type(graph).__name__}")
    settings = _metadata(graph)
    if dt is None:
        dt = settings.get("dt", (graph.metadata or {}).get("dt", DEFAULT_DT))
    dt = _validate.positive("dt", float(dt))
    nodes, edges = _inline(nir, dict(graph.nodes), list(graph.edges))
    order, recurrent = _chain(nir, nodes, edges)

    shape = tuple(int(s) for s in np.asarray(nodes[order[0]].input_type["input"]).reshape(-1))
    in_shape = shape
    hidden: List[Any] = []
    weights: List[np.ndarray] = []
    layer_meta: List[Tuple[str, Dict[str, Any]]] = []
    neurons: List[Tuple[str, float, float, str]] = []  # (node, gamma, v_th, reset)
    # (node, weight, conv spec, bias)
    synapse: Optional[Tuple[str, np.ndarray, Optional[dict], Optional[np.ndarray]]] = None
    factor = 1.0  # a SumPool2d's window area, folded into the next synapse
    # (weight, gamma, metadata, synapse node, its bias or None)
    readout: Optional[Tuple[np.ndarray, float, Dict[str, Any], str, Optional[np.ndarray]]] = None
    previous = order[0]
    for name in order[1:]:
        node, kind = nodes[name], type(nodes[name]).__name__
        if readout is not None and not isinstance(node, nir.Output):
            raise ValueError(f"node {name!r} ({kind}) follows the read-out; the read-out (Linear -> LI) must be "
                             "the last layer before Output")
        if synapse is not None and not isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI, nir.CubaLI, nir.I)):
            raise ValueError(f"node {name!r} ({kind}) follows the synapse {synapse[0]!r}; a neuron node (LIF, "
                             "CubaLIF, IF, or LI for the read-out) must come next")
        if isinstance(node, nir.Flatten):
            shape = (int(np.prod(shape)),)
        elif isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
            if not hidden or not isinstance(hidden[-1], Conv) or previous != neurons[-1][0]:
                raise ValueError(f"node {name!r} ({kind}) must follow a conv layer's neuron node")
            kernel, stride = np.asarray(node.kernel_size).reshape(-1), np.asarray(node.stride).reshape(-1)
            p = int(kernel[0])
            if (np.any(kernel != p) or np.any(stride != p) or np.any(np.asarray(node.padding) != 0)
                    or shape[1] % p or shape[2] % p):
                raise ValueError(f"node {name!r} ({kind}): kernel {kernel.tolist()}, stride {stride.tolist()}, "
                                 f"padding {np.asarray(node.padding).tolist()} on {shape}; Network pools square, "
                                 "non-overlapping windows that tile the layer (stride = kernel, no padding)")
            hidden[-1] = Conv(**{**asdict(hidden[-1]), "pool_out": p})
            shape = (shape[0], shape[1] // p, shape[2] // p)
            factor = float(p * p) if isinstance(node, nir.SumPool2d) else 1.0
        elif isinstance(node, (nir.Linear, nir.Affine)):
            weight = np.asarray(node.weight, dtype=float)
            if len(shape) != 1:
                raise ValueError(f"node {name!r} ({kind}) receives shape {shape} from {previous!r}; put a Flatten "
                                 "node before it")
            if weight.ndim != 2 or weight.shape[1] != shape[0]:
                raise ValueError(f"node {name!r} ({kind}): weight of shape {weight.shape} does not take the "
                                 f"{shape[0]} values that {previous!r} gives")
            bias = np.asarray(node.bias, dtype=float) if isinstance(node, nir.Affine) else None
            synapse, shape = (name, weight * factor, None, bias), (weight.shape[0],)
            factor = 1.0
        elif isinstance(node, nir.Conv2d):
            weight, spec, shape = _conv_spec(name, node, shape)
            raw = (getattr(node, "metadata", None) or {}).get(RAW_WEIGHT_KEY)
            synapse, factor = (name, weight * factor, {**spec, "raw": raw}, None), 1.0
        elif isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI, nir.CubaLI, nir.I)):
            if synapse is None:
                raise ValueError(f"neuron node {name!r} ({kind}) follows {previous!r}, not a synapse (Linear, "
                                 "Affine or Conv2d)")
            meta, size = _metadata(node), int(np.prod(shape))
            gamma, v_th, scale = _neuron_params(nir, name, node, size, dt, meta)
            weight, conv = synapse[1] * scale if scale != 1.0 else synapse[1], synapse[2]
            bias = None if synapse[3] is None or not np.any(synapse[3] != 0) else synapse[3] * scale
            if v_th is None:  # the read-out
                if conv is not None:
                    raise ValueError(f"the read-out {name!r} must be fed by a Linear node, not {synapse[0]!r}")
                readout = (weight, gamma, meta, synapse[0], bias)
            else:
                if bias is not None:
                    raise ValueError(f"node {synapse[0]!r} (Affine) has a non-zero bias; Network's hidden layers "
                                     "have none")
                reset = meta.get("neuron", {}).get("reset", "zero")
                neurons.append((name, gamma, _snap(v_th, meta.get("neuron", {}).get("v_th")), reset))
                layer_meta.append((name, meta))
                if conv is not None:
                    spec, weight = _conv_layer(name, weight, conv, meta)
                    hidden.append(spec)
                    weights.append(weight)
                elif name in recurrent:
                    rec_node = nodes[recurrent[name]]
                    if isinstance(rec_node, nir.Affine) and np.any(np.asarray(rec_node.bias) != 0):
                        raise ValueError(f"recurrent node {recurrent[name]!r} (Affine) has a non-zero bias; "
                                         "Network's layers have none")
                    w_rec = np.asarray(rec_node.weight, dtype=float)
                    if w_rec.shape != (size, size):
                        raise ValueError(f"recurrent node {recurrent[name]!r}: weight {w_rec.shape}, expected "
                                         f"({size}, {size}) for the {size} neurons of {name!r}")
                    hidden.append(Recurrent(size, recurrent_step=meta.get("recurrent_step")))
                    weights.append(np.hstack([weight, w_rec * scale]))
                else:
                    hidden.append(size)
                    weights.append(weight)
            synapse = None
        elif isinstance(node, nir.Output):
            if readout is None:
                raise ValueError(f"the graph ends with {previous!r} ({type(nodes[previous]).__name__}); a Network "
                                 "ends with a non-spiking read-out (Linear -> LI, CubaLI or I) before Output")
        elif isinstance(node, nir.Input):
            raise ValueError(f"a second Input node {name!r} on the chain")
        previous = name
    return _network(in_shape, hidden, weights, neurons, layer_meta, readout, settings, rule)


def _conv_layer(name: str, weight: np.ndarray, spec: Dict[str, Any], meta: Dict[str, Any]):
    """The Conv spec and the weights to learn (raw ones where the layer standardises)."""
    info = meta.get("conv", {})
    raw, standardize = spec.pop("raw"), bool(info.get("standardize", False))
    if standardize:
        raw = None if raw is None else np.asarray(raw, dtype=float)
        if raw is None or raw.shape != weight.shape or not np.allclose(standardize_weights(raw), weight,
                                                                        rtol=1e-6, atol=1e-9):
            warnings.warn(f"node {name!r}: the metadata asks for weight standardisation, but the raw weights it "
                          "keeps are missing or do not match the node's; the layer is imported with the node's "
                          "weights and without standardisation", stacklevel=4)
            standardize = False
        else:
            weight = raw
    return Conv(**spec, pool=int(info.get("pool", 1)), standardize=standardize), weight


def _network(in_shape, hidden, weights, neurons, layer_meta, readout, settings, rule) -> Network:
    first = neurons[0] if neurons else None
    for other in neurons[1:]:
        if other[1:] != first[1:]:
            raise ValueError(f"neuron nodes {first[0]!r} and {other[0]!r} differ (gamma, v_th, reset = "
                             f"{first[1:]} and {other[1:]}); a Network has one neuron for all hidden layers")
    if first is not None:
        neuron = LIFParams(gamma=first[1], v_th=first[2], reset=first[3])
    else:
        neuron = LIFParams(**settings.get("neuron", {}))
    if rule is None:
        configs = [(name, meta["rule"]) for name, meta in layer_meta if "rule" in meta]
        for name, config in configs[1:]:
            if config != configs[0][1]:
                raise ValueError(f"neuron nodes {configs[0][0]!r} and {name!r} carry different learning rules; "
                                 "a Network has one rule (pass import_nir(..., rule=...) to choose one)")
        rule = rule_from_config(configs[0][1]) if configs else TESS()
    w_ro, gamma_ro, ro_meta, affine, bias = readout
    kwargs: Dict[str, Any] = {}
    if "surrogate" in settings:
        kwargs["surrogate"] = Surrogate(**settings["surrogate"])
    for key in ("frozen", "readout_learns", "scale", "profile", "seed"):
        if key in settings:
            kwargs[key] = settings[key]
    if "readout_lr" in ro_meta or "readout_lr" in settings:
        kwargs["readout_lr"] = ro_meta.get("readout_lr", settings.get("readout_lr"))
    # our graphs say whether the read-out is centred (those written before it existed: plain);
    # another tool's graph has a plain read-out, which the network's default centres from here on
    centred = ro_meta.get("readout_centred", settings.get("readout_centred", False if settings else None))
    mean = np.asarray(ro_meta.get("readout_mean", np.zeros(w_ro.shape[1])), dtype=float)
    if bias is not None and not centred:
        raise ValueError(f"node {affine!r} (Affine) has a non-zero bias; Network's read-out has none unless it is "
                         "centred (readout_centred=True), whose input mean the node's metadata keeps")
    if centred is not None:
        kwargs["readout_centred"] = bool(centred)
    if centred:  # the bias is -W m, with m kept in the metadata to go on learning
        if mean.shape != (w_ro.shape[1],) or not np.allclose(
                np.zeros(w_ro.shape[0]) if bias is None else bias, -(w_ro @ mean), rtol=1e-9, atol=1e-12):
            raise ValueError(f"the read-out's input mean in the metadata does not give the bias of node "
                             f"{affine!r} (-W m); the graph was changed after export")
    net = Network(in_shape, hidden=hidden, n_classes=w_ro.shape[0], rule=rule, neuron=neuron,
                  readout_gamma=gamma_ro, **kwargs)
    if centred:
        net.readout_mean, net.readout_seen = mean, int(ro_meta.get("readout_seen", 0))
    if settings.get("signal_rates") is not None:  # a scale="rate" signal's measured rates: it learns on with them
        net.signal_rates = [float(r) for r in settings["signal_rates"]]
    for i, (ours, theirs) in enumerate(zip(net.weights, weights + [w_ro])):
        if ours.shape != theirs.shape:
            raise ValueError(f"layer {i}: the graph's weights have shape {theirs.shape}, the Network built from "
                             f"it expects {ours.shape}")
    net.weights = [np.array(w, dtype=float) for w in weights + [w_ro]]
    return net


def import_nir(source: Any, dt: Optional[float] = None, rule: Optional[LearningRule] = None) -> Network:
    """A :class:`~lava_local.network.Network` from a NIR file (path) or a ``nir.NIRGraph``.

    The graph must be a feed-forward chain of the nodes in :data:`SUPPORTED_NODES` ending
    with a read-out (``Linear -> LI``), as :func:`export_nir` writes and other frameworks
    can. ``dt``: the time step the graph's time constants refer to (default: the one in
    its metadata, else :data:`DEFAULT_DT`). ``rule``: the hidden layers' learning rule
    (default: the one in the metadata, else the library's default, TESS). The network
    goes on learning in Lava (``net.fit``) or in the batched trainer. ``ValueError``
    names the node for unsupported nodes, parameters the library's neuron does not have,
    and mismatched shapes.
    """
    nir = _nir()
    if isinstance(source, (str, os.PathLike)):
        graph = nir.read(source, type_check=False)  # our own checks name the node at fault
    else:
        graph = source
    return from_nir(graph, dt=dt, rule=rule)

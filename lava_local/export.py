"""Export a trained network for deployment: lava-dl's netx HDF5 description.

    from lava_local.export import export_netx
    export_netx(net, "tess_nmnist.net")        # then on INRC: netx.hdf5.Network("tess_nmnist.net")

lava-dl's ``netx`` loads the file into Lava processes (``Dense`` + bit-accurate ``LIF``
per layer) that run in Lava's simulator or, with lava-loihi, on Loihi 2 (conv layers
frozen, as on chip). The mapping, per dense layer:

* weights: integers ``round(W * scale)`` with ``scale`` the largest power of two that
  keeps every weight within Loihi's 8-bit mixed-sign synapse (|w| <= 254; even values,
  since Lava drops the last bit in mixed-sign mode);
* neuron: CUBA with ``iDecay = 4096`` (``du = 4095``: the current holds only this step's
  input, the papers' one-state neuron), ``vDecay = round(4096 (1 - gamma))`` and
  ``vThMant = round(v_th * scale)``;
* the read-out: a CUBA layer that never spikes (``vThMant`` at its maximum) whose membrane
  ``v`` is the class score;
* a centred read-out (``readout_centred=True``), which integrates ``W (o - m)``: the same
  layer with the neuron bias ``bias = round(-W_int m)`` (netx's ``bias``, Loihi's 13-bit
  bias mantissa at the synaptic input's exponent), so each step adds ``W_int o + bias``,
  within half a weight unit of ``W_int (o - m)``.

Loihi's LIF resets to zero where the papers subtract the threshold: a network trained with
``LIFParams(reset="zero")`` deploys exactly (tested bit for bit against our fixed-point
kernels); one trained with the subtractive reset deploys with that one difference.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

__all__ = ["centred_readout_bias", "export_netx", "export_scale"]

_WEIGHT_LIMIT = 254
_VTH_MAX = 2**17 - 1
_BIAS_MAX = 2**12 - 1


def export_scale(net: Any) -> int:
    """The largest power of two ``s`` with ``max |W| s <= 254`` over all layers."""
    peak = max(float(np.max(np.abs(w))) for w in net.weights)
    if peak == 0:
        return 1 << 10
    return 1 << max(0, int(np.floor(np.log2(_WEIGHT_LIMIT / peak))))


def _int_weights(w: np.ndarray, scale: int) -> np.ndarray:
    return np.clip(2 * np.round(w * scale / 2), -256, _WEIGHT_LIMIT).astype(np.int64)


def centred_readout_bias(w_int: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """A centred read-out's neuron bias: ``round(-W_int m)`` in the units of ``W_int``.

    ``ValueError`` when it does not fit Loihi's 13-bit bias mantissa (the read-out's input
    mean is too large for its weights at this scale)."""
    bias = np.round(-(np.asarray(w_int, float) @ np.asarray(mean, float))).astype(np.int64)
    if np.any(np.abs(bias) > _BIAS_MAX):
        raise ValueError(f"the centred read-out's bias -W m reaches {int(np.abs(bias).max())} at this scale, beyond "
                         f"the 13-bit bias mantissa (|bias| <= {_BIAS_MAX}); export with a smaller scale")
    return bias


def export_netx(net: Any, path: os.PathLike | str, scale: Optional[int] = None) -> int:
    """Write ``net`` (dense layers and read-out) as a netx HDF5 file; returns the scale."""
    import h5py

    from .fixed_point import quantize_decay

    if any(g is not None for g in net.geometries) or any(net.recurrent):
        raise ValueError("export_netx writes dense feed-forward networks (conv export: not yet)")
    scale = export_scale(net) if scale is None else int(scale)
    vth = int(round(net.neuron.v_th * scale))
    if not 1 <= vth <= _VTH_MAX:
        raise ValueError(f"v_th={net.neuron.v_th} at scale {scale} does not fit the 17-bit threshold")
    dv = quantize_decay("gamma", net.neuron.gamma, 12)
    with h5py.File(path, "w") as f:
        layer = f.create_group("layer")
        entry = layer.create_group("0")
        entry["type"] = np.bytes_("input")
        entry["shape"] = np.array(net.in_shape[::-1])
        for i, w in enumerate(net.weights, start=1):
            readout = i == len(net.weights)
            entry = layer.create_group(str(i))
            entry["type"] = np.bytes_("dense")
            entry["shape"] = np.array([w.shape[0]])
            entry["weight"] = w_int = _int_weights(w, scale)
            if readout and net.readout_centred:
                entry["bias"] = centred_readout_bias(w_int, net.readout_mean)
            neuron = entry.create_group("neuron")
            neuron["type"] = np.bytes_("CUBA")
            neuron["iDecay"] = 4096
            neuron["vDecay"] = quantize_decay("readout_gamma", net.readout_gamma, 12) if readout else dv
            neuron["vThMant"] = _VTH_MAX if readout else vth
            neuron["refDelay"] = 1
            neuron["gradedSpike"] = False
    return scale

"""The LIF population with what local learning needs exposed."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.fixed_point import DEFAULT_SCALE, LIFConfig, LIFFixedConfig, quantize_lif
from lava_local.proc.base import LocalProcess


class LIF(LocalProcess):
    """A population of LIF neurons for S-TLLR, LLS and TESS.

    Dynamics (both models): ``u[t] = gamma (u[t-1] - v_th o[t-1]) + a_in[t]``,
    ``o[t] = u[t] > v_th``; see :mod:`lava_local.kernels.neuron`.

    Ports
    -----
    a_in : InPort
        Synaptic input of the step.
    s_out : OutPort
        Spikes o[t].
    psi_out : OutPort
        Psi(u[t]), the secondary activation of the pre-reset membrane.
    post_trace_out : OutPort
        The post trace h[t] = lambda_post h[t-1] + Psi(u[t-1]).
    learning_signal_in : InPort
        The learning signal m[t] for these neurons (from a signal generator).

    Vars
    ----
    u, o, psi, post_trace, learning_signal: the state after the last step, in float
    units under the ``floating_pt`` model and in integers (membrane units, Psi and trace
    in ``fixed.psi.frac_bits`` fractional bits) under the ``fixed_pt`` model.

    Parameters
    ----------
    shape : tuple of int
    config : LIFConfig
        Float parameters (neuron, Psi, post-trace decay). TESS defaults if omitted.
    fixed : LIFFixedConfig, optional
        Integer parameters for the ``fixed_pt`` model; by default
        ``quantize_lif(config, scale, profile)``, the documented conversion.
    scale, profile :
        Passed to :func:`~lava_local.fixed_point.quantize_lif` when ``fixed`` is omitted.
    u_init : array-like, optional
        Initial membrane in float units (converted for the fixed-point model).
    """

    def __init__(
        self,
        *,
        shape: Tuple[int, ...],
        config: LIFConfig = LIFConfig(),
        fixed: Optional[LIFFixedConfig] = None,
        scale: int = DEFAULT_SCALE,
        profile: Any = "loihi2",
        u_init: Any = None,
        name: Optional[str] = None,
        log_config: Optional[LogConfig] = None,
    ) -> None:
        shape = _validate.shape("shape", shape)
        if not isinstance(config, LIFConfig):
            raise TypeError(f"config must be a LIFConfig, got {type(config).__name__}")
        if fixed is None:
            fixed = quantize_lif(config, scale, profile)
        elif not isinstance(fixed, LIFFixedConfig):
            raise TypeError(f"fixed must be a LIFFixedConfig, got {type(fixed).__name__}")
        if u_init is None:
            u0 = np.zeros(shape)
        else:
            u0 = _validate.finite_array("u_init", np.broadcast_to(u_init, shape) if np.ndim(u_init) == 0 else u_init, shape)
        limit = fixed.neuron.fmt.state_max
        if np.any(np.abs(np.round(u0 * fixed.membrane_unit)) > limit):
            raise ValueError(f"u_init does not fit the {fixed.neuron.fmt.state_bits}-bit membrane")
        super().__init__(
            shape=shape, config=config, fixed=fixed, u_init=u0, name=name, log_config=log_config
        )
        self.proc_params["process_name"] = self.name
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.psi_out = OutPort(shape=shape)
        self.post_trace_out = OutPort(shape=shape)
        self.learning_signal_in = InPort(shape=shape)
        # Vars start at zero in both models' units; the models load u_init themselves.
        self.u = Var(shape=shape, init=0)
        self.o = Var(shape=shape, init=0)
        self.psi = Var(shape=shape, init=0)
        self.post_trace = Var(shape=shape, init=0)
        self.learning_signal = Var(shape=shape, init=0)

    @property
    def config(self) -> LIFConfig:
        return self.proc_params["config"]

    @property
    def fixed(self) -> LIFFixedConfig:
        return self.proc_params["fixed"]

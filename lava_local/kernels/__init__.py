"""The update equations, once: small pure functions over arrays (float and fixed-point).

Every execution (Lava float models, Lava fixed-point models, the batched trainer) calls
these functions; none re-implements an update rule.
"""
from .neuron import LIFFixedParams, LIFParams, LIFState, lif_init, lif_step, lif_step_fixed
from .surrogate import SURROGATES, PsiTable, Surrogate, psi, psi_fixed, psi_table
from .traces import (
    TraceParams,
    post_trace_step,
    pre_trace_step,
    trace_step,
    trace_step_fixed,
)

__all__ = [
    "LIFParams",
    "LIFFixedParams",
    "LIFState",
    "lif_init",
    "lif_step",
    "lif_step_fixed",
    "Surrogate",
    "SURROGATES",
    "PsiTable",
    "psi",
    "psi_fixed",
    "psi_table",
    "TraceParams",
    "trace_step",
    "trace_step_fixed",
    "pre_trace_step",
    "post_trace_step",
]

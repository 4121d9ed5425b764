"""The LLS / TESS learning-signal generator as a process of its own.

On Loihi 2 the TESS signal ``m = s B^T (p(s B o) - y*)`` is computed next to the
layer, not inside its synapses: a fixed +-1 projection onto C error units, the error
against the label, and a fixed +-1 back-projection (DESIGN.md 3.2); ``p`` is the softmax
or one of the hardware-friendly errors (``SignalParams(error="clipped" | "pwl_softmax")``). This process is that
generator: it reads the layer's spikes and the label and sends one learning signal per
neuron, using the kernels of :mod:`lava_local.kernels.learning_signal`.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.variable import Var

from lava_local import _validate
from lava_local.kernels.basis import make_basis
from lava_local.kernels.learning_signal import FixedError, SignalParams, SoftmaxTable, fixed_error
from lava_local.proc.base import LocalProcess


class LearningSignal(LocalProcess):
    """Learning-signal generator of one layer of ``n`` neurons.

    Ports
    -----
    s_in : InPort (n,)
        The layer's spikes o.
    label_in : InPort (1,)
        The label of the step as a float; -1 (any negative value) means no label, and the
        signal is then zero.
    m_out : OutPort (n,)
        The learning signal. ``floating_pt``: ``m = learning_signal(o, one_hot(label), B,
        signal)``, with the label's projection made once per class (``label_targets``).
        ``fixed_pt``: ``m_int = learning_signal_fixed(o, label, B, fixed_error(signal, s,
        2 n, frac_bits))`` with ``frac_bits`` fractional bits and without the basis scale
        ``s`` (the float signal is ``s * m_int / 2**frac_bits``); ``B`` and its
        back-projection basis are made once (``integer_basis``).

    Timing (``latency``)
    --------------------
    ``latency=1`` (default): the model *sends before it receives*, as a hardware signal
    generator in a loop must: ``m_out`` at step t is the signal of the spikes and label
    received at step t-1 (zeros at step 1). This is what lets the generator close a loop
    with a post neuron that receives ``m`` before sending its spikes (see
    :mod:`lava_local.decomposed`). ``latency=0``: receive, compute, send in the same step
    (only for open chains; in a loop it deadlocks).

    Parameters
    ----------
    n : int
        Layer size.
    signal : SignalParams
        Number of classes, basis kind, scale, temperature, error kind.
    basis : array (n_classes, n) or str, optional
        An explicit basis, or a kind (``square``, ``cosine``, ``sine``); by default
        ``make_basis(signal.basis, signal.n_classes, n)``. The fixed-point model needs an
        integer basis (square waves, entries +-1).
    softmax : SoftmaxTable, optional
        Integer exp table of the fixed model's softmax error; by default
        ``softmax_table(s / temperature, 2 n, frac_bits)`` (as the fused layer's).
    frac_bits : int
        Fractional bits of the fixed-point error and signal (8: Loihi's factor width).
    label_delay : int
        Steps each label waits before it is used (:class:`~lava_local.proc.sample.LabelDelay`):
        the place of the layer in the pipeline, for a generator fed by the sample clock's
        source while the layer's spikes come later.
    gain_lr : float, optional
        LLS-M: the logits are multiplied by a trainable C-vector ``gain`` (Var, starting at
        ones), updated at every labelled step by ``gain -= gain_lr * dCE/dgain``
        (:func:`~lava_local.kernels.learning_signal.lls_m_gradient`). Float model only.
    """

    def __init__(
        self,
        *,
        n: int,
        signal: SignalParams = SignalParams(),
        basis: Any = None,
        latency: int = 1,
        softmax: Optional[SoftmaxTable] = None,
        frac_bits: int = 8,
        label_delay: int = 0,
        gain_lr: Optional[float] = None,
        name: Optional[str] = None,
    ) -> None:
        n = _validate.integer("n", n, 1)
        if gain_lr is not None:
            gain_lr = _validate.positive("gain_lr", gain_lr)
        if not isinstance(signal, SignalParams):
            raise TypeError(f"signal must be a SignalParams, got {type(signal).__name__}")
        if latency not in (0, 1) or isinstance(latency, bool):
            raise ValueError(f"latency must be 0 or 1, got {latency!r}")
        frac_bits = _validate.integer("frac_bits", frac_bits, 0, 16)
        if signal.n_classes is None:
            raise ValueError("the learning signal needs its class count: SignalParams(n_classes=C)")
        if basis is None:
            basis = make_basis(signal.basis, signal.n_classes, n)
        elif isinstance(basis, str):
            basis = make_basis(basis, signal.n_classes, n)  # ValueError for an unknown kind
        basis = _validate.finite_array("basis", basis)
        if basis.shape != (signal.n_classes, n):
            raise ValueError(
                f"basis has shape {basis.shape}, expected (n_classes, n) = {(signal.n_classes, n)}"
            )
        integer_basis = bool(np.all(basis == np.round(basis)))
        error = fixed_error(signal, signal.basis_scale(n), 2 * n, frac_bits)
        if softmax is not None:
            if not isinstance(softmax, SoftmaxTable):
                raise TypeError(f"softmax must be a SoftmaxTable, got {type(softmax).__name__}")
            if signal.error != "softmax":
                raise ValueError(f"a softmax table is for error='softmax', the signal's error is {signal.error!r}")
            error = FixedError("softmax", softmax.frac_bits, table=softmax)
        super().__init__(
            n=n, signal=signal, basis=basis, integer_basis=integer_basis, latency=int(latency),
            error_fixed=error, gain_lr=gain_lr, label_delay=_validate.integer("label_delay", label_delay, 0),
            name=name,
        )
        self.proc_params["process_name"] = self.name
        self.s_in = InPort(shape=(n,))
        self.label_in = InPort(shape=(1,))
        self.m_out = OutPort(shape=(n,))
        self.m = Var(shape=(n,), init=0)  # the last signal computed
        self.gain = Var(shape=(signal.n_classes,), init=1)  # LLS-M's learned logit gain

    @property
    def basis(self) -> np.ndarray:
        return self.proc_params["basis"]

    @property
    def signal(self) -> SignalParams:
        return self.proc_params["signal"]

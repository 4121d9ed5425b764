"""Learning costs counted from the code: learning-signal MACs and learning-state memory.

MACs are counted by running the actual kernels on torch tensors under
``torch.utils.flop_counter.FlopCounterMode`` (a multiply-accumulate is two FLOPs), so the
numbers describe what the library executes; :func:`paper_formulas` gives the closed forms
of S-TLLR (sec. 4.3) and TESS to check them against.

* local signal (TESS/LLS), per layer and step: projection ``B o`` and back-projection
  ``B^T e``: ``2 n C`` MACs (n = the layer size, or the pooled size for conv layers).
* BPTT, per layer and step: propagating the error to the layer's input costs as many MACs
  as the forward pass through its weights (``n_l n_{l-1}`` for dense layers; the conv's
  forward MACs for conv layers).
"""
from __future__ import annotations

from typing import Dict

import torch
from torch.utils.flop_counter import FlopCounterMode

from .kernels.conv import conv2d
from .kernels.learning_signal import learning_signal, one_hot

__all__ = ["learning_signal_macs", "bptt_signal_macs", "paper_formulas", "learning_memory_bytes",
           "peak_heap_bytes", "count_operations"]


def _macs(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() // 2


def learning_signal_macs(net, steps: int) -> int:
    """MACs per sample of the local learning signal of every hidden layer (one step each,
    counted from :func:`~lava_local.kernels.learning_signal.learning_signal`, times the
    learning steps ``steps - t_l``)."""
    from .kernels.basis import make_basis

    total = 0
    target = one_hot(torch.tensor([0]), net.n_classes, like=torch.zeros(1))
    for i, size in enumerate(net.signal_sizes):
        basis = torch.as_tensor(make_basis(net.rule.signal.basis, net.n_classes, size), dtype=torch.float32)
        spikes = torch.zeros(1, size)
        signal = net.layer_rule(i, learning=False).signal  # the count does not depend on the scale's value
        total += _macs(lambda: learning_signal(spikes, target, basis, signal))
    return total * max(steps - net.rule.t_l, 0)


def bptt_signal_macs(net, steps: int) -> int:
    """MACs per sample for BPTT to carry the error back through every layer's weights at
    every step (equal to the forward MACs through those weights, counted)."""
    total = 0
    for g, w in zip(list(net.geometries) + [None], net.weights):  # hidden layers and read-out
        weight = torch.zeros(w.shape)
        if g is None:
            x = torch.zeros(1, w.shape[1])
            total += _macs(lambda: x @ weight.T)
        else:
            x = torch.zeros(1, *g.in_shape)
            total += _macs(lambda: conv2d(x, weight, g.stride, g.padding))
    return total * steps


def paper_formulas(net, steps: int) -> Dict[str, int]:
    """Closed forms: TESS ``(T - t_l) sum 2 n_l C``; BPTT ``T sum n_l n_{l-1}`` (dense)."""
    sizes = net.signal_sizes
    layers = zip(list(net.geometries) + [None], net.weights)  # hidden layers and read-out
    dense_bptt = sum(w.shape[0] * w.shape[1] for g, w in layers if g is None)
    return {
        "tess_signal": (steps - net.rule.t_l) * sum(2 * n * net.n_classes for n in sizes),
        "bptt_signal_dense_layers": steps * dense_bptt,
    }


def learning_memory_bytes(trainer, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes a trainer holds for learning during one training step on ``(x, y)``, counted
    exactly: the storages autograd saves for the backward pass (BPTT; each once, not the
    parameters or the input batch; with weight standardisation that includes what its
    backward needs), or the layer and read-out states a local rule carries from step to step and,
    with ``window > 1``, the window's buffers of membranes. Gradient-sized buffers are left
    out on both sides (BPTT's ``.grad``, the local rules' update accumulators), and so are
    temporaries: :func:`peak_heap_bytes` measures everything.
    """
    from .trainer.local import LocalTrainer

    if isinstance(trainer, LocalTrainer):
        return _local_state_bytes(trainer, x, y)
    # each storage once (a weight is saved at every step, an input by several operations),
    # and neither the parameters nor the input batch, which exist whatever the rule
    saved = {}
    existing = {t.untyped_storage().data_ptr() for t in (*trainer.params, x)}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in existing:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    grads = [p.grad for p in trainer.params]  # measuring must not leave .grad behind for the next step
    for p in trainer.params:
        p.grad = None  # (nor add to one that is there)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            trainer.compute_grads(x, y)
    finally:
        for p, grad in zip(trainer.params, grads):
            p.grad = grad
    return sum(saved.values())


def _local_state_bytes(trainer, x: torch.Tensor, y: torch.Tensor) -> int:
    """:func:`learning_memory_bytes` of a local rule: what its states hold after running all
    of ``x``'s steps (their sizes do not depend on T; the window buffers do, up to the window)."""
    with torch.no_grad():
        states, readout = trainer._run(x, y, True)
    # the update accumulator dw is left out, as BPTT's .grad is: both need one; each
    # storage once (Psi, h and q may be views of the term stacks); with the Loihi timing the
    # delay line's factors too
    arrays = [t for s in states
              for t in (s.u, s.o, s.q, s.h, s.psi, *((s.stacks.post, s.stacks.pre) if s.stacks else ()),
                        *(f for pair in (s.delay or ()) for f in pair))]
    held = sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in arrays}.values())
    held += sum(t.numel() * t.element_size() for t in (readout.u, readout.q, readout.score))
    if trainer.window > 1:
        held += trainer.window_bytes  # the window buffers of that same run
    return held + trainer.filtered_bytes  # and its filtered eligibilities (rule.filtered)


def peak_heap_bytes(fn) -> int:
    """Peak of the C heap in use while ``fn()`` runs, above its level at the start: the CPU
    counterpart of ``torch.cuda.max_memory_allocated`` for one call (every tensor, saved or
    temporary, as the allocator sees it). Sampled after every torch operation from glibc's
    ``mallinfo2``; raises ``RuntimeError`` where that is not available (non-glibc systems).
    """
    import ctypes
    import ctypes.util

    from torch.utils._python_dispatch import TorchDispatchMode

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError) as error:
        raise RuntimeError("peak_heap_bytes needs glibc >= 2.33 (mallinfo2)") from error
    mallinfo2.restype = MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # heap blocks in use + large (mmap) blocks

    class Sampler(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.start, self.peak = in_use(), 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.peak = max(self.peak, in_use() - self.start)
            return out

    with Sampler() as sampler:
        fn()
    return sampler.peak


def count_operations(fn) -> int:
    """How many tensor operations ``fn()`` runs, views left out: on a GPU each is at least
    one kernel launch, which is what bounds a small training step there. Counted at
    torch's dispatcher, so autograd's backward operations count too (on CPU tensors they
    run on the calling thread); the profiler's markers (the optimisers' ``record_function``
    ranges) launch nothing and are left out too."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.count += not func.is_view and func.namespace != "profiler"
            return func(*args, **(kwargs or {}))

    with Counter() as counter:
        fn()
    return counter.count

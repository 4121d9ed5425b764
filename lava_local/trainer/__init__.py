"""Training at scale: the same kernels on batched torch tensors (CPU or CUDA).

:class:`LocalTrainer` runs a :class:`~lava_local.network.Network` description with its
local rule (TESS, S-TLLR, LLS) and writes each layer's update into ``.grad``, so any torch
optimizer applies it; no autograd graph is kept across time steps. :class:`BPTTTrainer`
trains the same architecture and neuron with back-propagation through time (surrogate
gradient = the same Psi), isolating the learning rule in comparisons. Trained weights go
back into the ``Network`` and from there into the Lava processes.
"""
from ..health import TrainingCollapse
from .base import flush_subnormals
from .bptt import BPTTTrainer
from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import DataParallelTrainer
from .local import LocalTrainer

__all__ = ["LocalTrainer", "BPTTTrainer", "DataParallelTrainer", "save_checkpoint", "load_checkpoint",
           "flush_subnormals", "TrainingCollapse"]

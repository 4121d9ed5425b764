"""A test-only 3-factor post neuron: replays given y2/y3 factors to a LearningDense.

``LearningDense`` with a ``Loihi3FLearningRule`` waits for ``s_out_bap`` and
``s_out_y1/y2/y3`` of its post-synaptic neuron every step (DESIGN.md 3.3-3.4). This
process sends, at step ``t`` (1-based), ``bap = 0``, ``y1 = 0``, ``y2 = y2_seq[:, t-1]``
and ``y3 = y3_seq[:, t-1]`` (cycling when ``t`` exceeds the sequence length), so a test
can drive the learning engine with arbitrary post factors and compare the synapse alone
against a reference. It receives (and ignores) the dendritic input ``a_in``.
"""
import numpy as np

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess


class ThirdFactorPost(LearningNeuronProcess, AbstractProcess):
    def __init__(self, *, y2_seq, y3_seq, learning_rule: Loihi3FLearningRule, name=None) -> None:
        y2_seq = np.array(y2_seq, copy=True)
        y3_seq = np.array(y3_seq, copy=True)
        # Validate here: an exception inside a ProcessModel hangs Lava instead of raising.
        if y2_seq.ndim != 2 or y2_seq.shape != y3_seq.shape or y2_seq.shape[1] < 1:
            raise ValueError(
                f"y2_seq and y3_seq must be equal (n_post, T) arrays, got {y2_seq.shape} "
                f"and {y3_seq.shape}"
            )
        if not (np.all(np.isfinite(y2_seq)) and np.all(np.isfinite(y3_seq))):
            raise ValueError("y2_seq and y3_seq must be finite")
        if not isinstance(learning_rule, Loihi3FLearningRule):
            raise TypeError("learning_rule must be a Loihi3FLearningRule")
        n_post = y2_seq.shape[0]
        super().__init__(shape=(n_post,), learning_rule=learning_rule,
                         y2_seq=y2_seq, y3_seq=y3_seq, name=name)
        self.a_in = InPort(shape=(n_post,))

"""Common base of lava_local's processes."""
from typing import Any, Callable, Dict, Iterable, Tuple

from lava.magma.core.process.process import AbstractProcess


class LocalProcess(AbstractProcess):
    """An ``AbstractProcess`` whose constructor may reject arguments before Lava set-up.

    Our constructors validate everything before calling ``AbstractProcess.__init__`` so
    bad input raises in the caller; Lava's ``__del__`` would then trip over the missing
    runtime attribute, which this guards against.
    """

    def __del__(self) -> None:
        if "_runtime" in self.__dict__:
            super().__del__()


def check_learning_layer(rule, neuron, surrogate, basis, size: int, layer: str, steps: int):
    """Validate a learning layer's rule, neuron and basis; returns the rule on this neuron
    and on samples of ``steps`` time steps (:meth:`~lava_local.rules.LearningRule.for_neuron`,
    :meth:`~lava_local.rules.LearningRule.for_steps`: a rule without its own ``lr`` takes a
    step per sample spread over them) and the basis array.

    ``size`` is the number of values the basis projects (the layer size, or the pooled
    size of a conv layer). Raises before any Lava process exists.
    """
    from lava_local import _validate
    from lava_local.kernels.basis import make_basis
    from lava_local.kernels.neuron import LIFParams
    from lava_local.kernels.surrogate import Surrogate
    from lava_local.rules import LearningRule

    if not isinstance(rule, LearningRule):
        raise TypeError(f"rule must be a LearningRule (TESS, STLLR, LLS), got {type(rule).__name__}")
    if rule.feedback != "local":
        raise ValueError(f"the Lava {layer} learns from its local signal; S-TLLR's 'bp' and 'DFA' "
                         "feedback run in the trainer (lava_local.trainer.LocalTrainer)")
    rule = rule.for_last_layer(False)  # "auto" (Network resolves it per layer): unfiltered on its own
    if rule.filtered and layer != "DenseLayer":
        raise ValueError(f"filtered=True keeps one eligibility per synapse: the Lava DenseLayer and the trainer's "
                         f"dense and recurrent layers have it, the {layer} does not")
    if rule.timing != "paper" and layer != "DenseLayer":
        raise ValueError(f"timing={rule.timing!r} is the dense layers' Loihi mapping; the {layer} learns with "
                         "timing='paper'")
    if not isinstance(neuron, LIFParams) or not isinstance(surrogate, Surrogate):
        raise TypeError("neuron must be LIFParams and surrogate a Surrogate")
    n_classes = rule.signal.n_classes
    if n_classes is None:
        raise ValueError(f"the {layer}'s rule has no class count: give it with rule.for_classes(n_classes) "
                         "(lava_local.network.Network does this for its layers)")
    if basis is None:
        basis = make_basis(rule.signal.basis, n_classes, size)
    basis = _validate.finite_array("basis", basis)
    if basis.shape != (n_classes, size):
        raise ValueError(f"basis has shape {basis.shape}, expected (n_classes, {size}) = {(n_classes, size)}")
    return rule.for_neuron(neuron).for_steps(steps), basis


def fixed_point_form(quantize: Callable[[], Tuple[Any, Any]]) -> Dict[str, Any]:
    """A process's fixed-point form, as its ``proc_params``: ``fixed`` (the integer
    parameters), ``weights_fixed`` and ``unfit``, empty, or why ``quantize()`` found no form
    in the hardware profile (weights beyond its range, non-integer alphas, ...). A float run
    needs none; a fixed-point run raises ``unfit`` (:func:`check_fixed_point`, and the fixed
    models themselves)."""
    try:
        fixed, quantized = quantize()
    except ValueError as error:
        return dict(fixed=None, weights_fixed=None, unfit=str(error))
    return dict(fixed=fixed, weights_fixed=quantized.weights, unfit="")


def check_fixed_point(processes: Iterable[Any]) -> None:
    """Raise ``ValueError`` naming the first process without a fixed-point form."""
    for proc in processes:
        why = proc.proc_params.get("unfit", "")
        if why:
            raise ValueError(f"{proc.name} has no fixed-point form: {why}")


class LearningLayerProcess(LocalProcess):
    """Base of the plastic layers and the read-out: what their fixed-point weights mean in
    float units."""

    def weights_float(self, values):
        """Float weights from what the fixed model stores (mantissas)."""
        return values * 2.0 ** self.proc_params["fixed"].weight_exp / self.proc_params["scale"]

"""Tutorial 7: one network, two mappings - the fused layer models and the Loihi 2 primitives.

Run:  .venv/bin/python tutorials/07_two_mappings.py

A TESS network (2312 -> 32 -> read-out) is written once and trained online in Lava twice on
the same real N-MNIST recordings:

* ``mapping="fused"``: each ``DenseLayer`` runs as one leaf ProcessModel (synapses, neurons,
  traces and the local signal in one place; the simulation default);
* ``mapping="loihi"``: each ``DenseLayer`` runs its sub-process model, built from Loihi 2
  primitives: Lava's ``LearningDense`` with a ``Loihi3FLearningRule`` (synapse memory and
  the learning engine), ``TessPost`` (the neurons and the third factors) and
  ``LearningSignal`` (the local signal's error units).

The rule uses the chip's timing (``timing="loihi"``: the post factors meet the pre trace two
steps later, as the learning engine pairs them) and updates every step (``apply="step"``),
so both mappings compute the same thing: the tutorial checks that they learn the same
weights and predict alike, then prints the fit report (where each layer would learn on
Loihi 2). Each recording is followed by silent steps: the learning engine cannot reset
its pre trace between samples, and the silence lets it decay (README, "One network, two
mappings"). Then it trains both mappings again in Loihi 2's integers (``numeric="fixed"``):
there a fused layer with the Loihi timing learns as the chip's learning engine does
(``lava_local.kernels.learning_engine``, stochastic rounding included), and the two mappings
learn the same integer weights bit for bit.
"""
import numpy as np

from lava_local.data import NMNISTSubset
from lava_local.hw_profile import check_fit
from lava_local.network import Network
from lava_local.rules import TESS

STEPS, SILENT = 10, 24  # 10 steps of events, then 24 silent ones (0.5**24 of the trace is left)


def padded(split: str, n: int):
    frames, labels = NMNISTSubset(split).dense(STEPS, range(n))
    silence = np.zeros((n, SILENT, frames.shape[2]), frames.dtype)
    return np.concatenate([frames, silence], axis=1), labels


def main() -> None:
    train, test = padded("train", 16), padded("test", 6)  # a check of equality, not of accuracy
    rule = TESS(lr=0.05, timing="loihi", apply="step")
    print(f"1. {len(train[1])} training and {len(test[1])} test recordings, {STEPS} + {SILENT} steps each; "
          f"rule {rule.name} with timing={rule.timing!r}, apply={rule.apply!r}")

    results = {}
    for mapping in ("fused", "loihi"):
        net = Network(2312, hidden=(32,), rule=rule, seed=0)
        history = net.fit(train, test, mapping=mapping, progress=False)
        results[mapping] = (net, history)
        print(f"2. mapping={mapping!r}: test accuracy {history.test_accuracy[-1]:.3f}, "
              f"{history.epoch_seconds[-1]:.1f} s")

    (fused, h_fused), (loihi, h_loihi) = results["fused"], results["loihi"]
    start = Network(2312, hidden=(32,), rule=rule, seed=0).weights
    for i, (a, b, w0) in enumerate(zip(fused.weights, loihi.weights, start)):
        print(f"3. layer {i}: learned {np.abs(a - w0).max():.3g} (largest change), "
              f"the two mappings differ by {np.abs(a - b).max():.2g}")
        assert np.abs(a - w0).max() > 1e-3, "every layer learns"
        assert np.allclose(a, b, rtol=0, atol=1e-6), "both mappings learn the same weights"
    same = np.array_equal(h_fused.test_predictions[-1], h_loihi.test_predictions[-1])
    print(f"4. the same test predictions in both mappings: {same}")
    assert same

    fixed = {}
    for mapping in ("fused", "loihi"):
        net = Network(2312, hidden=(32,), rule=rule, seed=0)
        history = net.fit(train, test, mapping=mapping, numeric="fixed", progress=False)
        fixed[mapping] = (net, history)
    (fused_fx, h_fused_fx), (loihi_fx, h_loihi_fx) = fixed["fused"], fixed["loihi"]
    for i, (a, b) in enumerate(zip(fused_fx.weights, loihi_fx.weights)):
        print(f"5. fixed point, layer {i}: the two mappings differ in {int(np.count_nonzero(a != b))} "
              f"of {a.size} weights")
        assert np.array_equal(a, b), "both mappings learn the same integer weights"
    assert np.array_equal(h_fused_fx.test_predictions[-1], h_loihi_fx.test_predictions[-1])
    print(f"   test accuracy in fixed point: {h_fused_fx.test_accuracy[-1]:.3f} in both mappings")

    print("6. where each layer would learn on Loihi 2 (check_fit):")
    print(check_fit(fused).to_markdown())


if __name__ == "__main__":
    main()

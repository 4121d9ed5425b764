"""Tutorial 5: TESS on N-MNIST in the Lava simulator, float and Loihi fixed-point.

Run:  .venv/bin/python tutorials/05_tess_nmnist.py

TESS = S-TLLR's traces + a local square-wave signal per layer: local in time and space.
``Network`` wires source -> TESS layers -> read-out in Lava and trains online. The same
network then runs with the fixed-point models (weights as 8-bit mantissas with a shared
exponent, 24-bit membranes, 7-bit traces, integer softmax), as Loihi 2 would compute it.
The full-length run is ``benchmarks/nmnist_lava.py``.
"""
import lava_local  # noqa: F401
from lava_local.data import NMNISTSubset
from lava_local.kernels.learning_signal import SignalParams
from lava_local.kernels.plasticity import EligibilityParams
from lava_local.network import Network
from lava_local.rules import TESS


def main() -> None:
    train = NMNISTSubset("train").dense(10, range(150))
    test = NMNISTSubset("test").dense(10, range(40))
    for numeric in ("float", "fixed"):
        # online (batch 1) settings: unscaled +-1 basis, no non-causal term, unfiltered (the
        # demo's online preset, lava_local.demo)
        rule = TESS(lr=1e-3, eligibility=EligibilityParams(0.5, 0.2, 1.0, 0.0), signal=SignalParams(basis="square"),
                    filtered=False)
        net = Network(2312, hidden=(64,), rule=rule, seed=0)
        history = net.fit(train, test, epochs=1, numeric=numeric, progress=False)
        print(f"{numeric:5s}: test accuracy {history.test_accuracy[-1]:.2f} on 40 samples after one pass over "
              f"150, {history.epoch_seconds[-1]:.1f} s")
    print("hidden weights after training (float units):", net.weights[0].shape)
    print("see benchmarks/nmnist_lava.py for the full 1,000/100 run")


if __name__ == "__main__":
    main()

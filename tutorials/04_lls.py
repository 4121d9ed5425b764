"""Tutorial 4: LLS, spatial locality from fixed periodic bases.

Run:  .venv/bin/python tutorials/04_lls.py

Each layer projects its own activity on a fixed C x d basis B (one frequency per class),
compares softmax(B o) with the label and back-projects the error: no trainable feedback,
no error from other layers. Here: the three bases and their orthogonality, the signal
for one spike vector, and LLS training in Lava.
"""
import numpy as np

import lava_local  # noqa: F401
from lava_local.data import NMNISTSubset
from lava_local.kernels.basis import make_basis
from lava_local.kernels.learning_signal import SignalParams, learning_signal, one_hot
from lava_local.network import Network
from lava_local.rules import LLS


def main() -> None:
    for kind in ("sine", "square"):  # sine: LLS's default; square: TESS's
        b = make_basis(kind, 10, 256)
        unit = b / np.linalg.norm(b, axis=1, keepdims=True)
        print(f"1. {kind:6s} basis 10 x 256: max |cos| between class rows "
              f"{np.abs(unit @ unit.T - np.eye(10)).max():.3f}")
    try:  # the DCT-like cosine aliases on 512 neurons or fewer: class 9's frequency 512 = 2 x 256
        make_basis("cosine", 10, 256)
    except ValueError as error:
        print(f"   cosine basis 10 x 256 refused: {str(error).split(':')[0]}")

    signal = LLS().signal
    basis = make_basis(signal.basis, 10, 64)
    o = (np.random.default_rng(0).random(64) < 0.2).astype(float)
    m = learning_signal(o, one_hot(3, 10), basis, signal)
    print(f"2. learning signal for one spike vector: {m.shape[0]} values, |m| mean {np.abs(m).mean():.3f}")

    train = NMNISTSubset("train").dense(10, range(80))
    test = NMNISTSubset("test").dense(10, range(20))
    net = Network(2312, hidden=(64,), rule=LLS(lr=1e-3), seed=1)
    history = net.fit(train, test, epochs=1, progress=False)
    print(f"3. LLS (sine basis) in Lava: test accuracy {history.test_accuracy[-1]:.2f} after one pass over 80 samples")
    print("4. in fixed point the basis must be integer: LLS(signal=SignalParams(basis='square'))")


if __name__ == "__main__":
    main()

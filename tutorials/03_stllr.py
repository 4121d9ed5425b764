"""Tutorial 3: S-TLLR, temporal locality with two traces.

Run:  .venv/bin/python tutorials/03_stllr.py

S-TLLR replaces back-propagation through time with an eligibility built from a pre trace q
and a post trace h (memory O(n), whatever T is):

    e_ij[t] = alpha_pre Psi(u_i[t]) q_j[t] + alpha_post h_i[t] o_pre_j[t]

alpha_post < 0 favours causal (pre-before-post) pairs, > 0 synchrony. Here: the presets,
one update written out against the kernel, and a short Lava run per alpha_post setting.
"""
import numpy as np

import lava_local  # noqa: F401
from lava_local.data import NMNISTSubset
from lava_local.kernels.plasticity import dense_update
from lava_local.network import Network
from lava_local.rules import STLLR


def main() -> None:
    for name in ("dvs_gesture", "cifar10_dvs", "shd"):
        e = getattr(STLLR, name)().eligibility
        print(f"1. preset {name:12s}: lambda_post {e.lambda_post}, lambda_pre {e.lambda_pre}, "
              f"alpha_post {e.alpha_post:+}, alpha_pre {e.alpha_pre}")

    rng = np.random.default_rng(0)
    rule = STLLR.dvs_gesture()
    m, psi_u, h = rng.normal(size=(3, 3))
    q, pre = rng.random(4), np.array([1.0, 0.0, 1.0, 0.0])
    by_hand = np.outer(m * psi_u, q) * rule.eligibility.alpha_pre + np.outer(m * h, pre) * rule.eligibility.alpha_post
    print("2. kernel equals the equation:", np.allclose(dense_update(m, psi_u, h, q, pre, rule.eligibility), by_hand))

    train = NMNISTSubset("train").dense(10, range(80))
    test = NMNISTSubset("test").dense(10, range(20))
    for alpha_post in (-1.0, 0.0, 1.0):
        rule = STLLR.cifar10_dvs(lr=1e-3)
        rule = rule.with_(eligibility=type(rule.eligibility)(0.5, 0.2, 1.0, alpha_post))
        net = Network(2312, hidden=(64,), rule=rule, seed=1)
        history = net.fit(train, test, epochs=1, progress=False)
        print(f"3. alpha_post {alpha_post:+}: test accuracy after one pass over 80 samples "
              f"{history.test_accuracy[-1]:.2f}")


if __name__ == "__main__":
    main()

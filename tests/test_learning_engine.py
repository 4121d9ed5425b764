"""The learning engine's kernels (lava_local.kernels.learning_engine) compute what Lava's
own fixed-point ``LearningDense`` (``LearningConnectionModelBitApproximate``) computes with
a ``Loihi3FLearningRule``: weights and pre trace x1 bit for bit, step after step, with
Lava's random numbers, for the TESS rule (pre trace) and the LLS rule (x0 only), with
weights driven into the engine's saturation."""
import numpy as np
import pytest

import lava_local
from lava_local.kernels.learning_engine import (
    EngineRandoms,
    engine_apply,
    engine_params,
    engine_pre_trace,
    engine_weight_step,
)

pytestmark = pytest.mark.timeout(120)

STEPS, N_PRE, N_POST, SEED = 60, 6, 4, 11


def _lava_learning_dense(rule_params, weights, pre, y2, y3, seed, chunks):
    """Run Lava's fixed-point LearningDense fed by RingBuffers; (weights, x1) after each chunk."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer

    p = rule_params
    rule = Loihi3FLearningRule(dw=p.rule, x1_impulse=p.x1_impulse, x1_tau=p.x1_tau, t_epoch=1, rng_seed=seed)
    dense = LearningDense(weights=weights.astype(float), learning_rule=rule, num_weight_bits=p.weight_bits + 1)
    zeros = np.zeros((N_POST, len(pre)))
    for data, port in ((pre.T, dense.s_in), (zeros, dense.s_in_bap), (zeros, dense.s_in_y1),
                       (y2.T, dense.s_in_y2), (y3.T, dense.s_in_y3)):
        RingBuffer(data=data).s_out.connect(port)
    out = []
    try:
        for _ in range(len(pre) // chunks):
            dense.run(condition=RunSteps(num_steps=chunks), run_cfg=lava_local.run_config("fixed"))
            out.append((np.asarray(dense.weights.get()), np.asarray(dense.x1.get())))
    finally:
        dense.stop()
    return out


@pytest.mark.parametrize("lambda_pre, impulse", [(0.8, 20), (0.5, 100), (0.0, 20)], ids=["tess", "tess-saturating-x1", "lls"])
def test_engine_kernels_equal_lavas_fixed_point_learning_dense(lambda_pre, impulse):
    rng = np.random.default_rng(1)
    params = engine_params(lambda_pre, impulse)
    weights = rng.integers(-250, 251, (N_POST, N_PRE))
    pre = (rng.random((STEPS, N_PRE)) < 0.4).astype(int)
    y2 = rng.integers(-127, 128, (STEPS, N_POST))
    y3 = rng.integers(-127, 128, (STEPS, N_POST))
    y3[:, 0] = -127  # one neuron pushes its weights into the upper bound, step after step
    chunk = 10
    lava = _lava_learning_dense(params, weights, pre, y2, y3, SEED, chunk)
    randoms = EngineRandoms(SEED)
    w, x1 = weights.copy(), np.zeros(N_PRE, np.int64)
    saturated = False
    for t in range(STEPS):
        w, x1 = engine_weight_step(w, x1, pre[t], y2[t], y3[t], params, randoms.step())
        saturated |= bool(np.any(w == 2**params.weight_bits - 1))
        if (t + 1) % chunk == 0:
            want_w, want_x1 = lava[t // chunk]
            np.testing.assert_array_equal(w, want_w)
            np.testing.assert_array_equal(x1, want_x1)
    assert saturated, "the test must reach the engine's weight range"
    assert np.abs(w - weights).max() > 50, "the weights must learn"
    if lambda_pre > 0:
        assert x1.max() > 0 and len(np.unique(x1)) > 2, "x1 must be a live trace"


def test_pre_trace_decays_stochastically_around_lambda():
    """x1 from 100 with no spikes: each step floor(lambda x1) or one more, with the mean of
    many seeds at lambda**t * 100 (the rounding is unbiased)."""
    params = engine_params(0.9, 10)
    finals = []
    for seed in range(200):
        randoms, x1 = EngineRandoms(seed), np.array([100])
        for _ in range(5):
            before = x1.copy()
            x1 = engine_pre_trace(x1, np.array([0]), params, randoms.step().x_decay)
            assert np.floor(0.9 * before[0]) <= x1[0] <= np.floor(0.9 * before[0]) + 1
        finals.append(x1[0])
    assert abs(np.mean(finals) - 100 * 0.9**5) < 1.0


def test_engine_apply_saturates_at_the_engine_range():
    params = engine_params(0.8, 10)
    out = engine_apply(np.array([250, -250, 3]), np.array([100, -100, -5]), params)
    np.testing.assert_array_equal(out, [255, -256, -2])


def test_engine_params_reject_a_trace_without_decay():
    with pytest.raises(ValueError, match="lambda_pre"):
        engine_params(1.0, 10)

"""The dense S-TLLR/TESS update as Lava's own ``LearningDense`` + ``Loihi3FLearningRule``.

Our kernel (:mod:`lava_local.kernels.plasticity`)::

    dW[t] = a[t] (x) q[t] + b[t] (x) o_pre[t],   a = m alpha_pre Psi(u),  b = m alpha_post h
    q[t]  = lambda_pre q[t-1] + o_pre[t],         W <- W - lr * dW

Lava set-up (``_run_lava``)::

    RingBuffer(S) --s--> LearningDense(W0, Loihi3FLearningRule) --a--> ThirdFactorPost
                                     ^---- bap = 0, y1 = 0, y2, y3 -----------/

``ThirdFactorPost`` (tests/helpers/third_factor) replays pre-generated per-neuron graded
factors: y2 = a (the causal factor), y3 = b (the non-causal factor), so the comparison
isolates the synapse. The rule uses x0 = pre spike, x1 = Lava's pre trace, and the ``u0``
dependency (``decimate_exponent`` 0: active every step), t_epoch = 1.

Alignment (measured, and pinned below by also checking that a one-step shift does NOT
match): with 0-based column k of the spike raster S and of the factor arrays,

    RingBuffer sends S[:, k] at step k+1; LearningDense receives it in the same step, so
    x0 = S[:, k] and x1 = q[k] (decayed, then the impulse of S[:, k] added) in step k+1;
    the post neuron sends y2 = a[k], y3 = b[k] in step k+1 and the learning engine uses
    them in step k+1.  =>  Lava's update of step k+1 is exactly the kernel's dW[k].

There is no offset *at the synapse*; the one-step offset of DESIGN.md 3.4 arises in a full
network because the post neuron sees S[:, k] only at step k+2 (the Dense hop), so a real
neuron's a[k] arrives one step after x0 = S[:, k]. This test deliberately feeds a[k] in
step k+1 to compare the learning rule itself.
"""
import numpy as np
import pytest

import lava_local  # noqa: F401  (Python 3.11 fix before any Lava import)
from lava_local.kernels.plasticity import (
    EligibilityParams,
    apply_update_fixed,
    dense_update,
    dense_update_fixed,
    eligibility_factors,
)
from lava_local.kernels.traces import TraceParams, pre_trace_step, trace_step_fixed

N_PRE, N_POST, T = 6, 4, 60
SPIKE_PROB = 0.3
# x1_tau = 1/ln 2 makes Lava's decay factor exp(-1/x1_tau) exactly 0.5 (checked below).
X1_TAU = 1.0 / np.log(2.0)
LAMBDA_PRE = 0.5
# Loihi3FLearningRule fixes y1/y2/y3 tau to 65535 (uint16 max), and both Lava models decay
# the received y values once before use: y_used = exp(-1/65535) * y (float model).
Y_DECAY = np.exp(-1.0 / np.iinfo(np.uint16).max)

# floating_pt: dw = -lr (u0 x1 y2 + x0 y3), lr = 2^-3, x1_impulse = 1 (x1 = q exactly).
FLOAT_LR = 2.0 ** -3
FLOAT_RULE = "-2^-3 * u0 * x1 * y2 - 2^-3 * x0 * y3"

# fixed_pt (Lava's LearningRuleApplierBitApprox): x1 counts X1_IMPULSE = 16 per spike
# (q_int ~ 16 q <= 32 < 127: no trace saturation). Weights live in an accumulator with
# 2^7 units per weight step (W << 7). Product u0*x1*y2: factor widths 7 + 7 + 4 (mantissa)
# = 18 > 15, so it is right-shifted by FIXED_SHIFT = 3 (a floor); the constant -1 parses
# as mantissa -1, s_exp 7, i.e. a left shift by 7: it adds floor(-x1 y2 / 8) whole weight
# steps. Product x0*y3: width 7 + 4 = 11, no shift; the constant -2 (mantissa -1, s_exp 8)
# adds -2 y3 x0 weight steps. Both are whole weight steps, so Lava's stochastic weight
# rounding never fires, and per step
#     dW_lava = floor(-(x1 y2 + X1_IMPULSE * x0 y3) / 8) = -ceil(acc / 2^3),
#     acc = dense_update_fixed(m=1, psi_u=y2, h=y3, q=x1, pre=x0, 1, 1, X1_IMPULSE),
# i.e. our integer accumulator with pre_impulse = X1_IMPULSE and shift 3 (2 = 16 / 2^3).
X1_IMPULSE = 16
FIXED_SHIFT = 3
FIXED_RULE = "-u0 * x1 * y2 - 2 * x0 * y3"
RNG_SEED = 7  # Lava's trace RNG (stochastic rounding of the x1 and y decays)


def _rule(dw: str, x1_impulse: float):
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

    return Loihi3FLearningRule(dw=dw, x1_impulse=x1_impulse, x1_tau=X1_TAU, t_epoch=1,
                               rng_seed=RNG_SEED)


def _run_lava(spikes, w0, y2, y3, rule_str, x1_impulse, numeric):
    """Run T steps; return (final weights, Lava's x1 after each step, shape (T, N_PRE))."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    from helpers.third_factor import ThirdFactorPost

    rule = _rule(rule_str, x1_impulse)
    source = RingBuffer(data=spikes.T.astype(float))  # (N_PRE, T): column k sent at step k+1
    dense = LearningDense(weights=w0.copy(), learning_rule=rule, name="plastic")
    post = ThirdFactorPost(y2_seq=y2.T, y3_seq=y3.T, learning_rule=rule)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(post.a_in)
    post.s_out_bap.connect(dense.s_in_bap)
    post.s_out_y1.connect(dense.s_in_y1)
    post.s_out_y2.connect(dense.s_in_y2)
    post.s_out_y3.connect(dense.s_in_y3)
    monitor = Monitor()
    monitor.probe(dense.x1, T)
    tag = "floating_pt" if numeric == "float" else "fixed_pt"
    ok = False
    try:
        dense.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag=tag))
        x1 = np.asarray(monitor.get_data()[dense.name]["x1"], dtype=float)
        w = np.asarray(dense.weights.get())
        ok = True
    finally:
        try:
            dense.stop()
        except Exception:
            if ok:  # otherwise keep the original error, not the one from stopping
                raise
    return w, x1


def _inputs(rng):
    spikes = (rng.random((T, N_PRE)) < SPIKE_PROB).astype(float)
    spikes[0, 0] = 1.0  # at least one early spike
    return spikes


def _float_reference(spikes, a, b, w0, shift=0):
    """Kernel: W0 - lr * Y_DECAY * sum_k dW[k]; ``shift`` pairs a[k - shift] with q[k]."""
    tp = TraceParams(lambda_pre=LAMBDA_PRE)
    ep = EligibilityParams(lambda_pre=LAMBDA_PRE, alpha_pre=1.0, alpha_post=1.0)
    q = np.zeros(N_PRE)
    qs = []
    for k in range(T):
        q = pre_trace_step(q, spikes[k], tp)
        qs.append(q)
    qs = np.array(qs)
    a_s = np.roll(a, shift, axis=0)
    b_s = np.roll(b, shift, axis=0)
    if shift:
        a_s[:shift] = 0.0
        b_s[:shift] = 0.0
    # a, b already are m * alpha * (Psi | h); pass them as psi_u / h with m = 1, alpha = 1.
    dw = dense_update(np.ones_like(a_s), a_s, b_s, qs, spikes, ep)
    return w0 - FLOAT_LR * Y_DECAY * dw, qs


@pytest.mark.timeout(120)
def test_learning_dense_float_matches_dense_update(rng):
    """floating_pt: LearningDense's final weights == W0 - lr * sum_k dense_update(k) (1e-9).

    Factors a = m alpha_pre Psi(u), b = m alpha_post h come from our kernel's
    ``eligibility_factors`` on random m, Psi, h; the reference carries Lava's y-decay
    factor exp(-1/65535) (see ``Y_DECAY``). Lava's monitored x1 must equal our trace q.
    """
    spikes = _inputs(rng)
    m = rng.normal(size=(T, N_POST))
    psi = rng.random((T, N_POST))
    h = rng.random((T, N_POST)) * 2.0
    a, b = eligibility_factors(m, psi, h, EligibilityParams(alpha_pre=1.0, alpha_post=-1.0))
    w0 = rng.normal(size=(N_POST, N_PRE))

    assert np.exp(-1.0 / X1_TAU) == LAMBDA_PRE
    w_lava, x1 = _run_lava(spikes, w0, a, b, FLOAT_RULE, 1.0, "float")
    w_ref, qs = _float_reference(spikes, a, b, w0)

    np.testing.assert_allclose(x1, qs, rtol=1e-12, atol=1e-12)
    assert np.abs(w_lava - w0).max() > 0.1  # learning happened
    np.testing.assert_allclose(w_lava, w_ref, rtol=1e-9, atol=1e-9 * np.abs(w_ref).max())
    # The alignment is pinned: pairing a[k-1] (or a[k+1]) with q[k] does not match.
    for shift in (1, -1):
        w_bad, _ = _float_reference(spikes, a, b, w0, shift=shift)
        assert np.abs(w_bad - w_lava).max() > 1e-3


@pytest.mark.timeout(120)
def test_learning_dense_fixed_matches_integer_accumulator(rng):
    """fixed_pt (Lava's bit-approximate model): exact per-step integer match, plus bounds.

    Inputs: W0 even integers (Lava truncates 8-bit MIXED weights to even values once),
    y2 in [-6, 6], y3 in [-3, 3] (graded 7-bit factors in shared units), binary spikes.

    (a) Trace. Lava decays x1 by 0.5 with *stochastic* rounding; our fixed kernel
        ``trace_step_fixed`` (decay 2048 of 4096, impulse 16, max 127) floors. Induction
        on e = x1_lava - x1_kernel: e in {0, 1} stays in {0, 1}. Asserted every step.
    (b) Weights, with Lava's own x1: for every step,
        W_lava(k) = W_lava(k-1) - ceil(acc[k] / 8) exactly, acc[k] = dense_update_fixed(
        1, y2[k], y3[k], x1[k], S[k], 1, 1, 16) (see FIXED_RULE). Asserted on the final W.
        Our ``apply_update_fixed(shift=3)`` per step rounds stochastically (floor or
        floor + 1 <= ceil), so 0 <= W_kernel - W_lava <= n_frac, the number of steps whose
        acc is not a multiple of 8 (per synapse). Asserted.
    (c) Weights, all from our kernels (trace_step_fixed, no Lava trace): by (a) the
        accumulators differ by y2 * e, so |W_lava - W_kernel| <= sum_k (|y2[k]| / 8 + 1)
        per synapse (|y2| e / 8 plus one step of rounding). Asserted.
    Caveat (not a bound, a fact): Lava's fixed model also decays each received y by
    exp(-1/65535) with stochastic rounding from its trace RNG; it keeps |y| unchanged unless
    the shared random number falls within |y|/65535 of the edge (<= 1e-4 per step here).
    With RNG_SEED fixed this is deterministic; for this seed it never happens, so (b) holds
    bit-exactly. A different seed can, with probability ~0.5 % over 60 steps, change one y
    by one unit toward zero.
    """
    spikes = _inputs(rng)
    y2 = rng.integers(-6, 7, size=(T, N_POST))
    y3 = rng.integers(-3, 4, size=(T, N_POST))
    w0 = 2 * rng.integers(-10, 11, size=(N_POST, N_PRE))

    w_lava, x1 = _run_lava(spikes, w0, y2, y3, FIXED_RULE, X1_IMPULSE, "fixed")
    x1 = x1.astype(np.int64)
    w_lava = w_lava.astype(np.int64)

    # (a) trace
    xk = np.zeros(N_PRE, np.int64)
    xks = []
    for k in range(T):
        xk = trace_step_fixed(xk, X1_IMPULSE * spikes[k].astype(np.int64), decay=2048,
                              decay_bits=12, trace_max=127)
        xks.append(xk)
    xks = np.array(xks)
    e = x1 - xks
    assert e.min() >= 0 and e.max() <= 1, e

    # (b) weights from Lava's own trace
    w_exact = w0.astype(np.int64)
    w_kernel = w0.astype(np.int64)
    w_own = w0.astype(np.int64)
    n_frac = np.zeros((N_POST, N_PRE), np.int64)
    bound_c = np.zeros((N_POST, N_PRE))
    kernel_rng = np.random.default_rng(0)
    big = 1 << 20  # no clipping in the kernel path; saturation is checked separately
    max_abs = 0
    pre = spikes.astype(np.int64)
    for k in range(T):
        acc = dense_update_fixed(np.ones(N_POST, np.int64), y2[k], y3[k], x1[k], pre[k],
                                 1, 1, X1_IMPULSE)
        w_exact = w_exact - (-((-acc) >> FIXED_SHIFT))  # ceil(acc / 8)
        w_kernel = apply_update_fixed(w_kernel, acc, FIXED_SHIFT, big, kernel_rng)
        n_frac += (acc % (1 << FIXED_SHIFT)) != 0
        acc_own = dense_update_fixed(np.ones(N_POST, np.int64), y2[k], y3[k], xks[k], pre[k],
                                     1, 1, X1_IMPULSE)
        w_own = apply_update_fixed(w_own, acc_own, FIXED_SHIFT, big, kernel_rng)
        bound_c += np.abs(y2[k])[:, None] / 8.0 + 1.0
        max_abs = max(max_abs, np.abs(w_exact).max())
    assert max_abs <= 250, "weights came near Lava's 8-bit saturation; shrink the factors"
    assert np.abs(w_lava - w0).max() >= 5  # learning happened
    np.testing.assert_array_equal(w_lava, w_exact)
    diff = w_kernel - w_lava
    assert diff.min() >= 0 and np.all(diff <= n_frac), (diff, n_frac)
    # (c) fully from our kernels
    assert np.all(np.abs(w_lava - w_own) <= bound_c)
    # The alignment is pinned here too: y of step k-1 with x of step k gives other weights.
    w_shift = w0.astype(np.int64)
    for k in range(1, T):
        acc = dense_update_fixed(np.ones(N_POST, np.int64), y2[k - 1], y3[k - 1], x1[k],
                                 pre[k], 1, 1, X1_IMPULSE)
        w_shift = w_shift - (-((-acc) >> FIXED_SHIFT))
    assert np.abs(w_shift - w_lava).max() > 2

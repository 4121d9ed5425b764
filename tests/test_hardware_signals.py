"""Hardware-friendly local errors (``SignalParams(error="clipped" | "pwl_softmax")``).

Each error against an element-by-element computation written here; the integer errors
against the float ones within a stated bound; the LearningSignal process against the
kernel. The batched trainer equals the NumPy reference of the Lava network with each new
error (tests/test_trainer.py), and the Lava network, float and fixed point, that reference
(tests/test_network_lava.py).
"""
import numpy as np
import pytest
import torch

from lava_local.kernels.basis import make_basis
from lava_local.kernels.learning_signal import (
    SignalParams,
    fixed_error,
    learning_signal,
    learning_signal_fixed,
    local_error,
    local_error_fixed,
    one_hot,
)
from lava_local.rules import TESS

pytestmark = pytest.mark.timeout(120)

NEW_ERRORS = ["clipped", "pwl_softmax"]


def _expected_error(z, label, kind, temperature=1.0, clip=(0.0, 1.0), width=2.0):
    """The local error of each class, one element at a time."""
    n = len(z)
    zt = [z[c] if kind == "identity" else z[c] / temperature for c in range(n)]
    e = np.zeros(n)
    if kind == "pwl_softmax":
        peak = max(zt)
        ramps = [max(zt[c] - peak + width, 0.0) for c in range(n)]
        total = sum(ramps)
    for c in range(n):
        if kind == "clipped":
            p = min(max(zt[c], clip[0]), clip[1])
        elif kind == "pwl_softmax":
            p = ramps[c] / total
        else:  # identity
            p = zt[c]
        e[c] = p - (1.0 if c == label else 0.0)
    return e


@pytest.mark.parametrize("kind", NEW_ERRORS + ["identity"])
@pytest.mark.parametrize("scale, temperature, clip, width", [
    (None, 1.0, (0.0, 1.0), 2.0), ("1/sqrt(d)", 0.5, (-0.5, 1.5), 1.0), ("1/d", 2.0, (0.0, 0.25), 0.3)])
def test_error_and_signal_equal_the_elementwise_equations(kind, scale, temperature, clip, width, rng):
    """e_c = p_c(z) - y*_c and m_j = s sum_c B_cj e_c with z_c = s sum_j B_cj o_j, written
    out element by element; NumPy one sample, NumPy batch and torch batch alike."""
    n_classes, d = 5, 24
    signal = SignalParams(n_classes=n_classes, scale=scale, temperature=temperature, error=kind, clip=clip,
                          pwl_width=width)
    basis = make_basis("square", n_classes, d)
    s = signal.basis_scale(d)
    o = (rng.random((6, d)) < 0.4).astype(float)
    labels = rng.integers(0, n_classes, 6)
    expected_m = np.zeros((6, d))
    for k in range(6):
        z = [s * sum(basis[c, j] * o[k, j] for j in range(d)) for c in range(n_classes)]
        e = _expected_error(z, labels[k], kind, temperature, clip, width)
        np.testing.assert_allclose(local_error(np.array(z), one_hot(labels[k], n_classes), signal), e,
                                   rtol=1e-12, atol=1e-14)
        expected_m[k] = [s * sum(basis[c, j] * e[c] for c in range(n_classes)) for j in range(d)]
        got = learning_signal(o[k], one_hot(labels[k], n_classes), basis, signal)
        np.testing.assert_allclose(got, expected_m[k], rtol=1e-12, atol=1e-14)
    y = one_hot(labels, n_classes)
    np.testing.assert_allclose(learning_signal(o, y, basis, signal), expected_m, rtol=1e-12, atol=1e-14)
    t = learning_signal(torch.as_tensor(o), torch.as_tensor(y), torch.as_tensor(basis), signal)
    np.testing.assert_allclose(t.numpy(), expected_m, rtol=1e-12, atol=1e-14)


def test_pwl_softmax_behaves_as_a_softmax(rng):
    """Sums to one, lies in [0, 1], one-hot once every other logit is k below the top."""
    signal = SignalParams(n_classes=4, error="pwl_softmax", pwl_width=2.0)
    z = rng.normal(0, 2, (50, 4))
    p = local_error(z, np.zeros(4), signal)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    assert p.min() >= 0 and p.max() <= 1
    np.testing.assert_array_equal(local_error(np.array([3.0, 0.9, 1.0, -4.0]), one_hot(0, 4), signal), 0.0)


def test_signal_params_validate_the_new_fields():
    with pytest.raises(ValueError, match="error must be one of"):
        SignalParams(error="hinge")
    with pytest.raises(ValueError, match="lo < hi"):
        SignalParams(error="clipped", clip=(1.0, 0.0))
    with pytest.raises(ValueError, match="pair"):
        SignalParams(clip=(0.0, 1.0, 2.0))
    with pytest.raises(ValueError, match="pwl_width"):
        SignalParams(pwl_width=0.0)
    assert SignalParams(clip=[0, 2]).clip == (0.0, 2.0)  # a list from JSON becomes the pair


@pytest.mark.parametrize("kind", NEW_ERRORS + ["identity", "softmax"])
@pytest.mark.parametrize("d, temperature", [(64, 1.0), (512, 1.0), (100, 0.5)])
def test_fixed_error_tracks_the_float_one(kind, d, temperature, rng):
    """The integer error in F = 8 fractional bits against the float one, per class:

    * softmax, pwl_softmax: within 2**-F, plus for pwl_softmax ``(C + 1) |k - k'| / k'`` where
      ``k' = width * step`` is the width the integers use (exact when k is a whole number
      of logit steps: d = 64, s = 1/8, k = 2);
    * identity, clipped: within 2**-F + 2**-8 |z| (the logit unit as an 8-bit mantissa;
      clipping cannot add to the difference).
    """
    n_classes, frac = 10, 8
    signal = SignalParams(n_classes=n_classes, scale="1/sqrt(d)", temperature=temperature, error=kind)
    basis = make_basis("square", n_classes, d)
    s = signal.basis_scale(d)
    err = fixed_error(signal, s, 2 * d, frac)
    worst = 0.0
    for _ in range(40):
        o = (rng.random(d) < rng.uniform(0.02, 0.3)).astype(int)
        label = int(rng.integers(n_classes))
        z_int = basis.astype(int) @ o
        exact = local_error(s * z_int, one_hot(label, n_classes), signal)
        got = local_error_fixed(z_int, label, err) / 2**frac
        bound = 2.0**-frac
        if kind == "pwl_softmax":
            used = err.width * s / (1.0 if kind == "identity" else temperature)
            bound += (n_classes + 1) * abs(signal.pwl_width - used) / used
        elif kind in ("identity", "clipped"):
            bound += 2.0**-8 * np.abs(s * z_int / (1.0 if kind == "identity" else temperature))
        assert np.all(np.abs(got - exact) <= bound + 1e-12), (kind, got - exact, bound)
        worst = max(worst, np.abs(got - exact).max())
        # and the signal: m = s B^T e, s m_int / 2**F
        m = learning_signal(o.astype(float), one_hot(label, n_classes), basis, signal)
        m_fixed = s * learning_signal_fixed(o, label, basis.astype(int), err) / 2**frac
        # an error that sums to zero goes back through B - 1 B[0]: B^T e less B[0] times the
        # rounding's sum(e), which leaves the columns the classes share exactly zero
        residue = got.sum() if kind in ("softmax", "pwl_softmax") else 0.0
        np.testing.assert_allclose(m_fixed, s * (basis.T @ got - basis[0] * residue), rtol=0, atol=1e-12)
        assert np.abs(m_fixed - m).max() <= s * np.sum(np.broadcast_to(bound, (n_classes,))) + 1e-12
    if kind == "pwl_softmax" and d == 64:
        assert worst <= 2.0**-frac + 1e-12  # k is 16 whole steps: only the division rounds


def test_fixed_layer_uses_the_rules_error(rng):
    """The fixed-point layer parameters carry the rule's error (not always the softmax)."""
    from lava_local.fixed_point import quantize_dense_layer
    from lava_local.kernels import LIFParams, Surrogate

    w = rng.normal(0, 0.3, (32, 20))
    for kind in NEW_ERRORS + ["identity", "softmax"]:
        rule = TESS(signal=SignalParams(n_classes=10, scale="1/sqrt(d)", error=kind), lr=1e-3)
        params, _ = quantize_dense_layer(w, LIFParams(), Surrogate(), rule, 32)
        assert params.error.kind == kind
        assert (params.error.table is not None) == (kind == "softmax")


@pytest.mark.parametrize("kind", NEW_ERRORS)
def test_learning_signal_process_fixed_equals_kernel(kind, rng):
    """The Loihi-style signal generator (fixed point, latency 0) computes local_error_fixed."""
    import lava_local
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer
    from lava_local.proc.learning_signal import LearningSignal

    n, c, t = 12, 4, 20
    spikes = (rng.random((t, n)) < 0.4).astype(float)
    labels = rng.integers(0, c, t)
    labels[::5] = -1
    signal = SignalParams(n_classes=c, scale="1/sqrt(d)", error=kind)
    proc = LearningSignal(n=n, signal=signal, latency=0)
    src, lab, sink = RingBuffer(data=spikes.T.copy()), RingBuffer(data=labels[None, :].astype(float)), \
        Sink(shape=(n,), buffer=t)
    src.s_out.connect(proc.s_in)
    lab.s_out.connect(proc.label_in)
    proc.m_out.connect(sink.a_in)
    try:
        lava_local.run(proc, t, numeric="fixed", stop=False)
        got = np.asarray(sink.data.get()).T
    finally:
        proc.stop()
    basis = make_basis("square", c, n).astype(np.int64)
    err = fixed_error(signal, signal.basis_scale(n), 2 * n)
    expected = np.array([learning_signal_fixed(o.astype(np.int64), y, basis, err) for o, y in zip(spikes, labels)])
    assert np.abs(expected).max() > 0
    np.testing.assert_array_equal(got, expected)


@pytest.mark.timeout(300)
def test_benchmark_script_writes_its_table(tmp_path):
    """benchmarks/hardware_signals.py end to end on a tiny configuration; a second run with
    another variant keeps the first run's rows."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for errors, timings, extra in (("softmax", "paper", []), ("pwl_softmax", "paper,loihi", []),
                                   ("softmax", "loihi", ["--pad", "2", "--drain"])):
        out = subprocess.run(
            [sys.executable, str(root / "benchmarks" / "hardware_signals.py"), "--datasets", "nmnist", "--seeds",
             "1", "--epochs", "1", "--train-samples", "64", "--errors", errors, "--timings", timings, *extra,
             "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=280, cwd=root)
        assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads((tmp_path / "hardware_signals.json").read_text())["rows"]
    assert set(rows) == {"nmnist/softmax", "nmnist/pwl_softmax", "nmnist/pwl_softmax, loihi timing",
                         "nmnist/softmax, loihi timing, drain, +2 silent steps"}
    assert rows["nmnist/softmax, loihi timing, drain, +2 silent steps"]["pad"] == 2
    assert rows["nmnist/softmax, loihi timing, drain, +2 silent steps"]["drain"] is True
    assert all(0 <= r["acc_mean"] <= 1 and r["epochs"] == 1 for r in rows.values())
    table = (tmp_path / "hardware_signals.md").read_text()
    assert "| pwl_softmax |" in table and "pt" in table

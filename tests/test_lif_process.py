"""The LIF process in Lava: float model == float kernel, fixed model == Lava's bit-accurate
LIF, and float vs fixed-point agreement under the documented conversion."""
import numpy as np
import pytest
from helpers.recording import run_and_record
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF as LavaLIF

from lava_local.fixed_point import LIFConfig, quantize_input, quantize_lif
from lava_local.kernels import (
    LIFParams,
    LIFState,
    Surrogate,
    TraceParams,
    lif_step,
    lif_step_fixed,
    post_trace_step,
    psi,
    psi_fixed,
    trace_step_fixed,
)
from lava_local.proc.lif import LIF

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("dv, vth, low, high", [
    (2048, 614, -1000, 1500),      # gamma 0.5 (TESS), v_th 0.6 at scale 1024
    (41, 3000, -400, 900),         # gamma ~0.99 (S-TLLR SHD), slow membrane
    (0, 50000, -32768, 32767),     # no leak, full 16-bit input range
    (4095, 7, -20, 40),            # strongest decay, tiny threshold
])
def test_fixed_model_is_bit_identical_to_lava_pylifmodelbitacc(dv, vth, low, high):
    """Our fixed model with reset='zero' against Lava's own LIF (du = 4095) for 1,200 steps.

    Reset mapping: Lava's v after a step is our pre-reset u with spiking neurons set to 0
    (Lava resets to zero at the end of the step; we apply the reset inside the next decay).
    """
    rng = np.random.default_rng(dv + vth)
    n, steps = 32, 1200
    a_in = rng.integers(low, high + 1, size=(n, steps))
    fixed = quantize_lif(LIFConfig(LIFParams(reset="zero")))
    fixed = type(fixed)(
        neuron=type(fixed.neuron)(dv=dv, vth=vth, fmt=fixed.neuron.fmt, reset="zero"),
        psi=fixed.psi, post_decay=fixed.post_decay, trace=fixed.trace, scale=fixed.scale,
    )
    ours = LIF(shape=(n,), fixed=fixed)
    lava = LavaLIF(shape=(n,), du=4095, dv=dv, vth=vth, bias_mant=0, bias_exp=0)
    source = RingBuffer(data=a_in)
    source.s_out.connect(ours.a_in)
    source.s_out.connect(lava.a_in)
    rec = run_and_record(ours, {"u": ours.u, "o": ours.o, "v": lava.v, "s": lava.s_out}, steps, "fixed")
    assert rec["o"].sum() > 50, "the comparison must include many spikes"
    np.testing.assert_array_equal(rec["o"], rec["s"])
    np.testing.assert_array_equal(np.where(rec["o"] > 0, 0, rec["u"]), rec["v"])


def _kernel_reference_float(inputs, config):
    state = LIFState(np.zeros(inputs.shape[1]), np.zeros(inputs.shape[1]))
    h = np.zeros(inputs.shape[1]); p = np.zeros(inputs.shape[1])
    out = {"u": [], "o": [], "psi": [], "h": []}
    for x in inputs:
        h = post_trace_step(h, p, config.traces)
        state = lif_step(state, x, config.neuron)
        p = psi(state.u, config.neuron.v_th, config.surrogate)
        for k, v in zip(out, (state.u, state.o, p, h)):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def _kernel_reference_fixed(a_in, fx):
    n = a_in.shape[1]
    state = LIFState(np.zeros(n, np.int64), np.zeros(n, np.int64))
    h = np.zeros(n, np.int64); p = np.zeros(n, np.int64)
    out = {"u": [], "o": [], "psi": [], "h": []}
    for x in a_in:
        h = trace_step_fixed(h, p, fx.post_decay, fx.trace.decay_bits, fx.trace.max)
        state = lif_step_fixed(state, x, fx.neuron)
        p = psi_fixed(state.u, fx.neuron.threshold, fx.psi)
        for k, v in zip(out, (state.u, state.o, p, h)):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


CONFIGS = [
    LIFConfig(),
    LIFConfig(LIFParams(gamma=0.99, v_th=0.8), Surrogate("inverse_square"), TraceParams(lambda_post=0.5)),
    LIFConfig(LIFParams(gamma=0.7, v_th=0.6), Surrogate("sigmoid"), TraceParams(lambda_post=0.2)),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_float_model_equals_float_kernel_exactly(config, rng):
    n, steps = 20, 300
    x = rng.normal(0.3, 0.4, size=(steps, n))
    lif = LIF(shape=(n,), config=config)
    RingBuffer(data=x.T).s_out.connect(lif.a_in)
    rec = run_and_record(lif, {"u": lif.u, "o": lif.o, "psi": lif.psi, "h": lif.post_trace}, steps, "float")
    ref = _kernel_reference_float(x, config)
    assert ref["o"].sum() > 100
    for key in ref:
        np.testing.assert_array_equal(rec[key], ref[key], err_msg=key)


@pytest.mark.parametrize("config", CONFIGS)
def test_fixed_model_equals_integer_kernel_with_subtractive_reset(config, rng):
    n, steps = 20, 300
    fx = quantize_lif(config)
    a_in = quantize_input(rng.normal(0.3, 0.4, size=(steps, n)), fx)
    lif = LIF(shape=(n,), config=config)
    RingBuffer(data=a_in.T).s_out.connect(lif.a_in)
    rec = run_and_record(lif, {"u": lif.u, "o": lif.o, "psi": lif.psi, "h": lif.post_trace}, steps, "fixed")
    ref = _kernel_reference_fixed(a_in, fx)
    assert ref["o"].sum() > 100 and ref["h"].max() > 0
    for key in ref:
        np.testing.assert_array_equal(rec[key], ref[key], err_msg=key)


def test_float_and_fixed_models_agree_within_the_conversion_error(rng):
    """Tolerance, from the conversion's error bounds.

    Let d = |v_th - vth / scale| be the threshold's rounding. Before the two models first
    disagree on a neuron, its fixed membrane (in float units) differs from the float one by
    at most e = (gamma d + 0.5 / scale + 1 / unit) / (1 - gamma): per step, the decayed
    reset error of a shared spike, half an input step of rounding and one truncated
    membrane unit, all decayed geometrically. A spike can therefore only differ where the
    float membrane lies within e + d of the threshold; after such an event the two trajectories
    re-converge within a few steps (gamma 0.5). We check both, and that at least 99 % of
    all (neuron, step) spike entries agree.
    """
    config = LIFConfig()
    fx = quantize_lif(config)
    n, steps = 64, 400
    x = rng.normal(0.25, 0.35, size=(steps, n))
    float_lif = LIF(shape=(n,), config=config)
    RingBuffer(data=x.T).s_out.connect(float_lif.a_in)
    rf = run_and_record(float_lif, {"u": float_lif.u, "o": float_lif.o}, steps, "float")
    fixed_lif = LIF(shape=(n,), config=config)
    RingBuffer(data=quantize_input(x, fx).T).s_out.connect(fixed_lif.a_in)
    rq = run_and_record(fixed_lif, {"u": fixed_lif.u, "o": fixed_lif.o}, steps, "fixed")

    gamma, v_th = config.neuron.gamma, config.neuron.v_th
    d = abs(v_th - fx.neuron.vth / fx.scale)
    e = (gamma * d + 0.5 / fx.scale + 1 / fx.membrane_unit) / (1 - gamma)
    margin = e + d + 1e-12
    u_fixed = rq["u"] / fx.membrane_unit
    for i in range(n):
        differ = np.nonzero(rf["o"][:, i] != rq["o"][:, i])[0]
        first = differ[0] if differ.size else steps
        assert np.all(np.abs(rf["u"][:first, i] - u_fixed[:first, i]) <= e + 1e-12)
        if differ.size:
            assert abs(rf["u"][first, i] - v_th) <= margin
    agreement = (rf["o"] == rq["o"]).mean()
    assert rf["o"].sum() > 1000
    assert agreement >= 0.99, agreement


def test_ports_deliver_spikes_psi_post_trace_and_take_the_learning_signal(rng):
    from lava.proc.io.sink import RingBuffer as Sink

    n, steps = 8, 40
    x = rng.normal(0.4, 0.4, size=(steps, n))
    m = rng.normal(size=(steps, n))
    lif = LIF(shape=(n,))
    RingBuffer(data=x.T).s_out.connect(lif.a_in)
    RingBuffer(data=m.T).s_out.connect(lif.learning_signal_in)
    sinks = {}
    for port in ("s_out", "psi_out", "post_trace_out"):
        sinks[port] = Sink(shape=(n,), buffer=steps)
        getattr(lif, port).connect(sinks[port].a_in)
    rec = run_and_record(lif, {"m": lif.learning_signal}, steps, "float")
    ref = _kernel_reference_float(x, LIFConfig())
    # read sinks in a second, separate run of the same network is not possible after stop,
    # so the sink values are checked through a fresh run below
    np.testing.assert_array_equal(rec["m"], m)
    lif2 = LIF(shape=(n,))
    RingBuffer(data=x.T).s_out.connect(lif2.a_in)
    sinks2 = {}
    for port in ("s_out", "psi_out", "post_trace_out"):
        sinks2[port] = Sink(shape=(n,), buffer=steps)
        getattr(lif2, port).connect(sinks2[port].a_in)
    import lava_local

    try:
        lava_local.run(lif2, steps, stop=False)
        got = {k: s.data.get().T for k, s in sinks2.items()}
    finally:
        lif2.stop()
    np.testing.assert_array_equal(got["s_out"], ref["o"])
    np.testing.assert_array_equal(got["psi_out"], ref["psi"])
    np.testing.assert_array_equal(got["post_trace_out"], ref["h"])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(shape=(0,)), ValueError, "shape"),
    (dict(shape="ten"), TypeError, "shape"),
    (dict(shape=(4,), config=LIFParams()), TypeError, "config"),
    (dict(shape=(4,), u_init=np.zeros(5)), ValueError, "u_init has shape"),
    (dict(shape=(4,), u_init=[0, np.nan, 0, 0]), ValueError, "u_init contains NaN"),
    (dict(shape=(4,), u_init=1e6), ValueError, "24-bit membrane"),
    (dict(shape=(4,), profile="loihi9"), ValueError, "unknown hardware profile"),
    (dict(shape=(4,), fixed="fast"), TypeError, "fixed"),
])
def test_bad_arguments_fail_before_lava_starts(kwargs, error, message):
    with pytest.raises(error, match=message):
        LIF(**kwargs)


def test_u_init_is_used_by_both_models():
    for numeric in ("float", "fixed"):
        lif = LIF(shape=(3,), u_init=[0.1, 0.2, 0.3], config=LIFConfig(LIFParams(gamma=1.0, v_th=5.0)))
        rec = run_and_record(lif, {"u": lif.u}, 2, numeric)
        unit = 1.0 if numeric == "float" else lif.fixed.membrane_unit
        np.testing.assert_allclose(rec["u"][0] / unit, [0.1, 0.2, 0.3], atol=1e-4)

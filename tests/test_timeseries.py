"""UEA/UCR ``.ts`` reader, spike encoders for analog series, the encoded ``.npz`` round trip and
the aeon-wheel loader (against a small fake wheel built here)."""
import dataclasses
import json
import math
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from lava_local.data import (
    TimeSeriesSet,
    delta_counts,
    delta_encode,
    encode_set,
    find_aeon_wheel,
    fit_scaler,
    load_encoded_npz,
    load_npz_dataset,
    load_npz_metadata,
    load_uea_ucr,
    rate_encode,
    read_ts,
    receptive_fields,
    save_encoded_npz,
    save_npz_dataset,
)
from lava_local.data import timeseries as ts_module
from lava_local.data.timeseries import downsample_series, encode_ucr_pair, sigma_delta_spikes

HEADER = """@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true 1 2
@data
"""


def write(tmp_path, text, name="toy.ts"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------- reader


def test_read_univariate_with_comments_and_declared_class_order(tmp_path):
    text = """# a comment line
#    another one

@problemName Toy
@timeStamps false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true b a
@data
1.0,2.5,-3:a

# comment inside the data section
4,5e-1,6.25:b
"""
    ts = read_ts(write(tmp_path, text))
    assert ts.name == "Toy"
    assert ts.class_names == ("b", "a")
    # labels index class_names in the declared order, not sorted order
    assert ts.labels.tolist() == [1, 0]
    assert ts.labels.dtype == np.int64
    assert len(ts) == 2 and ts.n_channels == 1
    assert ts.series[0].dtype == np.float64 and ts.series[0].shape == (3, 1)
    np.testing.assert_array_equal(ts.series[0][:, 0], [1.0, 2.5, -3.0])
    np.testing.assert_array_equal(ts.series[1][:, 0], [4.0, 0.5, 6.25])
    assert ts.lengths.tolist() == [3, 3] and ts.max_length == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        ts.name = "other"


def test_read_multivariate_string_labels_case_insensitive_header(tmp_path):
    text = """% aeon's UnitTest files use '%' comments
@problemName Moves
@TIMESTAMPS False
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true Standing Running
@data
1,2,3,4:10,20,30,40:Running
0.5,0.5,0.5,0.5:-1,-2,-3,-4:Standing
"""
    ts = read_ts(write(tmp_path, text))
    assert ts.n_channels == 2
    assert ts.class_names == ("Standing", "Running")
    assert ts.labels.tolist() == [1, 0]
    # time first: row t holds (dimension 0, dimension 1) at step t
    np.testing.assert_array_equal(ts.series[0], [[1, 10], [2, 20], [3, 30], [4, 40]])
    np.testing.assert_array_equal(ts.series[1], [[0.5, -1], [0.5, -2], [0.5, -3], [0.5, -4]])


def test_read_variable_length_and_trailing_nan_padding(tmp_path):
    text = """@problemName Var
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true x y
@data
1,2,3,4,5:6,7,8,9,10:x
1,2:3,4:y
1,2,NaN,NaN,?:3,4,?,NaN,NaN:x
7,NaN,NaN:8,?,nan:y
"""
    ts = read_ts(write(tmp_path, text))
    assert ts.lengths.tolist() == [5, 2, 2, 1]
    assert ts.max_length == 5 and ts.min_length == 1
    np.testing.assert_array_equal(ts.series[2], [[1, 3], [2, 4]])
    np.testing.assert_array_equal(ts.series[3], [[7, 8]])
    assert not any(np.isnan(s).any() for s in ts.series)
    assert ts.labels.tolist() == [0, 1, 0, 1]


def test_read_infers_dimensions_from_first_line(tmp_path):
    text = "@problemName P\n@classLabel true 0 1\n@data\n1,2:3,4:5,6:1\n7,8:9,10:11,12:0\n"
    ts = read_ts(write(tmp_path, text))
    assert ts.n_channels == 3
    np.testing.assert_array_equal(ts.series[1], [[7, 9, 11], [8, 10, 12]])


MALFORMED = {
    "missing_data": ("@problemName Toy\n@classLabel true 1 2\n# end\n", 3, "without an @data line"),
    "unknown_label": (HEADER + "1,2,3:1\n1,2,3:7\n", 10, "unknown class label '7'"),
    "dimensions": (HEADER.replace("@univariate true", "@univariate false\n@dimensions 2")
                   + "1,2,3:4,5,6:1\n1,2,3:2\n", 11, "expected 2 dimension(s)"),
    "non_numeric": (HEADER + "1,2,3:1\n1,abc,3:2\n", 10, "'abc'"),
    "inconsistent_dimensions": ("@problemName T\n@dimensions 2\n@equalLength false\n"
                                "@classLabel true 1 2\n@data\n1,2,3:4,5:1\n", 6, "equal lengths"),
    "series_length": (HEADER + "1,2,3:1\n1,2,3,4:2\n", 10, "@seriesLength declares 3"),
    "interior_nan": (HEADER + "1,NaN,3:1\n", 9, "inside the series"),
    "interior_question_mark": (HEADER + "1,2,3:1\n?,2,3:2\n", 10, "inside the series"),
    "empty_data": (HEADER + "\n# nothing\n", 10, "holds no samples"),
    "timestamps": (HEADER.replace("@timeStamps false", "@timeStamps true"), 2, "@timeStamps true"),
    "no_label_separator": (HEADER + "1,2,3\n", 9, "found no ':'"),
    "header_after_data": (HEADER + "1,2,3:1\n@classLabel true 1 2\n", 10, "after @data"),
    "no_class_label": ("@problemName T\n@data\n1,2:1\n", 2, "@classLabel true"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_read_malformed_names_file_and_line(tmp_path, case):
    text, line, expected = MALFORMED[case]
    path = write(tmp_path, text, name=f"{case}.ts")
    with pytest.raises(ValueError) as info:
        read_ts(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}" in message
    assert expected in message


def test_read_missing_file(tmp_path):
    path = tmp_path / "absent.ts"
    with pytest.raises(FileNotFoundError, match="absent.ts"):
        read_ts(path)


# ------------------------------------------------------------------------ delta encoding


def reference_delta(x, thresholds):
    """The definition, step by step with while loops: counts (T, C, K, 2)."""
    T, C = x.shape
    counts = np.zeros((T, C, len(thresholds), 2), dtype=int)
    for c in range(C):
        for k, theta in enumerate(thresholds):
            r = x[0, c]
            for t in range(1, T):
                while x[t, c] - r >= theta:
                    counts[t, c, k, 0] += 1
                    r += theta
                while r - x[t, c] >= theta:
                    counts[t, c, k, 1] += 1
                    r -= theta
    return counts


def test_delta_ramp_by_hand():
    x = (0.25 * np.arange(9.0))[:, None]  # 0, 0.25, ..., 2.0
    frames = delta_encode(x, thresholds=(0.5, 1.0))
    assert frames.shape == (9, 4) and frames.dtype == np.uint8
    # layout [channel][threshold][up, down]: columns up(0.5), down(0.5), up(1.0), down(1.0)
    assert np.flatnonzero(frames[:, 0]).tolist() == [2, 4, 6, 8]  # every 2 steps
    assert np.flatnonzero(frames[:, 2]).tolist() == [4, 8]  # every 4 steps
    assert frames[:, 1].sum() == 0 and frames[:, 3].sum() == 0
    # falling ramp: the same steps, on the down columns
    down = delta_encode(-x, thresholds=(0.5, 1.0))
    assert np.flatnonzero(down[:, 1]).tolist() == [2, 4, 6, 8]
    assert down[:, 0].sum() == 0


def test_delta_step_merges_crossings():
    x = np.array([0.0, 0.0, 0.0, 1.2, 1.2, 1.2, -0.1])[:, None]
    counts = delta_counts(x, (0.5,))
    # jump 0 -> 1.2 crosses 0.5 and 1.0 (reference ends at 1.0); fall to -0.1 crosses 0.5, 0.0
    assert counts[:, 0, 0, 0].tolist() == [0, 0, 0, 2, 0, 0, 0]
    assert counts[:, 0, 0, 1].tolist() == [0, 0, 0, 0, 0, 0, 2]
    frames = delta_encode(x, (0.5,))
    assert frames[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 0]  # clipped to one spike
    assert frames[:, 1].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert counts.sum() - frames.sum() == 2  # merged events
    assert delta_encode(x, (0.5,), max_per_step=2)[:, 0].tolist() == [0, 0, 0, 2, 0, 0, 0]
    with pytest.raises(ValueError):
        delta_encode(x, (0.5,), max_per_step=0)
    with pytest.raises(ValueError):
        delta_encode(x, (0.5, -1.0))


def test_delta_matches_while_loop_definition(rng):
    x = np.cumsum(rng.normal(size=(300, 3)), axis=0)
    thresholds = (0.3, 0.7, 2.0)
    expected = reference_delta(x, thresholds)
    np.testing.assert_array_equal(delta_counts(x, thresholds), expected)
    frames = delta_encode(x, thresholds)
    # column (c * K + k) * 2 + d
    for c in range(3):
        for k in range(3):
            for d in range(2):
                np.testing.assert_array_equal(
                    frames[:, (c * 3 + k) * 2 + d], np.minimum(expected[:, c, k, d], 1)
                )


def test_delta_sign_flip_swaps_up_and_down(rng):
    x = np.cumsum(rng.normal(size=(200, 2)), axis=0)
    plus = delta_encode(x, (0.5, 1.0))
    minus = delta_encode(-x, (0.5, 1.0))
    assert plus.sum() > 0
    np.testing.assert_array_equal(minus[:, 0::2], plus[:, 1::2])
    np.testing.assert_array_equal(minus[:, 1::2], plus[:, 0::2])


# ------------------------------------------------------------------------- rate encoding


def test_rate_encode_seeded():
    x = np.sin(np.linspace(0, 6, 100))[:, None] * np.array([1.0, 0.5])
    a = rate_encode(x, 5, -1.0, 1.0, rng=3)
    b = rate_encode(x, 5, -1.0, 1.0, rng=np.random.default_rng(3))
    c = rate_encode(x, 5, -1.0, 1.0, rng=4)
    assert a.shape == (100, 10) and a.dtype == np.uint8
    assert set(np.unique(a)) <= {0, 1}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rate_encode_mean_rate_matches_field_response():
    n_steps = 20_000
    values = np.array([-0.8, 0.1, 1.3])
    x = np.tile(values, (n_steps, 1))  # constant input per channel
    spikes = rate_encode(x, 4, -1.0, 2.0, rng=0)
    centres = np.array([-1.0, 0.0, 1.0, 2.0])  # 4 fields over [-1, 2]: spacing 1 = width
    for c, value in enumerate(values):
        expected = np.exp(-0.5 * (value - centres) ** 2)
        rate = spikes[:, c * 4:(c + 1) * 4].mean(axis=0)
        # 5 binomial standard deviations at most
        np.testing.assert_allclose(rate, expected, atol=5 * 0.5 / math.sqrt(n_steps))


def test_sigma_delta_fires_the_floor_of_the_summed_rate_by_every_step(rng):
    # rates on a grid of 1/8: every partial sum is exact, so the count to step t must be
    # floor(sum of the rates to t), the modulator's defining property
    rate = rng.integers(0, 9, size=(200, 7)) / 8.0
    spikes = sigma_delta_spikes(rate)
    assert spikes.dtype == np.uint8 and set(np.unique(spikes)) <= {0, 1}
    np.testing.assert_array_equal(np.cumsum(spikes, axis=0), np.floor(np.cumsum(rate, axis=0)))
    # rate 1 fires every step, 0 never, 1/2 every second step from the second on
    constant = sigma_delta_spikes(np.tile([1.0, 0.0, 0.5], (6, 1)))
    np.testing.assert_array_equal(constant.T, [[1] * 6, [0] * 6, [0, 1, 0, 1, 0, 1]])
    for bad in (np.array([[1.5]]), np.array([[-0.1]]), np.array(0.5)):
        with pytest.raises(ValueError, match="in \\[0, 1\\]"):
            sigma_delta_spikes(bad)


def test_rate_encode_sigma_delta_is_deterministic_and_follows_the_fields(rng):
    x = np.sin(np.linspace(0, 6, 300))[:, None] * np.array([1.0, 0.5])
    a = rate_encode(x, 5, -1.0, 1.0, rng=3, sampling="sigma-delta")
    b = rate_encode(x, 5, -1.0, 1.0, rng=4, sampling="sigma-delta")
    np.testing.assert_array_equal(a, b)  # no sampling: the generator is not used
    response = receptive_fields(x, 5, -1.0, 1.0)
    np.testing.assert_array_equal(a.sum(axis=0), np.floor(response.sum(axis=0)))
    with pytest.raises(ValueError, match="sampling must be one of"):
        rate_encode(x, 5, -1.0, 1.0, sampling="poisson")


def test_triangular_fields_by_hand():
    x = np.array([[-1.0], [-0.25], [0.5], [1.0]])
    p = receptive_fields(x, 3, -1.0, 1.0, shape="triangular")  # centres -1, 0, 1, width 1
    np.testing.assert_allclose(p, [[1, 0, 0], [0.25, 0.75, 0], [0, 0.5, 0.5], [0, 0, 1]])
    with pytest.raises(ValueError):
        receptive_fields(x, 3, 1.0, -1.0)


# ------------------------------------------------------------------------ whole data sets


def make_set(series, labels, class_names=("a", "b")):
    return TimeSeriesSet(
        series=tuple(np.asarray(s, dtype=float).reshape(len(s), -1) for s in series),
        labels=np.asarray(labels), class_names=class_names, name="hand", source="hand.ts",
    )


def test_fit_scaler_uses_training_statistics():
    train = make_set([[[0.0, 5.0], [2.0, 5.0]], [[4.0, 5.0]]], [0, 1])
    test = make_set([[[10.0, 6.0]]], [1])
    scaler = fit_scaler(train)
    # channel 0: values 0, 2, 4 -> mean 2, std sqrt(8 / 3); channel 1 constant -> std 1
    np.testing.assert_allclose(scaler.mean, [2.0, 5.0])
    np.testing.assert_allclose(scaler.std, [math.sqrt(8 / 3), 1.0])
    scaled = scaler.apply(test)
    np.testing.assert_allclose(scaled.series[0], [[8.0 / math.sqrt(8 / 3), 1.0]])
    assert scaled.labels.tolist() == [1]


def test_encode_set_delta_equals_per_sample_encoding(rng):
    series = [np.cumsum(rng.normal(size=(n, 2)), axis=0) for n in (30, 7, 19)]
    ts = make_set(series, [0, 1, 0])
    scaler = fit_scaler(ts)
    frames, labels, encoding = encode_set(ts, "delta", thresholds=(0.5, 1.0), scaler=scaler)
    assert frames.shape == (3, 30, 8) and frames.dtype == np.uint8
    assert labels.tolist() == [0, 1, 0]
    for i, s in enumerate(series):
        expected = np.minimum(reference_delta((s - scaler.mean) / scaler.std, (0.5, 1.0)), 1)
        np.testing.assert_array_equal(frames[i, :len(s)], expected.reshape(len(s), -1))
        assert frames[i, len(s):].sum() == 0
    assert encoding["encoder"] == "delta" and encoding["thresholds"] == [0.5, 1.0]
    assert encoding["scaler"]["mean"] == pytest.approx(scaler.mean.tolist())
    assert encoding["n_steps"] == 30 and encoding["sources"] == ["hand.ts"]
    assert json.loads(json.dumps(encoding)) == encoding


def test_downsample_averages_the_analog_series_before_encoding():
    ts = make_set([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 6.0]], [0, 1])
    averaged = downsample_series(ts, 2)
    np.testing.assert_allclose(averaged.series[0][:, 0], [1.5, 3.5, 5.0])  # the last window: one sample
    np.testing.assert_allclose(averaged.series[1][:, 0], [0.0, 6.0])
    assert downsample_series(ts, 1) is ts
    frames, _, encoding = encode_set(ts, "delta", thresholds=(1.0,), downsample=2)
    # series 0 averaged: 1.5, 3.5, 5.0 -> two levels up at step 1 (one spike), one at step 2
    assert frames.shape == (2, 3, 2) and encoding["downsample"] == 2 and encoding["n_steps"] == 3
    np.testing.assert_array_equal(frames[0], [[0, 0], [1, 0], [1, 0]])
    np.testing.assert_array_equal(frames[1], [[0, 0], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="downsample must be an integer >= 1"):
        downsample_series(ts, 0)


def test_encode_set_padding_truncation_and_stride():
    # theta 1: A rises 0 -> 1 -> 2 (up at steps 1, 2); B falls once at step 3
    ts = make_set([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0, -1.0, -1.0]], [0, 1])
    up_a = [[1, 0], [1, 0]]  # A's frames at its steps 1 and 2 (columns up, down)
    end, _, info = encode_set(ts, thresholds=(1.0,), pad="end")
    assert end.shape == (2, 5, 2) and info["length"] == 5 and info["pad"] == "end"
    expected_a = np.zeros((5, 2), dtype=np.uint8)
    expected_a[1:3] = up_a
    expected_b = np.zeros((5, 2), dtype=np.uint8)
    expected_b[3, 1] = 1
    np.testing.assert_array_equal(end[0], expected_a)
    np.testing.assert_array_equal(end[1], expected_b)

    start, _, _ = encode_set(ts, thresholds=(1.0,), pad="start")
    shifted_a = np.zeros((5, 2), dtype=np.uint8)
    shifted_a[3:5] = up_a  # A occupies steps 2..4, ending at the last step
    np.testing.assert_array_equal(start[0], shifted_a)
    np.testing.assert_array_equal(start[1], expected_b)  # full length: unchanged

    # length 2: "end" keeps the first 2 steps, "start" the last 2
    cut_end, _, info = encode_set(ts, thresholds=(1.0,), pad="end", length=2)
    np.testing.assert_array_equal(cut_end[0], [[0, 0], [1, 0]])
    np.testing.assert_array_equal(cut_end[1], [[0, 0], [0, 0]])
    assert info["n_truncated"] == 2
    cut_start, _, _ = encode_set(ts, thresholds=(1.0,), pad="start", length=2)
    np.testing.assert_array_equal(cut_start[0], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(cut_start[1], [[0, 1], [0, 0]])

    # stride 2 on 5 steps -> 3 frames; OR over groups (0,1) (2,3) (4,pad)
    strided, _, info = encode_set(ts, thresholds=(1.0,), pad="end", time_stride=2)
    assert strided.shape == (2, 3, 2) and info["n_steps"] == 3 and info["time_stride"] == 2
    np.testing.assert_array_equal(strided[0], [[1, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(strided[1], [[0, 0], [0, 1], [0, 0]])
    # with pad="start" the filler step sits at the start: 6 slots, A on slots 3..5 (its ups on
    # 4 and 5, both in the last group), B on slots 1..5 (its down on slot 4)
    strided, _, _ = encode_set(ts, thresholds=(1.0,), pad="start", time_stride=2)
    np.testing.assert_array_equal(strided[0], [[0, 0], [0, 0], [1, 0]])
    np.testing.assert_array_equal(strided[1], [[0, 0], [0, 0], [0, 1]])
    for bad in ({"pad": "middle"}, {"time_stride": 0}, {"length": 0}):
        with pytest.raises(ValueError):
            encode_set(ts, **bad)


def test_encode_set_rate_is_seeded():
    ts = make_set([np.linspace(-1, 1, 50), np.linspace(1, -1, 20)], [0, 1])
    a, _, info = encode_set(ts, "rate", n_neurons=6, low=-1.0, high=1.0, seed=5)
    b, _, _ = encode_set(ts, "rate", n_neurons=6, low=-1.0, high=1.0, seed=5)
    c, _, _ = encode_set(ts, "rate", n_neurons=6, low=-1.0, high=1.0, seed=6)
    assert a.shape == (2, 50, 6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a[1, 20:].sum() == 0  # padding carries no spikes
    assert info["width"] == pytest.approx(0.4) and info["seed"] == 5


def test_encode_set_delta_and_rate_side_by_side(rng):
    series = [np.cumsum(rng.normal(size=(n, 2)), axis=0) for n in (30, 12)]
    ts = make_set(series, [0, 1])
    scaler = fit_scaler(ts)
    common = dict(thresholds=(0.5, 1.0), n_neurons=5, low=-2.0, high=2.0, scaler=scaler, downsample=2)
    both, labels, info = encode_set(ts, "delta+rate", sampling="sigma-delta", **common)
    delta, _, _ = encode_set(ts, "delta", **common)
    rate, _, _ = encode_set(ts, "rate", sampling="sigma-delta", **common)
    assert both.shape == (2, 15, 8 + 10) and labels.tolist() == [0, 1]
    np.testing.assert_array_equal(both[..., :8], delta)
    np.testing.assert_array_equal(both[..., 8:], rate)
    # the level code of a series written out: its averaged, scaled values through the fields
    averaged = (series[1].reshape(6, 2, 2).mean(axis=1) - scaler.mean) / scaler.std
    expected = sigma_delta_spikes(receptive_fields(averaged, 5, -2.0, 2.0))
    np.testing.assert_array_equal(both[1, :6, 8:], expected)
    assert both[1, 6:].sum() == 0  # padding carries no spikes
    assert info["encoder"] == "delta+rate" and info["n_delta_inputs"] == 8 and info["n_inputs"] == 18
    assert info["thresholds"] == [0.5, 1.0] and info["n_neurons"] == 5 and info["sampling"] == "sigma-delta"
    assert "seed" not in info and info["layout"].startswith("delta ") and "then rate" in info["layout"]
    assert json.loads(json.dumps(info)) == info
    with pytest.raises(ValueError, match="sampling must be one of"):
        encode_set(ts, "rate", sampling="poisson")


def test_encode_ucr_pair_the_delta_code_and_the_level_beside_it(rng):
    """The standard encoding, the level code: 24 delta inputs and max(4, 12 // C) level fields
    per channel after them; ``encoder="delta"`` keeps the 24 delta inputs alone."""
    for n_channels, n_fields in ((1, 12), (6, 4), (12, 4)):
        train = make_set([rng.normal(size=(40, n_channels)) for _ in range(4)], [0, 1, 0, 1])
        test = make_set([rng.normal(size=(50, n_channels)) for _ in range(2)], [1, 0])
        (d, _), (d_test, _), delta_info = encode_ucr_pair(train, test, encoder="delta")
        assert delta_info["encoder"] == "delta" and delta_info["n_inputs"] == 24 and "n_neurons" not in delta_info
        (x, _), (x_test, _), info = encode_ucr_pair(train, test)
        assert info["encoder"] == "delta+rate" and info["n_inputs"] == x.shape[2]
        assert x.shape == (4, 40, 24 + n_channels * n_fields) and x_test.shape == (2, 40, x.shape[2])
        assert info["n_delta_inputs"] == 24 and info["n_neurons"] == n_fields
        assert (info["low"], info["high"], info["sampling"]) == (-2.0, 2.0, "sigma-delta")
        np.testing.assert_array_equal(x[..., :24], d)
        np.testing.assert_array_equal(x_test[..., :24], d_test)
        assert info["n_test_truncated"] == 2
    with pytest.raises(ValueError, match="'delta\\+rate' or 'delta'"):
        encode_ucr_pair(train, test, encoder="rate")


# ---------------------------------------------------------------------------- npz files


def test_encoded_npz_round_trip(tmp_path, rng):
    ts = make_set([np.cumsum(rng.normal(size=(n, 1)), axis=0) for n in (12, 9)], [1, 0])
    frames, labels, encoding = encode_set(ts, scaler=fit_scaler(ts), pad="start", time_stride=3)
    path = save_encoded_npz(tmp_path / "enc", frames, labels, encoding)
    assert path.name == "enc.npz"
    loaded, loaded_labels, loaded_encoding = load_encoded_npz(path)
    np.testing.assert_array_equal(loaded, frames)
    np.testing.assert_array_equal(loaded_labels, labels)
    assert loaded_encoding == encoding
    # an ordinary dense npz file: the loader ignores the metadata, no pickle involved
    plain, plain_labels = load_npz_dataset(path)
    np.testing.assert_array_equal(plain, frames)
    with np.load(path, allow_pickle=False) as archive:
        assert archive["metadata_json"].shape == () and archive["metadata_json"].dtype.kind == "U"
    assert load_npz_metadata(path) == {"encoding": encoding}
    bare = save_npz_dataset(tmp_path / "bare.npz", labels, frames=frames)
    assert load_npz_metadata(bare) == {}
    with pytest.raises(ValueError, match="no encoding"):
        load_encoded_npz(bare)
    with pytest.raises(ValueError, match="JSON"):
        save_encoded_npz(tmp_path / "bad", frames, labels, {"x": object()})


# -------------------------------------------------------------------------- aeon wheel


def ts_text(name, class_line, rows):
    return (f"#fake\n@problemName {name}\n@timeStamps false\n@univariate true\n"
            f"@equalLength false\n@classLabel true {class_line}\n@data\n" + "\n".join(rows) + "\n")


def test_load_uea_ucr_from_fake_wheel(tmp_path):
    wheel = tmp_path / "aeon-1.6.0-py3-none-any.whl"
    prefix = "aeon/datasets/data/"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("aeon/__init__.py", "")
        archive.writestr(prefix + "ToyWave/ToyWave_TRAIN.ts",
                         ts_text("ToyWave", "up down", ["1,2,3:up", "3,2:down", "5,NaN:up"]))
        # the test file declares the classes in the other order: labels are mapped back
        archive.writestr(prefix + "ToyWave/ToyWave_TEST.ts",
                         ts_text("ToyWave", "down up", ["9,8,7,6:down", "1:up"]))
        archive.writestr(prefix + "Other/Other_TRAIN.ts", ts_text("Other", "1", ["1:1"]))
        archive.writestr(prefix + "Other/Other_TEST.ts", ts_text("Other", "1", ["2:1"]))
        archive.writestr(prefix + "TrainOnly/TrainOnly_TRAIN.ts", ts_text("T", "1", ["1:1"]))
    train, test = load_uea_ucr("ToyWave", cache_dir=tmp_path)
    assert train.class_names == test.class_names == ("up", "down")
    assert train.labels.tolist() == [0, 1, 0]
    assert test.labels.tolist() == [1, 0]
    assert train.lengths.tolist() == [3, 2, 1] and test.lengths.tolist() == [4, 1]
    np.testing.assert_array_equal(test.series[0][:, 0], [9, 8, 7, 6])
    assert "ToyWave_TEST.ts" in test.source
    with pytest.raises(ValueError) as info:
        load_uea_ucr("NoSuchSet", cache_dir=tmp_path)
    assert "Other, ToyWave" in str(info.value)  # the names with both files, sorted


def test_find_aeon_wheel_missing_names_pip_command(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAVA_LOCAL_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as info:
        find_aeon_wheel()
    message = str(info.value)
    assert "-m pip download aeon==1.6.0 --no-deps -d" in message
    assert str(tmp_path / "data" / "aeon") in message  # default: $LAVA_LOCAL_DATA/aeon

    calls = []

    def failing_pip(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "no network")

    monkeypatch.setattr(ts_module.subprocess, "run", failing_pip)
    with pytest.raises(FileNotFoundError) as info:
        find_aeon_wheel(cache, download=True)
    assert calls == [[sys.executable, "-m", "pip", "download", "aeon==1.6.0", "--no-deps", "-d", str(cache)]]
    assert "no network" in str(info.value) and "pip download aeon==1.6.0" in str(info.value)

    def working_pip(command, **kwargs):
        (cache / "aeon-1.6.0-py3-none-any.whl").write_bytes(b"")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(ts_module.subprocess, "run", working_pip)
    assert find_aeon_wheel(cache, download=True) == cache / "aeon-1.6.0-py3-none-any.whl"

"""Real time series for temporal benchmarks: the UEA/UCR ``.ts`` format and spike encoders.

The ``.ts`` text format (sktime/aeon, https://www.timeseriesclassification.com)::

    # comments start with '#' ('%' is accepted too: some aeon files use it)
    @problemName BasicMotions
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6
    @equalLength true
    @seriesLength 100
    @classLabel true Standing Running Walking Badminton
    @data
    0.07,0.07,-0.9,...:0.39,0.39,-3.6,...: ... :Standing

After ``@data`` each line is one sample: its dimensions (channels) separated by ``:``, the
values of one dimension separated by ``,``, and the class label after the last ``:``. ``?`` or
``NaN`` marks a missing value. Series may differ in length (``@equalLength false``), and some
files pad the shorter ones with trailing ``NaN``: ``read_ts`` strips those, so every series keeps
its real length. Missing values *inside* a series and time-stamped files (``@timeStamps true``)
are not supported and raise ``ValueError``. Header keys are case-insensitive; unknown ones are
ignored (as aeon does).

``read_ts`` returns a ``TimeSeriesSet``: ``series[i]`` is a ``float64`` array ``(length_i, C)``,
time first, and ``labels[i]`` indexes ``class_names`` in the order ``@classLabel`` declares.

Spike encoders (NumPy, pure functions) turn an analog series ``x`` ``(T, C)`` into ``uint8``
frames ``(T, n_inputs)``:

* ``delta_encode``: level crossing (send-on-delta, the "delta" encoding of SNN time-series
  benchmarks). Per channel and threshold ``theta_k`` a reference level follows the signal in
  steps of ``theta_k``; each step up is an UP event, each step down a DOWN event. Inputs are
  laid out ``[channel][threshold][up, down]``: ``C * K * 2`` inputs.
* ``rate_encode``: population rate code. ``n_neurons`` receptive fields (Gaussian or
  triangular) tile ``[low, high]`` per channel; each spikes at the rate of its response, drawn
  at random (Bernoulli) or by a deterministic integrate-and-fire modulator
  (``sampling="sigma-delta"``, ``sigma_delta_spikes``). Layout ``[channel][neuron]``:
  ``C * n_neurons`` inputs.

The delta code says how a series changes, the rate code where its level is; ``encode_set``'s
``"delta+rate"`` puts both side by side. ``encode_ucr_pair`` is the standard encoding of a
UEA/UCR pair (the level code: the delta code and a sigma-delta population code of the level;
``encoder="delta"`` keeps the delta code alone).

Thresholds and field ranges are in the units of ``x``; ``fit_scaler`` standardises each channel
with the mean/std of the *training* set (applied unchanged to the test set), so they can be
given in units of the training std. ``encode_set`` encodes a whole set into ``(N, T, n_inputs)``
frames (zero padding, optional ``time_stride`` merging) plus a JSON-serialisable dict of the
encoding, which ``save_encoded_npz`` stores with the frames in the project's ``.npz`` format
(``npz_format``: ``frames``, ``labels`` and ``metadata_json`` = ``{"encoding": {...}}``).

The UEA/UCR files shipped inside the aeon 1.6.0 wheel (``aeon/datasets/data/<Name>/``) are read
straight out of the wheel with ``zipfile`` by ``load_uea_ucr``; aeon is never installed.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .npz_format import load_npz_dataset, load_npz_metadata, save_npz_dataset

AEON_VERSION = "1.6.0"
AEON_WHEEL = f"aeon-{AEON_VERSION}-py3-none-any.whl"
_AEON_DATA_PREFIX = "aeon/datasets/data/"
DELTA_LAYOUT = "[channel][threshold][up, down]"
RATE_LAYOUT = "[channel][neuron]"
#: "delta+rate": both codes of each series side by side, the delta inputs first
ENCODERS = ("delta", "rate", "delta+rate")
RATE_SAMPLINGS = ("bernoulli", "sigma-delta")
PAD_MODES = ("end", "start")
RF_SHAPES = ("gaussian", "triangular")

RandomLike = Union[np.random.Generator, int, None]


# ----------------------------------------------------------------------------- the data set


@dataclass(frozen=True, eq=False)
class TimeSeriesSet:
    """Labelled series of possibly different lengths, all with the same channels.

    ``series``: tuple of ``float64`` arrays ``(length_i, n_channels)``, time first, no NaN.
    ``labels``: ``int64`` ``(N,)`` indices into ``class_names``. ``source``: where it was read
    from (for error messages and the encoding record).
    """

    series: Tuple[np.ndarray, ...]
    labels: np.ndarray
    class_names: Tuple[str, ...]
    name: str
    source: str = ""

    def __post_init__(self) -> None:
        # Normalise the containers once (frozen: via object.__setattr__) so every consumer
        # can rely on the types and shapes without re-checking.
        series = tuple(np.asarray(s, dtype=np.float64) for s in self.series)
        labels = np.asarray(self.labels)
        class_names = tuple(str(c) for c in self.class_names)
        where = self.source or self.name
        if not series:
            raise ValueError(f"{where}: a TimeSeriesSet needs at least one series")
        channels = {s.shape[1] if s.ndim == 2 else -1 for s in series}
        if any(s.ndim != 2 or len(s) == 0 for s in series) or len(channels) != 1:
            shapes = sorted({s.shape for s in series})[:5]
            raise ValueError(
                f"{where}: series must be non-empty (length, n_channels) arrays with the same "
                f"n_channels; got shapes such as {shapes}"
            )
        if any(np.isnan(s).any() for s in series):
            raise ValueError(f"{where}: series must not contain NaN")
        if labels.ndim != 1 or len(labels) != len(series) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"{where}: labels must be {len(series)} integers (one per series), got "
                f"{labels.dtype} {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise ValueError(f"{where}: labels must index class_names (0..{len(class_names) - 1})")
        object.__setattr__(self, "series", series)
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "class_names", class_names)

    def __len__(self) -> int:
        return len(self.series)

    @property
    def n_channels(self) -> int:
        return int(self.series[0].shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """``int64`` ``(N,)``: the number of time steps of each series."""
        return np.array([len(s) for s in self.series], dtype=np.int64)

    @property
    def max_length(self) -> int:
        return int(self.lengths.max())

    @property
    def min_length(self) -> int:
        return int(self.lengths.min())


# ------------------------------------------------------------------------------ .ts reader


def read_ts(path: os.PathLike | str) -> TimeSeriesSet:
    """Read a UEA/UCR ``.ts`` classification file (format in the module docstring).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file, the line
    and what was expected for a malformed one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f".ts file not found: {path}")
    # Comments of real files hold non-ASCII text (e.g. en dashes); only they could be affected
    # by a wrong guess of the encoding, so undecodable bytes are replaced rather than fatal.
    text = path.read_text(encoding="utf-8", errors="replace")
    return parse_ts(text.splitlines(), source=str(path), default_name=path.stem)


def _header_bool(key: str, values: List[str], where: str) -> bool:
    if len(values) < 1 or values[0].lower() not in ("true", "false"):
        raise ValueError(f"{where}: expected 'true' or 'false' after @{key}, got {' '.join(values)!r}")
    return values[0].lower() == "true"


def _header_int(key: str, values: List[str], where: str) -> int:
    try:
        value = int(values[0])
    except (IndexError, ValueError):
        value = 0
    if value < 1:
        raise ValueError(f"{where}: expected a positive integer after @{key}, got {' '.join(values)!r}")
    return value


def _parse_values(text: str, where: str, dimension: int) -> np.ndarray:
    """One dimension's comma-separated values as ``float64`` (``?``/``NaN`` -> NaN)."""
    tokens = ["nan" if token.strip() == "?" else token for token in text.split(",")]
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = None
    if values is None or np.isinf(values).any():
        # Slow path only for the error message: find the first token that is not a number.
        for position, token in enumerate(tokens):
            try:
                ok = not math.isinf(float(token))
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{where}: value {position} of dimension {dimension} is {token.strip()!r}; "
                    "expected a finite number, '?' or 'NaN'"
                ) from None
    return values


def parse_ts(lines: Iterable[str], source: str, default_name: str = "") -> TimeSeriesSet:
    """Parse the lines of a ``.ts`` file; ``source`` names it in error messages."""
    name: Optional[str] = None
    class_names: Optional[Tuple[str, ...]] = None
    univariate: Optional[bool] = None
    dimensions: Optional[int] = None
    equal_length: Optional[bool] = None
    series_length: Optional[int] = None
    data_line: Optional[int] = None
    n_dims: Optional[int] = None
    dims_from = ""  # what fixed n_dims, for the error message
    label_index: Dict[str, int] = {}
    series: List[np.ndarray] = []
    labels: List[int] = []
    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line[0] in "#%":
            continue
        where = f"{source}, line {number}"
        if data_line is None:
            if line[0] != "@":
                raise ValueError(
                    f"{where}: expected a header line starting with '@' or a '#' comment before "
                    f"@data, got {line[:40]!r}"
                )
            tokens = line.split()
            key, values = tokens[0][1:].lower(), tokens[1:]
            if key == "problemname":
                name = name or " ".join(values)  # some files repeat it; the first one wins
            elif key == "timestamps":
                if _header_bool(key, values, where):
                    raise ValueError(
                        f"{where}: @timeStamps true (time-stamped series) is not supported; "
                        "expected @timeStamps false"
                    )
            elif key == "univariate":
                univariate = _header_bool(key, values, where)
            elif key == "dimensions":
                dimensions = _header_int(key, values, where)
            elif key == "equallength":
                equal_length = _header_bool(key, values, where)
            elif key == "serieslength":
                series_length = _header_int(key, values, where)
            elif key == "classlabel":
                if not _header_bool(key, values, where):
                    raise ValueError(
                        f"{where}: @classLabel false (no class labels) is not supported; expected "
                        "@classLabel true <label> <label> ..."
                    )
                declared = tuple(values[1:])
                if not declared or len(set(declared)) != len(declared):
                    raise ValueError(
                        f"{where}: expected distinct class labels after @classLabel true, got "
                        f"{' '.join(declared)!r}"
                    )
                class_names = declared
            elif key == "targetlabel":
                raise ValueError(f"{where}: @targetLabel (regression) files are not supported")
            elif key == "data":
                if class_names is None:
                    raise ValueError(
                        f"{where}: expected '@classLabel true <labels>' before @data (files "
                        "without class labels are not supported)"
                    )
                if univariate and dimensions is not None and dimensions != 1:
                    raise ValueError(f"{where}: @univariate true contradicts @dimensions {dimensions}")
                if dimensions is not None:
                    n_dims, dims_from = dimensions, "@dimensions"
                elif univariate:
                    n_dims, dims_from = 1, "@univariate true"
                label_index = {label: index for index, label in enumerate(class_names)}
                data_line = number
            # other keys (@missing, ...) carry nothing the reader needs: ignored like aeon does
            continue
        # ---- one sample per data line
        if line[0] == "@":
            raise ValueError(f"{where}: header line {line.split()[0]!r} after @data (line {data_line})")
        head, colon, label = line.rpartition(":")
        label = label.strip()
        if not colon:
            raise ValueError(f"{where}: expected values and a class label separated by ':', found no ':'")
        if label not in label_index:
            raise ValueError(
                f"{where}: unknown class label {label!r}; @classLabel declares "
                f"{' '.join(class_names)}"
            )
        parts = head.split(":")
        if n_dims is None:
            n_dims, dims_from = len(parts), f"the first data line, {number}"
        if len(parts) != n_dims:
            raise ValueError(
                f"{where}: expected {n_dims} dimension(s) (from {dims_from}) and a class label "
                f"separated by ':', got {len(parts)} dimension(s)"
            )
        columns = [_parse_values(part, where, d) for d, part in enumerate(parts)]
        if series_length is not None and equal_length is not False:
            for d, column in enumerate(columns):
                if len(column) != series_length:
                    raise ValueError(
                        f"{where}: dimension {d} has {len(column)} values; @seriesLength declares "
                        f"{series_length}"
                    )
        # Trailing NaN is padding to a common length: strip it per dimension, then every
        # dimension of the sample must be left with the same length.
        kept = []
        for column in columns:
            present = np.flatnonzero(~np.isnan(column))
            kept.append(int(present[-1]) + 1 if present.size else 0)
        if len(set(kept)) != 1:
            raise ValueError(
                f"{where}: the dimensions of one sample must have equal lengths (after removing "
                f"trailing NaN padding), got lengths {kept}"
            )
        length = kept[0]
        if length == 0:
            raise ValueError(f"{where}: the sample has no values (all missing)")
        sample = np.stack([column[:length] for column in columns], axis=1)
        if np.isnan(sample).any():
            step, d = (int(i) for i in np.argwhere(np.isnan(sample))[0])
            raise ValueError(
                f"{where}: missing value ('?' or NaN) at step {step} of dimension {d}, inside the "
                "series; missing values inside a series are not supported (only trailing NaN "
                "padding is removed)"
            )
        series.append(sample)
        labels.append(label_index[label])
    if data_line is None:
        raise ValueError(
            f"{source}, line {number}: reached the end of the file without an @data line; "
            "expected the header (@problemName ... @classLabel true ...) to end with @data"
        )
    if not series:
        raise ValueError(
            f"{source}, line {number}: the @data section (from line {data_line}) holds no samples"
        )
    return TimeSeriesSet(
        series=tuple(series),
        labels=np.array(labels, dtype=np.int64),
        class_names=class_names,
        name=name or default_name,
        source=source,
    )


# --------------------------------------------------------------------------- normalisation


@dataclass(frozen=True, eq=False)
class TimeSeriesScaler:
    """Per-channel standardisation ``(x - mean) / std``, fitted on a training set."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape or not np.all(std > 0) or not np.all(np.isfinite(mean)):
            raise ValueError(f"scaler needs finite means and positive stds of one shape, got {mean} {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` for ``x`` ``(T, C)``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"scaler fitted on {len(self.mean)} channel(s), got x of shape {x.shape}")
        return (x - self.mean) / self.std

    def apply(self, ts_set: TimeSeriesSet) -> TimeSeriesSet:
        """The set with every series standardised (labels, names unchanged)."""
        return TimeSeriesSet(
            series=tuple(self.transform(s) for s in ts_set.series),
            labels=ts_set.labels,
            class_names=ts_set.class_names,
            name=ts_set.name,
            source=ts_set.source,
        )

    def to_dict(self) -> Dict[str, List[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, values: Dict[str, Sequence[float]]) -> "TimeSeriesScaler":
        return cls(mean=np.asarray(values["mean"]), std=np.asarray(values["std"]))


def fit_scaler(train_set: TimeSeriesSet, min_std: float = 1e-12) -> TimeSeriesScaler:
    """Mean and std of each channel over every time step of every *training* series.

    Apply the result to the test set too: statistics of the test set would leak into the
    encoding. A channel whose std is below ``min_std`` (constant) gets std 1, so it maps to 0
    instead of dividing by zero.
    """
    values = np.concatenate(train_set.series, axis=0)
    std = values.std(axis=0)
    return TimeSeriesScaler(mean=values.mean(axis=0), std=np.where(std < min_std, 1.0, std))


# -------------------------------------------------------------------------------- encoders


def _check_series(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x must be a (T, C) series with T >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or inf)")
    return x


def _check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    theta = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if theta.size == 0 or not np.all(np.isfinite(theta)) or not np.all(theta > 0):
        raise ValueError(f"thresholds must be a non-empty sequence of positive numbers, got {thresholds!r}")
    return theta


def _delta_counts_batch(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Crossing counts ``(N, T, C, K, 2)`` (``int32``; last axis up, down) of ``x`` ``(N, T, C)``.

    The reference level is kept as ``r = x[0] + m * theta`` with an integer ``m``, so it never
    drifts by accumulated rounding. The while loops of ``delta_encode``'s definition leave ``m``
    at the nearest integer to its old value within ``[floor(u), ceil(u)]``, ``u = (x[t] - x[0])
    / theta``: ``m_t = clip(m_{t-1}, floor(u_t), ceil(u_t))`` (crossing one level from below
    needs ``u >= m + 1``, from above ``u <= m - 1``). That is one clip per step, vectorised
    over samples, channels and thresholds.
    """
    u = (x - x[:, :1, :])[..., None] / theta  # (N, T, C, K)
    low, high = np.floor(u), np.ceil(u)
    level = np.empty_like(u)
    level[:, 0] = 0.0
    for t in range(1, u.shape[1]):
        level[:, t] = np.clip(level[:, t - 1], low[:, t], high[:, t])
    step = np.diff(level, axis=1, prepend=0.0).astype(np.int32)
    return np.stack([np.maximum(step, 0), np.maximum(-step, 0)], axis=-1)


def delta_counts(x: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Level crossings of ``x`` ``(T, C)``: ``int32`` ``(T, C, K, 2)``, last axis (up, down).

    Per channel ``c`` and threshold ``theta_k``, a reference ``r`` starts at ``x[0, c]``; at each
    step ``t``::

        while x[t] - r >= theta_k:  up[t] += 1;   r += theta_k
        while r - x[t] >= theta_k:  down[t] += 1; r -= theta_k

    so ``up[t] - down[t] = m_t - m_{t-1}`` with ``r_t = x[0] + m_t * theta_k``, and
    ``|x[t] - r_t| < theta_k`` after every step. Step 0 has no events.
    """
    x = _check_series(x)
    return _delta_counts_batch(x[None], _check_thresholds(thresholds))[0]


def delta_encode(x: np.ndarray, thresholds: Sequence[float], max_per_step: int = 1) -> np.ndarray:
    """Delta (level-crossing, send-on-delta) spike frames of ``x`` ``(T, C)``.

    ``frames[t, (c * K + k) * 2 + d] = min(n_d[t, c, k], max_per_step)`` with ``n_up``, ``n_down``
    the crossings of ``delta_counts`` (``d = 0`` up, ``1`` down; layout
    ``[channel][threshold][up, down]``, ``C * K * 2`` inputs, ``uint8``). A jump over several
    levels in one step is merged into at most ``max_per_step`` events (default 1: binary
    spikes), but the reference level still moves by every level crossed, so later events are
    not delayed; ``delta_counts(...).sum() - frames.sum()`` is the number of merged events.
    """
    if not 1 <= int(max_per_step) <= 255:
        raise ValueError(f"max_per_step must be in 1..255 (uint8 frames), got {max_per_step}")
    counts = delta_counts(x, thresholds)
    return np.minimum(counts, int(max_per_step)).astype(np.uint8).reshape(len(counts), -1)


def _as_generator(rng: RandomLike) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _field_centres(
    n_neurons: int, low: float, high: float, width: Optional[float]
) -> Tuple[np.ndarray, float]:
    """Centres of the receptive fields and their width (default: the spacing of the centres)."""
    if int(n_neurons) < 1:
        raise ValueError(f"n_neurons must be positive, got {n_neurons}")
    if not (np.isfinite(low) and np.isfinite(high) and high > low):
        raise ValueError(f"need finite low < high, got low={low}, high={high}")
    if n_neurons == 1:
        centres, spacing = np.array([(low + high) / 2.0]), (high - low) / 2.0
    else:
        centres, spacing = np.linspace(low, high, int(n_neurons)), (high - low) / (n_neurons - 1)
    width = spacing if width is None else float(width)
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    return centres, width


def receptive_fields(
    x: np.ndarray,
    n_neurons: int,
    low: float,
    high: float,
    width: Optional[float] = None,
    shape: str = "gaussian",
) -> np.ndarray:
    """Responses in ``[0, 1]`` of ``n_neurons`` fields per channel: ``float64`` ``(T, C * n)``.

    Centres ``mu_j`` evenly spaced over ``[low, high]`` (one neuron: the middle); ``width``
    ``w`` defaults to the spacing ``(high - low) / (n - 1)``::

        gaussian:    p_j(x) = exp(-(x - mu_j)^2 / (2 w^2))
        triangular:  p_j(x) = max(0, 1 - |x - mu_j| / w)   (neighbours sum to 1 inside [low, high])

    Layout ``[channel][neuron]``.
    """
    x = _check_series(x)
    if shape not in RF_SHAPES:
        raise ValueError(f"shape must be one of {RF_SHAPES}, got {shape!r}")
    centres, width = _field_centres(n_neurons, low, high, width)
    distance = (x[:, :, None] - centres) / width
    if shape == "gaussian":
        response = np.exp(-0.5 * distance**2)
    else:
        response = np.maximum(0.0, 1.0 - np.abs(distance))
    return response.reshape(len(x), -1)


def sigma_delta_spikes(rate: np.ndarray) -> np.ndarray:
    """Deterministic spikes of rates in ``[0, 1]`` ``(T, ...)``: ``uint8``, same shape.

    One integrate-and-fire modulator per input (first-order sigma-delta)::

        a[t] = a[t-1] + rate[t],   spike[t] = a[t] >= 1,   a[t] -= spike[t],   a[-1] = 0

    so every input fires ``floor(sum_t rate[t])`` spikes in all, at most one per step, spread as
    evenly as its rate allows, with no sampling noise.
    """
    rate = np.asarray(rate, dtype=np.float64)
    if rate.ndim < 1 or not np.all((rate >= 0.0) & (rate <= 1.0)):
        raise ValueError("rates must be an array (T, ...) of values in [0, 1]")
    accumulator = np.zeros(rate.shape[1:])
    spikes = np.zeros(rate.shape, dtype=np.uint8)
    for t in range(len(rate)):
        accumulator += rate[t]
        fired = accumulator >= 1.0
        spikes[t][fired] = 1
        accumulator[fired] -= 1.0
    return spikes


def rate_encode(
    x: np.ndarray,
    n_neurons: int,
    low: float,
    high: float,
    rng: RandomLike = 0,
    width: Optional[float] = None,
    shape: str = "gaussian",
    sampling: str = "bernoulli",
) -> np.ndarray:
    """Population rate code of ``x`` ``(T, C)``: ``uint8`` ``(T, C * n_neurons)``.

    Each field fires at the rate of its response ``p_j(x[t, c])`` (``receptive_fields``):
    ``sampling="bernoulli"``: ``spike[t, c * n + j] ~ Bernoulli(p_j(x[t, c]))``, drawn with
    ``rng`` (a ``numpy.random.Generator`` or a seed; the same seed gives the same spikes);
    ``"sigma-delta"``: the deterministic spikes of ``sigma_delta_spikes`` (``rng`` unused).
    """
    if sampling not in RATE_SAMPLINGS:
        raise ValueError(f"sampling must be one of {RATE_SAMPLINGS}, got {sampling!r}")
    probability = receptive_fields(x, n_neurons, low, high, width, shape)
    if sampling == "sigma-delta":
        return sigma_delta_spikes(probability)
    return (_as_generator(rng).random(probability.shape) < probability).astype(np.uint8)


# ----------------------------------------------------------------------- whole data sets


def _encode_delta_set(
    series: Sequence[np.ndarray], theta: np.ndarray, chunk: int = 256
) -> List[np.ndarray]:
    """Binary delta frames of every series, encoded in batches of ``chunk`` series."""
    out: List[np.ndarray] = []
    for start in range(0, len(series), chunk):
        block = series[start:start + chunk]
        longest = max(len(s) for s in block)
        # Hold each series' last value past its end: a constant signal crosses no level, so the
        # padding adds no events and one loop over time serves series of any length.
        batch = np.stack([np.pad(s, ((0, longest - len(s)), (0, 0)), mode="edge") for s in block])
        counts = _delta_counts_batch(batch, theta)
        frames = np.minimum(counts, 1).astype(np.uint8).reshape(len(block), longest, -1)
        out.extend(frames[i, :len(s)] for i, s in enumerate(block))
    return out


def downsample_series(ts_set: TimeSeriesSet, factor: int) -> TimeSeriesSet:
    """Every series averaged over consecutive windows of ``factor`` samples (the last,
    shorter window over the samples it has): ``x'[n] = mean(x[n k : (n + 1) k])``, a
    box-filter low-pass and downsampling in one. ``factor`` 1 returns ``ts_set`` itself."""
    if int(factor) != factor or factor < 1:
        raise ValueError(f"downsample must be an integer >= 1, got {factor}")
    factor = int(factor)
    if factor == 1:
        return ts_set
    averaged = []
    for x in ts_set.series:
        starts = np.arange(0, len(x), factor)
        sums = np.add.reduceat(x, starts, axis=0)
        averaged.append(sums / np.diff(np.append(starts, len(x)))[:, None])
    return replace(ts_set, series=tuple(averaged))


def encode_set(
    ts_set: TimeSeriesSet,
    encoder: str = "delta",
    *,
    thresholds: Sequence[float] = (0.5, 1.0),
    n_neurons: int = 8,
    low: float = -2.0,
    high: float = 2.0,
    width: Optional[float] = None,
    rf_shape: str = "gaussian",
    sampling: str = "bernoulli",
    seed: int = 0,
    scaler: Optional[TimeSeriesScaler] = None,
    length: Optional[int] = None,
    pad: str = "end",
    time_stride: int = 1,
    downsample: int = 1,
) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """Encode a whole set: ``(frames (N, n_steps, n_inputs) uint8, labels int64, encoding)``.

    ``encoder``: ``"delta"`` (``delta_encode`` with ``thresholds``, binary spikes), ``"rate"``
    (``rate_encode`` with ``n_neurons``, ``low``, ``high``, ``width``, ``rf_shape`` and
    ``sampling``; under ``"bernoulli"`` one generator seeded with ``seed`` draws the samples in
    order) or ``"delta+rate"``: both, the delta inputs first, then the rate inputs (the change
    of the signal and its level). ``scaler`` (from ``fit_scaler`` on the training set)
    standardises first, so thresholds and ranges are in std units.

    Every series is encoded at its full length, then placed on ``length`` steps (default: the
    set's ``max_length``; give the training set's value to encode its test set alike):
    ``pad="end"`` starts all series at step 0 and fills the rest with zeros (no spikes);
    ``pad="start"`` ends all series at the last step. A longer series is cut to ``length``,
    keeping its first (``"end"``) or last (``"start"``) steps. ``time_stride`` k merges k
    consecutive steps into one frame by logical OR: ``n_steps = ceil(length / k)``, the zero
    steps needed to fill the last group lying on the padding side. ``downsample`` k instead
    averages the *analog* series over windows of k samples before encoding (see
    :func:`downsample_series`; ``length`` then counts the averaged steps): for long, noisy
    series, where OR-merging the spikes of a signal that crosses a level at almost every
    sample leaves nearly every input on in every frame (ACSF1 at k = 8: 23 of 24 inputs per
    frame, against 0.2 after averaging).

    ``encoding`` is a JSON-serialisable dict of every parameter (encoder, thresholds or fields,
    scaler mean/std, length, pad, time_stride, layout, class names, source file).
    """
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
    if pad not in PAD_MODES:
        raise ValueError(f"pad must be one of {PAD_MODES}, got {pad!r}")
    if int(time_stride) != time_stride or time_stride < 1:
        raise ValueError(f"time_stride must be an integer >= 1, got {time_stride}")
    if length is not None and (int(length) != length or length < 1):
        raise ValueError(f"length must be a positive integer or None, got {length}")
    time_stride = int(time_stride)
    scaled = scaler.apply(ts_set) if scaler is not None else ts_set
    scaled = downsample_series(scaled, downsample)
    n_steps_in = int(length) if length is not None else scaled.max_length
    if sampling not in RATE_SAMPLINGS:
        raise ValueError(f"sampling must be one of {RATE_SAMPLINGS}, got {sampling!r}")
    encoding: Dict[str, Any] = {"encoder": encoder}
    parts: List[List[np.ndarray]] = []
    if encoder in ("delta", "delta+rate"):
        theta = _check_thresholds(thresholds)
        parts.append(_encode_delta_set(scaled.series, theta))
        encoding.update(thresholds=[float(v) for v in theta], max_per_step=1, layout=DELTA_LAYOUT)
    if encoder in ("rate", "delta+rate"):
        rng = np.random.default_rng(seed)
        parts.append([rate_encode(s, n_neurons, low, high, rng, width, rf_shape, sampling) for s in scaled.series])
        _, used_width = _field_centres(n_neurons, low, high, width)
        encoding.update(
            n_neurons=int(n_neurons), low=float(low), high=float(high), width=float(used_width),
            rf_shape=rf_shape, sampling=sampling, layout=RATE_LAYOUT,
        )
        if sampling == "bernoulli":
            encoding["seed"] = int(seed)
    if encoder == "delta+rate":
        encoding.update(layout=f"delta {DELTA_LAYOUT}, then rate {RATE_LAYOUT}",
                        n_delta_inputs=int(parts[0][0].shape[1]))
    spikes = parts[0] if len(parts) == 1 else [np.concatenate(both, axis=1) for both in zip(*parts)]
    n_out = -(-n_steps_in // time_stride)
    canvas = np.zeros((len(spikes), n_out * time_stride, spikes[0].shape[1]), dtype=np.uint8)
    n_cut = 0
    for index, frames in enumerate(spikes):
        if len(frames) > n_steps_in:
            n_cut += 1
            frames = frames[:n_steps_in] if pad == "end" else frames[-n_steps_in:]
        if pad == "end":
            canvas[index, :len(frames)] = frames
        else:
            canvas[index, canvas.shape[1] - len(frames):] = frames
    # OR over each group of k steps (max of 0/1 values).
    merged = canvas.reshape(len(spikes), n_out, time_stride, -1).max(axis=2)
    encoding.update(
        scaler=scaler.to_dict() if scaler is not None else None,
        length=n_steps_in,
        pad=pad,
        time_stride=time_stride,
        downsample=int(downsample),
        n_steps=n_out,
        n_channels=ts_set.n_channels,
        n_inputs=int(merged.shape[2]),
        n_truncated=n_cut,
        dataset=ts_set.name,
        class_names=list(ts_set.class_names),
        sources=[ts_set.source] if ts_set.source else [],
    )
    return merged, ts_set.labels.copy(), encoding


#: samples averaged into one step before encoding, per UEA/UCR set, so that T stays near or
#: below 200: PickupGestureWiimoteZ is up to 361 samples long (-> 91), BasicMotions 100
#: (-> 100), OSULeaf 427 (-> 107), ACSF1 1460 (-> 183); any other set ceil(max_length / 200).
#: Averaging the analog signal first, rather than OR-merging its spikes, keeps ACSF1's frames
#: sparse (0.8 % of inputs on, against 97 %) and raised BPTT from 0.17 to 0.29 there, from
#: 0.36 to 0.54 on PickupGestureWiimoteZ and from 0.62 to 0.64 on OSULeaf (seed 0).
UCR_DOWNSAMPLE = {"PickupGestureWiimoteZ": 4, "BasicMotions": 1, "OSULeaf": 4, "ACSF1": 8}
UCR_MAX_STEPS = 200
#: channels x thresholds of the standard encoding's delta code (x 2 directions: 24 inputs),
#: thresholds in steps of 0.1 training standard deviations
UCR_THRESHOLD_INPUTS, UCR_THRESHOLD_STEP = 12, 0.1
#: the population code of the level in ``encode_ucr_pair``'s level code: at least 4 receptive
#: fields per channel (12 for one channel), centred on -2 ... +2 training standard
#: deviations, spikes by sigma-delta
UCR_FIELD_INPUTS, UCR_MIN_FIELDS, UCR_FIELD_RANGE = 12, 4, (-2.0, 2.0)
#: the encodings of a UEA/UCR set, and the standard one: the level code, "delta+rate" (the
#: delta code and the population code of the level side by side); "delta" is the delta code
#: alone, the standard before the level code (benchmarks/RESULTS.md, "The level code by default")
UCR_ENCODERS = ("delta+rate", "delta")
UCR_ENCODER = "delta+rate"


def ucr_thresholds(n_channels: int) -> List[float]:
    """K = max(1, 12 // n_channels) thresholds 0.1, 0.2, ..., 0.1 K (training std units)."""
    k = max(1, UCR_THRESHOLD_INPUTS // n_channels)
    return [round(UCR_THRESHOLD_STEP * (i + 1), 10) for i in range(k)]


def ucr_fields(n_channels: int) -> int:
    """Receptive fields per channel of the UEA/UCR level code: max(4, 12 // n_channels)."""
    return max(UCR_MIN_FIELDS, UCR_FIELD_INPUTS // n_channels)


def ucr_downsample(name: str, max_length: int) -> int:
    """Samples averaged per step for the set ``name`` (:data:`UCR_DOWNSAMPLE`, else T <= 200)."""
    return UCR_DOWNSAMPLE.get(name, max(1, math.ceil(max_length / UCR_MAX_STEPS)))


def encode_ucr_pair(
    train: TimeSeriesSet, test: TimeSeriesSet, encoder: str = UCR_ENCODER
) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray], Dict[str, Any]]:
    """The library's standard spike encoding of a UEA/UCR train/test pair (what
    ``benchmarks/temporal.py`` and ``lava-local train --data ucr:NAME`` use), the level code
    ``encoder="delta+rate"``: the training set's scaler, each series averaged over
    :func:`ucr_downsample` samples, then the delta code of its changes with
    :func:`ucr_thresholds` (24 inputs for up to 12 channels) and, after the delta inputs, a
    population code of its level: :func:`ucr_fields` Gaussian receptive fields per channel
    over -2 ... +2 std, each firing at its response by sigma-delta (deterministic; 12 more
    inputs for a univariate set).

    ``encoder="delta"`` keeps the delta code alone, which leaves the level to be integrated
    from the events. With the level beside it every method gained on four of six sets (BPTT
    12 to 14 points feed-forward on PickupGestureWiimoteZ and ItalyPowerDemand, TESS and
    S-TLLR's local signal 8 to 16), and the largest loss of a rule on the others is 3.5
    points, within its spread over seeds (S-TLLR's local signal on GunPoint's recurrent
    network; benchmarks/RESULTS.md, "The level code by default").

    Padding at the end; the test set with the training scaler and length. Returns ``((x, y),
    (x_test, y_test), encoding)``, the encoding of the training set with the test set's source
    added."""
    if encoder not in UCR_ENCODERS:
        raise ValueError(f"the UEA/UCR encoding is 'delta+rate' or 'delta', got {encoder!r}")
    options = dict(encoder=encoder, thresholds=ucr_thresholds(train.n_channels), scaler=fit_scaler(train),
                   pad="end", downsample=ucr_downsample(train.name, train.max_length))
    if encoder == "delta+rate":
        low, high = UCR_FIELD_RANGE
        options.update(n_neurons=ucr_fields(train.n_channels), low=low, high=high, sampling="sigma-delta")
    x, y, encoding = encode_set(train, **options)
    x_test, y_test, encoding_test = encode_set(test, length=encoding["length"], **options)
    encoding = dict(encoding, sources=encoding["sources"] + encoding_test["sources"],
                    n_test_truncated=encoding_test["n_truncated"])
    return (x, y), (x_test, y_test), encoding


def save_encoded_npz(
    path: os.PathLike | str, frames: np.ndarray, labels: np.ndarray, encoding: Dict[str, Any]
) -> Path:
    """Write encoded frames in the ``.npz`` format, the encoding in ``metadata_json``.

    The file is an ordinary dense ``npz_format`` file (``load_npz_dataset`` reads it); its
    metadata is ``{"encoding": encoding}``. Returns the path written.
    """
    try:
        json.dumps(encoding)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: the encoding dict is not JSON-serialisable: {error}") from error
    return save_npz_dataset(path, labels, frames=frames, metadata={"encoding": encoding})


def load_encoded_npz(path: os.PathLike | str) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """``(frames, labels, encoding)`` of a file written by ``save_encoded_npz``."""
    frames, labels = load_npz_dataset(path)
    metadata = load_npz_metadata(path)
    if "encoding" not in metadata:
        raise ValueError(f"{path} holds no encoding record (metadata_json lacks 'encoding')")
    return frames, labels, metadata["encoding"]


# ---------------------------------------------------------------- UEA/UCR via the aeon wheel


def default_aeon_cache() -> Path:
    """``$LAVA_LOCAL_DATA/aeon`` if that variable is set, else ``~/.cache/lava_local/aeon``."""
    if os.environ.get("LAVA_LOCAL_DATA"):
        return Path(os.environ["LAVA_LOCAL_DATA"]) / "aeon"
    return Path.home() / ".cache" / "lava_local" / "aeon"


def _pip_download_command(cache_dir: Path) -> List[str]:
    return [
        sys.executable, "-m", "pip", "download", f"aeon=={AEON_VERSION}", "--no-deps", "-d", str(cache_dir)
    ]


def find_aeon_wheel(
    cache_dir: Optional[os.PathLike | str] = None, download: bool = False, timeout_s: float = 600.0
) -> Path:
    """The path of ``aeon-1.6.0-py3-none-any.whl`` in ``cache_dir`` (default ``default_aeon_cache()``).

    If it is absent and ``download=True``, runs ``python -m pip download aeon==1.6.0 --no-deps
    -d cache_dir`` once (killed after ``timeout_s``). Otherwise, or if that fails, raises
    ``FileNotFoundError`` giving the command to run and where the wheel must go.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_aeon_cache()
    wheel = cache / AEON_WHEEL
    if wheel.is_file():
        return wheel
    command = _pip_download_command(cache)
    detail = ""
    if download:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
            if wheel.is_file():
                return wheel
            output = (result.stderr or result.stdout).strip()[-500:]
            detail = f" pip exited with {result.returncode}: {output}"
        except (OSError, subprocess.TimeoutExpired) as error:
            detail = f" Downloading failed: {error}"
    raise FileNotFoundError(
        f"the aeon wheel {AEON_WHEEL} (which holds the UEA/UCR .ts files) is not in {cache}.{detail} "
        f"Get it with:\n    {shlex.join(command)}\nor copy {AEON_WHEEL} into {cache} "
        "(or pass download=True; set LAVA_LOCAL_DATA to use $LAVA_LOCAL_DATA/aeon)."
    )


def _wheel_datasets(archive: zipfile.ZipFile) -> Dict[str, Tuple[str, str]]:
    """Data set name -> (train member, test member), for every name with both files."""
    members = set(archive.namelist())
    found: Dict[str, Tuple[str, str]] = {}
    for member in members:
        if not (member.startswith(_AEON_DATA_PREFIX) and member.endswith("_TRAIN.ts")):
            continue
        parts = member[len(_AEON_DATA_PREFIX):].split("/")
        if len(parts) != 2 or parts[1] != f"{parts[0]}_TRAIN.ts":
            continue
        test = f"{_AEON_DATA_PREFIX}{parts[0]}/{parts[0]}_TEST.ts"
        if test in members:
            found[parts[0]] = (member, test)
    return found


def _open_wheel(wheel: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{wheel} is not a valid wheel (zip) file: {error}; delete it and fetch it again"
        ) from error


def list_uea_ucr(
    cache_dir: Optional[os.PathLike | str] = None, download: bool = False
) -> Tuple[str, ...]:
    """Names of the data sets with both ``_TRAIN.ts`` and ``_TEST.ts`` in the aeon wheel, sorted."""
    with _open_wheel(find_aeon_wheel(cache_dir, download)) as archive:
        return tuple(sorted(_wheel_datasets(archive)))


def load_uea_ucr(
    name: str, cache_dir: Optional[os.PathLike | str] = None, download: bool = False
) -> Tuple[TimeSeriesSet, TimeSeriesSet]:
    """``(train, test)`` of the UEA/UCR data set ``name``, read out of the aeon wheel.

    The two files are parsed with the ``.ts`` reader straight from the zip (aeon is not
    installed). If the test file declares the same classes in another order, its labels are
    mapped onto the training order, so label ``i`` means the same class in both sets.
    """
    wheel = find_aeon_wheel(cache_dir, download)
    with _open_wheel(wheel) as archive:
        available = _wheel_datasets(archive)
        if name not in available:
            raise ValueError(
                f"unknown UEA/UCR data set {name!r}; {wheel} holds: {', '.join(sorted(available))}"
            )
        sets = []
        for member in available[name]:
            text = archive.read(member).decode("utf-8", errors="replace")
            sets.append(parse_ts(text.splitlines(), source=f"{wheel}!{member}", default_name=name))
    train, test = sets
    if test.class_names != train.class_names:
        if sorted(test.class_names) != sorted(train.class_names):
            raise ValueError(
                f"{name}: the test file declares classes {test.class_names}, the training file "
                f"{train.class_names}"
            )
        order = np.array([train.class_names.index(c) for c in test.class_names], dtype=np.int64)
        test = TimeSeriesSet(test.series, order[test.labels], train.class_names, test.name, test.source)
    return train, test

"""A plain ``.npz`` dataset format anyone can write with NumPy alone.

A file holds one of two kinds (``numpy.savez``/``savez_compressed``, no pickled objects):

Dense frames
    ``frames``  ``(N, T, ...)`` ``uint8``, ``bool`` (0/1 spikes) or floating point (analog
                input); the trailing axes are one frame, e.g. ``(n_inputs,)`` or ``(C, H, W)``.
    ``labels``  ``(N,)`` integer class labels.

Events (binned into ``n_steps`` frames with ``bin_events`` when loaded)
    ``events_x``, ``events_y``, ``events_p``, ``events_t``  1-D integer arrays, all samples'
                events concatenated; ``t`` in microseconds from the sample's start, sorted
                within each sample.
    ``events_offsets``  ``(N + 1,)`` integers: sample ``i`` is ``events_*[offsets[i]:offsets[i+1]]``
                (``offsets[0] == 0``, non-decreasing, ``offsets[-1]`` == number of events).
    ``labels``  ``(N,)`` integer class labels.
    ``sensor_size``  ``(3,)`` integers ``(width, height, polarities)``.
    optional ``n_steps`` (scalar): default number of bins; ``duration_us`` (scalar): the window
                split into bins (absent: each sample's own span, up to its last event).

Either kind may also hold ``metadata_json``: a 0-d unicode string array holding one JSON object
(how the data were made, e.g. a time-series spike encoding); ``save_npz_dataset(metadata=...)``
writes it, ``load_npz_metadata`` reads it back and ``load_npz_dataset`` ignores it.

``load_npz_dataset`` returns ``(frames, labels)``: frames ``(N, T, n_inputs)`` flattened C-order
(``uint8`` spikes, or ``float32`` for analog dense frames), or unflattened with
``flatten=False`` (events then give ``(N, T, polarities, height, width)``), and ``int64`` labels.
"""
from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .events import EVENT_DTYPE, bin_events, check_events

EVENT_KEYS = ("events_x", "events_y", "events_p", "events_t", "events_offsets", "labels", "sensor_size")
DENSE_KEYS = ("frames", "labels")
METADATA_KEY = "metadata_json"


def _check_labels(labels: np.ndarray, n_samples: int, source: str) -> np.ndarray:
    """Return ``labels`` as ``int64`` after checking they are a 1-D integer array of length N."""
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{source}: labels must be integers, got dtype {labels.dtype}")
    if labels.ndim != 1 or len(labels) != n_samples:
        raise ValueError(
            f"{source}: labels must have shape ({n_samples},) (one per sample), got {labels.shape}"
        )
    return labels.astype(np.int64)


def _check_frames(frames: np.ndarray, source: str) -> np.ndarray:
    """Return dense ``frames`` (bool -> ``uint8``) after checking shape ``(N, T, ...)`` and dtype."""
    frames = np.asarray(frames)
    if frames.ndim < 3:
        raise ValueError(
            f"{source}: frames must have shape (N, T, ...) with at least one frame axis, got "
            f"{frames.shape}"
        )
    if frames.dtype == np.bool_:
        return frames.astype(np.uint8)
    if frames.dtype == np.uint8:
        return frames
    if np.issubdtype(frames.dtype, np.floating):
        _check_finite(frames, source)
        return frames
    raise ValueError(f"{source}: frames must be uint8, bool or float, got {frames.dtype}")


def _check_finite(frames: np.ndarray, source: str) -> None:
    """Refuse float ``frames`` ``(N, ...)`` holding NaN or infinity, naming how many and the
    first sample that does. One pass without a temporary in the common case: the float64
    sum of finite float32 data is finite, and NaN or infinity makes it NaN or infinite."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(frames, dtype=np.float64)):
            return
    bad = ~np.isfinite(frames.reshape(len(frames), -1))
    per_sample = np.count_nonzero(bad, axis=1)
    if per_sample.any():  # else float64 data whose finite sum overflowed
        first = int(np.flatnonzero(per_sample)[0])
        raise ValueError(
            f"{source}: frames hold {int(per_sample.sum())} NaN or infinite value(s), the first in "
            f"sample {first} ({int(per_sample[first])} there); frames must be finite"
        )


def _check_label_range(labels: np.ndarray, source: str, n_classes: Optional[int]) -> None:
    """Refuse negative labels and, with ``n_classes``, labels ``>= n_classes``."""
    outside = labels < 0 if n_classes is None else (labels < 0) | (labels >= n_classes)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        wanted = "integers >= 0" if n_classes is None else f"in [0, {n_classes}) (n_classes={n_classes})"
        raise ValueError(
            f"{source}: label {int(labels[index])} of sample {index} is outside the classes: "
            f"labels must be {wanted}"
        )


def _check_offsets(offsets: np.ndarray, n_events: int, source: str) -> np.ndarray:
    """Validate ``events_offsets`` against the number of events; return it as ``int64``."""
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or len(offsets) < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(
            f"{source}: events_offsets must be a 1-D integer array (N + 1,), got "
            f"{offsets.dtype} {offsets.shape}"
        )
    if offsets[0] != 0 or offsets[-1] != n_events or np.any(np.diff(offsets) < 0):
        raise ValueError(
            f"{source}: events_offsets must start at 0, never decrease and end at the number of "
            f"events ({n_events}); got first {offsets[0]}, last {offsets[-1]}"
        )
    return offsets.astype(np.int64)


def _check_sensor_size(sensor_size: Sequence[int] | np.ndarray, source: str) -> Tuple[int, int, int]:
    """``(width, height, polarities)`` as a tuple of positive ints."""
    array = np.asarray(sensor_size)
    if array.shape != (3,) or not np.issubdtype(array.dtype, np.integer) or np.any(array < 1):
        raise ValueError(
            f"{source}: sensor_size must be 3 positive integers (width, height, polarities), "
            f"got {sensor_size!r}"
        )
    width, height, polarities = (int(v) for v in array)
    return width, height, polarities


def _narrowest_unsigned(column: np.ndarray) -> np.dtype:
    """The smallest unsigned integer type holding every value of a non-negative column."""
    top = int(column.max()) if column.size else 0
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return np.dtype(kind)
    return np.dtype(np.uint64)


def save_npz_dataset(
    path: os.PathLike | str,
    labels: np.ndarray | Sequence[int],
    frames: Optional[np.ndarray] = None,
    events: Optional[Sequence[np.ndarray]] = None,
    sensor_size: Optional[Tuple[int, int, int]] = None,
    n_steps: Optional[int] = None,
    duration_us: Optional[int] = None,
    compress: bool = True,
    compact: bool = False,
    extra: Optional[Dict[str, np.ndarray]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Path:
    """Write a dataset in the ``.npz`` format of this module; give ``frames`` or ``events``.

    ``frames``: dense ``(N, T, ...)`` array. ``events``: one structured event array per sample
    (fields ``x``, ``y``, ``p``, ``t``, e.g. ``EVENT_DTYPE``), with ``sensor_size``; ``n_steps``
    and ``duration_us`` are stored as the default binning. ``compact``: store event fields
    in the narrowest unsigned integer type that holds them (``uint8`` coordinates of a
    small sensor, ``uint32`` timestamps below 71 minutes): a third of the size, the same
    events. ``extra``: further arrays stored under their own keys (e.g. sample ids),
    which the loaders ignore. ``metadata``: a JSON-serialisable dict stored as the string
    ``metadata_json`` (read back with ``load_npz_metadata``). Returns the path written (NumPy
    appends ``.npz`` if missing).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    source = str(path)
    if (frames is None) == (events is None):
        raise ValueError("save_npz_dataset needs exactly one of frames= or events=")
    arrays: Dict[str, np.ndarray] = {}
    if frames is not None:
        checked = _check_frames(frames, source)
        arrays["frames"] = checked
        arrays["labels"] = _check_labels(np.asarray(labels), len(checked), source)
    else:
        if sensor_size is None:
            raise ValueError("save_npz_dataset: events need sensor_size=(width, height, polarities)")
        size = _check_sensor_size(sensor_size, source)
        samples = list(events)
        for index, sample in enumerate(samples):
            check_events(sample, size, name=f"{source}: events of sample {index}")
        lengths = np.array([len(sample) for sample in samples], dtype=np.int64)
        joined = np.zeros(int(lengths.sum()), dtype=EVENT_DTYPE)
        for field in ("x", "y", "p", "t"):
            if samples:
                joined[field] = np.concatenate([np.asarray(sample[field]) for sample in samples])
            column = joined[field]
            arrays[f"events_{field}"] = column.astype(_narrowest_unsigned(column)) if compact else column.copy()
        arrays["events_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        arrays["labels"] = _check_labels(np.asarray(labels), len(samples), source)
        arrays["sensor_size"] = np.asarray(size, dtype=np.int64)
        if n_steps is not None:
            arrays["n_steps"] = np.asarray(int(n_steps), dtype=np.int64)
        if duration_us is not None:
            arrays["duration_us"] = np.asarray(int(duration_us), dtype=np.int64)
    for key, value in (extra or {}).items():
        if key in arrays or key.startswith("events_") or key in DENSE_KEYS or key == METADATA_KEY:
            raise ValueError(f"save_npz_dataset: extra key {key!r} would shadow a dataset array")
        arrays[key] = np.asarray(value)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ValueError(f"{source}: metadata must be a dict, got {type(metadata).__name__}")
        try:
            text = json.dumps(metadata, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: metadata is not JSON-serialisable: {error}") from error
        # A 0-d unicode array, not an object array: the file still loads with allow_pickle=False.
        arrays[METADATA_KEY] = np.asarray(text, dtype=np.str_)
    (np.savez_compressed if compress else np.savez)(path, **arrays)
    return path


def load_npz_metadata(path: os.PathLike | str) -> Dict[str, Any]:
    """The ``metadata_json`` dict of a ``.npz`` dataset, or ``{}`` if the file holds none."""
    archive, path = _open_archive(path)
    with archive:
        if METADATA_KEY not in archive.files:
            return {}
        raw = _read_member(archive, METADATA_KEY, path)
    if raw.shape != () or raw.dtype.kind != "U":
        raise ValueError(f"{path}: {METADATA_KEY} must be a 0-d unicode string, got {raw.dtype} {raw.shape}")
    try:
        metadata = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: {METADATA_KEY} is not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: {METADATA_KEY} must hold a JSON object, got {type(metadata).__name__}")
    return metadata


#: what ``np.load`` and reading an archive's arrays raise for a file that is no readable ``.npz``
_UNREADABLE = (ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _not_readable(path: Path, found: str) -> ValueError:
    return ValueError(
        f"{path}: not a readable .npz dataset ({found}); expected a NumPy .npz archive with the "
        f"arrays {list(DENSE_KEYS)} (dense frames) or {list(EVENT_KEYS)} (events), as "
        "save_npz_dataset writes"
    )


def _why(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _open_archive(path: os.PathLike | str) -> Tuple[Any, Path]:
    """The open ``NpzFile`` of ``path`` (no pickled objects), or a ``ValueError`` naming the
    file and what it holds instead: garbage, an empty file, a truncated zip, a ``.npy``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"npz dataset not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except _UNREADABLE as error:
        with open(path, "rb") as handle:
            head = handle.read(8)
        if not head:
            found = "an empty file"
        elif head.startswith(b"PK"):
            found = f"a damaged or truncated zip archive: {_why(error)}"
        elif head.startswith(b"\x93NUMPY"):
            found = f"a damaged .npy file: {_why(error)}"
        else:
            found = f"no zip archive: the file starts with {head!r}"
        raise _not_readable(path, found) from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise _not_readable(path, f"a single .npy array of shape {loaded.shape} and dtype {loaded.dtype}")
    return loaded, path


def _read_member(archive: Any, key: str, path: Path) -> np.ndarray:
    """One array of an open archive; a damaged member or pickled objects give a ``ValueError``."""
    try:
        return archive[key]
    except _UNREADABLE as error:
        if "Object arrays cannot be loaded" in str(error):
            found = f"the array {key!r} holds pickled Python objects, which are never loaded"
        else:
            found = f"the array {key!r} cannot be read, a damaged archive: {_why(error)}"
        raise _not_readable(path, found) from error


def _read_archive(path: os.PathLike | str) -> Tuple[Dict[str, np.ndarray], str]:
    """Every array of an ``.npz`` file (no pickled objects) and the file's name for errors."""
    archive, path = _open_archive(path)
    with archive:
        return {key: _read_member(archive, key, path) for key in archive.files}, str(path)


def load_npz_dataset(
    path: os.PathLike | str,
    n_steps: Optional[int] = None,
    duration_us: Optional[int] = None,
    flatten: bool = True,
    n_classes: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Read a ``.npz`` dataset (dense frames or events) as ``(frames, labels)``.

    ``n_steps``: for events, the number of bins (default: the stored ``n_steps``; one of the
    two is required); for dense frames, ``None`` or the stored ``T``. ``duration_us``
    overrides the stored event window. ``n_classes``: when given, labels must lie in
    ``[0, n_classes)`` (negative labels are refused in any case). Raises
    ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the file) for a file
    that is no readable ``.npz`` archive, missing keys, shape mismatches, non-integer or
    out-of-range labels (with the sample), NaN or infinite frames (how many, and the first
    sample holding one) and a dataset of no samples.
    """
    if n_classes is not None and (
        isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1
    ):
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    contents, source = _read_archive(path)
    has_frames = "frames" in contents
    has_events = any(key.startswith("events_") for key in contents)
    if has_frames and has_events:
        raise ValueError(f"{source} holds both frames and events_* arrays; keep one kind")
    if not (has_frames or has_events):
        raise ValueError(
            f"{source} holds neither dense frames nor events (keys: {sorted(contents)}); expected "
            f"{list(DENSE_KEYS)} or {list(EVENT_KEYS)}"
        )
    if has_frames:
        frames, labels = _dense_from_contents(contents, source, n_steps, flatten)
    else:
        frames, labels = _events_from_contents(contents, source, n_steps, duration_us, flatten)
    _check_label_range(labels, source, n_classes)
    return frames, labels


def _dense_from_contents(
    contents: Dict[str, np.ndarray], source: str, n_steps: Optional[int], flatten: bool
) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames, labels)`` of a dense file."""
    missing = [key for key in DENSE_KEYS if key not in contents]
    if missing:
        raise ValueError(f"{source}: dense dataset lacks the key(s) {missing}")
    frames = _check_frames(contents["frames"], source)
    if len(frames) == 0:
        raise ValueError(f"{source} holds no samples: frames of shape {frames.shape}")
    labels = _check_labels(contents["labels"], len(frames), source)
    if n_steps is not None and n_steps != frames.shape[1]:
        raise ValueError(
            f"{source}: stores dense frames with T = {frames.shape[1]} steps, n_steps={n_steps} "
            "was asked (dense frames are not re-binned)"
        )
    if np.issubdtype(frames.dtype, np.floating):
        frames = frames.astype(np.float32)
    if flatten:
        frames = frames.reshape(frames.shape[0], frames.shape[1], -1)
    return frames, labels


def _events_from_contents(
    contents: Dict[str, np.ndarray],
    source: str,
    n_steps: Optional[int],
    duration_us: Optional[int],
    flatten: bool,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames, labels)`` of an events file, binned with ``bin_events``."""
    events, offsets, labels, sensor_size = _events_from_arrays(contents, source)
    n_samples = len(labels)
    if n_samples == 0:
        raise ValueError(f"{source} holds no samples: events_offsets is {offsets.tolist()}")
    if n_steps is None:
        if "n_steps" not in contents:
            raise ValueError(f"{source}: pass n_steps (the file stores no default n_steps)")
        n_steps = int(contents["n_steps"])
    if duration_us is None and "duration_us" in contents:
        duration_us = int(contents["duration_us"])
    width, height, polarities = sensor_size
    frames = np.zeros((n_samples, n_steps, polarities * height * width), dtype=np.uint8)
    for index in range(n_samples):
        sample = events[offsets[index]:offsets[index + 1]]
        try:
            frames[index] = bin_events(sample, sensor_size, n_steps, duration_us)
        except ValueError as error:
            raise ValueError(f"{source}: sample {index}: {error}") from error
    if not flatten:
        frames = frames.reshape(n_samples, n_steps, polarities, height, width)
    return frames, labels


def load_npz_events(
    path: os.PathLike | str,
    sensor_size: Optional[Tuple[int, int, int]] = None,
    extra_keys: Sequence[str] = (),
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
    """Read an events file without binning: ``(events, offsets, labels, extra)``.

    ``events``: all samples' events as one ``EVENT_DTYPE`` array, sample ``i`` being
    ``events[offsets[i]:offsets[i + 1]]``; ``extra``: the arrays named in ``extra_keys``.
    ``sensor_size``, if given, must equal the file's. Raises as :func:`load_npz_dataset`.
    """
    contents, source = _read_archive(path)
    events, offsets, labels, stored_size = _events_from_arrays(contents, source)
    if sensor_size is not None and tuple(sensor_size) != stored_size:
        raise ValueError(f"{source}: sensor_size {stored_size} in the file, {tuple(sensor_size)} expected")
    missing = [key for key in extra_keys if key not in contents]
    if missing:
        raise ValueError(f"{source}: lacks the key(s) {missing}")
    return events, offsets, labels, {key: contents[key] for key in extra_keys}


def _events_from_arrays(
    contents: Dict[str, np.ndarray], source: str
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int, int]]:
    """``(events, offsets, labels, sensor_size)`` of an events file's arrays, validated."""
    missing = [key for key in EVENT_KEYS if key not in contents]
    if missing:
        raise ValueError(f"{source}: event dataset lacks the key(s) {missing}")
    columns = {field: contents[f"events_{field}"] for field in ("x", "y", "p", "t")}
    n_events = len(columns["t"])
    for field, column in columns.items():
        if column.ndim != 1 or len(column) != n_events:
            raise ValueError(
                f"{source}: events_x/y/p/t must be 1-D of equal length; events_{field} has shape "
                f"{column.shape}, events_t {columns['t'].shape}"
            )
        if not np.issubdtype(column.dtype, np.integer) and column.dtype != np.bool_:
            raise ValueError(f"{source}: events_{field} must be integers, got {column.dtype}")
    offsets = _check_offsets(contents["events_offsets"], n_events, source)
    n_samples = len(offsets) - 1
    labels = _check_labels(contents["labels"], n_samples, source)
    sensor_size = _check_sensor_size(contents["sensor_size"], source)
    events = np.zeros(n_events, dtype=EVENT_DTYPE)
    for field, column in columns.items():
        events[field] = column
    return events, offsets, labels, sensor_size

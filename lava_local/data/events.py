"""Event streams as NumPy structured arrays and their binning into spike frames.

The dtype matches tonic's (``x``, ``y``, ``p``, ``t`` with ``t`` in microseconds), so
events read here and events from ``tonic`` datasets are interchangeable.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])


def check_events(events: np.ndarray, sensor_size: Tuple[int, int, int], name: str = "events") -> None:
    """Raise ``ValueError`` if events fall outside ``sensor_size = (width, height, polarities)``."""
    missing = {"x", "y", "p", "t"} - set(events.dtype.names or ())
    if missing:
        raise ValueError(f"{name} lacks the field(s) {sorted(missing)}")
    width, height, polarities = sensor_size
    for field, limit in (("x", width), ("y", height), ("p", polarities)):
        values = events[field]
        if values.size and (values.min() < 0 or values.max() >= limit):
            raise ValueError(
                f"{name}: {field} spans [{values.min()}, {values.max()}], outside the sensor "
                f"size {sensor_size} (valid {field}: 0..{limit - 1})"
            )
    if events.size > 1 and np.any(np.diff(events["t"]) < 0):
        raise ValueError(f"{name}: timestamps are not sorted")


def bin_events(
    events: np.ndarray,
    sensor_size: Tuple[int, int, int],
    n_steps: int,
    duration_us: int | None = None,
    binary: bool = True,
) -> np.ndarray:
    """Bin events into ``n_steps`` equal time bins: an array ``(n_steps, p * h * w)``.

    Bins span ``[0, duration_us)`` (default: up to the last timestamp). With ``binary``
    a pixel spikes at most once per bin, as a spike source needs; otherwise the counts.
    The flat index is ``p * h * w + y * w + x`` (channel-major, like tonic's ToFrame).
    """
    check_events(events, sensor_size)
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    width, height, polarities = sensor_size
    frames = np.zeros((n_steps, polarities * height * width), dtype=np.float32)
    if events.size == 0:
        return frames
    t = events["t"].astype(np.int64)
    span = int(duration_us) if duration_us is not None else int(t.max()) + 1
    keep = t < span
    step = (t[keep] * n_steps) // span
    flat = (
        events["p"][keep].astype(np.int64) * height * width
        + events["y"][keep].astype(np.int64) * width
        + events["x"][keep].astype(np.int64)
    )
    np.add.at(frames, (step, flat), 1.0)
    if binary:
        np.minimum(frames, 1.0, out=frames)
    return frames

"""N-MNIST: the original binary event format and the 1k/100 subset kept for tests.

Format (Orchard et al. 2015): 5 bytes per event, big-endian bit fields
``x (8) | y (8) | polarity (1) | timestamp (23, microseconds)`` on a 34 x 34 sensor.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .events import EVENT_DTYPE, bin_events, check_events

NMNIST_SENSOR: Tuple[int, int, int] = (34, 34, 2)
_SUBSET_DIR = "nmnist-small"
_LISTS = {"train": "train1K.txt", "test": "test100.txt"}


def read_nmnist_file(path: os.PathLike | str) -> np.ndarray:
    """Read one ``.bin``/``.bs2`` N-MNIST recording into an ``EVENT_DTYPE`` array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"N-MNIST recording not found: {path}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise ValueError(f"N-MNIST recording {path} is empty")
    if raw.size % 5:
        raise ValueError(
            f"N-MNIST recording {path} is truncated: {raw.size} bytes is not a multiple of "
            "5 (each event takes 5 bytes)"
        )
    b = raw.reshape(-1, 5).astype(np.int64)
    events = np.empty(len(b), dtype=EVENT_DTYPE)
    events["x"] = b[:, 0]
    events["y"] = b[:, 1]
    events["p"] = b[:, 2] >> 7
    events["t"] = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    check_events(events, NMNIST_SENSOR, name=str(path))
    return events


def find_nmnist_subset(root: Optional[os.PathLike | str] = None) -> Path:
    """Locate the ``nmnist-small`` folder.

    Looks at ``root`` if given, else ``$LAVA_LOCAL_DATA/nmnist-small`` and
    ``shared/data/nmnist-small`` beside the checkout (and beside the working directory).
    """
    candidates: List[Path] = []
    if root is not None:
        candidates.append(Path(root))
    else:
        if "LAVA_LOCAL_DATA" in os.environ:
            candidates.append(Path(os.environ["LAVA_LOCAL_DATA"]) / _SUBSET_DIR)
        here = Path(__file__).resolve().parents[2]
        for base in (here, Path.cwd()):
            candidates.append(base.parent / "shared" / "data" / _SUBSET_DIR)
            candidates.append(base / "shared" / "data" / _SUBSET_DIR)
    for path in candidates:
        if (path / _LISTS["train"]).is_file() and (path / _LISTS["test"]).is_file():
            return path
    raise FileNotFoundError(
        "N-MNIST subset not found. Expected a folder holding train1K.txt, test100.txt and "
        "the recordings <id>.bs2 (1.bs2 ... 1000.bs2, 60001.bs2 ... 60100.bs2); looked in: "
        + ", ".join(str(p) for p in candidates)
        + ". Set LAVA_LOCAL_DATA to the folder that contains nmnist-small/."
    )


@dataclass
class NMNISTSubset:
    """The real N-MNIST 1k/100 subset: recordings listed in train1K.txt / test100.txt."""

    split: str = "train"
    root: Optional[Path] = None

    def __post_init__(self) -> None:
        if self.split not in _LISTS:
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        self.root = find_nmnist_subset(self.root)
        rows = np.loadtxt(self.root / _LISTS[self.split], dtype=np.int64, comments="#", ndmin=2)
        self.ids: np.ndarray = rows[:, 0]
        self.labels: np.ndarray = rows[:, 1]
        missing = [i for i in self.ids if not (self.root / f"{i}.bs2").is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} recording(s) listed in {_LISTS[self.split]} are missing in "
                f"{self.root}, e.g. {missing[0]}.bs2"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def events(self, index: int) -> np.ndarray:
        return read_nmnist_file(self.root / f"{self.ids[index]}.bs2")

    def frames(self, index: int, n_steps: int, duration_us: int = 300_000) -> np.ndarray:
        """Binary spike frames ``(n_steps, 2312)`` of recording ``index``."""
        return bin_events(self.events(index), NMNIST_SENSOR, n_steps, duration_us)

    def dense(self, n_steps: int, indices: Sequence[int] | None = None,
              duration_us: int = 300_000) -> Tuple[np.ndarray, np.ndarray]:
        """All (or the given) recordings as ``(N, n_steps, 2312)`` frames and labels."""
        idx = range(len(self)) if indices is None else indices
        x = np.stack([self.frames(i, n_steps, duration_us) for i in idx])
        return x, self.labels[list(idx)]

"""N-MNIST: the original binary event format and the 1k/100 subset shipped with the library.

Format (Orchard et al. 2015): 5 bytes per event, big-endian bit fields
``x (8) | y (8) | polarity (1) | timestamp (23, microseconds)`` on a 34 x 34 sensor.

The subset (the first 1,000 training and first 100 test recordings of N-MNIST) ships inside
the package, in ``lava_local/data/nmnist_small/``, as two files of the library's ``.npz``
event format (:mod:`.npz_format`; 14.5 MB together, every event kept), with its licence
(CC BY-SA 4.0) and citation beside them. :func:`pack_nmnist_subset` writes those files
from the original folder of ``.bs2`` recordings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .events import EVENT_DTYPE, bin_events, check_events
from .npz_format import load_npz_events, save_npz_dataset

NMNIST_SENSOR: Tuple[int, int, int] = (34, 34, 2)
#: the window every recording is binned over (three saccades of about 100 ms)
NMNIST_DURATION_US = 300_000
SHIPPED_SUBSET = Path(__file__).resolve().parent / "nmnist_small"
_SUBSET_DIR = "nmnist-small"
_LISTS = {"train": "train1K.txt", "test": "test100.txt"}
_PACKED = {"train": "train.npz", "test": "test.npz"}


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


def _is_recordings_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in _LISTS.values())


def _is_packed_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in _PACKED.values())


def find_nmnist_subset(root: Optional[os.PathLike | str] = None) -> Path:
    """Locate the N-MNIST subset: a folder of the original recordings (``train1K.txt``,
    ``test100.txt``, ``<id>.bs2``) or of the packed files (``train.npz``, ``test.npz``).

    Looks at ``root`` if given; else ``$LAVA_LOCAL_DATA/nmnist-small`` when that folder
    exists, and then the copy shipped with the library (so it works from any working
    directory, with nothing beside the package).
    """
    candidates: List[Path] = []
    if root is not None:
        candidates.append(Path(root))
    else:
        if "LAVA_LOCAL_DATA" in os.environ:
            candidates.append(Path(os.environ["LAVA_LOCAL_DATA"]) / _SUBSET_DIR)
        candidates.append(SHIPPED_SUBSET)
    for path in candidates:
        if _is_recordings_folder(path) or _is_packed_folder(path):
            return path
    raise FileNotFoundError(
        "N-MNIST subset not found. Expected a folder holding train1K.txt, test100.txt and "
        "the recordings <id>.bs2 (1.bs2 ... 1000.bs2, 60001.bs2 ... 60100.bs2), or the packed "
        "train.npz and test.npz; looked in: " + ", ".join(str(p) for p in candidates)
        + ". Set LAVA_LOCAL_DATA to the folder that contains nmnist-small/ (the library's own "
        f"copy belongs in {SHIPPED_SUBSET}: reinstall the package if it is missing)."
    )


@lru_cache(maxsize=4)
def _packed_split(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(events, offsets, labels, sample_ids)`` of one packed split, read once per process."""
    events, offsets, labels, extra = load_npz_events(path, NMNIST_SENSOR, extra_keys=("sample_ids",))
    return events, offsets, labels, extra["sample_ids"]


@dataclass
class NMNISTSubset:
    """The real N-MNIST 1k/100 subset: the shipped copy, or recordings listed in
    train1K.txt / test100.txt under ``root`` (see :func:`find_nmnist_subset`)."""

    split: str = "train"
    root: Optional[Path] = None

    def __post_init__(self) -> None:
        if self.split not in _LISTS:
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        self.root = find_nmnist_subset(self.root)
        self._packed: Optional[Tuple[np.ndarray, np.ndarray]] = None
        if _is_recordings_folder(self.root):
            rows = np.loadtxt(self.root / _LISTS[self.split], dtype=np.int64, comments="#", ndmin=2)
            self.ids: np.ndarray = rows[:, 0]
            self.labels: np.ndarray = rows[:, 1]
            missing = [i for i in self.ids if not (self.root / f"{i}.bs2").is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} recording(s) listed in {_LISTS[self.split]} are missing in "
                    f"{self.root}, e.g. {missing[0]}.bs2"
                )
        else:
            events, offsets, labels, ids = _packed_split(self.root / _PACKED[self.split])
            self._packed = (events, offsets)
            self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.ids)

    def events(self, index: int) -> np.ndarray:
        """The events of recording ``index`` (``EVENT_DTYPE``, time-sorted)."""
        if self._packed is None:
            return read_nmnist_file(self.root / f"{self.ids[index]}.bs2")
        events, offsets = self._packed
        return events[offsets[index]:offsets[index + 1]].copy()

    def frames(self, index: int, n_steps: int, duration_us: int = NMNIST_DURATION_US) -> np.ndarray:
        """Binary spike frames ``(n_steps, 2312)`` of recording ``index``."""
        return bin_events(self.events(index), NMNIST_SENSOR, n_steps, duration_us)

    def dense(self, n_steps: int, indices: Sequence[int] | None = None,
              duration_us: int = NMNIST_DURATION_US) -> Tuple[np.ndarray, np.ndarray]:
        """All (or the given) recordings as ``(N, n_steps, 2312)`` frames and labels."""
        idx = range(len(self)) if indices is None else indices
        x = np.stack([self.frames(i, n_steps, duration_us) for i in idx])
        return x, self.labels[list(idx)]


def pack_nmnist_subset(recordings: os.PathLike | str, out_dir: os.PathLike | str) -> Dict[str, Path]:
    """Write the subset in ``recordings`` (the original ``.bs2`` folder with its two lists)
    as ``train.npz`` and ``test.npz`` in the library's event format: every event kept,
    ``sample_ids`` beside the labels, ``duration_us`` = 300 ms stored as the binning window.

    This is how the shipped copy was made; returns the paths written.
    """
    source = NMNISTSubset("train", root=Path(recordings))
    if source._packed is not None:
        raise ValueError(f"{recordings} holds packed files already; pack_nmnist_subset reads .bs2 recordings")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, name in _PACKED.items():
        subset = NMNISTSubset(split, root=Path(recordings))
        samples = [subset.events(i) for i in range(len(subset))]
        written[split] = save_npz_dataset(out_dir / name, subset.labels, events=samples, sensor_size=NMNIST_SENSOR,
                                          duration_us=NMNIST_DURATION_US, compact=True,
                                          extra={"sample_ids": subset.ids.astype(np.int32)})
    return written

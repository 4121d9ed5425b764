"""DVS Gesture, CIFAR10-DVS, N-MNIST and SHD through ``tonic``, as binary spike frames.

tonic (GPL-3.0) is an optional dependency (``pip install tonic`` or the ``data`` extra,
``pip install 'lava-local[data]'``); it is imported only inside the loaders, so this module
imports without it. Nothing is ever downloaded: each loader first checks that the files a
user already has are laid out the way tonic 1.7 expects under ``save_to/<ClassName>/`` and
raises ``FileNotFoundError`` naming what is missing, before tonic (which would otherwise
start a download) is touched.

Expected layouts (``save_to`` is the folder passed to the loader):

* DVS Gesture: ``save_to/DVSGesture/ibmGestureTrain.tar.gz`` (the archive must be present,
  tonic checks it) and the extracted ``save_to/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/
  <label>.npy`` (at least 100 ``.npy`` files); the same with ``ibmGestureTest`` for the test
  split.
* CIFAR10-DVS: ``save_to/CIFAR10DVS/CIFAR10DVS.zip`` and the extracted
  ``save_to/CIFAR10DVS/<class>/*.aedat4`` (at least 1000 ``.aedat4`` files; class folders
  ``airplane`` ... ``truck``). Reading ``.aedat4`` needs the ``aedat`` package. tonic has no
  train/test split for this set; split the indices yourself (the usual one is 9:1 per class).
* N-MNIST: ``save_to/NMNIST/train.zip`` and ``save_to/NMNIST/Train/<digit>/*.bin`` (at least
  10000 ``.bin`` files); ``test.zip`` and ``Test/<digit>/*.bin`` for the test split.
* SHD: ``save_to/SHD/shd_train.h5.zip`` and the extracted ``save_to/SHD/shd_train.h5``
  (``shd_test.h5.zip`` / ``shd_test.h5`` for the test split); needs ``h5py``.

Preprocessing (the papers' settings; all parameters can be changed):

* DVS Gesture: 128x128x2 sensor downsampled to 32x32, 20 frames of 75 ms (1.5 s from the
  first event) -> frames ``(20, 2 * 32 * 32)``.
* CIFAR10-DVS: 128x128x2 downsampled to 48x48, 10 frames splitting each recording's own
  span -> ``(10, 2 * 48 * 48)``.
* N-MNIST: 34x34x2, ``n_steps`` frames over the first 300 ms -> ``(n_steps, 2 * 34 * 34)``.
* SHD: 700 channels (one polarity), 100 bins of 10 ms (the first 1 s) -> ``(100, 700)``.

Frames are ``uint8`` 0/1 spikes (a pixel spikes at most once per frame), flattened C-order
from ``(C, H, W) = (polarities, height, width)`` with flat index ``p * H * W + y * W + x``,
which is the layout conv networks expect for ``n_in = (C, H, W)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .events import EVENT_DTYPE, bin_events

SensorSize = Tuple[int, int, int]  # (width, height, polarities), as tonic and events.py

_INSTALL_HINT = "pip install tonic  (or the data extra: pip install 'lava-local[data]')"


# --------------------------------------------------------------------------- tonic import
def import_tonic() -> Any:
    """Import and return the optional ``tonic`` package, or raise an ``ImportError`` with
    the install command."""
    try:
        import tonic  # noqa: PLC0415  (optional dependency, imported lazily)
    except ImportError as error:
        raise ImportError(
            "The event-camera dataset loaders need the optional package tonic (GPL-3.0): "
            + _INSTALL_HINT
        ) from error
    return tonic


def _require_module(module_name: str, purpose: str, install: str) -> None:
    """Raise an ``ImportError`` naming ``install`` if ``module_name`` cannot be imported."""
    try:
        __import__(module_name)
    except ImportError as error:
        raise ImportError(f"{purpose} needs the package {module_name}: {install}") from error


# ---------------------------------------------------------------------- event conversion
def to_event_array(events: np.ndarray, merge_polarities: bool = False) -> np.ndarray:
    """Convert a structured event array from any tonic dataset to ``EVENT_DTYPE``.

    Accepts fields in any order and dtype (tonic uses ``bool`` polarities, ``uint`` times,
    and SHD has no ``y``); a missing ``y`` becomes 0, a missing ``p`` becomes 0.
    ``merge_polarities`` sets every polarity to 0 (one channel). Timestamps are rounded to
    integer microseconds and the events sorted by time (stable) if they were not.
    """
    names = set(events.dtype.names or ())
    for required in ("x", "t"):
        if required not in names:
            raise ValueError(f"events lack the field {required!r}; fields: {sorted(names)}")
    converted = np.zeros(len(events), dtype=EVENT_DTYPE)
    converted["x"] = events["x"]
    if "y" in names:
        converted["y"] = events["y"]
    if "p" in names and not merge_polarities:
        converted["p"] = events["p"]
    timestamps = events["t"]
    if np.issubdtype(timestamps.dtype, np.floating):
        timestamps = np.rint(timestamps)
    converted["t"] = timestamps.astype(np.int64)
    if converted.size > 1 and np.any(np.diff(converted["t"]) < 0):
        converted = converted[np.argsort(converted["t"], kind="stable")]
    return converted


def downsample_events(
    events: np.ndarray, sensor_size: SensorSize, target_size: Tuple[int, int]
) -> np.ndarray:
    """Map events of a ``sensor_size = (W, H, P)`` sensor onto a ``target_size = (w, h)`` grid.

    Coordinates are scaled by ``x * w // W`` and ``y * h // H`` (exact for integer factors
    such as 128 -> 32, floor of the ratio otherwise, e.g. 128 -> 48); no event is dropped, so
    counting frames of the result hold as many events as the input. Returns a new
    ``EVENT_DTYPE`` array.
    """
    sensor_width, sensor_height, _ = sensor_size
    target_width, target_height = target_size
    if target_width < 1 or target_height < 1:
        raise ValueError(f"target_size must be positive, got {target_size}")
    if target_width > sensor_width or target_height > sensor_height:
        raise ValueError(
            f"target_size {target_size} is larger than the sensor {sensor_size[:2]}; "
            "only downsampling is supported"
        )
    result = to_event_array(events)
    result["x"] = (result["x"].astype(np.int64) * target_width) // sensor_width
    result["y"] = (result["y"].astype(np.int64) * target_height) // sensor_height
    return result


def events_to_frames(
    events: np.ndarray,
    sensor_size: SensorSize,
    n_steps: int,
    duration_us: Optional[int] = None,
    target_size: Optional[Tuple[int, int]] = None,
    merge_polarities: bool = False,
    align_to_first_event: bool = True,
    binary: bool = True,
) -> np.ndarray:
    """Turn one recording's events into spike frames ``(n_steps, C * H * W)``.

    Parameters:
        events: structured array with fields ``x``, ``t`` and optionally ``y``, ``p``
            (times in microseconds), from tonic or ``EVENT_DTYPE``.
        sensor_size: ``(width, height, polarities)`` of the recording.
        n_steps: number of equal time bins.
        duration_us: total window; bins are ``duration_us / n_steps`` long and later events
            are dropped. ``None``: the recording's own span (first to last event).
        target_size: ``(width, height)`` to downsample to (see ``downsample_events``).
        merge_polarities: put all events in one channel (``C = 1``).
        align_to_first_event: measure time from the first event rather than from t = 0.
        binary: ``uint8`` 0/1 spikes (at most one per pixel and bin); otherwise ``float32``
            event counts.

    The flat index is ``p * H * W + y * W + x``: frames reshape C-order to ``(C, H, W)``.
    """
    width, height, polarities = sensor_size
    event_array = to_event_array(events, merge_polarities=merge_polarities)
    if merge_polarities:
        polarities = 1
    if target_size is not None:
        event_array = downsample_events(event_array, (width, height, polarities), target_size)
        width, height = target_size
    if align_to_first_event and event_array.size:
        event_array["t"] -= event_array["t"][0]
    frames = bin_events(
        event_array, (width, height, polarities), n_steps, duration_us=duration_us, binary=binary
    )
    return frames.astype(np.uint8) if binary else frames


@dataclass(frozen=True)
class FramePreprocessing:
    """The event -> frame settings of one dataset; call it on an event array.

    ``sensor_size`` is the recording's ``(width, height, polarities)``, ``target_size`` the
    ``(width, height)`` after downsampling (``None``: keep), ``duration_us`` the total window
    (``None``: each recording's own span) split into ``n_steps`` bins, counted from the first
    event (``align_to_first_event``) or from t = 0.
    """

    sensor_size: SensorSize
    n_steps: int
    duration_us: Optional[int] = None
    target_size: Optional[Tuple[int, int]] = None
    merge_polarities: bool = False
    align_to_first_event: bool = True

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """``(C, H, W)`` of one frame, the ``n_in`` of a conv network."""
        width, height, polarities = self.sensor_size
        if self.target_size is not None:
            width, height = self.target_size
        return (1 if self.merge_polarities else polarities, height, width)

    @property
    def n_inputs(self) -> int:
        """Length of one flattened frame, ``C * H * W``."""
        channels, height, width = self.input_shape
        return channels * height * width

    def __call__(self, events: np.ndarray) -> np.ndarray:
        """Binary ``uint8`` frames ``(n_steps, n_inputs)`` of one recording."""
        return events_to_frames(
            events,
            self.sensor_size,
            self.n_steps,
            duration_us=self.duration_us,
            target_size=self.target_size,
            merge_polarities=self.merge_polarities,
            align_to_first_event=self.align_to_first_event,
        )


def dvs_gesture_preprocessing(
    n_steps: int = 20, step_duration_us: int = 75_000, size: int = 32
) -> FramePreprocessing:
    """DVS Gesture: 128x128x2 -> ``size`` x ``size``, ``n_steps`` frames of ``step_duration_us``."""
    return FramePreprocessing((128, 128, 2), n_steps, n_steps * step_duration_us, (size, size))


def cifar10_dvs_preprocessing(n_steps: int = 10, size: int = 48) -> FramePreprocessing:
    """CIFAR10-DVS: 128x128x2 -> ``size`` x ``size``, ``n_steps`` frames over each recording."""
    return FramePreprocessing((128, 128, 2), n_steps, None, (size, size))


def nmnist_preprocessing(n_steps: int, duration_us: int = 300_000) -> FramePreprocessing:
    """N-MNIST: 34x34x2 at full resolution, ``n_steps`` frames over ``duration_us`` from t = 0
    (as ``NMNISTSubset.frames``)."""
    return FramePreprocessing((34, 34, 2), n_steps, duration_us, None, False, False)


def shd_preprocessing(n_steps: int = 100, step_duration_us: int = 10_000) -> FramePreprocessing:
    """SHD: 700 channels, one polarity, ``n_steps`` bins of ``step_duration_us`` from t = 0."""
    return FramePreprocessing((700, 1, 1), n_steps, n_steps * step_duration_us, None, True, False)


# ------------------------------------------------------------------------- file checks
@dataclass(frozen=True)
class TonicLayout:
    """What tonic 1.7 checks before it would download: an archive file and extracted files.

    All paths are relative to ``save_to/<class_name>/``. ``data_folder`` is where at least
    ``min_files`` files ending in ``suffix`` must be (searched recursively); ``data_file`` is
    one extracted file that must exist (SHD).
    """

    class_name: str
    archive: str
    data_folder: str
    suffix: str
    min_files: int
    data_file: Optional[str] = None
    note: str = ""


_LAYOUTS: Dict[Tuple[str, str], TonicLayout] = {
    ("DVSGesture", "train"): TonicLayout(
        "DVSGesture", "ibmGestureTrain.tar.gz", "ibmGestureTrain", ".npy", 100,
        note="ibmGestureTrain/user<NN>_<lighting>/<label>.npy"),
    ("DVSGesture", "test"): TonicLayout(
        "DVSGesture", "ibmGestureTest.tar.gz", "ibmGestureTest", ".npy", 100,
        note="ibmGestureTest/user<NN>_<lighting>/<label>.npy"),
    ("CIFAR10DVS", "all"): TonicLayout(
        "CIFAR10DVS", "CIFAR10DVS.zip", "", ".aedat4", 1000,
        note="<class>/*.aedat4 with class folders airplane ... truck"),
    ("NMNIST", "train"): TonicLayout(
        "NMNIST", "train.zip", "Train", ".bin", 10000, note="Train/<digit>/*.bin"),
    ("NMNIST", "test"): TonicLayout(
        "NMNIST", "test.zip", "Test", ".bin", 10000, note="Test/<digit>/*.bin"),
    ("SHD", "train"): TonicLayout(
        "SHD", "shd_train.h5.zip", "", ".h5", 1, data_file="shd_train.h5"),
    ("SHD", "test"): TonicLayout(
        "SHD", "shd_test.h5.zip", "", ".h5", 1, data_file="shd_test.h5"),
}


def tonic_layout(class_name: str, split: str) -> TonicLayout:
    """The expected files of tonic's ``class_name`` (``DVSGesture``, ``CIFAR10DVS``,
    ``NMNIST``, ``SHD``) for ``split`` (``train``/``test``; ``all`` for CIFAR10DVS)."""
    try:
        return _LAYOUTS[(class_name, split)]
    except KeyError:
        known = ", ".join(f"{name}/{part}" for name, part in _LAYOUTS)
        raise ValueError(f"no tonic layout for {class_name}/{split}; known: {known}") from None


def check_tonic_files(save_to: os.PathLike | str, layout: TonicLayout) -> Path:
    """Check the files tonic needs under ``save_to/<ClassName>/`` without downloading.

    Returns that dataset folder; raises ``FileNotFoundError`` listing every missing item
    (archive, extracted file, too few data files) and the full expected layout.
    """
    dataset_folder = Path(save_to).expanduser() / layout.class_name
    problems: List[str] = []
    if not dataset_folder.is_dir():
        problems.append(f"the folder {dataset_folder} does not exist")
    else:
        archive_path = dataset_folder / layout.archive
        if not archive_path.is_file():
            problems.append(
                f"the archive {archive_path} is missing (tonic checks that it is present even "
                "when it has been extracted)"
            )
        if layout.data_file is not None:
            data_path = dataset_folder / layout.data_file
            if not data_path.is_file():
                problems.append(f"the extracted file {data_path} is missing")
        else:
            data_folder = dataset_folder / layout.data_folder
            n_found = len(list(data_folder.glob(f"**/*{layout.suffix}"))) if data_folder.is_dir() else 0
            if n_found < layout.min_files:
                problems.append(
                    f"{data_folder} holds {n_found} {layout.suffix} file(s), at least "
                    f"{layout.min_files} are expected (the extracted archive)"
                )
    if problems:
        expected = [str(dataset_folder / layout.archive)]
        if layout.data_file is not None:
            expected.append(str(dataset_folder / layout.data_file))
        else:
            expected.append(
                f"{dataset_folder / (layout.note or layout.data_folder)} "
                f"(>= {layout.min_files} {layout.suffix} files)"
            )
        raise FileNotFoundError(
            f"{layout.class_name} files not found ("
            + "; ".join(problems)
            + "). Expected, in tonic's layout: "
            + " and ".join(expected)
            + ". Nothing is downloaded: place the archive and its extracted contents there."
        )
    return dataset_folder


# ----------------------------------------------------------------------------- datasets
@dataclass
class TonicFrameDataset:
    """A tonic dataset whose samples come out as binary spike frames.

    ``dataset[i]`` gives ``(frames (n_steps, n_inputs) uint8, label)``; ``dense()`` the whole
    set (or chosen indices) as ``(frames (N, n_steps, n_inputs), labels (N,))`` for the
    trainer and the Lava ``Network``; ``batches()`` iterates over the same in batches, for sets
    too big to hold in memory (CIFAR10-DVS: 10000 x 10 x 4608 bytes, SHD train: 8156 x 100 x
    700 bytes).
    """

    tonic_dataset: Any
    preprocessing: FramePreprocessing
    name: str = ""
    labels: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        """Read all labels up front (cheap: no events are decoded)."""
        self.labels = self._read_labels()

    def _read_labels(self) -> np.ndarray:
        """All labels without reading any events (tonic's ``targets``, or SHD's h5 file)."""
        targets = getattr(self.tonic_dataset, "targets", None)
        if targets is not None and len(targets) > 0:
            return np.asarray(targets, dtype=np.int64)
        data_filename = getattr(self.tonic_dataset, "data_filename", None)
        if data_filename is not None:  # SHD: labels live in the h5 file
            import h5py  # noqa: PLC0415

            path = os.path.join(self.tonic_dataset.location_on_system, data_filename)
            with h5py.File(path, "r") as h5_file:
                return np.asarray(h5_file["labels"][()], dtype=np.int64)
        return np.asarray([int(self.tonic_dataset[i][1]) for i in range(len(self.tonic_dataset))])

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """``(C, H, W)`` of one frame (``n_in`` for conv networks)."""
        return self.preprocessing.input_shape

    @property
    def n_inputs(self) -> int:
        """Length of one flattened frame."""
        return self.preprocessing.n_inputs

    @property
    def n_steps(self) -> int:
        """Number of time steps per sample."""
        return self.preprocessing.n_steps

    def __len__(self) -> int:
        """Number of recordings."""
        return len(self.labels)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, int]:
        """``(frames (n_steps, n_inputs) uint8, label)`` of recording ``index``."""
        events, label = self.tonic_dataset[int(index)]
        return self.preprocessing(events), int(label)

    def dense(self, indices: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """``(frames (N, n_steps, n_inputs) uint8, labels (N,) int64)`` for all or ``indices``."""
        chosen = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        frames = np.zeros((len(chosen), self.n_steps, self.n_inputs), dtype=np.uint8)
        labels = np.zeros(len(chosen), dtype=np.int64)
        for row, index in enumerate(chosen):
            frames[row], labels[row] = self[int(index)]
        return frames, labels

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        seed: Optional[int] = None,
        indices: Optional[Sequence[int]] = None,
    ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """Yield ``(frames, labels)`` batches of up to ``batch_size`` samples (last one shorter)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        order = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        if shuffle:
            order = np.random.default_rng(seed).permutation(order)
        for start in range(0, len(order), batch_size):
            yield self.dense(order[start:start + batch_size])


def _split_name(train: bool) -> str:
    """``"train"`` or ``"test"``."""
    return "train" if train else "test"


def load_dvs_gesture(
    save_to: os.PathLike | str,
    train: bool = True,
    n_steps: int = 20,
    step_duration_us: int = 75_000,
    size: int = 32,
) -> TonicFrameDataset:
    """DVS Gesture (11 classes) from ``save_to/DVSGesture/`` as frames ``(20, 2*32*32)``.

    Defaults: 20 frames of 75 ms from each recording's first event, 128x128 -> 32x32.
    Raises ``FileNotFoundError`` (files missing, see the module docstring) or ``ImportError``
    (no tonic).
    """
    check_tonic_files(save_to, tonic_layout("DVSGesture", _split_name(train)))
    tonic = import_tonic()
    import numpy.lib.recfunctions  # noqa: F401,PLC0415  (tonic's DVSGesture uses np.lib.recfunctions)

    dataset = tonic.datasets.DVSGesture(save_to=str(save_to), train=train)
    return TonicFrameDataset(dataset, dvs_gesture_preprocessing(n_steps, step_duration_us, size),
                             "DVSGesture")


def load_cifar10_dvs(
    save_to: os.PathLike | str, n_steps: int = 10, size: int = 48
) -> TonicFrameDataset:
    """CIFAR10-DVS (10 classes, 10000 recordings) from ``save_to/CIFAR10DVS/``.

    Defaults: 10 frames over each recording, 128x128 -> 48x48, frames ``(10, 2*48*48)``.
    There is no predefined split: pass your train/test ``indices`` to ``dense``/``batches``.
    Needs tonic and ``aedat`` (``pip install aedat``).
    """
    check_tonic_files(save_to, tonic_layout("CIFAR10DVS", "all"))
    tonic = import_tonic()
    _require_module("aedat", "Reading CIFAR10-DVS .aedat4 files", "pip install aedat")
    dataset = tonic.datasets.CIFAR10DVS(save_to=str(save_to))
    return TonicFrameDataset(dataset, cifar10_dvs_preprocessing(n_steps, size), "CIFAR10DVS")


def load_nmnist(
    save_to: os.PathLike | str,
    train: bool = True,
    n_steps: int = 30,
    duration_us: int = 300_000,
    first_saccade_only: bool = False,
) -> TonicFrameDataset:
    """Full N-MNIST from ``save_to/NMNIST/`` as frames ``(n_steps, 2*34*34)`` over ``duration_us``.

    For the local 1k/100 subset use ``NMNISTSubset`` instead (different layout).
    """
    check_tonic_files(save_to, tonic_layout("NMNIST", _split_name(train)))
    tonic = import_tonic()
    dataset = tonic.datasets.NMNIST(
        save_to=str(save_to), train=train, first_saccade_only=first_saccade_only
    )
    return TonicFrameDataset(dataset, nmnist_preprocessing(n_steps, duration_us), "NMNIST")


def load_shd(
    save_to: os.PathLike | str,
    train: bool = True,
    n_steps: int = 100,
    step_duration_us: int = 10_000,
) -> TonicFrameDataset:
    """Spiking Heidelberg Digits (20 classes) from ``save_to/SHD/`` as frames ``(100, 700)``.

    Defaults: 100 bins of 10 ms from the recording's start (t = 0). Needs tonic and h5py.
    """
    check_tonic_files(save_to, tonic_layout("SHD", _split_name(train)))
    _require_module("h5py", "Reading SHD .h5 files", "pip install h5py")
    tonic = import_tonic()
    dataset = tonic.datasets.SHD(save_to=str(save_to), train=train)
    return TonicFrameDataset(dataset, shd_preprocessing(n_steps, step_duration_us), "SHD")

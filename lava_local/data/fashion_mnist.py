"""Fashion-MNIST from its four idx files, and spike encodings of static images.

The files (gzip-compressed ``.gz`` or plain) are read from a folder, by default
``/usr/share/datasets/fashion-mnist/`` where the Debian package ``dataset-fashion-mnist``
puts them::

    train-images-idx3-ubyte(.gz)  train-labels-idx1-ubyte(.gz)   60000 images / labels
    t10k-images-idx3-ubyte(.gz)   t10k-labels-idx1-ubyte(.gz)    10000 images / labels

Encodings turn ``uint8`` images ``(N, 28, 28)`` into ``(N, T, 784)`` inputs for the trainer
and the Lava ``Network``:

* ``rate``: at every step a pixel spikes with probability ``max_rate * intensity / 255``
  (Bernoulli, seeded) -> ``uint8`` 0/1.
* ``latency``: one spike per pixel, at step ``round((1 - intensity / 255) * (T - 1))``, so
  the brightest pixels spike first; pixels at or below ``threshold`` (default: black
  pixels) never spike -> ``uint8`` 0/1.
* ``direct``: the analog intensity ``intensity / 255`` repeated at every step (the static-input
  setting of the papers) -> ``float32`` in [0, 1].

The flat 784 is the C-order flattening of ``(1, 28, 28)``: a conv network with
``n_in = (1, 28, 28)`` takes the same frames; ``flatten=False`` returns ``(N, T, 1, 28, 28)``.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
IMAGE_SHAPE = (28, 28)
SPIKE_ENCODINGS = ("rate", "latency", "direct")

# idx type byte -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/)
_IDX_DTYPES: Dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def _read_bytes(path: Path) -> bytes:
    """The (decompressed, for ``.gz``) contents of ``path``; ``ValueError`` if the gzip is broken."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"idx file {path} is not a complete gzip stream (truncated?): {error}") from error


def read_idx_file(path: os.PathLike | str) -> np.ndarray:
    """Parse one idx file (plain or ``.gz``) into a NumPy array of the declared shape.

    Validates the magic number (two zero bytes, a known type byte, the number of
    dimensions) and that the data size equals the product of the declared dimensions;
    raises ``ValueError`` naming the file otherwise (e.g. a truncated download).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"idx file not found: {path}")
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"idx file {path} is truncated: {len(raw)} bytes, no complete header")
    zero_bytes, type_code, n_dims = raw[0:2], raw[2], raw[3]
    if zero_bytes != b"\x00\x00" or type_code not in _IDX_DTYPES or n_dims == 0:
        raise ValueError(
            f"idx file {path} has a bad magic number 0x{raw[:4].hex()} (expected 0x0000 then "
            f"a type byte in {[hex(c) for c in _IDX_DTYPES]} and the number of dimensions, e.g. "
            "0x00000803 for images, 0x00000801 for labels)"
        )
    header_size = 4 + 4 * n_dims
    if len(raw) < header_size:
        raise ValueError(
            f"idx file {path} is truncated: {len(raw)} bytes, the header alone takes {header_size}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found_bytes = len(raw) - header_size
    if found_bytes != expected_bytes:
        state = "truncated" if found_bytes < expected_bytes else "longer than declared"
        raise ValueError(
            f"idx file {path} is {state}: the header declares shape {shape} "
            f"({expected_bytes} data bytes), the file holds {found_bytes}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def write_idx_file(path: os.PathLike | str, array: np.ndarray) -> Path:
    """Write ``array`` (``uint8``) as an idx file, gzip-compressed if ``path`` ends in ``.gz``.

    The inverse of ``read_idx_file``; used to make small test sets.
    """
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx_file writes uint8 arrays only, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(payload)
    else:
        path.write_bytes(payload)
    return path


def find_fashion_mnist_files(root: Optional[os.PathLike | str] = None) -> Dict[str, Path]:
    """Locate the four idx files in ``root`` (default ``/usr/share/datasets/fashion-mnist``).

    Returns ``{"train-images-idx3-ubyte": path, ...}`` preferring ``.gz`` where both exist.
    Raises ``FileNotFoundError`` listing the four expected names and the Debian package.
    """
    folder = Path(root) if root is not None else FASHION_MNIST_DIR
    names = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
    found: Dict[str, Path] = {}
    for name in names:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found[name] = candidate
                break
    missing = [name for name in names if name not in found]
    if missing:
        where = f"the folder {folder} does not exist" if not folder.is_dir() else (
            f"missing in {folder}: " + ", ".join(missing))
        raise FileNotFoundError(
            f"Fashion-MNIST not found ({where}). Expected the four idx files "
            + ", ".join(names)
            + " (each plain or .gz) in "
            + str(folder)
            + ". On Debian/Ubuntu: apt install dataset-fashion-mnist (installs them in "
            + f"{FASHION_MNIST_DIR}); or pass root= the folder holding them."
        )
    return found


def load_fashion_mnist(
    split: str = "train", root: Optional[os.PathLike | str] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28) uint8`` and labels ``(N,) int64`` of the ``train`` or ``test`` split.

    Checks that the images are 28x28, that images and labels agree in number, and that the
    labels are 0..9 (``ValueError`` naming the file otherwise).
    """
    if split not in FASHION_MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    files = find_fashion_mnist_files(root)
    images_name, labels_name = FASHION_MNIST_FILES[split]
    images = read_idx_file(files[images_name])
    labels = read_idx_file(files[labels_name])
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
        raise ValueError(
            f"{files[images_name]}: expected uint8 images (N, 28, 28), got {images.dtype} "
            f"{images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{files[labels_name]}: expected uint8 labels (N,), got {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(
            f"{files[images_name]} holds {len(images)} images but {files[labels_name]} "
            f"{len(labels)} labels"
        )
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ValueError(f"{files[labels_name]}: labels must be 0..9, found {labels.max()}")
    return images, labels.astype(np.int64)


def _intensities(images: np.ndarray) -> np.ndarray:
    """``uint8`` images ``(N, ...)`` -> ``float32`` intensities ``(N, pixels)`` in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0..255), got {images.dtype}")
    if images.ndim < 2:
        raise ValueError(f"images must be (N, ...) with a sample axis, got shape {images.shape}")
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)


def _shape_output(frames: np.ndarray, images: np.ndarray, flatten: bool) -> np.ndarray:
    """``(N, T, pixels)`` -> itself, or ``(N, T, 1, *image_shape)`` when not ``flatten``."""
    if flatten:
        return frames
    return frames.reshape(frames.shape[:2] + (1,) + tuple(np.asarray(images).shape[1:]))


def encode_rate(
    images: np.ndarray, n_steps: int, max_rate: float = 1.0, seed: int = 0, flatten: bool = True
) -> np.ndarray:
    """Bernoulli rate code: ``uint8`` spikes ``(N, n_steps, pixels)``, probability
    ``max_rate * intensity / 255`` per step, reproducible for a given ``seed``."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    if not 0.0 <= max_rate <= 1.0:
        raise ValueError(f"max_rate is a spike probability per step, in [0, 1]; got {max_rate}")
    probability = _intensities(images) * np.float32(max_rate)
    rng = np.random.default_rng(seed)
    frames = np.empty((len(probability), n_steps, probability.shape[1]), dtype=np.uint8)
    chunk = 1024  # bounds the float temporaries
    for start in range(0, len(probability), chunk):
        block = probability[start:start + chunk]
        draws = rng.random((len(block), n_steps, block.shape[1]), dtype=np.float32)
        frames[start:start + chunk] = draws < block[:, None, :]
    return _shape_output(frames, images, flatten)


def encode_latency(
    images: np.ndarray, n_steps: int, threshold: float = 0.0, flatten: bool = True
) -> np.ndarray:
    """Latency code: ``uint8`` spikes ``(N, n_steps, pixels)``, at most one per pixel.

    A pixel of intensity ``v = value / 255`` above ``threshold`` spikes once, at step
    ``round((1 - v) * (n_steps - 1))`` (white at step 0); the others never spike.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    intensity = _intensities(images)
    spike_step = np.rint((1.0 - intensity) * (n_steps - 1)).astype(np.int64)
    n_samples, n_pixels = intensity.shape
    frames = np.zeros((n_samples, n_steps, n_pixels), dtype=np.uint8)
    sample_index, pixel_index = np.nonzero(intensity > threshold)
    frames[sample_index, spike_step[sample_index, pixel_index], pixel_index] = 1
    return _shape_output(frames, images, flatten)


def encode_direct(images: np.ndarray, n_steps: int, flatten: bool = True) -> np.ndarray:
    """Direct (analog) input: ``float32`` intensities in [0, 1] repeated for ``n_steps`` steps,
    ``(N, n_steps, pixels)``."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    intensity = _intensities(images)
    frames = np.repeat(intensity[:, None, :], n_steps, axis=1)
    return _shape_output(frames, images, flatten)


def encode_images(
    images: np.ndarray,
    encoding: str,
    n_steps: int,
    seed: int = 0,
    flatten: bool = True,
    **options: float,
) -> np.ndarray:
    """Encode ``uint8`` images with ``encoding`` in ``rate``, ``latency``, ``direct``.

    ``options`` go to the encoder (``max_rate`` for rate, ``threshold`` for latency); ``seed``
    is used by ``rate`` only.
    """
    if encoding == "rate":
        return encode_rate(images, n_steps, seed=seed, flatten=flatten, **options)
    if encoding == "latency":
        return encode_latency(images, n_steps, flatten=flatten, **options)
    if encoding == "direct":
        return encode_direct(images, n_steps, flatten=flatten, **options)
    raise ValueError(f"encoding must be one of {SPIKE_ENCODINGS}, got {encoding!r}")


def load_fashion_mnist_spikes(
    split: str = "train",
    encoding: str = "rate",
    n_steps: int = 20,
    n_samples: Optional[int] = None,
    root: Optional[os.PathLike | str] = None,
    seed: int = 0,
    flatten: bool = True,
    **options: float,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames, labels)`` of Fashion-MNIST, encoded, ready for the trainer / Lava ``Network``.

    ``frames`` is ``(N, n_steps, 784)`` (``uint8`` spikes, or ``float32`` for ``direct``), or
    ``(N, n_steps, 1, 28, 28)`` with ``flatten=False``; ``n_samples`` keeps the first ones
    (the full train split at 20 steps takes 0.94 GB as uint8, 3.8 GB for direct).
    """
    images, labels = load_fashion_mnist(split, root)
    if n_samples is not None:
        images, labels = images[:n_samples], labels[:n_samples]
    return encode_images(images, encoding, n_steps, seed=seed, flatten=flatten, **options), labels

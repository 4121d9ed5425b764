"""Event data: readers, binning into time steps, and the local N-MNIST subset.

Also: tonic loaders (DVS Gesture, CIFAR10-DVS, N-MNIST, SHD; tonic is optional and imported
only when a loader runs), Fashion-MNIST from idx files with spike encodings, and a plain
``.npz`` dataset format; UEA/UCR ``.ts`` time series (read out of the aeon wheel) with delta and
population-rate spike encoders.
"""
from .events import EVENT_DTYPE, bin_events, check_events
from .fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    encode_direct,
    encode_images,
    encode_latency,
    encode_rate,
    find_fashion_mnist_files,
    load_fashion_mnist,
    load_fashion_mnist_spikes,
    read_idx_file,
    write_idx_file,
)
from .nmnist import NMNIST_SENSOR, NMNISTSubset, find_nmnist_subset, read_nmnist_file
from .npz_format import load_npz_dataset, load_npz_metadata, save_npz_dataset
from .timeseries import (
    TimeSeriesScaler,
    TimeSeriesSet,
    default_aeon_cache,
    delta_counts,
    delta_encode,
    downsample_series,
    encode_set,
    find_aeon_wheel,
    fit_scaler,
    list_uea_ucr,
    load_encoded_npz,
    load_uea_ucr,
    parse_ts,
    rate_encode,
    read_ts,
    receptive_fields,
    save_encoded_npz,
)
from .tonic_datasets import (
    FramePreprocessing,
    TonicFrameDataset,
    check_tonic_files,
    cifar10_dvs_preprocessing,
    downsample_events,
    dvs_gesture_preprocessing,
    events_to_frames,
    load_cifar10_dvs,
    load_dvs_gesture,
    load_nmnist,
    load_shd,
    nmnist_preprocessing,
    shd_preprocessing,
    to_event_array,
    tonic_layout,
)

__all__ = [
    "EVENT_DTYPE",
    "bin_events",
    "check_events",
    "NMNIST_SENSOR",
    "NMNISTSubset",
    "find_nmnist_subset",
    "read_nmnist_file",
    # tonic datasets
    "FramePreprocessing",
    "TonicFrameDataset",
    "check_tonic_files",
    "cifar10_dvs_preprocessing",
    "downsample_events",
    "dvs_gesture_preprocessing",
    "events_to_frames",
    "load_cifar10_dvs",
    "load_dvs_gesture",
    "load_nmnist",
    "load_shd",
    "nmnist_preprocessing",
    "shd_preprocessing",
    "to_event_array",
    "tonic_layout",
    # Fashion-MNIST
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "encode_direct",
    "encode_images",
    "encode_latency",
    "encode_rate",
    "find_fashion_mnist_files",
    "load_fashion_mnist",
    "load_fashion_mnist_spikes",
    "read_idx_file",
    "write_idx_file",
    # npz format
    "load_npz_dataset",
    "load_npz_metadata",
    "save_npz_dataset",
    # UEA/UCR time series
    "TimeSeriesScaler",
    "TimeSeriesSet",
    "default_aeon_cache",
    "delta_counts",
    "delta_encode",
    "downsample_series",
    "encode_set",
    "find_aeon_wheel",
    "fit_scaler",
    "list_uea_ucr",
    "load_encoded_npz",
    "load_uea_ucr",
    "parse_ts",
    "rate_encode",
    "read_ts",
    "receptive_fields",
    "save_encoded_npz",
]

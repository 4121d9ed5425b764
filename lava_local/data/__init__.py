"""Event data: readers, binning into time steps, and the local N-MNIST subset."""
from .events import EVENT_DTYPE, bin_events, check_events
from .nmnist import NMNIST_SENSOR, NMNISTSubset, find_nmnist_subset, read_nmnist_file

__all__ = [
    "EVENT_DTYPE",
    "bin_events",
    "check_events",
    "NMNIST_SENSOR",
    "NMNISTSubset",
    "find_nmnist_subset",
    "read_nmnist_file",
]

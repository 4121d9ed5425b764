"""lava-local: local learning rules (S-TLLR, LLS, TESS) for spiking networks in Lava.

Importing this package first makes lava-nc 0.10 importable on Python 3.11 (see
:mod:`lava_local._compat`). The kernels, profiles and conversions import without Lava
being touched; the processes live in :mod:`lava_local.proc`.
"""
from . import _compat

_compat.install()

from .fixed_point import (  # noqa: E402
    DEFAULT_SCALE,
    LIFConfig,
    LIFFixedConfig,
    quantize_lif,
)
from .hw_profile import HardwareProfile, available_profiles, load_profile  # noqa: E402
from .interchange import export_nir, import_nir, to_nir  # noqa: E402  (nir itself is imported on use)
from .network import Conv, Network, Recurrent, vgg9  # noqa: E402
from .rules import LLS, STLLR, TESS, LearningRule  # noqa: E402
from .runtime import HardwareUnavailableError, ProcessModelError, run, run_config  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SCALE",
    "LIFConfig",
    "LIFFixedConfig",
    "quantize_lif",
    "Network",
    "Conv",
    "Recurrent",
    "vgg9",
    "LearningRule",
    "TESS",
    "STLLR",
    "LLS",
    "HardwareProfile",
    "available_profiles",
    "load_profile",
    "export_nir",
    "import_nir",
    "to_nir",
    "HardwareUnavailableError",
    "ProcessModelError",
    "run",
    "run_config",
    "__version__",
]

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import lava_local  # noqa: F401  (installs the Python 3.11 fix before any Lava import)

#: optional extras a test module may import at its top; the core install (lava-nc and
#: numpy, the `dev` extra for pytest) has none of them
_EXTRAS = {"torch": "torch", "lava_local.trainer": "torch", "lava_local.cli": "torch", "h5py": "h5py",
           "tonic": "tonic", "lava.lib.dl": "torch"}
_MISSING = {module for module, needs in _EXTRAS.items() if importlib.util.find_spec(needs) is None}
_IMPORT = re.compile(r"^(?:from|import) ([\w.]+)", re.MULTILINE)


#: test modules that need torch without importing it at their top (they run scripts that do)
_TORCH_MODULES = {"test_benchmark_scripts.py", "test_continual.py", "test_experiments.py", "test_export.py"}


def missing_extras(source: str) -> list:
    """The optional extras the imports in ``source`` (a script, a README example) need and
    this install lacks."""
    return sorted({name for name in _IMPORT.findall(source) for missing in _MISSING
                   if name == missing or name.startswith(missing + ".")})


def skip_without_extras_of(source: str) -> None:
    """Skip the calling test on a core install when ``source`` imports a missing extra."""
    missing = missing_extras(source)
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (not installed: a core install)")


def pytest_ignore_collect(collection_path: Path, config):
    """On a core install (no torch), leave out the test modules that import an extra at
    their top: they test the trainer, the CLI or export, which need it. Everything else
    (kernels, Lava processes and networks, data, runtime) runs."""
    if not _MISSING or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if "torch" in _MISSING and collection_path.name in _TORCH_MODULES:
        return True
    return True if missing_extras(collection_path.read_text()) else None


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

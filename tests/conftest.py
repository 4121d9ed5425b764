import numpy as np
import pytest

import lava_local  # noqa: F401  (installs the Python 3.11 fix before any Lava import)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

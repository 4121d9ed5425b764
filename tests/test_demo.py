"""The README's main demo runs end to end (shortened) and says what it did."""
import subprocess
import sys

import pytest


@pytest.mark.timeout(300)
@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_demo_trains_in_lava_and_saves_a_plot(tmp_path, numeric):
    result = subprocess.run(
        [sys.executable, "-m", "lava_local.demo", "--epochs", "1", "--train-samples", "60", "--hidden", "32",
         "--numeric", numeric, "--no-progress", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=290,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "epoch 1: train accuracy" in out and "test accuracy" in out and "s/epoch" in out
    assert (tmp_path / "tess_nmnist.png").stat().st_size > 10_000

"""The README's main demo runs end to end (shortened) and says what it did."""
import subprocess
import sys

import pytest


@pytest.mark.timeout(180)
def test_demo_runs_float_and_fixed_and_saves_a_plot(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lava_local.demo", "--steps", "30", "--neurons", "16", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=170,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "float model" in out and "fixed model" in out and "agree" in out
    assert (tmp_path / "lif_demo.png").stat().st_size > 10_000

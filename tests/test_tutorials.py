"""Every tutorial runs to the end."""
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import skip_without_extras_of

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("*.py"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(path):
    skip_without_extras_of(path.read_text())
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=290)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) >= 4


def test_there_are_tutorials():
    assert TUTORIALS

"""The benchmark programs run end to end on a tiny configuration (their figures are
measured in ``benchmarks/``, not here): a GPU run must not be the first time they run."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vgg9_step_writes_its_table(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "vgg9_step.py"), "--width", "0.03", "--size", "16",
         "--batch", "2", "--steps", "3", "--windows", "3", "--repeats", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "vgg9_step.json").read_text())
    assert set(result["rows"]) == {"BPTT", "TESS", "TESS window 3"}
    for row in result["rows"].values():
        assert row["ms_per_step"] > 0 and row["operations"] > 100
    # a window batches the learning of its steps: fewer operations than step by step
    assert result["rows"]["TESS"]["operations"] > result["rows"]["TESS window 3"]["operations"]
    table = (tmp_path / "vgg9_step.md").read_text()
    assert "| TESS window 3 |" in table and "operations per step" in table


def test_learning_memory_writes_the_vgg9_rows(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "learning_memory.py"), "--hidden", "16", "--steps", "5",
         "--vgg9", "2,4", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [r for r in json.loads((tmp_path / "learning_memory.json").read_text()) if r["layer"].startswith("VGG")]
    assert [r["T"] for r in rows] == [2, 4]
    # TESS's states do not depend on T; what BPTT saves grows with it
    assert rows[0]["tess_bytes"] == rows[1]["tess_bytes"] > 0
    assert rows[1]["bptt_bytes"] > rows[0]["bptt_bytes"] > rows[0]["tess_bytes"]
    assert "| 4 | 2x32x32 |" in (tmp_path / "learning_memory.md").read_text()

"""benchmarks/continual.py runs end to end on a tiny stream (its figures are measured in
``benchmarks/``, not here)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(300)
def test_continual_writes_one_accuracy_per_task_and_learner(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "continual.py"), "--samples-per-task", "10", "--hidden", "16",
         "--tasks", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "continual.json").read_text())
    assert result["tasks"] == [[0, 1], [2, 3]] and result["train_per_task"] == [10, 10]
    assert result["chance"] == [0.5, 0.25]
    assert set(result["results"]) == {"tess", "frozen", "bptt"}
    for r in result["results"].values():
        assert len(r["seen_accuracy"]) == 2 and all(0.0 <= a <= 1.0 for a in r["seen_accuracy"])
        # after task k: one accuracy for each task seen so far
        assert [len(a) for a in r["task_accuracy"]] == [1, 2]
        assert all(0.0 <= a <= 1.0 for row in r["task_accuracy"] for a in row)
    assert (tmp_path / "continual.png").stat().st_size > 0
    assert "| 2 {2,3} | 0.25 |" in (tmp_path / "continual.md").read_text()

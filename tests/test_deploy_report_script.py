"""benchmarks/deploy_report.py runs end to end on a tiny configuration (its figures are
measured by running it, not here)."""
import json
import subprocess
import sys
from pathlib import Path

import torch  # noqa: F401  (the script trains with the trainer: a core install leaves this test out)

ROOT = Path(__file__).resolve().parents[1]


def test_deploy_report_writes_its_tables(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "deploy_report.py"), "--quick", "--datasets", "nmnist",
         "--threads", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "deploy_report.json").read_text())
    (row,) = result["rows"]
    assert row["dataset"] == "nmnist" and row["layers"] == [2312, 32, 10] and row["test_samples"] == 30
    quantization, cost = row["quantization"], row["cost"]
    assert 0 <= quantization["fixed_accuracy"] <= 1 and 0 <= quantization["agreement"] <= 1
    assert [layer["name"] for layer in quantization["layers"]] == ["hidden0", "readout"]
    assert cost["energy_per_sample_uj"] > 0 and cost["latency_per_sample_ms"] > 0
    assert cost["learning"]["energy_pj"] > cost["inference"]["energy_pj"]
    for method in ("bptt", "local"):
        assert row["training_step"][method]["seconds"] > 0
    table = (tmp_path / "deploy_report.md").read_text()
    assert "| nmnist | 2312-32-10 | 10 |" in table and "BPTT step, this CPU" in table
    assert "## nmnist" in table and "Estimated cost on `loihi2`" in table

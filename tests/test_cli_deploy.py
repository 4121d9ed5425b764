"""``lava-local deploy``: on a network trained for one epoch on 20 N-MNIST recordings it writes
every file it names, with the figures that quantization_report / estimate_cost give on the
same network and data, a NIR file that imports back to the same weights and a netx file with
the network's layers; a recurrent network skips what it cannot go through with warnings; bad
input exits 2 with one line; a failed run leaves --out as it was."""
import importlib.util
import json

import numpy as np
import pytest

from helpers.cli import error_line, run
from lava_local.cli import DEPLOY_FILES, main

#: the files written with the packages they need: those of a missing package are skipped
OPTIONAL = {"netx": "h5py", "nir": "nir"}
MISSING = {key for key, package in OPTIONAL.items() if importlib.util.find_spec(package) is None}

TRAIN = ["train", "--data", "nmnist", "--limit", "20", "--hidden", "16", "--epochs", "1", "--backend", "trainer",
         "--no-progress"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploy")
    assert main(TRAIN + ["--out", str(folder / "train"), "--checkpoint", str(folder / "ckpt")]) == 0
    return folder / "ckpt"


@pytest.fixture(scope="module")
def deployed(checkpoint, tmp_path_factory):
    """``(exit code, summary printed, out folder)`` of ``deploy --json`` on the checkpoint."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("deployed") / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["deploy", "--checkpoint", str(checkpoint), "--limit", "20", "--out", str(out), "--json"])
    return code, stdout.getvalue(), out


@pytest.fixture(scope="module")
def direct(checkpoint):
    """The same network and test data, built without the CLI: ``(trainer, (frames, labels))``."""
    from lava_local.data import NMNISTSubset
    from lava_local.network import Network
    from lava_local.rules import TESS
    from lava_local.trainer import LocalTrainer, load_checkpoint

    trainer = LocalTrainer(Network(2312, hidden=(16,), n_classes=10, rule=TESS(), seed=0), device="cpu")
    load_checkpoint(checkpoint / "last.pt", trainer)
    return trainer, NMNISTSubset("test").dense(10, range(20))


@pytest.mark.timeout(240)
def test_deploy_writes_every_file_it_names(deployed):
    code, stdout, out = deployed
    assert code == 0
    summary = json.loads(stdout)  # stdout holds the JSON object only
    assert summary["status"] == "ok" and set(summary["skipped"]) == MISSING and summary["stale"] == []
    assert set(summary["files"]) == set(DEPLOY_FILES) - MISSING
    for key, path in summary["files"].items():
        assert path == str(out / DEPLOY_FILES[key]) and (out / DEPLOY_FILES[key]).stat().st_size > 0, key
    assert sorted(p.name for p in out.iterdir()) == sorted(  # no temporary files left
        name for key, name in DEPLOY_FILES.items() if key not in MISSING)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert json.loads((out / "deploy.json").read_text()) == summary
    assert summary["epoch"] == 1 and summary["samples"] == 20 and summary["layers"] == [2312, 16, 10]
    assert summary["fit"]["learning_chip"] == ["hidden0", "readout"] and summary["fit"]["learning_host"] == []


@pytest.mark.timeout(240)
def test_deploy_figures_equal_the_librarys(deployed, direct):
    from lava_local.cost_estimate import estimate_cost
    from lava_local.hw_profile import check_fit
    from lava_local.quantization_report import network_and_weights, quantization_report

    _, stdout, out = deployed
    trainer, data = direct
    report = quantization_report(trainer, data, "loihi2")
    assert json.loads((out / "quantization.json").read_text()) == json.loads(report.to_json())
    cost = estimate_cost(trainer, data, "loihi2")
    assert json.loads((out / "cost.json").read_text()) == json.loads(cost.to_json())
    fit = check_fit(network_and_weights(trainer), "loihi2")
    assert json.loads((out / "fit.json").read_text()) == json.loads(fit.to_json())
    summary = json.loads(stdout)
    assert summary["quantization"]["fixed_accuracy"] == report.fixed_accuracy
    assert summary["quantization"]["float_accuracy"] == report.float_accuracy
    assert summary["quantization"]["zero_weights"] == sum(layer.zero_weights for layer in report.layers)
    assert summary["cost"]["energy_per_sample_uj"] == cost.energy_per_sample_uj
    assert summary["cost"]["neurobench"]["activation_sparsity"] == cost.neurobench.activation_sparsity
    assert "| hidden0 |" in (out / "quantization.md").read_text()
    assert "NeuroBench" in (out / "cost.md").read_text() and "| readout | readout |" in (out / "fit.md").read_text()


@pytest.mark.timeout(240)
def test_deploy_network_files_hold_the_network(deployed, direct):
    pytest.importorskip("nir")
    h5py = pytest.importorskip("h5py")
    from lava_local.interchange import import_nir

    _, stdout, out = deployed
    trainer, _ = direct
    weights = [p.detach().double().numpy() for p in trainer.params]
    again = import_nir(out / "network.nir")
    assert len(again.weights) == len(weights)
    assert all(np.array_equal(a, b) for a, b in zip(again.weights, weights))
    with h5py.File(out / "network.netx.h5", "r") as f:
        layers = f["layer"]
        assert len(layers) == json.loads(stdout)["netx"]["layers"] == 3  # input, hidden, read-out
        assert [layers[str(i)]["weight"].shape for i in (1, 2)] == [(16, 2312), (10, 16)]


@pytest.mark.timeout(240)
def test_deploy_a_nir_file_gives_the_same_report(deployed, capsys, tmp_path):
    pytest.importorskip("nir")
    _, _, out = deployed
    code, stdout, err = run(capsys, "deploy", "--checkpoint", out / "network.nir", "--data", "nmnist", "--limit",
                            "20", "--out", tmp_path, "--json")
    assert code == 0, err
    assert json.loads((tmp_path / "quantization.json").read_text()) == json.loads(
        (out / "quantization.json").read_text())
    assert json.loads(stdout)["format"] == "nir"


@pytest.mark.timeout(240)
def test_deploy_text_summary_lists_the_files(checkpoint, capsys, tmp_path):
    code, stdout, err = run(capsys, "deploy", "--checkpoint", checkpoint / "last.pt", "--out", tmp_path)
    assert code == 0, err
    assert "quantization: float accuracy" in stdout and "cost estimate:" in stdout
    assert "learning on chip: hidden0, readout" in stdout
    listed = stdout[stdout.index(f"files in {tmp_path}:"):].splitlines()[1:]
    assert sorted(line.strip() for line in listed) == sorted(
        name for key, name in DEPLOY_FILES.items() if key not in MISSING)


@pytest.mark.timeout(240)
def test_deploy_recurrent_network_skips_what_it_cannot_write(capsys, tmp_path):
    from lava_local.data import save_npz_dataset

    rng = np.random.default_rng(0)
    path = save_npz_dataset(tmp_path / "set.npz", rng.integers(0, 3, 30),
                            frames=(rng.random((30, 5, 12)) < 0.3).astype(np.float32))
    code, _, err = run(capsys, "train", "--data", path, "--method", "bptt", "--hidden", "8,r4", "--epochs", "1",
                       "--out", tmp_path / "train", "--checkpoint", tmp_path / "ckpt")
    assert code == 0, err
    code, stdout, err = run(capsys, "deploy", "--checkpoint", tmp_path / "ckpt", "--out", tmp_path / "out")
    assert code == 0, err
    for part in ("quantization", "cost", "netx"):
        assert f"warning: {part} not written" in stdout
    summary = json.loads((tmp_path / "out" / "deploy.json").read_text())
    assert set(summary["skipped"]) == {"quantization", "cost", "netx"} | MISSING
    assert "Recurrent" in summary["skipped"]["quantization"]
    assert set(summary["files"]) == {"fit_md", "fit_json", "nir", "summary"} - MISSING
    fit = json.loads((tmp_path / "out" / "fit.json").read_text())
    assert fit["learning_host"] == ["hidden1"] and fit["learning_chip"] == ["hidden0", "readout"]
    assert "recurrent" in fit["layers"][1]["reason"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("argv, message", [
    (["--checkpoint", "{tmp}/missing"], "checkpoint not found"),
    (["--checkpoint", "{tmp}/cut.pt"], "not a readable checkpoint"),
    (["--checkpoint", "{tmp}/junk.pt"], "junk.pt is not a"),
    (["--checkpoint", "{ckpt}", "--profile", "loihi9"], "unknown hardware profile"),
    (["--checkpoint", "{ckpt}", "--profile", "{tmp}/chip.toml"], "not found"),
    (["--checkpoint", "{ckpt}", "--data", "{tmp}/missing.npz"], "not found"),
    (["--checkpoint", "{tmp}/missing.nir"], "NIR file not found"),
])
def test_deploy_bad_input_exits_2_with_one_line(checkpoint, capsys, tmp_path, argv, message):
    (tmp_path / "cut.pt").write_bytes((checkpoint / "last.pt").read_bytes()[:1000])  # a damaged file
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "quantization.md").write_text("an earlier run's")
    argv = [a.format(tmp=tmp_path, ckpt=checkpoint) for a in argv]
    code, stdout, err = run(capsys, "deploy", *argv, "--out", out)
    assert code == 2 and stdout == ""
    assert message in error_line(err)
    assert [p.name for p in out.iterdir()] == ["quantization.md"]
    assert (out / "quantization.md").read_text() == "an earlier run's"


@pytest.mark.timeout(240)
def test_a_failed_deploy_leaves_out_as_it_was(checkpoint, capsys, tmp_path, monkeypatch):
    import lava_local.interchange

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(lava_local.interchange, "export_nir", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "quantization.md").write_text("an earlier run's")
    code, _, err = run(capsys, "deploy", "--checkpoint", checkpoint, "--out", out)
    assert code == 1 and "disk full" in error_line(err)
    assert [p.name for p in out.iterdir()] == ["quantization.md"]
    assert (out / "quantization.md").read_text() == "an earlier run's"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the temporary folder is gone

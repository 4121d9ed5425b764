"""The ``lava-local`` command line: help, info, train / resume / eval on tiny runs, the error
paths (exit code 2 with one line, 1 for a collapsed run), bench and deploy's usage (deploy
itself: tests/test_cli_deploy.py). Everything runs
in-process through ``main([...])`` except one test of the installed console script."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.cli import error_line, run
from helpers.ucr import toy_wheel
from lava_local.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: a tiny N-MNIST run: the first 20 training and test recordings, 16 hidden neurons
TINY = ["train", "--data", "nmnist", "--limit", "20", "--hidden", "16", "--backend", "trainer", "--no-progress"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command, options", [
    ([], ["info", "train", "eval", "bench", "deploy", "--traceback"]),
    (["info"], ["--json", "--cache-dir"]),
    (["train"], ["--data", "--encoding", "--steps", "--test-npz", "--test-fraction", "--limit", "--cache-dir", "--rule",
                 "--method", "--hidden", "--gamma", "--readout-gamma", "--readout-init", "--filtered", "--rate-scale", "--fixed-readout",
                 "--centred-readout", "--plain-readout", "--backend",
                 "--device",
                 "--batch-size", "--lr", "--epochs", "--seed", "--checkpoint", "--resume", "--out", "--json", "stllr-bp",
                 "readout-only", "lava-fixed"]),
    (["eval"], ["--checkpoint", "--data", "--limit", "--hidden", "--rule", "--method", "--json"]),
    (["bench"], ["NAME", "temporal", "compare_rules", "nmnist_lava"]),
    (["deploy"], ["--checkpoint", "--profile", "--out", "--json", "--data", "--limit", "--headroom",
                  "network.netx.h5", "network.nir", "quantization.json", "cost.md", "fit.json"]),
])
def test_help_names_the_options(capsys, command, options):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    for option in options:
        assert option in out, (command, option)


@pytest.mark.timeout(120)
def test_info_json_has_the_keys(capsys, tmp_path):
    code, out, _ = run(capsys, "info", "--json", "--cache-dir", tmp_path)
    assert code == 0
    info = json.loads(out)
    assert {"python", "packages", "gpu", "lava_loihi", "nmnist_subset", "fashion_mnist", "aeon"} <= set(info)
    assert set(info["packages"]) == {"numpy", "lava-nc", "lava-dl", "torch", "tonic", "nir"}
    assert info["packages"]["numpy"] == np.__version__
    assert isinstance(info["gpu"]["available"], bool) and isinstance(info["lava_loihi"], bool)
    assert info["nmnist_subset"] and Path(info["nmnist_subset"]).is_dir()
    assert info["aeon"] == {"cache": str(tmp_path), "wheel": "aeon-1.6.0-py3-none-any.whl", "present": False}
    assert isinstance(info["fashion_mnist"]["present"], bool)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch on the N-MNIST subset with a checkpoint: ``(summary, out dir, checkpoint dir)``."""
    folder = tmp_path_factory.mktemp("cli_train")
    code = main(TINY + ["--epochs", "1", "--out", str(folder / "out"), "--checkpoint", str(folder / "ckpt"),
                        "--json"])
    return code, folder / "out", folder / "ckpt"


@pytest.mark.timeout(180)
def test_train_writes_history_and_plots(trained, capsys):
    code, out, ckpt = trained
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1]
    epoch = history["epochs"][0]
    assert 0.0 <= epoch["test_accuracy"] <= 1.0 and epoch["seconds"] > 0
    assert len(epoch["firing_rates"]) == 1 and epoch["firing_rates"][0] > 0
    assert history["config"]["hidden"] == "16" and history["config"]["limit"] == 20
    for name in ("accuracy.png", "weights.png", "raster.png"):
        assert (out / name).stat().st_size > 1000, name
    assert (ckpt / "last.pt").is_file()


@pytest.mark.timeout(180)
def test_train_json_summary(capsys, tmp_path):
    code, out, err = run(capsys, *TINY, "--epochs", "1", "--out", tmp_path, "--json")
    assert code == 0, err
    summary = json.loads(out)  # stdout holds the JSON object only
    assert summary["status"] == "ok" and summary["epochs"] == 1
    assert summary["final_test_accuracy"] == json.loads((tmp_path / "history.json").read_text())["epochs"][-1][
        "test_accuracy"]
    assert set(summary["files"]) >= {"history", "accuracy", "weights", "raster"}


@pytest.fixture
def built(monkeypatch):
    """Every Network the command builds while the test runs, in order."""
    import lava_local.network

    networks = []

    class Recording(lava_local.network.Network):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            networks.append(self)

    monkeypatch.setattr(lava_local.network, "Network", Recording)
    return networks


@pytest.mark.timeout(180)
@pytest.mark.parametrize("options, want", [
    (("--readout-init", "basis", "--rule", "stllr-bp"), "basis"),
    ((), "basis"),  # auto under TESS's local signal
    (("--rule", "stllr-bp"), "random"),
    (("--method", "bptt"), "random"),  # BPTT learns no local signal: its baseline's random start
], ids=["named", "auto-tess", "auto-stllr-bp", "auto-bptt"])
def test_readout_init_reaches_the_network(options, want, capsys, tmp_path, built):
    """--readout-init builds the Network with the start named (auto: the basis under a local
    signal, random otherwise) and is kept in the run's config (a resumed run rebuilds the
    same network)."""
    code, out, err = run(capsys, *TINY, "--epochs", "1", *options, "--out", tmp_path, "--json")
    assert code == 0, err
    assert built and {net.readout_init for net in built} == {want}
    assert json.loads((tmp_path / "history.json").read_text())["config"]["readout_init"] == (
        "basis" if "--readout-init" in options else "auto")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("options, want, kept", [
    ((), ("last", True), "auto"),  # TESS's default, resolved by the network
    (("--rule", "lls"), ("last", True), "auto"),
    (("--rule", "stllr"), ("last", True), "auto"),
    (("--rule", "stllr-bp"), ("last", True), "auto"),
    (("--filtered",), (True, True), "all"),
    (("--filtered", "last", "--rule", "stllr-bp"), ("last", True), "last"),
    (("--filtered", "none"), (False, True), "none"),
    (("--filtered", "--fixed-readout"), (True, False), "all"),
    (("--filtered", "--fixed-readout", "--backend", "lava-fixed"), (True, False), "all")],
    ids=["default", "default-lls", "default-stllr", "default-stllr-bp", "filtered", "last", "none", "filtered-fixed-readout",
         "filtered-fixed-readout-lava-fixed"])
def test_filtered_and_fixed_readout_reach_the_network(options, want, kept, capsys, tmp_path, built):
    """--filtered [all|last|none|auto] gives the network's rule filtered=True / "last" /
    False / "auto" (the flag alone: all; left out: the rule's default), --fixed-readout the
    network readout_learns=False; both are kept in the run's config."""
    code, out, err = run(capsys, *TINY, "--epochs", "1", *options, "--out", tmp_path, "--json")
    assert code == 0, err
    assert built and {(net.rule.filtered, net.readout_learns) for net in built} == {want}
    config = json.loads((tmp_path / "history.json").read_text())["config"]
    assert (config["filtered"], config["fixed_readout"]) == (kept, not want[1])


def test_a_checkpoint_before_the_filtered_choices_keeps_its_rule():
    """A run saved when ``--filtered`` was a flag holds a bool, and one saved before it holds
    nothing: both rebuild the rule they trained (False: unfiltered, not today's default)."""
    from lava_local.cli import NETWORK_DEFAULTS, make_rule

    assert make_rule("tess", False).filtered is False and make_rule("tess", True).filtered is True
    assert make_rule("tess", NETWORK_DEFAULTS["filtered"]).filtered is False
    assert make_rule("tess").filtered == "auto"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["trainer", "lava-fixed"])
def test_rate_scale_reaches_the_network_and_is_measured_before_training(backend, capsys, tmp_path, built):
    """--rate-scale gives the rule's signal scale="rate"; the run measures each layer's rate
    before it learns (the trainer and the Lava network alike) and keeps the option in its
    config; a rule without a local signal refuses it."""
    code, out, err = run(capsys, *TINY, "--epochs", "1", "--rate-scale", "--backend", backend, "--out", tmp_path,
                         "--json")
    assert code == 0, err
    trained = built[0]
    assert trained.rule.signal.scale == "rate"
    assert len(trained.signal_rates) == len(trained.hidden) and all(0 < r < 1 for r in trained.signal_rates)
    assert json.loads((tmp_path / "history.json").read_text())["config"]["rate_scale"] is True
    code, out, err = run(capsys, *TINY, "--epochs", "1", "--rate-scale", "--rule", "stllr-bp", "--out",
                         tmp_path / "bp")
    assert code == 2 and "--rate-scale" in error_line(err)


@pytest.mark.timeout(180)
def test_the_readout_is_centred_by_default_plain_on_request_and_a_fixed_readout_refuses_centring(
        capsys, tmp_path, built):
    """A Lava run's read-out is centred by default (Network(readout_centred=True)) and keeps
    the read-out's input mean; --plain-readout gives the papers' read-out, --fixed-readout a
    plain one; --centred-readout is refused with one line beside a fixed read-out."""
    lava = [option if option != "trainer" else "lava-fixed" for option in TINY]
    code, out, err = run(capsys, *lava, "--limit", "8", "--epochs", "1", "--out", tmp_path, "--json")
    assert code == 0, err
    assert built and all(net.readout_centred for net in built)
    assert built[0].readout_seen == 8 and built[0].readout_mean.max() > 0  # the mean of the 8 training samples
    assert json.loads((tmp_path / "history.json").read_text())["config"]["centred_readout"] is True
    for option, folder in (("--plain-readout", "plain"), ("--fixed-readout", "fixed")):
        built.clear()
        code, out, err = run(capsys, *lava, "--limit", "8", "--epochs", "1", option, "--out", tmp_path / folder)
        assert code == 0, err
        assert built and not any(net.readout_centred for net in built) and built[0].readout_seen == 0
        assert json.loads((tmp_path / folder / "history.json").read_text())["config"]["centred_readout"] is False
    code, _, err = run(capsys, *lava, "--fixed-readout", "--centred-readout", "--out", tmp_path / "refused")
    assert code == 2 and "--fixed-readout keeps it at its start" in err


def _rewrite_cli_config(path: Path, change) -> None:
    """Edit the options the CLI kept in a checkpoint (``change(config)`` in place)."""
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=True)
    change(payload["extra"]["cli"])
    torch.save(payload, path)


@pytest.mark.timeout(240)
def test_a_resumed_run_keeps_the_rule_its_network_trained_with(capsys, tmp_path, built):
    """The checkpoint keeps the network's rule as the network resolved it; a resumed run, an
    eval and a deploy rebuild that rule, not the library's default of the day. A checkpoint
    from before the rule was kept, of ``--rule stllr`` with ``--filtered auto``, resumes as
    S-TLLR's local signal was then: unfiltered, its basis at +-1."""
    from dataclasses import replace as replace_field

    from lava_local.interchange import rule_config

    code, _, err = run(capsys, *TINY, "--rule", "stllr", "--epochs", "1", "--out", tmp_path / "a",
                       "--checkpoint", tmp_path / "ckpt")
    assert code == 0, err
    trained = built[-1].rule
    assert (trained.filtered, trained.signal.filtered_scale) == ("last", "1/sqrt(d)")
    kept = json.loads((tmp_path / "a" / "history.json").read_text())["config"]["rule_config"]
    assert kept == json.loads(json.dumps(rule_config(trained)))

    # the kept rule, not one rebuilt from the options: change it in the file and resume
    changed = replace_field(trained, eligibility=replace_field(trained.eligibility, alpha_post=0.5))
    _rewrite_cli_config(tmp_path / "ckpt" / "last.pt", lambda c: c.update(rule_config=rule_config(changed)))
    built.clear()
    code, _, err = run(capsys, "train", "--checkpoint", tmp_path / "ckpt", "--resume", "--epochs", "2", "--out",
                       tmp_path / "b", "--no-progress")
    assert code == 0, err
    assert built and {net.rule for net in built} == {changed}
    built.clear()
    code, _, err = run(capsys, "eval", "--checkpoint", tmp_path / "ckpt", "--json")
    assert code == 0, err
    assert {net.rule for net in built} == {changed}

    # written before the rule was kept: "auto" was unfiltered under S-TLLR's local signal
    _rewrite_cli_config(tmp_path / "ckpt" / "last.pt", lambda c: c.pop("rule_config"))
    built.clear()
    code, _, err = run(capsys, "train", "--checkpoint", tmp_path / "ckpt", "--resume", "--epochs", "3", "--out",
                       tmp_path / "c", "--no-progress")
    assert code == 0, err
    legacy = {net.rule for net in built}
    assert len(legacy) == 1 and legacy.pop().filtered is False
    assert json.loads((tmp_path / "c" / "history.json").read_text())["config"]["rule_config"]["filtered"] is False
    # options given on resume still rebuild the rule from them
    built.clear()
    code, _, err = run(capsys, "train", "--checkpoint", tmp_path / "ckpt", "--resume", "--epochs", "3",
                       "--filtered", "last", "--out", tmp_path / "d", "--no-progress")
    assert code == 0, err
    assert {(net.rule.filtered, net.rule.signal.filtered_scale) for net in built} == {("last", "1/sqrt(d)")}


@pytest.mark.timeout(240)
def test_resume_continues_at_epoch_two_as_an_uninterrupted_run(trained, capsys, tmp_path):
    _, out, ckpt = trained
    resumed = tmp_path / "ckpt"
    shutil.copytree(ckpt, resumed)
    # network and data options come from the checkpoint
    code, _, err = run(capsys, "train", "--checkpoint", resumed, "--resume", "--epochs", "2", "--out",
                       tmp_path / "resumed", "--no-progress")
    assert code == 0, err
    assert "at epoch 1" in _ + err
    history = json.loads((tmp_path / "resumed" / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert history[0] == json.loads((out / "history.json").read_text())["epochs"][0]
    code, _, err = run(capsys, *TINY, "--epochs", "2", "--out", tmp_path / "straight")
    assert code == 0, err
    straight = json.loads((tmp_path / "straight" / "history.json").read_text())["epochs"]
    assert [e["test_accuracy"] for e in straight] == [e["test_accuracy"] for e in history]
    assert [e["firing_rates"] for e in straight] == [e["firing_rates"] for e in history]


@pytest.mark.timeout(180)
def test_a_fresh_run_does_not_replace_a_checkpoint(trained, capsys):
    _, out, ckpt = trained
    before = (ckpt / "last.pt").read_bytes()
    code, _, err = run(capsys, *TINY, "--epochs", "1", "--out", out, "--checkpoint", ckpt)
    assert code == 2 and "--resume" in error_line(err)
    assert (ckpt / "last.pt").read_bytes() == before


@pytest.mark.timeout(180)
def test_eval_gives_the_training_runs_accuracy(trained, capsys):
    _, out, ckpt = trained
    last = json.loads((out / "history.json").read_text())["epochs"][-1]["test_accuracy"]
    code, stdout, err = run(capsys, "eval", "--checkpoint", ckpt / "last.pt", "--data", "nmnist", "--limit", "20",
                            "--hidden", "16", "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["accuracy"] == last and result["n_test"] == 20 and result["epoch"] == 1
    # the options left out come from the checkpoint; another network is refused
    code, stdout, _ = run(capsys, "eval", "--checkpoint", ckpt, "--json")
    assert code == 0 and json.loads(stdout)["accuracy"] == last
    code, _, err = run(capsys, "eval", "--checkpoint", ckpt, "--hidden", "32")
    assert code == 2 and "does not match" in error_line(err)


@pytest.mark.timeout(120)
def test_training_collapse_exits_1_with_its_message(capsys, tmp_path):
    code, _, err = run(capsys, *TINY, "--epochs", "2", "--lr", "100", "--out", tmp_path)
    assert code == 1
    assert "collapsed" in error_line(err) and "exploded" in err
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epochs"] == [] and "exploded" in history["collapse"]


@pytest.fixture
def npz_set(tmp_path):
    from lava_local.data import save_npz_dataset

    rng = np.random.default_rng(0)
    frames = (rng.random((30, 5, 12)) < 0.3).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    path = tmp_path / "set.npz"
    save_npz_dataset(path, labels, frames=frames)
    return path, frames, labels


@pytest.mark.timeout(120)
def test_npz_with_a_split_and_recurrent_bptt(capsys, tmp_path, npz_set):
    path, _, _ = npz_set
    code, out, err = run(capsys, "train", "--data", path, "--test-fraction", "0.2", "--method", "bptt", "--hidden",
                         "8,r4", "--epochs", "1", "--out", tmp_path / "out", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert "(24/6)" in summary["data"]
    assert any("no raster" in note for note in summary["notes"]) and "raster" not in summary["files"]


@pytest.mark.timeout(60)
def test_npz_with_nan_frames_exits_2(capsys, tmp_path, npz_set):
    _, frames, labels = npz_set
    frames[3, 1, 2] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, frames=frames, labels=labels)
    code, _, err = run(capsys, "train", "--data", path, "--epochs", "1", "--out", tmp_path / "out")
    assert code == 2
    assert "NaN" in error_line(err) and "sample 3" in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv, message", [
    (["--data", "missing.npz"], "not found"),
    (["--data", "nope"], "unknown data set"),
    (["--hidden", "8,x"], "--hidden"),
    (["--backend", "lava-float", "--method", "bptt"], "--backend trainer"),
    (["--resume"], "--checkpoint"),
    (["--data", "nmnist", "--encoding", "delta"], "--encoding goes with a ucr: set"),
])
def test_bad_usage_exits_2_with_one_line(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "train", *argv, "--out", tmp_path)
    assert code == 2
    assert message in error_line(err)


@pytest.mark.timeout(60)
def test_unknown_ucr_set_without_the_wheel_names_the_pip_command(capsys, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    code, _, err = run(capsys, "train", "--data", "ucr:Nope", "--cache-dir", cache, "--out", tmp_path / "out")
    assert code == 2
    line = error_line(err)
    assert "pip download aeon==1.6.0" in line and str(cache) in line and "--download" in line


def test_the_encoding_choices_are_the_librarys():
    """The CLI names the UEA/UCR codes without importing the data modules; they must be the
    library's, its standard first (the default a new run resolves to)."""
    from lava_local.cli import UCR_ENCODING_CHOICES
    from lava_local.data.timeseries import UCR_ENCODER, UCR_ENCODERS

    assert set(UCR_ENCODING_CHOICES) == set(UCR_ENCODERS) and UCR_ENCODING_CHOICES[0] == UCR_ENCODER


@pytest.mark.timeout(240)
def test_ucr_sets_take_the_level_code_and_a_checkpoint_keeps_its_code(capsys, tmp_path):
    """``--data ucr:NAME`` encodes with the library's standard, the level code (24 delta inputs
    and 12 level fields for one channel); ``--encoding delta`` keeps the delta code alone. A
    checkpoint keeps its code: eval reads the set as its network trained on it, and a
    checkpoint from before the option reads it in the delta code, the standard then."""
    toy_wheel(tmp_path)
    common = ["train", "--data", "ucr:Toy", "--cache-dir", tmp_path, "--hidden", "8", "--epochs", "1",
              "--backend", "trainer", "--no-progress", "--json"]
    code, out, err = run(capsys, *common, "--out", tmp_path / "a")
    assert code == 0, err
    assert "delta+rate encoded, 36 inputs" in json.loads(out)["data"]
    assert json.loads((tmp_path / "a" / "history.json").read_text())["config"]["encoding"] == "delta+rate"
    code, out, err = run(capsys, *common, "--encoding", "delta", "--out", tmp_path / "b",
                         "--checkpoint", tmp_path / "ckpt")
    assert code == 0, err
    assert "delta encoded, 24 inputs" in json.loads(out)["data"]
    assert json.loads((tmp_path / "b" / "history.json").read_text())["config"]["encoding"] == "delta"

    code, out, err = run(capsys, "eval", "--checkpoint", tmp_path / "ckpt", "--cache-dir", tmp_path, "--json")
    assert code == 0, err
    accuracy = json.loads(out)["accuracy"]
    code, _, err = run(capsys, "eval", "--checkpoint", tmp_path / "ckpt", "--cache-dir", tmp_path, "--encoding",
                       "delta+rate")
    assert code == 2 and "does not match" in error_line(err)
    _rewrite_cli_config(tmp_path / "ckpt" / "last.pt", lambda c: c.pop("encoding"))
    code, out, err = run(capsys, "eval", "--checkpoint", tmp_path / "ckpt", "--cache-dir", tmp_path, "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == accuracy


@pytest.mark.timeout(60)
def test_lava_backend_refuses_analog_frames(capsys, tmp_path):
    from lava_local.data import save_npz_dataset

    path = save_npz_dataset(tmp_path / "analog.npz", np.arange(10) % 2,
                            frames=np.random.default_rng(0).random((10, 4, 6)).astype(np.float32))
    code, _, err = run(capsys, "train", "--data", path, "--backend", "lava-float", "--out", tmp_path / "out")
    assert code == 2 and "analog" in error_line(err)


@pytest.mark.timeout(240)
def test_lava_float_backend_trains_and_records_the_raster(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--data", "nmnist", "--limit", "3", "--hidden", "8", "--epochs", "1",
                         "--backend", "lava-float", "--out", tmp_path, "--no-progress", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["epochs"] == 1 and 0.0 <= summary["final_test_accuracy"] <= 1.0
    assert (tmp_path / "raster.png").is_file() and (tmp_path / "weights.png").is_file()


@pytest.mark.timeout(60)
def test_bench_unknown_name_lists_the_benchmarks(capsys):
    code, _, err = run(capsys, "bench", "nope")
    assert code == 2
    line = error_line(err)
    for name in ("temporal", "compare_rules", "nmnist_lava"):
        assert name in line


@pytest.mark.timeout(60)
def test_deploy_needs_a_checkpoint(capsys):
    code, _, err = run(capsys, "deploy")  # the rest of deploy: tests/test_cli_deploy.py
    assert code == 2 and "--checkpoint" in error_line(err)


@pytest.mark.timeout(120)
def test_console_script_is_installed():
    script = Path(sys.executable).with_name("lava-local")
    assert script.is_file(), f"{script} missing: pip install -e . installs the console script"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=100, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for command in ("info", "train", "eval", "bench", "deploy"):
        assert command in result.stdout


@pytest.mark.timeout(180)
@pytest.mark.parametrize("steps", [10, 40])
def test_lava_steps_default_to_a_step_per_sample_spread_over_its_time_steps(steps, capsys, tmp_path, monkeypatch):
    """Without --lr / --readout-lr the Lava processes a run builds take 1e-2 / T per time
    step, rule and read-out (the library's default steps per sample): at T = 10 the 1e-3 of
    the online N-MNIST runs, at T = 40 a quarter of it; the run's config keeps the steps
    taken."""
    import lava_local.network

    taken = []

    class RecordingNetwork(lava_local.network.Network):
        def build(self, *args, **kwargs):
            source, layers, readout = super().build(*args, **kwargs)
            taken.append((layers[0].proc_params["rule"].lr, readout.proc_params["lr"]))
            return source, layers, readout

    monkeypatch.setattr(lava_local.network, "Network", RecordingNetwork)
    code, _, err = run(capsys, *TINY[:-3], "--steps", str(steps), "--backend", "lava-float", "--no-progress",
                       "--epochs", "1", "--out", tmp_path, "--json")
    assert code == 0, err
    expected = (1e-2 / steps, 1e-2 / steps)
    assert taken and all(rates == pytest.approx(expected, rel=1e-12) for rates in taken)
    if steps == 10:
        assert taken[0] == (1e-3, 1e-3)
    config = json.loads((tmp_path / "history.json").read_text())["config"]
    assert (config["lr"], config["readout_lr"]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["trainer", "lava-float"])
def test_readout_lr_sets_the_read_outs_rate_alone(backend, capsys, tmp_path, monkeypatch):
    """--readout-lr: the read-out's Adam rate in the trainer (the hidden layers keep --lr), its
    SGD step in Lava (the rule keeps --lr); kept in the run's config."""
    import lava_local.network
    import lava_local.trainer

    rates = []

    class RecordingNetwork(lava_local.network.Network):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            rates.append(("network", self.rule.lr, self.readout_lr))  # given per time step: kept as given

    class RecordingTrainer(lava_local.trainer.LocalTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            rates.append(("trainer", *(o.param_groups[0]["lr"] for o in self.optimizers)))

    monkeypatch.setattr(lava_local.network, "Network", RecordingNetwork)
    monkeypatch.setattr(lava_local.trainer, "LocalTrainer", RecordingTrainer)
    code, _, err = run(capsys, *TINY, "--epochs", "1", "--backend", backend, "--lr", "2e-3", "--readout-lr", "1e-4",
                       "--out", tmp_path, "--json")
    assert code == 0, err
    if backend == "trainer":
        assert ("trainer", 2e-3, 1e-4) in rates  # one hidden layer (--hidden 16) and the read-out
    else:
        assert ("network", 2e-3, 1e-4) in rates
    config = json.loads((tmp_path / "history.json").read_text())["config"]
    assert (config["lr"], config["readout_lr"]) == (2e-3, 1e-4)

"""The benchmark programs run end to end on a tiny configuration (their figures are
measured in ``benchmarks/``, not here): a GPU run must not be the first time they run."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.ucr import toy_wheel

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


def test_vgg9_step_runs_named_rows_and_profiles_them(tmp_path):
    """``--only`` runs the named rows alone (the table without a BPTT row has no ratios);
    ``--profile N`` writes each eager row's costliest operations; an unknown row is refused."""
    script = [sys.executable, str(ROOT / "benchmarks" / "vgg9_step.py"), "--width", "0.03", "--size", "16",
              "--batch", "2", "--steps", "2", "--windows", "2", "--repeats", "1"]
    out = subprocess.run(script + ["--only", "TESS window 2", "--profile", "5", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "vgg9_step.json").read_text())
    assert set(result["rows"]) == {"TESS window 2"}
    assert "| TESS window 2 |" in (tmp_path / "vgg9_step.md").read_text()
    listing = (tmp_path / "vgg9_profile.txt").read_text()
    assert listing.startswith("## TESS window 2, T = 2") and "Self CPU" in listing
    assert listing.count("\n## ") == 0  # one row, one listing
    refused = subprocess.run(script + ["--only", "TESS window 3", "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert refused.returncode == 2 and "unknown rows ['TESS window 3']" in refused.stderr


def test_gpu_figures_script_is_valid_bash():
    """The GPU script runs only where CUDA is; here its syntax, and the scripts it calls."""
    script = ROOT / "benchmarks" / "gpu_figures.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    for called in ("vgg9_step.py", "conv_costs.py", "compare_rules.py"):
        assert f"benchmarks/{called}" in script.read_text() and (ROOT / "benchmarks" / called).exists()


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


def test_compare_rules_writes_memory_by_batch_and_steps(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare_rules.py"), "--parts", "memory", "--methods",
         "TESS,BPTT", "--memory-steps", "2,6", "--memory-batch", "2,4", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {r["method"]: r for r in json.loads((tmp_path / "compare_rules.json").read_text())["rows"]}
    tess, bptt = rows["TESS"], rows["BPTT"]
    for batch in (2, 4):
        # TESS's learning state does not depend on T; BPTT's saved activations grow with it
        assert tess[f"state_MiB_B{batch}_T2"] == tess[f"state_MiB_B{batch}_T6"] > 0
        assert bptt[f"state_MiB_B{batch}_T6"] > bptt[f"state_MiB_B{batch}_T2"]
        assert bptt[f"step_MiB_B{batch}_T6"] > 0 and tess[f"step_MiB_B{batch}_T6"] > 0
    # both grow with the batch
    assert bptt["state_MiB_B4_T6"] > bptt["state_MiB_B2_T6"] and tess["state_MiB_B4_T2"] > tess["state_MiB_B2_T2"]
    assert "step_MiB_B4_T6" in (tmp_path / "compare_rules.csv").read_text().splitlines()[0]


def test_conv_costs_writes_its_table(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "conv_costs.py"), "--width", "0.03", "--size", "16",
         "--batch", "2", "--repeats", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "conv_costs.json").read_text())
    rows = result["rows"]
    assert len(rows) == 9 and rows[-1]["layer"] == "all conv layers"  # VGG-9's eight conv layers and the sum
    for row in rows:
        assert row["tess_step"] == row["forward"] + row["tess_weight_grad_2B"] > 0
        assert row["bptt_step"] == row["forward"] + row["bptt_backward_B"] > 0
    assert rows[-1]["forward"] == sum(r["forward"] for r in rows[:-1])
    assert "| all conv layers |" in (tmp_path / "conv_costs.md").read_text()


def test_temporal_writes_its_table_from_a_fake_aeon_wheel(tmp_path):
    toy_wheel(tmp_path)
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets", "Toy",
         "--epochs", "2", "--seeds", "1", "--methods",
         "TESS,BPTT,read-out only,TESS + random read-out,TESS (filtered),TESS (filtered) + fixed read-out",
         "--arch", "ff,rec",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "temporal.json").read_text())
    rows = {(r["method"], r["arch"]): r for r in result["rows"]}
    methods = ("TESS", "BPTT", "read-out only", "TESS + random read-out", "TESS (filtered)",
               "TESS (filtered) + fixed read-out")
    assert set(rows) == {(m, a) for m in methods for a in ("ff", "rec")}
    for (method, arch), row in rows.items():
        assert 0.0 <= row["Toy_acc_mean"] <= 1.0 and row["Toy_s_per_epoch"] > 0
        assert len(row["Toy_rates"]) == (2 if arch == "ff" else 1)  # one per hidden layer
    assert len(result["runs"]) == 12 and all(len(r["train_accuracy"]) == 2 for r in result["runs"])
    # unnamed: the network's default start (the basis under TESS's signal; BPTT's at random)
    assert {(r["method"], r["readout_init"], r["readout_learns"]) for r in result["runs"]} == {
        ("TESS", "basis", True), ("BPTT", "random", True), ("read-out only", "basis", True),
        ("TESS + random read-out", "random", True), ("TESS (filtered)", "basis", True),
        ("TESS (filtered) + fixed read-out", "basis", False)}
    assert not any(r["error"] for r in result["runs"])
    encoding = result["encodings"]["Toy"]["encoding"]
    # the standard encoding, the level code: 24 delta inputs and 12 level fields (one channel)
    assert encoding["encoder"] == "delta+rate" and encoding["n_inputs"] == 36 and encoding["n_delta_inputs"] == 24
    assert encoding["thresholds"][-1] == 1.2 and encoding["n_steps"] == 40
    assert encoding["sampling"] == "sigma-delta" and result["encodings"]["Toy"]["n_inputs"] == 36
    assert "SHD" in result["missing"]  # no --shd-root: that column says so, nothing is downloaded
    table = (tmp_path / "temporal.md").read_text()
    assert "| method | arch | Toy | SHD |" in table and "no data" in table
    assert "| set | arch | BPTT | S-TLLR (bp) gap | TESS gap |" in table and "| Toy | rec |" in table


def test_temporal_encoding_option_keeps_the_delta_code_alone(tmp_path):
    """``--encoding delta``: the 24 delta inputs without the level fields, recorded with the
    run."""
    toy_wheel(tmp_path)
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets", "Toy",
         "--epochs", "1", "--seeds", "1", "--methods", "BPTT", "--arch", "ff", "--encoding", "delta",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "temporal.json").read_text())
    encoding = result["encodings"]["Toy"]["encoding"]
    assert encoding["encoder"] == "delta" and encoding["n_inputs"] == 24 and "n_neurons" not in encoding
    assert result["encodings"]["Toy"]["n_inputs"] == 24
    assert result["args"]["encoding"] == "delta" and not result["runs"][0]["error"]


def test_temporal_first_seed_adds_the_seeds_a_longer_run_has(tmp_path):
    """``--first-seed 1 --seeds 1`` runs seed 1 alone, equal to seed 1 of ``--seeds 2``."""
    toy_wheel(tmp_path)
    base = [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets", "Toy",
            "--epochs", "2", "--methods", "TESS", "--arch", "ff"]
    runs = {}
    for name, seeds in (("both", ["--seeds", "2"]), ("second", ["--seeds", "1", "--first-seed", "1"])):
        out = subprocess.run(base + seeds + ["--out", str(tmp_path / name)], capture_output=True, text=True,
                             timeout=300, cwd=ROOT)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        runs[name] = json.loads((tmp_path / name / "temporal.json").read_text())["runs"]
    assert [r["seed"] for r in runs["both"]] == [0, 1] and [r["seed"] for r in runs["second"]] == [1]
    for key in ("accuracy", "train_accuracy"):
        assert runs["second"][0][key] == runs["both"][1][key]
    assert runs["both"][0]["train_accuracy"] != runs["both"][1]["train_accuracy"]  # seeds differ
    assert "1 seed(s), 1-1" in (tmp_path / "second" / "temporal.md").read_text()


@pytest.mark.timeout(400)
def test_gradient_alignment_probes_without_changing_the_training(tmp_path):
    """``gradient_alignment.py`` trains as ``temporal.py`` does (the same final accuracy for
    the same seed) while it probes; on the feed-forward network S-TLLR (bp)'s last hidden
    layer, filtered by the read-out's leak, is BPTT's gradient (cosine 1, every sign agrees),
    its first layer only close to it; a recurrent layer is reported by block."""
    toy_wheel(tmp_path)
    common = ["--cache-dir", str(tmp_path), "--sets", "Toy", "--epochs", "2", "--seeds", "1",
              "--methods", "S-TLLR (bp)"]
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gradient_alignment.py"), *common,
                          "--arch", "ff,rec", "--probe-epochs", "0,1,2", "--out", str(tmp_path / "a")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "temporal.py"), *common, "--arch", "ff,rec",
                          "--out", str(tmp_path / "t")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    aligned = json.loads((tmp_path / "a" / "alignment.json").read_text())
    trained = {r["arch"]: r["accuracy"] for r in json.loads((tmp_path / "t" / "temporal.json").read_text())["runs"]}
    assert {r["arch"]: r["accuracy"] for r in aligned["runs"]} == trained
    rows = aligned["rows"]
    assert {(r["arch"], r["layer"], r["block"]) for r in rows} == {
        ("ff", 0, "all"), ("ff", 1, "all"), ("rec", 0, "in"), ("rec", 0, "rec")}
    assert {r["epoch"] for r in rows} == {0, 1, 2}
    for r in rows:
        assert -1.0 <= r["cos_epoch"] <= 1.0 + 1e-5 and 0.0 <= r["sign_agree"] <= 1.0 and r["norm_ratio"] > 0
        if (r["arch"], r["layer"]) == ("ff", 1):
            assert r["cos_epoch"] == pytest.approx(1.0, abs=1e-4) and r["sign_agree"] > 0.99
        if (r["arch"], r["layer"]) == ("ff", 0):
            assert 0.3 < r["cos_epoch"] < 0.9999
    assert "| Toy | S-TLLR (bp) | rec | 0 (rec) |" in (tmp_path / "a" / "alignment.md").read_text()
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gradient_alignment.py"), *common,
                          "--methods", "BPTT", "--out", str(tmp_path / "b")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "learns with a rule" in out.stderr
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gradient_alignment.py"), *common,
                          "--sets", "NoSuchSet", "--out", str(tmp_path / "c")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "NoSuchSet" in out.stderr and "Traceback" not in out.stderr


def test_temporal_takes_one_rate_per_layer(tmp_path):
    """``--lr`` per layer reaches each layer's optimiser; a list that does not fit the
    network, or a rate that is not positive, is refused before anything runs."""
    toy_wheel(tmp_path)
    command = [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets",
               "Toy", "--epochs", "1", "--seeds", "1", "--methods", "BPTT", "--out", str(tmp_path)]
    out = subprocess.run(command + ["--arch", "ff", "--lr", "1e-20,2e-3,3e-3"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (run,) = json.loads((tmp_path / "temporal.json").read_text())["runs"]
    assert run["layer_lr"] == [1e-20, 2e-3, 3e-3] and not run["error"]
    assert "Adam lr 1e-20 / 0.002 / 0.003 per layer" in (tmp_path / "temporal.md").read_text()
    for arch, lr, why in (("rec", "1e-3,1e-3,1e-3", "the rec network has 2 layers"),
                          ("ff", "0,1e-3,1e-3", "rates must be positive")):
        out = subprocess.run(command + ["--arch", arch, "--lr", lr], capture_output=True, text=True, timeout=300,
                             cwd=ROOT)
        assert out.returncode == 2 and why in out.stderr, out.stderr[-2000:]


def test_temporal_optimizer_option_steps_plain_sgd(tmp_path):
    """``--optimizer sgd`` gives every layer plain SGD: one sample moves the weights in
    proportion to their gradients, where Adam's first step moves each layer's largest mover by
    ``lr`` (its ``m / sqrt(v)`` is 1); the table's header names the optimiser."""
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, temporal; "
             "trainer, _ = temporal.make_trainer('TESS', 'ff', 6, 3, 0, temporal.TEMPORAL_NETWORK, 1e-2, 'cpu', "
             "optimizer=sys.argv[2]); w = [p.detach().clone() for p in trainer.params]; "
             "rng = np.random.default_rng(0); "
             "trainer.fit_epoch((rng.random((1, 20, 6)) < 0.4).astype(np.uint8), np.array([1]), batch_size=1); "
             "d = [float((p.detach() - w0).abs().max()) for p, w0 in zip(trainer.params, w)]; "
             "print(*{type(o).__name__ for o in trainer.optimizers}, all(abs(x - 1e-2) < 1e-4 for x in d))")
    for optimizer, expected in (("sgd", ["SGD", "False"]), ("adam", ["Adam", "True"])):
        out = subprocess.run([sys.executable, "-c", child, str(ROOT / "benchmarks"), optimizer], capture_output=True,
                             text=True, timeout=300, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == expected, (optimizer, out.stdout)
    toy_wheel(tmp_path)
    command = [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets",
               "Toy", "--epochs", "1", "--seeds", "1", "--methods", "TESS", "--arch", "ff", "--optimizer", "sgd",
               "--batch", "1", "--lr", "1e-3", "--out", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "batch 1, SGD lr 0.001 per layer" in (tmp_path / "temporal.md").read_text()
    (run,) = json.loads((tmp_path / "temporal.json").read_text())["runs"]
    assert not run["error"]


def test_temporal_recurrent_step_reaches_the_recurrent_block(tmp_path):
    """``--recurrent-step 0`` keeps the recurrent network's recurrent weights at their start
    while its input weights learn; the value is in the table's header, and a negative one
    is refused before anything runs. ``--arch rec2`` runs two recurrent layers, the upper
    one alone filtered by the rule's default."""
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, temporal; "
             "trainer, _ = temporal.make_trainer('S-TLLR (bp)', 'rec', 6, 3, 0, temporal.TEMPORAL_NETWORK, 1e-2, "
             "'cpu', recurrent_step=0.0); w = trainer.params[0].detach().clone(); "
             "rng = np.random.default_rng(0); "
             "trainer.fit_epoch((rng.random((8, 20, 6)) < 0.4).astype(np.uint8), rng.integers(0, 3, 8), batch_size=4); "
             "d = (trainer.params[0].detach() - w).abs(); print(float(d[:, :6].max()), float(d[:, 6:].max()))")
    out = subprocess.run([sys.executable, "-c", child, str(ROOT / "benchmarks")], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    moved_input, moved_recurrent = map(float, out.stdout.split())
    assert moved_input > 0 and moved_recurrent == 0
    toy_wheel(tmp_path)
    command = [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets",
               "Toy", "--epochs", "1", "--seeds", "1", "--methods", "S-TLLR (bp)", "--arch", "rec2",
               "--out", str(tmp_path)]
    out = subprocess.run(command + ["--recurrent-step", "0"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "recurrent block's step 0 of the input block's" in (tmp_path / "temporal.md").read_text()
    (run,) = json.loads((tmp_path / "temporal.json").read_text())["runs"]
    assert run["arch"] == "rec2" and len(run["rates"]) == 2 and not run["error"]
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import temporal; "
             "trainer, _ = temporal.make_trainer('S-TLLR (bp)', 'rec2', 6, 3, 0, temporal.TEMPORAL_NETWORK, 1e-3, "
             "'cpu'); print(trainer.net.rule.filtered, trainer.net.recurrent)")
    out = subprocess.run([sys.executable, "-c", child, str(ROOT / "benchmarks")], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.stdout.split(None, 1) == ["last", "[True, True]\n"], out.stderr[-2000:]
    out = subprocess.run(command + ["--recurrent-step", "-1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 2 and "--recurrent-step must be >= 0" in out.stderr, out.stderr[-2000:]


def test_the_filter_gain_labels_name_the_rules_option(tmp_path):
    """``"<rule> (unit-gain filter)"`` and ``"<rule> (sum filter)"`` are the rule at its
    default but ``filtered_gain``, in temporal.py and in online_steps.py (which runs TESS's,
    S-TLLR's and LLS's in Lava); TESS's default is the unit gain, the others' the sum."""
    child = ("import sys; sys.path.insert(0, sys.argv[1]); import temporal, online_steps; "
             "rule = temporal.make_rule; "
             "print(all(rule(f'{r} ({label} filter)') == rule(r).with_(filtered_gain=gain) "
             "for r in ('TESS', 'S-TLLR', 'S-TLLR (bp)', 'LLS') "
             "for label, gain in (('unit-gain', 'unit'), ('sum', 'sum'))), "
             "[rule(r).filtered_gain for r in ('TESS', 'S-TLLR', 'LLS')], "
             "{'TESS (sum filter)', 'LLS (unit-gain filter)'} <= set(online_steps.LAVA_METHODS))")
    out = subprocess.run([sys.executable, "-c", child, str(ROOT / "benchmarks")], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.stdout.split() == ["True", "['unit',", "'sum',", "'sum']", "True"], out.stderr[-2000:]


def test_temporal_runs_the_basis_options_by_name(tmp_path):
    """The basis options are names ``--methods`` (a comma-separated list) can hold; each
    runs with the basis and scale its name says, recorded with the run."""
    toy_wheel(tmp_path)
    methods = ("TESS (rate-scaled basis)", "TESS (split basis)", "TESS (rate-scaled split basis)",
               "S-TLLR (split basis)")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "temporal.py"), "--cache-dir", str(tmp_path), "--sets", "Toy",
         "--epochs", "1", "--seeds", "1", "--methods", ",".join(methods), "--arch", "ff", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "temporal.json").read_text())
    signals = {m: (result["rules"][m]["signal"]["basis"], result["rules"][m]["signal"]["scale"]) for m in methods}
    assert signals == {methods[0]: ("square", "rate"), methods[1]: ("square_split", "1/sqrt(d)"),
                       methods[2]: ("square_split", "rate"), methods[3]: ("square_split", None)}
    # S-TLLR's own rule otherwise: its causal eligibility and its filtered last layer's scale
    assert result["rules"][methods[3]]["eligibility"]["alpha_post"] == 0.0
    assert result["rules"][methods[3]]["signal"]["filtered_scale"] == "1/sqrt(d)"
    assert not any(r["error"] for r in result["runs"]) and len(result["runs"]) == 4


@pytest.mark.timeout(400)
def test_temporal_lava_runs_the_cli_in_float_and_fixed_point(tmp_path):
    """Each run is a ``lava-local train`` process on the Lava backends; the table has one
    row per method and numeric, and the fixed read-out's runs keep their read-out."""
    toy_wheel(tmp_path)
    methods = "TESS (filtered) + fixed read-out,read-out only"
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "temporal_lava.py"), "--cache-dir", str(tmp_path), "--sets", "Toy",
         "--epochs", "1", "--seeds", "1", "--methods", methods, "--jobs", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=380, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    runs = json.loads((tmp_path / "temporal_lava.json").read_text())["runs"]
    assert sorted((r["method"], r["numeric"]) for r in runs) == sorted(
        (m, n) for m in methods.split(",") for n in ("float", "fixed"))
    assert all(not r["error"] and len(r["test_accuracy"]) == 1 and 0 <= r["test_accuracy"][0] <= 1 for r in runs)
    table = (tmp_path / "temporal_lava.md").read_text()
    assert "| TESS (filtered) + fixed read-out | fixed |" in table and "| read-out only | float |" in table
    for run in runs:  # what each run asked for reached its process's network
        config = json.loads((Path(run["out"]) / "history.json").read_text())["config"]
        filtered = run["method"].startswith("TESS (filtered)")
        assert (config["backend"], config["filtered"], config["fixed_readout"], config["method"]) == (
            f"lava-{run['numeric']}", "all" if filtered else "auto", filtered, "local" if filtered else "readout-only")


def test_online_steps_writes_float_and_fixed_rows(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "online_steps.py"), "--sets", "nmnist", "--readout-steps",
         "0.1,0.01", "--hidden-steps", "0,0.01", "--epochs", "2", "--seeds", "1", "--limit", "12", "--jobs", "1",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    runs = json.loads((tmp_path / "online_steps.json").read_text())["runs"]
    assert sorted((r["readout_step"], r["hidden_step"], r["numeric"]) for r in runs) == \
        [(s, h, n) for s in (0.01, 0.1) for h in (0.0, 0.01) for n in ("fixed", "float")]
    for run in runs:
        # a hidden step of 0 is the frozen control; a step moves the hidden weights
        assert len(run["hidden_change"]) == 1
        assert (run["hidden_change"][0] == 0.0) == (run["hidden_step"] == 0.0)
        assert len(run["test_accuracy"]) == 2 and run["steps"] == 10
        assert all(0.0 <= a <= 1.0 for a in run["test_accuracy"])
        # fixed point reports its read-out's mantissas (at most 127), float its weights
        assert (run["readout_at_limit"] is None) == (run["numeric"] == "float")
        assert run["readout_max"] <= 127 if run["numeric"] == "fixed" else run["readout_max"] < 127
    table = (tmp_path / "online_steps.md").read_text()
    assert "| 0.1 | 0 (frozen) | fixed | " in table and "| 0.01 | 0.01 | float | " in table and "at ±127)" in table
    assert (tmp_path / "online_steps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_online_steps_reread_is_the_control_on_features_that_did_not_move(tmp_path):
    """``--reread`` freezes the hidden layers a float run learned and trains a fresh read-out
    from the control's start: on hidden weights that all but kept their start (a step of
    1e-12 per sample) it is the frozen control, epoch for epoch, and on weights that moved (a
    step of 1) it is not; fixed-point runs and the control have none."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "online_steps.py"), "--sets", "nmnist", "--readout-steps", "0.01",
         "--hidden-steps", "0,1e-12,1", "--numerics", "float,fixed", "--reread", "--epochs", "2", "--seeds", "1",
         "--limit", "12", "--jobs", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    records = json.loads((tmp_path / "online_steps.json").read_text())["runs"]
    runs = {(r["hidden_step"], r["numeric"]): r for r in records}
    control = runs[0.0, "float"]["test_accuracy"]
    assert runs[1e-12, "float"]["reread_accuracy"] == control
    assert runs[1.0, "float"]["reread_accuracy"] != control and len(runs[1.0, "float"]["reread_accuracy"]) == 2
    assert all(runs[key]["reread_accuracy"] is None for key in [(0.0, "float"), (0.0, "fixed"), (1.0, "fixed")])
    assert "[re-read " in (tmp_path / "online_steps.md").read_text()


def test_online_steps_runs_the_methods_option_and_refuses_one_lava_does_not_run(tmp_path):
    script = [sys.executable, str(ROOT / "benchmarks" / "online_steps.py"), "--sets", "nmnist"]
    out = subprocess.run(
        script + ["--method", "TESS (filtered) + fixed read-out", "--readout-steps", "0.01", "--hidden-steps", "0,0.01",
                  "--numerics", "float", "--epochs", "1", "--seeds", "1", "--limit", "12", "--jobs", "1",
                  "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    runs = {r["hidden_step"]: r for r in json.loads((tmp_path / "online_steps.json").read_text())["runs"]}
    basis_start = 1 / np.sqrt(256)  # the read-out at the basis: every weight +-1/sqrt(n) of N-MNIST's 256 neurons
    # the method's fixed read-out stays at its start while its hidden layer learns ...
    assert runs[0.01]["readout_max"] == pytest.approx(basis_start) and runs[0.01]["hidden_change"][0] > 0
    # ... and the control's read-out learns from the same start while its hidden layer is frozen
    assert runs[0.0]["readout_max"] != pytest.approx(basis_start) and runs[0.0]["hidden_change"][0] == 0
    refused = subprocess.run(script + ["--method", "BPTT", "--out", str(tmp_path)], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
    assert refused.returncode == 2 and "--method takes one of TESS" in refused.stderr


def test_readout_common_mode_raw_run_is_the_networks_and_centring_changes_it(tmp_path):
    from lava_local.data import NMNISTSubset
    from lava_local.network import Network
    from lava_local.reference import reference_run
    from lava_local.rules import TESS

    limit, epochs = 12, 2
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "readout_common_mode.py"), "--sets", "nmnist", "--readout-steps",
         "0.1", "--epochs", str(epochs), "--seeds", "1", "--limit", str(limit), "--jobs", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    runs = {r["centred"]: r for r in json.loads((tmp_path / "readout_common_mode.json").read_text())["runs"]}
    # the raw run is the frozen network's online run, as the Lava float network plays it
    (x_tr, y_tr), (x_te, y_te) = NMNISTSubset("train").dense(10), NMNISTSubset("test").dense(10)
    frames = np.concatenate([x_tr[:limit], x_te[:limit]])
    labels = np.concatenate([y_tr[:limit], y_te[:limit]])
    net = Network(frames.shape[2], n_classes=10, hidden=(256,), rule=TESS(), frozen=True, readout_lr=0.1 / 10,
                  readout_centred=False, seed=0)
    schedule, learn = net.schedule(limit, limit, epochs)
    predictions, _, _ = reference_run(net, frames, labels, schedule, learn)
    assert runs[False]["predictions"] == predictions.tolist()
    test = [k for k in range(len(schedule)) if not learn[k]]
    assert runs[False]["test_accuracy"][-1] == pytest.approx(np.mean(predictions[test[-limit:]] == labels[limit:]))
    # the centred read-out sees other inputs from the second training sample on: other scores
    assert runs[True]["predictions"] != runs[False]["predictions"]
    # the common mode: the summed trace is mostly along the training mean
    assert runs[False]["along_mean"] > runs[False]["off_mean"] > 0
    table = (tmp_path / "readout_common_mode.md").read_text()
    assert "| 0.1 | raw | " in table and "| 0.1 | centred | " in table and "| nmnist | " in table
    assert (tmp_path / "readout_common_mode.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _temporal_json(folder, runs, encoder: str = "delta") -> None:
    """A ``temporal.py`` output holding ``runs``: (method, set, seed, accuracy), feed-forward,
    set A encoded by ``encoder``."""
    folder.mkdir()
    records = [dict(method=m, set=n, seed=s, accuracy=a, arch="ff", error="") for m, n, s, a in runs]
    records.append(dict(method="TESS", set="A", seed=7, accuracy=0.99, arch="rec", error=""))  # another arch
    encodings = {"A": {"encoding": {"encoder": encoder}}}
    (folder / "temporal.json").write_text(json.dumps({"runs": records, "encodings": encodings}))


def test_temporal_paired_differences_are_per_seed(tmp_path):
    """The gap and margin are means of per-seed differences over the seeds both methods
    ran, with their standard error, written out here for three seeds."""
    tess = {0: 0.50, 1: 0.62, 2: 0.41, 3: 0.70}  # seed 3: no BPTT run, so not paired
    bptt = {0: 0.55, 1: 0.60, 2: 0.50}
    control = {0: 0.40, 1: 0.52, 2: 0.33}
    _temporal_json(tmp_path / "a", [("TESS + centred read-out", "A", s, a) for s, a in tess.items()])
    _temporal_json(tmp_path / "b", [("BPTT", "A", s, a) for s, a in bptt.items()]
                   + [("read-out only", "A", s, a) for s, a in control.items()])
    command = [sys.executable, str(ROOT / "benchmarks" / "temporal_paired.py"), str(tmp_path / "a"),
               str(tmp_path / "b"), "--same", "TESS + centred read-out=TESS", "--out", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    diffs = [100 * (tess[s] - bptt[s]) for s in range(3)]  # -5, +2, -9
    mean = sum(diffs) / 3
    se = (sum((d - mean) ** 2 for d in diffs) / 2 / 3) ** 0.5
    lines = (tmp_path / "temporal_paired.md").read_text().splitlines()
    assert f"| TESS - BPTT | {mean:+.1f} ± {se:.1f} (3) |" in lines
    margins = [100 * (tess[s] - control[s]) for s in range(3)]  # +10, +10, +8
    m = sum(margins) / 3
    se_m = (sum((d - m) ** 2 for d in margins) / 2 / 3) ** 0.5
    assert f"| TESS - read-out only | {m:+.1f} ± {se_m:.1f} (3) |" in lines
    tess_mean = sum(tess.values()) / 4
    tess_std = (sum((a - tess_mean) ** 2 for a in tess.values()) / 4) ** 0.5
    assert f"| TESS | {tess_mean:.3f} ± {tess_std:.3f} (4) |" in lines  # the rec run is not counted
    # the same (method, set, seed) with two accuracies: two configurations under one name
    _temporal_json(tmp_path / "c", [("TESS", "A", 0, 0.51)])
    out = subprocess.run(command[:2] + [str(tmp_path / "c")] + command[2:-2], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode != 0 and "two configurations under one name" in out.stderr
    # other seeds of set A under another encoding: refused, although no run disagrees
    _temporal_json(tmp_path / "d", [("TESS", "A", 5, 0.51)], encoder="delta+rate")
    out = subprocess.run(command[:2] + [str(tmp_path / "d")] + command[2:-2], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode != 0 and "encoded 'delta+rate'" in out.stderr and "pair runs of one encoding" in out.stderr


def _gone(pid: int) -> bool:
    """The process has exited (a zombie, not yet reaped by whoever adopted it, counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_temporal_worker_ends_when_its_main_process_is_killed():
    """``temporal.py``'s pool workers watch their main process: killed with no chance to shut
    its pool down (here SIGKILL), it leaves no worker training on, orphaned."""
    import os
    import signal
    import time

    child = ("import os, sys, time; sys.path.insert(0, sys.argv[1]); import temporal; "
             "temporal.exit_with_parent(os.getppid(), poll_s=0.1); print(os.getpid(), flush=True); time.sleep(50)")
    parent = ("import subprocess, sys, time; "
              f"subprocess.Popen([sys.executable, '-c', {child!r}, sys.argv[1]]); time.sleep(50)")
    main = subprocess.Popen([sys.executable, "-c", parent, str(ROOT / "benchmarks")], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        worker = int(main.stdout.readline())
        time.sleep(0.5)
        assert not _gone(worker), "the worker runs while its main process does"
        os.kill(main.pid, signal.SIGKILL)
        main.wait(10)
        deadline = time.monotonic() + 20
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(worker), "the worker outlived its main process"
    finally:
        main.kill()

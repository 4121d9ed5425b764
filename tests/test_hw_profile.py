"""Hardware profiles: the shipped Loihi 2 file loads; broken files are named and explained."""
import re
from pathlib import Path

import pytest

from lava_local.hw_profile import available_profiles, load_profile

SHIPPED = Path(__file__).resolve().parents[1] / "hw_profiles" / "loihi2.toml"


def test_loihi2_profile_holds_lava_bit_accurate_widths():
    hw = load_profile("loihi2")
    assert hw.name == "loihi2"
    assert (hw.neuron.state_bits, hw.neuron.decay_bits, hw.neuron.threshold_bits) == (24, 12, 17)
    assert (hw.neuron.threshold_shift, hw.neuron.input_shift) == (6, 6)
    assert hw.neuron.state_max == 2**23 - 1
    assert hw.trace.max == 127
    assert "loihi2" in available_profiles()


def test_profile_loads_from_a_path(tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text(SHIPPED.read_text().replace('name = "loihi2"', 'name = "mychip"'))
    assert load_profile(path).name == "mychip"
    assert load_profile(str(path)).neuron.state_bits == 24


def test_unknown_profile_name_lists_the_shipped_ones():
    with pytest.raises(ValueError, match=r"unknown hardware profile 'loihi9'.*loihi2"):
        load_profile("loihi9")


def test_missing_profile_file():
    with pytest.raises(ValueError, match="not found"):
        load_profile("/nonexistent/chip.toml")


def test_profile_type_error():
    with pytest.raises(TypeError, match="profile"):
        load_profile(42)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("state_bits = 24", "state_bits = 24.5"), r"\[neuron\] state_bits must be an integer"),
    (lambda s: s.replace("state_bits = 24 ", "# removed "), r"missing key\(s\) in \[neuron\]: state_bits"),
    (lambda s: s.replace("\n[chip]\n", "\n[chip]\nflux_capacitors = 3\n"), r"unknown key\(s\) in \[chip\]: flux_capacitors"),
    (lambda s: s.replace("decay_bits = 12 ", "decay_bits = 0 ", 1), r"\[neuron\] decay_bits = 0 is outside"),
    (lambda s: s + "\n[extras]\na = 1\n", r"unknown section\(s\): extras"),
    (lambda s: s.replace("[trace]", "[trace"), "not valid TOML"),
    (lambda s: re.sub(r"\[learning\][^\[]*", "", s), r"missing section \[learning\]"),
    (lambda s: s.replace("weight_exp_min = -8", "weight_exp_min = 9"), "weight_exp_min > weight_exp_max"),
    (lambda s: s.replace('name = "loihi2"', "name = 3"), "needs a string 'name'"),
])
def test_malformed_profiles_are_rejected_with_the_key_named(tmp_path, edit, message):
    text = edit(SHIPPED.read_text())
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_profile(path)


def test_fit_check_counts_neurons_synapses_and_cores(tmp_path):
    from lava_local.hw_profile import check_fit
    from lava_local.network import Network, vgg9

    small = check_fit(Network(2312, hidden=(256,)))
    assert (small.neurons, small.synapses) == (256 + 10, 2312 * 256 + 256 * 10)
    assert small.synapse_kib == pytest.approx(small.synapses * 9 / 8 / 1024)
    assert small.cores == max(small.cores_for_neurons, small.cores_for_synapses) and small.fits
    assert "fits on one chip" in str(small)
    tiny = tmp_path / "tiny.toml"  # a chip with 2 cores of 64 KiB
    tiny.write_text(SHIPPED.read_text().replace("neuro_cores = 128", "neuro_cores = 2")
                    .replace("memory_per_core_kib = 192", "memory_per_core_kib = 64"))
    big = check_fit(Network(2312, hidden=(256,)), tiny)
    assert big.cores_for_synapses == 11 and not big.fits and "does NOT fit" in str(big)
    vgg = check_fit(vgg9((2, 32, 32), 11))
    assert any("frozen" in n for n in vgg.notes)


def test_fit_check_says_where_the_read_out_learns():
    from lava_local.hw_profile import check_fit
    from lava_local.network import Network

    learned, fixed = (check_fit(Network(40, hidden=(16,), readout_learns=flag)) for flag in (True, False))
    assert learned.layers[-1].name == fixed.layers[-1].name == "readout"
    assert (learned.layers[-1].learning, fixed.layers[-1].learning) == ("chip", "none")
    assert [layer.learning for layer in fixed.layers[:-1]] == ["chip"]  # the hidden layer still learns
    assert "fixed read-out" in str(fixed)


def test_fit_check_says_the_filtered_eligibility_is_not_in_the_loihi_mapping():
    from lava_local.hw_profile import check_fit
    from lava_local.network import Network
    from lava_local.rules import TESS

    hidden = check_fit(Network(40, hidden=(16, 8), rule=TESS(filtered=True))).layers[:-1]
    assert [layer.learning for layer in hidden] == ["chip", "chip"]
    assert all("tag" in layer.reason and "does not build it" in layer.reason for layer in hidden)
    assert "tag" not in check_fit(Network(40, hidden=(16,), rule=TESS(filtered=False))).layers[0].reason
    assert "tag" in check_fit(Network(40, hidden=(16,))).layers[0].reason  # TESS's default: the last layer
    last = check_fit(Network(40, hidden=(16, 8), rule=TESS(filtered="last"))).layers[:-1]
    assert ["tag" in layer.reason for layer in last] == [False, True]  # the last hidden layer's alone

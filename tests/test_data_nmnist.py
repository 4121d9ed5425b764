"""The N-MNIST reader and binning on the real recordings, and clear errors for bad files."""
import numpy as np
import pytest

from lava_local.data import NMNIST_SENSOR, NMNISTSubset, bin_events, check_events, read_nmnist_file
from lava_local.data.events import EVENT_DTYPE


def test_reader_decodes_real_recordings():
    data = NMNISTSubset("test")
    assert len(data) == 100
    assert np.bincount(data.labels, minlength=10).tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    ev = data.events(0)
    assert len(ev) == 3330  # 16,650 bytes / 5
    assert ev["x"].max() < 34 and ev["y"].max() < 34 and set(np.unique(ev["p"])) <= {0, 1}
    assert np.all(np.diff(ev["t"]) >= 0) and 250_000 < ev["t"].max() < 350_000


def test_reader_matches_tonic_where_installed():
    tonic = pytest.importorskip("tonic")
    path = NMNISTSubset("test").root / "60001.bs2"
    ours = read_nmnist_file(path)
    theirs = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    for field in "xypt":
        np.testing.assert_array_equal(ours[field], theirs[field])


def test_binning_counts_every_event_once():
    ev = NMNISTSubset("train").events(3)
    counts = bin_events(ev, NMNIST_SENSOR, 10, binary=False)
    assert counts.shape == (10, 2 * 34 * 34) and counts.sum() == len(ev)
    binary = bin_events(ev, NMNIST_SENSOR, 10)
    assert binary.max() == 1 and binary.sum() <= counts.sum()
    e = ev[0]
    flat = int(e["p"]) * 34 * 34 + int(e["y"]) * 34 + int(e["x"])
    assert counts[0, flat] >= 1


def test_empty_and_truncated_files_are_rejected(tmp_path):
    empty = tmp_path / "empty.bs2"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_nmnist_file(empty)
    cut = tmp_path / "cut.bs2"
    cut.write_bytes(b"\x01\x02\x03\x04\x05\x06\x07")
    with pytest.raises(ValueError, match="truncated"):
        read_nmnist_file(cut)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_nmnist_file(tmp_path / "nope.bs2")


def test_events_outside_the_sensor_are_rejected(tmp_path):
    bad = tmp_path / "bad.bs2"
    bad.write_bytes(bytes([40, 3, 0x80, 0, 1]))  # x = 40 on a 34-pixel sensor
    with pytest.raises(ValueError, match=r"x spans \[40, 40\], outside the sensor size"):
        read_nmnist_file(bad)
    ev = np.zeros(2, dtype=EVENT_DTYPE)
    ev["p"] = [0, 2]
    with pytest.raises(ValueError, match="p spans"):
        check_events(ev, NMNIST_SENSOR)


def test_missing_subset_says_what_is_expected_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train1K.txt, test100.txt"):
        NMNISTSubset("train", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        NMNISTSubset("validation")

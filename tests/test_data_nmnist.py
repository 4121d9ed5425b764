"""The N-MNIST reader and binning on the real recordings, the shipped subset, and clear
errors for bad files."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lava_local.data import NMNIST_SENSOR, NMNISTSubset, bin_events, check_events, read_nmnist_file
from lava_local.data.events import EVENT_DTYPE
from lava_local.data.nmnist import SHIPPED_SUBSET, pack_nmnist_subset

#: two original recordings in N-MNIST's own binary format (tests/data/nmnist/README.md)
RECORDINGS = Path(__file__).resolve().parent / "data" / "nmnist"


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
    path = RECORDINGS / "60001.bs2"
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


def test_shipped_subset_holds_the_original_recordings_event_for_event():
    """The packed copy decodes to exactly the events of the original .bs2 files (read by
    the byte-level reader), with their ids and labels."""
    test, train = NMNISTSubset("test"), NMNISTSubset("train")
    assert test.root == SHIPPED_SUBSET and len(test) == 100 and len(train) == 1000
    assert test.ids[0] == 60001 and test.labels[0] == 7 and train.ids[3] == 4 and train.labels[3] == 1
    for subset, index, name in ((test, 0, "60001.bs2"), (train, 3, "4.bs2")):
        original = read_nmnist_file(RECORDINGS / name)
        assert subset.events(index).dtype == EVENT_DTYPE
        assert np.array_equal(subset.events(index), original)
    assert sum((SHIPPED_SUBSET / name).stat().st_size for name in ("train.npz", "test.npz")) < 15.5e6
    assert "CC BY-SA 4.0" in (SHIPPED_SUBSET / "README.md").read_text()
    assert "Attribution-ShareAlike 4.0" in (SHIPPED_SUBSET / "LICENSE").read_text()


def test_the_shipped_subset_is_found_from_any_working_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LAVA_LOCAL_DATA"}
    code = ("from lava_local.data import NMNISTSubset; s = NMNISTSubset('test'); "
            "print(s.root, len(s), s.dense(4)[0].shape)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(SHIPPED_SUBSET), "100", "(100,", "4,", "2312)"]


def test_pack_writes_the_library_format_from_bs2_recordings(tmp_path, monkeypatch):
    """A folder of original recordings (two here) packs into train.npz / test.npz that
    NMNISTSubset and load_npz_dataset read back unchanged; LAVA_LOCAL_DATA overrides the
    shipped copy."""
    from lava_local.data import load_npz_dataset

    folder = tmp_path / "nmnist-small"
    folder.mkdir()
    for name in ("4.bs2", "60001.bs2"):
        (folder / name).write_bytes((RECORDINGS / name).read_bytes())
    (folder / "train1K.txt").write_text("#sample #class\n4\t1\n")
    (folder / "test100.txt").write_text("#sample #class\n60001\t7\n")
    written = pack_nmnist_subset(folder, tmp_path / "packed")
    packed = NMNISTSubset("test", root=tmp_path / "packed")
    assert np.array_equal(packed.events(0), read_nmnist_file(RECORDINGS / "60001.bs2"))
    frames, labels = load_npz_dataset(written["train"], n_steps=10)
    assert labels.tolist() == [1]
    assert np.array_equal(frames[0], NMNISTSubset("train", root=folder).frames(0, 10))
    monkeypatch.setenv("LAVA_LOCAL_DATA", str(tmp_path))
    assert NMNISTSubset("train").root == folder
    with pytest.raises(ValueError, match="reads .bs2 recordings"):
        pack_nmnist_subset(tmp_path / "packed", tmp_path / "again")


def test_missing_subset_says_what_is_expected_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train1K.txt, test100.txt"):
        NMNISTSubset("train", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        NMNISTSubset("validation")

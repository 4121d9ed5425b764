"""Dataset loaders: tonic event sets (file checks, preprocessing), Fashion-MNIST idx files and
spike encodings, and the plain .npz format."""
import sys
from pathlib import Path

import numpy as np
import pytest

from lava_local.data import (
    EVENT_DTYPE,
    FASHION_MNIST_DIR,
    NMNIST_SENSOR,
    NMNISTSubset,
    bin_events,
    check_tonic_files,
    cifar10_dvs_preprocessing,
    downsample_events,
    dvs_gesture_preprocessing,
    encode_direct,
    encode_images,
    encode_latency,
    encode_rate,
    events_to_frames,
    find_fashion_mnist_files,
    load_cifar10_dvs,
    load_dvs_gesture,
    load_fashion_mnist,
    load_fashion_mnist_spikes,
    load_nmnist,
    load_npz_dataset,
    load_shd,
    nmnist_preprocessing,
    read_idx_file,
    save_npz_dataset,
    shd_preprocessing,
    to_event_array,
    tonic_layout,
    write_idx_file,
)


def random_events(rng, sensor_size, n_events, duration_us, t_start=0):
    """Sorted EVENT_DTYPE events spread over ``[t_start, t_start + duration_us)``."""
    width, height, polarities = sensor_size
    events = np.zeros(n_events, dtype=EVENT_DTYPE)
    events["x"] = rng.integers(0, width, n_events)
    events["y"] = rng.integers(0, height, n_events)
    events["p"] = rng.integers(0, polarities, n_events)
    events["t"] = np.sort(rng.integers(t_start, t_start + duration_us, n_events))
    return events


@pytest.fixture
def no_download(monkeypatch):
    """Make any tonic download attempt fail loudly."""
    tonic = pytest.importorskip("tonic")

    def refuse(self):
        raise AssertionError(f"tonic tried to download {self.filename}")

    monkeypatch.setattr(tonic.dataset.Dataset, "download", refuse)
    return tonic


# ------------------------------------------------------------------ tonic: file checks
@pytest.mark.parametrize(
    "loader, kwargs, expected",
    [
        (load_dvs_gesture, {}, ["DVSGesture", "ibmGestureTrain.tar.gz", "ibmGestureTrain", ">= 100 .npy"]),
        (load_dvs_gesture, {"train": False}, ["ibmGestureTest.tar.gz", "ibmGestureTest"]),
        (load_cifar10_dvs, {}, ["CIFAR10DVS", "CIFAR10DVS.zip", ">= 1000 .aedat4"]),
        (load_nmnist, {}, ["NMNIST", "train.zip", "Train", ">= 10000 .bin"]),
        (load_nmnist, {"train": False}, ["test.zip", "Test"]),
        (load_shd, {}, ["SHD", "shd_train.h5.zip", "shd_train.h5"]),
        (load_shd, {"train": False}, ["shd_test.h5.zip", "shd_test.h5"]),
    ],
)
def test_missing_tonic_files_name_what_is_expected(tmp_path, no_download, loader, kwargs, expected):
    with pytest.raises(FileNotFoundError) as error:
        loader(tmp_path, **kwargs)
    message = str(error.value)
    assert str(tmp_path) in message and "does not exist" in message
    for part in expected:
        assert part in message


def test_partial_tonic_layout_reports_each_problem(tmp_path, no_download):
    folder = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent"
    folder.mkdir(parents=True)
    np.save(folder / "0.npy", np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(FileNotFoundError) as error:
        load_dvs_gesture(tmp_path)
    message = str(error.value)
    assert "ibmGestureTrain.tar.gz is missing" in message
    assert "holds 1 .npy file(s), at least 100" in message
    (tmp_path / "SHD").mkdir()
    (tmp_path / "SHD" / "shd_train.h5.zip").touch()
    with pytest.raises(FileNotFoundError, match=r"extracted file .*shd_train\.h5 is missing"):
        load_shd(tmp_path)


def test_layouts_match_tonic_classes():
    tonic = pytest.importorskip("tonic")
    datasets = tonic.datasets
    assert tonic_layout("DVSGesture", "train").archive == datasets.DVSGesture.train_filename
    assert tonic_layout("DVSGesture", "test").archive == datasets.DVSGesture.test_filename
    assert tonic_layout("CIFAR10DVS", "all").archive == datasets.CIFAR10DVS.filename
    assert tonic_layout("NMNIST", "train").archive == datasets.NMNIST.train_filename
    assert tonic_layout("NMNIST", "train").data_folder == datasets.NMNIST.train_folder
    assert tonic_layout("NMNIST", "test").data_folder == datasets.NMNIST.test_folder
    assert tonic_layout("SHD", "train").archive == datasets.SHD.train_zip
    assert tonic_layout("SHD", "test").data_file == datasets.SHD.test_zip[:-4]
    with pytest.raises(ValueError, match="known"):
        tonic_layout("SHD", "valid")


def test_missing_tonic_gives_install_hint(tmp_path, monkeypatch):
    layout = tonic_layout("SHD", "train")
    (tmp_path / "SHD").mkdir()
    (tmp_path / "SHD" / layout.archive).touch()
    (tmp_path / "SHD" / layout.data_file).touch()
    check_tonic_files(tmp_path, layout)  # the files pass; tonic is what is missing
    monkeypatch.setitem(sys.modules, "tonic", None)
    with pytest.raises(ImportError, match=r"pip install tonic.*data"):
        load_shd(tmp_path)


# ----------------------------------------------------------------- tonic: preprocessing
def test_dvs_gesture_frames_downsample_and_bin(rng):
    events = random_events(rng, (128, 128, 2), 5000, 2_000_000, t_start=3_000_000)
    events[0]["x"], events[0]["y"] = 127, 127
    preprocessing = dvs_gesture_preprocessing()
    frames = preprocessing(events)
    assert frames.shape == (20, 2 * 32 * 32) and frames.dtype == np.uint8
    assert preprocessing.input_shape == (2, 32, 32) and preprocessing.n_inputs == 2048
    assert set(np.unique(frames)) <= {0, 1}
    counts = events_to_frames(events, (128, 128, 2), 20, 1_500_000, (32, 32), binary=False)
    in_window = int(np.sum(events["t"] - events["t"][0] < 1_500_000))
    assert counts.sum() == in_window < len(events)  # 75 ms x 20 from the first event
    assert np.array_equal(frames, np.minimum(counts, 1))
    first = events[0]
    flat = int(first["p"]) * 32 * 32 + 31 * 32 + 31
    assert frames[0, flat] == 1
    small = downsample_events(events, (128, 128, 2), (32, 32))
    assert len(small) == len(events) and small["x"].max() <= 31 and small["y"].max() <= 31
    assert np.array_equal(small["x"], events["x"] // 4) and np.array_equal(small["p"], events["p"])


def test_cifar10_dvs_frames_cover_each_recording(rng):
    tonic_dtype = np.dtype([("t", np.uint64), ("x", np.uint16), ("y", np.uint16), ("p", bool)])
    generated = random_events(rng, (128, 128, 2), 3000, 1_300_000, t_start=500)
    events = np.zeros(len(generated), dtype=tonic_dtype)
    for name in "txyp":
        events[name] = generated[name]
    frames = cifar10_dvs_preprocessing()(events)
    assert frames.shape == (10, 2 * 48 * 48) and set(np.unique(frames)) <= {0, 1}
    counts = events_to_frames(events, (128, 128, 2), 10, None, (48, 48), binary=False)
    assert counts.sum() == len(events)  # no window: every event lands in a frame
    per_pixel = counts.sum(axis=0).reshape(2, 48, 48)
    expected = np.zeros((2, 48, 48))
    np.add.at(expected, (generated["p"], generated["y"] * 48 // 128, generated["x"] * 48 // 128), 1)
    assert np.array_equal(per_pixel, expected)


def test_shd_frames_merge_polarity_and_drop_late_spikes(rng):
    n_spikes = 4000
    events = np.zeros(n_spikes, dtype=[("t", int), ("x", int), ("p", int)])  # tonic's HSD dtype
    events["t"] = np.sort(rng.integers(0, 1_400_000, n_spikes))
    events["x"] = rng.integers(0, 700, n_spikes)
    events["p"] = 1
    preprocessing = shd_preprocessing()
    frames = preprocessing(events)
    assert frames.shape == (100, 700) and preprocessing.input_shape == (1, 1, 700)
    counts = events_to_frames(events, (700, 1, 1), 100, 1_000_000, merge_polarities=True,
                              align_to_first_event=False, binary=False)
    assert counts.sum() == np.sum(events["t"] < 1_000_000)
    late = events[events["t"] < 10_000]
    assert np.all(frames[0, late["x"]] == 1)


def test_nmnist_preprocessing_on_real_recording():
    subset = NMNISTSubset("test")
    events = subset.events(0)
    frames = nmnist_preprocessing(12)(events)
    assert frames.shape == (12, 2 * 34 * 34) and frames.dtype == np.uint8
    assert np.array_equal(frames, subset.frames(0, 12).astype(np.uint8))
    counts = events_to_frames(events, NMNIST_SENSOR, 12, 300_000, binary=False,
                              align_to_first_event=False)
    assert counts.sum() == np.sum(events["t"] < 300_000) == 3319  # 11 events after 300 ms
    whole = events_to_frames(events, NMNIST_SENSOR, 12, None, binary=False)
    assert whole.sum() == len(events) == 3330
    half = events_to_frames(events, NMNIST_SENSOR, 12, 300_000, target_size=(17, 17),
                            binary=False, align_to_first_event=False)
    assert half.shape == (12, 2 * 17 * 17) and half.sum() == counts.sum()
    assert np.array_equal(half.sum(axis=1), counts.sum(axis=1))  # per step, every event kept
    tonic = pytest.importorskip("tonic")
    theirs = tonic.io.read_mnist_file(str(Path(__file__).resolve().parent / "data" / "nmnist" / "60001.bs2"), dtype=tonic.datasets.NMNIST.dtype)
    assert np.array_equal(nmnist_preprocessing(12)(theirs), frames)
    assert np.array_equal(to_event_array(theirs), events)


# -------------------------------------------------------- tonic: end to end, generated files
def test_dvs_gesture_through_tonic_on_generated_files(tmp_path, no_download, rng):
    root = tmp_path / "DVSGesture"
    for user in range(1, 11):
        folder = root / "ibmGestureTrain" / f"user{user:02d}_led"
        folder.mkdir(parents=True)
        for label in range(10):
            events = random_events(rng, (128, 128, 2), 200, 1_600, t_start=100)  # t in ms
            columns = np.stack([events["x"], events["y"], events["p"], events["t"]], axis=1)
            np.save(folder / f"{label}.npy", columns.astype(np.int64))
    (root / "ibmGestureTrain.tar.gz").touch()
    dataset = load_dvs_gesture(tmp_path)
    assert len(dataset) == 100 and dataset.input_shape == (2, 32, 32)
    frames, labels = dataset.dense(range(7))
    assert frames.shape == (7, 20, 2048) and frames.dtype == np.uint8
    assert set(np.unique(frames)) <= {0, 1} and frames.sum() > 0
    assert np.array_equal(labels, dataset.labels[:7])
    batches = list(dataset.batches(40, shuffle=True, seed=3))
    assert [len(b[1]) for b in batches] == [40, 40, 20]
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == sorted(dataset.labels.tolist())


def test_shd_through_tonic_on_generated_h5(tmp_path, no_download, rng):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path / "SHD"
    folder.mkdir()
    (folder / "shd_train.h5.zip").touch()
    labels = np.array([3, 0, 19], dtype=np.uint8)
    with h5py.File(folder / "shd_train.h5", "w") as h5_file:
        times = h5_file.create_dataset("spikes/times", (3,), dtype=h5py.vlen_dtype(np.float32))
        units = h5_file.create_dataset("spikes/units", (3,), dtype=h5py.vlen_dtype(np.uint16))
        for index in range(3):
            times[index] = np.sort(rng.uniform(0, 1.2, 500)).astype(np.float32)
            units[index] = rng.integers(0, 700, 500).astype(np.uint16)
        h5_file["labels"] = labels
        h5_file["extra/keys"] = np.array([b"digit"] * 20)
        h5_file["extra/speaker"] = np.zeros(3, dtype=np.uint16)
    dataset = load_shd(tmp_path)
    frames, got_labels = dataset.dense()
    assert frames.shape == (3, 100, 700) and set(np.unique(frames)) <= {0, 1}
    assert got_labels.tolist() == [3, 0, 19]


# ---------------------------------------------------------------------- Fashion-MNIST
def write_fashion_files(folder, n_train=6, n_test=4, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    data = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx_file(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx_file(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        data[split] = (images, labels)
    return data


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                    reason=f"{FASHION_MNIST_DIR} absent (Debian package dataset-fashion-mnist)")
def test_real_fashion_mnist_files():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10
    train_images, train_labels = load_fashion_mnist("train")
    assert train_images.shape == (60000, 28, 28) and np.bincount(train_labels).tolist() == [6000] * 10
    frames, first_labels = load_fashion_mnist_spikes("test", "rate", n_steps=5, n_samples=8)
    assert frames.shape == (8, 5, 784) and np.array_equal(first_labels, labels[:8])


@pytest.mark.parametrize("gz", [True, False])
def test_generated_idx_files_round_trip(tmp_path, gz):
    data = write_fashion_files(tmp_path / "fm", gz=gz)
    for split in ("train", "test"):
        images, labels = load_fashion_mnist(split, root=tmp_path / "fm")
        assert np.array_equal(images, data[split][0]) and np.array_equal(labels, data[split][1])
        assert labels.dtype == np.int64


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx_file_is_named(tmp_path, gz):
    write_fashion_files(tmp_path, gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    path = tmp_path / name
    content = path.read_bytes()
    path.write_bytes(content[: len(content) - 40])
    with pytest.raises(ValueError, match=name.replace(".", r"\.") + ".*truncated"):
        load_fashion_mnist("train", root=tmp_path)
    load_fashion_mnist("test", root=tmp_path)  # the other split is intact


def test_bad_magic_and_mismatched_counts(tmp_path):
    write_fashion_files(tmp_path, gz=False)
    labels_path = tmp_path / "t10k-labels-idx1-ubyte"
    raw = bytearray(labels_path.read_bytes())
    raw[2] = 0x07
    labels_path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx_file(labels_path)
    write_idx_file(labels_path, np.zeros(3, dtype=np.uint8))  # 4 images, 3 labels
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        load_fashion_mnist("test", root=tmp_path)


def test_missing_fashion_mnist_names_files_and_package(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        find_fashion_mnist_files(tmp_path / "nowhere")
    message = str(error.value)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "dataset-fashion-mnist"):
        assert name in message
    write_fashion_files(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing in .*: t10k-labels-idx1-ubyte"):
        load_fashion_mnist("train", root=tmp_path)


def test_spike_encodings():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1], images[:, 0, 2] = 255, 128, 1
    images[2] = 200
    rate = encode_rate(images, 400, seed=7)
    assert rate.shape == (3, 400, 784) and rate.dtype == np.uint8 and set(np.unique(rate)) <= {0, 1}
    assert np.array_equal(rate, encode_rate(images, 400, seed=7))
    assert not np.array_equal(rate, encode_rate(images, 400, seed=8))
    assert rate[0, :, 0].all() and rate[0, :, 3:].sum() == 0
    assert abs(rate[2].mean() - 200 / 255) < 0.01
    assert abs(encode_rate(images, 400, max_rate=0.5)[2].mean() - 100 / 255) < 0.01

    latency = encode_latency(images, 10)
    assert latency.shape == (3, 10, 784) and set(np.unique(latency)) <= {0, 1}
    assert latency[0].sum() == 3 and latency[0, :, 3:].sum() == 0  # black pixels stay silent
    first_step = latency[0].argmax(axis=0)
    assert first_step[0] == 0 and first_step[0] < first_step[1] < first_step[2] == 9
    assert np.all(latency[2].sum(axis=0) == 1)

    direct = encode_direct(images, 4)
    assert direct.dtype == np.float32 and direct.shape == (3, 4, 784)
    assert np.allclose(direct[:, 3], images.reshape(3, -1) / 255.0)
    assert np.array_equal(direct[:, 0], direct[:, 3])

    unflat = encode_images(images, "latency", 10, flatten=False)
    assert unflat.shape == (3, 10, 1, 28, 28)
    assert np.array_equal(unflat.reshape(3, 10, 784), latency)
    with pytest.raises(ValueError, match="encoding must be one of"):
        encode_images(images, "phase", 10)
    with pytest.raises(ValueError, match="uint8"):
        encode_rate(images.astype(np.float32), 10)


# -------------------------------------------------------------------------- npz format
@pytest.mark.parametrize("dtype", [np.uint8, bool, np.float32])
def test_npz_dense_round_trip(tmp_path, rng, dtype):
    frames = (rng.random((5, 6, 2, 3, 4)) < 0.3).astype(dtype)
    labels = rng.integers(0, 3, 5)
    path = save_npz_dataset(tmp_path / "dense", labels, frames=frames)
    assert path.name == "dense.npz"
    loaded, loaded_labels = load_npz_dataset(path)
    assert loaded.shape == (5, 6, 24) and np.array_equal(loaded_labels, labels)
    assert loaded.dtype == (np.float32 if dtype is np.float32 else np.uint8)
    assert np.array_equal(loaded, frames.reshape(5, 6, 24).astype(loaded.dtype))
    unflat, _ = load_npz_dataset(path, flatten=False)
    assert unflat.shape == frames.shape
    with pytest.raises(ValueError, match="T = 6"):
        load_npz_dataset(path, n_steps=4)


def test_npz_events_round_trip(tmp_path, rng):
    sensor = (34, 34, 2)
    samples = [random_events(rng, sensor, n, 100_000) for n in (50, 0, 300)]
    samples.append(NMNISTSubset("test").events(1))
    labels = np.array([1, 2, 0, 7])
    path = save_npz_dataset(tmp_path / "events.npz", labels, events=samples, sensor_size=sensor,
                            n_steps=8)
    frames, loaded_labels = load_npz_dataset(path)
    assert frames.shape == (4, 8, 2312) and frames.dtype == np.uint8
    assert np.array_equal(loaded_labels, labels) and frames[1].sum() == 0
    for index, sample in enumerate(samples):
        assert np.array_equal(frames[index], bin_events(sample, sensor, 8))
    windowed, _ = load_npz_dataset(path, n_steps=5, duration_us=300_000, flatten=False)
    assert windowed.shape == (4, 5, 2, 34, 34)
    expected = bin_events(samples[3], sensor, 5, 300_000).reshape(5, 2, 34, 34)
    assert np.array_equal(windowed[3], expected)


def test_npz_errors(tmp_path, rng):
    frames = np.zeros((3, 4, 5), dtype=np.uint8)
    np.savez(tmp_path / "no_labels.npz", frames=frames)
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['labels'\]"):
        load_npz_dataset(tmp_path / "no_labels.npz")
    np.savez(tmp_path / "float_labels.npz", frames=frames, labels=np.zeros(3))
    with pytest.raises(ValueError, match="labels must be integers"):
        load_npz_dataset(tmp_path / "float_labels.npz")
    np.savez(tmp_path / "short_labels.npz", frames=frames, labels=np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        load_npz_dataset(tmp_path / "short_labels.npz")
    with pytest.raises(ValueError, match="labels must be integers"):
        save_npz_dataset(tmp_path / "x.npz", [0.5, 1.0, 2.0], frames=frames)
    np.savez(tmp_path / "neither.npz", data=frames)
    with pytest.raises(ValueError, match="neither dense frames nor events"):
        load_npz_dataset(tmp_path / "neither.npz")
    with pytest.raises(FileNotFoundError):
        load_npz_dataset(tmp_path / "absent.npz")

    sensor = (8, 8, 2)
    path = save_npz_dataset(tmp_path / "ev.npz", [0, 1],
                            events=[random_events(rng, sensor, 10, 1000)] * 2, sensor_size=sensor)
    with pytest.raises(ValueError, match="pass n_steps"):
        load_npz_dataset(path)
    contents = dict(np.load(path))
    broken = dict(contents, events_y=contents["events_y"][:-1])
    np.savez(tmp_path / "bad_y.npz", **broken)
    with pytest.raises(ValueError, match="equal length"):
        load_npz_dataset(tmp_path / "bad_y.npz", n_steps=2)
    broken = dict(contents, events_offsets=np.array([0, 10, 25]))
    np.savez(tmp_path / "bad_offsets.npz", **broken)
    with pytest.raises(ValueError, match="events_offsets"):
        load_npz_dataset(tmp_path / "bad_offsets.npz", n_steps=2)
    broken = {k: v for k, v in contents.items() if k != "sensor_size"}
    np.savez(tmp_path / "no_sensor.npz", **broken)
    with pytest.raises(ValueError, match="sensor_size"):
        load_npz_dataset(tmp_path / "no_sensor.npz", n_steps=2)
    broken = dict(contents, events_x=contents["events_x"] + 8)
    np.savez(tmp_path / "outside.npz", **broken)
    with pytest.raises(ValueError, match="sample 0.*outside the sensor"):
        load_npz_dataset(tmp_path / "outside.npz", n_steps=2)
    np.savez(tmp_path / "both.npz", frames=frames, **contents)
    with pytest.raises(ValueError, match="both frames and events"):
        load_npz_dataset(tmp_path / "both.npz")


def test_npz_non_finite_frames_are_refused_naming_count_and_sample(tmp_path):
    frames = np.zeros((4, 3, 5), dtype=np.float32)
    frames[2, 1, 0] = np.nan
    frames[3, 0, :2] = np.inf
    np.savez(tmp_path / "nan.npz", frames=frames, labels=np.arange(4))
    with pytest.raises(ValueError, match=r"nan\.npz: frames hold 3 NaN or infinite value\(s\), the first in sample 2"):
        load_npz_dataset(tmp_path / "nan.npz")
    with pytest.raises(ValueError, match=r"saved\.npz: frames hold 3 NaN.*sample 2"):
        save_npz_dataset(tmp_path / "saved.npz", np.arange(4), frames=frames)
    assert not (tmp_path / "saved.npz").exists()


def test_npz_labels_outside_the_classes_are_refused(tmp_path):
    frames = np.zeros((4, 3, 5), dtype=np.uint8)
    np.savez(tmp_path / "neg.npz", frames=frames, labels=np.array([0, 1, -2, 3]))
    with pytest.raises(ValueError, match=r"neg\.npz: label -2 of sample 2 is outside the classes"):
        load_npz_dataset(tmp_path / "neg.npz")
    np.savez(tmp_path / "big.npz", frames=frames, labels=np.array([0, 1, 2, 10]))
    assert load_npz_dataset(tmp_path / "big.npz")[1].tolist() == [0, 1, 2, 10]  # C unknown: accepted
    with pytest.raises(ValueError,
                       match=r"big\.npz: label 10 of sample 3 is outside the classes: labels must be in \[0, 10\)"):
        load_npz_dataset(tmp_path / "big.npz", n_classes=10)
    assert load_npz_dataset(tmp_path / "big.npz", n_classes=11)[1][3] == 10
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        load_npz_dataset(tmp_path / "big.npz", n_classes=0)
    sensor = (4, 4, 2)
    events = [np.zeros(1, dtype=EVENT_DTYPE)] * 2
    np.savez(tmp_path / "ev.npz", **dict(np.load(save_npz_dataset(tmp_path / "ok", [0, 1], events=events,
                                                                    sensor_size=sensor, n_steps=2)),
                                          labels=np.array([0, -1])))
    with pytest.raises(ValueError, match=r"ev\.npz: label -1 of sample 1"):
        load_npz_dataset(tmp_path / "ev.npz")


def test_npz_garbage_truncated_and_wrong_kind_files_name_the_file(tmp_path, rng):
    good = save_npz_dataset(tmp_path / "good", [0, 1, 2], frames=np.zeros((3, 4, 5), dtype=np.uint8))
    raw = good.read_bytes()
    (tmp_path / "garbage.npz").write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "array.npy", np.zeros((2, 3)))
    np.savez(tmp_path / "objects.npz", frames=np.array([None, 1], dtype=object), labels=np.zeros(2, dtype=int))
    damaged = bytearray(raw)
    start = raw.index(b"frames.npy") + 40  # inside the first member's data
    damaged[start:start + 8] = bytes(255 - b for b in damaged[start:start + 8])
    (tmp_path / "damaged.npz").write_bytes(bytes(damaged))
    expected = (r"not a readable \.npz dataset \(%s.*\); "
                r"expected a NumPy \.npz archive with the arrays \['frames', 'labels'\]")
    for name, found in [("garbage.npz", "no zip archive"), ("truncated.npz", "a damaged or truncated zip archive"),
                        ("empty.npz", "an empty file"), ("array.npy", r"a single \.npy array of shape \(2, 3\)"),
                        ("objects.npz", "the array 'frames' holds pickled Python objects"),
                        ("damaged.npz", "the array 'frames' cannot be read")]:
        with pytest.raises(ValueError, match=name.replace(".", r"\.") + ": " + expected % found):
            load_npz_dataset(tmp_path / name)
    from lava_local.data import load_npz_metadata
    from lava_local.data.npz_format import load_npz_events

    with pytest.raises(ValueError, match=r"truncated\.npz: not a readable \.npz dataset"):
        load_npz_metadata(tmp_path / "truncated.npz")
    with pytest.raises(ValueError, match=r"garbage\.npz: not a readable \.npz dataset"):
        load_npz_events(tmp_path / "garbage.npz")


def test_npz_datasets_of_no_samples_are_refused(tmp_path):
    np.savez(tmp_path / "dense.npz", frames=np.zeros((0, 3, 5), dtype=np.uint8), labels=np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"dense\.npz holds no samples"):
        load_npz_dataset(tmp_path / "dense.npz")
    path = save_npz_dataset(tmp_path / "events", np.zeros(0, dtype=int), events=[], sensor_size=(4, 4, 2), n_steps=3)
    with pytest.raises(ValueError, match=r"events\.npz holds no samples"):
        load_npz_dataset(path)

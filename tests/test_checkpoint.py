"""Checkpoints: exact resume, repeatable seeds, no unpickling of foreign objects, shape checks."""
import pickle

import numpy as np
import pytest
import torch

from lava_local.network import Network
from lava_local.rules import TESS
from lava_local.trainer import BPTTTrainer, LocalTrainer
from lava_local.trainer.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from lava_local.trainer.distributed import DataParallelTrainer

pytestmark = pytest.mark.timeout(120)


def _data(seed=0, n=10, steps=6, n_in=40):
    rng = np.random.default_rng(seed)
    return (rng.random((n, steps, n_in)) < 0.3).astype(np.uint8), rng.integers(0, 10, size=n)


def _trainer(seed=2, hidden=(16,), cls=LocalTrainer, optimizer="adam"):
    net = Network(40, hidden=hidden, rule=TESS(lr=0.05), init_scale=3.0, seed=seed)
    return cls(net, device="cpu", dtype=torch.float64, optimizer=optimizer, lr=1e-2)


@pytest.mark.parametrize("cls", [LocalTrainer, BPTTTrainer], ids=["local", "bptt"])
def test_resume_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path, cls):
    """2 epochs straight == 1 epoch, save, load into a fresh trainer and Generator, 1 epoch
    (Adam: moments and step counts restored; the shuffle continues where it stopped)."""
    frames, labels = _data()
    straight, gen = _trainer(cls=cls), np.random.default_rng(42)
    accs = [straight.fit_epoch(frames, labels, 4, generator=gen) for _ in range(2)]

    first, gen1 = _trainer(cls=cls), np.random.default_rng(42)
    first.fit_epoch(frames, labels, 4, generator=gen1)
    save_checkpoint(tmp_path / "ck.pt", first, epoch=1, generator=gen1, extra={"accuracy": [0.5]})
    del first, gen1

    fresh, gen2 = _trainer(cls=cls), np.random.default_rng(999)  # any state: overwritten
    info = load_checkpoint(tmp_path / "ck.pt", fresh, generator=gen2)
    assert info["epoch"] == 1 and info["generator"] is gen2 and info["extra"] == {"accuracy": [0.5]}
    assert info["trainer"] == cls.__name__ and info["dtype"] == "float64"
    assert fresh.fit_epoch(frames, labels, 4, generator=gen2) == accs[1]
    for p, q in zip(straight.params, fresh.params):
        assert torch.equal(p, q)
    for a, b in zip(straight.optimizers, fresh.optimizers):
        sa, sb = a.state_dict()["state"][0], b.state_dict()["state"][0]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert gen.integers(1 << 40) == gen2.integers(1 << 40)


def test_generator_restored_into_a_new_one_and_other_bit_generators(tmp_path):
    trainer = _trainer(optimizer="sgd")
    for bit in (np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64):
        gen = np.random.Generator(bit(7))
        gen.random(3)
        save_checkpoint(tmp_path / "g.pt", trainer, epoch=0, generator=gen)
        restored = load_checkpoint(tmp_path / "g.pt", trainer)["generator"]
        assert type(restored.bit_generator) is bit
        np.testing.assert_array_equal(restored.random(5), gen.random(5))
    with pytest.raises(ValueError, match="PCG64"):
        load_checkpoint(tmp_path / "g.pt", trainer, generator=np.random.default_rng(0))


def test_same_seed_twice_gives_identical_results_and_another_seed_does_not():
    frames, labels = _data(n=8)

    def run(seed):
        trainer, gen = _trainer(seed=seed), np.random.default_rng(seed)
        for _ in range(2):
            trainer.fit_epoch(frames, labels, 3, generator=gen)
        return [p.detach().clone() for p in trainer.params]

    a, b, c = run(5), run(5), run(6)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


_EXECUTED = []


def _payload():  # what the malicious pickle would call
    _EXECUTED.append(True)
    return {}


class _Evil:
    def __reduce__(self):
        return (_payload, ())


def test_a_file_with_a_pickled_object_is_refused_without_running_it(tmp_path):
    trainer = _trainer()
    path = tmp_path / "evil.pt"
    torch.save({"format": "lava_local.trainer.checkpoint", "version": 1, "weights": _Evil()}, path)
    with pytest.raises(ValueError, match="not a safe checkpoint"):
        load_checkpoint(path, trainer)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"x": _Evil()}, protocol=2))
    with pytest.raises(ValueError, match="not a safe checkpoint|not a readable checkpoint"):
        load_checkpoint(raw, trainer)
    assert _EXECUTED == []
    # a plain-tensor file that is not a checkpoint, and garbage
    torch.save({"w": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a lava_local trainer checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="checkpoint"):
        read_checkpoint(tmp_path / "junk.pt")
    # saving objects in `extra` is refused too (they could not be loaded back safely)
    with pytest.raises(ValueError, match="extra"):
        save_checkpoint(tmp_path / "bad.pt", trainer, epoch=0, extra={"obj": _Evil()})
    assert not (tmp_path / "bad.pt").exists() and _EXECUTED == []


def test_a_checkpoint_of_another_network_is_refused_with_a_clear_error(tmp_path):
    save_checkpoint(tmp_path / "ck.pt", _trainer(hidden=(16,)), epoch=3)
    other = _trainer(hidden=(12,))
    before = [p.detach().clone() for p in other.params]
    with pytest.raises(ValueError, match=r"layer 0 weight shape \(16, 40\).*\(12, 40\)"):
        load_checkpoint(tmp_path / "ck.pt", other)
    with pytest.raises(ValueError, match="2 weight layers, the trainer 3"):
        load_checkpoint(tmp_path / "ck.pt", _trainer(hidden=(16, 8)))
    with pytest.raises(ValueError, match="optimizers"):
        load_checkpoint(tmp_path / "ck.pt", _trainer(optimizer="sgd"))
    assert all(torch.equal(p, b) for p, b in zip(other.params, before))  # untouched


def test_data_parallel_wrapper_saves_and_loads_like_its_trainer(tmp_path):
    frames, labels = _data(n=6)
    dp = DataParallelTrainer(_trainer())
    gen = np.random.default_rng(1)
    dp.fit_epoch(frames, labels, 3, generator=gen)
    save_checkpoint(tmp_path / "dp.pt", dp, epoch=1, generator=gen)
    fresh = _trainer()
    assert load_checkpoint(tmp_path / "dp.pt", fresh)["epoch"] == 1
    assert all(torch.equal(p, q) for p, q in zip(dp.trainer.params, fresh.params))
    with pytest.raises(ValueError, match="epoch"):
        save_checkpoint(tmp_path / "x.pt", dp, epoch=-1)


def test_a_checkpoint_of_another_kind_or_rule_is_refused_before_anything_changes(tmp_path):
    """A BPTT checkpoint into a local trainer, a TESS network's into an LLS one, a generator
    of another kind, a damaged optimiser state: ValueError, and the trainer's weights, Adam
    state and the caller's generator stay as they were."""
    from lava_local.rules import LLS

    frames, labels = _data(n=6)
    save_checkpoint(tmp_path / "bptt.pt", _trainer(cls=BPTTTrainer), epoch=1)
    other, gen = _trainer(), np.random.default_rng(3)
    other.fit_epoch(frames, labels, 3, generator=gen)  # Adam moments to protect
    weights = [p.detach().clone() for p in other.params]
    moments = [{k: v.clone() for k, v in o.state_dict()["state"][0].items()} for o in other.optimizers]
    gen_state = gen.bit_generator.state

    def untouched():
        assert all(torch.equal(p, w) for p, w in zip(other.params, weights))
        for o, m in zip(other.optimizers, moments):
            assert all(torch.equal(o.state_dict()["state"][0][k], v) for k, v in m.items())
        assert gen.bit_generator.state == gen_state

    with pytest.raises(ValueError,
                       match=r"bptt\.pt: the checkpoint was written by a BPTTTrainer, this trainer is a LocalTrainer"):
        load_checkpoint(tmp_path / "bptt.pt", other, generator=gen)
    lls = LocalTrainer(Network(40, hidden=(16,), rule=LLS(lr=0.05), seed=2), device="cpu", dtype=torch.float64)
    save_checkpoint(tmp_path / "lls.pt", lls, epoch=1)
    with pytest.raises(ValueError, match=r"lls\.pt: the checkpoint's network learns with LLS, the trainer's with TESS"):
        load_checkpoint(tmp_path / "lls.pt", other, generator=gen)
    save_checkpoint(tmp_path / "mt.pt", _trainer(), epoch=1, generator=np.random.Generator(np.random.MT19937(1)))
    with pytest.raises(ValueError, match="the saved generator is MT19937, the given one PCG64"):
        load_checkpoint(tmp_path / "mt.pt", other, generator=gen)
    payload = read_checkpoint(tmp_path / "bptt.pt")
    payload["trainer"] = "LocalTrainer"
    payload["optimizers"][1]["param_groups"] *= 2  # fails inside torch, after layer 0 has loaded
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match=r"damaged\.pt: the checkpoint's weights or optimizer states do not load"):
        load_checkpoint(tmp_path / "damaged.pt", other, generator=gen)
    untouched()
    with pytest.raises(ValueError, match=r"lacks \['weights'\]"):
        torch.save({k: v for k, v in payload.items() if k != "weights"}, tmp_path / "partial.pt")
        load_checkpoint(tmp_path / "partial.pt", other)
    untouched()


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    """save_checkpoint writes a temporary file in the same folder and renames it: a save
    that fails halfway (disk full, interrupted) leaves the good file as it was and no
    temporary behind."""
    trainer = _trainer()
    path = tmp_path / "run.pt"
    save_checkpoint(path, trainer, epoch=1)
    good = path.read_bytes()
    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, trainer, epoch=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
    assert load_checkpoint(path, _trainer())["epoch"] == 1
    save_checkpoint(path, trainer, epoch=2)
    assert load_checkpoint(path, _trainer())["epoch"] == 2

"""Modules, optimizers and checkpoints: round trips are exact, bad input fails clearly."""
import math

import numpy as np
import pytest

import minigan as mg
from minigan import nn
from minigan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigan.optim import SGD, Adam, ema_update


class Tiny(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, rng=seed)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 3, rng=seed + 1))
        self.register_buffer("w_avg", np.zeros(3, dtype=np.float32))

    def forward(self, x):
        return self.head(mg.ops.leaky_relu(self.conv(x), 0.2))


def test_named_parameters_and_buffers():
    names = [n for n, _ in Tiny().named_parameters()]
    assert names == ["conv.weight", "conv.bias", "head.1.weight", "head.1.bias"]
    assert [n for n, _ in Tiny().named_buffers()] == ["w_avg"]


def test_state_dict_round_trip_is_exact():
    a, b = Tiny(seed=0), Tiny(seed=5)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and np.array_equal(pa, pb)


def test_load_state_dict_rejects_wrong_shapes_and_names_without_changing_anything():
    model = Tiny()
    before = model.state_dict()
    bad = dict(before)
    bad["conv.weight"] = np.zeros((4, 1, 5, 5), dtype=np.float32)
    with pytest.raises(ValueError, match="conv.weight has shape"):
        model.load_state_dict(bad)
    missing = dict(before)
    del missing["head.1.bias"]
    with pytest.raises(KeyError, match="head.1.bias"):
        model.load_state_dict(missing)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_equalized_linear_has_unit_gain_and_lr_mul():
    lin = nn.Linear(256, 64, lr_mul=0.01, rng=0)
    assert lin.w_gain == pytest.approx(0.01 / 16)
    x = mg.tensor(np.random.default_rng(99).standard_normal((512, 256)))
    y = lin(x).numpy()
    assert 0.8 < y.std() < 1.2  # equalized: output keeps unit scale at init


def test_adam_matches_the_written_out_update():
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = Adam([p], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    m = v = np.zeros(2)
    value = np.array([1.0, -2.0])
    for step in range(1, 4):
        grad = np.array([0.5, 1.5]) * step
        p.grad = mg.tensor(grad)
        opt.step()
        m = 0.9 * m + 0.1 * grad
        v = 0.99 * v + 0.01 * grad ** 2
        value = value - 0.1 / (1 - 0.9 ** step) * m / (np.sqrt(v / (1 - 0.99 ** step)) + 1e-8)
    np.testing.assert_allclose(p.numpy(), value, rtol=1e-6)


def test_param_groups_have_their_own_lr():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = b.grad = mg.tensor([1.0])
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)


def test_training_a_tiny_model_lowers_its_loss():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((16, 1, 4, 4)))
    labels = rng.integers(0, 3, 16)
    model = Tiny()
    opt = Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = mg.ops.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_ema_moves_toward_the_source():
    target, source = Tiny(seed=0), Tiny(seed=1)
    t0 = target.conv.weight.numpy().copy()
    ema_update(target, source, decay=0.75)
    expected = 0.75 * t0 + 0.25 * source.conv.weight.numpy()
    np.testing.assert_allclose(target.conv.weight.numpy(), expected, rtol=1e-6)


def _trained_state():
    model = Tiny()
    opt = Adam(model.parameters(), lr=1e-2)
    x = mg.tensor(np.ones((2, 1, 4, 4)))
    loss = mg.ops.cross_entropy(model(x), np.array([0, 1]))
    loss.backward()
    opt.step()
    return model, opt


def test_checkpoint_round_trip_is_exact(tmp_path):
    model, opt = _trained_state()
    rng = np.random.default_rng(7)
    rng.standard_normal(5)
    path = save_checkpoint(tmp_path / "ck.npz", step=42, config={"lr": 0.01, "name": "tiny"},
                           modules={"model": model}, optimizers={"opt": opt}, rng=rng)
    expected_next = rng.standard_normal(3)

    ckpt = load_checkpoint(path)
    assert ckpt.step == 42 and ckpt.config == {"lr": 0.01, "name": "tiny"}
    model2 = Tiny(seed=9)
    opt2 = Adam(model2.parameters(), lr=1.0)
    rng2 = np.random.default_rng(0)
    ckpt.restore(modules={"model": model2}, optimizers={"opt": opt2}, rng=rng2)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, model2.state_dict()[k])
    for k, v in opt.state_dict().items():
        assert np.array_equal(v, opt2.state_dict()[k])
    assert np.array_equal(rng2.standard_normal(3), expected_next)
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]  # no temporary file left


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "not_checkpoint"])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, damage):
    model, opt = _trained_state()
    path = save_checkpoint(tmp_path / "ck.npz", 1, {}, modules={"model": model})
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        mid = len(data) // 2
        path.write_bytes(data[:mid] + bytes(255 - b for b in data[mid:mid + 64]) + data[mid + 64:])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        np.savez(path, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="ck.npz"):
        load_checkpoint(path)


def test_checkpoint_into_a_mismatched_model_is_a_clear_error(tmp_path):
    model, _ = _trained_state()
    path = save_checkpoint(tmp_path / "ck.npz", 1, {}, modules={"model": model})
    other = nn.Linear(3, 3)
    with pytest.raises(CheckpointError, match="do not fit the model.*missing"):
        load_checkpoint(path).restore(modules={"model": other})
    with pytest.raises(CheckpointError, match="no module 'disc'"):
        load_checkpoint(path).restore(modules={"disc": other})


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, _ = _trained_state()
    path = save_checkpoint(tmp_path / "ck.npz", 1, {}, modules={"model": model})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, 2, {}, modules={"model": model})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


def test_conv_equalized_gain_is_one_over_sqrt_fan_in():
    assert math.isclose(nn.Conv2d(2, 3, 3).w_gain, 1 / math.sqrt(18))

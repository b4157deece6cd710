"""Models' shapes in every mode, and the training job: finite losses, exact resume, clear errors."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigan as mg
from minigan.checkpoint import load_checkpoint, save_checkpoint
from minigan.models import ModelConfig, add_writer, build_models, preset
from minigan.models.stylegan2 import HandDiscriminator
from minigan.optim import Adam
from minigan.train import TrainConfig, Trainer, TrainingData, TrainingDiverged, main

TINY = dict(z_dim=16, w_dim=16, mapping_layers=1,
            g_channels={4: 16, 8: 12, 16: 8, 32: 8}, d_channels={32: 8, 16: 8, 8: 12, 4: 16})


def tiny(model="stylegan2", res=16, **kw) -> ModelConfig:
    return ModelConfig(model=model, res=res, **{**TINY, **kw})


def z(n, dim, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32))


@pytest.mark.parametrize("model", ["stylegan", "stylegan2"])
@pytest.mark.parametrize("res", [16, 32])
@pytest.mark.parametrize("conditioning", ["none", "embed", "content"])
def test_style_model_shapes(model, res, conditioning):
    classes = 0 if conditioning == "none" else 5
    cfg = tiny(model, res, conditioning=conditioning, num_classes=classes)
    G, D = build_models(cfg)
    labels = np.array([0, 4, 2]) if classes else None
    img = G(z(3, cfg.z_dim), labels)
    assert img.shape == (3, 1, res, res)
    assert D(img, labels).shape == (3,)
    assert G.num_ws == {16: 6, 32: 8}[res]
    ws = G.ws_from_w(G.mapping(z(3, cfg.z_dim), labels if conditioning == "embed" else None))
    assert ws.shape == (3, G.num_ws, cfg.w_dim)


@pytest.mark.parametrize("w_dim", [256, 128, 64])
def test_w_sizes(w_dim):
    cfg = preset("sg2-16-small").replace(w_dim=w_dim, z_dim=w_dim, num_classes=3)
    G, _ = build_models(cfg)
    assert G.mapping(z(2, w_dim)).shape == (2, w_dim)


def test_condgan_with_writers_and_a_new_writer_row():
    cfg = tiny("condgan", 32, conditioning="none", num_classes=4, num_writers=3)
    G, D = build_models(cfg)
    img = G(z(2, cfg.z_dim), np.array([0, 3]), np.array([2, 1]))
    assert img.shape == (2, 1, 32, 32)
    assert D(img, np.array([0, 3]), np.array([2, 1])).shape == (2,)
    new = add_writer(G, D)
    assert new == 3
    out = G(z(2, cfg.z_dim), np.array([0, 1]), np.array([3, 3]))
    assert out.shape == (2, 1, 32, 32) and np.isfinite(out.numpy()).all()


def test_content_conditioning_keeps_the_character_out_of_w():
    """Under content conditioning the mapping network never sees the label."""
    cfg = tiny(conditioning="content", num_classes=5)
    G, _ = build_models(cfg)
    assert G.mapping.num_classes == 0
    zz = z(2, cfg.z_dim)
    a, b = G(zz, np.array([0, 0]), noise_mode="const"), G(zz, np.array([1, 1]), noise_mode="const")
    assert not np.allclose(a.numpy(), b.numpy())


def test_bad_model_config_is_a_clear_error():
    with pytest.raises(ValueError, match="res must be 16 or 32"):
        ModelConfig(res=24)
    with pytest.raises(ValueError, match="needs num_classes"):
        build_models(tiny(conditioning="content", num_classes=0))
    G, D = build_models(tiny(conditioning="none"))
    with pytest.raises(ValueError, match="discriminator expects"):
        D(mg.tensor(np.zeros((2, 1, 32, 32), dtype=np.float32)))


def _data(n=64, classes=4, res=16, seed=0):
    rng = np.random.default_rng(seed)
    images = np.tanh(rng.standard_normal((n, 1, res, res))).astype(np.float32)
    return images, rng.integers(0, classes, n), rng.integers(0, 3, n), "abcd"


def _trainer(seed=0, model="stylegan2", **kw):
    cfg = tiny(model, conditioning="none" if model == "condgan" else "content", num_classes=4,
               **({"num_writers": 3} if model == "condgan" else {}))
    tc = TrainConfig(batch=4, r1_interval=2, seed=seed, **kw)
    return Trainer(cfg, tc, _data())


@pytest.mark.parametrize("model", ["stylegan2", "stylegan", "condgan"])
def test_a_few_training_steps_have_finite_losses(model):
    trainer = _trainer(model=model, augment="translation,cutout,scale")
    for _ in range(3):
        stats = trainer.step()
        assert all(np.isfinite(v) for v in stats.values())
    assert "r1" in stats or trainer.step_index % 2 == 1


def test_mode_seeking_term_grows_as_two_drawings_of_a_character_converge():
    rng = np.random.default_rng(0)
    zs = mg.tensor(rng.standard_normal((4, 8)).astype(np.float32))
    base = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    apart = mg.tensor(np.concatenate([base, -base]), requires_grad=True)
    close = mg.tensor(np.concatenate([base, base + 0.01]))
    far_term = Trainer._mode_seeking(apart, zs, 2)
    assert Trainer._mode_seeking(close, zs, 2).item() > 50 * far_term.item()
    z_apart = np.abs(zs.numpy()[:2] - zs.numpy()[2:]).mean()
    assert far_term.item() == pytest.approx(z_apart / np.abs(2 * base).mean(), rel=1e-4)
    far_term.backward()                               # it pushes the two drawings apart
    step = apart.numpy() - 0.1 * np.asarray(apart.grad.numpy())
    assert np.abs(step[:2] - step[2:]).mean() > np.abs(apart.numpy()[:2] - apart.numpy()[2:]).mean()


@pytest.mark.parametrize("model", ["stylegan2", "condgan"])
def test_training_with_mode_seeking_pairs_the_characters_and_stays_finite(model, monkeypatch):
    trainer = _trainer(model=model, mode_seeking=1.0)
    seen = []
    real_d = trainer._d

    def spy(img, labels, writers):
        seen.append(np.array(labels) if labels is not None else np.array(writers))
        return real_d(img, labels, writers)
    monkeypatch.setattr(trainer, "_d", spy)
    stats = trainer.step()
    assert all(np.isfinite(v) for v in stats.values())
    g_batch = seen[-1]                                # the generator step's characters (or writers)
    assert np.array_equal(g_batch[:2], g_batch[2:4])


def _hand_trainer(named=None, seed=0, **kw):
    cfg = tiny(conditioning="content", num_classes=4)
    images, labels, writers, charset = _data()
    named = np.ones(len(labels), bool) if named is None else named
    tc = TrainConfig(batch=8, r1_interval=2, seed=seed, hand_pairs=1.0, **kw)
    return Trainer(cfg, tc, TrainingData(images, labels, writers, charset, None, named))


def test_hand_discriminator_scores_pairs_and_checks_its_input():
    cfg = tiny(conditioning="content", num_classes=4)
    H = HandDiscriminator(cfg)
    a, b = z(3, 256).reshape(3, 1, 16, 16), z(3, 256, seed=1).reshape(3, 1, 16, 16)
    first, second = np.array([0, 1, 2]), np.array([3, 3, 0])
    score = H(a, b, first, second)
    assert score.shape == (3,) and np.isfinite(score.numpy()).all()
    # Which glyph is which character matters: the second glyph has its own projection.
    assert not np.allclose(score.numpy(), H(a, b, second, first).numpy())
    with pytest.raises(ValueError, match=r"discriminator expects \[N, 2, 16, 16\]"):
        H.base(a)
    with pytest.raises(ValueError, match="class-conditioned"):
        HandDiscriminator(tiny(conditioning="none"))


def test_hand_pairs_are_one_writers_two_characters_drawn_from_one_w(monkeypatch):
    named = np.ones(64, bool)
    named[:8] = False                         # a part without writer ids: never an anchor
    trainer = _hand_trainer(named)
    for _ in range(20):
        anchors = trainer.draw.integers(0, 64, 4)
        partners, ok = trainer._partners(anchors)
        assert np.array_equal(ok, named[anchors])          # every person here wrote 4 characters
        good = anchors[ok], partners[ok]
        assert np.array_equal(trainer.writers[good[0]], trainer.writers[good[1]])
        assert (trainer.labels[good[0]] != trainer.labels[good[1]]).all()
        assert named[good[1]].all()
    seen = []
    synthesis = trainer.G.synthesis.forward

    def spy(ws, labels, *args):
        seen.append(ws.numpy())
        return synthesis(ws, labels, *args)
    monkeypatch.setattr(trainer.G.synthesis, "forward", spy)
    stats = trainer.step()
    assert {"loss_d", "loss_g", "loss_h"} <= set(stats) and all(np.isfinite(list(stats.values())))
    for ws in seen:                           # the D step's and the G step's drawings
        assert np.array_equal(ws[:4], ws[4:8]) and not np.array_equal(ws[0], ws[1])


def test_hand_discriminator_learns_to_tell_one_hand_from_two():
    """A planted set: each writer's glyphs share a blob in one corner, the characters differ in
    the middle. Trained as --hand-pairs trains it, H scores a writer's pair above two writers'."""
    rng = np.random.default_rng(0)
    corners = [(slice(0, 5), slice(0, 5)), (slice(0, 5), slice(11, 16)),
               (slice(11, 16), slice(0, 5)), (slice(11, 16), slice(11, 16))]

    def glyphs(writers, labels):
        out = np.full((len(writers), 1, 16, 16), -1.0, np.float32)
        for i, (w, c) in enumerate(zip(writers, labels)):
            out[i, 0][corners[w]] = 1.0
            out[i, 0, 6:10, 4 + 2 * c: 6 + 2 * c] = 1.0
        return mg.tensor(out + 0.1 * rng.standard_normal(out.shape).astype(np.float32))

    H = HandDiscriminator(tiny(conditioning="content", num_classes=4))
    opt = Adam(H.parameters(), lr=0.005, betas=(0.0, 0.99))

    def batch(n=16):
        w, other = rng.integers(0, 4, n), rng.integers(0, 4, n)
        other = np.where(other == w, (w + 1) % 4, other)
        a, b = rng.integers(0, 4, n), rng.integers(0, 4, n)
        b = np.where(b == a, (a + 1) % 4, b)
        return glyphs(w, a), glyphs(w, b), glyphs(other, b), a, b

    for _ in range(60):
        first, same, mixed, a, b = batch()
        loss = mg.ops.softplus(-H(first, same, a, b)).mean() + mg.ops.softplus(H(first, mixed, a, b)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    first, same, mixed, a, b = batch(64)
    assert (H(first, same, a, b).numpy() > H(first, mixed, a, b).numpy()).mean() > 0.9


def test_hand_pairs_refuse_what_they_cannot_pair():
    with pytest.raises(ValueError, match="choose one"):
        _hand_trainer(mode_seeking=0.1)
    with pytest.raises(ValueError, match="no writer with two characters"):
        _hand_trainer(np.zeros(64, bool))
    with pytest.raises(ValueError, match="content-conditioned"):
        _trainer(model="condgan", hand_pairs=1.0)


def test_hand_pairs_resume_exactly_and_can_be_turned_on_by_a_resume(tmp_path):
    straight = _hand_trainer()
    expected = [straight.step() for _ in range(4)]
    first = _hand_trainer()
    got = [first.step() for _ in range(2)]
    first.save(tmp_path / "ck.npz")
    second = _hand_trainer(seed=99)
    second.restore(load_checkpoint(tmp_path / "ck.npz"))
    assert got + [second.step() for _ in range(2)] == expected

    plain = _trainer()
    plain.step()
    plain.save(tmp_path / "plain.npz")
    turned_on = _hand_trainer()               # a checkpoint without H: H starts afresh
    fresh = {k: v.copy() for k, v in turned_on.H.state_dict().items()}
    turned_on.restore(load_checkpoint(tmp_path / "plain.npz"))
    assert all(np.array_equal(v, turned_on.H.state_dict()[k]) for k, v in fresh.items())
    assert "loss_h" in turned_on.step()


def test_a_part_without_writer_ids_is_no_person_to_pair(tmp_path):
    from minigan.data import GlyphDataset
    from minigan.train import prepare_data

    rng = np.random.default_rng(0)
    for name, writers in (("people", np.arange(40) % 4), ("anonymous", None)):
        GlyphDataset(rng.integers(0, 255, (40, 28, 28), dtype=np.uint8), np.arange(40) % 4,
                     "abcd", writers).save(tmp_path / f"{name}.npz")
    data = prepare_data(TrainConfig(data=f"{tmp_path / 'people.npz'}+{tmp_path / 'anonymous.npz'}"), 16)
    assert data.named.tolist() == [True] * 40 + [False] * 40
    assert len(np.unique(data.writers[40:])) == 1             # one id, which is no person's
    assert prepare_data(TrainConfig(data=str(tmp_path / "anonymous.npz")), 16).named is None


def test_resume_equals_an_uninterrupted_run(tmp_path):
    straight = _trainer()
    expected = [straight.step() for _ in range(4)]

    first = _trainer()
    got = [first.step() for _ in range(2)]
    first.save(tmp_path / "ck.npz")
    second = _trainer(seed=99)  # a different seed: everything must come from the checkpoint
    second.restore(load_checkpoint(tmp_path / "ck.npz"))
    got += [second.step() for _ in range(2)]
    assert got == expected
    for k, v in straight.G_ema.state_dict().items():
        assert np.array_equal(v, second.G_ema.state_dict()[k]), k


def test_nan_loss_stops_with_a_clear_error():
    trainer = _trainer()
    trainer.D.out.weight.data[:] = np.nan
    with pytest.raises(TrainingDiverged, match="loss_d"):
        trainer.step()


def test_cli_bad_arguments_are_clear_errors(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing.npz"), "--out", str(tmp_path / "r")]) == 2
    assert "nothing.npz" in capsys.readouterr().err
    assert main(["--resume", "--out", str(tmp_path / "missing")]) == 2
    assert main(["--res", "24"]) == 2
    assert main(["--model", "gan9000"]) == 2
    run = tmp_path / "existing"
    run.mkdir()
    save_checkpoint(run / "checkpoint.npz", 1, {})
    assert main(["--out", str(run)]) == 2


def test_cli_run_interrupt_and_resume(tmp_path):
    """A real run of the job: grids, GIF, metrics, checkpoint; Ctrl-C checkpoints; --resume goes on."""
    out = tmp_path / "run"
    args = [sys.executable, "-m", "minigan.train", "--out", str(out), "--kimg", "50",
            "--tick-kimg", "0.032", "--batch", "8", "--chars", "0123"]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 240
    while not (out / "metrics.jsonl").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 130, output
    assert "resume with --resume" in output
    ckpt = load_checkpoint(out / "checkpoint.npz")
    assert ckpt.step >= 4
    for name in ("samples.png", "progress.gif", "metrics.jsonl"):
        assert (out / name).is_file()
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert {"kimg", "it_per_s", "loss_d", "loss_g"} <= set(record)

    extend = (ckpt.step + 2) * 8 / 1000
    result = subprocess.run(args[:3] + ["--resume", "--out", str(out), "--kimg", str(extend)],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_checkpoint(out / "checkpoint.npz").step == ckpt.step + 2


def test_generate_grid_and_mixing_grid(tmp_path):
    from minigan.generate import load_generator, main as generate_main, mix_ws

    trainer = _trainer()
    trainer.charset = "abcd"
    trainer.mc.charset = "abcd"
    trainer.save(tmp_path / "checkpoint.npz")
    G, cfg = load_generator(tmp_path)
    assert cfg.num_classes == 4
    assert generate_main(["--ckpt", str(tmp_path), "--n", "6", "--chars", "ab",
                          "--out", str(tmp_path / "g.png")]) == 0
    assert generate_main(["--ckpt", str(tmp_path), "--mix", "--rows", "3", "--chars", "c",
                          "--crossover", "3", "--out", str(tmp_path / "m.png")]) == 0
    from PIL import Image
    assert Image.open(tmp_path / "m.png").size == (4 * (4 * 18 + 2), 4 * (4 * 18 + 2))
    assert generate_main(["--ckpt", str(tmp_path), "--chars", "xyz",
                          "--out", str(tmp_path / "bad.png")]) == 2
    assert not (tmp_path / "bad.png").exists()

    rows = mg.tensor(np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1))
    cols = mg.tensor(-np.arange(1, 2 * 3 + 1, dtype=np.float32).reshape(2, 3, 1))
    mixed = mix_ws(rows, cols, 1).numpy()[:, :, 0]     # [4, 3]
    assert mixed[1].tolist() == [0.0, -5.0, -6.0]      # row 0's first style, col 1's others


def test_tick_metrics_fid_and_kid():
    trainer = _trainer(metrics="fid,kid", metrics_n=40)
    trainer.step()
    out = trainer.tick_metrics()
    assert set(out) == {"fid", "kid_x1000"} and all(np.isfinite(v) for v in out.values())
    assert out["fid"] > 0
    assert _trainer().tick_metrics() == {}


def test_finetune_teaches_a_condgan_one_new_writer(tmp_path):
    """Pretrain-then-fine-tune: the base run's weights start the model, one writer row is
    added, G trains only that row, the run resumes, and generate loads the result."""
    from minigan.data import GlyphDataset
    from minigan.generate import load_generator

    cfg = tiny("condgan", conditioning="none", num_classes=4, num_writers=3, charset="abcd")
    base = Trainer(cfg, TrainConfig(batch=4, r1_interval=2), _data())
    base.step()
    base.save(tmp_path / "base.npz")
    rng = np.random.default_rng(1)
    mine = tmp_path / "mine.npz"
    GlyphDataset(images=rng.integers(0, 255, (6, 16, 16), dtype=np.uint8),
                 labels=np.array([0, 1, 0, 1, 0, 1]), charset="ba").save(mine)
    out = tmp_path / "me"
    args = ["--finetune", str(tmp_path / "base.npz"), "--data", str(mine), "--out", str(out),
            "--batch", "4", "--kimg", "0.008", "--tick-kimg", "0.004", "--r1-interval", "2"]
    assert main(args) == 0
    ckpt = load_checkpoint(out / "checkpoint.npz")
    assert ckpt.step == 2 and ckpt.config["train"]["augment"] == "translation,cutout,scale"
    G, cfg = load_generator(out, ema=False)
    start = base.G.state_dict()
    for name, value in G.state_dict().items():
        if name == "writer_embed.weight":
            assert value.shape == (start[name].shape[0], 4)            # 3 writers + the new one
            assert np.array_equal(value[:, :3], start[name])           # old rows untouched
            assert not np.allclose(value[:, 3], start[name].mean(axis=1))   # new row learned
        else:
            assert np.array_equal(value, start[name]), name            # G's drawing is frozen
    assert cfg.num_writers == 4
    glyphs = G(z(2, cfg.z_dim), np.array([0, 1]), np.array([3, 3]))      # the new hand
    assert np.isfinite(glyphs.numpy()).all()
    # The characters are the base model's: "b" and "a" were mapped to its labels 1 and 0.
    assert main(["--resume", "--out", str(out), "--kimg", "0.012"]) == 0
    assert load_checkpoint(out / "checkpoint.npz").step == 3
    from minigan.generate import main as generate

    assert generate(["--ckpt", str(out), "--writer", "-1", "--n", "4", "--chars", "ab",
                     "--out", str(tmp_path / "me.png")]) == 0
    assert (tmp_path / "me.png").is_file()
    assert generate(["--ckpt", str(out), "--writer", "4", "--out", str(tmp_path / "no.png")]) == 2


def test_finetune_refuses_what_it_cannot_do(tmp_path, capsys):
    base = _trainer()                                   # a StyleGAN2: no writer rows
    base.save(tmp_path / "sg2.npz")
    assert main(["--finetune", str(tmp_path / "sg2.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "CondGAN trained with --writers" in capsys.readouterr().err
    save_checkpoint(tmp_path / "empty.npz", 1, {})
    assert main(["--finetune", str(tmp_path / "empty.npz"), "--out", str(tmp_path / "e")]) == 2
    assert "no model configuration" in capsys.readouterr().err
    cfg = tiny("condgan", conditioning="none", num_classes=4, num_writers=3, charset="abcd")
    Trainer(cfg, TrainConfig(batch=4), _data()).save(tmp_path / "cond.npz")
    from minigan.data import GlyphDataset

    GlyphDataset(images=np.zeros((2, 16, 16), np.uint8), labels=np.array([0, 1]),
                 charset="az").save(tmp_path / "odd.npz")
    assert main(["--finetune", str(tmp_path / "cond.npz"), "--data", str(tmp_path / "odd.npz"),
                 "--out", str(tmp_path / "y")]) == 2
    assert "does not know" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_extend_teaches_a_style_model_new_characters(tmp_path):
    """--extend: glyphs of known characters are left out, the new characters join the charset,
    their rows learn (an accented letter starting from its letter's), and everything else of
    G and G_ema (weights, average w, the old rows) stays the base's exactly, resume included."""
    from minigan.data import GlyphDataset
    from minigan.generate import load_generator
    from minigan.train import build_parser, extend_trainer

    cfg = tiny(conditioning="content", num_classes=4, charset="abcE")
    base = Trainer(cfg, TrainConfig(batch=4, r1_interval=2), _data())
    for _ in range(2):
        base.step()
    base.save(tmp_path / "base.npz")
    GlyphDataset(images=np.random.default_rng(1).integers(0, 255, (8, 16, 16), dtype=np.uint8),
                 labels=np.array([0, 1, 2, 3] * 2), charset="a-\u00c9b").save(tmp_path / "more.npz")
    out = tmp_path / "ext"
    args = ["--extend", str(tmp_path / "base.npz"), "--data", str(tmp_path / "more.npz"),
            "--out", str(out), "--batch", "4", "--kimg", "0.008", "--tick-kimg", "0.004",
            "--r1-interval", "2"]
    fresh = extend_trainer(build_parser().parse_args(args))
    assert fresh.charset == "abcE-\u00c9" and set(fresh.labels) == {4, 5}     # a, b left out
    rows = fresh.G.synthesis.input.const.data
    assert np.array_equal(rows[5], rows[3])                 # É starts as E
    assert main(args) == 0
    assert main(["--resume", "--out", str(out), "--kimg", "0.012"]) == 0
    assert load_checkpoint(out / "checkpoint.npz").step == 3
    start = base.G_ema.state_dict()
    for ema in (False, True):
        G, grown = load_generator(out, ema=ema)
        assert grown.charset == "abcE-\u00c9" and grown.num_classes == 6
        assert grown.base_classes == 4                  # what draw() pulls towards the average
        for name, value in G.state_dict().items():
            if name == "synthesis.input.const":
                assert np.array_equal(value[:4], start[name]), ema       # the base's characters
                assert not np.array_equal(value[5], start[name][3]), ema     # É learned
            else:
                assert np.array_equal(value, start[name]), (name, ema)
        glyphs = G(z(2, grown.z_dim), np.array([4, 5])).numpy()
        assert np.isfinite(glyphs).all()


def test_extend_refuses_what_it_cannot_do(tmp_path, capsys):
    cond = tiny("condgan", conditioning="none", num_classes=4, num_writers=3, charset="abcd")
    Trainer(cond, TrainConfig(batch=4), _data()).save(tmp_path / "cond.npz")
    assert main(["--extend", str(tmp_path / "cond.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "content-conditioned style model" in capsys.readouterr().err
    style = tiny(conditioning="content", num_classes=4, charset="abcd")
    Trainer(style, TrainConfig(batch=4), _data()).save(tmp_path / "sg2.npz")
    from minigan.data import GlyphDataset

    GlyphDataset(images=np.zeros((2, 16, 16), np.uint8), labels=np.array([0, 1]),
                 charset="ab").save(tmp_path / "known.npz")
    assert main(["--extend", str(tmp_path / "sg2.npz"), "--data", str(tmp_path / "known.npz"),
                 "--out", str(tmp_path / "y")]) == 2
    assert "no character that the base model lacks" in capsys.readouterr().err
    assert main(["--extend", str(tmp_path / "sg2.npz"), "--finetune", str(tmp_path / "sg2.npz"),
                 "--out", str(tmp_path / "z")]) == 2
    assert "choose one" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "xyz")


def test_training_batches_keep_each_parts_share(tmp_path):
    """A spec with %SHARE reaches the trainer: a 12-glyph part asked for a quarter of each
    batch is in every batch, at a quarter, where uniform draws would mostly miss it."""
    from minigan.data import GlyphDataset
    from minigan.train import prepare_data

    rng = np.random.default_rng(0)
    for name, n, labels in (("big", 1200, np.arange(1200) % 3), ("small", 12, np.full(12, 3))):
        GlyphDataset(rng.integers(0, 255, (n, 28, 28), dtype=np.uint8), labels, "abcd",
                     np.arange(n) % 3).save(tmp_path / f"{name}.npz")
    tc = TrainConfig(batch=8, data=f"{tmp_path / 'big.npz'}+{tmp_path / 'small.npz'}%25")
    data = prepare_data(tc, 16)
    assert (data.labels == 3).sum() == 12                   # 'd' is the small part's alone
    trainer = Trainer(tiny(conditioning="content", num_classes=4), tc, data)
    for _ in range(20):
        _, labels, *_ = trainer._batch()
        assert (labels == 3).sum() == 2

"""Style tuning: fine-tuning the synthesis layers around a fitted style code."""
import numpy as np
import pytest

from minigan.generate import load_generator
from minigan.style import Style, applied, draw, fit_style, tunable_parameters, tune


def _targets(G, cfg, chars, seed):
    """Glyphs of `chars` drawn by G from another style: reachable, and not the start point."""
    from minigan.style import random_style

    return draw(G, cfg, random_style(G, cfg, seed=seed, truncation=1.0), chars)


def _mse(a, b):
    return float(((a - b) ** 2).mean())


def test_tune_lowers_the_error_and_leaves_the_model_alone(model_dir):
    G, cfg = load_generator(model_dir)
    chars = "abdh"
    targets = _targets(G, cfg, chars, seed=5) * 0.5 + 0.2     # a little off the model's range
    before = {n: p.data.copy() for n, p in G.named_parameters()}
    style = fit_style(G, cfg, targets, chars, steps=20, seed=0)
    tuned = tune(G, cfg, style, targets, chars, steps=15, lr=3e-3)
    assert set(tuned.tuned) == {n for n, _ in tunable_parameters(G)}
    assert not any(n.startswith("synthesis.input.") for n in tuned.tuned)
    assert _mse(draw(G, cfg, tuned, chars), targets) < 0.9 * _mse(draw(G, cfg, style, chars),
                                                                    targets)
    for n, p in G.named_parameters():                          # G is unchanged afterwards
        assert np.array_equal(p.data, before[n]), n
        assert p.grad is None and not p.requires_grad


def test_tuned_style_survives_save_and_load(model_dir, tmp_path):
    G, cfg = load_generator(model_dir)
    chars = "ab"
    targets = _targets(G, cfg, chars, seed=6)
    style = fit_style(G, cfg, targets, chars, steps=5, tune_steps=3, tune_lr=3e-3, seed=0)
    back = Style.load(style.save(tmp_path / "mine.npz"))
    assert set(back.tuned) == set(style.tuned)
    assert np.array_equal(draw(G, cfg, back, "ba"), draw(G, cfg, style, "ba"))


def test_a_style_tuned_for_another_model_is_refused_and_nothing_changes(model_dir):
    G, cfg = load_generator(model_dir)
    name, p = tunable_parameters(G)[0]
    before = p.data.copy()
    wrong = Style(ws=np.zeros((1, cfg.num_ws, cfg.w_dim), np.float32), w_spread=1.0,
                  tuned={name: np.zeros((3, 3), np.float32)})
    with pytest.raises(ValueError, match="another model"):
        draw(G, cfg, wrong, "a")
    assert np.array_equal(p.data, before)
    with pytest.raises(ValueError, match="another model"):
        with applied(G, Style(ws=wrong.ws, w_spread=1.0, tuned={"synthesis.nope": before})):
            pass


@pytest.mark.filterwarnings("ignore:.*dark ink on light paper")  # an untrained model draws anything
def test_write_cli_fits_tunes_and_saves_a_style(model_dir, tmp_path):
    from minigan.data import GlyphDataset
    from minigan.write import main

    G, cfg = load_generator(model_dir)
    glyphs = tmp_path / "mine.npz"
    images = ((_targets(G, cfg, "abd", seed=7) + 1) * 127.5).clip(0, 255).astype(np.uint8)
    GlyphDataset(images=images[:, 0], labels=np.array([0, 1, 2]), charset="abd").save(glyphs)
    saved = tmp_path / "style.npz"
    assert main(["bad", "--ckpt", str(model_dir), "--style", str(glyphs), "--steps", "3",
                 "--tune-steps", "2", "--save-style", str(saved),
                 "--out", str(tmp_path / "t.png")]) == 0
    assert Style.load(saved).tuned and (tmp_path / "t.png").is_file()


def test_a_fitted_condgan_writer_row_draws_that_writer():
    """The CondGAN's writer row, fitted to glyphs one existing writer drew, draws them far
    closer than the new row's starting point (the mean of the rows) does; old rows stay."""
    from minigan.models import ModelConfig, build_models
    from minigan.style import draw_writer, fit_writer_row

    cfg = ModelConfig(model="condgan", res=16, z_dim=16, w_dim=16, num_classes=3,
                      num_writers=4, charset="abc", g_channels={4: 16, 8: 12, 16: 8},
                      d_channels={16: 8, 8: 12, 4: 16})
    G, _ = build_models(cfg, seed=3)
    G.eval().requires_grad_(False)
    targets = draw_writer(G, cfg, 2, "abcab")
    before = G.writer_embed.weight.data.copy()
    writer = fit_writer_row(G, cfg, targets, "abcab", steps=150, lr=0.05)
    assert writer == 4 and G.writer_embed.weight.shape[1] == 5
    assert np.array_equal(G.writer_embed.weight.data[:, :4], before)
    mean_row = before.mean(axis=1)
    G.writer_embed.weight.data[:, 4], fitted = mean_row, G.writer_embed.weight.data[:, 4].copy()
    start = draw_writer(G, cfg, writer, "abcab")
    G.writer_embed.weight.data[:, 4] = fitted
    assert _mse(draw_writer(G, cfg, writer, "abcab"), targets) < 0.2 * _mse(start, targets)
    with pytest.raises(ValueError, match="CondGAN trained with --writers"):
        fit_writer_row(G, cfg.replace(num_writers=0), targets, "abcab")


@pytest.mark.parametrize("kwargs,message", [
    ({"tune_steps": -1}, "tuning steps"), ({"tune_steps": 2, "tune_lr": -1e-2}, "tuning rate"),
    ({"tune_steps": 2, "tune_lr": float("nan")}, "tuning rate"), ({"lr": 0.0}, "fitting rate"),
    ({"steps": 2.5}, "fitting steps"),
])
def test_bad_schedules_are_refused_before_any_work(model_dir, kwargs, message):
    G, cfg = load_generator(model_dir)
    targets = _targets(G, cfg, "ab", seed=7)
    kwargs = {"steps": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        fit_style(G, cfg, targets, "ab", **kwargs)


def test_match_ink_brings_each_glyph_to_the_level_within_the_gain_limit():
    from minigan.style import INK_GAIN, ink_levels, match_ink
    glyphs = np.full((3, 1, 8, 8), -1.0, np.float32)                     # black
    glyphs[0, 0, 2:6, 3] = 0.0                                           # a faint stroke: 0.5
    glyphs[1, 0, 2:6, 3] = 0.8                                           # at the level: 0.9
    glyphs[2, 0, 2:6, 3] = -0.9                                          # almost empty: 0.05
    out = match_ink(glyphs, 0.9)
    np.testing.assert_allclose(ink_levels(out)[:2], [0.9, 0.9], rtol=1e-6)
    np.testing.assert_allclose(ink_levels(out)[2], 0.05 * INK_GAIN, rtol=1e-6)
    assert (out[:, 0, 0, 0] == -1.0).all()                               # black stays black
    np.testing.assert_allclose(out[1], glyphs[1], atol=1e-6)


def test_fitted_style_keeps_its_writers_ink_level(model_dir, tmp_path):
    G, cfg = load_generator(model_dir)
    chars = "ab"
    targets = _targets(G, cfg, chars, seed=6)
    style = fit_style(G, cfg, targets, chars, steps=3, seed=0)
    levels = (np.percentile((targets.reshape(2, -1) + 1) / 2, 99, axis=1))
    assert style.ink == pytest.approx(float(np.median(levels)))
    assert Style.load(style.save(tmp_path / "mine.npz")).ink == style.ink
    # A style saved before ink levels existed draws as it did: no matching.
    np.savez(tmp_path / "old.npz", ws=style.ws, w_spread=np.float32(style.w_spread),
             fitted_on=np.array(style.fitted_on))
    old = Style.load(tmp_path / "old.npz")
    assert old.ink is None
    assert np.array_equal(draw(G, cfg, old, "ba"),
                          draw(G, cfg, Style(style.ws, style.w_spread, style.fitted_on), "ba"))


def test_tuning_a_condgan_writer_moves_the_shared_layers_not_the_embeddings():
    """After its row is fitted, tuning brings a writer the rows alone cannot reach (glyphs of
    another generator) closer, and leaves both embeddings and every flag as they were."""
    from minigan.models import ModelConfig, build_models
    from minigan.style import draw_writer, fit_writer_row, tune_writer

    cfg = ModelConfig(model="condgan", res=16, z_dim=16, w_dim=16, num_classes=3,
                      num_writers=4, charset="abc", g_channels={4: 16, 8: 12, 16: 8},
                      d_channels={16: 8, 8: 12, 4: 16})
    G, _ = build_models(cfg, seed=3)
    other, _ = build_models(cfg, seed=11)
    G.eval().requires_grad_(False)
    other.eval().requires_grad_(False)
    targets = draw_writer(other, cfg, 1, "abcab")
    writer = fit_writer_row(G, cfg, targets, "abcab", steps=100, lr=0.05)
    fitted = _mse(draw_writer(G, cfg, writer, "abcab"), targets)
    classes, rows = G.class_embed.weight.data.copy(), G.writer_embed.weight.data.copy()
    conv = G.conv16b.weight.data.copy()
    tune_writer(G, cfg, writer, targets, "abcab", steps=60, lr=1e-2)
    tuned = _mse(draw_writer(G, cfg, writer, "abcab"), targets)
    assert tuned < 0.2 * fitted
    assert np.array_equal(G.class_embed.weight.data, classes)
    assert np.array_equal(G.writer_embed.weight.data, rows)
    assert not np.array_equal(G.conv16b.weight.data, conv)
    assert not any(p.requires_grad or p.grad is not None for p in G.parameters())
    with pytest.raises(ValueError, match="2 glyphs but 3 characters"):
        tune_writer(G, cfg, writer, targets[:2], "abc")

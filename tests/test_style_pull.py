"""A style's pull: drawing a fitted code part of the way back towards the model's average hand."""
from dataclasses import replace

import numpy as np
import pytest

from minigan.generate import load_generator
from minigan.style import EXTENDED_PULL, PULL, Style, draw, fit_style, random_style, tune


def _targets(G, cfg, chars, seed):
    return draw(G, cfg, random_style(G, cfg, seed=seed, truncation=1.0), chars)


def test_a_pulled_style_draws_its_code_moved_towards_the_average(model_dir):
    G, cfg = load_generator(model_dir)
    targets = _targets(G, cfg, "ab", seed=3)
    style = fit_style(G, cfg, targets, "ab", steps=5, pull=0.5, seed=0)
    assert style.pull == 0.5 and style.w_avg.shape == (cfg.w_dim,)
    by_hand = replace(style, ws=style.w_avg + 0.5 * (style.ws - style.w_avg), pull=0.0)
    np.testing.assert_allclose(draw(G, cfg, style, "abba"), draw(G, cfg, by_hand, "abba"),
                               atol=1e-5)
    assert not np.allclose(draw(G, cfg, style, "ab"), draw(G, cfg, replace(style, pull=0.0), "ab"),
                           atol=1e-3)
    # A pull of 1 draws the average hand, whatever the code.
    average = replace(style, ws=np.broadcast_to(style.w_avg, style.ws.shape).copy(), pull=0.0)
    np.testing.assert_allclose(draw(G, cfg, replace(style, pull=1.0), "ab"),
                               draw(G, cfg, average, "ab"), atol=1e-5)
    assert fit_style(G, cfg, targets, "ab", steps=2, seed=0).pull == PULL


def test_characters_taught_by_extend_are_drawn_from_a_code_pulled_further(model_dir):
    """A model extended with new characters (base_classes > 0) draws those from its code pulled
    EXTENDED_PULL of the way to the average w, and the characters it was trained with from
    the style's own pull; a model without taught characters draws all of them the one way."""
    G, cfg = load_generator(model_dir)
    style = fit_style(G, cfg, _targets(G, cfg, "ab", seed=7), "ab", steps=5, seed=0)
    grown = cfg.replace(base_classes=cfg.charset.index("b"))      # b and later were taught
    further = replace(style, pull=max(style.pull, EXTENDED_PULL))
    both = draw(G, grown, style, "ab")
    np.testing.assert_allclose(both[0], draw(G, cfg, style, "a")[0], atol=1e-5)
    np.testing.assert_allclose(both[1], draw(G, cfg, further, "b")[0], atol=1e-5)
    assert not np.allclose(both[1], draw(G, cfg, style, "b")[0], atol=1e-3)


def test_tuning_keeps_the_fitted_code_as_its_pivot(model_dir):
    G, cfg = load_generator(model_dir)
    targets = _targets(G, cfg, "ab", seed=4)
    style = fit_style(G, cfg, targets, "ab", steps=5, pull=0.3, seed=0)
    tuned = tune(G, cfg, style, targets, "ab", steps=2, lr=1e-3)
    assert np.array_equal(tuned.ws, style.ws) and tuned.pull == 0.3
    assert np.array_equal(tuned.w_avg, style.w_avg)


def test_pull_survives_save_and_load(model_dir, tmp_path):
    G, cfg = load_generator(model_dir)
    targets = _targets(G, cfg, "ab", seed=5)
    style = fit_style(G, cfg, targets, "ab", steps=3, pull=0.4, seed=0)
    back = Style.load(style.save(tmp_path / "mine.npz"))
    assert back.pull == 0.4 and np.array_equal(back.w_avg, style.w_avg)
    assert np.array_equal(draw(G, cfg, back, "ba"), draw(G, cfg, style, "ba"))


@pytest.mark.parametrize("pull", [-0.1, 1.5, float("nan")])
def test_a_pull_outside_0_to_1_is_refused(model_dir, pull):
    G, cfg = load_generator(model_dir)
    targets = _targets(G, cfg, "ab", seed=6)
    with pytest.raises(ValueError, match="pull must be"):
        fit_style(G, cfg, targets, "ab", steps=2, pull=pull)
    with pytest.raises(ValueError, match="pull must be"):
        Style(ws=np.zeros((1, cfg.num_ws, cfg.w_dim), np.float32), w_spread=1.0,
              w_avg=np.zeros(cfg.w_dim, np.float32), pull=pull)


def test_a_pull_without_a_fitting_average_w_is_refused():
    ws = np.zeros((1, 4, 8), np.float32)
    with pytest.raises(ValueError, match="average w"):
        Style(ws=ws, w_spread=1.0, pull=0.2)
    with pytest.raises(ValueError, match="damaged"):
        Style(ws=ws, w_spread=1.0, w_avg=np.zeros(9, np.float32), pull=0.2)


@pytest.mark.filterwarnings("ignore:.*dark ink on light paper")  # an untrained model draws anything
def test_write_pull_replaces_a_saved_styles_own(model_dir, tmp_path):
    from minigan.write import load_style, main

    G, cfg = load_generator(model_dir)
    style = fit_style(G, cfg, _targets(G, cfg, "ab", seed=7), "ab", steps=3, seed=0)
    saved = style.save(tmp_path / "style.npz")
    # A style saved before pulls existed (no w_avg) can be given one too.
    old = tmp_path / "old.npz"
    np.savez(old, ws=style.ws, w_spread=np.float32(style.w_spread), fitted_on=np.array("ab"))
    assert load_style(str(saved), G, cfg, steps=3, seed=0).pull == PULL
    assert load_style(str(saved), G, cfg, steps=3, seed=0, pull=0.0).pull == 0.0
    assert load_style(str(old), G, cfg, steps=3, seed=0).pull == 0.0
    renewed = load_style(str(old), G, cfg, steps=3, seed=0, pull=0.3)
    assert renewed.pull == 0.3
    np.testing.assert_allclose(renewed.w_avg, style.w_avg, atol=1e-6)
    out = tmp_path / "page.png"
    args = ["ab", "--ckpt", str(model_dir), "--style", str(old), "--out", str(out)]
    assert main(args + ["--pull", "0.3"]) == 0 and out.is_file()
    out.unlink()
    assert main(args + ["--pull", "2"]) == 2
    assert not out.exists()

"""Writing text: layout (baselines, sizes, wrapping), the CLI, and clear errors."""
import numpy as np
import pytest

from minigan.write import extent, layout, main

# model_dir (tests/conftest.py): a tiny untrained content-conditioned model over "abgdTh".


def _blob_glyphs(n, size=28):
    """Filled squares: ink from row 4 to 24, so every glyph's ink box is known."""
    g = np.zeros((n, size, size), dtype=np.uint8)
    g[:, 4:24, 8:20] = 255
    return g


def test_two_lines_share_their_baselines_and_descenders_go_below():
    text = "abg dT\nhad"
    page, placed = layout(_blob_glyphs(8), text, x_height=20, width=800, jitter=0.0)
    assert {p.line for p in placed} == {0, 1}
    line0 = [p for p in placed if p.line == 0 and p.char not in "gj"]
    line1 = [p for p in placed if p.line == 1]
    assert len({p.baseline for p in line0}) == 1 and len({p.baseline for p in line1}) == 1
    assert line1[0].baseline - line0[0].baseline == int(round(2.8 * 20))
    g = next(p for p in placed if p.char == "g")
    assert g.baseline == line0[0].baseline + 10      # half an x-height below
    ink_rows = np.flatnonzero((page < 128).any(axis=1))
    assert ink_rows.max() > line0[0].baseline        # the g's tail is drawn below the line


def test_sizes_follow_the_character_class():
    page, placed = layout(_blob_glyphs(3), "aTh", x_height=20, width=800, jitter=0.0)
    heights = []
    for p in placed:
        col = page[:, p.left + 2]
        rows = np.flatnonzero(col < 128)
        heights.append(rows.max() - rows.min() + 1)
    assert heights[0] == pytest.approx(20, abs=1)
    assert heights[1] == pytest.approx(extent("T")[0] * 20, abs=1)
    assert heights[2] == pytest.approx(extent("h")[0] * 20, abs=1)


def test_long_text_wraps_within_the_width():
    text = " ".join(["abab"] * 12)
    page, placed = layout(_blob_glyphs(48), text, x_height=16, width=300, jitter=0.0)
    assert max(p.line for p in placed) >= 2
    assert page.shape[1] == 300
    ink_cols = np.flatnonzero((page < 128).any(axis=0))
    assert ink_cols.max() < 300 - 16                  # nothing in the right margin


def test_layout_needs_one_glyph_per_character():
    with pytest.raises(ValueError, match="glyphs for"):
        layout(_blob_glyphs(2), "abc")


def test_write_cli_draws_text_and_saves_glyphs(model_dir, tmp_path):
    out, glyphs = tmp_path / "t.png", tmp_path / "g.npz"
    assert main(["bad dh\nTab", "--ckpt", str(model_dir), "--out", str(out),
                 "--glyphs-out", str(glyphs), "--seed", "3"]) == 0
    with np.load(glyphs) as z:
        assert z["images"].shape == (8, 28, 28) and z["images"].dtype == np.uint8
        assert "".join(z["chars"]) == "baddhTab"
    assert out.is_file()


def test_unknown_characters_are_listed(model_dir, tmp_path, capsys):
    assert main(["hello xyz", "--ckpt", str(model_dir), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "cannot draw" in err and "eloxyz" in err
    assert not (tmp_path / "x.png").exists()


def test_repeated_letters_differ_with_variation(model_dir):
    from minigan.generate import load_generator
    from minigan.style import draw, random_style

    G, cfg = load_generator(model_dir)
    style = random_style(G, cfg, seed=1)
    same = draw(G, cfg, style, "aa", variation=0.0)
    varied = draw(G, cfg, style, "aa", variation=0.3, seed=2)
    assert np.array_equal(same[0], same[1])
    assert not np.allclose(varied[0], varied[1])


def test_write_uses_the_shipped_model_without_ckpt(tmp_path):
    from minigan.write import DEFAULT_MODEL

    if not DEFAULT_MODEL.is_file():
        pytest.skip("this install ships no default writing model")
    out = tmp_path / "t.png"
    assert main(["Hello 42", "--out", str(out), "--seed", "1"]) == 0
    assert out.is_file()

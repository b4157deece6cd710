"""Writing text: layout (baselines, sizes, wrapping), the CLI, and clear errors."""
import numpy as np
import pytest

from minigan.write import Hand, extent, layout, main

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
    # Without variation two drawings of a letter agree to float32 rounding (the two rows of a
    # batch may take different BLAS paths, about 1e-7 apart); with it they differ visibly.
    np.testing.assert_allclose(same[0], same[1], rtol=0, atol=1e-5)
    assert np.abs(varied[0] - varied[1]).max() > 0.05


def test_write_uses_the_shipped_model_without_ckpt(tmp_path):
    from minigan.write import DEFAULT_MODEL

    if not DEFAULT_MODEL.is_file():
        pytest.skip("this install ships no default writing model")
    out = tmp_path / "t.png"
    assert main(["Hello 42", "--out", str(out), "--seed", "1"]) == 0
    assert out.is_file()


def test_the_shipped_model_draws_printable_ascii_and_the_latin1_letters():
    """Issue 18's charset: the shipped file (no pickle, a few MB) knows every printable ASCII
    character and Latin-1 letter, and records that it learned them after its first 62
    (train --extend), and how both stages were trained."""
    from minigan.autograd import Tensor
    from minigan.checkpoint import load_checkpoint
    from minigan.font import LATIN1_LETTERS, PRINTABLE
    from minigan.write import DEFAULT_MODEL, load_model

    if not DEFAULT_MODEL.is_file():
        pytest.skip("this install ships no default writing model")
    assert DEFAULT_MODEL.stat().st_size < 8 * 2 ** 20
    with np.load(DEFAULT_MODEL, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
    G, cfg = load_model(None)
    assert set(PRINTABLE + LATIN1_LETTERS) <= set(cfg.charset)
    assert cfg.base_classes == 62 and cfg.charset[:62].isalnum()
    config = load_checkpoint(DEFAULT_MODEL).config
    assert config["train"]["data"].startswith("fonts@0-199")
    assert config["base_train"]["data"] == "chars74k@0-44*8+builtin"
    glyphs = G(Tensor(np.zeros((2, cfg.z_dim), np.float32)),
               np.array([cfg.charset.index("?"), cfg.charset.index("\u00df")])).numpy()
    assert np.isfinite(glyphs).all() and glyphs.shape == (2, 1, 32, 32)


# ----- every character at its own height --------------------------------------------------

def test_punctuation_sits_at_its_own_height():
    text = "a, b. c' d- e"
    glyphs = _blob_glyphs(9)
    glyphs[7] = 0
    glyphs[7, 12:16, 4:24] = 255                            # the hyphen as written: a short bar
    page, placed = layout(glyphs, text, x_height=20, width=800, jitter=0.0)
    base = next(p for p in placed if p.char == "a").baseline
    at = {p.char: p for p in placed}
    assert at[","].baseline > base                          # a comma hangs below the line
    assert at["."].baseline == base and at["."].height <= 0.25 * 20
    assert base - at["'"].baseline >= 20 * 0.95              # an apostrophe sits high
    hyphen_mid = at["-"].top + at["-"].height / 2
    assert abs((base - hyphen_mid) - 0.5 * 20) <= 2          # a hyphen at mid x-height
    assert at["-"].width > at["-"].height                    # ... and wider than tall


def test_every_printable_and_latin1_letter_has_a_box():
    from minigan.write import box

    chars = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha()]
    for c in chars:
        top, bottom, widest = box(c)
        assert top > bottom and widest > 0, c
    assert box("É")[0] > box("E")[0] and box("é")[0] > box("e")[0]
    assert box("ç")[1] < 0 <= box("c")[1]
    assert box("_")[0] < 0.0 and box("'")[1] >= 1.0 and box(",")[1] < 0


# ----- a person's own glyphs, from an extracted sheet --------------------------------------

SHEET_CHARS = "ADIHabdeghilnorstuwy,.?!'-"


@pytest.fixture(scope="module")
def hand_file(tmp_path_factory):
    """What `minigan.data extract` writes for a sheet filled in by a built-in writer."""
    from handsheet import make_hand

    return make_hand(SHEET_CHARS, tmp_path_factory.mktemp("hand"))[0]


def test_the_sheet_gives_the_persons_baseline_and_heights(hand_file):
    from minigan.write import load_hand

    hand = load_hand(str(hand_file))
    assert hand.measured and set(hand.glyphs) == set(SHEET_CHARS)
    assert 1.2 < hand.metrics.cap < 2.2 and 1.2 < hand.metrics.ascender < 2.3
    assert -0.9 < hand.metrics.descender < -0.3
    comma, apostrophe = np.array(hand.boxes[","]), np.array(hand.boxes["'"])
    assert (comma[:, 1] < 0).all() and (apostrophe[:, 1] > 0.9).all()
    assert all(len(v) >= 2 for v in hand.glyphs.values())   # each written twice on the sheet


def _correlation(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def _own_glyph_scores(page, pieces, written, hand_file, x_height=32):
    """For each of the person's own glyphs on the page: (best correlation with one of their
    glyphs of that character, char, drawn shape, height on the page)."""
    from minigan.data import load, normalize_glyph
    from minigan.write import placements

    ds = load(str(hand_file))
    chars = ds.chars()
    scores = []
    for p, w in zip(placements(pieces, x_height, written), written):
        if not w.own:
            continue
        crop = 255 - page[p.top:p.top + p.height, p.left:p.left + p.width].astype(np.float32)
        theirs = [ds.images[i] for i, c in enumerate(chars) if c == w.char]
        scores.append((max(_correlation(normalize_glyph(crop), t) for t in theirs),
                       w.char, w.image.shape, p.height))
    return scores


def test_written_characters_are_the_persons_own_and_repeats_vary(hand_file, model_dir):
    from minigan.page import render_png
    from minigan.write import arrange, compose, prepare

    text = "Dear Ann, how are you? I'd rather sit here. That's right - good night!!"
    hand, generate = prepare(text, str(hand_file), ckpt=model_dir, steps=3, tune_steps=2,
                             log=lambda *_: None)
    written = compose(text, hand, generate, seed=1)
    own = {w.char for w in written if w.own}
    assert own == {c for c in text if c in SHEET_CHARS}
    assert {w.char for w in written if not w.own} == {"T"}
    pieces, lines = arrange(written, text, line_width=40.0, seed=1)
    page = np.asarray(render_png(pieces, lines, x_height=32, width=1400))
    scores = _own_glyph_scores(page, pieces, written, hand_file)
    assert min(scores)[0] >= 0.75, sorted(scores)[:5]
    # Neighbouring repeats ("nn", "!!", the three r's and h's) are never pixel copies.
    for a, b in zip(written, written[1:]):
        if a.char == b.char:
            assert a.image.shape != b.image.shape or not np.array_equal(a.image, b.image)
    rs = [w for w in written if w.char == "r"]
    assert len({w.version for w in rs[:2]}) == 2              # the first two r's: both versions


def test_generated_only_draws_every_character_with_the_model(hand_file, model_dir):
    from minigan.write import compose, prepare

    hand, generate = prepare("bad", str(hand_file), ckpt=model_dir, generated_only=True,
                             steps=3, tune_steps=0, log=lambda *_: None)
    assert hand is None and not any(w.own for w in compose("bad", hand, generate))


def test_a_sentence_full_of_punctuation_to_png_svg_and_pdf(hand_file, model_dir, tmp_path):
    pytest.importorskip("fpdf", reason="the PDF page needs the export extra (fpdf2)")
    import xml.etree.ElementTree as ET

    text = "Dear Ann, how are you? I'd rather sit here. That's right - good night!"
    base = ["--style", str(hand_file), "--ckpt", str(model_dir), "--steps", "3",
            "--tune-steps", "2"]
    for ext in ("png", "svg", "pdf"):
        assert main([text, "--out", str(tmp_path / f"a.{ext}"), "--paper", "ruled"] + base) == 0
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = ET.parse(tmp_path / "a.svg").getroot()
    paths = [e for e in svg.iter() if e.tag.endswith("path")]
    assert len(paths) == sum(not c.isspace() for c in text)
    assert all("Q" in p.get("d") and p.get("d").startswith("M") for p in paths)
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"


def _pdf_pages(data: bytes) -> int:
    return data.count(b"/Type /Page") - data.count(b"/Type /Pages")


def test_a_long_letter_flows_onto_a_second_page(hand_file, tmp_path):
    pytest.importorskip("fpdf", reason="the PDF page needs the export extra (fpdf2)")
    short, long = tmp_path / "short.pdf", tmp_path / "long.pdf"
    words = "Dear Ann, how are you? I'd hate to go. " * 3
    assert main([words, "--style", str(hand_file), "--out", str(short)]) == 0
    assert main([(words + "\\n") * 30, "--style", str(hand_file), "--out", str(long)]) == 0
    assert _pdf_pages(short.read_bytes()) == 1
    assert _pdf_pages(long.read_bytes()) >= 2
    import shutil
    import subprocess

    if shutil.which("pdftoppm"):                    # poppler draws it: ink on both pages
        from PIL import Image

        subprocess.run(["pdftoppm", "-r", "30", "-png", str(long), str(tmp_path / "p")],
                       check=True)
        for name in ("p-1.png", "p-2.png"):
            page = np.asarray(Image.open(tmp_path / name).convert("L"))
            assert (page < 128).mean() > 0.001


def test_clear_errors_and_nothing_written(hand_file, model_dir, tmp_path, capsys):
    cases = [
        (["   ", "--out", str(tmp_path / "e.png")], "nothing to write"),
        (["Zebra", "--style", str(hand_file), "--ckpt", str(model_dir),
          "--out", str(tmp_path / "z.png")], "'Z'"),
        (["bad", "--ckpt", str(model_dir), "--out", str(tmp_path / "x.bmp")], "unknown output type"),
        (["bad", "--ckpt", str(model_dir), "--out", str(tmp_path)], "folder"),
        (["bad", "--ckpt", str(model_dir), "--ink", "notacolour", "--out",
          str(tmp_path / "i.png")], "--ink"),
    ]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases.append((["bad", "--ckpt", str(model_dir), "--out", str(blocker / "a.png")], "is a file, so no folder"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    assert main(["bad", "--out", str(tmp_path / "d.png"), "--dpi", "5"]) == 2
    assert "--dpi" in capsys.readouterr().err


def test_a_chars74k_writers_sheet_writes_in_their_own_glyphs(real_data, tmp_path):
    """A real person's letters (Chars74K writer 45) on a sheet, extracted, then written:
    each letter on the page correlates with one of their own glyphs at 0.75 or more."""
    from handsheet import make_hand

    from minigan.page import render_png
    from minigan.write import arrange, compose, load_hand

    with np.load(real_data("chars74k_hnd.npz")) as z:
        glyphs64 = (z["images64"], z["labels"], z["writers"])
    hand_file, _ = make_hand("DeartnhowyuA" + ",.?'", tmp_path, glyphs64=glyphs64, writer=45)
    hand = load_hand(str(hand_file))
    text = "Dear Ann, how are you? Don't worry."
    written = compose(text, hand, seed=2)
    pieces, lines = arrange(written, text, line_width=40.0, seed=2)
    page = np.asarray(render_png(pieces, lines, x_height=32, width=1400))
    scores = _own_glyph_scores(page, pieces, written, hand_file)
    assert all(w.own for w in written) and min(scores)[0] >= 0.75, sorted(scores)[:5]


def test_match_tone_changes_grey_levels_only():
    """A soft drawn stroke takes the tone of a pen's (mostly full ink, a thin grey edge): the
    pixels keep their order and the paper stays paper, so the glyph's shape is the same."""
    from minigan.write import INK_FLOOR, ink_tone, match_tone

    rng = np.random.default_rng(0)
    pen = [np.where(rng.random((20, 16)) < 0.3, rng.choice([0.4, 1.0, 1.0, 1.0], (20, 16)), 0.0)
           .astype(np.float32) for _ in range(5)]
    tone = ink_tone(pen)
    assert tone[0] == pytest.approx(0.4) and tone[-1] == pytest.approx(1.0)
    soft = np.clip(rng.random((20, 16)) * 1.4 - 0.4, 0, 1).astype(np.float32) * 0.8
    out = match_tone(soft, tone)
    ink = soft > INK_FLOOR
    assert np.array_equal(out[~ink], soft[~ink])                        # paper untouched
    order = np.argsort(soft[ink], kind="stable")
    assert np.all(np.diff(out[ink][order]) >= 0)                        # same order of greys
    assert np.quantile(out[ink], 0.5) == pytest.approx(np.quantile(np.concatenate(
        [p[p > INK_FLOOR] for p in pen]), 0.5), abs=0.02)               # the pen's tone
    assert np.mean(out[ink] >= 0.99) > 0.6 > np.mean(soft[ink] >= 0.99)
    assert ink_tone([np.zeros((5, 5), np.float32)]) is None


def test_drawn_glyphs_take_the_tone_of_the_persons_ink_and_own_glyphs_keep_theirs(hand_file, model_dir):
    from minigan.write import INK_FLOOR, compose, prepare

    hand, generate = prepare("bAT", str(hand_file), ckpt=model_dir, steps=3, tune_steps=0,
                             log=lambda *_: None)
    assert hand.tone is not None and hand.tone[0] > INK_FLOOR and hand.tone[-1] == 1.0
    hand.stroke = None                                   # the tone alone
    plain = compose("bAT", Hand(**{**vars(hand), "tone": None}), generate, seed=2)
    hand.tone = np.minimum(np.linspace(0.25, 1.25, 33), 1.0)  # a pen: a quarter of it full ink
    toned = compose("bAT", hand, generate, seed=2)
    assert [w.own for w in toned] == [True, True, False]
    for a, b in zip(toned, plain):
        if a.own:
            assert np.array_equal(a.image, b.image)
        else:
            ink = b.image > INK_FLOOR
            assert np.array_equal(a.image > INK_FLOOR, ink)
            assert np.mean(a.image[ink] >= 0.999) == pytest.approx(0.25, abs=0.05)
            assert np.mean(b.image[ink] >= 0.999) < 0.15


def test_a_slanted_bracket_is_sized_by_its_height_not_squeezed_by_its_width():
    """A written '(' is a curve about half as wide as it is tall once slanted; its box must let
    it reach from the ascender to below the baseline, as every font's does, not shrink it to
    the size of a comma (the boxes once allowed 0.45 x-heights of width)."""
    from minigan.write import _scale, box

    crop = np.ones((20, 9), np.float32)              # 20 px tall, 9 px wide
    for char in "()[]{}":
        top, bottom, widest = box(char)
        assert _scale(crop, top - bottom, widest) * 20 == pytest.approx(top - bottom)


def _leaning_bar(lean: float, height: int = 24, width: int = 4, size: int = 40) -> np.ndarray:
    """float32 [size, size]: a bar `height` tall whose top sits `lean` x its height to the right
    of its foot (drawn row by row, with no shear of our own)."""
    a = np.zeros((size, size), np.float32)
    top = (size - height) // 2
    i, x = np.arange(height)[:, None], np.arange(size)[None, :]
    left = size // 2 - width // 2 + lean * (height - 1 - i) - lean * (height - 1) / 2
    a[top:top + height] = np.clip(np.minimum(x + 1 - left, left + width - x), 0, 1)
    return a


def test_slant_reads_a_lean_and_shear_adds_one():
    from minigan.write import ink_crop, shear, slant

    assert slant(_leaning_bar(0.0)) == pytest.approx(0.0, abs=0.01)
    assert slant(_leaning_bar(0.3)) == pytest.approx(0.3, abs=0.02)      # top to the right: +
    assert slant(_leaning_bar(-0.2)) == pytest.approx(-0.2, abs=0.02)
    upright = ink_crop(_leaning_bar(0.0))
    for amount in (0.3, -0.2):
        leaned = shear(upright, amount)
        assert slant(leaned) == pytest.approx(amount, abs=0.02)
        assert leaned.shape[0] == upright.shape[0]                        # height kept
        assert leaned.sum() == pytest.approx(upright.sum(), rel=0.02)     # ink kept
    assert shear(upright, 0.0) is upright
    assert slant(np.zeros((5, 5), np.float32)) == 0.0


def _bars(lean: float):
    """A stand-in style model that draws every character as the same leaning bar."""
    return lambda chars: np.repeat(_leaning_bar(lean)[None, None] * 2 - 1, len(chars), axis=0)


def test_drawn_glyphs_lean_as_the_persons_glyphs_do():
    """The person's glyphs lean 0.2 further right than the average hand's glyphs of those
    characters; a drawn glyph is given the same lean over the average hand's slant of its own
    character, and the person's own glyphs are left as they are. (The median taken as it is,
    lean_prior=0: how few glyphs are trusted is the next test's.)"""
    from minigan.write import SLANT_LIMIT, average_slants, compose, ink_crop, slant

    def hand(lean, chars="abcd"):
        return Hand({c: [ink_crop(_leaning_bar(lean))] for c in chars}, {c: [None] for c in chars})

    def drawn(*args, **kw):
        return [slant(w.image) for w in compose(*args, seed=0, lean_prior=0, **kw) if not w.own]

    upright = dict.fromkeys("abcdx", 0.0)
    person = hand(0.2)
    written = compose("ab x", person, _bars(0.0), seed=0, slants=upright, lean_prior=0)
    assert [w.own for w in written] == [True, True, False]
    assert slant(written[0].image) == pytest.approx(0.2, abs=0.02)
    assert slant(written[2].image) == pytest.approx(0.2, abs=0.02)
    # Measured character by character: the average hand's x leans 0.1 and the person's
    # letters lean 0.2 beyond the average's, so x is drawn at 0.3, whatever the model gave.
    for model in (0.1, 0.2, 0.3):
        assert drawn("ab x", person, _bars(model), slants={**upright, "x": 0.1}) == [pytest.approx(0.3, abs=0.02)]
    assert drawn("ab x", person, _bars(0.0), slants=upright, lean=False) == [pytest.approx(0.0, abs=0.02)]
    assert drawn("ab x", hand(0.2, "ab"), _bars(0.0), slants=upright) == [pytest.approx(0.0, abs=0.02)]
    assert drawn("ab x", person, _bars(0.0), slants=dict.fromkeys("ab", 0.0)) == [pytest.approx(0.0, abs=0.02)]
    assert drawn("ab x", hand(0.6), _bars(0.0), slants=upright) == [pytest.approx(SLANT_LIMIT, abs=0.02)]
    # By default the shipped table: the average hand of Chars74K's writers 0-44.
    table = average_slants()
    assert set(table) == set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    assert all(-0.4 < v < 0.4 for v in table.values())
    shipped = drawn("ab x", person, _bars(0.0))
    assert shipped == [pytest.approx(0.2 + table["x"] - np.median([table[c] for c in "abcd"]), abs=0.02)]


def test_the_shipped_slant_table_is_chars74k_writers_0_to_44s(real_data):
    from minigan.data import load_spec
    from minigan.write import average_slants, char_slants

    real_data("chars74k_hnd.npz")
    table = char_slants(load_spec("chars74k@0-44"))
    assert table == pytest.approx(average_slants(), abs=1e-5)
    # ... and the weight of the average hand's lean is told from the same writers' spread.
    from minigan.write import LEAN_PRIOR, lean_prior
    assert round(lean_prior(load_spec("chars74k@0-44"), table)) == LEAN_PRIOR


def test_a_lean_told_from_few_glyphs_is_trusted_less():
    """The person's median lean counts for n / (n + prior) of itself: with the average hand's
    lean worth 7 glyphs, 7 glyphs leaning 0.2 lean the drawn ones 0.1, 21 glyphs 0.15."""
    from minigan.write import compose, ink_crop, slant

    def drawn(n, prior):
        chars = "abcdefghijklmnopqrstu"[:n]
        person = Hand({c: [ink_crop(_leaning_bar(0.2))] for c in chars}, {c: [None] for c in chars})
        written = compose("x", person, _bars(0.0), seed=0, slants=dict.fromkeys(chars + "x", 0.0),
                          lean_prior=prior)
        return slant(written[0].image)

    assert drawn(7, 7.0) == pytest.approx(0.1, abs=0.02)
    assert drawn(21, 7.0) == pytest.approx(0.15, abs=0.02)
    assert drawn(7, 0.0) == pytest.approx(0.2, abs=0.02)


def test_lean_prior_is_the_glyph_wobble_over_the_writers_spread():
    """Planted: 300 writers whose true leans spread by 0.06, 30 glyphs each wobbling by 0.12
    about it. The weight is (pi / 2) 0.12^2 / 0.06^2 = 6.3 glyphs, within sampling error; with
    every writer leaning alike, no number of glyphs outweighs the average hand."""
    from minigan.data import GlyphDataset
    from minigan.write import lean_prior

    rng = np.random.default_rng(0)

    def planted(spread, n_writers=300, per=30):
        true = rng.normal(0, spread, n_writers)
        leans = true[:, None] + rng.normal(0, 0.12, (n_writers, per))
        images = np.stack([(_leaning_bar(float(v), size=48) * 255).astype(np.uint8)
                           for v in leans.ravel()])
        return GlyphDataset(images, np.zeros(len(images), np.int64), "a",
                            writers=np.repeat(np.arange(n_writers), per))

    assert lean_prior(planted(0.06), {"a": 0.0}) == pytest.approx(np.pi / 2 * 4, rel=0.25)
    assert lean_prior(planted(0.0), {"a": 0.0}) > 30
    with pytest.raises(ValueError, match="3 writers"):
        lean_prior(planted(0.06, n_writers=2), {"a": 0.0})

"""A person's handwriting as a TrueType font: fontTools reads it, Pillow draws it, it covers
printable ASCII, its metrics are the person's, and calt varies repeated letters."""
import numpy as np
import pytest

pytest.importorskip("fontTools", reason="fonts need the export extra (fontTools)")

from fontTools.ttLib import TTFont  # noqa: E402
from PIL import Image, ImageDraw, ImageFont, features  # noqa: E402

from minigan.font import PRINTABLE, calt_feature, glyph_name, main  # noqa: E402

ASCII = [chr(c) for c in range(32, 127)]


@pytest.fixture(scope="module")
def font_file(tmp_path_factory):
    """A font of a test person who wrote every printable ASCII character twice."""
    from handsheet import full_hand

    d = tmp_path_factory.mktemp("font")
    hand = full_hand(d / "mine.npz")
    out = d / "me.ttf"
    assert main(["--style", str(hand), "--out", str(out), "--name", "Test Hand"]) == 0
    return out


def _ink(image):
    return (np.asarray(image) < 128).sum()


def test_fonttools_reads_it_and_it_covers_printable_ascii(font_file):
    font = TTFont(font_file)
    cmap = font.getBestCmap()
    assert set(map(chr, cmap)) >= set(ASCII)
    assert font["name"].getDebugName(1) == "Test Hand"
    glyf = font["glyf"]
    for c in PRINTABLE:
        g = glyf[cmap[ord(c)]]
        assert g.numberOfContours > 0, c                      # every character has ink
        for k in (1, 2):
            assert glyph_name(c, k) in glyf                   # and two more versions
    widths = {font["hmtx"][cmap[ord(c)]][0] for c in "ilmwW.,"}
    assert len(widths) >= 5                                   # advances follow the glyphs


def test_the_accented_letters_are_built_on_the_persons_base_letters(font_file):
    """The test person wrote ASCII only; é, Ñ, ü and the rest of the 53 accented Latin-1
    letters are in the font all the same, each taller than its base letter (the mark)."""
    from minigan.diacritics import composable
    from minigan.font import LATIN1_LETTERS

    font = TTFont(font_file)
    cmap = font.getBestCmap()
    built = composable(LATIN1_LETTERS)
    assert len(built) == 53 and set(built) <= set(map(chr, cmap))
    glyf = font["glyf"]
    for accented, base in (("é", "e"), ("Ñ", "N"), ("ü", "u")):
        g, b = glyf[cmap[ord(accented)]], glyf[cmap[ord(base)]]
        g.recalcBounds(glyf), b.recalcBounds(glyf)
        assert g.yMax > b.yMax + 50, accented                   # the mark, above the letter


def test_pillow_draws_every_character(font_file):
    font = ImageFont.truetype(str(font_file), 48, layout_engine=ImageFont.Layout.BASIC)
    for c in PRINTABLE:
        img = Image.new("L", (80, 90), 255)
        ImageDraw.Draw(img).text((10, 5), c, font=font, fill=0)
        assert _ink(img) > 5, repr(c)
    line = Image.new("L", (900, 90), 255)
    ImageDraw.Draw(line).text((10, 5), "Hello, world! (It's 10:30.)", font=font, fill=0)
    assert _ink(line) > 500


def test_calt_cycles_the_alternates_of_a_repeated_letter(font_file):
    gsub = TTFont(font_file)["GSUB"].table
    tags = [r.FeatureTag for r in gsub.FeatureList.FeatureRecord]
    assert tags == ["calt"]
    if not features.check("raqm"):
        pytest.skip("Pillow has no raqm layout here: the calt lookups are checked with "
                    "fontTools above, their effect is not drawn")
    font = ImageFont.truetype(str(font_file), 60, layout_engine=ImageFont.Layout.RAQM)

    def draw(text, feats):
        img = Image.new("L", (700, 100), 255)
        ImageDraw.Draw(img).text((10, 5), text, font=font, fill=0, features=feats)
        return np.asarray(img)

    plain, varied = draw("aaaa", ["-calt"]), draw("aaaa", None)
    single = draw("a", None)
    assert not np.array_equal(plain, varied)
    # The first a is the default glyph either way; the cycle starts from the second one.
    width = np.flatnonzero((single < 128).any(axis=0)).max() + 2
    np.testing.assert_array_equal(varied[:, :width], single[:, :width])
    # Without calt the four a's are one glyph repeated: the ink splits into equal blocks.
    cols = np.flatnonzero((plain < 128).any(axis=0))
    assert len(set(np.diff(cols[np.r_[True, np.diff(cols) > 1]]))) <= 2


def test_calt_feature_code_cycles_every_alternate():
    code = calt_feature("ab", 3)
    assert "sub @calt1 @calt0' by @calt2;" in code and "sub @calt0 @calt0' by @calt1;" in code
    assert "uni0061.alt2" in code


def test_metrics_come_from_the_sheet_and_missing_characters_are_named(model_dir, tmp_path, capsys):
    from handsheet import make_hand

    from minigan.diacritics import decompose
    from minigan.font import LATIN1_LETTERS
    from minigan.write import load_hand

    hand_file, _ = make_hand("ADIHabdeghilnorstuwy,.?!'-", tmp_path)
    out = tmp_path / "me.ttf"
    args = ["--style", str(hand_file), "--ckpt", str(model_dir), "--out", str(out),
            "--steps", "2", "--tune-steps", "0", "--alternates", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "font: cannot write" in err and "#$%" in err and not out.exists()
    assert main(args + ["--skip-missing"]) == 0
    assert "left out" in capsys.readouterr().out
    font = TTFont(out)
    cmap = font.getBestCmap()
    written = set("ADIHabdeghilnorstuwy,.?!'-" + "T ")
    built = {c for c in LATIN1_LETTERS if decompose(c) and decompose(c)[0] in written}
    assert "é" in built and "Ñ" not in built                 # an N they never wrote, nor the model
    assert {chr(c) for c in cmap} == written | built
    os2, hand = font["OS/2"], load_hand(str(hand_file))
    assert os2.sCapHeight / os2.sxHeight == pytest.approx(hand.metrics.cap, rel=0.01)
    assert font["hhea"].descent < 0


def test_bad_outputs_and_names_are_refused(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "me.otf")]) == 2
    assert ".ttf" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "me.ttf"), "--name", "  "]) == 2
    assert "--name" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

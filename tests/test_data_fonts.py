"""Fonts as hands: coverage, normalisation like the real sets, all-capitals fonts, derived hands,
the spec's fonts@range*K and batch shares."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from minigan.data import GlyphDataset, load_spec
from minigan.data.fonts import FONT_CHARSET, MARK_BASELINE, PRINTABLE, is_all_caps, load_fonts, render_font
from minigan.data.hands import HAND_RANGES, draw_hands, mask_stroke_width, signed_distance, stroke_width
from minigan.data.spec import _PART, MixedBatches
from minigan.errors import UserError

DATA = os.environ.get("MINIGAN_DATA")
FONTS = Path(DATA) / "fonts" if DATA else None
needs_fonts = pytest.mark.skipif(not (FONTS and (FONTS / "fonts.json").is_file()),
                                 reason="MINIGAN_DATA with fonts/ is not available")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path / "cache"))


def _records():
    return {r["id"]: r for r in json.loads((FONTS / "fonts.json").read_text())}


def _render(font_id, **kw):
    return render_font(FONTS / "files" / _records()[font_id]["file"], **kw)


# ---------------------------------------------------------------- without data


def test_spec_grammar_reads_fonts_hands_and_shares():
    m = _PART.match("fonts@0-199*4%60")
    assert (m["name"], m["lo"], m["hi"], m["rep"], m["share"]) == ("fonts", "0", "199", "4", "60")
    m = _PART.match("chars74k@0-44%25.5")
    assert (m["name"], m["rep"], m["share"]) == ("chars74k", None, "25.5")
    assert _PART.match("mnist:train")["split"] == "train"


def test_distances_and_pen_width_on_a_planted_stroke():
    mask = np.zeros((40, 200), bool)
    mask[10:16, 10:190] = True  # a long bar 6 pixels thick
    assert mask_stroke_width(mask) == pytest.approx(6.0, abs=0.2)
    sdf = signed_distance(mask)
    assert np.array_equal(sdf > 0, mask)
    assert sdf[12, 100] == pytest.approx(2.5) and sdf[5, 100] == pytest.approx(-4.5)
    image = np.zeros((28, 28), np.uint8)
    image[8:20, 13:15] = 255  # a 2-pixel bar
    assert stroke_width(image) == pytest.approx(2.0, abs=0.3)


def test_hands_are_deterministic_distinct_and_in_range():
    a, b = draw_hands("caveat", 5, seed=0), draw_hands("caveat", 5, seed=0)
    assert a == b
    assert draw_hands("caveat", 3, seed=0) == a[:3]  # asking for more hands keeps the first ones
    assert a[0].slant == 0 and a[0].width == 1 and a[0].weight is None
    assert len({h.key() for h in a}) == 5
    assert draw_hands("caveat", 5, seed=1)[1:] != a[1:] and draw_hands("rock-salt", 5)[1:] != a[1:]
    for hand in a[1:]:
        for name, (lo, hi) in HAND_RANGES.items():
            assert lo <= getattr(hand, name) <= hi


def test_all_caps_rule():
    assert is_all_caps(1.0, 0.05) and not is_all_caps(1.5, 0.5) and not is_all_caps(1.05, 0.6)


def _tiny(path, n, label_count, writers):
    rng = np.random.default_rng(n)
    GlyphDataset(rng.integers(0, 255, (n, 28, 28), dtype=np.uint8), np.arange(n) % label_count,
                 "abc"[:label_count], np.arange(n) % writers).save(path)
    return str(path)


def test_shared_parts_fill_their_share_of_every_batch(tmp_path):
    big = _tiny(tmp_path / "big.npz", 3000, 3, 30)
    small = _tiny(tmp_path / "small.npz", 40, 2, 4)
    ds = load_spec(f"{big}+{small}%25")
    assert list(ds.meta["part_share"][1:]) == [25.0] and np.isnan(ds.meta["part_share"][0])
    sampler = MixedBatches(ds, 32)
    rng = np.random.default_rng(0)
    for _ in range(200):
        index = sampler(rng)
        assert len(index) == 32
        assert (ds.extra["part"][index] == 1).sum() == 8
    # Without a share, a 40-in-3040 part is missing from most batches of 32.
    plain = MixedBatches(load_spec(f"{big}+{small}"), 32)
    missing = sum((ds.extra["part"][plain(rng)] == 1).sum() == 0 for _ in range(200))
    assert missing > 100


def test_shares_that_overfill_a_batch_are_refused(tmp_path):
    a, b = _tiny(tmp_path / "a.npz", 50, 3, 5), _tiny(tmp_path / "b.npz", 50, 3, 5)
    with pytest.raises(UserError, match="add up to 120"):
        load_spec(f"{a}%60+{b}%60")
    with pytest.raises(UserError, match="raise --batch"):
        MixedBatches(load_spec(f"{a}%50+{b}%50"), 1)
    with pytest.raises(UserError, match="only means something beside other parts"):
        load_spec(f"{a}%50")


# ---------------------------------------------------------------- with the fonts


@needs_fonts
def test_coverage_matches_the_font_list():
    records = _records()
    for font_id in ["covered-by-your-grace", "gaegu", "herr-von-muellerhoff", "edu-au-vic-wa-nt-dots",
                    "caveat", "aguafina-script"]:
        out = _render(font_id)
        missing = "".join(c for c in out["missing"] if c in PRINTABLE)
        assert missing == records[font_id]["missing_ascii"], font_id
        assert set(out["chars"]) <= set(FONT_CHARSET) and len(out["images"]) == len(out["chars"])
        latin1 = sum(0xA1 <= ord(c) <= 0xFF for c in out["chars"])
        assert latin1 <= records[font_id]["latin1_covered"], font_id


@needs_fonts
def test_normalised_like_the_real_glyphs():
    real = np.load(Path(DATA) / "chars74k_hnd.npz")["images"]
    real_ink = real.reshape(len(real), -1).mean(axis=1)  # mean pixel per glyph
    for font_id in ["caveat", "aguafina-script", "patrick-hand-sc"]:
        out = _render(font_id)
        chars = out["chars"]
        letters = np.stack([im for c, im in zip(chars, out["images"]) if c.isalnum()])
        for im in letters:
            rows = np.flatnonzero((im > 25).any(axis=1))
            cols = np.flatnonzero((im > 25).any(axis=0))
            assert 18 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 22
            mass = im.astype(np.float64) / im.sum()
            cy, cx = mass.sum(axis=1) @ (np.arange(28) + 0.5), mass.sum(axis=0) @ (np.arange(28) + 0.5)
            assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0
        # The pen within the span of the real sets (Chars74K 1.6-2.0, MNIST 1.8-3.6).
        assert 1.4 <= np.median(stroke_width(letters)) <= 3.0, font_id
        ink = letters.reshape(len(letters), -1).mean(axis=1)
        assert np.percentile(real_ink, 5) <= np.median(ink) <= np.percentile(real_ink, 95), font_id


@needs_fonts
def test_marks_keep_their_size_and_height():
    out = _render("caveat")
    glyph = dict(zip(out["chars"], out["images"]))

    def ink_rows(c):
        rows = np.flatnonzero((glyph[c] > 60).any(axis=1))
        return rows[0], rows[-1]

    top, bottom = ink_rows(".")
    assert bottom - top < 6 and abs(bottom - MARK_BASELINE) <= 2  # small, on the baseline
    top, bottom = ink_rows("'")
    assert bottom < 14  # high
    top, bottom = ink_rows(",")
    assert bottom >= MARK_BASELINE - 1 and bottom - top < 10  # low, reaching below the baseline
    top, bottom = ink_rows("-")
    assert bottom - top < 6 and 8 < top < 22  # a short bar mid-height
    top, bottom = ink_rows("(")
    assert bottom - top >= 18  # taller than the capitals: fitted like a letter


@needs_fonts
def test_all_capitals_fonts_are_found():
    lower = "acemnorsuvwxzbdhklgpqy"
    for font_id, caps in [("rock-salt", True), ("amatic-sc", True), ("patrick-hand-sc", True),
                          ("delius-unicase", True), ("caveat", False), ("sedgwick-ave-display", False),
                          ("walter-turncoat", True)]:
        out = _render(font_id, chars=lower)
        assert is_all_caps(out["ascent"], out["descent"]) == caps, font_id


@needs_fonts
def test_fonts_spec_hands_and_cache():
    index = {r: i for i, r in enumerate(_records())}
    lo = index["patrick-hand-sc"]
    ds = load_fonts(lo, lo + 1, hands=3)
    assert ds.charset == FONT_CHARSET
    assert sorted(set(ds.writers)) == [3 * lo + k for k in range(6)]
    assert "patrick-hand-sc" in ds.meta["all_caps"]
    first = ds.writers == 3 * lo
    assert not any(c.islower() for c in np.array(list(ds.charset))[ds.labels[first]])  # small caps dropped
    again = load_fonts(lo, lo + 1, hands=3)  # from the cache
    assert np.array_equal(again.images, ds.images) and np.array_equal(again.labels, ds.labels)

    def glyphs(writer, chars="ABEGHKMRSW0123"):
        pick = {ds.charset[l]: im for l, im, w in zip(ds.labels, ds.images, ds.writers) if w == writer}
        return np.stack([pick[c] for c in chars]).astype(np.float64)

    def distance(a, b):
        return np.abs(glyphs(a) - glyphs(b)).mean()

    base, other_font = 3 * lo, 3 * (lo + 1)
    for k in (1, 2):
        assert distance(base, base + k) > 3  # a different hand...
        assert distance(base, base + k) < distance(base, other_font)  # ...of the same family
    spec = load_spec(f"fonts@{lo}-{lo + 1}*3+chars74k@0-1%25")
    assert spec.num_writers == 6 + 2 and set(spec.meta["parts"]) == {f"fonts@{lo}-{lo + 1}*3", "chars74k@0-1%25"}
    with pytest.raises(UserError, match="pick a range"):
        load_fonts(5, 100000)

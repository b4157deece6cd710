"""Accented letters built on a base letter (minigan.diacritics), and `write` using them."""
import numpy as np
import pytest

from minigan.diacritics import STROKES, accent, composable, decompose, dotless, draw_mark
from minigan.write import Hand, compose, drawn_as, unwritable


def _letter(h: int = 20, w: int = 10) -> np.ndarray:
    """A plain upright stem, ink 1, as a crop."""
    crop = np.zeros((h, w), np.float32)
    crop[:, w // 2 - 1:w // 2 + 1] = 1.0
    return crop


def test_decompose_finds_a_letter_and_its_mark_and_leaves_letters_of_their_own():
    assert decompose("é") == ("e", "\u0301")
    assert decompose("Ç") == ("C", "\u0327")
    assert decompose("ÿ") == ("y", "\u0308")
    for char in "eÆæßØøÐþ,1":
        assert decompose(char) is None, char
    latin1 = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
    # Every Latin-1 letter with a mark is built; the nine that are letters of their own are not.
    assert len(composable(latin1)) == len(latin1) - 9


@pytest.mark.parametrize("mark", sorted(STROKES))
def test_every_mark_draws_some_ink_within_its_size(mark):
    crop = draw_mark(mark, px_per_xh=20, pen=2.0)
    width, height = STROKES[mark][1]
    assert crop.max() > 0.5
    assert crop.shape[0] <= height * 20 + 2 * 2 + 2 and crop.shape[1] <= width * 20 + 2 * 2 + 2


def test_a_mark_above_sits_over_the_letter_and_a_cedilla_below_it():
    base = _letter()
    above, up, down = accent(base, "É", base_height=1.45, pen=0.1)
    assert up > 0 and down == 0
    extra = above.shape[0] - base.shape[0]
    assert above[:extra].max() > 0.5                         # the mark, in the new top rows
    np.testing.assert_array_equal(above[extra:, :base.shape[1]][:, 4:6], base[:, 4:6])
    below, up, down = accent(base, "Ç", base_height=1.45, pen=0.1)
    assert up == 0 and down > 0
    assert below[base.shape[0]:].max() > 0.5                 # the cedilla, under the letter
    # The mark is centred on the letter's top: shift the stem right and the mark follows.
    shifted = np.zeros((20, 16), np.float32)
    shifted[:, 12:14] = 1.0
    left, _, _ = accent(base, "Á", 1.45, 0.1)
    right, _, _ = accent(shifted, "Á", 1.45, 0.1)
    ink_col = lambda a: (a[:3].sum(0) * np.arange(a.shape[1])).sum() / a[:3].sum()   # noqa: E731
    assert ink_col(right) - ink_col(left) == pytest.approx(8, abs=1.5)


def test_an_i_loses_its_dot_before_it_takes_a_mark():
    i = _letter(22, 6)
    i[3:6] = 0.0            # the gap between dot and stem
    i[4, :] = 0.2           # and the dot's grey rim, which must go with it
    assert dotless(i)[:3].max() == 0 and dotless(i)[4].max() == 0 and dotless(i)[10].max() == 1
    built, up, _ = accent(i, "ï", base_height=1.35, pen=0.1)
    rows = np.flatnonzero(built.max(1) > 0.3)
    assert rows[0] == 0 and np.diff(rows).max() > 1          # two dots, a gap, then the stem
    no_dot = np.ones((10, 4), np.float32)
    np.testing.assert_array_equal(dotless(no_dot), no_dot)   # one blob: nothing is taken


def test_write_builds_accents_on_the_persons_own_base_letter_without_the_model():
    hand = Hand({"e": [_letter()], "E": [_letter()]}, {"e": [None], "E": [None]})
    assert drawn_as("é", hand.glyphs) is None and drawn_as("Æ", hand.glyphs) == "Æ"
    written = compose("éÉe", hand, generate=None)            # no model is needed for these
    assert [w.char for w in written] == ["é", "É", "e"]
    e_box, acute_box = written[2].box, written[0].box
    assert acute_box[0] > e_box[0] and acute_box[1] == e_box[1]
    assert written[0].image.shape[0] > written[2].image.shape[0]
    assert unwritable("é É Æ", hand, "0123456789") == "Æ"


def test_write_asks_the_model_for_the_base_letter_of_an_accent():
    asked = []

    def generate(chars):
        asked.append(chars)
        out = np.full((len(chars), 1, 16, 16), -1.0, np.float32)
        out[:, :, 3:13, 7:9] = 1.0
        return out

    written = compose("ñÑx", None, generate)
    assert asked == ["nNx"]
    assert [w.char for w in written] == ["ñ", "Ñ", "x"]
    assert unwritable("ñ", None, "abc") == "ñ" and unwritable("ñ", None, "n") == ""

"""A one-page letter from a person's own glyphs: composing it (cleaning, variants, stroke
matching), then drawing it as PNG, SVG (traced outlines) and PDF. No style model is involved:
fitting one is timed by the style benchmarks' own costs, not here.
Run: python -m pytest benchmarks/bench_letter.py --benchmark-only
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from handsheet import full_hand  # noqa: E402

from minigan import page  # noqa: E402
from minigan.write import arrange, compose, load_hand  # noqa: E402

LETTER = ("Dear Ann, thank you for the lovely parcel - it came on Tuesday, just in time. "
          "I'm keeping the blue scarf for the winter; is that all right? Write soon! ") * 6


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return load_hand(str(full_hand(tmp_path_factory.mktemp("hand") / "mine.npz")), log=None)


@pytest.mark.parametrize("kind", ["png", "svg", "pdf"])
def test_one_page_letter(benchmark, hand, kind, tmp_path):
    if kind == "pdf":
        pytest.importorskip("fpdf", reason="PDF pages need the export extra (fpdf2)")
    x_height = 13 if kind == "pdf" else 24
    width = 49.4 if kind == "pdf" else 48.0

    def run():
        written = compose(LETTER, hand, seed=0)
        pieces, lines = arrange(written, LETTER, line_width=width, seed=0)
        page.save(tmp_path / f"letter.{kind}", pieces, lines, x_height=x_height, ruled=True)
        return len(written), lines

    glyphs, lines = benchmark.pedantic(run, rounds=2, iterations=1)
    benchmark.extra_info.update(glyphs=glyphs, lines=lines)

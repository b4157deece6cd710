"""Drawing laid-out glyphs: PNG at a resolution, SVG outlines, PDF pages, and clear errors."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from minigan.errors import UserError
from minigan.page import (Piece, check_format, check_writable, parse_ink, pdf_lines_per_page,
                          render_pdf, render_png, render_svg, save)


def _ring(size=20):
    y, x = np.mgrid[0:size, 0:size]
    d = np.hypot(x - size / 2 + 0.5, y - size / 2 + 0.5)
    return ((d < size / 2 - 1) & (d > size / 4)).astype(np.float32)


def _pieces(lines=1, per_line=3):
    """Rings one x-height tall sitting on the baseline, spaced 1.5 x-heights apart."""
    img = _ring()
    return [Piece("o", img, 1.5 * i, 1.0, 1.0 / 20, row)
            for row in range(lines) for i in range(per_line)]


def test_png_puts_ink_where_the_pieces_are_and_scales_with_dpi():
    low = np.asarray(render_png(_pieces(), 1, x_height=20, width=200))
    high = np.asarray(render_png(_pieces(), 1, x_height=20, width=200, dpi=192))
    assert high.shape == (low.shape[0] * 2, low.shape[1] * 2)
    rows = np.flatnonzero((low < 128).any(axis=1))
    # Margin 20, first baseline 20 + 1.6 * 20 = 52: the rings span rows 32..52.
    assert rows.min() == pytest.approx(32, abs=1) and rows.max() == pytest.approx(51, abs=1)
    assert abs((high < 128).mean() - (low < 128).mean()) < 0.01


def test_png_ink_colour_and_ruled_lines():
    img = np.asarray(render_png(_pieces(), 1, x_height=20, width=200, ink=(0, 0, 128),
                                ruled=True))
    assert img.ndim == 3
    ink = img[(img[..., 2] > 100) & (img[..., 0] < 60)]
    assert len(ink) > 20                                     # navy strokes
    assert (img[52, 150:190] != 255).any(axis=-1).all()       # the rule under the line


def test_svg_is_one_closed_path_per_glyph_inside_the_page():
    svg = render_svg(_pieces(lines=2), 2, x_height=20, width=200)
    root = ET.fromstring(svg)
    paths = [e for e in root.iter() if e.tag.endswith("path")]
    assert len(paths) == 6
    height = float(root.get("height"))
    for p in paths:
        d = p.get("d")
        assert d.count("M") == 2 and d.count("Z") == 2       # a ring: outside and hole
        numbers = np.array(d.replace("M", " ").replace("Q", " ").replace("Z", " ").split(),
                           float).reshape(-1, 2)
        assert numbers[:, 0].min() >= 0 and numbers[:, 0].max() <= 200
        assert numbers[:, 1].min() >= 0 and numbers[:, 1].max() <= height


def test_pdf_pages_follow_the_number_of_lines():
    pytest.importorskip("fpdf", reason="PDF pages need the export extra (fpdf2)")
    per_page = pdf_lines_per_page("a4", 20.0, 4.0)
    assert per_page == int((297 - 40 - 1.6 * 4) // (2.8 * 4)) + 1
    one = render_pdf(_pieces(lines=per_page), per_page, x_height_mm=4.0)
    two = render_pdf(_pieces(lines=per_page + 1), per_page + 1, x_height_mm=4.0,
                     paper="letter", ruled=True)
    count = lambda data: data.count(b"/Type /Page") - data.count(b"/Type /Pages")  # noqa: E731
    assert one.startswith(b"%PDF") and count(one) == 1 and count(two) == 2
    assert b"612" in two                                    # Letter is 612 points wide


def test_output_types_colours_and_paths_are_checked(tmp_path):
    assert check_format("a.PNG") == ".png" and check_format("b.pdf") == ".pdf"
    for bad in ("letter.jpg", "letter"):
        with pytest.raises(UserError, match="unknown output type"):
            check_format(bad)
    with pytest.raises(UserError, match="folder"):
        check_writable(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="not a folder"):
        check_writable(tmp_path / "f" / "x.png")
    check_writable(tmp_path / "new" / "deeper" / "x.png")   # folders to be made are fine
    assert parse_ink("navy") == (0, 0, 128) and parse_ink("#102030") == (16, 32, 48)
    with pytest.raises(UserError, match="--ink"):
        parse_ink("blurple")


def test_save_writes_each_type_atomically(tmp_path):
    for ext in (".png", ".svg"):
        out = save(tmp_path / f"p{ext}", _pieces(), 1, x_height=20, width=200)
        assert out.stat().st_size > 100
    with pytest.raises(UserError):
        save(tmp_path / "p.gif", _pieces(), 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "p.svg"]

"""Tracing bitmap glyphs into smooth outlines: closed, correctly nested, and close to the ink."""
import numpy as np
import pytest
from PIL import Image

from minigan.data import builtin_glyphs
from minigan.trace import contours, quad_segments, render, signed_area, simplify, trace


def _disc(size=40, cx=20.0, cy=20.0, r=12.0, hole=0.0):
    y, x = np.mgrid[0:size, 0:size]
    d = np.hypot(x - cx, y - cy)
    return ((d <= r) & (d >= hole)).astype(np.float32)


def test_a_disc_is_one_clockwise_outline_of_its_area():
    outlines = trace(_disc(r=12.0))
    assert len(outlines) == 1
    assert signed_area(outlines[0]) > 0                    # clockwise on screen: outer
    # The smoothed curve's polygon is close to the disc's area (pi r^2 = 452).
    filled = render(outlines, 40, 40, scale=4).sum() / 16
    assert filled == pytest.approx(np.pi * 12 ** 2, rel=0.06)


def test_a_ring_has_a_hole_running_the_other_way():
    outlines = trace(_disc(r=14.0, hole=7.0))
    assert len(outlines) == 2
    areas = sorted(signed_area(o) for o in outlines)
    assert areas[0] < 0 < areas[1]
    filled = render(outlines, 40, 40, scale=4)
    assert filled[20 * 4, 20 * 4] == 0 and filled[20 * 4, 30 * 4] == 1   # hole open, ring ink


def test_glyph_outlines_cover_the_ink():
    ds = builtin_glyphs(n_writers=2, per_char=1)
    ious = []
    for g in ds.images[::3]:
        big = np.asarray(Image.fromarray(g.astype(np.float32) / 255).resize(
            (112, 112), Image.BICUBIC)) >= 0.5
        drawn = render(trace(g), 28, 28, scale=4).astype(bool)
        ious.append((big & drawn).sum() / (big | drawn).sum())
    assert np.median(ious) > 0.8 and min(ious) > 0.65, (np.median(ious), min(ious))


def test_empty_images_and_specks_give_no_outlines():
    assert trace(np.zeros((10, 10))) == []
    speck = np.zeros((20, 20), np.float32)
    speck[5, 5] = 1.0
    speck[10:16, 10:16] = 1.0
    assert len(trace(speck)) == 1                          # the lone pixel is dropped


def test_contours_are_closed_and_pass_through_the_level():
    img = _disc(r=6.0, size=16, cx=8, cy=8) * 0.8
    (poly,) = contours(img, 0.4)
    # Every vertex lies on a pixel edge, where linear interpolation gives the level.
    on_edge = np.isclose(poly % 1, 0).any(axis=1)
    assert on_edge.all()
    segments = list(quad_segments(simplify(poly, 0.3)))
    for (_, _, end), (start, _, _) in zip(segments, segments[1:] + segments[:1]):
        np.testing.assert_allclose(end, start)             # the curve is closed and unbroken

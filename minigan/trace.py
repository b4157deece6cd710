"""Bitmap glyph -> smooth vector outline, for SVG and PDF pages and TrueType fonts.

A glyph is a small grey image (ink bright). It is enlarged with a smooth filter, its outline at
half the ink level is found by marching squares (sub-pixel, from linear interpolation along
each cell edge), the outline's polygons are thinned out by Ramer-Douglas-Peucker, and the
remaining vertices become the control points of a closed quadratic B-spline: each curve runs
between the midpoints of two neighbouring vertices and bends towards the vertex between them.
That is exactly TrueType's outline model (all points off the curve, the on-curve points
implied halfway), so a font takes the points as they are, and SVG and PDF draw the same
curves.

Coordinates are image pixels of the original glyph, x to the right and y down. Outer outlines
run with the ink on the right-hand side in those coordinates (clockwise on screen) and holes
the other way, so a nonzero fill paints ink and leaves the holes open.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# Edges of a marching-squares cell, by the corners they join (corner order: top-left,
# top-right, bottom-right, bottom-left).
_T, _R, _B, _L = 0, 1, 2, 3

# For each corner pattern (bits: top-left 8, top-right 4, bottom-right 2, bottom-left 1),
# the edge pairs the outline crosses, and for each pair a corner that lies alone on one side
# of it (the side is read from whether that corner is ink). Saddles (5, 10) are listed for
# an ink centre first and an empty centre second.
_CUT_CORNER = {(_T, _L): 0, (_T, _R): 1, (_R, _B): 2, (_B, _L): 3, (_L, _R): 0, (_T, _B): 0}
_CASES = {
    1: [(_B, _L)], 14: [(_B, _L)], 2: [(_R, _B)], 13: [(_R, _B)],
    4: [(_T, _R)], 11: [(_T, _R)], 8: [(_T, _L)], 7: [(_T, _L)],
    3: [(_L, _R)], 12: [(_L, _R)], 6: [(_T, _B)], 9: [(_T, _B)],
}
_SADDLE = {5: ([(_T, _L), (_R, _B)], [(_T, _R), (_B, _L)]),
           10: ([(_T, _R), (_B, _L)], [(_T, _L), (_R, _B)])}

UPSAMPLE = 4          # the glyph is traced at this many times its size
SIMPLIFY = 0.35       # largest distance (original pixels) a simplified outline may stray
MIN_AREA = 1.5       # outlines enclosing less than this (square pixels) are specks: dropped


def contours(image: np.ndarray, level: float) -> list[np.ndarray]:
    """Closed outlines [k, 2] (x, y), each vertex a point where `image` crosses `level`,
    of the region image >= level. The image is padded with zeros first, so every outline
    closes; a vertex's coordinates are pixel centres of `image` (pixel (0, 0) is at 0, 0)."""
    f = np.pad(np.asarray(image, np.float64), 1)                     # [h, w] padded
    h, w = f.shape
    inside = f >= level
    corners = [inside[:-1, :-1], inside[:-1, 1:], inside[1:, 1:], inside[1:, :-1]]
    case = corners[0] * 8 + corners[1] * 4 + corners[2] * 2 + corners[3] * 1  # [h-1, w-1]
    centre = (f[:-1, :-1] + f[:-1, 1:] + f[1:, 1:] + f[1:, :-1]) / 4 >= level
    # Where the outline crosses every edge (used only where the ends differ). Horizontal edge
    # (y, x) joins pixels (y, x) and (y, x + 1) and has id y * (w - 1) + x; vertical edge
    # (y, x) joins (y, x) and (y + 1, x) and has id h * (w - 1) + y * w + x.
    with np.errstate(divide="ignore", invalid="ignore"):
        th = np.nan_to_num((level - f[:, :-1]) / (f[:, 1:] - f[:, :-1]), nan=0.5)
        tv = np.nan_to_num((level - f[:-1, :]) / (f[1:, :] - f[:-1, :]), nan=0.5)
    yh, xh = np.mgrid[0:h, 0:w - 1]
    yv, xv = np.mgrid[0:h - 1, 0:w]
    points = np.concatenate([np.column_stack([(xh + th).ravel(), yh.ravel()]),
                             np.column_stack([xv.ravel(), (yv + tv).ravel()])]) - 1.0
    n_h = h * (w - 1)
    cy, cx = np.mgrid[0:h - 1, 0:w - 1]
    edge_id = {_T: cy * (w - 1) + cx, _B: (cy + 1) * (w - 1) + cx,
               _L: n_h + cy * w + cx, _R: n_h + cy * w + cx + 1}
    corner_xy = ((0, 0), (1, 0), (1, 1), (0, 1))
    starts, ends = [], []
    for c in range(1, 15):
        options = ([(_CASES[c], None)] if c in _CASES
                   else [(_SADDLE[c][0], True), (_SADDLE[c][1], False)])
        for pairs, centre_ink in options:
            mask = case == c
            if centre_ink is not None:
                mask &= centre == centre_ink
            if not mask.any():
                continue
            for pair in pairs:
                e0, e1 = edge_id[pair[0]][mask], edge_id[pair[1]][mask]
                p0, p1 = points[e0], points[e1]
                k = _CUT_CORNER[pair]
                ref = np.column_stack([cx[mask] + corner_xy[k][0], cy[mask] + corner_xy[k][1]]) - 1.0
                d, r = p1 - p0, ref - p0
                cross = d[:, 0] * r[:, 1] - d[:, 1] * r[:, 0]
                # Walk with the ink on the right (screen coordinates): an ink corner lies on
                # the right of p0 -> p1 where the cross product is positive with y down.
                flip = (cross > 0) != corners[k][mask]
                starts.append(np.where(flip, e1, e0))
                ends.append(np.where(flip, e0, e1))
    if not starts:
        return []
    following = dict(zip(np.concatenate(starts).tolist(), np.concatenate(ends).tolist()))
    outlines = []
    while following:
        first, key = following.popitem()
        loop = [first]
        while key != first and key in following:
            loop.append(key)
            key = following.pop(key)
        if len(loop) >= 3:
            outlines.append(points[loop])
    return outlines


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area; positive for an outline running clockwise on screen (y down)."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _rdp(points: np.ndarray, tol: float) -> np.ndarray:
    """Ramer-Douglas-Peucker on an open polyline [k, 2]: the fewest vertices within `tol`."""
    keep = np.zeros(len(points), bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = points[i], points[j]
        d = b - a
        seg = points[i + 1:j] - a
        norm = np.hypot(*d)
        dist = (np.abs(d[0] * seg[:, 1] - d[1] * seg[:, 0]) / norm if norm > 1e-12
                else np.hypot(seg[:, 0], seg[:, 1]))
        k = int(np.argmax(dist))
        if dist[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return points[keep]


def simplify(poly: np.ndarray, tol: float) -> np.ndarray:
    """A closed outline [k, 2] with fewer vertices, none of it more than `tol` away. It is cut
    at its first vertex and at the vertex farthest from it, and each half is simplified."""
    far = int(np.argmax(np.hypot(*(poly - poly[0]).T)))
    if far == 0:
        return poly[:1]
    first = _rdp(poly[:far + 1], tol)
    second = _rdp(np.vstack([poly[far:], poly[:1]]), tol)
    return np.vstack([first[:-1], second[:-1]])


def trace(image: np.ndarray, level: float = 0.5, upsample: int = UPSAMPLE,
          tol: float = SIMPLIFY, min_area: float = MIN_AREA) -> list[np.ndarray]:
    """Smooth outlines of a glyph: a list of closed quadratic B-splines, each its control
    points [k, 2] (x, y) in the glyph's pixels (see the module's docstring for how to draw
    them). `image` is [H, W], ink bright (any range); `level` is the share of its peak
    that counts as ink."""
    a = np.asarray(image, np.float32)
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0:
        return []
    h, w = a.shape
    big = np.asarray(Image.fromarray(a / peak).resize((w * upsample, h * upsample),
                                                      Image.BICUBIC), np.float32)
    out = []
    for poly in contours(big, level):
        # A pixel of the enlarged image covers 1/upsample of an original one; its centre
        # (i + 0.5) / upsample - 0.5 in original pixel-centre coordinates.
        poly = (poly + 0.5) / upsample - 0.5
        if abs(signed_area(poly)) < min_area:
            continue
        poly = simplify(poly, tol)
        if len(poly) >= 3:
            out.append(poly)
    return out


def quad_segments(points: np.ndarray):
    """A closed B-spline's pieces as (start, control, end) triples: the curves an SVG `Q` or
    a PDF path draws (the first start is where the path begins)."""
    mids = (points + np.roll(points, -1, axis=0)) / 2        # mids[i] between p[i] and p[i+1]
    for i in range(len(points)):
        yield mids[i - 1], points[i], mids[i]


def render(outlines: list[np.ndarray], height: int, width: int, scale: int = 1) -> np.ndarray:
    """Fill the outlines (nonzero rule) into a float [height*scale, width*scale] image in
    [0, 1]: how tests check a trace against the bitmap it came from."""
    from PIL import ImageDraw

    img = Image.new("L", (width * scale, height * scale), 0)
    mask = np.zeros((height * scale, width * scale), np.int32)
    for poly in outlines:
        pts = []
        for p0, c, p1 in quad_segments(poly):
            for t in np.linspace(0, 1, 6)[:-1]:
                q = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t ** 2 * p1
                pts.append(tuple((q + 0.5) * scale))
        one = Image.new("L", img.size, 0)
        ImageDraw.Draw(one).polygon(pts, fill=1)
        mask += np.asarray(one, np.int32) * (1 if signed_area(poly) > 0 else -1)
    return (mask > 0).astype(np.float32)

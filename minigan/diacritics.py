"""Accented letters built the way a type designer builds most of them: the base letter, in the
person's hand, with the mark set above it (or, for a cedilla, below).

A style model draws an accent as 2-3 pixels of a 32-pixel glyph, and a style fitted to a
person's 0-9, A-Z and a-z has never seen one: in such styles most capitals came out without
their accent (docs/experiments.md, "A letter needs commas and accents"). The letter itself
the person wrote, or the model draws well; the mark is a pen stroke or two. So `write` takes
the letter (their own glyph where they wrote it, else the model's) and draws the mark with a
pen of their stroke width.

A crop here is what `minigan.write` works with: float32 [h, w], ink in [0, 1], cropped to the
ink. Coordinates in a mark's strokes are in a unit box, x to the right and y down.
"""
from __future__ import annotations

import unicodedata

import numpy as np
from PIL import Image, ImageDraw

from .data.transforms import connected_components

# The combining marks drawn, as polylines in a unit box (x right, y down), and the mark's
# (width, height) in x-heights. A dot is a polyline of one point.
STROKES = {
    "\u0300": ([[(0.15, 0.0), (0.85, 1.0)]], (0.4, 0.38)),                        # grave
    "\u0301": ([[(0.85, 0.0), (0.15, 1.0)]], (0.4, 0.38)),                        # acute
    "\u0302": ([[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)]], (0.62, 0.36)),              # circumflex
    "\u0303": ([[(0.0, 0.75), (0.2, 0.1), (0.45, 0.2), (0.6, 0.75), (0.8, 0.85),
                 (1.0, 0.2)]], (0.68, 0.26)),                                     # tilde
    "\u0308": ([[(0.1, 0.5)], [(0.9, 0.5)]], (0.5, 0.15)),                        # diaeresis
    "\u030a": ([[(0.5 + 0.5 * np.cos(t), 0.5 + 0.5 * np.sin(t))
                 for t in np.linspace(0, 2 * np.pi, 17)]], (0.4, 0.4)),           # ring
    "\u0327": ([[(0.45, 0.0), (0.55, 0.35), (0.95, 0.55), (0.75, 0.95), (0.1, 1.0)]],
               (0.28, 0.32)),                                                     # cedilla
}
BELOW = {"\u0327"}
GAP = 0.1   # x-heights between the letter and its mark
DOT = 1.5   # a dot's width, in pen widths: a pen pressed down for a dot leaves more than a line


def decompose(char: str) -> tuple[str, str] | None:
    """(base letter, combining mark) when `char` is an ASCII letter with one mark drawn here
    ('é' -> ('e', U+0301)); None otherwise (Æ, ß, ø and the like are letters of their own)."""
    parts = unicodedata.normalize("NFD", char)
    if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and parts[1] in STROKES:
        return parts[0], parts[1]
    return None


def composable(chars: str) -> str:
    """The characters of `chars` that `accent` can build."""
    return "".join(c for c in chars if decompose(c))


def dotless(crop: np.ndarray) -> np.ndarray:
    """An i or j without its dot: the blobs of ink wholly in the crop's top 40% are removed
    (the dot), unless that would remove all the ink."""
    labels, count = connected_components(crop > 0.3)
    if count < 2:
        return crop
    top = int(0.4 * crop.shape[0])
    keep = crop.copy()
    for k in range(1, count + 1):
        rows = np.flatnonzero((labels == k).any(axis=1))
        if rows[-1] < top:
            keep[labels == k] = 0.0
    strong = np.flatnonzero((keep > 0.3).any(axis=1))
    if not strong.size:
        return crop
    keep[:max(strong[0] - 1, 0)] = 0.0      # and the dot's grey rim
    return keep


def draw_mark(mark: str, px_per_xh: float, pen: float, rng: np.random.Generator | None = None,
              scale: int = 4) -> np.ndarray:
    """The mark as a crop: its strokes drawn with a round pen `pen` pixels wide, at
    `px_per_xh` pixels per x-height; rng, when given, jitters each point a little (a hand
    never makes one mark twice alike)."""
    strokes, (w_xh, h_xh) = STROKES[mark]
    pen = max(float(pen), 1.0)
    w, h = max(w_xh * px_per_xh, 1.0), max(h_xh * px_per_xh, 1.0)
    margin = pen
    size = (int(np.ceil((w + 2 * margin) * scale)), int(np.ceil((h + 2 * margin) * scale)))
    image = Image.new("L", size, 0)
    ink = ImageDraw.Draw(image)
    radius = pen * scale / 2
    for line in strokes:
        points = np.array(line, np.float64)
        if rng is not None:
            points = points + rng.normal(0, 0.04, points.shape)
        xy = [((margin + x * w) * scale, (margin + y * h) * scale) for x, y in points]
        if len(xy) > 1:
            ink.line(xy, fill=255, width=max(int(round(pen * scale)), 1), joint="curve")
        r = radius if len(xy) > 1 else DOT * radius   # round ends and joints, or a dot
        for x, y in xy:
            ink.ellipse((x - r, y - r, x + r, y + r), fill=255)
    small = image.resize((max(size[0] // scale, 1), max(size[1] // scale, 1)), Image.BOX)
    crop = np.asarray(small, np.float32) / 255.0
    rows, cols = np.flatnonzero(crop.max(1) > 0.05), np.flatnonzero(crop.max(0) > 0.05)
    return crop[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] if rows.size else crop


def accent(base: np.ndarray, char: str, base_height: float, pen: float,
           rng: np.random.Generator | None = None) -> tuple[np.ndarray, float, float]:
    """(crop, above, below): `char` built from `base`, the crop of its base letter, which spans
    `base_height` x-heights (its box's top minus bottom in minigan.write), and how far the
    built glyph reaches above the base's top and below its bottom, in x-heights. pen: the
    stroke width in x-heights (the person's, or the base letter's own)."""
    parts = decompose(char)
    if parts is None:
        raise ValueError(f"{char!r} is not a letter with a mark that can be composed")
    letter, mark = parts
    base = np.asarray(base, np.float32)
    full = base.shape[0]                    # rows of the letter as given (an i with its dot)
    px_per_xh = full / max(base_height, 1e-3)
    if letter in "ij":
        base = dotless(base)
        rows = np.flatnonzero(base.max(1) > 0.05)
        base = base[rows[0]:rows[-1] + 1]
    h, w = base.shape
    m = draw_mark(mark, px_per_xh, pen * px_per_xh, rng)
    gap = int(round(GAP * px_per_xh))
    below = mark in BELOW
    # The mark sits over the middle of the letter's ink where it is near: its top rows for a
    # mark above (a slanted letter's top is off centre), its bottom rows for one below.
    band = base[: max(h // 3, 1)] if not below else base[-max(h // 3, 1):]
    weight = band.sum(0)
    centre = float((weight * np.arange(w)).sum() / weight.sum()) if weight.sum() > 0 else w / 2
    if below:
        centre = w / 2 + 0.5 * (centre - w / 2)
        gap = -max(int(round(0.12 * m.shape[0])), 1)                # a cedilla hangs from the letter
    left = int(round(centre - m.shape[1] / 2))
    x0 = min(0, left)
    width = max(w, left + m.shape[1]) - x0
    height = h + m.shape[0] + gap
    out = np.zeros((height, width), np.float32)
    by = 0 if below else m.shape[0] + gap                              # base top row
    my = h + gap if below else 0                                       # mark top row
    out[by:by + h, -x0:-x0 + w] = base
    region = out[my:my + m.shape[0], left - x0:left - x0 + m.shape[1]]
    np.maximum(region, m, out=region)
    if below:
        return out, 0.0, (height - h) / px_per_xh
    return out, (height - full) / px_per_xh, 0.0      # from the given letter's top (an i's dot)

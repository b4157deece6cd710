"""Families of hands from one typeface: slant, width and stroke weight drawn once per hand.

A typeface is one consistent hand. Drawing a few global traits per derived hand (how far it
leans, how wide it runs, how heavy the pen is) and applying them to every glyph of the font
gives a family of related hands, each internally consistent, that a style model can tell
apart. The traits are drawn deterministically from (seed, font id, hand index), so the same
spec always gives the same hands, whichever fonts are loaded beside them.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numba import njit

from .transforms import resize_to

# Pen width in output pixels (28 x 28, the glyph's longer side fitted to 20 px), measured with
# `stroke_width`: Chars74K's fixed pen gives 1.75 (10th-90th percentile of glyphs 1.6-2.0, the
# same for every character and writer); MNIST's glyphs span 1.8-3.6 (median 2.5).
REAL_STROKE = 1.75

# Ranges of the derived hands' traits, drawn uniformly. Slant is a shear in radians on top of
# the typeface's own (positive leans right); width scales x before normalisation; weight is
# the pen width in output pixels, spanning the real sets' range above.
HAND_RANGES = {
    "slant": (-0.2, 0.3),
    "width": (0.8, 1.25),
    "weight": (1.4, 3.0),
}


@dataclass(frozen=True)
class Hand:
    """The global traits one derived hand applies to every glyph of its typeface."""

    slant: float = 0.0  # extra shear, radians; positive leans right
    width: float = 1.0  # horizontal scale before normalisation
    weight: float | None = None  # pen width in output pixels; None keeps the typeface's own

    def key(self) -> str:
        """A short stable name for cache files."""
        weight = "font" if self.weight is None else f"{self.weight:.3f}"
        return f"s{self.slant:+.3f}_w{self.width:.3f}_p{weight}"


def draw_hands(font_id: str, count: int, seed: int = 0) -> list[Hand]:
    """`count` hands of one typeface: the first as designed, the others with drawn traits.

    Each derived hand's traits come from its own generator seeded by (seed, font id, index),
    so hand k of a font does not change when more hands or other fonts are asked for.
    """
    if count < 1:
        raise ValueError(f"{font_id}: a typeface gives at least one hand, not {count}")
    hands = [Hand()]
    salt = zlib.crc32(font_id.encode("utf-8"))
    for k in range(1, count):
        rng = np.random.default_rng([seed, salt, k])
        traits = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in HAND_RANGES.items()}
        hands.append(Hand(**traits))
    return hands


# ---------------------------------------------------------------- the pen: distances and weight


@njit(cache=True)
def _parabolas(f, d, v, z):
    """Squared distance along one line (Felzenszwalb & Huttenlocher): d[q] = min_p (q-p)^2 + f[p]."""
    n = len(f)
    k = 0
    v[0] = 0
    z[0] = -np.inf
    z[1] = np.inf
    for q in range(1, n):
        s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
        while s <= z[k]:
            k -= 1
            s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = np.inf
    k = 0
    for q in range(n):
        while z[k + 1] < q:
            k += 1
        d[q] = (q - v[k]) ** 2 + f[v[k]]


@njit(cache=True)
def distance_inside(mask, border_false=True):
    """Euclidean distance of every True pixel to the nearest False one (0 on False pixels).

    Exact, in two passes of 1-D lower envelopes (columns, then rows). With border_false the
    pixels just past the image border count as False, otherwise as True (then a mask with no
    False pixel gets huge distances).
    """
    h, w = mask.shape
    far = float((h + w + 2) ** 2)
    edge = 0.0 if border_false else far
    n = max(h, w) + 2
    f = np.empty(n)
    d = np.empty(n)
    v = np.empty(n, np.int64)
    z = np.empty(n + 1)
    cols = np.empty((h, w))
    for j in range(w):
        f[0] = edge
        for i in range(h):
            f[i + 1] = far if mask[i, j] else 0.0
        f[h + 1] = edge
        _parabolas(f[: h + 2], d[: h + 2], v, z)
        for i in range(h):
            cols[i, j] = d[i + 1]
    out = np.empty((h, w), np.float32)
    for i in range(h):
        f[0] = edge
        for j in range(w):
            f[j + 1] = cols[i, j]
        f[w + 1] = edge
        _parabolas(f[: w + 2], d[: w + 2], v, z)
        for j in range(w):
            out[i, j] = np.sqrt(d[j + 1])
    return out


def signed_distance(mask: np.ndarray, inside: np.ndarray | None = None) -> np.ndarray:
    """Distance to the ink's edge, positive inside and negative outside; float32 [H,W].

    The edge is taken half a pixel beyond the outermost ink pixel centres, so thresholding the
    result at 0 gives the mask back. `inside` (distance_inside(mask)) may be passed when known.
    """
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    if inside is None:
        inside = distance_inside(mask)
    outside = distance_inside(~mask, False)
    return np.where(mask, inside - 0.5, 0.5 - outside).astype(np.float32)


def mask_stroke_width(mask: np.ndarray, inside: np.ndarray | None = None) -> float:
    """Pen width of a binary glyph in pixels: 4 x the mean inside distance, less 2.

    Across a stroke n pixels wide the inside distances run 1, 2, .., n/2, .., 2, 1, whose mean is
    (n/2 + 1)/2, so the estimate is exact for long straight strokes and close for curves; NaN
    for an empty mask. `inside` (distance_inside(mask)) may be passed when known.
    """
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    if not mask.any():
        return float("nan")
    if inside is None:
        inside = distance_inside(mask)
    return float(4.0 * inside[mask].mean() - 2.0)


def stroke_width(images: np.ndarray, upsample: int = 4) -> np.ndarray:
    """Pen width in pixels of each uint8 glyph [N,H,W] (or one [H,W]); float [N] (or a float).

    Each glyph is enlarged `upsample` times (bilinear), cut at half intensity and measured with
    `mask_stroke_width`, so anti-aliased 28 x 28 glyphs of any set are measured alike.
    """
    a = np.asarray(images)
    single = a.ndim == 2
    a = a[None] if single else a
    h, w = a.shape[1:]
    big = resize_to(a.astype(np.float32), h * upsample, w * upsample)  # [N, H*u, W*u]
    out = np.array([mask_stroke_width(b > 127.5) / upsample for b in big])
    return float(out[0]) if single else out


def reweigh(sdf: np.ndarray, grow: float) -> np.ndarray:
    """Ink coverage in 0..1 from a glyph's signed distance [H,W] (`signed_distance`), every edge
    moved outwards by `grow` pixels (inwards when negative): a heavier or lighter pen along the
    same path, anti-aliased over one pixel. Pad the glyph by more than `grow` first."""
    return np.clip(sdf + grow + 0.5, 0.0, 1.0).astype(np.float32)

"""Built-in multi-writer handwriting: 0-9, A-Z, a-z drawn procedurally from stroke skeletons.

Each character is a few pen strokes (control points in em units: baseline y=0, x-height 0.55,
cap height 1, descenders to -0.4). A writer is a set of style factors (slant, width, height,
stroke width, roundness, jitter, letterform variants); every copy adds its own small
deformations, the way no person writes a letter twice the same. Strokes are smoothed by corner
cutting (rounder writers cut more) and rasterised with anti-aliasing in a numba kernel.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .dataset import CHARSET_62, GlyphDataset

X = 0.55  # x-height
D = -0.4  # descender depth


def _arc(cx, cy, rx, ry, a0, a1, n=9):
    """Points along an ellipse from angle a0 to a1 (degrees, counter-clockwise, y up)."""
    t = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


def _ring(cx, cy, rx, ry, start=90):
    """A closed ellipse starting (and ending) at `start` degrees, drawn counter-clockwise."""
    return _arc(cx, cy, rx, ry, start, start + 360, 9)


def _scaled(strokes, sx, sy, dy=0.0):
    return [[(x * sx, y * sy + dy) for x, y in s] for s in strokes]


# Capitals that lowercase letters copy at x-height.
_S = [[(0.58, 0.88), (0.42, 1.0), (0.17, 0.97), (0.05, 0.8), (0.17, 0.6), (0.42, 0.48), (0.6, 0.3),
       (0.52, 0.06), (0.27, 0.0), (0.03, 0.12)]]
_V = [[(0.0, 1.0), (0.33, 0.0)], [(0.33, 0.0), (0.66, 1.0)]]
_W = [[(0.0, 1.0), (0.2, 0.0)], [(0.2, 0.0), (0.42, 0.72)], [(0.42, 0.72), (0.64, 0.0)], [(0.64, 0.0), (0.86, 1.0)]]
_X = [[(0.02, 1.0), (0.62, 0.0)], [(0.62, 1.0), (0.02, 0.0)]]
_Z = [[(0.02, 1.0), (0.62, 1.0)], [(0.62, 1.0), (0.02, 0.0)], [(0.02, 0.0), (0.64, 0.0)]]
_ZBAR = [[(0.12, 0.5), (0.52, 0.5)]]
_BOWL = [(0.45, 0.42), (0.3, 0.55), (0.1, 0.47), (0.02, 0.26), (0.1, 0.05), (0.28, 0.0), (0.46, 0.14)]
_DOT = lambda x: [(x, 0.8), (x + 0.015, 0.82)]  # noqa: E731 - a dot is a tiny stroke
_P_BOWL = [(0.05, 1.0), (0.4, 1.0), (0.57, 0.88), (0.57, 0.64), (0.4, 0.52), (0.05, 0.52)]
_HUMP = lambda x0, w: [(x0, 0.36), (x0 + 0.3 * w, 0.53), (x0 + 0.62 * w, 0.55),  # noqa: E731
                       (x0 + 0.92 * w, 0.42), (x0 + w, 0.0)]

# Character -> list of letterform variants -> list of strokes -> control points.
# Sharp corners are where one stroke ends and the next begins; within a stroke the pen curves.
SKELETONS: dict[str, list[list[list[tuple[float, float]]]]] = {
    "0": [[_ring(0.27, 0.5, 0.25, 0.5)]],
    "1": [[[(0.1, 0.78), (0.32, 1.0)], [(0.32, 1.0), (0.32, 0.0)]],
          [[(0.1, 0.78), (0.32, 1.0)], [(0.32, 1.0), (0.32, 0.0)], [(0.1, 0.0), (0.54, 0.0)]]],
    "2": [[[(0.04, 0.76), (0.14, 0.94), (0.32, 1.0), (0.5, 0.93), (0.56, 0.74), (0.44, 0.5), (0.02, 0.0)],
           [(0.02, 0.0), (0.62, 0.0)]]],
    "3": [[[(0.05, 0.9), (0.25, 1.0), (0.47, 0.96), (0.53, 0.79), (0.42, 0.61), (0.22, 0.55)],
           [(0.22, 0.55), (0.45, 0.5), (0.58, 0.3), (0.5, 0.07), (0.28, 0.0), (0.04, 0.1)]]],
    "4": [[[(0.44, 1.0), (0.02, 0.3)], [(0.02, 0.3), (0.64, 0.3)], [(0.44, 1.0), (0.44, 0.0)]],
          [[(0.1, 1.0), (0.05, 0.38)], [(0.05, 0.38), (0.64, 0.38)], [(0.46, 0.75), (0.46, 0.0)]]],
    "5": [[[(0.56, 1.0), (0.12, 1.0)], [(0.12, 1.0), (0.08, 0.56)],
           [(0.08, 0.56), (0.3, 0.63), (0.52, 0.52), (0.58, 0.27), (0.44, 0.04), (0.2, 0.0), (0.03, 0.1)]]],
    "6": [[[(0.52, 0.95), (0.32, 1.0), (0.13, 0.78), (0.04, 0.42), (0.1, 0.1), (0.3, 0.0), (0.5, 0.1),
            (0.56, 0.3), (0.46, 0.5), (0.26, 0.53), (0.07, 0.36)]]],
    "7": [[[(0.02, 1.0), (0.6, 1.0)], [(0.6, 1.0), (0.2, 0.0)]],
          [[(0.02, 1.0), (0.6, 1.0)], [(0.6, 1.0), (0.2, 0.0)], [(0.18, 0.5), (0.56, 0.5)]]],
    "8": [[_ring(0.3, 0.77, 0.2, 0.23, -90), _ring(0.3, 0.27, 0.26, 0.27, 90)]],
    "9": [[_ring(0.3, 0.73, 0.25, 0.27, 0), [(0.55, 0.73), (0.53, 0.35), (0.44, 0.0)]]],
    "A": [[[(0.0, 0.0), (0.36, 1.0)], [(0.36, 1.0), (0.72, 0.0)], [(0.15, 0.4), (0.58, 0.4)]]],
    "B": [[[(0.05, 0.0), (0.05, 1.0)], _P_BOWL,
           [(0.05, 0.52), (0.42, 0.52), (0.62, 0.4), (0.62, 0.12), (0.42, 0.0), (0.05, 0.0)]]],
    "C": [[_arc(0.38, 0.5, 0.36, 0.5, 50, 310)]],
    "D": [[[(0.05, 0.0), (0.05, 1.0)],
           [(0.05, 1.0), (0.36, 0.97), (0.62, 0.76), (0.64, 0.3), (0.4, 0.03), (0.05, 0.0)]]],
    "E": [[[(0.05, 1.0), (0.05, 0.0)], [(0.05, 1.0), (0.56, 1.0)], [(0.05, 0.52), (0.44, 0.52)],
           [(0.05, 0.0), (0.58, 0.0)]]],
    "F": [[[(0.05, 1.0), (0.05, 0.0)], [(0.05, 1.0), (0.56, 1.0)], [(0.05, 0.52), (0.44, 0.52)]]],
    "G": [[_arc(0.38, 0.5, 0.36, 0.5, 50, 330), [(0.69, 0.25), (0.7, 0.46)], [(0.7, 0.46), (0.42, 0.46)]]],
    "H": [[[(0.05, 0.0), (0.05, 1.0)], [(0.62, 0.0), (0.62, 1.0)], [(0.05, 0.5), (0.62, 0.5)]]],
    "I": [[[(0.3, 0.0), (0.3, 1.0)], [(0.08, 1.0), (0.52, 1.0)], [(0.08, 0.0), (0.52, 0.0)]]],
    "J": [[[(0.18, 1.0), (0.66, 1.0)], [(0.46, 1.0), (0.46, 0.26), (0.36, 0.03), (0.16, 0.0), (0.03, 0.16)]]],
    "K": [[[(0.05, 0.0), (0.05, 1.0)], [(0.56, 1.0), (0.05, 0.42)], [(0.22, 0.6), (0.62, 0.0)]]],
    "L": [[[(0.05, 1.0), (0.05, 0.0)], [(0.05, 0.0), (0.56, 0.0)]]],
    "M": [[[(0.0, 0.0), (0.05, 1.0)], [(0.05, 1.0), (0.41, 0.3)], [(0.41, 0.3), (0.77, 1.0)],
           [(0.77, 1.0), (0.82, 0.0)]]],
    "N": [[[(0.05, 0.0), (0.05, 1.0)], [(0.05, 1.0), (0.62, 0.0)], [(0.62, 0.0), (0.62, 1.0)]]],
    "O": [[_ring(0.4, 0.5, 0.39, 0.5)]],
    "P": [[[(0.05, 0.0), (0.05, 1.0)], _P_BOWL]],
    "Q": [[_ring(0.4, 0.5, 0.39, 0.5), [(0.46, 0.22), (0.8, -0.08)]]],
    "R": [[[(0.05, 0.0), (0.05, 1.0)], _P_BOWL, [(0.26, 0.52), (0.62, 0.0)]]],
    "S": [_S],
    "T": [[[(0.0, 1.0), (0.68, 1.0)], [(0.34, 1.0), (0.34, 0.0)]]],
    "U": [[[(0.05, 1.0), (0.05, 0.3), (0.15, 0.04), (0.34, 0.0), (0.53, 0.05), (0.63, 0.3), (0.63, 1.0)]]],
    "V": [_V],
    "W": [_W],
    "X": [_X],
    "Y": [[[(0.0, 1.0), (0.34, 0.5)], [(0.68, 1.0), (0.34, 0.5)], [(0.34, 0.5), (0.34, 0.0)]]],
    "Z": [_Z, _Z + _ZBAR],
    "a": [[_BOWL, [(0.48, X), (0.48, 0.08), (0.56, 0.0)]],
          [[(0.08, 0.45), (0.25, X), (0.43, 0.5), (0.47, 0.3), (0.47, 0.0)],
           [(0.47, 0.3), (0.2, 0.28), (0.04, 0.15), (0.14, 0.0), (0.34, 0.02), (0.47, 0.12)]]],
    "b": [[[(0.05, 1.0), (0.05, 0.0)],
           [(0.05, 0.3), (0.2, 0.52), (0.4, 0.53), (0.54, 0.3), (0.46, 0.06), (0.25, 0.0), (0.05, 0.06)]]],
    "c": [[_arc(0.28, 0.275, 0.26, 0.275, 45, 315)]],
    "d": [[_BOWL, [(0.48, 1.0), (0.48, 0.0)]]],
    "e": [[[(0.05, 0.28), (0.5, 0.3), (0.46, 0.49), (0.28, X), (0.08, 0.46), (0.02, 0.22), (0.14, 0.03),
            (0.32, 0.0), (0.5, 0.08)]]],
    "f": [[[(0.56, 0.92), (0.46, 1.0), (0.3, 0.96), (0.25, 0.76), (0.25, 0.0)], [(0.04, 0.52), (0.48, 0.52)]],
          [[(0.56, 0.92), (0.46, 1.0), (0.3, 0.96), (0.25, 0.76), (0.25, -0.2), (0.15, -0.38), (0.02, -0.32)],
           [(0.04, 0.52), (0.48, 0.52)]]],
    "g": [[_BOWL, [(0.48, X), (0.48, -0.22), (0.36, -0.38), (0.15, -0.38), (0.03, -0.27)]],
          [_BOWL, [(0.48, X), (0.47, -0.2), (0.3, -0.4), (0.12, -0.33), (0.2, -0.15), (0.5, 0.0)]]],
    "h": [[[(0.05, 1.0), (0.05, 0.0)], _HUMP(0.05, 0.47)]],
    "i": [[[(0.2, X), (0.2, 0.0)], _DOT(0.2)]],
    "j": [[[(0.32, X), (0.32, -0.25), (0.22, -0.38), (0.05, -0.34)], _DOT(0.32)]],
    "k": [[[(0.05, 1.0), (0.05, 0.0)], [(0.46, X), (0.05, 0.22)], [(0.18, 0.32), (0.5, 0.0)]]],
    "l": [[[(0.2, 1.0), (0.2, 0.12), (0.28, 0.0), (0.42, 0.03)]],
          [[(0.03, 0.2), (0.3, 0.58), (0.38, 0.86), (0.3, 1.0), (0.2, 0.86), (0.18, 0.3), (0.25, 0.02), (0.44, 0.06)]]],
    "m": [[[(0.05, X), (0.05, 0.0)], _HUMP(0.05, 0.38), _HUMP(0.43, 0.38)]],
    "n": [[[(0.05, X), (0.05, 0.0)], _HUMP(0.05, 0.47)]],
    "o": [[_ring(0.27, 0.275, 0.25, 0.275)]],
    "p": [[[(0.05, X), (0.05, D)],
           [(0.05, 0.45), (0.22, X), (0.42, 0.5), (0.54, 0.28), (0.43, 0.05), (0.22, 0.0), (0.05, 0.08)]]],
    "q": [[_BOWL, [(0.48, X), (0.48, D)], [(0.48, D), (0.6, -0.3)]]],
    "r": [[[(0.05, X), (0.05, 0.0)], [(0.05, 0.32), (0.2, 0.5), (0.35, X), (0.46, 0.5)]]],
    "s": [_scaled(_S, 0.8, X)],
    "t": [[[(0.22, 0.86), (0.22, 0.1), (0.3, 0.0), (0.46, 0.05)], [(0.02, X), (0.46, X)]]],
    "u": [[[(0.05, X), (0.05, 0.16), (0.18, 0.0), (0.35, 0.02), (0.48, 0.2)], [(0.5, X), (0.5, 0.0)]]],
    "v": [_scaled(_V, 0.8, X)],
    "w": [_scaled(_W, 0.8, X)],
    "x": [_scaled(_X, 0.8, X)],
    "y": [[[(0.02, X), (0.3, 0.04)], [(0.58, X), (0.1, D)]],
          [[(0.05, X), (0.05, 0.16), (0.18, 0.0), (0.35, 0.02), (0.5, 0.2)],
           [(0.5, X), (0.5, -0.25), (0.38, -0.4), (0.15, -0.37)]]],
    "z": [_scaled(_Z, 0.8, X), _scaled(_Z + _ZBAR, 0.8, X)],
}
VARIANT_CHARS = "".join(c for c in CHARSET_62 if len(SKELETONS[c]) > 1)

# Style factor ranges, drawn uniformly per writer.
STYLE_RANGES = {
    "slant": (-0.15, 0.45),  # radians of shear; positive leans right
    "width": (0.75, 1.3),  # horizontal scale
    "height": (0.85, 1.15),  # vertical scale
    "stroke": (1.3, 3.0),  # pen width in pixels at size 28
    "roundness": (0.0, 1.0),  # 0 angular, 1 round
    "jitter": (0.4, 1.5),  # how much the copies differ
}


def draw_styles(n_writers: int, rng: np.random.Generator) -> dict:
    """Per-writer style factors: float arrays [W] and `variants` int [W, len(VARIANT_CHARS)]."""
    styles = {k: rng.uniform(lo, hi, n_writers) for k, (lo, hi) in STYLE_RANGES.items()}
    styles["variants"] = np.stack(
        [rng.integers(0, len(SKELETONS[c]), n_writers) for c in VARIANT_CHARS], axis=1
    ).astype(np.int64) if VARIANT_CHARS else np.zeros((n_writers, 0), np.int64)
    styles["variant_chars"] = VARIANT_CHARS
    return styles


def _chaikin(points: np.ndarray, cut: np.ndarray, closed: bool, iterations: int = 3) -> np.ndarray:
    """Corner cutting on a batch of polylines [B,P,2]; `cut` [B] in (0, 0.25] sets how round.

    Every segment a-b is replaced by the points (1-c)a+cb and ca+(1-c)b. Open strokes keep their
    end points; closed ones come back with the first point repeated at the end.
    """
    if points.shape[1] < 3:
        return points
    c = cut[:, None, None]
    for _ in range(iterations):
        a = points if closed else points[:, :-1]
        b = np.roll(points, -1, axis=1) if closed else points[:, 1:]
        cut_pts = np.stack([(1 - c) * a + c * b, c * a + (1 - c) * b], axis=2).reshape(len(points), -1, 2)
        points = cut_pts if closed else np.concatenate([points[:, :1], cut_pts, points[:, -1:]], axis=1)
    return np.concatenate([points, points[:, :1]], axis=1) if closed else points


def _segments(strokes, rng, n, jitter, cut) -> np.ndarray:
    """Jittered, smoothed strokes of n copies of one letterform -> segments [n,S,4] (x0,y0,x1,y1)."""
    segs = []
    noise = (0.022 * jitter)[:, None, None]
    for stroke in strokes:
        p = np.asarray(stroke, np.float64)
        closed = len(p) > 3 and np.allclose(p[0], p[-1], atol=1e-6)
        base = p[:-1] if closed else p
        if len(base) == 2:  # a middle point lets a straight stroke bow a little
            base = np.array([base[0], base.mean(axis=0), base[1]])
        pts = base[None] + rng.normal(size=(n, len(base), 2)) * noise
        pts = _chaikin(pts, cut, closed)
        segs.append(np.concatenate([pts[:, :-1], pts[:, 1:]], axis=2))
    return np.concatenate(segs, axis=1)


def _transform(segs, slant, sx, sy, rot):
    """Per-glyph scale, shear and rotation of segments [n,S,4] (all factors [n])."""
    xy = segs.reshape(len(segs), -1, 2)
    x, y = xy[..., 0] * sx[:, None], xy[..., 1] * sy[:, None]
    x = x + y * np.tan(slant)[:, None]
    c, s = np.cos(rot)[:, None], np.sin(rot)[:, None]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1).reshape(segs.shape)


@njit(cache=True)
def _rasterize(segs, radius, out, normalize, box, em, baseline):
    """Draw segments [n,S,4] (em units, y up) as anti-aliased strokes into out [n,H,W] uint8.

    normalize: fit the glyph's ink into a box x box square and move its centre of mass to the
    centre (MNIST style). Otherwise keep em scale with the baseline on row `baseline`, centred
    horizontally, so case and descenders keep their real size and position.
    """
    n, S = segs.shape[0], segs.shape[1]
    size = out.shape[1]
    buf = np.zeros((size, size), np.float32)
    for g in range(n):
        x_lo, x_hi, y_lo, y_hi = 1e9, -1e9, 1e9, -1e9
        for k in range(S):
            for e in range(2):
                x, y = segs[g, k, 2 * e], segs[g, k, 2 * e + 1]
                x_lo, x_hi = min(x_lo, x), max(x_hi, x)
                y_lo, y_hi = min(y_lo, y), max(y_hi, y)
        r = radius[g]
        if normalize:
            scale = (box - 2 * r) / max(x_hi - x_lo, y_hi - y_lo, 1e-3)
            ox = size / 2 - (x_lo + x_hi) / 2 * scale
            oy = size / 2 + (y_lo + y_hi) / 2 * scale
        else:
            scale = em
            ox = size / 2 - (x_lo + x_hi) / 2 * scale
            oy = baseline
        buf[:] = 0
        for k in range(S):
            ax, ay = ox + segs[g, k, 0] * scale, oy - segs[g, k, 1] * scale
            bx, by = ox + segs[g, k, 2] * scale, oy - segs[g, k, 3] * scale
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            i0 = max(int(min(ay, by) - r - 1), 0)
            i1 = min(int(max(ay, by) + r + 2), size)
            j0 = max(int(min(ax, bx) - r - 1), 0)
            j1 = min(int(max(ax, bx) + r + 2), size)
            for i in range(i0, i1):
                py = i + 0.5
                for j in range(j0, j1):
                    px = j + 0.5
                    t = 0.0
                    if length2 > 0:
                        t = min(max(((px - ax) * dx + (py - ay) * dy) / length2, 0.0), 1.0)
                    ex, ey = px - ax - t * dx, py - ay - t * dy
                    v = min(max(r + 0.5 - np.sqrt(ex * ex + ey * ey), 0.0), 1.0)
                    if v > buf[i, j]:
                        buf[i, j] = v
        shift_y, shift_x = 0, 0
        if normalize:
            mass, my, mx = 0.0, 0.0, 0.0
            for i in range(size):
                for j in range(size):
                    mass += buf[i, j]
                    my += i * buf[i, j]
                    mx += j * buf[i, j]
            if mass > 0:
                shift_y = int(np.rint((size - 1) / 2 - my / mass))
                shift_x = int(np.rint((size - 1) / 2 - mx / mass))
        for i in range(size):
            for j in range(size):
                si, sj = i - shift_y, j - shift_x
                v = buf[si, sj] if 0 <= si < size and 0 <= sj < size else 0.0
                out[g, i, j] = np.uint8(v * 255 + 0.5)


def builtin_glyphs(
    n_writers: int = 20,
    per_char: int = 20,
    charset: str = CHARSET_62,
    size: int = 28,
    seed: int = 0,
    return_styles: bool = False,
    normalize: bool = True,
):
    """Procedural handwriting: n_writers x len(charset) x per_char glyphs, deterministic by seed.

    Samples are ordered writer, then character, then copy. normalize=True (default) gives
    MNIST-style glyphs like every real set; normalize=False keeps a fixed em scale and
    baseline, so capitals, x-height letters and descenders keep their true size and place.
    With return_styles, also returns the per-writer style factors (see `draw_styles`).
    """
    unknown = sorted(set(charset) - set(SKELETONS))
    if unknown:
        raise ValueError(f"builtin_glyphs has no skeleton for {''.join(unknown)!r}; it draws {CHARSET_62}")
    rng = np.random.default_rng(seed)
    styles = draw_styles(n_writers, rng)
    n_chars = len(charset)
    images = np.zeros((n_writers, n_chars, per_char, size, size), np.uint8)
    writer_of = np.repeat(np.arange(n_writers), per_char)  # [W*C] for one character
    # Per-copy deviations from the writer's style.
    scale = size / 28
    for ci, ch in enumerate(charset):
        variant = np.zeros(len(writer_of), np.int64)
        if ch in VARIANT_CHARS:
            variant = styles["variants"][writer_of, VARIANT_CHARS.index(ch)]
        for v, strokes in enumerate(SKELETONS[ch]):
            rows = np.flatnonzero(variant == v)
            if len(rows) == 0:
                continue
            w = writer_of[rows]
            n = len(rows)
            jitter = styles["jitter"][w]
            cut = 0.06 + 0.19 * styles["roundness"][w]
            segs = _segments(strokes, rng, n, jitter, cut)
            segs = _transform(
                segs,
                styles["slant"][w] + rng.normal(0, 0.05, n) * jitter,
                styles["width"][w] * np.exp(rng.normal(0, 0.05, n) * jitter),
                styles["height"][w] * np.exp(rng.normal(0, 0.04, n) * jitter),
                rng.normal(0, 0.03, n) * jitter,
            ).astype(np.float32)
            radius = (styles["stroke"][w] * np.exp(rng.normal(0, 0.08, n)) * scale / 2).astype(np.float32)
            out = np.empty((n, size, size), np.uint8)
            _rasterize(segs, radius, out, normalize, 20 * scale, 0.5 * size, 0.72 * size)
            images[w, ci, rows % per_char] = out
    labels = np.tile(np.repeat(np.arange(n_chars), per_char), n_writers)
    writers = np.repeat(np.arange(n_writers), n_chars * per_char)
    ds = GlyphDataset(
        images.reshape(-1, size, size),
        labels,
        charset,
        writers,
        f"builtin(seed={seed}, writers={n_writers}, per_char={per_char}, size={size}, normalize={normalize})",
    )
    return (ds, styles) if return_styles else ds

"""Image operations on glyphs: resizing, MNIST-style normalisation, polarity, binarisation, stroke width.

Everything works on white-ink-on-black arrays, uint8 or float, and on single images [H,W] or
batches [N,H,W] where that makes sense. Pure numpy: these run on whole datasets at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] weights: area average when shrinking, bilinear when enlarging.

    Applying one matrix per axis (W_rows @ image @ W_cols.T) resizes a whole batch in two matmuls.
    """
    if n_out <= n_in:
        scale = n_in / n_out
        edges = np.arange(n_out + 1) * scale
        j = np.arange(n_in)[None, :]
        overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
        return (np.clip(overlap, 0, None) / scale).astype(np.float32)
    x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    j0 = np.floor(x).astype(int)
    j1 = np.minimum(j0 + 1, n_in - 1)
    frac = (x - j0).astype(np.float32)
    w = np.zeros((n_out, n_in), np.float32)
    rows = np.arange(n_out)
    np.add.at(w, (rows, j0), 1 - frac)
    np.add.at(w, (rows, j1), frac)
    return w


def resize_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize [..., H, W] to [..., height, width]; float32 out (the caller picks the dtype)."""
    a = np.asarray(image, np.float32)
    rows = resample_matrix(a.shape[-2], height)
    cols = resample_matrix(a.shape[-1], width)
    return rows @ a @ cols.T


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 glyphs [N,H,W] (or [H,W]) to size x size, uint8 out."""
    out = resize_to(images, size, size)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def place_matrix(n_in: int, size: int, scale: float, offset: float) -> np.ndarray:
    """[size, n_in] weights drawing n_in pixels, scaled by `scale`, at `offset` on a size-pixel axis.

    Input pixel j spans [offset + j*scale, offset + (j+1)*scale) of the output axis: area
    averaging when shrinking, bilinear when enlarging, sub-pixel offsets either way.
    """
    i = np.arange(size)[:, None]
    j = np.arange(n_in)[None, :]
    if scale <= 1:
        lo = np.maximum(offset + j * scale, i)
        hi = np.minimum(offset + (j + 1) * scale, i + 1)
        return np.clip(hi - lo, 0, None).astype(np.float32)  # share of output pixel i that j covers
    x = (i + 0.5 - offset) / scale - 0.5  # input coordinate of each output pixel centre
    w = np.clip(1 - np.abs(x - j), 0, None)
    return (w * ((x > -1) & (x < n_in))).astype(np.float32)


def normalize_glyph(image: np.ndarray, size: int = 28, box: int = 20, threshold: float = 0.1) -> np.ndarray:
    """MNIST-style normalisation of one white-on-black glyph; uint8 [size,size] out.

    Crop to the ink's bounding box (pixels above `threshold` x the brightest), scale so the longer
    side is `box` pixels keeping the aspect ratio, and place it so its centre of mass sits at
    the centre of the canvas. Placement is sub-pixel, so a glyph and a slightly shifted copy of
    it normalise to nearly the same image. A blank image comes back blank.
    """
    a = np.asarray(image, np.float32)
    if a.ndim != 2:
        raise ValueError(f"normalize_glyph takes one [H,W] image, got shape {a.shape}")
    peak = float(a.max())
    if peak <= 0:
        return np.zeros((size, size), np.uint8)
    ink = a > threshold * peak
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] * (255.0 / peak)
    h, w = crop.shape
    scale = box / max(h, w)
    mass = crop.sum()
    cy = (crop.sum(axis=1) @ (np.arange(h) + 0.5)) / mass  # continuous coordinates
    cx = (crop.sum(axis=0) @ (np.arange(w) + 0.5)) / mass
    top = float(np.clip(size / 2 - scale * cy, 0, size - scale * h))
    left = float(np.clip(size / 2 - scale * cx, 0, size - scale * w))
    out = place_matrix(h, size, scale, top) @ crop @ place_matrix(w, size, scale, left).T
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def normalize_batch(images: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """normalize_glyph over [N,H,W]; uint8 [N,size,size]."""
    if len(images) == 0:
        return np.zeros((0, size, size), np.uint8)
    return np.stack([normalize_glyph(im, size, box) for im in images])


def has_dark_ink(image: np.ndarray) -> bool:
    """True when the image is dark ink on a light background (the opposite of MNIST).

    The background covers most of a glyph image, so the median pixel is background; compare it
    with the middle of the robust intensity range.
    """
    a = np.asarray(image, np.float32)
    lo, hi = np.percentile(a, [1, 99])
    return bool(np.median(a) > (lo + hi) / 2)


def to_white_on_black(images: np.ndarray) -> np.ndarray:
    """Invert every image in [N,H,W] (or one [H,W]) whose ink is dark; uint8 in and out."""
    a = np.asarray(images)
    if a.ndim == 2:
        return 255 - a if has_dark_ink(a) else a.copy()
    return np.stack([255 - im if has_dark_ink(im) else im for im in a])


def otsu_threshold(image: np.ndarray) -> float:
    """The grey level that best splits the histogram into two classes (Otsu 1979); uint8 scale."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    hist = np.bincount(a.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
    return float(np.nanargmax(between))


def otsu_binarize(image: np.ndarray) -> np.ndarray:
    """Boolean ink mask of a white-on-black image with one global Otsu threshold."""
    return np.asarray(image) > otsu_threshold(image)


def box_mean(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, edges replicated; summed-area table so any radius costs the same."""
    a = np.asarray(a, np.float64)
    r = int(radius)
    p = np.pad(a, r + 1, mode="edge")
    s = p.cumsum(0).cumsum(1)
    k = 2 * r + 1
    h, w = a.shape
    total = s[k : k + h, k : k + w] - s[:h, k : k + w] - s[k : k + h, :w] + s[:h, :w]
    return (total / (k * k)).astype(np.float32)


def adaptive_binarize(image: np.ndarray, radius: int = 7, offset: float = 10.0) -> np.ndarray:
    """Boolean ink mask of a white-on-black image: brighter than the local mean by `offset`.

    Unlike one global threshold this follows uneven lighting across a scan.
    """
    a = np.asarray(image, np.float32)
    return a > box_mean(a, radius) + offset


def _grey_morph(images: np.ndarray, steps: int, op) -> np.ndarray:
    a = np.asarray(images)
    out = a.copy()
    for _ in range(steps):
        p = np.pad(out, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
        acc = p[..., 1:-1, 1:-1]
        for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):  # plus-shaped neighbourhood: rounder than a square
            acc = op(acc, p[..., dy : dy + out.shape[-2], dx : dx + out.shape[-1]])
        out = acc
    return out


def thicken(images: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Grow white strokes by about `pixels` on each side (grey dilation); [H,W] or [N,H,W]."""
    return _grey_morph(images, pixels, np.maximum)


def thin(images: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Shrink white strokes by about `pixels` on each side (grey erosion); [H,W] or [N,H,W]."""
    return _grey_morph(images, pixels, np.minimum)


@njit(cache=True)
def connected_components(mask):
    """8-connected component labels of a boolean image (0 = background) and their count."""
    h, w = mask.shape
    labels = np.zeros((h, w), np.int32)
    stack = np.empty((h * w, 2), np.int32)
    n = 0
    for i0 in range(h):
        for j0 in range(w):
            if mask[i0, j0] and labels[i0, j0] == 0:
                n += 1
                labels[i0, j0] = n
                top = 0
                stack[0, 0], stack[0, 1] = i0, j0
                top = 1
                while top > 0:
                    top -= 1
                    i, j = stack[top, 0], stack[top, 1]
                    for di in range(-1, 2):
                        for dj in range(-1, 2):
                            y, x = i + di, j + dj
                            if 0 <= y < h and 0 <= x < w and mask[y, x] and labels[y, x] == 0:
                                labels[y, x] = n
                                stack[top, 0], stack[top, 1] = y, x
                                top += 1
    return labels, n


def despeckle(image: np.ndarray, min_area: int = 0, min_share: float = 0.0, threshold: float = 0.3) -> np.ndarray:
    """Zero the specks of a white-on-black glyph (dust, pen taps): 8-connected blobs of pixels above
    `threshold` x the brightest that cover fewer than `min_area` pixels or `min_share` of all ink.

    One speck far from a glyph moves its bounding box, so it matters for normalisation.
    """
    a = np.asarray(image)
    peak = a.max()
    if peak <= 0:
        return a.copy()
    labels, count = connected_components(a > threshold * peak)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    small = areas < max(min_area, min_share * areas[1:].sum())
    out = a.copy()
    out[small[labels] & (labels > 0)] = 0
    return out

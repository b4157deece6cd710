"""Differentiable augmentation for small training sets (applied to real and fake alike, so
the discriminator cannot overfit a few hundred glyphs and the generator learns no artefacts).

Each transform is built from differentiable ops with constant random parameters, so the
R1 penalty's double backward goes through it.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .autograd import Tensor

POLICIES = ("translation", "cutout", "scale")


def parse_policy(text: str) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); '' or 'none' -> ()."""
    if text in ("", "none"):
        return ()
    names = tuple(s.strip() for s in text.split(","))
    bad = [n for n in names if n not in POLICIES]
    if bad:
        raise ValueError(f"unknown augmentation {bad}; choose from {POLICIES}")
    return names


def translate(x: Tensor, rng: np.random.Generator, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ratio*size pixels in x and y, filling with background (-1)."""
    n, c, h, w = x.shape
    sy, sx = max(1, int(h * ratio)), max(1, int(w * ratio))
    dy = rng.integers(-sy, sy + 1, n)
    dx = rng.integers(-sx, sx + 1, n)
    padded = ops.pad(x + 1.0, ((0, 0), (0, 0), (sy, sy), (sx, sx))) - 1.0   # [N,C,H+2sy,W+2sx]
    rows = (np.arange(h)[None, :] + sy - dy[:, None])                         # [N, H]
    cols = (np.arange(w)[None, :] + sx - dx[:, None])                         # [N, W]
    xp = x.xp
    index = (xp.asarray(np.arange(n)[:, None, None, None]), xp.asarray(np.arange(c)[None, :, None, None]),
             xp.asarray(rows[:, None, :, None]), xp.asarray(cols[:, None, None, :]))
    return ops.getitem(padded, index)


def cutout(x: Tensor, rng: np.random.Generator, ratio: float = 0.5) -> Tensor:
    """Blank one random square of ratio*size per image (to background)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio), int(w * ratio)
    cy, cx = rng.integers(0, h, n), rng.integers(0, w, n)
    yy, xx = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((np.abs(yy - cy[:, None, None]) < ch // 2) &
              (np.abs(xx - cx[:, None, None]) < cw // 2))[:, None]                # [N,1,H,W]
    keep = x.xp.asarray((~inside).astype(x.dtype))
    return ops.mul_const(x + 1.0, keep) - 1.0


def scale(x: Tensor, rng: np.random.Generator, amount: float = 0.15) -> Tensor:
    """Zoom each image by a factor in [1 - amount, 1 + amount] about its centre (bilinear),
    as a constant per-sample resampling matrix applied on both sides: A_n x_n B_n^T."""
    n, c, h, w = x.shape
    factors = np.exp(rng.uniform(np.log(1 - amount), np.log(1 + amount), n))

    def matrices(size):
        out = np.zeros((n, size, size), dtype=np.float32)
        centre = (size - 1) / 2
        for i, f in enumerate(factors):
            src = (np.arange(size) - centre) / f + centre
            lo = np.floor(src).astype(int)
            frac = src - lo
            for j in range(size):
                for k, wt in ((lo[j], 1 - frac[j]), (lo[j] + 1, frac[j])):
                    if 0 <= k < size:
                        out[i, j, k] += wt
        return out

    a = Tensor(x.xp.asarray(matrices(h)))[:, None]                             # [N,1,H,H]
    b = Tensor(x.xp.asarray(matrices(w).transpose(0, 2, 1)))[:, None]          # [N,1,W,W]
    return ops.matmul(ops.matmul(a, x + 1.0), b) - 1.0


def augment(x: Tensor, policy: tuple[str, ...], rng: np.random.Generator) -> Tensor:
    for name in policy:
        x = {"translation": translate, "cutout": cutout, "scale": scale}[name](x, rng)
    return x

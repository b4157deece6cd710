"""im2col / col2im: the gather and its adjoint scatter that turn convolution into matmul.

Layouts: images [N, C, H, W]; columns [N, C, kh, kw, Ho, Wo] where
cols[n, c, a, b, i, j] = x_padded[n, c, i*stride + a, j*stride + b].
Both loop over the kh*kw kernel taps only; each tap is one strided copy of the whole batch.
"""
from __future__ import annotations

from ..backend import get_array_module as xp_of


def conv_out_size(size: int, k: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - k) // stride + 1


def conv_out_hw(h: int, w: int, kh: int, kw: int, stride: int, padding: int) -> tuple[int, int]:
    """(Ho, Wo) of a convolution, or a clear error when the kernel does not fit."""
    ho, wo = conv_out_size(h, kh, stride, padding), conv_out_size(w, kw, stride, padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"a {kh}x{kw} kernel with padding {padding} does not fit a {h}x{w} input")
    return ho, wo


def im2col(x, kh: int, kw: int, stride: int, padding: int):
    xp = xp_of(x)
    n, c, h, w = x.shape
    ho, wo = conv_out_hw(h, w, kh, kw, stride, padding)
    xp_ = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))) if padding else x
    cols = xp.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            cols[:, :, a, b] = xp_[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride]
    return cols


def col2im(cols, h: int, w: int, stride: int, padding: int):
    """The adjoint of im2col: add every column entry back to the pixel it was read from."""
    xp = xp_of(cols)
    n, c, kh, kw, ho, wo = cols.shape
    out = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride] += cols[:, :, a, b]
    return out[:, :, padding:padding + h, padding:padding + w]

"""modulated_conv2d at up=1 on the CPU: channels-last columns and three well-shaped matmuls.

The composed path (_conv_fast) lays columns out channel-major, [C*k*k, N*H*W], and gets the
input's gradient as the adjoint of im2col: the matmul w^T @ g, which contracts over only the
O output channels, then col2im. At the benchmark's shape (x [32,128,16,16], a 3x3 weight,
128 -> 128 channels) that matmul ran at 0.65-0.71 of the machine's 2048x2048 rate, where a
product contracting over k*k*C ran at 0.8-0.9 (measured per chunk of 7 samples).

Here the activations the matmuls touch are channels-last (pixels [N, H, W, C]) and the
columns are pixel-major, one row per output pixel holding its k x k window of channel vectors:

    cols [m, Ho, Wo, k, k, C]      cols[n, i, j, a, b, c] = xs[n, i + a - p, j + b - p, c]

read as the matrix [m*Ho*Wo, k*k*C]. At stride 1 the adjoint of a convolution is itself a
convolution: of g with the flipped, transposed weight and padding k - 1 - p. So one im2col of
g serves both backward products, and every product contracts over k*k channels or pixels:

    forward    y    = cols(xs) @ w_m       w_m[(a, b, c), o] = w[o, c, a, b]
    backward   gxs  = cols(g) @ w_t        w_t[(a, b, o), c] = w[o, c, k-1-a, k-1-b]
               gw_t = cols(g)^T @ xs       gw[o, c, a, b] = gw_t[(k-1-a, k-1-b, o), c]

Each window row is k*k contiguous copies of C channels; at stride 1 no phase tricks are
needed (compare _conv_numba).

The style scaling, the demodulation and their dot products ride on the passes that move
planes between the two layouts (_to_pixels, _from_pixels); nothing else reads or writes the
activations. The spec is the reference op (modulated_conv2d_reference); the tests compare
this path against it at many shapes and paddings, and each kernel here against NumPy.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _conv_numba
from ._conv_fast import _column_chunks, normalize
from ._conv_numba import PARALLEL

# Pixels per tile of the layout changes. A tile's rows of every channel are read (or
# written) as unit-stride runs, while its [TILE, C] block of the other layout stays in L1.
# Measured for the scaling alone on [32, 128, 256] planes: 0.36 ms at 16 (a plain copy of
# the array: 0.30 ms), 0.40 at 8, 0.66 at 32; the untiled loop took 1.5-2.3 ms.
TILE = 16


def _to_pixels(planes, scale, other, dots, out):
    """out[n, p, c] = planes[n, c, p] * scale[n, c], and, when `other` is not empty,
    dots[n, c] = sum_p planes[n, c, p] * other[n, c, p] (float64). One prange iteration
    owns one sample. Full tiles run a loop of constant length TILE, which LLVM unrolls into
    vector loads and scattered stores; with the dots as a branch of their own, as a test
    inside the loop kept it from vectorising (measured 2x slower)."""
    n_, c_, p_ = planes.shape
    with_dots = other.shape[0] > 0
    for n in prange(n_):
        acc = np.zeros(c_)
        for p0 in range(0, p_, TILE):
            for c in range(c_):
                f = scale[n, c]
                if p0 + TILE <= p_ and not with_dots:
                    for p in range(p0, p0 + TILE):
                        out[n, p, c] = planes[n, c, p] * f
                elif p0 + TILE <= p_:
                    total = 0.0
                    for p in range(p0, p0 + TILE):
                        v = planes[n, c, p]
                        out[n, p, c] = v * f
                        total += v * other[n, c, p]
                    acc[c] += total
                else:                                               # the last, partial tile
                    for p in range(p0, p_):
                        v = planes[n, c, p]
                        out[n, p, c] = v * f
                        if with_dots:
                            acc[c] += v * other[n, c, p]
        if with_dots:
            dots[n, :] = acc


def _from_pixels(pixels, scale, other, dots, out):
    """out[n, c, p] = pixels[n, p, c] * scale[n, c], and, when `other` is not empty,
    dots[n, c] = sum_p pixels[n, p, c] * other[n, c, p] (float64): _to_pixels' mirror."""
    n_, p_, c_ = pixels.shape
    with_dots = other.shape[0] > 0
    for n in prange(n_):
        acc = np.zeros(c_)
        for p0 in range(0, p_, TILE):
            for c in range(c_):
                f = scale[n, c]
                if p0 + TILE <= p_ and not with_dots:
                    for p in range(p0, p0 + TILE):
                        out[n, c, p] = pixels[n, p, c] * f
                elif p0 + TILE <= p_:
                    total = 0.0
                    for p in range(p0, p0 + TILE):
                        v = pixels[n, p, c]
                        out[n, c, p] = v * f
                        total += v * other[n, c, p]
                    acc[c] += total
                else:
                    for p in range(p0, p_):
                        v = pixels[n, p, c]
                        out[n, c, p] = v * f
                        if with_dots:
                            acc[c] += v * other[n, c, p]
        if with_dots:
            dots[n, :] = acc


def _im2col_pixels(src, cols, padding):
    """cols [m, Ho, Wo, kh, kw, C] from src [m, H, W, C] at stride 1; taps outside the image
    are 0 (padding may exceed k - 1: then it only adds zeros). One prange iteration owns one
    output row (n, i), written front to back."""
    m_, h_, w_, c_ = src.shape
    _, ho, wo, kh, kw, _ = cols.shape
    src_flat = src.reshape(src.size)
    cols_flat = cols.reshape(cols.size)
    for t in prange(m_ * ho):
        n = t // ho
        i = t % ho
        do = np.uint64(t * wo * kh * kw * c_)
        for j in range(wo):
            for a in range(kh):
                y = i + a - padding
                for b in range(kw):
                    v = j + b - padding
                    if 0 <= y < h_ and 0 <= v < w_:
                        so = np.uint64(((n * h_ + y) * w_ + v) * c_)
                        for q in range(np.uint64(c_)):
                            cols_flat[do + q] = src_flat[so + q]
                    else:
                        for q in range(np.uint64(c_)):
                            cols_flat[do + q] = 0
                    do += np.uint64(c_)


# "reassoc" lets LLVM split the float64 sums into vector partial sums (see ops/adain.py).
_to_pixels_jit = njit(fastmath={"reassoc"}, **PARALLEL)(_to_pixels)
_from_pixels_jit = njit(fastmath={"reassoc"}, **PARALLEL)(_from_pixels)
_im2col_pixels_jit = njit(**PARALLEL)(_im2col_pixels)


def _dot_args(other, dots, dtype):
    """(other [N, C, H*W], dots) for the kernels; empty arrays, meaning no dots, for None."""
    if other is None:
        return np.empty((0, 0, 0), dtype=dtype), np.empty((0, 0))
    return other.reshape(other.shape[0], other.shape[1], -1), dots


def to_pixels(planes, scale, other=None):
    """(planes * scale as pixels [N, H, W, C], dots [N, C] or None) for planes [N, C, H, W],
    scale [N, C]; dots[n, c] = <planes[n, c], other[n, c]> when other [N, C, H, W] is given."""
    n, c, h, w = planes.shape
    out = np.empty((n, h, w, c), dtype=planes.dtype)
    dots = np.empty((n, c), dtype=np.float64) if other is not None else None
    _to_pixels_jit(planes.reshape(n, c, h * w), scale, *_dot_args(other, dots, planes.dtype),
                   out.reshape(n, h * w, c))
    return out, dots


def from_pixels(pixels, scale, other=None):
    """(pixels * scale as planes [N, C, H, W], dots [N, C] or None): to_pixels' mirror."""
    n, h, w, c = pixels.shape
    out = np.empty((n, c, h, w), dtype=pixels.dtype)
    dots = np.empty((n, c), dtype=np.float64) if other is not None else None
    _from_pixels_jit(pixels.reshape(n, h * w, c), scale, *_dot_args(other, dots, pixels.dtype),
                     out.reshape(n, c, h * w))
    return out, dots


def _windows(pixels, padding, kh, kw, buf):
    """The matmul operand [m*Ho*Wo, kh*kw*C] of pixels [m, H, W, C]: pixel-major columns in
    buf, or the pixels themselves for a 1x1 kernel without padding."""
    m, h, w, c = pixels.shape
    if (kh, kw, padding) == (1, 1, 0):
        return pixels.reshape(m * h * w, c)
    ho, wo = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    cols = buf.reshape(m, ho, wo, kh, kw, c)
    _im2col_pixels_jit(pixels, cols, padding)
    return cols.reshape(m * ho * wo, kh * kw * c)


def forward(x, s, w, d, padding):
    """(y [N, O, Ho, Wo] = d * conv2d(x * s, w), xs pixels [N, H, W, C]) for x [N, C, H, W],
    styles s [N, C], w [O, C, kh, kw], d [N, O]; xs is what the weight's gradient reads."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = h + 2 * padding - kh + 1, wd + 2 * padding - kw + 1
    xs, _ = to_pixels(x, s)
    w_m = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(kh * kw * c, o)
    y_pixels = np.empty((n, ho, wo, o), dtype=x.dtype)
    for n0, n1, buf in _column_chunks(n, kh * kw * c, ho * wo, x, _conv_numba):
        cols = _windows(xs[n0:n1], padding, kh, kw, buf)
        np.matmul(cols, w_m, out=y_pixels[n0:n1].reshape(-1, o))
    y, _ = from_pixels(y_pixels, d)
    return y, xs


def backward(g, y, xs, x, s, w, d, padding, need_gxs: bool, need_w: bool):
    """(gx, gs, gw, dots) of forward's y for the cotangent g [N, O, Ho, Wo], as
    ModulatedConv2d's backward documents them: gx and gs are None unless need_gxs, gw is
    None unless need_w, dots is None when y is."""
    g, y = normalize(g, y)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    gu, dots = to_pixels(g, d, y)                                    # [N, Ho, Wo, O]
    w_t = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(kh * kw * o, c)
    gxs = np.empty((n, h, wd, c), dtype=x.dtype) if need_gxs else None
    gw_t = None                                                      # [(a, b, o), c]
    for n0, n1, buf in _column_chunks(n, kh * kw * o, h * wd, g, _conv_numba):
        cols = _windows(gu[n0:n1], kh - 1 - padding, kh, kw, buf)    # [m*H*W, kh*kw*O]
        if need_gxs:
            np.matmul(cols, w_t, out=gxs[n0:n1].reshape(-1, c))
        if need_w:
            part = cols.T @ xs[n0:n1].reshape(-1, c)
            gw_t = part if gw_t is None else gw_t + part
    gx = gs = gw = None
    if need_gxs:
        gx, gs = from_pixels(gxs, s, x)
        gs = gs.astype(x.dtype)
    if need_w:
        gw = np.ascontiguousarray(
            gw_t.reshape(kh, kw, o, c)[::-1, ::-1].transpose(2, 3, 0, 1))   # [O, C, kh, kw]
    return gx, gs, gw, dots

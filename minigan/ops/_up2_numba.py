"""modulated_conv2d at up=2 on the CPU: transposed convolution, demodulation and blur, fused
plane by plane.

Composed, the up=2 op follows its matmul with four passes over [N, O, 2H+1, 2W+1] arrays:
col2im writes u, the demodulation scales it, the blur copies it into its scratch and writes
y; the backward mirrors them (blur adjoint, scaling, a dot product, im2col). Here each output
plane goes through all of its steps while it sits in one task's scratch (L1 cache):

    forward    cols --col2im, stride 2--> U --zero border, blur rows, blur columns * d--> y
    backward   g --zero border, flipped blur rows, columns * d--> dU --im2col, stride 2--> cols

The blur is separable (the outer product of [1,3,3,1] with itself), so it runs as 4 taps
along rows and then 4 along columns, not 16 in 2-D. The style-scaled input is kept in the
matmul's own layout, xs rows [C, N*H*W] (samples side by side), so neither the forward nor
the weight's gradient has to transpose it.

Layouts: cols [O, k, k, m, H, W] for a chunk of m samples, as in _conv_numba (read as the
matrix [O*k*k, m*H*W]); d [N, O]; g and y [N, O, Ho, Wo]. The spec is the composition in
_conv_numba and upfirdn2d (col2im, scaling, blur), which the tests compare this against.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._conv_fast import _column_chunks, normalize
from . import _conv_numba
from ._conv_numba import (PARALLEL, PLANES_PER_TASK, _cols_to_phases_jit as _cols_to_phases,
                          _phase_shape_jit as _phase_shape, _phases_to_cols_jit as _phases_to_cols,
                          _phases_to_plane_jit as _phases_to_plane,
                          _plane_to_phases_jit as _plane_to_phases)


def _fir(src, f, step, length, dst):
    """dst[m] = sum_t f[t] * src[m + t*step] for m < length: one separable pass of a blur
    over a flat plane (step 1 along rows, step = row length along columns)."""
    if f.shape[0] == 4:
        # The up=2 blur: all four taps in one pass, each dst element written once.
        w0, w1, w2, w3 = f[0], f[1], f[2], f[3]
        o1, o2, o3 = np.uint64(step), np.uint64(2 * step), np.uint64(3 * step)
        for m in range(np.uint64(length)):
            dst[m] = w0 * src[m] + w1 * src[m + o1] + w2 * src[m + o2] + w3 * src[m + o3]
        return
    w0 = f[0]
    for m in range(np.uint64(length)):
        dst[m] = w0 * src[m]
    for t in range(1, f.shape[0]):
        wt = f[t]
        off = np.uint64(t * step)
        for m in range(np.uint64(length)):
            dst[m] += wt * src[off + m]


_fir_jit = njit(cache=True, inline="always")(_fir)


def _blur(src, f, scale, width, rows_in, rows_out, along_rows, scaled, dst):
    """dst = scale * the separable blur f x f of the flat plane src (`width` per row): f along
    the rows of all rows_in rows, then along the columns, giving rows_out rows (the spare
    columns past each row's valid width hold sums that straddle two rows). along_rows and
    scaled are scratch: rows_in * width elements, and len(f)."""
    _fir_jit(src, f, 1, rows_in * width, along_rows)
    for t in range(f.shape[0]):
        scaled[t] = f[t] * scale
    _fir_jit(along_rows, scaled, width, rows_out * width, dst)


_blur_jit = njit(cache=True, inline="always")(_blur)


def _dot(a, b, start, length):
    """sum_i a[start + i] * b[start + i] for i < length, accumulated in float64."""
    total = 0.0
    for i in range(np.uint64(start), np.uint64(start + length)):
        total += a[i] * b[i]
    return total


# "reassoc" lets LLVM split the sum into vector partial sums (see ops/adain.py); a call per
# plane, not inlined, so that the flag stays with this loop alone.
_dot_jit = njit(cache=True, fastmath={"reassoc"})(_dot)


def _up2_plane(h, w, kh, kw, conv_pad):
    """(hu, wu): the transposed convolution's output plane for an input plane h x w."""
    return 2 * (h - 1) + kh - 2 * conv_pad, 2 * (w - 1) + kw - 2 * conv_pad


_up2_plane_jit = njit(cache=True)(_up2_plane)


def _col2im_blur(cols, d, n0, f, conv_pad, fir_pad, out):
    """out[n, o] = d[n0 + n, o] * blur(col2im(cols)[n, o]) for every plane of a chunk.

    cols [O, k, k, m, H, W]; out [m, O, Ho, Wo]; f the blur's 1-D taps in correlation order,
    gain included. U (hu x wu) is blurred inside a zero border of fir_pad pixels, so
    Ho = hu + 2*fir_pad - len(f) + 1. The row pass runs over the bordered plane as one flat
    run (sums that straddle two rows land in columns past wo and are never copied out).
    """
    o_, kh, kw, m_, h_, w_ = cols.shape
    _, _, ho, wo = out.shape
    hu, wu = _up2_plane_jit(h_, w_, kh, kw, conv_pad)
    s_, hp, tw = _phase_shape(hu, wu, np.int64(2), conv_pad)      # (a literal 2 trips parfors)
    bh, bw = hu + 2 * fir_pad, wu + 2 * fir_pad                  # U in its zero border
    planes = o_ * m_
    cols_flat = cols.reshape(cols.size)
    out_flat = out.reshape(out.size)
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        phases = np.empty((s_, hp, tw), dtype=out.dtype)
        flat = phases.reshape(phases.size)
        # One spare row: the row pass reads len(f) - 1 elements past the last row. The border
        # is never written, so zeroing once per task is enough.
        bordered = np.zeros((bh + 1, bw), dtype=out.dtype)
        b_flat = bordered.reshape(bordered.size)
        along_rows = np.empty(bh * bw, dtype=out.dtype)
        acc = np.empty(ho * bw, dtype=out.dtype)
        scaled = np.empty_like(f)                                # f * d of the plane
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            o = r // m_
            n = r % m_
            flat[:] = 0
            _cols_to_phases(cols_flat, flat, o, n, m_, kh, kw, h_, w_, 2, hp, tw)
            _phases_to_plane(flat, b_flat, fir_pad * bw + fir_pad, bw, hu, wu, 2, conv_pad,
                             hp, tw)
            _blur_jit(b_flat, f, d[n0 + n, o], bw, bh, ho, along_rows, scaled, acc)
            base = np.uint64((n * o_ + o) * ho * wo)
            for i in range(ho):
                so = np.uint64(i * bw)
                do = base + np.uint64(i * wo)
                for j in range(np.uint64(wo)):
                    out_flat[do + j] = acc[so + j]


def _blur_im2col(g, y_out, d, n0, f, conv_pad, fir_pad, cols, dots):
    """The adjoint of _col2im_blur: cols = im2col(d * blur^T(g)), stride 2, for every plane
    of a chunk; and, when y_out has the chunk's planes, dots[n0 + n, o] = <g[n, o], y_out[n, o]>
    (float64 sums), read while g's plane is in cache.

    g, y_out [m, O, Ho, Wo] (y_out may be empty: no dots); cols [O, k, k, m, H, W]. The adjoint of a
    correlation with f inside a border of fir_pad is a correlation with the flipped f over g
    inside a border of len(f) - 1 - fir_pad (negative: g's edge rows and columns are cut).
    """
    o_, kh, kw, m_, h_, w_ = cols.shape
    _, _, ho, wo = g.shape
    fl = f.shape[0]
    flipped = f[::-1].copy()
    hu, wu = _up2_plane_jit(h_, w_, kh, kw, conv_pad)
    s_, hp, tw = _phase_shape(hu, wu, np.int64(2), conv_pad)      # (a literal 2 trips parfors)
    edge = fl - 1 - fir_pad
    gh, gw = hu + fl - 1, wu + fl - 1                            # g in its zero border
    i0, i1 = max(0, -edge), min(ho, gh - edge)                   # g's rows (columns) inside it
    j0, j1 = max(0, -edge), min(wo, gw - edge)
    with_dots = y_out.shape[0] > 0
    planes = o_ * m_
    g_flat = g.reshape(g.size)
    y_flat = y_out.reshape(y_out.size)
    cols_flat = cols.reshape(cols.size)
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        phases = np.zeros((s_, hp, tw), dtype=g.dtype)           # padding cells stay 0
        flat = phases.reshape(phases.size)
        bordered = np.zeros((gh + 1, gw), dtype=g.dtype)         # spare row, as above
        b_flat = bordered.reshape(bordered.size)
        along_rows = np.empty(gh * gw, dtype=g.dtype)
        acc = np.empty(hu * gw, dtype=g.dtype)
        scaled = np.empty_like(flipped)                          # flipped * d of the plane
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            o = r // m_
            n = r % m_
            base = (n * o_ + o) * ho * wo
            for i in range(i0, i1):
                so = np.uint64(base + i * wo + j0)
                do = np.uint64((i + edge) * gw + j0 + edge)
                for j in range(np.uint64(j1 - j0)):
                    b_flat[do + j] = g_flat[so + j]
            if with_dots:
                dots[n0 + n, o] = _dot_jit(g_flat, y_flat, base, ho * wo)
            _blur_jit(b_flat, flipped, d[n0 + n, o], gw, gh, hu, along_rows, scaled, acc)
            _plane_to_phases(acc, 0, gw, flat, hu, wu, 2, conv_pad, hp, tw)
            _phases_to_cols(flat, cols_flat, o, n, m_, kh, kw, h_, w_, 2, hp, tw)


def _scale_to_rows(x, s, rows):
    """rows[c, n*L + i] = x[n, c, i] * s[n, c]: the style-scaled input as the matmul operand
    [C, N*L]; one prange iteration owns one channel's row."""
    n_, c_, length = x.shape
    for c in prange(c_):
        for n in range(n_):
            f = s[n, c]
            for i in range(length):
                rows[c, n * length + i] = x[n, c, i] * f


def _rows_scale_dot(rows, s, x, n0, gx, gs):
    """For the chunk's samples n0 + n: gx[n0+n, c, i] = rows[c, n*L + i] * s[n0+n, c] and
    gs[n0+n, c] = sum_i rows[c, n*L + i] * x[n0+n, c, i] (float64): the input scaling's
    backward, read from the matmul's [C, m*L] result. One prange iteration per channel."""
    c_, total = rows.shape
    length = x.shape[2]
    m_ = total // length
    for c in prange(c_):
        for n in range(m_):
            f = s[n0 + n, c]
            dot = 0.0
            for i in range(length):
                v = rows[c, n * length + i]
                gx[n0 + n, c, i] = v * f
                dot += v * x[n0 + n, c, i]
            gs[n0 + n, c] = dot


_col2im_blur_jit = njit(**PARALLEL)(_col2im_blur)
_blur_im2col_jit = njit(**PARALLEL)(_blur_im2col)
_scale_to_rows_jit = njit(**PARALLEL)(_scale_to_rows)
# "reassoc" lets LLVM split the float64 sum into vector partial sums (see ops/adain.py).
_rows_scale_dot_jit = njit(fastmath={"reassoc"}, **PARALLEL)(_rows_scale_dot)


def _out_size(size: int, k: int, conv_pad: int, fir_pad: int, taps: int) -> int:
    return 2 * (size - 1) + k - 2 * conv_pad + 2 * fir_pad - taps + 1


def scale_to_rows(x, s):
    """xs rows [C, N*H*W] = x [N, C, H, W] * s [N, C], samples side by side."""
    n, c, h, w = x.shape
    rows = np.empty((c, n * h * w), dtype=x.dtype)
    _scale_to_rows_jit(x.reshape(n, c, h * w), s, rows)
    return rows


def weight_rows(w):
    """a [O*k*k, C]: the weight w [O, C, k, k] with its taps ahead of its input channels, the
    matmul operand of the forward (cols = a @ xs rows) and of both backward products."""
    o, c, kh, kw = w.shape
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o * kh * kw, c)


def forward(xs_rows, shape, a, kernel, d, f, conv_pad, fir_pad):
    """y [N, O, Ho, Wo] = d * blur(conv_transpose2d(xs, w, stride 2)) for xs rows [C, N*H*W]
    of an input of `shape` [N, C, H, W]; a = weight_rows(w) and kernel = (O, kh, kw) of
    w [O, C, kh, kw]; d [N, O]; f the blur's 1-D taps."""
    n, c, h, wd = shape
    o, kh, kw = kernel
    length = h * wd
    ho = _out_size(h, kh, conv_pad, fir_pad, len(f))
    wo = _out_size(wd, kw, conv_pad, fir_pad, len(f))
    y = np.empty((n, o, ho, wo), dtype=xs_rows.dtype)
    for n0, n1, buf in _column_chunks(n, o * kh * kw, length, xs_rows, _conv_numba):
        cols = buf.reshape(o * kh * kw, (n1 - n0) * length)
        np.matmul(a, xs_rows[:, n0 * length:n1 * length], out=cols)
        _col2im_blur_jit(cols.reshape(o, kh, kw, n1 - n0, h, wd), d, n0, f, conv_pad, fir_pad,
                         y[n0:n1])
    return y


def backward(g, y, xs_rows, x, s, a, kernel, d, f, conv_pad, fir_pad, need_gxs: bool,
             need_w: bool):
    """(gx, gs, gw, dots) of forward's y for the cotangent g [N, O, Ho, Wo]:

    gx = d<y, g>/dx and gs the styles' part through the input scaling (None unless need_gxs);
    gw [O, C, kh, kw] the weight's gradient as if d were a constant (None unless need_w);
    dots [N, O] = <g, y> per plane (float64), for the demodulation's own gradient (None when
    y is None).
    """
    g, y = normalize(g, y)
    n, c, h, wd = x.shape
    o, kh, kw = kernel
    length = h * wd
    gx = np.empty_like(x) if need_gxs else None
    gs = np.empty((n, c), dtype=x.dtype) if need_gxs else None
    dat = None                                                                   # dL/da
    dots = np.empty((n, o), dtype=np.float64) if y is not None else None
    no_y = np.empty((0,) + g.shape[1:], dtype=g.dtype)
    for n0, n1, buf in _column_chunks(n, o * kh * kw, length, g, _conv_numba):
        m = n1 - n0
        cols = buf.reshape(o, kh, kw, m, h, wd)
        _blur_im2col_jit(g[n0:n1], no_y if y is None else y[n0:n1], d, n0, f, conv_pad,
                         fir_pad, cols, dots if dots is not None else np.empty((0, 0)))
        cols = cols.reshape(o * kh * kw, m * length)
        if need_gxs:
            _rows_scale_dot_jit(a.T @ cols, s, x.reshape(n, c, length), n0,
                                gx.reshape(n, c, length), gs)
        if need_w:
            part = cols @ xs_rows[:, n0 * length:n1 * length].T
            dat = part if dat is None else dat + part
    gw = None if dat is None else np.ascontiguousarray(
        dat.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))                          # [O, C, k, k]
    return gx, gs, gw, dots

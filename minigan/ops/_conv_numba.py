"""numba im2col / col2im for the fast convolution path on the CPU.

The fast path lays columns out batch-inside, so one BLAS call covers a whole chunk of samples:

    cols [C, kh, kw, N, Ho, Wo]      cols[c, a, b, n, i, j] = x_padded[n, c, i*s + a, j*s + b]

Read as a matrix that is [C*kh*kw, N*Ho*Wo]: rows are the kernel taps of each input channel
(grouped by channel, so groups are contiguous row blocks), columns the output pixels.

im2col is a gather: one prange iteration owns one (c, a, b, n) block of Ho*Wo entries.
col2im, its adjoint, is a gather too: one prange iteration owns one output row
x[n, c, h, :] and adds in every column entry that was read from it. No two iterations write
the same element, so the results are deterministic.

The undecorated functions are the readable spec; the njit'ed ones run.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

PARALLEL = dict(parallel=True, cache=True, nogil=True)

# Column elements per chunk of samples: 4M elements is 16 MiB in float32, small enough to
# stay in cache between im2col and the matmul, big enough for BLAS to run at full speed.
COLUMN_BUDGET = 1 << 22


def _first_j(b, stride, padding):
    """Smallest output column j whose tap b lands inside the image: j*stride + b - padding >= 0."""
    return max(0, (padding - b + stride - 1) // stride)


def _end_j(b, stride, padding, width, wo):
    """One past the largest output column j whose tap b lands inside the image (< width)."""
    return min(wo, (width + padding - b + stride - 1) // stride)


_first_j_jit = njit(cache=True)(_first_j)
_end_j_jit = njit(cache=True)(_end_j)


def _im2col(x, cols, stride, padding):
    """cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]; out-of-image taps are 0."""
    n_, c_, h_, w_ = x.shape
    _, kh, kw, _, ho, wo = cols.shape
    for r in prange(c_ * kh * kw * n_):
        n = r % n_
        t = r // n_
        b = t % kw
        t //= kw
        a = t % kh
        c = t // kh
        j0 = _first_j_jit(b, stride, padding)
        j1 = max(j0, _end_j_jit(b, stride, padding, w_, wo))
        for i in range(ho):
            row = cols[c, a, b, n, i]
            hi = i * stride + a - padding
            if hi < 0 or hi >= h_:
                row[:] = 0
                continue
            src = x[n, c, hi]
            row[:j0] = 0
            for j in range(j0, j1):
                row[j] = src[j * stride + b - padding]
            row[j1:] = 0


def _col2im(cols, out, stride, padding):
    """out [N, C, H, W] = the adjoint of im2col applied to cols [C, kh, kw, N, Ho, Wo]."""
    c_, kh, kw, n_, ho, wo = cols.shape
    _, _, h_, w_ = out.shape
    for r in prange(n_ * c_ * h_):
        h = r % h_
        t = r // h_
        c = t % c_
        n = t // c_
        dst = out[n, c, h]
        dst[:] = 0
        for a in range(kh):
            hs = h + padding - a                    # = i * stride for the output row i
            if hs < 0 or hs % stride != 0 or hs // stride >= ho:
                continue
            i = hs // stride
            for b in range(kw):
                src = cols[c, a, b, n, i]
                j0 = _first_j_jit(b, stride, padding)
                j1 = _end_j_jit(b, stride, padding, w_, wo)
                for j in range(j0, j1):
                    dst[j * stride + b - padding] += src[j]


_im2col_jit = njit(**PARALLEL)(_im2col)
_col2im_jit = njit(**PARALLEL)(_col2im)


def im2col(x: np.ndarray, cols: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Fill cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W] (same float dtype, C-contiguous)."""
    _im2col_jit(x, cols, stride, padding)
    return cols


def col2im(cols: np.ndarray, out: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Overwrite out [N, C, H, W] with the adjoint of im2col of cols [C, kh, kw, N, Ho, Wo]."""
    _col2im_jit(cols, out, stride, padding)
    return out

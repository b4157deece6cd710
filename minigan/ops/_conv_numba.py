"""numba im2col / col2im for the fast convolution path on the CPU.

The fast path lays columns out batch-inside, so one BLAS call covers a whole chunk of samples:

    cols [C, kh, kw, N, Ho, Wo]      cols[c, a, b, n, i, j] = x_padded[n, c, i*s + a, j*s + b]

Read as a matrix that is [C*kh*kw, N*Ho*Wo]: rows are the kernel taps of each input channel
(grouped by channel, so groups are contiguous row blocks), columns the output pixels.

im2col is a gather: one prange iteration owns one (c, a, b, n) block of Ho*Wo entries.
col2im, its adjoint, is a gather too: one prange iteration owns one output plane x[n, c]
and adds in, tap by tap (a, then b), every column entry that was read from it. No two
iterations write the same element, so the results are deterministic. Rows are short (Wo is
often 8 to 32), so per-row overhead is what costs: both kernels index flat planes, col2im
keeps stride 1 in its own (vectorised) inner loop, and im2col copies a stride-1 "same" block
as one long run.

The undecorated functions are the readable spec; the njit'ed ones run.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

PARALLEL = dict(parallel=True, cache=True, nogil=True)

# Column elements per chunk of samples: 1M elements is 4 MiB in float32, about the two
# cores' L2 caches, so the columns are still in cache when the matmul reads them (measured
# fastest of 1M..64M at the benchmark shapes); it also bounds the scratch memory.
COLUMN_BUDGET = 1 << 20


def _valid(tap, stride, padding, size, out_size):
    """[first, end) of the output positions i whose tap lands inside the image:
    0 <= i*stride + tap - padding < size."""
    first = max(0, (padding - tap + stride - 1) // stride)
    end = min(out_size, (size + padding - tap + stride - 1) // stride)
    return first, max(first, end)


_valid_jit = njit(cache=True)(_valid)


def _im2col(x, cols, stride, padding):
    """cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]; out-of-image taps are 0."""
    n_, c_, h_, w_ = x.shape
    _, kh, kw, _, ho, wo = cols.shape
    planes = x.reshape(n_, c_, h_ * w_)
    blocks = cols.reshape(c_, kh, kw, n_, ho * wo)
    for r in prange(c_ * kh * kw * n_):
        n = r % n_
        t = r // n_
        b = t % kw
        t //= kw
        a = t % kh
        c = t // kh
        dst = blocks[c, a, b, n]                    # [Ho*Wo]
        src = planes[n, c]                          # [H*W]
        i0, i1 = _valid_jit(a, stride, padding, h_, ho)
        j0, j1 = _valid_jit(b, stride, padding, w_, wo)
        for q in range(i0 * wo):
            dst[q] = 0
        for q in range(i1 * wo, ho * wo):
            dst[q] = 0
        if stride == 1 and wo == w_:
            # Stride 1, same width: rows i0..i1 are the plane shifted by one flat offset, so
            # copy them in one run (sources outside the plane only feed the wrapped columns),
            # then zero the columns that wrapped around from the neighbouring row.
            shift = (a - padding) * w_ + b - padding
            lo = max(i0 * wo, -shift)
            hi = max(lo, min(i1 * wo, h_ * w_ - shift))
            for q in range(i0 * wo, lo):
                dst[q] = 0
            for q in range(lo, hi):
                dst[q] = src[q + shift]
            for q in range(hi, i1 * wo):
                dst[q] = 0
            for i in range(i0, i1):
                for j in range(j0):
                    dst[i * wo + j] = 0
                for j in range(j1, wo):
                    dst[i * wo + j] = 0
            continue
        for i in range(i0, i1):
            row = i * wo
            src_row = (i * stride + a - padding) * w_ + b - padding
            for j in range(j0):
                dst[row + j] = 0
            for j in range(j0, j1):
                dst[row + j] = src[src_row + j * stride]
            for j in range(j1, wo):
                dst[row + j] = 0


def _col2im(cols, out, stride, padding):
    """out [N, C, H, W] = the adjoint of im2col applied to cols [C, kh, kw, N, Ho, Wo]."""
    c_, kh, kw, n_, ho, wo = cols.shape
    _, _, h_, w_ = out.shape
    blocks = cols.reshape(c_, kh, kw, n_, ho * wo)
    planes = out.reshape(n_, c_, h_ * w_)
    for r in prange(n_ * c_):
        c = r % c_
        n = r // c_
        dst = planes[n, c]                          # [H*W], owned by this iteration
        for q in range(h_ * w_):
            dst[q] = 0
        for a in range(kh):
            i0, i1 = _valid_jit(a, stride, padding, h_, ho)
            for b in range(kw):
                j0, j1 = _valid_jit(b, stride, padding, w_, wo)
                src = blocks[c, a, b, n]            # [Ho*Wo]
                for i in range(i0, i1):
                    row = i * wo
                    dst_row = (i * stride + a - padding) * w_ + b - padding
                    if stride == 1:
                        for j in range(j0, j1):
                            dst[dst_row + j] += src[row + j]
                    else:
                        for j in range(j0, j1):
                            dst[dst_row + j * stride] += src[row + j]


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

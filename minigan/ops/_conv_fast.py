"""The fast convolution trio on raw arrays: im2col / col2im kernels around big matmuls.

Shared by the numba (CPU) and CUDA paths; `kernels` is the module that supplies `im2col`,
`col2im` and `COLUMN_BUDGET`. Samples are processed in chunks whose columns stay within the
budget (memory stays bounded and, on the CPU, the columns stay in cache between the kernel
that writes them and the matmul that reads them). Within a chunk the columns are one matrix
[C*kh*kw, nb*Ho*Wo] (see _conv_numba), so each group is a single large matmul.
conv2d_and_weight computes a convolution and a weight gradient that read the same columns
from one im2col.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module as xp_of
from ._im2col import conv_out_hw


def normalize(*arrays):
    """The arrays as C-contiguous copies (only where needed) of one float dtype; None stays."""
    present = [a for a in arrays if a is not None]
    xp = xp_of(present[0])
    dtype = np.result_type(*[a.dtype for a in present])
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the fast convolution path supports float32 and float64, not {dtype}")
    return [None if a is None else xp.ascontiguousarray(a, dtype=dtype) for a in arrays]


def _column_chunks(n: int, rows: int, length: int, like, kernels):
    """(n0, n1, buffer) for each chunk of samples [n0, n1): chunks hold at most
    kernels.COLUMN_BUDGET column elements (rows * length per sample, at least one sample) and
    differ in size by at most one sample (a small last chunk would make a slow small matmul);
    `buffer` is the flat start of one scratch array reused by every chunk, rows * m * length
    elements for a chunk of m samples."""
    most = max(1, min(n, kernels.COLUMN_BUDGET // max(rows * length, 1)))
    count = -(-n // most)                                   # ceil(n / most) chunks
    buf = xp_of(like).empty(rows * -(-n // count) * length, dtype=like.dtype)
    for i in range(count):
        n0, n1 = i * n // count, (i + 1) * n // count
        yield n0, n1, buf[:rows * (n1 - n0) * length]


def _im2col(x, cols, stride, padding, kernels):
    """cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]. A 1x1 kernel with stride 1 and no
    padding reads every pixel once, so its columns are x itself with N and C swapped: one
    array copy, no scratch plane."""
    if cols.shape[1:3] == (1, 1) and stride == 1 and padding == 0:
        cols[:, 0, 0] = x.transpose(1, 0, 2, 3)
    else:
        kernels.im2col(x, cols, stride, padding)


def _col2im(cols, out, stride, padding, kernels):
    """out [N, C, H, W] = the adjoint of _im2col applied to cols [C, kh, kw, N, Ho, Wo]."""
    if cols.shape[1:3] == (1, 1) and stride == 1 and padding == 0:
        out[...] = cols[:, 0, 0].transpose(1, 0, 2, 3)
    else:
        kernels.col2im(cols, out, stride, padding)


def _matmul(a, b, out=None):
    """a @ b for stacks of matrices [G, M, K] @ [G, K, P]. With K = 1 (a one-channel image
    in, or a one-channel gradient back) the product is an outer product, which BLAS runs
    about 10x slower than a broadcast multiply (measured at [64, 1] @ [1, 32768])."""
    xp = xp_of(a)
    if a.shape[-1] == 1:
        return xp.multiply(a, b, out=out)
    return xp.matmul(a, b, out=out)


def _rows(a, groups: int):
    """[nb, O, Ho, Wo] as the matmul operand [G, O/G, nb*Ho*Wo] (a copy unless nb == 1)."""
    nb, o, ho, wo = a.shape
    xp = xp_of(a)
    m = a.reshape(nb, groups, o // groups, ho * wo).transpose(1, 2, 0, 3)
    return xp.ascontiguousarray(m).reshape(groups, o // groups, nb * ho * wo)


def conv_transpose2d(y, w, stride, padding, groups, out_hw, kernels):
    """x [N, C, H, W] = the adjoint of conv2d(., w) applied to y [N, O, Ho, Wo]."""
    y, w = normalize(y, w)
    xp = xp_of(y)
    n, o, ho, wo = y.shape
    _, cg, kh, kw = w.shape
    c, (h, wd) = cg * groups, out_hw
    kg, length = cg * kh * kw, ho * wo
    wt = w.reshape(groups, o // groups, kg).transpose(0, 2, 1)                # [G, Kg, Og]
    x = xp.empty((n, c, h, wd), dtype=y.dtype)
    for n0, n1, buf in _column_chunks(n, c * kh * kw, length, y, kernels):
        m = n1 - n0
        cols = buf.reshape(groups, kg, m * length)
        _matmul(wt, _rows(y[n0:n1], groups), out=cols)                       # [G, Kg, m*L]
        _col2im(cols.reshape(c, kh, kw, m, ho, wo), x[n0:n1], stride, padding, kernels)
    return x


def conv2d_and_weight(x, w, g, stride, padding, groups, kernels, kernel=None):
    """(conv2d(x, w), conv2d_weight(x, g)) from one im2col of x: either may be skipped by
    passing None for w or g (then `kernel` = (kh, kw) gives the weight's taps).

    The two share their columns, so a backward that needs both (modulated_conv2d at up=2)
    gathers them once. x [N, C, H, W], w [O, C/G, kh, kw], g [N, O, Ho, Wo]."""
    x, w, g = normalize(x, w, g)
    xp = xp_of(x)
    n, c, h, wd = x.shape
    kh, kw = w.shape[2:] if w is not None else kernel
    o = w.shape[0] if w is not None else g.shape[1]
    cg = c // groups
    ho, wo = conv_out_hw(h, wd, kh, kw, stride, padding)
    kg, length = cg * kh * kw, ho * wo
    y = None
    if w is not None:
        wm = w.reshape(groups, o // groups, kg)                               # [G, Og, Kg]
        y = xp.empty((n, o, ho, wo), dtype=x.dtype)
    if g is not None:
        # Accumulated transposed: cols @ g^T runs 10-25% faster in BLAS than g @ cols^T at
        # these shapes (measured), and transposing dw at the end costs nothing.
        dwt = xp.zeros((groups, kg, o // groups), dtype=x.dtype)              # [G, Kg, Og]
    for n0, n1, buf in _column_chunks(n, c * kh * kw, length, x, kernels):
        m = n1 - n0
        cols = buf.reshape(c, kh, kw, m, ho, wo)
        _im2col(x[n0:n1], cols, stride, padding, kernels)
        cols = cols.reshape(groups, kg, m * length)
        if w is not None:
            out = _matmul(wm, cols)                                           # [G, Og, m*L]
            y[n0:n1] = out.reshape(o, m, ho, wo).transpose(1, 0, 2, 3)
        if g is not None:
            dwt += xp.matmul(cols, _rows(g[n0:n1], groups).transpose(0, 2, 1))
    dw = None if g is None else xp.ascontiguousarray(dwt.transpose(0, 2, 1))
    return y, (None if dw is None else dw.reshape(o, cg, kh, kw))


def conv2d(x, w, stride, padding, groups, kernels):
    """y [N, O, Ho, Wo] = conv2d(x [N, C, H, W], w [O, C/G, kh, kw])."""
    return conv2d_and_weight(x, w, None, stride, padding, groups, kernels)[0]


def conv2d_weight(x, g, kernel, stride, padding, groups, kernels):
    """dw [O, C/G, kh, kw] = d<conv2d(x, w), g>/dw for x [N, C, H, W], g [N, O, Ho, Wo]."""
    return conv2d_and_weight(x, None, g, stride, padding, groups, kernels, kernel)[1]

"""The fast convolution trio on raw arrays: im2col / col2im kernels around big matmuls.

Shared by the numba (CPU) and CUDA paths; `kernels` is the module that supplies `im2col`,
`col2im` and `COLUMN_BUDGET`. Samples are processed in chunks whose columns stay within the
budget (memory stays bounded and, on the CPU, the columns stay in cache between the kernel
that writes them and the matmul that reads them). Within a chunk the columns are one matrix
[C*kh*kw, nb*Ho*Wo] (see _conv_numba), so each group is a single large matmul.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module as xp_of
from ._im2col import conv_out_hw


def normalize(*arrays):
    """The arrays as C-contiguous copies (only where needed) of one float dtype."""
    xp = xp_of(arrays[0])
    dtype = np.result_type(*[a.dtype for a in arrays])
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the fast convolution path supports float32 and float64, not {dtype}")
    return [xp.ascontiguousarray(a, dtype=dtype) for a in arrays]


def _column_chunks(n: int, rows: int, length: int, like, kernels):
    """(n0, n1, buffer) for each chunk of samples [n0, n1): chunks hold at most
    kernels.COLUMN_BUDGET column elements (rows * length per sample, at least one sample), and
    `buffer` is the flat start of one scratch array reused by every chunk, rows * m * length
    elements for a chunk of m samples."""
    nb = max(1, min(n, kernels.COLUMN_BUDGET // max(rows * length, 1)))
    buf = xp_of(like).empty(rows * nb * length, dtype=like.dtype)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
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


def _rows(a, groups: int):
    """[nb, O, Ho, Wo] as the matmul operand [G, O/G, nb*Ho*Wo] (a copy unless nb == 1)."""
    nb, o, ho, wo = a.shape
    xp = xp_of(a)
    m = a.reshape(nb, groups, o // groups, ho * wo).transpose(1, 2, 0, 3)
    return xp.ascontiguousarray(m).reshape(groups, o // groups, nb * ho * wo)


def conv2d(x, w, stride, padding, groups, kernels):
    """y [N, O, Ho, Wo] = conv2d(x [N, C, H, W], w [O, C/G, kh, kw])."""
    x, w = normalize(x, w)
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = conv_out_hw(h, wd, kh, kw, stride, padding)
    kg, length = cg * kh * kw, ho * wo
    wm = w.reshape(groups, o // groups, kg)                                   # [G, Og, Kg]
    y = xp.empty((n, o, ho, wo), dtype=x.dtype)
    for n0, n1, buf in _column_chunks(n, c * kh * kw, length, x, kernels):
        m = n1 - n0
        cols = buf.reshape(c, kh, kw, m, ho, wo)
        _im2col(x[n0:n1], cols, stride, padding, kernels)
        out = xp.matmul(wm, cols.reshape(groups, kg, m * length))             # [G, Og, m*L]
        y[n0:n1] = out.reshape(o, m, ho, wo).transpose(1, 0, 2, 3)
    return y


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
        xp.matmul(wt, _rows(y[n0:n1], groups), out=cols)                     # [G, Kg, m*L]
        _col2im(cols.reshape(c, kh, kw, m, ho, wo), x[n0:n1], stride, padding, kernels)
    return x


def conv2d_weight(x, g, kernel, stride, padding, groups, kernels):
    """dw [O, C/G, kh, kw] = d<conv2d(x, w), g>/dw for x [N, C, H, W], g [N, O, Ho, Wo]."""
    x, g = normalize(x, g)
    xp = xp_of(x)
    n, c, _, _ = x.shape
    _, o, ho, wo = g.shape
    kh, kw = kernel
    cg = c // groups
    kg, length = cg * kh * kw, ho * wo
    dw = xp.zeros((groups, o // groups, kg), dtype=x.dtype)                   # [G, Og, Kg]
    for n0, n1, buf in _column_chunks(n, c * kh * kw, length, x, kernels):
        m = n1 - n0
        cols = buf.reshape(c, kh, kw, m, ho, wo)
        _im2col(x[n0:n1], cols, stride, padding, kernels)
        cols = cols.reshape(groups, kg, m * length)
        dw += xp.matmul(_rows(g[n0:n1], groups), cols.transpose(0, 2, 1))
    return dw.reshape(o, cg, kh, kw)

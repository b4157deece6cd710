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


def _chunks(n: int, per_sample: int, budget: int):
    """(start, stop) sample ranges with at most `budget` column elements each, and their size."""
    nb = max(1, min(n, budget // max(per_sample, 1)))
    return nb, [(n0, min(n, n0 + nb)) for n0 in range(0, n, nb)]


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
    nb, chunks = _chunks(n, c * kh * kw * length, kernels.COLUMN_BUDGET)
    buf = xp.empty(c * kh * kw * nb * length, dtype=x.dtype)
    for n0, n1 in chunks:
        m = n1 - n0
        cols = buf[:c * kh * kw * m * length].reshape(c, kh, kw, m, ho, wo)
        kernels.im2col(x[n0:n1], cols, stride, padding)
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
    nb, chunks = _chunks(n, c * kh * kw * length, kernels.COLUMN_BUDGET)
    buf = xp.empty(c * kh * kw * nb * length, dtype=y.dtype)
    for n0, n1 in chunks:
        m = n1 - n0
        cols = buf[:c * kh * kw * m * length].reshape(groups, kg, m * length)
        xp.matmul(wt, _rows(y[n0:n1], groups), out=cols)                     # [G, Kg, m*L]
        kernels.col2im(cols.reshape(c, kh, kw, m, ho, wo), x[n0:n1], stride, padding)
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
    nb, chunks = _chunks(n, c * kh * kw * length, kernels.COLUMN_BUDGET)
    buf = xp.empty(c * kh * kw * nb * length, dtype=x.dtype)
    for n0, n1 in chunks:
        m = n1 - n0
        cols = buf[:c * kh * kw * m * length].reshape(c, kh, kw, m, ho, wo)
        kernels.im2col(x[n0:n1], cols, stride, padding)
        cols = cols.reshape(groups, kg, m * length)
        dw += xp.matmul(_rows(g[n0:n1], groups), cols.transpose(0, 2, 1))
    return dw.reshape(o, cg, kh, kw)

"""CUDA im2col / col2im from kernels/conv2d.cu, with the same interface as _conv_numba."""
from __future__ import annotations

import numpy as np

from . import _cuda

# Column elements per chunk of samples: 128M elements is 512 MiB in float32; a GPU has
# the memory, and bigger chunks mean fewer, larger matmuls.
COLUMN_BUDGET = 1 << 27

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def kernel(source: str, name: str, dtype):
    """The __global__ function `name`_f32 or _f64 of kernels/<source>.cu for `dtype`."""
    suffix = _SUFFIX.get(np.dtype(dtype))
    if suffix is None:
        raise TypeError(f"{source}: the CUDA path takes float32 or float64, not {dtype}")
    return _cuda.kernel(source, f"{name}_{suffix}")


def _launch(name, size, src, dst, x_shape, cols_shape, stride, padding):
    n, c, h, w = x_shape
    _, kh, kw, _, ho, wo = cols_shape
    i32 = np.int32
    _cuda.launch_1d(kernel("conv2d", name, src.dtype), size,
                    (src, dst, i32(n), i32(c), i32(h), i32(w), i32(kh), i32(kw), i32(ho),
                     i32(wo), i32(stride), i32(padding)))


def im2col(x, cols, stride: int, padding: int):
    """Fill cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]; one thread per column entry."""
    _launch("im2col", cols.size, x, cols, x.shape, cols.shape, stride, padding)
    return cols


def col2im(cols, out, stride: int, padding: int):
    """Overwrite out [N, C, H, W] with the adjoint of im2col; one thread per pixel of out."""
    _launch("col2im", out.size, cols, out, out.shape, cols.shape, stride, padding)
    return out

"""numba im2col / col2im for the fast convolution path on the CPU.

The fast path lays columns out batch-inside, so one BLAS call covers a whole chunk of samples:

    cols [C, kh, kw, N, Ho, Wo]      cols[c, a, b, n, i, j] = x_padded[n, c, i*s + a, j*s + b]

Read as a matrix that is [C*kh*kw, N*Ho*Wo]: rows are the kernel taps of each input channel
(grouped by channel, so groups are contiguous row blocks), columns the output pixels.

Both kernels work on one padded plane at a time: one prange task owns a run of (c, n) pairs
and a zero-bordered scratch copy of the current plane x[n, c]. Every tap of every output row
is then an in-bounds window of that scratch plane, so the inner loops have no edge cases.
im2col gathers the kh*kw blocks cols[c, :, :, n] from it; col2im, its adjoint, adds those
blocks back into it, tap by tap (a, then b), and then crops the border off into out[n, c]. No
two tasks write the same element, so the results are deterministic.

The scratch plane is stored in column phases, so that the inner loops are unit-stride copies
for every stride s:

    phases[q, r, t] = x_padded[r, t*s + q]     (q < s),   so   x_padded[r, j*s + b] =
    phases[b % s, r, j + b // s]

For s = 1 that is just the padded plane. Two reasons, both measured on one core: numba (like
NumPy) reads a negative index from the end, so an index that might be negative (an offset
into the unpadded plane) costs a check per element and stops LLVM from vectorising; and a
strided inner loop (j*s + b) is a gather. With the phase plane every index is a sum of
non-negative counters with stride 1: at stride 1 on 32x32 and 16x16 planes, 0.6-0.7 -> 0.2-0.3
ns per column element. At stride 2 the output rows are short (7 or 8 elements), so per-row
overhead caps the gain: im2col 0.94 -> 0.75-0.8 ns, col2im 1.3 -> 0.7-0.9 ns.

The undecorated functions are the readable spec; the njit'ed ones run.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

PARALLEL = dict(parallel=True, cache=True, nogil=True)

# Column elements per chunk of samples: 2M elements is 8 MiB in float32, small enough that
# the columns are still in the last-level cache when the matmul reads them, big enough that
# each matmul is large (measured fastest of 0.5M..32M at the benchmark shapes, 0.68-0.73 of
# the machine's matmul rate for the forward+backward trio; 1M and 4M were within 0.05, 32M
# 0.1 slower); it also bounds the scratch memory.
COLUMN_BUDGET = 1 << 21

# Planes per prange task. A task allocates one scratch plane and reuses it for all its planes,
# so the scratch stays in L1/L2 (one scratch array for every plane would stream through memory,
# and one allocation per plane costs about as much as the copy at 4x4); 16 planes still gives
# dozens of tasks to share among threads at every layer of the models.
PLANES_PER_TASK = 16


def _phase_shape(h, w, stride, padding):
    """[s, H + 2p, ceil((W + 2p) / s)]: the scratch plane in column phases."""
    wp = w + 2 * padding
    return stride, h + 2 * padding, (wp + stride - 1) // stride


def _phase_columns(q, w, stride, padding):
    """(v0, t0, count): the image columns v0, v0 + s, ... (count of them) land in phase q, at
    phase columns t0, t0 + 1, ..."""
    v0 = (q + stride - padding % stride) % stride               # the first v with (v + p) % s == q
    count = max(0, (w - v0 + stride - 1) // stride)
    return v0, (v0 + padding) // stride, count


def _im2col(x, cols, stride, padding):
    """cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]; out-of-image taps are 0."""
    n_, c_, h_, w_ = x.shape
    _, kh, kw, _, ho, wo = cols.shape
    planes = c_ * n_
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        # Cells of the scratch plane that hold padding are never written, so zeroing it once
        # per task is enough: every plane overwrites all the others.
        phases = np.zeros(_phase_shape_jit(h_, w_, stride, padding), dtype=x.dtype)
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            c = r // n_
            n = r % n_
            if stride == 1:                                 # the padded plane: a plain copy
                phases[0, padding:padding + h_, padding:padding + w_] = x[n, c]
            else:
                for q in range(stride):
                    v0, t0, count = _phase_columns_jit(q, w_, stride, padding)
                    phases[q, padding:padding + h_, t0:t0 + count] = x[n, c, :, v0::stride]
            for a in range(kh):
                for q in range(stride):
                    for shift in range((kw - q + stride - 1) // stride):   # tap b = shift*s + q
                        block = cols[c, a, shift * stride + q, n]   # [Ho, Wo], this task's
                        for i in range(ho):
                            src = phases[q, i * stride + a]
                            dst = block[i]
                            for j in range(wo):
                                dst[j] = src[j + shift]


def _col2im(cols, out, stride, padding):
    """out [N, C, H, W] = the adjoint of im2col applied to cols [C, kh, kw, N, Ho, Wo]."""
    c_, kh, kw, n_, ho, wo = cols.shape
    _, _, h_, w_ = out.shape
    planes = c_ * n_
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        phases = np.empty(_phase_shape_jit(h_, w_, stride, padding), dtype=out.dtype)
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            c = r // n_
            n = r % n_
            phases[:] = 0
            for a in range(kh):
                for q in range(stride):
                    for shift in range((kw - q + stride - 1) // stride):   # tap b = shift*s + q
                        block = cols[c, a, shift * stride + q, n]
                        for i in range(ho):
                            src = block[i]
                            dst = phases[q, i * stride + a]
                            for j in range(wo):
                                dst[j + shift] += src[j]
            if stride == 1:
                out[n, c] = phases[0, padding:padding + h_, padding:padding + w_]
            else:
                for q in range(stride):
                    v0, t0, count = _phase_columns_jit(q, w_, stride, padding)
                    out[n, c, :, v0::stride] = phases[q, padding:padding + h_, t0:t0 + count]


_phase_shape_jit = njit(cache=True)(_phase_shape)
_phase_columns_jit = njit(cache=True)(_phase_columns)
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

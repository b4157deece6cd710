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
strided inner loop (j*s + b) is a gather. With the phase plane every inner loop is a
unit-stride copy: at stride 1 on 32x32 and 16x16 planes, 0.6-0.7 -> 0.2-0.3 ns per column
element.

The arrays are addressed through flat views with unsigned offsets, computed once per row:
an unsigned index cannot be negative, so numba emits no check at all; and every row view
sliced out of an array inside the loops has a fixed cost (numba builds an array structure
for it), which at stride 2 (rows of 7 or 8 elements) was a large part of the time. Flat offsets took stride 2 on 17x17
planes from 0.9 to 0.8 ns per column element (im2col) and 0.8 to 0.65 ns (col2im), on 32x32
planes 0.5-0.55 to 0.45; stride 1 stayed at 0.2-0.3 ns. (The scratch is allocated 3-D and
viewed flat: a flat allocation ran stride 1 up to 1.7x slower, for reasons not pinned down.)

Each kernel is two halves, each a helper that takes one plane: im2col is _plane_to_phases
then _phases_to_cols, col2im is _cols_to_phases then _phases_to_plane. The up=2 modulated
convolution (_up2_numba) puts its blur between the halves. The helpers are inlined into the
kernels by numba (inline="always"); as plain calls they made col2im at stride 2 about 20%
slower.

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


def _plane_to_phases(src, base, row_stride, flat, h_, w_, stride, padding, hp, tw):
    """The phase scratch's interior from the plane src[base + y*row_stride + v] (y < h_,
    v < w_): the first half of im2col. The padding cells are left as they are (zero)."""
    for q in range(stride):                             # image columns v0, v0 + s, ... -> phase q
        v0, t0, count = _phase_columns_jit(q, w_, stride, padding)
        for y in range(h_):
            so = np.uint64(base + y * row_stride + v0)
            do = np.uint64((q * hp + padding + y) * tw + t0)
            if stride == 1:                                     # contiguous: vectorised
                for j in range(np.uint64(count)):
                    flat[do + j] = src[so + j]
            else:
                for j in range(np.uint64(count)):
                    flat[do + j] = src[so + j * np.uint64(stride)]


def _phases_to_cols(flat, cols_flat, c, n, n_, kh, kw, ho, wo, stride, hp, tw):
    """The blocks cols[c, :, :, n] [Ho, Wo] gathered from the phase scratch: the second half of
    im2col."""
    for a in range(kh):
        for q in range(stride):
            for shift in range((kw - q + stride - 1) // stride):
                b = shift * stride + q                          # block cols[c, a, b, n] [Ho, Wo]
                d_base = ((((c * kh + a) * kw + b) * n_ + n) * ho) * wo
                s_base = (q * hp + a) * tw + shift              # its row i: phase row i*s + a
                for i in range(ho):
                    so = np.uint64(s_base + i * stride * tw)
                    do = np.uint64(d_base + i * wo)
                    for j in range(np.uint64(wo)):
                        cols_flat[do + j] = flat[so + j]


def _cols_to_phases(cols_flat, flat, c, n, n_, kh, kw, ho, wo, stride, hp, tw):
    """The adjoint of _phases_to_cols: the blocks cols[c, :, :, n] added into the scratch."""
    for a in range(kh):
        for q in range(stride):
            for shift in range((kw - q + stride - 1) // stride):
                b = shift * stride + q
                s_base = ((((c * kh + a) * kw + b) * n_ + n) * ho) * wo
                d_base = (q * hp + a) * tw + shift
                for i in range(ho):
                    so = np.uint64(s_base + i * wo)
                    do = np.uint64(d_base + i * stride * tw)
                    for j in range(np.uint64(wo)):
                        flat[do + j] += cols_flat[so + j]


def _phases_to_plane(flat, dst, base, row_stride, h_, w_, stride, padding, hp, tw):
    """The adjoint of _plane_to_phases: the scratch's interior (padding cropped off) written
    to dst[base + y*row_stride + v]."""
    for q in range(stride):                             # phase q -> image columns v0, v0 + s, ...
        v0, t0, count = _phase_columns_jit(q, w_, stride, padding)
        for y in range(h_):
            so = np.uint64((q * hp + padding + y) * tw + t0)
            do = np.uint64(base + y * row_stride + v0)
            if stride == 1:                                     # contiguous: vectorised
                for j in range(np.uint64(count)):
                    dst[do + j] = flat[so + j]
            else:
                for j in range(np.uint64(count)):
                    dst[do + j * np.uint64(stride)] = flat[so + j]


def _im2col(x, cols, stride, padding):
    """cols [C, kh, kw, N, Ho, Wo] from x [N, C, H, W]; out-of-image taps are 0."""
    n_, c_, h_, w_ = x.shape
    _, kh, kw, _, ho, wo = cols.shape
    planes = c_ * n_
    s_, hp, tw = _phase_shape_jit(h_, w_, stride, padding)
    x_flat = x.reshape(x.size)
    cols_flat = cols.reshape(cols.size)
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        # Cells of the scratch plane that hold padding are never written, so zeroing it once
        # per task is enough: every plane overwrites all the others.
        phases = np.zeros((s_, hp, tw), dtype=x.dtype)
        flat = phases.reshape(phases.size)
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            c = r // n_
            n = r % n_
            _plane_to_phases_jit(x_flat, (n * c_ + c) * h_ * w_, w_, flat, h_, w_, stride,
                                 padding, hp, tw)
            _phases_to_cols_jit(flat, cols_flat, c, n, n_, kh, kw, ho, wo, stride, hp, tw)


def _col2im(cols, out, stride, padding):
    """out [N, C, H, W] = the adjoint of im2col applied to cols [C, kh, kw, N, Ho, Wo]."""
    c_, kh, kw, n_, ho, wo = cols.shape
    _, _, h_, w_ = out.shape
    planes = c_ * n_
    s_, hp, tw = _phase_shape_jit(h_, w_, stride, padding)
    cols_flat = cols.reshape(cols.size)
    out_flat = out.reshape(out.size)
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        phases = np.empty((s_, hp, tw), dtype=out.dtype)
        flat = phases.reshape(phases.size)
        for r in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            c = r // n_
            n = r % n_
            flat[:] = 0
            _cols_to_phases_jit(cols_flat, flat, c, n, n_, kh, kw, ho, wo, stride, hp, tw)
            _phases_to_plane_jit(flat, out_flat, (n * c_ + c) * h_ * w_, w_, h_, w_, stride,
                                 padding, hp, tw)


_phase_shape_jit = njit(cache=True)(_phase_shape)
_phase_columns_jit = njit(cache=True)(_phase_columns)
_plane_to_phases_jit = njit(cache=True, inline="always")(_plane_to_phases)
_phases_to_cols_jit = njit(cache=True, inline="always")(_phases_to_cols)
_cols_to_phases_jit = njit(cache=True, inline="always")(_cols_to_phases)
_phases_to_plane_jit = njit(cache=True, inline="always")(_phases_to_plane)
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

"""upfirdn2d: upsample, pad, FIR-filter, downsample, the resampling behind StyleGAN2.

    x [N,C,H,W] --zero insertion (up)--> [N,C,H*up,W*up]
                --pad (negative pads crop)--> [N,C,H*up+py0+py1, W*up+px0+px1]
                --FIR filter f, valid--> --keep every down-th row and column--> y [N,C,Ho,Wo]

    Ho = (H*up + py0 + py1 - fh) // down + 1   (and likewise Wo)

The map is linear in x, and its adjoint is the same op with up and down swapped, the filter
flipped and the padding adjusted. So the backward is one more upfirdn2d call, and the op is
differentiable to any order on every path (reference, numba, CUDA) with no extra kernels.

The filter is a constant (it is never learned). A 1-D filter means the separable outer
product f f^T; `setup_filter` builds the usual normalised one.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..autograd import Function, Tensor
from ..backend import get_array_module as xp_of
from . import _cuda
from ._conv_numba import PLANES_PER_TASK, _phase_columns_jit as _phase_columns
from ._dispatch import choose

DEFAULT_FILTER = (1, 3, 3, 1)


def _filter_2d(f) -> np.ndarray:
    """The taps as a float64 2-D array; a 1-D filter becomes its outer product f f^T."""
    f = np.asarray(f.numpy() if isinstance(f, Tensor) else f, dtype=np.float64)
    if f.ndim == 1:
        f = np.outer(f, f)
    if f.ndim != 2 or f.size == 0:
        raise ValueError(f"a filter must be 1-D or 2-D and non-empty, got shape {f.shape}")
    return f


def setup_filter(f=DEFAULT_FILTER, normalize: bool = True) -> np.ndarray:
    """The 2-D FIR filter [fh, fw] (float32) for a 1-D or 2-D list of taps.

    Normalising makes the taps sum to 1, so filtering keeps an image's mean.
    """
    f = _filter_2d(f)
    return (f / f.sum() if normalize else f).astype(np.float32)


def _parse_padding(padding) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) from an int, an (x, y) pair or an (x0, x1, y0, y1) quadruple."""
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        px, py = padding
        return px, px, py, py
    if len(padding) == 4:
        return padding
    raise ValueError(f"padding must be an int, (x, y) or (x0, x1, y0, y1), got {padding}")


def _out_size(size: int, up: int, pad0: int, pad1: int, taps: int, down: int) -> int:
    return (size * up + pad0 + pad1 - taps) // down + 1


# ----- reference: plain array-module code, the spec ------------------------------------------

def upfirdn2d_forward_reference(x, w, up, down, pads):
    """y for x [N,C,H,W] and the cross-correlation weight w [fh,fw] (already flipped, gained)."""
    xp = xp_of(x)
    n, c, h, wd = x.shape
    px0, px1, py0, py1 = pads
    u = xp.zeros((n, c, h * up, wd * up), dtype=x.dtype)            # [N, C, H*up, W*up]
    u[:, :, ::up, ::up] = x
    u = xp.pad(u, ((0, 0), (0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
    u = u[:, :, max(-py0, 0):u.shape[2] - max(-py1, 0), max(-px0, 0):u.shape[3] - max(-px1, 0)]
    fh, fw = w.shape
    oh, ow = u.shape[2] - fh + 1, u.shape[3] - fw + 1
    y = xp.zeros((n, c, oh, ow), dtype=x.dtype)                      # [N, C, oh, ow]
    for ky in range(fh):
        for kx in range(fw):
            y += w[ky, kx] * u[:, :, ky:ky + oh, kx:kx + ow]
    return xp.ascontiguousarray(y[:, :, ::down, ::down])


# ----- CPU: numba ------------------------------------------------------------------------------

def _upfirdn2d_fwd_py(x, w, up, down, px0, py0, out):
    """out [P, Ho, Wo] from x [P, H, W] and the correlation weight w [fh, fw], polyphase.

    Of the fh*fw taps that make one output pixel, most land on inserted zeros (up > 1) or are
    only read at every down-th column (down > 1). Splitting both sides into phases removes
    both: every tap becomes one unit-stride multiply-add over a whole phase plane.

    Input phases (of `down`): the padded plane x_pad[Y, X] = x[Y - top, X - left] is stored as
        phases[qy, qx, ty, tx] = x_pad[ty*down + qy, tx*down + qx]
    Output phases (of `up`): output (oy, ox) = (i*up + s, j*up + r) accumulates in
        acc[s, r, i*tw + j]
    Tap (ky, kx) reaches a real input sample in output phase (s, r) only when up divides
    s*down + ky - py0 and r*down + kx - px0; then, with cy, cx those quotients shifted by
    (top, left), it reads phases[cy % down, cx % down, i + cy // down, j + cx // down]: as i
    and j run, that is one contiguous run of the flat phase plane (rows tw apart on both
    sides). The loop over j runs to tw, past the phase's last column; those extra sums read
    the next row (or the zero margin below the plane) and are never copied out.

    One prange task owns PLANES_PER_TASK planes and one scratch (phases, acc) for all of them.
    The taps are listed once, outside the planes: (weight, source offset, accumulator offset),
    in the reference's order within each output pixel. Offsets are unsigned: numba checks
    every signed index for a negative value (Python's from-the-end indexing), and that check
    in the inner loop stops LLVM from vectorising it; an unsigned index needs no check.
    """
    planes, h, wd = x.shape
    fh, fw = w.shape
    _, oh, ow = out.shape
    top, left = max(py0, 0), max(px0, 0)
    span_y, span_x = (oh + up - 1) // up, (ow + up - 1) // up    # rows, columns of a phase
    cy_max = ((up - 1) * down + fh - 1 - py0) // up + top
    cx_max = ((up - 1) * down + fw - 1 - px0) // up + left
    th = max((top + h + down - 1) // down, cy_max // down + span_y + 1)
    tw = max((left + wd + down - 1) // down, cx_max // down + span_x)
    length = span_y * tw                                          # one output phase, flat
    taps_w = np.empty(fh * fw * up * up, dtype=x.dtype)
    taps_src = np.empty(fh * fw * up * up, dtype=np.uint64)
    taps_acc = np.empty(fh * fw * up * up, dtype=np.uint64)
    n_taps = 0
    for s in range(min(up, oh)):
        for ky in range(fh):
            if (s * down + ky - py0) % up != 0:
                continue
            cy = (s * down + ky - py0) // up + top
            for r in range(min(up, ow)):
                for kx in range(fw):
                    if (r * down + kx - px0) % up != 0:
                        continue
                    cx = (r * down + kx - px0) // up + left
                    taps_w[n_taps] = w[ky, kx]
                    taps_src[n_taps] = ((((cy % down) * down + cx % down) * th + cy // down)
                                        * tw + cx // down)
                    taps_acc[n_taps] = (s * up + r) * length
                    n_taps += 1
    u_len, u_down, u_up = np.uint64(length), np.uint64(down), np.uint64(up)
    x_flat = x.reshape(planes * h * wd)
    out_flat = out.reshape(planes * oh * ow)
    for task in prange((planes + PLANES_PER_TASK - 1) // PLANES_PER_TASK):
        # Cells that hold padding are never written, so zeroing once per task is enough.
        phases = np.zeros(down * down * th * tw, dtype=x.dtype)
        acc = np.empty(up * up * length, dtype=x.dtype)
        for p in range(task * PLANES_PER_TASK, min(planes, (task + 1) * PLANES_PER_TASK)):
            for qy in range(down):
                vy, ty, ny = _phase_columns(qy, h, down, top)
                for qx in range(down):
                    vx, tx, nx = _phase_columns(qx, wd, down, left)
                    for i in range(ny):
                        src = np.uint64((p * h + vy + i * down) * wd + vx)
                        dst = np.uint64((((qy * down + qx) * th + ty + i) * tw + tx))
                        for j in range(np.uint64(nx)):
                            phases[dst + j] = x_flat[src + j * u_down]
            acc[:] = 0
            for t in range(n_taps):
                wk, src, dst = taps_w[t], taps_src[t], taps_acc[t]
                for m in range(u_len):
                    acc[dst + m] += wk * phases[src + m]
            for s in range(min(up, oh)):
                for r in range(min(up, ow)):
                    nx = (ow - r + up - 1) // up
                    for i in range((oh - s + up - 1) // up):
                        src = np.uint64((s * up + r) * length + i * tw)
                        dst = np.uint64((p * oh + s + i * up) * ow + r)
                        for j in range(np.uint64(nx)):
                            out_flat[dst + j * u_up] = acc[src + j]


_upfirdn2d_fwd = njit(cache=True, parallel=True)(_upfirdn2d_fwd_py)


def upfirdn2d_forward_numba(x, w, up, down, pads):
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"upfirdn2d: the numba path takes float32 or float64, not {x.dtype}")
    n, c, h, wd = x.shape
    px0, px1, py0, py1 = pads
    fh, fw = w.shape
    oh, ow = _out_size(h, up, py0, py1, fh, down), _out_size(wd, up, px0, px1, fw, down)
    planes = np.ascontiguousarray(x).reshape(n * c, h, wd)           # [N*C, H, W]
    out = np.empty((n * c, oh, ow), dtype=x.dtype)                   # [N*C, oh, ow]
    _upfirdn2d_fwd(planes, np.ascontiguousarray(w, dtype=x.dtype), up, down, px0, py0, out)
    return out.reshape(n, c, oh, ow)


# ----- GPU: kernels/upfirdn2d.cu ---------------------------------------------------------------

_CUDA_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def upfirdn2d_forward_cuda(x, w, up, down, pads):
    suffix = _CUDA_SUFFIX.get(np.dtype(x.dtype))
    if suffix is None:
        raise TypeError(f"upfirdn2d: the CUDA path takes float32 or float64, not {x.dtype}")
    xp = xp_of(x)
    n, c, h, wd = x.shape
    px0, px1, py0, py1 = pads
    fh, fw = w.shape
    oh, ow = _out_size(h, up, py0, py1, fh, down), _out_size(wd, up, px0, px1, fw, down)
    x = xp.ascontiguousarray(x)
    w = xp.ascontiguousarray(xp.asarray(w, dtype=x.dtype))
    out = xp.empty((n, c, oh, ow), dtype=x.dtype)
    i32 = np.int32
    _cuda.launch_1d(_cuda.kernel("upfirdn2d", f"upfirdn2d_{suffix}"), out.size,
                    (x, w, out, i32(n * c), i32(h), i32(wd), i32(fh), i32(fw), i32(oh), i32(ow),
                     i32(up), i32(down), i32(px0), i32(py0)))
    return out


_FORWARD = {"reference": upfirdn2d_forward_reference, "numba": upfirdn2d_forward_numba,
            "cuda": upfirdn2d_forward_cuda}


class Upfirdn2d(Function):
    """y = upfirdn2d(x) with the cross-correlation weight w; backward is the adjoint call."""

    @staticmethod
    def forward(ctx, x, w, up, down, pads, path):
        return _FORWARD[path](x, w, up, down, pads)

    @staticmethod
    def backward(ctx, grad):
        x, w, up, down, (px0, px1, py0, py1), path = ctx.args
        _, _, h, wd = x.shape
        _, _, oh, ow = grad.shape
        fh, fw = w.shape
        # Zero-insert grad by `down`, filter with the flipped weight, keep every up-th sample;
        # the pads put output (i, j) back over input (i, j) and make the result x's size.
        adjoint_pads = (fw - px0 - 1, wd * up - ow * down + px0 - up + 1,
                        fh - py0 - 1, h * up - oh * down + py0 - up + 1)
        flipped = w[::-1, ::-1]
        gx = Upfirdn2d.apply(grad, flipped, down, up, adjoint_pads, path)
        return gx, None, None, None, None, None


def upfirdn2d(x: Tensor, f, up: int = 1, down: int = 1, padding=0, gain: float = 1.0,
              flip_filter: bool = False, impl: str = "auto") -> Tensor:
    """Upsample x [N,C,H,W] by zero insertion, pad, filter with f, downsample.

    f: 1-D (separable) or 2-D taps, a constant. padding: int, (x, y) or (x0, x1, y0, y1);
    negative values crop. gain scales the filter. flip_filter=False convolves with f (as in
    signal processing); True correlates with it. Returns [N, C, Ho, Wo], see the module doc.
    """
    if x.ndim != 4:
        raise ValueError(f"upfirdn2d needs x [N,C,H,W], got shape {x.shape}")
    up, down = int(up), int(down)
    if up < 1 or down < 1:
        raise ValueError(f"upfirdn2d: up and down must be >= 1, got up={up}, down={down}")
    pads = _parse_padding(padding)
    path = choose("upfirdn2d", impl, x.device)
    f2 = _filter_2d(f)                                               # [fh, fw]
    w = f2 * gain if flip_filter else f2[::-1, ::-1] * gain         # [fh, fw], correlation
    w = x.xp.asarray(np.ascontiguousarray(w), dtype=x.dtype)
    _, _, h, wd = x.shape
    fh, fw = w.shape
    oh = _out_size(h, up, pads[2], pads[3], fh, down)
    ow = _out_size(wd, up, pads[0], pads[1], fw, down)
    if oh < 1 or ow < 1:
        raise ValueError(f"upfirdn2d: output would be {oh}x{ow} for input {h}x{wd}, up={up}, "
                         f"down={down}, padding={pads}, filter {fh}x{fw}")
    return Upfirdn2d.apply(x, w, up, down, pads, path)


def upsample2d(x: Tensor, f=None, up: int = 2, padding=0, gain: float = 1.0,
               flip_filter: bool = False, impl: str = "auto") -> Tensor:
    """Upsample by `up` with the FIR filter f (default: normalised [1,3,3,1]).

    The filter is scaled by up**2 because zero insertion leaves 1 in up**2 pixels non-zero:
    the image keeps its mean. Output [N, C, H*up, W*up] (plus any extra padding).
    """
    f = setup_filter() if f is None else _filter_2d(f)
    fh, fw = f.shape
    px0, px1, py0, py1 = _parse_padding(padding)
    pads = (px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2,
            py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=pads, gain=gain * up * up, flip_filter=flip_filter,
                     impl=impl)


def downsample2d(x: Tensor, f=None, down: int = 2, padding=0, gain: float = 1.0,
                 flip_filter: bool = False, impl: str = "auto") -> Tensor:
    """Low-pass with the FIR filter f (default: normalised [1,3,3,1]), then keep every
    down-th pixel. Output [N, C, H//down, W//down] for even sizes (plus any extra padding)."""
    f = setup_filter() if f is None else _filter_2d(f)
    fh, fw = f.shape
    px0, px1, py0, py1 = _parse_padding(padding)
    pads = (px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2,
            py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2)
    return upfirdn2d(x, f, down=down, padding=pads, gain=gain, flip_filter=flip_filter, impl=impl)


__all__ = ["upfirdn2d", "upsample2d", "downsample2d", "setup_filter"]

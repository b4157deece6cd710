"""Modulated convolution (StyleGAN2): each sample convolves with its own style-scaled weights.

    w'[n,o,c]  = w[o,c] * s[n,c]                                     modulate
    w''[n,o,c] = w'[n,o,c] * d[n,o],  d = 1/sqrt(sum_{c,taps} w'^2 + 1e-8)   demodulate
    y[n]       = conv2d(x[n], w''[n])                                up = 1
    y[n]       = blur(conv_transpose2d(x[n], w''[n], stride 2))      up = 2, output 2H x 2W

The up=2 blur is the FIR filter [1,3,3,1] (upfirdn2d), exactly as in StyleGAN2.

The reference builds the per-sample weights [N,O,C,k,k] and runs one grouped convolution
(groups = N), all with differentiable ops, so it is differentiable to any order. The fast
path never builds them. Since w''[n,o,c] = w[o,c] s[n,c] d[n,o] and sum_{c,taps} w'^2 =
sum_c s[n,c]^2 sum_taps w[o,c]^2,

    y[n,o] = d[n,o] * conv2d(x[n] * s[n], w)[o],   d = 1/sqrt((s*s) @ wsq^T + 1e-8)

one convolution of the style-scaled input with the shared base weight, between two
per-plane scalings. Its backward, on arrays, is first order only. On the CPU each form has
its own module of numba kernels around BLAS matmuls: _up1_numba (channels-last columns, the
scalings riding on the layout changes) and _up2_numba (everything after the matmul, col2im,
the scaling by d and the blur, fused plane by plane). On the GPU the steps run composed
(_conv_fast's convolution between CUDA scaling kernels, then the blur as its own upfirdn2d).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import get_array_module as xp_of
from . import _conv_cuda, _conv_fast, _up1_numba, _up2_numba
from ._cuda import launch_1d
from ._dispatch import choose
from .conv2d import conv2d, conv_transpose2d
from .elementwise import rsqrt
from .upfirdn2d import setup_filter, upfirdn2d

EPS = 1e-8
_FIR_TAPS = 4  # the up=2 blur filter [1,3,3,1]


def _up2_pads(padding: int, k: int) -> tuple[int, int]:
    """(transposed-conv padding, blur padding) for up=2, as StyleGAN2's conv2d_resample.

    The output is 2H + 1 + 2*padding - k: exactly 2H x 2W for odd k and padding k // 2.
    """
    fir_pad = padding + (_FIR_TAPS + 1) // 2 - (k - 1)
    conv_pad = max(-fir_pad, 0)
    return conv_pad, fir_pad + conv_pad


# ----- reference: composed of differentiable ops, the spec -----------------------------------

def modulated_conv2d_reference(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool,
                               up: int, padding: int) -> Tensor:
    n, c, h, wd = x.shape
    o, _, k, _ = weight.shape
    w = weight.reshape(1, o, c, k, k) * styles.reshape(n, 1, c, 1, 1)     # [N, O, C, k, k]
    if demodulate:
        d = rsqrt((w * w).sum(axis=(2, 3, 4)) + EPS)                         # [N, O]
        w = w * d.reshape(n, o, 1, 1, 1)
    xg = x.reshape(1, n * c, h, wd)                                          # [1, N*C, H, W]
    if up == 1:
        y = conv2d(xg, w.reshape(n * o, c, k, k), padding=padding, groups=n,
                   impl="reference")                                         # [1, N*O, Ho, Wo]
    else:
        conv_pad, fir_pad = _up2_pads(padding, k)
        wt = w.transpose(0, 2, 1, 3, 4).reshape(n * c, o, k, k)              # [N*C, O, k, k]
        y = conv_transpose2d(xg, wt, stride=2, padding=conv_pad, groups=n, impl="reference")
        y = upfirdn2d(y, setup_filter(), padding=fir_pad, gain=4, impl="reference")
    return y.reshape(n, o, y.shape[2], y.shape[3])                          # [N, O, Ho, Wo]


# ----- CPU: numba kernels around BLAS, one module per form of the op ------------------------

def _tap_energy(w):
    """[O, C]: sum over the kernel taps of w^2 (einsum: 4x faster than a sum over two short
    trailing axes)."""
    return xp_of(w).einsum("ocij,ocij->oc", w, w)


class _Numba:
    """up=1: channels-last columns (ops/_up1_numba.py); up=2: the transposed convolution,
    demodulation and blur fused plane by plane (ops/_up2_numba.py)."""

    @staticmethod
    def demodulation(w, s):
        """d [N, O] = 1/sqrt(sum_c s[n,c]^2 sum_taps w[o,c]^2 + EPS): a small BLAS matmul."""
        return 1.0 / np.sqrt((s * s) @ _tap_energy(w).T + w.dtype.type(EPS))

    @staticmethod
    def forward(ctx, x, w, s, demodulate, up, conv_pad, fir_pad, keep_xs):
        ctx.d = (_Numba.demodulation(w, s) if demodulate
                 else np.ones((x.shape[0], w.shape[0]), dtype=x.dtype))          # [N, O]
        if up == 1:
            y, xs = _up1_numba.forward(x, s, w, ctx.d, conv_pad)                # xs [N, H, W, C]
        else:
            xs = _up2_numba.scale_to_rows(x, s)                                  # [C, N*H*W]
            ctx.a = _up2_numba.weight_rows(w)                                    # [O*k*k, C]
            y = _up2_numba.forward(xs, x.shape, ctx.a, (w.shape[0],) + w.shape[2:], ctx.d,
                                   _blur_taps(x.dtype), conv_pad, fir_pad)
        ctx.xs = xs if keep_xs else None
        return y

    @staticmethod
    def backward(ctx, g, y, x, w, s, demodulate, up, conv_pad, fir_pad, need):
        need_x, need_s, need_w = need
        need_gxs = need_x or need_s
        if up == 1:
            xs = ctx.xs if ctx.xs is not None or not need_w else _up1_numba.to_pixels(x, s)[0]
            gx, gs, gw, dots = _up1_numba.backward(g, y, xs, x, s, w, ctx.d, conv_pad,
                                                   need_gxs, need_w)
        else:
            xs = ctx.xs if ctx.xs is not None or not need_w else _up2_numba.scale_to_rows(x, s)
            gx, gs, gw, dots = _up2_numba.backward(
                g, y, xs, x, s, ctx.a, (w.shape[0],) + w.shape[2:], ctx.d,
                _blur_taps(x.dtype), conv_pad, fir_pad, need_gxs, need_w)
        return gx if need_x else None, gs if need_s else None, gw, dots


# ----- GPU: kernels/modulated_conv2d.cu, composed around the shared convolution driver -------

_PLANE_DOT_THREADS = 256  # PLANE_DOT_THREADS in kernels/modulated_conv2d.cu


class _Cuda:
    """d * conv(x * s, w) as three steps: scale the planes, one shared convolution
    (_conv_fast), scale again; at up=2 the blur follows as its own upfirdn2d call."""

    @staticmethod
    def scale_planes(x, scale):
        n, c, h, w = x.shape
        out = xp_of(x).empty_like(x)
        fn = _conv_cuda.kernel("modulated_conv2d", "scale_planes", x.dtype)
        launch_1d(fn, x.size, (x, scale, out, np.int32(n * c), np.int32(h * w)))
        return out

    @staticmethod
    def plane_dot(a, b):
        n, c, h, w = a.shape
        out = xp_of(a).empty((n, c), dtype=a.dtype)
        fn = _conv_cuda.kernel("modulated_conv2d", "plane_dot", a.dtype)
        fn((n * c,), (_PLANE_DOT_THREADS,), (a, b, out, np.int32(h * w)))
        return out

    @staticmethod
    def demodulation(w, s):
        o, c, kh, kw = w.shape
        n = s.shape[0]
        d = xp_of(w).empty((n, o), dtype=w.dtype)
        fn = _conv_cuda.kernel("modulated_conv2d", "demodulation", w.dtype)
        launch_1d(fn, n * o, (w, s, d, np.int32(n), np.int32(o), np.int32(c),
                              np.int32(kh * kw), np.float32(EPS)))
        return d

    @staticmethod
    def forward(ctx, x, w, s, demodulate, up, conv_pad, fir_pad, keep_xs):
        xs = _Cuda.scale_planes(x, s)                                        # [N, C, H, W]
        ctx.xs = xs if keep_xs else None
        if up == 1:
            u = _conv_fast.conv2d(xs, w, 1, conv_pad, 1, _conv_cuda)         # [N, O, Ho, Wo]
        else:
            hw = tuple(2 * (size - 1) + w.shape[2] - 2 * conv_pad for size in x.shape[2:])
            wt = w.transpose(1, 0, 2, 3)                                      # [C, O, kh, kw]
            u = _conv_fast.conv_transpose2d(xs, wt, 2, conv_pad, 1, hw, _conv_cuda)
        if not demodulate:
            return u
        ctx.d = _Cuda.demodulation(w, s)                                     # [N, O]
        return _Cuda.scale_planes(u, ctx.d)

    @staticmethod
    def backward(ctx, g, y, x, w, s, demodulate, up, conv_pad, fir_pad, need):
        need_x, need_s, need_w = need
        need_gxs = need_x or need_s
        xp = xp_of(x)
        gu = _Cuda.scale_planes(g, ctx.d) if demodulate else g               # [N, O, Ho, Wo]
        xs = (ctx.xs if ctx.xs is not None else _Cuda.scale_planes(x, s)) if need_w else None
        gxs = gw = None
        if up == 1:
            # The adjoint of the convolution (then of the input scaling), and the weight's
            # gradient: two passes over different columns.
            gxs = (_conv_fast.conv_transpose2d(gu, w, 1, conv_pad, 1, x.shape[2:], _conv_cuda)
                   if need_gxs else None)
            gw = (_conv_fast.conv2d_weight(xs, gu, w.shape[2:], 1, conv_pad, 1, _conv_cuda)
                  if need_w else None)
        elif need_gxs or need_w:
            # Both are convolutions of gu at stride 2: one im2col of gu serves the two.
            wt = xp.ascontiguousarray(w.transpose(1, 0, 2, 3)) if need_gxs else None
            gxs, gw = _conv_fast.conv2d_and_weight(gu, wt, xs, 2, conv_pad, 1, _conv_cuda,
                                                   kernel=w.shape[2:])       # [N, C, H, W]
            gw = None if gw is None else gw.transpose(1, 0, 2, 3)            # [O, C, kh, kw]
        gx = _Cuda.scale_planes(gxs, s) if need_x else None
        gs = _Cuda.plane_dot(gxs, x) if need_s else None                     # [N, C]
        dots = _Cuda.plane_dot(g, y) if y is not None else None              # [N, O]
        return gx, gs, gw, dots


_PATHS = {"numba": _Numba, "cuda": _Cuda}


def _fuses_blur(path: str, up: int) -> bool:
    """Whether the fast Function includes the up=2 blur: on the CPU it is fused with the
    transposed convolution (ops/_up2_numba.py); on the GPU it is a separate upfirdn2d."""
    return up == 2 and path == "numba"


def _blur_taps(dtype) -> np.ndarray:
    """The up=2 blur as 1-D taps in correlation order: their outer product is the composed
    path's 2-D filter, setup_filter() flipped and with gain 4 (2 along each axis)."""
    f = np.array([1.0, 3.0, 3.0, 1.0])
    return (f[::-1] / f.sum() * 2).astype(dtype)


# ----- the fast Function ------------------------------------------------------------------

class ModulatedConv2d(Function):
    """d * conv(x * s, w) (up=1) or d * conv_transpose(x * s, w, stride 2) (up=2), then at
    up=2 the blur too where the path fuses it (`_fuses_blur`).

    Each path's backward returns (gx, gs, gw, dots): the gradients through the input scaling
    and the convolution with d held constant, and dots [N, O] = <g, y> per output plane, from
    which d's own gradient follows here. Where the blur is fused, y and g are the blurred
    output and its cotangent; <g, y> is the same either side of a linear map, as
    <blur^T(g), u> = <g, blur(u)>."""

    double_backward = False

    @staticmethod
    def forward(ctx, x, w, s, demodulate, up, conv_pad, fir_pad, path):
        x, w, s = _conv_fast.normalize(x, w, s)
        keep_xs = is_grad_enabled() and ctx.args[1].requires_grad   # the weight's gradient reads xs
        return _PATHS[path].forward(ctx, x, w, s, demodulate, up, conv_pad, fir_pad, keep_xs)

    @staticmethod
    def backward(ctx, grad):
        x, w, s, demodulate, up, conv_pad, fir_pad, path = ctx.args
        need_x, need_w, need_s = ctx.needs_input_grad[:3]
        x, w, s, g = _conv_fast.normalize(x.data, w.data, s.data, grad.data)
        need_dots = demodulate and (need_w or need_s)
        gx, gs, gw, dots = _PATHS[path].backward(
            ctx, g, ctx.output.data if need_dots else None, x, w, s, demodulate, up, conv_pad,
            fir_pad, (need_x, need_s, need_w))
        if need_dots:
            # y = u * d with d = (q + EPS)^(-1/2), q[n,o] = sum_c s[n,c]^2 wsq[o,c]:
            # dL/dq = -1/2 d^3 <g, u> = -1/2 d^2 <g, y>.
            gq = (-0.5 * ctx.d * ctx.d * dots).astype(x.dtype)              # [N, O]
            if need_w:
                gw = gw + 2 * w * (gq.T @ (s * s))[:, :, None, None]
            if need_s:
                gs = gs + 2 * s * (gq @ _tap_energy(w))
        return _tensor(gx), _tensor(gw), _tensor(gs), None, None, None, None, None


def _tensor(a):
    return None if a is None else Tensor(a)


# ----- the public op -----------------------------------------------------------------------

def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool = True,
                     up: int = 1, padding: int | None = None, impl: str = "auto") -> Tensor:
    """StyleGAN2's modulated convolution of x [N,C,H,W] with weight [O,C,kh,kw], styles [N,C].

    up=2 upsamples by 2 (transposed conv, then the [1,3,3,1] blur). padding defaults to
    kh // 2 (same size for up=1, exactly 2H x 2W for up=2 with odd kernels).
    impl: "auto"/"fast" (numba on the CPU, CUDA on the GPU; first order only) or "reference".
    """
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"modulated_conv2d needs x [N,C,H,W] and weight [O,C,kh,kw], "
                         f"got {x.shape} and {weight.shape}")
    n, c = x.shape[:2]
    if weight.shape[2] != weight.shape[3]:
        raise ValueError(f"modulated_conv2d needs a square kernel, got weight {weight.shape}")
    if weight.shape[1] != c:
        raise ValueError(f"modulated_conv2d: x has {c} channels but weight {weight.shape} "
                         f"expects {weight.shape[1]}")
    if styles.shape != (n, c):
        raise ValueError(f"modulated_conv2d: styles must be [N, C] = [{n}, {c}], "
                         f"got {styles.shape}")
    if up not in (1, 2):
        raise ValueError(f"modulated_conv2d: up must be 1 or 2, got {up}")
    padding = weight.shape[2] // 2 if padding is None else int(padding)
    if padding < 0:
        raise ValueError(f"modulated_conv2d: padding must be >= 0, got {padding}")
    path = choose("modulated_conv2d", impl, x.device)
    if path == "reference":
        return modulated_conv2d_reference(x, weight, styles, bool(demodulate), up, padding)
    conv_pad, fir_pad = _up2_pads(padding, weight.shape[2]) if up == 2 else (padding, 0)
    y = ModulatedConv2d.apply(x, weight, styles, bool(demodulate), up, conv_pad, fir_pad, path)
    if up == 2 and not _fuses_blur(path, up):
        y = upfirdn2d(y, setup_filter(), padding=fir_pad, gain=4, impl=impl)
    return y


__all__ = ["modulated_conv2d"]

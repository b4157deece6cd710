"""2-D convolution (cross-correlation, as in every deep-learning library) and its adjoints.

Three bilinear maps close under differentiation, which is what makes conv double-differentiable:

    conv2d(x, w)             y = A_w x                       x [N,C,H,W], w [O,C/G,kh,kw]
    conv_transpose2d(y, w)   x = A_w^T y                     (the adjoint in x)
    conv2d_weight(x, g)      dw = d<A_w x, g>/dw             (the adjoint in w)

Each one's backward is written with the other two, on the same path, so the fast paths are
differentiable to any order as well. Each has a reference (plain array code, the spec, below)
and a fast path (_conv_fast: numba or CUDA im2col/col2im around big matmuls).
"""
from __future__ import annotations

from ..autograd import Function, Tensor
from . import _conv_cuda, _conv_fast, _conv_numba
from ._dispatch import choose
from ._im2col import col2im, conv_out_size, im2col

_KERNELS = {"numba": _conv_numba, "cuda": _conv_cuda}


def _grouped_cols(x, kh, kw, stride, padding, groups):
    """im2col of x regrouped as [N, G, Cg*kh*kw, Ho*Wo] for a batched matmul."""
    cols = im2col(x, kh, kw, stride, padding)  # [N, C, kh, kw, Ho, Wo]
    n, c, _, _, ho, wo = cols.shape
    return cols.reshape(n, groups, (c // groups) * kh * kw, ho * wo), ho, wo


def conv2d_forward_reference(x, w, stride, padding, groups):
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    cols, ho, wo = _grouped_cols(x, kh, kw, stride, padding, groups)  # [N, G, K, L]
    wm = w.reshape(groups, o // groups, cg * kh * kw)                 # [G, Og, K]
    return (wm @ cols).reshape(n, o, ho, wo)                           # [N, O, Ho, Wo]


def conv_transpose2d_forward_reference(y, w, stride, padding, groups, out_hw):
    n, o, ho, wo = y.shape
    _, cg, kh, kw = w.shape
    wm = w.reshape(groups, o // groups, cg * kh * kw)                  # [G, Og, K]
    ym = y.reshape(n, groups, o // groups, ho * wo)                    # [N, G, Og, L]
    cols = wm.transpose(0, 2, 1) @ ym                                  # [N, G, K, L]
    cols = cols.reshape(n, groups * cg, kh, kw, ho, wo)
    return col2im(cols, out_hw[0], out_hw[1], stride, padding)         # [N, C, H, W]


def conv2d_weight_reference(x, g, kernel, stride, padding, groups):
    n, o, ho, wo = g.shape
    kh, kw = kernel
    cols, _, _ = _grouped_cols(x, kh, kw, stride, padding, groups)     # [N, G, K, L]
    gm = g.reshape(n, groups, o // groups, ho * wo)                    # [N, G, Og, L]
    dw = (gm @ cols.transpose(0, 1, 3, 2)).sum(axis=0)                 # [G, Og, K]
    return dw.reshape(o, x.shape[1] // groups, kh, kw)


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, stride, padding, groups, path):
        if path == "reference":
            return conv2d_forward_reference(x, w, stride, padding, groups)
        return _conv_fast.conv2d(x, w, stride, padding, groups, _KERNELS[path])

    @staticmethod
    def backward(ctx, grad):
        x, w, stride, padding, groups, path = ctx.args
        need_x, need_w = ctx.needs_input_grad[:2]
        gx = (ConvTranspose2d.apply(grad, w, stride, padding, groups, x.shape[2:], path)
              if need_x else None)
        gw = (Conv2dWeight.apply(x, grad, w.shape[2:], stride, padding, groups, path)
              if need_w else None)
        return gx, gw, None, None, None, None


class ConvTranspose2d(Function):
    @staticmethod
    def forward(ctx, y, w, stride, padding, groups, out_hw, path):
        if path == "reference":
            return conv_transpose2d_forward_reference(y, w, stride, padding, groups, out_hw)
        return _conv_fast.conv_transpose2d(y, w, stride, padding, groups, out_hw,
                                           _KERNELS[path])

    @staticmethod
    def backward(ctx, grad):
        y, w, stride, padding, groups, _, path = ctx.args
        need_y, need_w = ctx.needs_input_grad[:2]
        gy = Conv2d.apply(grad, w, stride, padding, groups, path) if need_y else None
        gw = (Conv2dWeight.apply(grad, y, w.shape[2:], stride, padding, groups, path)
              if need_w else None)
        return gy, gw, None, None, None, None, None


class Conv2dWeight(Function):
    @staticmethod
    def forward(ctx, x, g, kernel, stride, padding, groups, path):
        if path == "reference":
            return conv2d_weight_reference(x, g, kernel, stride, padding, groups)
        return _conv_fast.conv2d_weight(x, g, kernel, stride, padding, groups, _KERNELS[path])

    @staticmethod
    def backward(ctx, grad):
        x, g, _, stride, padding, groups, path = ctx.args
        need_x, need_g = ctx.needs_input_grad[:2]
        gx = (ConvTranspose2d.apply(g, grad, stride, padding, groups, x.shape[2:], path)
              if need_x else None)
        gg = Conv2d.apply(x, grad, stride, padding, groups, path) if need_g else None
        return gx, gg, None, None, None, None, None


def _check(x: Tensor, w: Tensor, stride: int, padding: int, groups: int, op: str,
           in_channels_axis: int):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op} needs x [N,C,H,W] and weight 4-D, got {x.shape} and {w.shape}")
    if stride < 1 or padding < 0 or groups < 1:
        raise ValueError(f"{op}: need stride >= 1, padding >= 0 and groups >= 1, got "
                         f"stride={stride}, padding={padding}, groups={groups}")
    c = x.shape[1]
    expected = w.shape[1] * groups if in_channels_axis == 1 else w.shape[0]
    if c != expected or w.shape[0] % groups:
        raise ValueError(f"{op}: input has {c} channels but weight {w.shape} with groups={groups} "
                         f"expects {expected}")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int = 0, groups: int = 1, impl: str = "auto") -> Tensor:
    """y[n,o] = sum_c x[n,c] (*) weight[o,c] (+ bias[o]).  x [N,C,H,W], weight [O,C/groups,kh,kw].

    impl: "auto"/"fast" (numba on the CPU, CUDA on the GPU) or "reference".
    """
    stride, padding, groups = int(stride), int(padding), int(groups)
    _check(x, weight, stride, padding, groups, "conv2d", 1)
    path = choose("conv2d", impl, x.device)
    y = Conv2d.apply(x, weight, stride, padding, groups, path)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
                     padding: int = 0, output_padding: int = 0, groups: int = 1,
                     impl: str = "auto") -> Tensor:
    """The adjoint of conv2d: x [N,Cin,H,W], weight [Cin, Cout/groups, kh, kw] (PyTorch layout).

    Output size (H-1)*stride - 2*padding + kh + output_padding. impl as for conv2d.
    """
    stride, padding, groups = int(stride), int(padding), int(groups)
    _check(x, weight, stride, padding, groups, "conv_transpose2d", 0)
    kh, kw = weight.shape[2:]
    h = (x.shape[2] - 1) * stride - 2 * padding + kh + output_padding
    w = (x.shape[3] - 1) * stride - 2 * padding + kw + output_padding
    if h < 1 or w < 1 or not 0 <= output_padding < stride:
        raise ValueError(f"conv_transpose2d: invalid output size {h}x{w} or output_padding "
                         f"{output_padding} for stride {stride}")
    path = choose("conv_transpose2d", impl, x.device)
    y = ConvTranspose2d.apply(x, weight, stride, padding, groups, (h, w), path)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


__all__ = ["conv2d", "conv_transpose2d", "conv_out_size"]

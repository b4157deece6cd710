"""bias_act: bias add, activation, gain and clamp fused into one pass over the tensor.

    y = clamp(act(x + b) * gain, -clamp, clamp)        b [C] broadcast along axis `dim`

Every layer of the generator and the discriminator ends in this, so one pass instead of four
saves most of its memory traffic. The three activations are leaky ReLUs with a negative-side
slope s (linear: s = 1, relu: s = 0, lrelu: s = alpha), so one kernel serves them all.

Double backward (R1 goes through the discriminator): dx = dy * f'(y) where f'(y) is the
slope, gain and clamp mask read off the output y. That mask is piecewise constant, so
dx is linear in dy with zero derivative in y, and its own backward is the same map again.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..autograd import Function, Tensor
from ..backend import get_array_module as xp_of
from . import _cuda
from ._dispatch import choose
from .activation import leaky_relu
from .elementwise import clamp as clamp_op
from .shape import reshape

# act -> (negative-side slope, or None to use alpha; default gain)
ACTIVATIONS = {"linear": (1.0, 1.0), "relu": (0.0, math.sqrt(2)), "lrelu": (None, math.sqrt(2))}


# ----- reference: composed of differentiable ops, the spec -----------------------------------

def bias_act_reference(x: Tensor, b: Tensor | None, slope: float, gain: float, clamp, dim: int):
    if b is not None:
        x = x + reshape(b, [1] * dim + [b.shape[0]] + [1] * (x.ndim - dim - 1))
    if slope != 1.0:
        x = leaky_relu(x, slope)
    if gain != 1.0:
        x = x * gain
    if clamp is not None:
        x = clamp_op(x, -clamp, clamp)
    return x


# ----- CPU: numba ------------------------------------------------------------------------------
# x and y are viewed as [R, L]: R = (dims before `dim`) * C rows of L contiguous elements, and
# row r uses bias b[r % C]. One prange iteration owns one row. clamp < 0 means no clamp.

def _bias_act_fwd_py(x, b, slope, gain, clamp, out):
    rows, length = x.shape
    channels = b.shape[0]
    for r in prange(rows):
        bias = b[r % channels]
        for i in range(length):
            z = x[r, i] + bias
            if z < 0:
                z = z * slope
            z = z * gain
            if clamp >= 0:
                z = min(max(z, -clamp), clamp)
            out[r, i] = z


def _bias_act_grad_py(dy, y, slope, gain, clamp, out):
    """out = dy * f'(y): gain where the pre-gain activation was positive, gain*slope where not,
    zero where the clamp cut the value off."""
    rows, length = dy.shape
    for r in prange(rows):
        for i in range(length):
            v = y[r, i]
            if clamp >= 0 and abs(v) >= clamp:
                out[r, i] = 0
            elif v * gain > 0:
                out[r, i] = dy[r, i] * gain
            else:
                out[r, i] = dy[r, i] * (gain * slope)


_bias_act_fwd = njit(cache=True, parallel=True, fastmath=False)(_bias_act_fwd_py)
_bias_act_grad = njit(cache=True, parallel=True, fastmath=False)(_bias_act_grad_py)


def _rows(shape, dim):
    """(R, L) of the [R, L] row view for a tensor of `shape` with channels on axis dim."""
    return int(np.prod(shape[:dim + 1], dtype=np.int64)), int(np.prod(shape[dim + 1:],
                                                                      dtype=np.int64))


def _check_float(x, op):
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: the fast path takes float32 or float64, not {x.dtype}")


def bias_act_forward_numba(x, b, slope, gain, clamp, dim):
    _check_float(x, "bias_act")
    scalar = x.dtype.type
    rows, length = _rows(x.shape, dim)
    b = np.zeros(x.shape[dim], x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    out = np.empty((rows, length), dtype=x.dtype)
    _bias_act_fwd(np.ascontiguousarray(x).reshape(rows, length), b, scalar(slope), scalar(gain),
                  scalar(-1 if clamp is None else clamp), out)
    return out.reshape(x.shape)


def bias_act_grad_numba(dy, y, slope, gain, clamp, dim):
    scalar = y.dtype.type
    rows, length = _rows(y.shape, dim)
    out = np.empty((rows, length), dtype=y.dtype)
    _bias_act_grad(np.ascontiguousarray(dy, dtype=y.dtype).reshape(rows, length),
                   y.reshape(rows, length), scalar(slope), scalar(gain),
                   scalar(-1 if clamp is None else clamp), out)
    return out.reshape(y.shape)


# ----- GPU: kernels/bias_act.cu -----------------------------------------------------------------

_CUDA_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def _cuda_suffix(x):
    _check_float(x, "bias_act")
    return _CUDA_SUFFIX[np.dtype(x.dtype)]


def bias_act_forward_cuda(x, b, slope, gain, clamp, dim):
    xp = xp_of(x)
    suffix, scalar = _cuda_suffix(x), x.dtype.type
    _, length = _rows(x.shape, dim)
    x = xp.ascontiguousarray(x)
    b = xp.zeros(x.shape[dim], x.dtype) if b is None else xp.ascontiguousarray(b, dtype=x.dtype)
    out = xp.empty_like(x)
    _cuda.launch_1d(_cuda.kernel("bias_act", f"bias_act_fwd_{suffix}"), x.size,
                    (x, b, out, np.int64(x.size), np.int32(b.shape[0]), np.int32(length),
                     scalar(slope), scalar(gain), scalar(-1 if clamp is None else clamp)))
    return out


def bias_act_grad_cuda(dy, y, slope, gain, clamp, dim):
    xp = xp_of(y)
    suffix, scalar = _cuda_suffix(y), y.dtype.type
    dy = xp.ascontiguousarray(dy, dtype=y.dtype)
    out = xp.empty_like(y)
    _cuda.launch_1d(_cuda.kernel("bias_act", f"bias_act_grad_{suffix}"), y.size,
                    (dy, y, out, np.int64(y.size), scalar(slope), scalar(gain),
                     scalar(-1 if clamp is None else clamp)))
    return out


_FORWARD = {"numba": bias_act_forward_numba, "cuda": bias_act_forward_cuda}
_GRAD = {"numba": bias_act_grad_numba, "cuda": bias_act_grad_cuda}


class BiasAct(Function):
    """The fused forward; its backward is BiasActGrad on the saved output."""

    @staticmethod
    def forward(ctx, x, b, slope, gain, clamp, dim, path):
        ctx.y = _FORWARD[path](x, b, slope, gain, clamp, dim)
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        x, b, slope, gain, clamp, dim, path = ctx.args
        gx = BiasActGrad.apply(grad, ctx.y, slope, gain, clamp, dim, path)
        gb = None
        if ctx.needs_input_grad[1]:
            gb = gx.sum(axis=tuple(a for a in range(gx.ndim) if a != dim))  # [C]
        return gx, gb, None, None, None, None, None


class BiasActGrad(Function):
    """dy * f'(y) for the constant output y: linear in dy, so its backward is itself."""

    @staticmethod
    def forward(ctx, dy, y, slope, gain, clamp, dim, path):
        return _GRAD[path](dy, y, slope, gain, clamp, dim)

    @staticmethod
    def backward(ctx, grad):
        _, y, slope, gain, clamp, dim, path = ctx.args
        ggrad = BiasActGrad.apply(grad, y, slope, gain, clamp, dim, path)
        return ggrad, None, None, None, None, None, None


def bias_act(x: Tensor, b: Tensor | None = None, act: str = "lrelu", alpha: float = 0.2,
             gain: float | None = None, clamp: float | None = None, dim: int = 1,
             impl: str = "auto") -> Tensor:
    """clamp(act(x + b) * gain, -clamp, clamp), b [C] broadcast along axis `dim` of x.

    act: "lrelu" (negative slope alpha), "relu" or "linear". gain defaults to sqrt(2) for
    lrelu and relu (keeps the signal's scale, as in StyleGAN) and 1 for linear. clamp=None
    means no clamp. Differentiable to any order on every path.
    """
    if act not in ACTIVATIONS:
        raise ValueError(f"bias_act: act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"bias_act: dim {dim} is out of range for a tensor of shape {x.shape}")
    dim %= x.ndim
    if b is not None and (b.ndim != 1 or b.shape[0] != x.shape[dim]):
        raise ValueError(f"bias_act: b must be [{x.shape[dim]}] (x.shape[{dim}]), got {b.shape}")
    if clamp is not None and clamp < 0:
        raise ValueError(f"bias_act: clamp must be >= 0 or None, got {clamp}")
    slope, default_gain = ACTIVATIONS[act]
    slope = float(alpha) if slope is None else slope
    gain = default_gain if gain is None else float(gain)
    clamp = None if clamp is None else float(clamp)
    path = choose("bias_act", impl, x.device)
    if path == "reference":
        return bias_act_reference(x, b, slope, gain, clamp, dim)
    return BiasAct.apply(x, b, slope, gain, clamp, dim, path)


__all__ = ["bias_act"]

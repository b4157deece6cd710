"""Reductions: sum, mean, var, std, max."""
from __future__ import annotations

from ..autograd import Function, Tensor
from ._util import normalize_axis
from .elementwise import mul_const, sqrt
from .shape import broadcast_to, reshape


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, axes, _ = ctx.args
        return broadcast_to(reshape(grad, _kept_shape(x.shape, axes)), x.shape), None, None


def sum(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    return Sum.apply(x, normalize_axis(axis, x.ndim), bool(keepdims))


def _count(x: Tensor, axes) -> int:
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    axes = normalize_axis(axis, x.ndim)
    return sum(x, axes, keepdims) * (1.0 / _count(x, axes))


def var(x: Tensor, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, (sum of squared deviations) / (count - ddof)."""
    axes = normalize_axis(axis, x.ndim)
    centred = x - mean(x, axes, keepdims=True)
    n = _count(x, axes) - ddof
    if n <= 0:
        raise ValueError(f"var over {_count(x, axes)} elements with ddof={ddof}")
    return sum(centred * centred, axes, keepdims) * (1.0 / n)


def std(x: Tensor, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return sqrt(var(x, axis, keepdims, ddof))


class Max(Function):
    """Maximum; the gradient is shared equally among tied maxima."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        return x.max(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, axes, _ = ctx.args
        kept = _kept_shape(x.shape, axes)
        top = ctx.output.data.reshape(kept)
        winners = (x.data == top).astype(x.dtype)
        share = winners / winners.sum(axis=axes, keepdims=True)
        return mul_const(broadcast_to(reshape(grad, kept), x.shape), share), None, None


def max(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    return Max.apply(x, normalize_axis(axis, x.ndim), bool(keepdims))

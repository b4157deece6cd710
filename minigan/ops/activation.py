"""Activations. Each backward is built from differentiable ops, so R1 can go through them."""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import get_array_module as xp_of
from .elementwise import mul_const


class LeakyReLU(Function):
    """max(x, alpha * x); relu is alpha = 0. The slope mask is a constant of the input."""

    @staticmethod
    def forward(ctx, x, alpha):
        return xp_of(x).where(x > 0, x, x * x.dtype.type(alpha))

    @staticmethod
    def backward(ctx, grad):
        x, alpha = ctx.args
        slope = xp_of(x.data).where(x.data > 0, 1.0, alpha).astype(x.dtype)
        return mul_const(grad, slope), None


def leaky_relu(x: Tensor, alpha: float = 0.2) -> Tensor:
    return LeakyReLU.apply(x, float(alpha))


def relu(x: Tensor) -> Tensor:
    return LeakyReLU.apply(x, 0.0)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        # Stable for large |x|: exp of a non-positive number only.
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return (grad * y * (1.0 - y),)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(x)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        return xp_of(x).tanh(x)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return (grad * (1.0 - y * y),)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


class Softplus(Function):
    """log(1 + exp(x)), computed without overflow; its derivative is sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        return (xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return (grad * sigmoid(ctx.args[0]),)


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)

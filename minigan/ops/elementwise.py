"""Elementwise arithmetic with NumPy broadcasting.

Binary ops sum their gradients back to each operand's shape with `sum_to`, so broadcasting
is differentiable. Every backward is written with these same ops (double-differentiable).
"""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import get_array_module as xp_of
from ._util import as_tensor, pair_tensors
from .shape import sum_to


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.args
        return sum_to(grad, a.shape), sum_to(grad, b.shape)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.args
        return sum_to(grad, a.shape), sum_to(neg(grad), b.shape)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.args
        need_a, need_b = ctx.needs_input_grad
        return (sum_to(grad * b, a.shape) if need_a else None,
                sum_to(grad * a, b.shape) if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.args
        need_a, need_b = ctx.needs_input_grad
        grad_b = sum_to(neg(grad) * a / (b * b), b.shape) if need_b else None
        return (sum_to(grad / b, a.shape) if need_a else None), grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return (neg(grad),)


class Pow(Function):
    """x ** p for a constant exponent p."""

    @staticmethod
    def forward(ctx, x, p):
        return x ** p

    @staticmethod
    def backward(ctx, grad):
        x, p = ctx.args
        if p == 0:
            return grad * 0.0, None
        return grad * (p * pow(x, p - 1)), None


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        return xp_of(x).exp(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad * ctx.output,)


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        return xp_of(x).log(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad / ctx.args[0],)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        return xp_of(x).sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad * 0.5 / ctx.output,)


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, x):
        return 1.0 / xp_of(x).sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return (grad * (-0.5) * y * y * y,)


class MulConst(Function):
    """grad * mask for a constant array mask: the backward of abs, clamp, relu and friends.

    Linear in its input, so its own backward is itself with the same mask.
    """

    @staticmethod
    def forward(ctx, x, mask):
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return mul_const(grad, ctx.args[1]), None


def mul_const(x: Tensor, mask) -> Tensor:
    return MulConst.apply(x, mask)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.args[0].data
        return (mul_const(grad, xp_of(x).sign(x)),)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        return xp_of(x).clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = ctx.args
        inside = xp_of(x.data).ones_like(x.data)
        if lo is not None:
            inside = inside * (x.data >= lo)
        if hi is not None:
            inside = inside * (x.data <= hi)
        return mul_const(grad, inside), None, None


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        return xp_of(a).where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        cond, a, b = ctx.args
        need_a, need_b = ctx.needs_input_grad[1:]
        zero = grad * 0.0
        return (None,
                sum_to(where(cond, grad, zero), a.shape) if need_a else None,
                sum_to(where(cond, zero, grad), b.shape) if need_b else None)


class AsType(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return astype(grad, ctx.in_dtype), None


def add(a, b) -> Tensor:
    return Add.apply(*pair_tensors(a, b))


def sub(a, b) -> Tensor:
    return Sub.apply(*pair_tensors(a, b))


def mul(a, b) -> Tensor:
    return Mul.apply(*pair_tensors(a, b))


def div(a, b) -> Tensor:
    return Div.apply(*pair_tensors(a, b))


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def pow(x: Tensor, p) -> Tensor:
    """x ** p for a constant (Python number) exponent p."""
    if isinstance(p, Tensor):
        raise TypeError("pow supports a constant exponent only; use exp(p * log(x)) for a tensor")
    return Pow.apply(x, p)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(x)


def rsqrt(x: Tensor) -> Tensor:
    """1 / sqrt(x)."""
    return Rsqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clip to [min, max]; the gradient passes where the value was inside the range."""
    if min is None and max is None:
        raise ValueError("clamp needs min, max or both")
    return Clamp.apply(x, min, max)


def where(cond, a, b) -> Tensor:
    """Elementwise a where cond else b; cond is a constant (boolean array or Tensor)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    a, b = pair_tensors(a, b)
    return Where.apply(cond, a, b)


def astype(x: Tensor, dtype) -> Tensor:
    if x.dtype == dtype:
        return x
    return AsType.apply(x, dtype)


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "rsqrt", "abs",
           "clamp", "where", "astype", "mul_const", "as_tensor"]

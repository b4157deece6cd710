"""Matrix product with batch broadcasting (the shape rules of numpy.matmul)."""
from __future__ import annotations

from ..autograd import Function, Tensor
from ._util import pair_tensors
from .shape import reshape, sum_to, transpose


def _swap_last(t: Tensor) -> Tensor:
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(t, axes)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.args
        need_a, need_b = ctx.needs_input_grad
        grad_a = sum_to(matmul(grad, _swap_last(b)), a.shape) if need_a else None
        grad_b = sum_to(matmul(_swap_last(a), grad), b.shape) if need_b else None
        return grad_a, grad_b


def matmul(a, b) -> Tensor:
    """a @ b. 1-D operands are treated as a row (a) or a column (b), as numpy does."""
    a, b = pair_tensors(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs operands with at least one dimension; use * for scalars")
    squeeze_a, squeeze_b = a.ndim == 1, b.ndim == 1
    if squeeze_a:
        a = reshape(a, (1,) + a.shape)
    if squeeze_b:
        b = reshape(b, b.shape + (1,))
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul shapes {a.shape} and {b.shape} do not align")
    out = MatMul.apply(a, b)
    if squeeze_a or squeeze_b:
        shape = out.shape[:-2] + ((out.shape[-2],) if not squeeze_a else ()) \
            + ((out.shape[-1],) if not squeeze_b else ())
        out = reshape(out, shape)
    return out

"""Shape ops: reshape, transpose, broadcast_to / sum_to, indexing, concat, stack, pad.

Each backward is another shape op, so all of them are differentiable to any order.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ..backend import get_array_module as xp_of
from ._util import normalize_axis


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape), None


def reshape(x: Tensor, shape) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Reshape.apply(x, shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return transpose(grad, tuple(np.argsort(ctx.axes))), None


def transpose(x: Tensor, axes=None) -> Tensor:
    """Permute the axes (reverse them when `axes` is None)."""
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose axes {axes} are not a permutation of {x.ndim} dimensions")
    return Transpose.apply(x, axes)


permute = transpose


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return xp_of(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape), None


def broadcast_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo.apply(x, shape)


class SumTo(Function):
    """Sum a broadcast result back down to `shape`: the adjoint of broadcast_to."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
        )
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape), None


def sum_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo.apply(x, shape)


def _is_basic_index(index) -> bool:
    """True for ints, slices, None and Ellipsis only (no arrays): a view, no repeated elements."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return scatter(grad, ctx.args[1], ctx.in_shape), None


class Scatter(Function):
    """Place `grad` into zeros of `shape` at `index`, adding where an index repeats."""

    @staticmethod
    def forward(ctx, g, index, shape):
        xp = xp_of(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            out[index] = g
        else:
            xp.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return getitem(grad, ctx.args[1]), None, None


def scatter(g: Tensor, index, shape) -> Tensor:
    return Scatter.apply(g, index, tuple(shape))


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def getitem(x: Tensor, index) -> Tensor:
    """NumPy indexing: ints, slices, None, Ellipsis, integer or boolean arrays."""
    return GetItem.apply(x, _unwrap_index(index))


class Concat(Function):
    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return xp_of(xs[0]).concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [], 0
        for n in ctx.sizes:
            index = [slice(None)] * grad.ndim
            index[ctx.axis] = slice(start, start + n)
            grads.append(getitem(grad, tuple(index)))
            start += n
        return tuple(grads)


def concat(tensors, axis: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    axis = normalize_axis(axis, tensors[0].ndim)[0]
    return Concat.apply(*tensors, axis=axis)


def stack(tensors, axis: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    axis = axis % (tensors[0].ndim + 1)
    expanded = [reshape(t, t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors]
    return concat(expanded, axis=axis)


class Pad(Function):
    """Zero padding; `pads` is one (before, after) pair per dimension, all non-negative."""

    @staticmethod
    def forward(ctx, x, pads):
        return xp_of(x).pad(x, pads)

    @staticmethod
    def backward(ctx, grad):
        index = tuple(slice(b, n - a) for (b, a), n in zip(ctx.args[1], grad.shape))
        return getitem(grad, index), None


def pad(x: Tensor, pads) -> Tensor:
    """Zero-pad. `pads` is either one (before, after) pair per dimension, or, as in
    torch.nn.functional.pad, a flat tuple (left, right, top, bottom, ...) from the last dim back."""
    pads = tuple(pads)
    if pads and not isinstance(pads[0], (tuple, list)):
        if len(pads) % 2:
            raise ValueError(f"flat pad spec needs an even length, got {pads}")
        pairs = [(0, 0)] * x.ndim
        for i in range(len(pads) // 2):
            pairs[x.ndim - 1 - i] = (pads[2 * i], pads[2 * i + 1])
        pads = tuple(pairs)
    pads = tuple((int(b), int(a)) for b, a in pads)
    if len(pads) != x.ndim:
        raise ValueError(f"pad needs {x.ndim} (before, after) pairs, got {len(pads)}")
    if any(b < 0 or a < 0 for b, a in pads):
        raise ValueError(f"pad amounts must be non-negative, got {pads}; slice to crop")
    return Pad.apply(x, pads)

"""Small helpers shared by the ops."""
from __future__ import annotations

from ..autograd import Tensor


def as_tensor(value, like: Tensor) -> Tensor:
    """`value` as a Tensor on `like`'s device; plain numbers take `like`'s dtype (no upcast)."""
    if isinstance(value, Tensor):
        return value
    xp = like.xp
    if hasattr(value, "dtype"):
        return Tensor(xp.asarray(value))
    return Tensor(xp.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else None))


def pair_tensors(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors, a plain number taking the other's dtype and device."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, a)
    return as_tensor(a, b), b


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """`axis` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))

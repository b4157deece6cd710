"""Average pooling, as a depthwise convolution with a constant box filter.

Being a conv2d, it inherits conv2d's gradients of every order.
"""
from __future__ import annotations

from ..autograd import Tensor
from .conv2d import conv2d


def avg_pool2d(x: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> Tensor:
    """Mean over kernel_size x kernel_size windows (zero padding counts in the mean)."""
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d needs x [N,C,H,W], got {x.shape}")
    k = int(kernel_size)
    c = x.shape[1]
    box = Tensor(x.xp.full((c, 1, k, k), 1.0 / (k * k), dtype=x.dtype))
    return conv2d(x, box, stride=k if stride is None else stride, padding=padding, groups=c)

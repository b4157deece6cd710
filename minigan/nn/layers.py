"""Layers: equalized-learning-rate Linear and Conv2d, Sequential, activations, Flatten.

Equalized learning rate (StyleGAN): weights are stored as N(0, 1/lr_mul^2) and scaled at run
time by lr_mul / sqrt(fan_in), so every layer learns at the same speed under Adam whatever its
size, and `lr_mul` slows a layer down (0.01 for the mapping network).
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops.bias_act import bias_act
from ..autograd import Tensor
from .module import Module, Parameter


def _rng(seed_or_rng):
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


class Linear(Module):
    """y = x @ (W * w_gain)^T + b * lr_mul, with W [out, in]."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 lr_mul: float = 1.0, bias_init: float = 0.0, equalized: bool = True, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.lr_mul = lr_mul
        std = 1.0 / lr_mul if equalized else 1.0 / math.sqrt(in_features)
        self.weight = Parameter(rng.standard_normal((out_features, in_features)) * std,
                                dtype=np.float32)
        self.w_gain = lr_mul / math.sqrt(in_features) if equalized else 1.0
        self.bias = (Parameter(np.full(out_features, bias_init / lr_mul), dtype=np.float32)
                     if bias else None)

    def forward(self, x: Tensor, act: str = "linear") -> Tensor:
        """x [N, in] -> [N, out]; `act` ("lrelu", "relu") is fused with the bias add."""
        y = ops.matmul(x, self.weight.T * self.w_gain)  # [N, out]
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if act == "linear":
            return y if bias is None else y + bias
        return bias_act(y, bias, act=act)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, lr_mul={self.lr_mul})"


class Conv2d(Module):
    """2-D convolution with equalized learning rate; weight [out, in/groups, k, k]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | None = None, bias: bool = True, groups: int = 1,
                 lr_mul: float = 1.0, equalized: bool = True, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.groups = kernel_size, stride, groups
        self.padding = kernel_size // 2 if padding is None else padding
        self.lr_mul = lr_mul
        fan_in = (in_channels // groups) * kernel_size * kernel_size
        std = 1.0 / lr_mul if equalized else 1.0 / math.sqrt(fan_in)
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        self.weight = Parameter(rng.standard_normal(shape) * std, dtype=np.float32)
        self.w_gain = lr_mul / math.sqrt(fan_in) if equalized else 1.0
        self.bias = Parameter(np.zeros(out_channels), dtype=np.float32) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return ops.conv2d(x, self.weight * self.w_gain, bias, stride=self.stride,
                          padding=self.padding, groups=self.groups)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, k={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


class Sequential(Module):
    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __iter__(self):
        return iter(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


class LeakyReLU(Module):
    def __init__(self, alpha: float = 0.2):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.alpha)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.alpha})"


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.relu(x)


class Flatten(Module):
    """[N, ...] -> [N, prod(...)]."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class AvgPool2d(Module):
    def __init__(self, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: Tensor) -> Tensor:
        return ops.avg_pool2d(x, self.kernel_size)

"""The building blocks of StyleGAN and StyleGAN2: mapping network, style layers, noise, ToGray,
minibatch standard deviation, and the residual discriminator block.

Tensors are [N, C, H, W]; latents are z [N, z_dim], w [N, w_dim], ws [N, num_ws, w_dim].
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..autograd import Tensor, no_grad
from ..ops.adain import adain
from ..ops.bias_act import bias_act
from ..ops.modulated_conv2d import modulated_conv2d
from ..ops.upfirdn2d import downsample2d, upsample2d
from .layers import Conv2d, Linear, _rng
from .module import Module, Parameter


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale each row to unit root-mean-square (StyleGAN's input normalisation of z)."""
    return x * ops.rsqrt(ops.mean(x * x, axis=1, keepdims=True) + eps)


def one_hot(labels, num_classes: int, like: Tensor) -> Tensor:
    """float [N, num_classes] one-hot rows of integer labels [N], on like's device and dtype."""
    xp = like.xp
    labels = xp.asarray(labels.data if isinstance(labels, Tensor) else labels).astype(np.int64)
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= num_classes)):
        raise ValueError(f"labels must be integers in [0, {num_classes}) of shape [N]")
    out = xp.zeros((labels.shape[0], num_classes), dtype=like.dtype)
    out[xp.arange(labels.shape[0]), labels] = 1
    return Tensor(out)


class MappingNetwork(Module):
    """z (and optionally a class) -> w through `num_layers` slow (lr_mul 0.01) dense layers.

    Tracks the running mean of w in the buffer `w_avg`, the centre for truncation.
    With num_classes > 0 and embed=True, a learned class embedding is joined to z.
    """

    def __init__(self, z_dim: int, w_dim: int, num_layers: int = 8, num_classes: int = 0,
                 lr_mul: float = 0.01, w_avg_beta: float = 0.995, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.z_dim, self.w_dim, self.num_classes = z_dim, w_dim, num_classes
        self.w_avg_beta = w_avg_beta
        if num_classes:
            self.embed = Linear(num_classes, z_dim, bias=False, rng=rng)
        dims = [z_dim * (2 if num_classes else 1)] + [w_dim] * num_layers
        self.num_layers = num_layers
        for i in range(num_layers):
            setattr(self, f"fc{i}", Linear(dims[i], dims[i + 1], lr_mul=lr_mul, rng=rng))
        self.register_buffer("w_avg", np.zeros(w_dim, dtype=np.float32))

    def forward(self, z: Tensor, labels=None, truncation: float = 1.0,
                update_w_avg: bool = False) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"mapping expects z [N, {self.z_dim}], got {z.shape}")
        x = normalize_2nd_moment(z)
        if self.num_classes:
            if labels is None:
                raise ValueError("this mapping network is class-conditioned: pass labels")
            c = normalize_2nd_moment(self.embed(one_hot(labels, self.num_classes, z)))
            x = ops.concat([x, c], axis=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x, act="lrelu")
        if update_w_avg:
            with no_grad():
                batch_mean = x.data.mean(axis=0)
                self.w_avg.data = batch_mean + (self.w_avg.data - batch_mean) * self.w_avg_beta
        if truncation != 1.0:
            x = self.w_avg + (x - self.w_avg) * truncation
        return x


class NoiseInput(Module):
    """Adds per-pixel Gaussian noise scaled by a learned strength (starts at 0).

    noise_mode: "random" draws new noise from `rng`; "const" uses a fixed buffer (for
    reproducible pictures), or `override` when set (inversion optimises its own noise maps,
    one per glyph); "none" adds nothing.
    """

    def __init__(self, resolution: int, rng=None):
        super().__init__()
        self.strength = Parameter(np.zeros(()), dtype=np.float32)
        self.register_buffer(
            "noise_const",
            _rng(rng).standard_normal((1, 1, resolution, resolution)).astype(np.float32))
        self.override: Tensor | None = None

    def forward(self, x: Tensor, noise_mode: str = "random", rng=None) -> Tensor:
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const if self.override is None else self.override
        elif noise_mode == "random":
            rng = rng if rng is not None else np.random.default_rng()
            n, _, h, w = x.shape
            noise = Tensor(x.xp.asarray(rng.standard_normal((n, 1, h, w), dtype=np.float32)))
        else:
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', not {noise_mode!r}")
        return x + noise * self.strength


class ModulatedLayer(Module):
    """StyleGAN2 layer: modulated (demodulated) 3x3 conv, optional 2x upsampling, noise,
    bias and leaky ReLU. Its style comes from w through an affine layer initialised to 1."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, up: int = 1,
                 kernel: int = 3, use_noise: bool = True, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.up = up
        self.affine = Linear(w_dim, in_ch, bias_init=1.0, rng=rng)
        self.weight = Parameter(rng.standard_normal((out_ch, in_ch, kernel, kernel)),
                                dtype=np.float32)
        self.bias = Parameter(np.zeros(out_ch), dtype=np.float32)
        self.noise = NoiseInput(resolution, rng=rng) if use_noise else None

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "random", rng=None) -> Tensor:
        styles = self.affine(w)                                        # [N, in]
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, up=self.up)
        if self.noise is not None:
            x = self.noise(x, noise_mode, rng)
        return bias_act(x, self.bias, act="lrelu")


class ToGray(Module):
    """1x1 modulated conv to one channel, without demodulation (StyleGAN2's ToRGB, gray)."""

    def __init__(self, in_ch: int, w_dim: int, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.affine = Linear(w_dim, in_ch, bias_init=1.0, rng=rng)
        self.weight = Parameter(rng.standard_normal((1, in_ch, 1, 1)), dtype=np.float32)
        self.bias = Parameter(np.zeros(1), dtype=np.float32)
        self.w_gain = 1.0 / math.sqrt(in_ch)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        styles = self.affine(w) * self.w_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, up=1)
        return bias_act(x, self.bias, act="linear")


class AdaINLayer(Module):
    """StyleGAN (v1) layer: [upsample], 3x3 conv, noise, bias + leaky ReLU, then AdaIN with a
    per-channel scale (around 1) and bias from w."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, up: int = 1,
                 conv: bool = True, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.up = up
        self.conv = Conv2d(in_ch, out_ch, 3, bias=False, rng=rng) if conv else None
        self.bias = Parameter(np.zeros(out_ch), dtype=np.float32)
        self.noise = NoiseInput(resolution, rng=rng)
        self.style = Linear(w_dim, 2 * out_ch, rng=rng)
        self.out_ch = out_ch

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "random", rng=None) -> Tensor:
        if self.up > 1:
            x = upsample2d(x, up=self.up)
        if self.conv is not None:
            x = self.conv(x)
        x = self.noise(x, noise_mode, rng)
        x = bias_act(x, self.bias, act="lrelu")
        style = self.style(w)                                          # [N, 2 * out]
        scale, bias = style[:, :self.out_ch] + 1.0, style[:, self.out_ch:]
        return adain(x, scale, bias)


def minibatch_std(x: Tensor, group_size: int = 4) -> Tensor:
    """Append one channel holding the std of features across a group of samples, so the
    discriminator can see a lack of variety in a batch. [N,C,H,W] -> [N,C+1,H,W]."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        g = 1 if all(n % k for k in range(g, 1, -1)) else max(k for k in range(1, g + 1) if n % k == 0)
    y = x.reshape(g, n // g, c, h, w)                                  # [G, M, C, H, W]
    y = y - ops.mean(y, axis=0, keepdims=True)
    y = ops.sqrt(ops.mean(y * y, axis=0) + 1e-8)                       # [M, C, H, W]
    y = ops.mean(y, axis=(1, 2, 3)).reshape(1, n // g, 1, 1, 1)        # [1, M, 1, 1, 1]
    y = ops.broadcast_to(y, (g, n // g, 1, h, w)).reshape(n, 1, h, w)  # [N, 1, H, W]
    return ops.concat([x, y], axis=1)


class DiscriminatorBlock(Module):
    """Residual block: conv 3x3 at r, low-pass downsample, conv 3x3 at r/2, plus a 1x1 skip
    on the downsampled input; the sum is scaled by 1/sqrt(2) to keep the signal's scale."""

    def __init__(self, in_ch: int, out_ch: int, rng=None):
        super().__init__()
        rng = _rng(rng)
        self.conv0 = Conv2d(in_ch, in_ch, 3, bias=False, rng=rng)
        self.bias0 = Parameter(np.zeros(in_ch), dtype=np.float32)
        self.conv1 = Conv2d(in_ch, out_ch, 3, bias=False, rng=rng)
        self.bias1 = Parameter(np.zeros(out_ch), dtype=np.float32)
        self.skip = Conv2d(in_ch, out_ch, 1, bias=False, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(downsample2d(x))
        h = bias_act(self.conv0(x), self.bias0)
        h = bias_act(self.conv1(downsample2d(h)), self.bias1)
        return (h + skip) * math.sqrt(0.5)

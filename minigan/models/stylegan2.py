"""StyleGAN2 at 16x16 or 32x32, grayscale: mapping network, modulated convolutions, skip
outputs; residual discriminator with minibatch standard deviation and class projection.

Conditioning (config.conditioning):
- "none": unconditional.
- "embed": a class embedding joins z before the mapping network (w encodes the class too).
- "content": the character picks the learned constant input and w carries only style, so a
  writer's w can be drawn onto any character. The discriminator always sees the class.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..autograd import Tensor
from ..nn import Linear, Module, Parameter
from ..nn.layers import Conv2d
from ..nn.style import (DiscriminatorBlock, MappingNetwork, ModulatedLayer, ToGray,
                        minibatch_std, normalize_2nd_moment, one_hot)
from ..ops.bias_act import bias_act
from ..ops.upfirdn2d import upsample2d
from .config import ModelConfig, _resolutions


class ConstantInput(Module):
    """The learned 4x4 start of synthesis: one per class under content conditioning."""

    def __init__(self, channels: int, num_classes: int, rng):
        super().__init__()
        self.per_class = num_classes > 0
        shape = (max(num_classes, 1), channels, 4, 4)
        self.const = Parameter(rng.standard_normal(shape), dtype=np.float32)

    def forward(self, n: int, labels=None) -> Tensor:
        if self.per_class:
            if labels is None:
                raise ValueError("this generator is content-conditioned: pass the characters' labels")
            return ops.getitem(self.const, np.asarray(labels.data if isinstance(labels, Tensor)
                                                      else labels).astype(np.int64))
        return ops.broadcast_to(self.const, (n,) + self.const.shape[1:])


class SynthesisBase(Module):
    """What every synthesis network shares: the config, the constant input (one per class under
    content conditioning), and the check of the style inputs."""

    def __init__(self, cfg: ModelConfig, rng):
        super().__init__()
        self.cfg = cfg
        content = cfg.num_classes if cfg.conditioning == "content" else 0
        self.input = ConstantInput(cfg.g_channels[4], content, rng)
        self.resolutions = _resolutions(cfg.res)

    def start(self, ws: Tensor, labels) -> Tensor:
        """Check ws [N, num_ws, w_dim]; return the constant input [N, C4, 4, 4]."""
        if ws.ndim != 3 or ws.shape[1:] != (self.cfg.num_ws, self.cfg.w_dim):
            raise ValueError(f"synthesis expects ws [N, {self.cfg.num_ws}, {self.cfg.w_dim}], "
                             f"got {ws.shape}")
        return self.input(ws.shape[0], labels)


class Synthesis2(SynthesisBase):
    """ws [N, num_ws, w_dim] (+ labels for content) -> image [N, 1, res, res] in about [-1, 1]."""

    def __init__(self, cfg: ModelConfig, rng):
        super().__init__(cfg, rng)
        ch = cfg.g_channels
        self.conv4 = ModulatedLayer(ch[4], ch[4], cfg.w_dim, 4, rng=rng)
        self.gray4 = ToGray(ch[4], cfg.w_dim, rng=rng)
        for r in self.resolutions[1:]:
            setattr(self, f"up{r}", ModulatedLayer(ch[r // 2], ch[r], cfg.w_dim, r, up=2, rng=rng))
            setattr(self, f"conv{r}", ModulatedLayer(ch[r], ch[r], cfg.w_dim, r, rng=rng))
            setattr(self, f"gray{r}", ToGray(ch[r], cfg.w_dim, rng=rng))

    def forward(self, ws: Tensor, labels=None, noise_mode: str = "random", rng=None) -> Tensor:
        x = self.start(ws, labels)                                   # [N, C4, 4, 4]
        x = self.conv4(x, ws[:, 0], noise_mode, rng)
        img = self.gray4(x, ws[:, 1])                                # [N, 1, 4, 4]
        for i, r in enumerate(self.resolutions[1:]):
            k = 1 + 2 * i
            x = getattr(self, f"up{r}")(x, ws[:, k], noise_mode, rng)
            x = getattr(self, f"conv{r}")(x, ws[:, k + 1], noise_mode, rng)
            img = upsample2d(img) + getattr(self, f"gray{r}")(x, ws[:, k + 2])
        return img


class Generator(Module):
    """StyleGAN2 generator: `mapping` (z -> w) and `synthesis` (ws -> image)."""

    synthesis_class = Synthesis2

    def __init__(self, cfg: ModelConfig, seed: int = 0):
        super().__init__()
        cfg.check_classes()
        rng = np.random.default_rng(seed)
        self.cfg = cfg
        embed_classes = cfg.num_classes if cfg.conditioning == "embed" else 0
        self.mapping = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers,
                                      num_classes=embed_classes, rng=rng)
        self.synthesis = self.synthesis_class(cfg, rng)

    @property
    def num_ws(self) -> int:
        return self.cfg.num_ws

    def ws_from_w(self, w: Tensor) -> Tensor:
        """Broadcast one w per sample to every style input: [N, w_dim] -> [N, num_ws, w_dim]."""
        return ops.broadcast_to(w.reshape(w.shape[0], 1, w.shape[1]),
                                (w.shape[0], self.num_ws, w.shape[1]))

    def forward(self, z: Tensor, labels=None, truncation: float = 1.0,
                noise_mode: str = "random", rng=None, update_w_avg: bool = False) -> Tensor:
        w = self.mapping(z, labels if self.cfg.conditioning == "embed" else None,
                         truncation=truncation, update_w_avg=update_w_avg)
        return self.synthesis(self.ws_from_w(w), labels, noise_mode, rng)


class Discriminator(Module):
    """Residual discriminator; with classes (or writers) it adds a projection term
    <embed(label), features>, so it judges 'a real A' rather than 'a real glyph'.

    The embeddings are normalised to unit RMS: an equalized-lr layer on a one-hot input would
    otherwise scale them by 1/sqrt(classes), and the class term would be too weak to make the
    generator draw the character it was asked for."""

    def __init__(self, cfg: ModelConfig, seed: int = 1, in_channels: int = 1):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.cfg = cfg
        self.in_channels = in_channels
        ch = cfg.d_channels
        res = _resolutions(cfg.res)[::-1]                            # [32, 16, 8, 4]
        self.from_gray = Conv2d(in_channels, ch[cfg.res], 1, bias=False, rng=rng)
        self.from_gray_bias = Parameter(np.zeros(ch[cfg.res]), dtype=np.float32)
        self.blocks = [f"b{r}" for r in res[:-1]]
        for r in res[:-1]:
            setattr(self, f"b{r}", DiscriminatorBlock(ch[r], ch[r // 2], rng=rng))
        self.conv4 = Conv2d(ch[4] + 1, ch[4], 3, bias=False, rng=rng)
        self.conv4_bias = Parameter(np.zeros(ch[4]), dtype=np.float32)
        self.fc = Linear(ch[4] * 16, ch[4], rng=rng)
        self.out = Linear(ch[4], 1, rng=rng)
        self.num_classes, self.num_writers = cfg.num_classes, cfg.num_writers
        if cfg.num_classes:
            self.class_embed = Linear(cfg.num_classes, ch[4], bias=False, rng=rng)
        if cfg.num_writers:
            self.writer_embed = Linear(cfg.num_writers, ch[4], bias=False, rng=rng)

    def features(self, img: Tensor) -> Tensor:
        """img [N, in_channels, res, res] -> the features [N, C4] that the score and
        projections read."""
        want = (self.in_channels, self.cfg.res, self.cfg.res)
        if img.ndim != 4 or img.shape[1:] != want:
            raise ValueError(f"discriminator expects [N, {', '.join(map(str, want))}], "
                             f"got {img.shape}")
        x = bias_act(self.from_gray(img), self.from_gray_bias)
        for name in self.blocks:
            x = getattr(self, name)(x)
        x = minibatch_std(x, self.cfg.mbstd_group)
        x = bias_act(self.conv4(x), self.conv4_bias)
        return self.fc(x.reshape(x.shape[0], -1), act="lrelu")       # [N, C4]

    def forward(self, img: Tensor, labels=None, writers=None) -> Tensor:
        """img [N, 1, res, res] -> realness logits [N]."""
        return self.score(self.features(img), labels, writers)

    def score(self, h: Tensor, labels=None, writers=None) -> Tensor:
        """Features h [N, C4] -> realness logits [N]: the plain score plus the projections."""
        score = self.out(h).reshape(-1)
        scale = 1.0 / math.sqrt(h.shape[1])
        if self.num_classes:
            if labels is None:
                raise ValueError("this discriminator is class-conditioned: pass labels")
            proj = normalize_2nd_moment(self.class_embed(one_hot(labels, self.num_classes, h)))
            score = score + ops.sum(proj * h, axis=1) * scale
        if self.num_writers and writers is not None:
            proj = normalize_2nd_moment(self.writer_embed(one_hot(writers, self.num_writers, h)))
            score = score + ops.sum(proj * h, axis=1) * scale
        return score


class HandDiscriminator(Module):
    """Judges two glyphs of different characters as one hand: is this `a` and this `g` what
    one writer wrote? The pair is stacked as two channels, [N, 2, res, res], and read by the
    residual discriminator with a projection for each glyph's character.

    Trained with real pairs (two glyphs of one writer) as real, and as fake both the generator's
    pairs (two characters drawn from one w) and real glyphs of two different writers. That last
    kind makes it judge agreement, not realism (the plain discriminator already does that), so
    its gradient asks one w to draw every character in one hand."""

    def __init__(self, cfg: ModelConfig, seed: int = 2):
        super().__init__()
        if not cfg.num_classes:
            raise ValueError("the hand discriminator needs a class-conditioned model")
        self.base = Discriminator(cfg.replace(num_writers=0), seed=seed, in_channels=2)
        self.second_embed = Linear(cfg.num_classes, cfg.d_channels[4], bias=False,
                                   rng=np.random.default_rng(seed + 1))

    def forward(self, first: Tensor, second: Tensor, first_labels, second_labels) -> Tensor:
        """first, second [N, 1, res, res], glyphs of characters first_labels and second_labels
        [N] -> logits [N] that the two are one writer's."""
        h = self.base.features(ops.concat([first, second], axis=1))
        proj = normalize_2nd_moment(self.second_embed(one_hot(second_labels, self.base.num_classes, h)))
        return self.base.score(h, first_labels) + ops.sum(proj * h, axis=1) * (1.0 / math.sqrt(h.shape[1]))

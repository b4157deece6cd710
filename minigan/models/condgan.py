"""CondGAN (the study's method 1): a DCGAN-style generator fed noise z plus a character one-hot
and, optionally, a writer one-hot; the discriminator is the residual one with projection
terms for both. A new writer is added as a new row of both writer embeddings, learned from
that writer's samples (fine-tuning on tiny data)."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Tensor, no_grad
from ..nn import Linear, Module, Parameter
from ..nn.layers import Conv2d
from ..nn.style import normalize_2nd_moment, one_hot
from ..ops.bias_act import bias_act
from ..ops.upfirdn2d import upsample2d
from .config import ModelConfig, _resolutions


def add_embedding_row(layer: Linear) -> int:
    """Grow a one-hot embedding (Linear without bias, weight [dim, rows]) by one row, started
    at the mean of the existing rows: a new writer begins as the 'average writer'."""
    with no_grad():
        w = layer.weight.data
        grown = layer.weight.xp.concatenate([w, w.mean(axis=1, keepdims=True)], axis=1)
    layer.weight = Parameter(grown)
    layer.in_features += 1
    # The equalized gain must not change, or every old row would change meaning.
    return layer.in_features - 1


class Generator(Module):
    def __init__(self, cfg: ModelConfig, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.cfg = cfg
        ch = cfg.g_channels
        self.num_classes, self.num_writers = cfg.num_classes, cfg.num_writers
        in_dim = cfg.z_dim
        if cfg.num_classes:
            self.class_embed = Linear(cfg.num_classes, cfg.z_dim, bias=False, rng=rng)
            in_dim += cfg.z_dim
        if cfg.num_writers:
            self.writer_embed = Linear(cfg.num_writers, cfg.z_dim, bias=False, rng=rng)
            in_dim += cfg.z_dim
        self.fc = Linear(in_dim, ch[4] * 16, rng=rng)
        self.resolutions = _resolutions(cfg.res)
        for r in self.resolutions[1:]:
            setattr(self, f"conv{r}a", Conv2d(ch[r // 2], ch[r], 3, rng=rng))
            setattr(self, f"conv{r}b", Conv2d(ch[r], ch[r], 3, rng=rng))
        self.to_gray = Conv2d(ch[cfg.res], 1, 1, rng=rng)

    def add_writer(self) -> int:
        """A new writer row (returns its index); train it on the new writer's glyphs."""
        if not self.num_writers:
            raise ValueError("this CondGAN has no writer conditioning")
        self.num_writers += 1
        return add_embedding_row(self.writer_embed)

    def forward(self, z: Tensor, labels=None, writers=None, noise_mode=None, rng=None,
                truncation: float = 1.0, update_w_avg: bool = False) -> Tensor:
        parts = [normalize_2nd_moment(z) * truncation]
        if self.num_classes:
            if labels is None:
                raise ValueError("this CondGAN is character-conditioned: pass labels")
            parts.append(normalize_2nd_moment(self.class_embed(one_hot(labels, self.num_classes, z))))
        if self.num_writers:
            if writers is None:
                raise ValueError("this CondGAN is writer-conditioned: pass writers")
            parts.append(normalize_2nd_moment(self.writer_embed(one_hot(writers, self.num_writers, z))))
        x = self.fc(ops.concat(parts, axis=1), act="lrelu")
        x = x.reshape(z.shape[0], -1, 4, 4)                          # [N, C4, 4, 4]
        for r in self.resolutions[1:]:
            conv_a, conv_b = getattr(self, f"conv{r}a"), getattr(self, f"conv{r}b")
            x = upsample2d(x)
            x = bias_act(ops.conv2d(x, conv_a.weight * conv_a.w_gain, padding=1), conv_a.bias)
            x = bias_act(ops.conv2d(x, conv_b.weight * conv_b.w_gain, padding=1), conv_b.bias)
        return self.to_gray(x)                                       # [N, 1, res, res]

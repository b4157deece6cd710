"""A few-shot style encoder: K glyphs of one hand, with their characters, to a W+ style code
for a content-conditioned StyleGAN2.

Fitting a code to a writer's glyphs (minigan.style) only explains the glyphs it is given; it
learns nothing about the characters the writer did not give. The encoder is trained for that
task instead (minigan.style_train): from K glyphs of a hand it predicts the code with which the
frozen generator draws the hand's *other* characters. It is an inversion method in the sense of
pSp and e4e (an encoder into W+, starting from the generator's average w), set-valued as in
few-shot font generation: each glyph is read on its own, beside the generator's average glyph of
the same character (what is left is how this hand differs), and the per-glyph features are
pooled over the set by their mean and by learned attention, so the order of the glyphs does not
matter and K can be anything from one upwards.

Hands in a batch are given as a flat list of glyphs with a hand index per glyph ([M] with
values 0..B-1), so every hand may have its own K.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .. import ops
from ..autograd import Tensor, no_grad
from ..nn import AvgPool2d, Conv2d, LeakyReLU, Linear, Module, Sequential
from ..nn.style import one_hot


@dataclass
class EncoderConfig:
    res: int                           # glyph size: the generator's resolution
    num_classes: int                   # the generator's characters
    num_ws: int                        # style inputs of the generator
    w_dim: int
    channels: list = field(default_factory=lambda: [16, 32, 64])   # per-glyph trunk widths
    feature_dim: int = 128             # per-glyph and pooled feature size
    hidden: int = 256                  # the head's hidden layer

    def __post_init__(self):
        if self.res not in (16, 32):
            raise ValueError(f"the encoder reads 16x16 or 32x32 glyphs, got res {self.res}")
        if min(self.num_classes, self.num_ws, self.w_dim) < 1:
            raise ValueError("the encoder needs num_classes, num_ws and w_dim >= 1")
        self.channels = [int(c) for c in self.channels]
        if len(self.channels) != 3:
            raise ValueError(f"the encoder's trunk has three stages, got channels {self.channels}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def hand_matrix(hands, num_hands: int, like: Tensor) -> Tensor:
    """float [B, M] with row b the indicator of the glyphs of hand b (hands [M] in 0..B-1)."""
    hands = np.asarray(hands.data if isinstance(hands, Tensor) else hands).astype(np.int64)
    if hands.ndim != 1 or (hands.size and (hands.min() < 0 or hands.max() >= num_hands)):
        raise ValueError(f"hand indices must be integers in [0, {num_hands}) of shape [M]")
    counts = np.bincount(hands, minlength=num_hands)
    if (counts == 0).any():
        raise ValueError(f"hands {np.flatnonzero(counts == 0)[:5].tolist()} have no glyphs")
    return one_hot(hands, num_hands, like).T


def set_mean(x: Tensor, hands, num_hands: int) -> Tensor:
    """Mean of x [M, F] over each hand's rows -> [B, F]."""
    member = hand_matrix(hands, num_hands, x)                              # [B, M]
    counts = ops.sum(member, axis=1, keepdims=True)                        # [B, 1]
    return ops.matmul(member, x) / counts


def set_attention(x: Tensor, scores: Tensor, hands, num_hands: int) -> Tensor:
    """Softmax-weighted mean of x [M, F] over each hand's rows, weights from scores [M, 1]
    normalised within the hand -> [B, F]. Built from differentiable ops, so no gradient
    check of its own is needed."""
    member = hand_matrix(hands, num_hands, x)                              # [B, M]
    shift = float(scores.data.max()) if scores.shape[0] else 0.0
    weight = ops.exp(scores - shift)                                       # [M, 1]
    return ops.matmul(member, x * weight) / ops.matmul(member, weight)


class StyleEncoder(Module):
    """Glyphs [M, 1, res, res] in [-1, 1] of B hands, labels [M], hands [M] -> ws [B, num_ws, w_dim].

    Buffers: `reference` [num_classes, 1, res, res], the generator's glyph of each character at
    its average w (the second input channel), and `w_avg` [w_dim], the code the offsets start
    from. Both come from the generator the encoder is trained for (`from_generator`).
    """

    def __init__(self, cfg: EncoderConfig, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.cfg = cfg
        c1, c2, c3 = cfg.channels
        f = cfg.feature_dim
        self.trunk = Sequential(                                               # [M, 2, r, r]
            Conv2d(2, c1, 3, rng=rng), LeakyReLU(0.2), AvgPool2d(2),           # [M, c1, r/2, r/2]
            Conv2d(c1, c2, 3, rng=rng), LeakyReLU(0.2), AvgPool2d(2),          # [M, c2, r/4, r/4]
            Conv2d(c2, c3, 3, rng=rng), LeakyReLU(0.2), AvgPool2d(2))          # [M, c3, r/8, r/8]
        side = cfg.res // 8
        self.glyph_fc = Linear(c3 * side * side, f, rng=rng)
        self.char_embed = Linear(cfg.num_classes, f, bias=False, rng=rng)
        self.mix = Linear(2 * f, f, rng=rng)
        self.attend = Linear(f, 1, rng=rng)
        self.head0 = Linear(2 * f, cfg.hidden, rng=rng)
        self.head1 = Linear(cfg.hidden, cfg.num_ws * cfg.w_dim, rng=rng)
        self.head1.weight.data[...] = 0.0          # start at the average w: the offsets grow
        self.register_buffer("reference", np.zeros((cfg.num_classes, 1, cfg.res, cfg.res),
                                                   dtype=np.float32))
        self.register_buffer("w_avg", np.zeros(cfg.w_dim, dtype=np.float32))

    @classmethod
    def from_generator(cls, G, cfg_g, seed: int = 0, **sizes) -> "StyleEncoder":
        """An encoder for the content-conditioned generator G (config cfg_g), its buffers taken
        from G: the average w of 2048 mapped draws, and each character drawn there."""
        from ..invert import w_statistics

        if cfg_g.model == "condgan" or cfg_g.conditioning != "content":
            raise ValueError("a style encoder needs a content-conditioned StyleGAN or StyleGAN2")
        enc = cls(EncoderConfig(res=cfg_g.res, num_classes=cfg_g.num_classes,
                                num_ws=cfg_g.num_ws, w_dim=cfg_g.w_dim, **sizes), seed=seed)
        w_avg, _ = w_statistics(G, cfg_g, seed=seed)
        with no_grad():
            ws = np.broadcast_to(w_avg.astype(np.float32),
                                 (cfg_g.num_classes, cfg_g.num_ws, cfg_g.w_dim)).copy()
            ref = G.synthesis(Tensor(ws), np.arange(cfg_g.num_classes), noise_mode="const")
        enc.reference.data = np.asarray(ref.numpy(), np.float32)
        enc.w_avg.data = w_avg.astype(np.float32)
        return enc

    def glyph_features(self, glyphs: Tensor, labels) -> Tensor:
        """[M, 1, res, res], labels [M] -> per-glyph features [M, feature_dim]."""
        cfg = self.cfg
        if glyphs.ndim != 4 or glyphs.shape[1:] != (1, cfg.res, cfg.res):
            raise ValueError(f"the encoder reads glyphs [M, 1, {cfg.res}, {cfg.res}], "
                             f"got {glyphs.shape}")
        labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels, np.int64)
        ref = Tensor(self.reference.data[self.reference.xp.asarray(labels)])   # [M, 1, r, r]
        h = self.trunk(ops.concat([glyphs, ref], axis=1))                     # [M, c3, r/8, r/8]
        h = self.glyph_fc(h.reshape(h.shape[0], -1), act="lrelu")            # [M, F]
        c = self.char_embed(one_hot(labels, cfg.num_classes, h))              # [M, F]
        return self.mix(ops.concat([h, c], axis=1), act="lrelu")              # [M, F]

    def offsets(self, glyphs: Tensor, labels, hands, num_hands: int) -> Tensor:
        """The codes' offsets from the average w: [B, num_ws, w_dim]."""
        g = self.glyph_features(glyphs, labels)                               # [M, F]
        pooled = ops.concat([set_mean(g, hands, num_hands),
                             set_attention(g, self.attend(g), hands, num_hands)], axis=1)
        h = self.head0(pooled, act="lrelu")                                   # [B, hidden]
        return self.head1(h).reshape(num_hands, self.cfg.num_ws, self.cfg.w_dim)

    def forward(self, glyphs: Tensor, labels, hands, num_hands: int) -> Tensor:
        return self.w_avg + self.offsets(glyphs, labels, hands, num_hands)

    @no_grad()
    def encode(self, glyphs: np.ndarray, labels) -> np.ndarray:
        """One hand's glyphs [K, 1, res, res] in [-1, 1] with labels [K] (indices into the
        generator's charset) -> its style code ws [1, num_ws, w_dim] as a float32 array."""
        glyphs = np.asarray(glyphs, np.float32)
        if len(glyphs) == 0:
            raise ValueError("the encoder needs at least one glyph of the hand")
        if len(labels) != len(glyphs):
            raise ValueError(f"{len(glyphs)} glyphs but {len(labels)} labels")
        ws = self(Tensor(glyphs), np.asarray(labels), np.zeros(len(glyphs), np.int64), 1)
        return ws.numpy().astype(np.float32)

"""StyleGAN (v1) at 16x16 or 32x32, grayscale: the same mapping network as StyleGAN2, a learned
constant, two AdaIN layers per resolution with per-layer noise, and one ToGray at the end.
The discriminator is StyleGAN2's residual one (stylegan2.Discriminator)."""
from __future__ import annotations

from ..autograd import Tensor
from ..nn.layers import Conv2d
from ..nn.style import AdaINLayer
from .config import ModelConfig
from .stylegan2 import Generator as _Generator2
from .stylegan2 import SynthesisBase


class SynthesisAdaIN(SynthesisBase):
    """ws [N, num_ws, w_dim] (+ labels for content) -> image [N, 1, res, res]."""

    def __init__(self, cfg: ModelConfig, rng):
        super().__init__(cfg, rng)
        ch = cfg.g_channels
        self.layer4a = AdaINLayer(ch[4], ch[4], cfg.w_dim, 4, conv=False, rng=rng)
        self.layer4b = AdaINLayer(ch[4], ch[4], cfg.w_dim, 4, rng=rng)
        for r in self.resolutions[1:]:
            setattr(self, f"layer{r}a", AdaINLayer(ch[r // 2], ch[r], cfg.w_dim, r, up=2, rng=rng))
            setattr(self, f"layer{r}b", AdaINLayer(ch[r], ch[r], cfg.w_dim, r, rng=rng))
        self.to_gray = Conv2d(ch[cfg.res], 1, 1, rng=rng)

    def forward(self, ws: Tensor, labels=None, noise_mode: str = "random", rng=None) -> Tensor:
        x = self.start(ws, labels)                                  # [N, C4, 4, 4]
        for i, r in enumerate(self.resolutions):
            x = getattr(self, f"layer{r}a")(x, ws[:, 2 * i], noise_mode, rng)
            x = getattr(self, f"layer{r}b")(x, ws[:, 2 * i + 1], noise_mode, rng)
        return self.to_gray(x)                                      # [N, 1, res, res]


class Generator(_Generator2):
    """StyleGAN generator: the StyleGAN2 generator's interface and mapping, AdaIN synthesis."""

    synthesis_class = SynthesisAdaIN

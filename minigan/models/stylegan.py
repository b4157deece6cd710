"""StyleGAN (v1) at 16x16 or 32x32, grayscale: the same mapping network as StyleGAN2, a learned
constant, two AdaIN layers per resolution with per-layer noise, and one ToGray at the end.
The discriminator is StyleGAN2's residual one (stylegan2.Discriminator)."""
from __future__ import annotations

from ..autograd import Tensor
from ..nn import Module
from ..nn.layers import Conv2d
from ..nn.style import AdaINLayer
from .config import ModelConfig, _resolutions
from .stylegan2 import ConstantInput, Generator as _Generator2


class SynthesisAdaIN(Module):
    def __init__(self, cfg: ModelConfig, rng):
        super().__init__()
        self.cfg = cfg
        ch = cfg.g_channels
        content = cfg.num_classes if cfg.conditioning == "content" else 0
        self.input = ConstantInput(ch[4], content, rng)
        self.resolutions = _resolutions(cfg.res)
        self.layers = []
        self.layer4a = AdaINLayer(ch[4], ch[4], cfg.w_dim, 4, conv=False, rng=rng)
        self.layer4b = AdaINLayer(ch[4], ch[4], cfg.w_dim, 4, rng=rng)
        for r in self.resolutions[1:]:
            setattr(self, f"layer{r}a", AdaINLayer(ch[r // 2], ch[r], cfg.w_dim, r, up=2, rng=rng))
            setattr(self, f"layer{r}b", AdaINLayer(ch[r], ch[r], cfg.w_dim, r, rng=rng))
        self.to_gray = Conv2d(ch[cfg.res], 1, 1, rng=rng)

    def forward(self, ws: Tensor, labels=None, noise_mode: str = "random", rng=None) -> Tensor:
        if ws.ndim != 3 or ws.shape[1:] != (self.cfg.num_ws, self.cfg.w_dim):
            raise ValueError(f"synthesis expects ws [N, {self.cfg.num_ws}, {self.cfg.w_dim}], "
                             f"got {ws.shape}")
        x = self.input(ws.shape[0], labels)                         # [N, C4, 4, 4]
        for i, r in enumerate(self.resolutions):
            x = getattr(self, f"layer{r}a")(x, ws[:, 2 * i], noise_mode, rng)
            x = getattr(self, f"layer{r}b")(x, ws[:, 2 * i + 1], noise_mode, rng)
        return self.to_gray(x)                                      # [N, 1, res, res]


class Generator(_Generator2):
    """StyleGAN generator: the StyleGAN2 generator's interface and mapping, AdaIN synthesis."""

    synthesis_class = SynthesisAdaIN

"""A writer's style: fit one style code to a person's glyphs, then draw any character with it.

With a content-conditioned StyleGAN2 the character is chosen by the generator's constant input
and w carries only how it is written, so one w fitted to all of a person's glyphs (each drawn
with its own, known character) can draw characters that person never wrote. This is what the
study's per-glyph inversion lacked: there each w also encoded which letter it was, so moving it
onto another letter produced nonsense.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .autograd import Tensor, no_grad
from .invert import invert, w_statistics
from .models import ModelConfig


@dataclass
class Style:
    ws: np.ndarray                 # [1, num_ws, w_dim]
    w_spread: float                # typical distance of w from the mean, to scale variation
    fitted_on: str = ""            # the characters it was fitted to

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, ws=self.ws, w_spread=np.float32(self.w_spread),
                 fitted_on=np.array(self.fitted_on))
        return path

    @classmethod
    def load(cls, path) -> "Style":
        with np.load(path, allow_pickle=False) as z:
            if "ws" not in z.files:
                raise ValueError(f"{path} is not a fitted style (it has no 'ws' array)")
            return cls(ws=z["ws"].astype(np.float32), w_spread=float(z["w_spread"]),
                       fitted_on=str(z["fitted_on"]))


def check_style_model(cfg: ModelConfig) -> None:
    if cfg.model == "condgan" or cfg.conditioning != "content":
        raise ValueError("drawing a writer's style on new characters needs a content-conditioned "
                         "StyleGAN or StyleGAN2 (train with --conditioning content)")


def char_labels(cfg: ModelConfig, chars) -> np.ndarray:
    unknown = sorted(set(chars) - set(cfg.charset))
    if unknown:
        raise ValueError(f"the model cannot draw {''.join(unknown)!r}; it knows {cfg.charset!r}")
    return np.array([cfg.charset.index(c) for c in chars], dtype=np.int64)


def fit_style(G, cfg: ModelConfig, glyphs: np.ndarray, chars: str, space: str = "w+",
              steps: int = 200, lr: float = 0.05, optimize_noise: bool = False,
              seed: int = 0, log=None) -> Style:
    """One style code explaining all `glyphs` [K, 1, res, res] (in [-1, 1]) of one writer."""
    check_style_model(cfg)
    if len(chars) != len(glyphs):
        raise ValueError(f"{len(glyphs)} glyphs but {len(chars)} characters")
    result = invert(G, cfg, glyphs, char_labels(cfg, chars), space=space, shared=True,
                    steps=steps, lr=lr, optimize_noise=optimize_noise, seed=seed, log=log)
    _, spread = w_statistics(G, cfg, seed=seed)
    return Style(ws=result.ws, w_spread=spread, fitted_on="".join(sorted(set(chars))))


def random_style(G, cfg: ModelConfig, seed: int = 0, truncation: float = 0.7) -> Style:
    """A style drawn from the model's own distribution (when the user gives none)."""
    check_style_model(cfg)
    rng = np.random.default_rng(seed)
    with no_grad():
        z = Tensor(rng.standard_normal((1, cfg.z_dim)).astype(np.float32))
        ws = G.ws_from_w(G.mapping(z, truncation=truncation)).numpy()
    _, spread = w_statistics(G, cfg, seed=seed)
    return Style(ws=ws, w_spread=spread, fitted_on="")


@no_grad()
def draw(G, cfg: ModelConfig, style: Style, chars: str, variation: float = 0.0,
         seed: int = 0) -> np.ndarray:
    """Glyphs [len(chars), 1, res, res] in [-1, 1] of `chars` in `style`.

    variation > 0 nudges each glyph's style code by that fraction of the model's w spread and
    draws fresh noise, so repeated letters differ the way handwriting does.
    """
    check_style_model(cfg)
    n = len(chars)
    if n == 0:
        return np.zeros((0, 1, cfg.res, cfg.res), dtype=np.float32)
    labels = char_labels(cfg, chars)
    rng = np.random.default_rng(seed)
    ws = np.repeat(style.ws.astype(np.float32), n, axis=0)                # [n, L, D]
    if variation > 0:
        per_glyph = rng.standard_normal((n, 1, cfg.w_dim)) / np.sqrt(cfg.w_dim)
        ws = ws + (per_glyph * style.w_spread * variation).astype(np.float32)
        return G.synthesis(Tensor(ws), labels, noise_mode="random", rng=rng).numpy()
    return G.synthesis(Tensor(ws), labels, noise_mode="const").numpy()

"""Generator output -> the 28x28 uint8 glyphs that the feature networks read."""
from __future__ import annotations

import numpy as np

from ..data.transforms import resize


def to_glyphs(images) -> np.ndarray:
    """Generator output [N, 1, res, res] (or [N, res, res]) in [-1, 1] -> uint8 [N, 28, 28].

    The way back from how minigan.train feeds real glyphs to a model (pixels / 127.5 - 1 after
    a resize 28 -> res: bilinear up to 32, an area average down to 16), with a resize res -> 28
    (an area average down from 32, bilinear up from 16).
    """
    x = np.asarray(images, np.float32)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"expected one grey channel, got images {x.shape}")
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"expected square images [N, 1, res, res], got {np.shape(images)}")
    pixels = np.clip(np.rint((x + 1) * 127.5), 0, 255).astype(np.uint8)    # [N, res, res]
    return pixels if pixels.shape[1] == 28 else resize(pixels, 28)


def at_resolution(glyphs: np.ndarray, res: int) -> np.ndarray:
    """Real uint8 glyphs [N, 28, 28] as a res x res model would see and give them back.

    Down to res and up to 28 again, so real and generated glyphs lose the same detail and a
    16x16 model is not charged for the resolution it was built with.
    """
    return glyphs if res == 28 else resize(resize(glyphs, res), 28)

"""Pictures people look at: sample grids and the GIF of training progress."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ._files import write_atomic


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output [N, 1, H, W] in about [-1, 1] -> uint8 [N, H, W], white ink on black."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4:
        x = x[:, 0]
    return np.clip((x + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, cols: int, scale: int = 2, pad: int = 2) -> Image.Image:
    """Glyphs [N, 1, H, W] (float in [-1, 1]) or [N, H, W] (uint8) as a grid, dark ink on paper."""
    glyphs = images if images.dtype == np.uint8 and images.ndim == 3 else to_uint8(images)
    n, h, w = glyphs.shape
    rows = max(1, -(-n // cols))
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 255, dtype=np.uint8)
    for i, g in enumerate(glyphs):
        r, c = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        sheet[top:top + h, left:left + w] = 255 - g
    img = Image.fromarray(sheet)
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def save_atomic(image: Image.Image, path, **kwargs) -> Path:
    """Save a picture through a temporary file and a rename: never a half-written PNG.
    The format comes from `path`'s suffix unless `format=` is given."""
    kwargs.setdefault("format", Image.registered_extensions().get(Path(path).suffix.lower(), "PNG"))
    return write_atomic(path, lambda f: image.save(f, **kwargs))


def save_gif(frames: list[Image.Image], path, ms_per_frame: int = 400) -> Path:
    """An animated GIF of the frames (the last one held three times as long)."""
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    durations = [ms_per_frame] * (len(frames) - 1) + [ms_per_frame * 3]
    return save_atomic(frames[0], path, format="GIF", save_all=True,
                       append_images=frames[1:], duration=durations, loop=0)

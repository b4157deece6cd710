"""Pictures people look at: sample grids and the GIF of training progress."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


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


def default_file_mode() -> int:
    """0o666 less the umask: what open() would give (mkstemp's files are 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def save_atomic(image: Image.Image, path, **kwargs) -> Path:
    """Save a picture through a temporary file and a rename: never a half-written PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        image.save(tmp, **kwargs)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_gif(frames: list[Image.Image], path, ms_per_frame: int = 400) -> Path:
    """An animated GIF of the frames (the last one held three times as long)."""
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    durations = [ms_per_frame] * (len(frames) - 1) + [ms_per_frame * 3]
    return save_atomic(frames[0], path, format="GIF", save_all=True,
                       append_images=frames[1:], duration=durations, loop=0)

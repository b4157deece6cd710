"""Contact sheets: a grid of glyphs with their labels, for checking a dataset by eye."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .dataset import GlyphDataset


def font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def contact_sheet(
    ds: GlyphDataset, per_class: int = 12, max_classes: int = 62, scale: int = 2, writer: int | None = None, seed: int = 0
) -> Image.Image:
    """One row per class (label at the left), `per_class` random samples of it, black ink on white.

    Dark ink on paper reads like handwriting at a glance; upside-down or mirrored sets stand out.
    """
    rng = np.random.default_rng(seed)
    labels = ds.labels if writer is None else np.where(ds.writers == writer, ds.labels, -1)
    classes = [c for c in range(ds.num_classes) if np.any(labels == c)][:max_classes]
    h, w = ds.images.shape[1:]
    cell_h, cell_w = h * scale + 2, w * scale + 2
    label_w = 28
    sheet = Image.new("L", (label_w + per_class * cell_w, max(1, len(classes)) * cell_h), 255)
    draw = ImageDraw.Draw(sheet)
    f = font(max(10, cell_h // 2))
    for row, c in enumerate(classes):
        index = np.flatnonzero(labels == c)
        pick = rng.choice(index, min(per_class, len(index)), replace=False)
        ch = ds.charset[c]
        draw.text((4, row * cell_h + cell_h // 4), ch if ch.isprintable() and ord(ch) < 0xE000 else "?", fill=0, font=f)
        for col, i in enumerate(pick):
            glyph = Image.fromarray(255 - ds.images[i]).resize((w * scale, h * scale), Image.NEAREST)
            sheet.paste(glyph, (label_w + col * cell_w + 1, row * cell_h + 1))
    return sheet

"""Contact sheets: a grid of glyphs with their labels, for checking a dataset by eye."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import UserError
from .dataset import GlyphDataset


def font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def contact_sheet(
    ds: GlyphDataset,
    per_class: int = 12,
    max_classes: int = 160,
    scale: int = 2,
    writer: int | None = None,
    seed: int = 0,
) -> Image.Image:
    """One row per class (label at the left), `per_class` random samples of it, black ink on white.

    Dark ink on paper reads like handwriting at a glance; upside-down or mirrored sets stand out.
    """
    rng = np.random.default_rng(seed)
    labels = ds.labels if writer is None else np.where(ds.writers == writer, ds.labels, -1)
    classes = [c for c in range(ds.num_classes) if np.any(labels == c)][:max_classes]
    if not classes:
        who = f" by writer {writer}" if writer is not None else ""
        raise UserError(f"{ds.source}: no glyphs{who} to show"
                        + (f" (writer ids run {ds.writers.min()}..{ds.writers.max()})"
                           if writer is not None and ds.writers is not None and len(ds.writers)
                           else ""))
    h, w = ds.images.shape[1:]
    cell_h, cell_w = h * scale + 2, w * scale + 2
    named = all(ch.isprintable() and ord(ch) < 0xE000 for ch in ds.charset)
    label_w = 28 if named else 40  # classes without printable names are shown by number
    sheet = Image.new("L", (label_w + per_class * cell_w, max(1, len(classes)) * cell_h), 255)
    draw = ImageDraw.Draw(sheet)
    f = font(max(10, cell_h // 2))
    for row, c in enumerate(classes):
        index = np.flatnonzero(labels == c)
        pick = rng.choice(index, min(per_class, len(index)), replace=False)
        ch = ds.charset[c]
        draw.text((4, row * cell_h + cell_h // 4), ch if named else str(c), fill=0, font=f if named else font(11))
        for col, i in enumerate(pick):
            glyph = Image.fromarray(255 - ds.images[i]).resize((w * scale, h * scale), Image.NEAREST)
            sheet.paste(glyph, (label_w + col * cell_w + 1, row * cell_h + 1))
    return sheet


def extraction_sheet(ds: GlyphDataset, scale: int = 2) -> Image.Image:
    """What `extract` read, laid out like the sheets: every cell's glyph with its label and
    (row,col), empty cells marked in red. Misread grids and mislabelled cells show at a glance."""
    empty = ds.meta.get("empty_cells", np.zeros((0, 3), np.int64))
    names = [str(n) for n in ds.meta.get("sheet_names", ["sheet"])]
    h, w = ds.images.shape[1:]
    cw, ch = w * scale + 8, h * scale + 22
    f, title = font(12), font(16)
    pages = []
    for s, name in enumerate(names):
        mine = np.flatnonzero(ds.extra["sheet"] == s)
        holes = empty[empty[:, 0] == s, 1:]
        cells = np.concatenate([np.stack([ds.extra["row"][mine], ds.extra["col"][mine]], 1), holes])
        rows, cols = (cells.max(axis=0) + 1) if len(cells) else (0, 0)
        page = Image.new("RGB", (max(cols * cw, 300), rows * ch + 26), "white")
        draw = ImageDraw.Draw(page)
        draw.text((4, 4), f"{name}: {len(mine)} glyphs, {len(holes)} empty", fill="black", font=title)
        for i in mine:
            x, y = ds.extra["col"][i] * cw, ds.extra["row"][i] * ch + 26
            glyph = Image.fromarray(255 - ds.images[i]).resize((w * scale, h * scale), Image.NEAREST)
            page.paste(glyph.convert("RGB"), (x + 4, y))
            label = ds.charset[ds.labels[i]]
            draw.text(
                (x + 4, y + h * scale + 2), f"{label}  {ds.extra['row'][i]},{ds.extra['col'][i]}", fill="blue", font=f
            )
        for r, c in holes:
            x, y = c * cw, r * ch + 26
            draw.rectangle([x + 4, y, x + 4 + w * scale, y + h * scale], outline="red")
            draw.text((x + 8, y + h * scale // 2 - 6), "empty", fill="red", font=f)
            draw.text((x + 4, y + h * scale + 2), f"   {r},{c}", fill="red", font=f)
        pages.append(page)
    sheet = Image.new("RGB", (max(p.width for p in pages), sum(p.height for p in pages)), "white")
    y = 0
    for p in pages:
        sheet.paste(p, (0, y))
        y += p.height
    return sheet

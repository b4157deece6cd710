"""A test person: a handwriting sheet filled in and cut up the way `minigan.data extract` does
it, from the built-in procedural writers (no files needed) or Chars74K glyphs, with
punctuation drawn here (the datasets have none)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from minigan.data import CHARSET_62, builtin_glyphs, extract_sheets, make_template
from minigan.data.transforms import resize_to
from minigan.write import box

PUNCTUATION = ",.?!'-;:()"


def _mark(char: str, cell: int, base: float, xh: float, stroke: float, seed: int) -> np.ndarray:
    """Ink [cell, cell] in [0, 1] of a punctuation mark drawn with a round pen: where a person
    puts it relative to the printed baseline `base` (row) with their x-height `xh` (pixels)."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (cell, cell), 0)
    d = ImageDraw.Draw(img)
    cx = cell / 2 + rng.normal(0, 0.02 * cell)
    w = max(2, int(round(stroke)))
    wobble = lambda: rng.normal(0, 0.04 * xh)                              # noqa: E731

    def dot(x, y, r):
        d.ellipse([x - r, y - r, x + r, y + r], fill=255)

    if char == ".":
        dot(cx, base - stroke, stroke * 0.9)
    elif char == ",":
        dot(cx, base - stroke, stroke * 0.9)
        d.line([(cx + stroke * 0.6, base - stroke), (cx - 0.15 * xh + wobble(), base + 0.35 * xh)],
               fill=255, width=w)
    elif char == "!":
        d.line([(cx + wobble(), base - 1.4 * xh), (cx, base - 0.45 * xh)], fill=255, width=w)
        dot(cx, base - stroke, stroke * 0.9)
    elif char == "?":
        r = 0.33 * xh
        d.arc([cx - r, base - 1.45 * xh, cx + r, base - 1.45 * xh + 2 * r], 190, 90,
              fill=255, width=w)
        d.line([(cx, base - 1.45 * xh + 2 * r), (cx + wobble(), base - 0.45 * xh)], fill=255,
               width=w)
        dot(cx, base - stroke, stroke * 0.9)
    elif char == "'":
        d.line([(cx + 0.05 * xh, base - 1.5 * xh), (cx - 0.05 * xh + wobble(), base - 1.05 * xh)],
               fill=255, width=w)
    elif char == "-":
        y = base - 0.5 * xh + wobble()
        d.line([(cx - 0.28 * xh, y), (cx + 0.28 * xh, y + wobble())], fill=255, width=w)
    elif char in ":;":
        dot(cx, base - 0.9 * xh, stroke * 0.9)
        dot(cx, base - stroke, stroke * 0.9)
        if char == ";":
            d.line([(cx + stroke * 0.6, base - stroke), (cx - 0.15 * xh + wobble(), base + 0.35 * xh)],
                   fill=255, width=w)
    elif char in "()":
        side = -1 if char == "(" else 1
        r = 0.9 * xh
        box_ = [cx - r - side * 0.6 * r, base - 1.5 * xh, cx + r - side * 0.6 * r, base + 0.4 * xh]
        d.arc(box_, 120, 240, fill=255, width=w) if char == "(" else d.arc(box_, -60, 60, fill=255, width=w)
    else:
        raise ValueError(f"no drawing for {char!r}")
    return np.asarray(img, np.float32) / 255.0


def make_sheet(chars: str, path, rows_per_char: int = 2, writer: int = 0, seed: int = 0,
               glyphs64=None, dpi: int = 150):
    """Write `chars` (letters, digits and PUNCTUATION) `rows_per_char` times onto a template
    and save the filled sheet as a PNG at `path`. Letters come from builtin writer `writer`,
    or from Chars74K (glyphs64 = (images64, labels, writers)). Returns the sheet's
    (template chars, the ink placed in each cell) so tests can compare against it."""
    cols = 8
    written = chars * rows_per_char
    rows = -(-len(written) // cols)
    written = written + chars * ((rows * cols - len(written)) // len(chars) + 1)
    written = written[:rows * cols]
    tpl = make_template(written, rows, cols, dpi=dpi)
    cell = tpl.cell
    base = 0.75 * cell
    letters = sorted({c for c in written if c in CHARSET_62})
    ds = builtin_glyphs(n_writers=writer + 1, per_char=rows_per_char + 1, charset="".join(letters),
                        size=cell, seed=seed, normalize=False)
    em_x = ds.images[(ds.writers == writer) & (ds.labels == ds.charset.index(letters[0]))]
    # The builtin glyphs sit on a baseline at 0.72 of their canvas: move them onto the sheet's.
    shift = int(round(base - 0.72 * cell))
    page = np.asarray(tpl.image, np.float32) / 255.0
    xh = 0.30 * cell
    stroke = max(2.0, 0.045 * cell)
    used: dict = {}
    for i, ch in enumerate(written):
        r, c = divmod(i, cols)
        x0, y0, _, _ = tpl.cell_box(r, c)
        k = used.get(ch, 0)
        used[ch] = k + 1
        if ch in PUNCTUATION:
            ink = _mark(ch, cell, base, xh, stroke, seed=seed * 1000 + i)
        elif glyphs64 is not None:
            # Chars74K glyphs are size-normalised: write each at its natural height instead.
            images, labels, writers = glyphs64
            idx = np.flatnonzero((labels == CHARSET_62.index(ch)) & (writers == writer))
            src = images[idx[k % len(idx)]] / 255.0
            rows, cols_ = np.flatnonzero(src.max(1) > 0.1), np.flatnonzero(src.max(0) > 0.1)
            src = src[rows[0]:rows[-1] + 1, cols_[0]:cols_[-1] + 1]
            top, bottom, _ = box(ch)
            gh = int(round((top - bottom) * xh))
            gw = min(cell - 4, max(2, int(round(src.shape[1] * gh / src.shape[0]))))
            ink = np.zeros((cell, cell), np.float32)
            y_top = int(round(base - top * xh))
            x_left = (cell - gw) // 2
            ink[y_top:y_top + gh, x_left:x_left + gw] = np.clip(resize_to(src, gh, gw), 0, 1)
        else:
            pick = np.flatnonzero((ds.writers == writer) & (ds.labels == ds.charset.index(ch)))
            ink = np.roll(ds.images[pick[k % len(pick)]] / 255.0, shift, axis=0)
        page[y0:y0 + cell, x0:x0 + cell] *= 1.0 - 0.95 * ink
    del em_x
    Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8)).save(path)
    return written


def make_hand(chars: str, folder, **kwargs):
    """A person's extracted glyph file (what `minigan.data extract` writes), and the sheet."""
    sheet = folder / "sheet.png"
    written = make_sheet(chars, sheet, **kwargs)
    ds = extract_sheets([sheet], written, writer="test person")
    out = folder / "mine.npz"
    ds.save(out)
    return out, sheet


def full_hand(path, writer: int = 0, versions: int = 2, seed: int = 0):
    """A glyph file covering all printable ASCII, as extract writes it without a sheet's cell
    positions: built-in writer glyphs for letters and digits, the other characters drawn
    with Pillow's own font (a stand-in for a person's punctuation), all normalised."""
    from PIL import ImageFont

    from minigan.data import GlyphDataset, normalize_glyph

    ds = builtin_glyphs(n_writers=writer + 1, per_char=versions, seed=seed)
    mine = ds.subset(ds.writers == writer)
    others = "".join(chr(c) for c in range(33, 127) if chr(c) not in CHARSET_62)
    font = ImageFont.load_default(size=48)
    images = []
    for ch in others:
        for v in range(versions):
            img = Image.new("L", (80, 80), 0)
            ImageDraw.Draw(img).text((20 + v, 10), ch, fill=255, font=font, stroke_width=v)
            images.append(normalize_glyph(np.asarray(img, np.float32)))
    charset = CHARSET_62 + others
    labels = np.concatenate([mine.labels, np.repeat(np.arange(len(others)) + 62, versions)])
    hand = GlyphDataset(np.concatenate([mine.images, np.array(images, np.uint8)]), labels,
                        charset, np.zeros(len(labels), np.int64), "test person")
    hand.save(path)
    return path

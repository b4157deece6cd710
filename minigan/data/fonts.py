"""Handwriting typefaces as hands: every character a font has, rendered like the real glyphs.

    from minigan.data.fonts import load_fonts
    ds = load_fonts(first=0, last=9, hands=4)   # 10 fonts x 4 hands each, in $MINIGAN_DATA/fonts

The folder holds `fonts.json` (one record per font: id, family, file, licence, ...) and the
font files (TrueType, OpenType, WOFF or WOFF2; Pillow's FreeType reads them). Each font is one
writer. Its glyphs are rasterised large, their pen set to the hand's weight, and normalised the
way the real sets are (see docs/fonts-data.md):

- letters and digits: the longer side fills a 20 px box of the 28 x 28 image and the centre of
  mass sits at the centre (Chars74K, MNIST);
- punctuation and symbols ("marks"): never enlarged more than the font's capitals are (its cap
  height spans 20 px), and set at their true height: the baseline on row `MARK_BASELINE`,
  centred across. A comma stays a small low mark, a hyphen a short bar at mid height. Marks
  taller than the capitals ((), [], {}, |) are fitted and centred like letters.

Characters a font lacks (its .notdef glyph, an empty glyph or a drawn "tofu" box) are left
out. Fonts whose lower case is small capitals are found (`is_all_caps`) and lose their
lower case unless asked to keep it. Rendered fonts are cached as .npz files, one per font and
hand, under $MINIGAN_CACHE/fonts (default ~/.cache/minigan/fonts).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .._files import write_atomic
from ..errors import UserError
from .dataset import GlyphDataset
from .hands import (HAND_RANGES, REAL_STROKE, Hand, distance_inside, draw_hands, mask_stroke_width,
                    reweigh, signed_distance)
from .transforms import normalize_glyph, place_matrix

PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))  # printable ASCII, space left out
LATIN1_LETTERS = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())  # À-ÿ less × ÷
FONT_CHARSET = PRINTABLE + LATIN1_LETTERS

SIZE, BOX = 28, 20  # output image side and the box a letter's longer side fills
MARK_BASELINE = 24  # row of the baseline for marks; the cap height spans rows 4-24
RENDER_PX = 96  # em size of the large rasterisation, in pixels
RENDER_VERSION = 1  # bump when rendering changes, so cached fonts are rendered again

# Median over the 268 typefaces of their glyphs' pen width after fitting the 20 px box,
# measured as the base hands' weight is (see `_font_weight`).
FONT_MEDIAN_STROKE = 1.75

# Lower-case letters of an all-capitals font (small capitals, unicase) neither rise above nor
# fall below the others. Measured over the 268 typefaces, the ascenders' height over the
# x-height is 0.99-1.02 for the six all-capitals ones and 1.29 or more for every other; their
# descenders reach at most 0.08 x-heights below the baseline, the others' 0.18 or more (one
# display face with short ascenders, 1.09, has 0.67 descenders).
ASCENDERS, DESCENDERS, X_LETTERS = "bdhkl", "gpqy", "acemnorsuvwxz"
ALL_CAPS_ASCENT, ALL_CAPS_DESCENT = 1.15, 0.13


def is_mark(char: str) -> bool:
    """Punctuation and symbols, which keep their true size and height (letters and digits fill the box)."""
    return not char.isalnum()


def font_dir() -> Path:
    from .readers import data_dir

    return data_dir() / "fonts"


def font_table(folder=None) -> list[dict]:
    """The records of fonts.json, in its order (the order of font indices and writer ids)."""
    folder = Path(folder) if folder is not None else font_dir()
    path = folder / "fonts.json"
    if not path.is_file():
        raise UserError(f"{path}: no font list here; point MINIGAN_DATA at the folder that holds fonts/")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable JSON list of fonts ({e}); restore the file") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) and "id" in r and "file" in r
                                                for r in records):
        raise UserError(f"{path}: expected a list of records with 'id' and 'file'; restore the file")
    return records


def cache_dir() -> Path:
    base = os.environ.get("MINIGAN_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigan"
    return Path(base) / "fonts"


# ---------------------------------------------------------------- rasterising one glyph


def open_font(path) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), RENDER_PX, layout_engine=ImageFont.Layout.BASIC)
    except OSError as e:
        hint = ("; this Pillow's FreeType cannot read WOFF2 (it needs Brotli built in): "
                "upgrade Pillow (`pip install -U pillow`)") if str(path).endswith(".woff2") else ""
        raise UserError(f"{path}: cannot open the font ({e}){hint}") from None


def raster(font: ImageFont.FreeTypeFont, char: str):
    """(coverage float32 [H,W] in 0..1, baseline row) of one character drawn large, with a
    margin around the ink; None when the glyph draws nothing."""
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    if right <= left or bottom <= top:
        return None
    pad = RENDER_PX // 8
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, font=font, fill=255, anchor="ls")
    coverage = np.asarray(image, np.float32) / 255.0
    if coverage.max() < 0.5:
        return None
    return coverage, pad - top


def _looks_like_box(coverage: np.ndarray) -> bool:
    """A drawn "tofu" box: ink along all four edges of its bounding box, little inside."""
    ink = coverage >= 0.5
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = box.shape
    if h < 8 or w < 8:
        return False
    edge = max(1, min(h, w) // 10)
    sides = [box[:edge].any(axis=0).mean(), box[-edge:].any(axis=0).mean(),
             box[:, :edge].any(axis=1).mean(), box[:, -edge:].any(axis=1).mean()]
    inner = box[2 * edge: h - 2 * edge, 2 * edge: w - 2 * edge]
    return min(sides) > 0.9 and (inner.size == 0 or inner.mean() < 0.1)


def _slanted(coverage: np.ndarray, baseline: int, hand: Hand):
    """The coverage sheared by hand.slant about the baseline and scaled by hand.width across."""
    if hand.slant == 0 and hand.width == 1:
        return coverage, baseline
    h, w = coverage.shape
    t = float(np.tan(hand.slant))
    # Forward map x' = width * x + t * (baseline - y); find the new canvas from the corners.
    xs = [hand.width * x + t * (baseline - y) for x in (0, w) for y in (0, h)]
    x0, x1 = min(xs), max(xs)
    out_w = int(np.ceil(x1 - x0))
    # Inverse for PIL: x = (x' + x0 - t * (baseline - y)) / width.
    data = (1 / hand.width, t / hand.width, (x0 - t * baseline) / hand.width, 0.0, 1.0, 0.0)
    image = Image.fromarray(coverage, mode="F").transform((out_w, h), Image.Transform.AFFINE, data,
                                                           Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32), baseline


def _ink_extent(coverage: np.ndarray):
    """(top, bottom, left, right) of the pixels at half coverage or more."""
    ink = coverage >= 0.5
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _place_mark(coverage: np.ndarray, baseline: int, scale: float) -> np.ndarray:
    """A mark scaled by the font's capital scale, its baseline on MARK_BASELINE, its centre of
    mass centred across; moved up or down only as far as it must to stay inside the image."""
    a = coverage * 255.0
    ink = a > 0.1 * a.max()
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = a[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = crop.shape
    cx = (crop.sum(axis=0) @ (np.arange(w) + 0.5)) / crop.sum()
    top = float(np.clip(MARK_BASELINE - scale * (baseline - rows[0]), 0, SIZE - scale * h))
    left = float(np.clip(SIZE / 2 - scale * cx, 0, SIZE - scale * w))
    out = place_matrix(h, SIZE, scale, top) @ crop @ place_matrix(w, SIZE, scale, left).T
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- one font, one hand


def _font_weight(widths: np.ndarray) -> float:
    """The base hand's pen (output pixels) from the typeface's own: its deviation from the
    median typeface halved (in ratio), around the real pen, kept inside the hands' range."""
    own = float(np.nanmedian(widths)) if np.isfinite(widths).any() else FONT_MEDIAN_STROKE
    lo, hi = HAND_RANGES["weight"]
    return float(np.clip(REAL_STROKE * np.sqrt(own / FONT_MEDIAN_STROKE), lo, hi))


def render_font(path, hand: Hand = Hand(), chars: str = FONT_CHARSET) -> dict:
    """Every character of `chars` the font has, as one hand; see the module doc.

    Returns a dict: `images` uint8 [n,28,28], `chars` (the n characters drawn, in `chars`
    order), `missing` (the characters it lacks), `weight` (the pen used, output pixels),
    `own_weight` (the typeface's own pen in a 20 px box, median over letters and digits), and
    `ascent` and `descent` of its lower case (`lower_case_extent`, for `is_all_caps`).
    """
    font = open_font(path)
    notdef = raster(font, "\uffff")  # a noncharacter: no font maps it, so this is the .notdef
    pad = RENDER_PX // 8  # room for the heaviest pen
    drawn, extents = {}, {}
    for ch in chars:
        r = raster(font, ch)
        if r is None or _looks_like_box(r[0]):
            continue
        if notdef is not None and r[0].shape == notdef[0].shape and np.array_equal(r[0], notdef[0]):
            continue
        top, bottom, _, _ = _ink_extent(r[0])
        extents[ch] = (r[1] - top, bottom - r[1])
        cov, baseline = _slanted(*r, hand)
        drawn[ch] = (np.pad(cov, pad), baseline + pad)
    # Each glyph's pen as drawn, and its longer side (the box scale it would get).
    shapes = {}
    for ch, (cov, _) in drawn.items():
        mask = cov >= 0.5
        inside = distance_inside(mask)
        top, bottom, left, right = _ink_extent(cov)
        shapes[ch] = (mask_stroke_width(mask, inside), max(bottom - top, right - left),
                      signed_distance(mask, inside))
    caps = [extents[c][0] for c in "HIEFTLKNMZ" if c in extents]
    cap_height = caps[0] if caps else RENDER_PX * 0.7
    own = np.array([shapes[c][0] * BOX / shapes[c][1] for c in drawn if not is_mark(c)])
    weight = _font_weight(own) if hand.weight is None else hand.weight
    mark_scale = BOX / cap_height  # a mark is never enlarged more than the capitals
    images, kept = [], []
    for ch, (_, baseline) in drawn.items():
        width, longest, sdf = shapes[ch]
        grow = (weight / mark_scale - width) / 2  # the pen the capitals get
        mark = is_mark(ch) and (longest + 2 * grow) * mark_scale <= BOX
        if not mark:
            # Solve width + 2 grow = weight * (longest + 2 grow) / BOX: the pen after fitting.
            grow = (weight * longest / BOX - width) / (2 * (1 - weight / BOX))
        grow = float(np.clip(grow, -width / 4, pad - 1))  # thinning further would break hairlines
        cov = reweigh(sdf, grow)
        if cov.max() < 0.5:
            continue
        images.append(_place_mark(cov, baseline, mark_scale) if mark
                      else normalize_glyph(cov * 255.0, SIZE, BOX))
        kept.append(ch)
    images = np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.uint8)
    kept = "".join(kept)
    ascent, descent = lower_case_extent(extents)
    return {"images": images, "chars": kept, "missing": "".join(c for c in chars if c not in kept),
            "weight": weight, "own_weight": float(np.nanmedian(own)) if len(own) else float("nan"),
            "ascent": ascent, "descent": descent}


def lower_case_extent(extents: dict) -> tuple[float, float]:
    """(ascender height, descender depth) of the lower case, in x-heights, from each letter's
    (height above, depth below) the baseline; NaN where the letters are missing."""
    def median(chars, side):
        values = [extents[c][side] for c in chars if c in extents]
        return float(np.median(values)) if values else float("nan")

    x_height = median(X_LETTERS, 0)
    return median(ASCENDERS, 0) / x_height, median(DESCENDERS, 1) / x_height


def is_all_caps(ascent: float, descent: float) -> bool:
    """True for a font whose lower case has neither ascenders nor descenders (small capitals)."""
    return bool(ascent < ALL_CAPS_ASCENT and descent < ALL_CAPS_DESCENT)


# ---------------------------------------------------------------- the cache and the reader


def _file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def render_cached(path, hand: Hand = Hand(), cache: bool = True) -> dict:
    """render_font, read from or written to the cache (keyed by the file's content, the hand
    and RENDER_VERSION)."""
    path = Path(path)
    if not cache:
        return render_font(path, hand)
    target = cache_dir() / f"{path.stem}-{_file_digest(path)}-v{RENDER_VERSION}-{hand.key()}.npz"
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as z:
                return {"images": z["images"], "chars": str(z["chars"]), "missing": str(z["missing"]),
                        "weight": float(z["weight"]), "own_weight": float(z["own_weight"]),
                        "ascent": float(z["ascent"]), "descent": float(z["descent"])}
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rendered again and replaced
    out = render_font(path, hand)

    def write(f):
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in out.items()})
        f.write(buffer.getvalue())

    try:
        write_atomic(target, write)
    except OSError:
        pass  # an unwritable cache only costs time
    return out


def load_fonts(first: int | None = None, last: int | None = None, hands: int = 1, seed: int = 0,
               folder=None, keep_small_caps: bool = False, cache: bool = True) -> GlyphDataset:
    """Fonts first..last (indices into fonts.json, inclusive) as a GlyphDataset.

    Each font gives `hands` writers: hand 0 the typeface as designed (its pen brought towards
    the real sets'), the others with slant, width and weight drawn by `draw_hands`. Writer id =
    font index x hands + hand. Fonts whose lower case is small capitals lose it (their
    capitals, digits and marks stay) unless keep_small_caps. `extra` holds each glyph's `font`
    index and `hand`; `meta` the `font_ids` of fonts.json (so a glyph's font is
    font_ids[extra["font"]]) and `all_caps` (ids of the fonts found to be all capitals).
    """
    folder = Path(folder) if folder is not None else font_dir()
    records = font_table(folder)
    lo = 0 if first is None else first
    hi = len(records) - 1 if last is None else last
    if not (0 <= lo <= hi < len(records)):
        raise UserError(f"fonts@{lo}-{hi}: {folder / 'fonts.json'} lists fonts 0-{len(records) - 1}; "
                        "pick a range inside it")
    charset_index = {c: i for i, c in enumerate(FONT_CHARSET)}
    images, labels, writers, fonts, hand_ids, all_caps = [], [], [], [], [], []
    for index in range(lo, hi + 1):
        record = records[index]
        path = folder / "files" / record["file"]
        if not path.is_file():
            raise UserError(f"{path}: listed in fonts.json but missing; restore the fonts folder")
        for k, hand in enumerate(draw_hands(record["id"], hands, seed)):
            out = render_cached(path, hand, cache)
            chars = out["chars"]
            keep = np.ones(len(chars), bool)
            if k == 0 and is_all_caps(out["ascent"], out["descent"]):
                all_caps.append(record["id"])
            if record["id"] in all_caps and not keep_small_caps:
                keep = np.array([not c.islower() for c in chars], bool)
            images.append(out["images"][keep])
            labels.append(np.array([charset_index[c] for c, k_ in zip(chars, keep) if k_], np.int64))
            writers.append(np.full(int(keep.sum()), index * hands + k, np.int64))
            fonts.append(np.full(int(keep.sum()), index, np.int64))
            hand_ids.append(np.full(int(keep.sum()), k, np.int64))
    return GlyphDataset(
        np.concatenate(images),
        np.concatenate(labels),
        FONT_CHARSET,
        np.concatenate(writers),
        f"fonts@{lo}-{hi}" + (f"*{hands}" if hands > 1 else ""),
        {"font": np.concatenate(fonts), "hand": np.concatenate(hand_ids)},
        {"font_ids": np.array([r["id"] for r in records]), "all_caps": np.array(all_caps, dtype="U64")},
    )

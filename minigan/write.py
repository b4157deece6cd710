"""Write any text in a person's handwriting: a PNG, an SVG or a PDF page.

    python -m minigan.write "Dear Ann,\\nsee you soon." --style mine.npz --out letter.pdf

--style is either the person's glyphs (the .npz from `python -m minigan.data extract`, a
dataset name, or a folder of images) or a style already fitted and saved with --save-style.
Without --style a random style is used.

Every character the person wrote is drawn from their own glyphs: cleaned, brought to their
usual stroke and size, cycling through the versions they wrote (a character written once gets
gently perturbed copies, so repeats never repeat pixel for pixel). Only the characters they
never wrote come from the style model, fitted to their glyphs, and take the tone of their
ink, their stroke width and their lean (--generated-only draws every character that way). A
character neither they wrote nor the model draws is named in an error.

The layout puts size back: glyphs are stored normalised, so each character is scaled to its
own box (x-height letters, ascenders, descenders, capitals, digits, and punctuation at its own
height: a comma hangs below the baseline, an apostrophe sits high, a hyphen at mid x-height).
A sheet cut by `minigan.data extract` also shows where each glyph sat in its cell, and then
the person's own baseline, x-height, capital height and glyph widths are used.

--out's extension picks the output: .png (a picture at --dpi), .svg (every glyph a traced,
smoothed vector outline) or .pdf (A4 or Letter pages with margins, plain or ruled, as many
as the text needs; needs `pip install minigan[export]`).
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from . import page as pages
from ._cli import (ArgumentParser, HelpFormatter, float_in, input_source, int_in, job,
                   output_file)
from ._files import write_atomic
from .data import despeckle, normalize_glyph
from .diacritics import accent, decompose
from .errors import UserError
from .images import to_uint8
from .invert import w_statistics
from .page import Piece
from .style import (PULL, TUNE_LR, Style, char_labels, check_pull, check_style_model, draw,
                    fit_style, random_style)

DEFAULT_MODEL = Path(__file__).resolve().parent / "weights" / "writer_default.npz"

ASCENDERS, DESCENDERS = set("bdfhklt"), set("gjpqy")
XHEIGHT_LETTERS = set("acemnorsuvwxz")
LETTER_WIDEST = 3.0    # x-heights: a letter is sized by its height, never by its width

# Punctuation and symbols: (top, bottom, widest) in x-heights above the baseline. A glyph is
# scaled to fit inside its box (by its height unless that would make it wider than `widest`)
# and centred in it vertically, so a written dot stays a dot and a hyphen a short dash.
MARKS = {
    ".": (0.2, 0.0, 0.2), ",": (0.22, -0.32, 0.22), ";": (1.0, -0.32, 0.25),
    ":": (1.0, 0.0, 0.2), "!": (1.45, 0.0, 0.3), "?": (1.45, 0.0, 0.9),
    "'": (1.5, 1.0, 0.2), '"': (1.5, 1.0, 0.45), "`": (1.5, 1.15, 0.25),
    "-": (0.58, 0.42, 0.55), "_": (-0.12, -0.28, 0.9), "~": (0.65, 0.35, 0.8),
    "(": (1.5, -0.4, 0.9), ")": (1.5, -0.4, 0.9), "[": (1.5, -0.4, 0.9),
    "]": (1.5, -0.4, 0.9), "{": (1.5, -0.4, 0.9), "}": (1.5, -0.4, 0.9),
    "/": (1.5, -0.2, 0.8), "\\": (1.5, -0.2, 0.8), "|": (1.55, -0.45, 0.2),
    "+": (0.9, 0.1, 0.8), "=": (0.75, 0.25, 0.8), "<": (0.95, 0.05, 0.8),
    ">": (0.95, 0.05, 0.8), "*": (1.45, 0.75, 0.6), "^": (1.45, 0.9, 0.6),
    "#": (1.45, 0.0, 1.1), "$": (1.6, -0.15, 1.0), "%": (1.45, 0.0, 1.2),
    "&": (1.45, 0.0, 1.1), "@": (1.2, -0.3, 1.6), "¡": (1.0, -0.45, 0.3),
    "¿": (1.0, -0.45, 0.9),
}
GAP, SPACE = 0.14, 0.6   # between letters and between words, in x-heights


@dataclass
class Metrics:
    """Heights of a hand in x-heights above the baseline (the descender is below it)."""
    cap: float = 1.45
    ascender: float = 1.55
    descender: float = -0.5


def box(char: str, metrics: Metrics | None = None) -> tuple[float, float, float]:
    """(top, bottom, widest) of `char` in x-heights: the box its glyph is fitted into."""
    m = metrics or Metrics()
    if char in MARKS:
        return MARKS[char]
    special = {"ß": (m.ascender, 0.0), "æ": (1.0, 0.0), "ø": (1.05, -0.05),
               "ð": (m.ascender - 0.1, 0.0), "þ": (m.ascender, m.descender),
               "Ø": (m.cap + 0.05, -0.05), "Æ": (m.cap, 0.0), "Ð": (m.cap, 0.0),
               "Þ": (m.cap, 0.0)}
    if char in special:
        return (*special[char], LETTER_WIDEST)
    base = unicodedata.normalize("NFD", char)
    if len(base) > 1 and base[0].isascii():
        top, bottom, widest = box(base[0], m)
        if "\u0327" in base:                      # cedilla: below the letter
            return top, min(bottom, -0.3), widest
        return (m.cap + 0.35 if base[0].isupper() else max(top, 1.0) + 0.4), bottom, widest
    if char.isdigit() or char.isupper():
        return m.cap, 0.0, LETTER_WIDEST
    if char in ("t", "i", "j"):
        top = 1.0 + (m.ascender - 1.0) * (0.55 if char == "t" else 0.64)
        return top, (m.descender if char == "j" else 0.0), LETTER_WIDEST
    if char in ASCENDERS:
        return m.ascender, 0.0, LETTER_WIDEST
    if char in DESCENDERS:
        return 1.0, m.descender, LETTER_WIDEST
    if char.islower():
        return 1.0, 0.0, LETTER_WIDEST
    return m.cap, 0.0, 1.2


def extent(char: str, metrics: Metrics | None = None) -> tuple[float, float]:
    """(top, bottom) of a character relative to the baseline, in x-heights."""
    return box(char, metrics)[:2]


# ----- glyphs: cleaning, stroke, variants ---------------------------------------------------

def ink_crop(image: np.ndarray, threshold: float = 0.05) -> np.ndarray | None:
    """float32 [h, w] in [0, 1]: the image's ink (any range, ink bright) cropped to where it
    shows, or None for an empty image."""
    a = np.asarray(image, np.float32)
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0:
        return None
    a = a / peak
    ink = a > threshold
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def clean(glyph: np.ndarray) -> np.ndarray | None:
    """A glyph as drawn on paper: specks removed, the grey haze of the background cut, the
    ink stretched to full strength, cropped to the ink (float32 [h, w], or None if empty)."""
    a = despeckle(np.asarray(glyph, np.float32), min_area=2, min_share=0.03)
    peak = float(a.max())
    if peak <= 0:
        return None
    a = a / peak
    strong = a[a > 0.3]
    level = float(np.percentile(strong, 90)) if strong.size else 1.0
    return ink_crop(np.clip((a - 0.08) / max(level - 0.08, 0.2), 0.0, 1.0))


def stroke_width(crop: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the ink's area over the length of its edge."""
    ink = np.pad(crop >= 0.5, 1)
    edge = (ink[1:, :] != ink[:-1, :]).sum() + (ink[:, 1:] != ink[:, :-1]).sum()
    return 2.0 * ink.sum() / max(edge, 1)


def match_stroke(crop: np.ndarray, target: float) -> np.ndarray:
    """The crop with its strokes brought towards `target` pixels wide, when they are a
    quarter or more off: its grey levels are bent (a power curve) so that the edge drawn at
    half ink moves out or in, by at most about a third of a pixel a side. Gentler than
    growing or eroding by whole pixels, which would change a 28-pixel glyph's shape."""
    width = stroke_width(crop)
    if abs(width / max(target, 1e-6) - 1.0) < 0.25:
        return crop
    level = float(np.clip(0.5 - (target - width) / 2, 0.2, 0.8))  # the new half-ink edge
    return (crop ** (np.log(0.5) / np.log(level))).astype(np.float32)


TONE_LEVELS = 33   # quantiles of a hand's ink kept to describe its tone
INK_FLOOR = 0.05   # below this a cleaned glyph's pixel is paper


def ink_tone(crops) -> np.ndarray | None:
    """float32 [TONE_LEVELS]: the quantiles of the ink values (above INK_FLOOR) of a person's
    cleaned glyphs, pooled: how much of their stroke is full ink and how much its grey edge.
    None without ink."""
    values = [c[c > INK_FLOOR] for c in crops]
    values = np.concatenate(values) if values else np.zeros(0, np.float32)
    if values.size < TONE_LEVELS:
        return None
    return np.quantile(values, np.linspace(0, 1, TONE_LEVELS)).astype(np.float32)


def match_tone(crop: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """The crop's ink values (above INK_FLOOR) mapped, rank for rank, onto the tone of a
    person's own glyphs (`ink_tone`). A generated glyph's stroke is a soft grey ramp; a pen's
    is mostly full ink with a thin grey edge. Only grey levels change: the order of the
    pixels, and so the strokes' shape and where the ink is, stay."""
    ink = crop > INK_FLOOR
    if ink.sum() < 2:
        return crop
    values = crop[ink]
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable") / (values.size - 1)
    out = crop.copy()
    out[ink] = np.interp(ranks, np.linspace(0, 1, len(tone)), tone)
    return out


def _bilinear(a: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """a sampled at float coordinates (pixel centres at integers), zero outside."""
    p = np.pad(a, 1)
    y, x = np.clip(y + 1, 0, a.shape[0] + 0.999), np.clip(x + 1, 0, a.shape[1] + 0.999)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, p.shape[0] - 1), np.minimum(x0 + 1, p.shape[1] - 1)
    fy, fx = y - y0, x - x0
    return ((1 - fy) * ((1 - fx) * p[y0, x0] + fx * p[y0, x1])
            + fy * ((1 - fx) * p[y1, x0] + fx * p[y1, x1]))


def perturb(crop: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """A natural variant of a written glyph: turned, slanted and stretched by a few percent
    and bent by a smooth displacement of a fraction of a pixel, as the same hand writes the
    same letter twice, then brought back to the glyph's own width and height. Small enough
    that it stays recognisably that glyph."""
    a = np.pad(crop, 3)
    h, w = a.shape
    angle = np.deg2rad(rng.normal(0, 1.5 * amount))
    shear = rng.normal(0, 0.03 * amount)
    sx, sy = np.exp(rng.normal(0, 0.025 * amount, 2))
    c, s = np.cos(angle), np.sin(angle)
    forward = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear], [0, sy]])   # (x, y)
    inverse = np.linalg.inv(forward)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    # A smooth displacement: random offsets on a 3 x 3 grid, interpolated over the glyph.
    grid = rng.normal(0, 0.15 * amount, (2, 3, 3))
    gy, gx = yy / max(h - 1, 1) * 2, xx / max(w - 1, 1) * 2
    dy, dx = (_bilinear(grid[i], gy, gx) for i in range(2))
    u, v = xx - cx, yy - cy
    src_x = inverse[0, 0] * u + inverse[0, 1] * v + cx + dx
    src_y = inverse[1, 0] * u + inverse[1, 1] * v + cy + dy
    out = _bilinear(a, src_y, src_x)
    # Resampling between pixels softens a thin stroke; restore the glyph's ink level.
    strong, level = out[out > 0.3], np.percentile(a[a > 0.3], 90) if (a > 0.3).any() else 1.0
    if strong.size:
        out = np.clip(out * level / np.percentile(strong, 90), 0.0, 1.0)
    out = ink_crop(out.astype(np.float32))
    if out is None:
        return crop
    # Keep the written glyph's size and proportions: only its inside moves.
    h0, w0 = crop.shape
    resized = Image.fromarray(out).resize((w0, h0), Image.BILINEAR)
    return np.clip(np.asarray(resized, np.float32), 0.0, 1.0)


def slant(crop: np.ndarray) -> float:
    """How far the ink leans to the right: the x it moves per pixel of height, going up
    (second moments of the ink, -cov(x, y) / var(y) with y down). 0 is upright, 0.2 about
    11 degrees to the right; a leftward lean is negative. 0 for an empty or flat crop."""
    a = np.asarray(crop, np.float64)
    mass = a.sum()
    if mass <= 0:
        return 0.0
    y, x = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    dy, dx = y - (a * y).sum() / mass, x - (a * x).sum() / mass
    var_y = (a * dy * dy).sum() / mass
    return float(-(a * dx * dy).sum() / mass / var_y) if var_y > 1e-6 else 0.0


def shear(crop: np.ndarray, amount: float) -> np.ndarray:
    """The crop leaning `amount` further right (`slant` grows by it): each row shifted by
    `amount` times its height above the ink's centre, then cropped to the ink again."""
    if not amount or crop.sum() <= 0:
        return crop
    h, _ = crop.shape
    pad = int(np.ceil(abs(amount) * h)) + 1
    a = np.pad(np.asarray(crop, np.float32), ((0, 0), (pad, pad)))
    y, x = np.mgrid[0:a.shape[0], 0:a.shape[1]].astype(np.float64)
    centre = (a.sum(axis=1) @ np.arange(h)) / a.sum()
    out = ink_crop(_bilinear(a, y, x - amount * (centre - y)).astype(np.float32))
    return crop if out is None else out


SLANTS = Path(__file__).resolve().parent / "weights" / "char_slants.json"


def char_slants(dataset) -> dict:
    """{char: slant} of the average hand of `dataset` (a GlyphDataset): the mean slant of
    each letter's and digit's glyphs, cleaned as a person's are. The shipped table,
    `average_slants()`, is Chars74K writers 0-44's (examples/char_slants.py)."""
    chars = np.array(list(dataset.chars()))
    out = {}
    for char in sorted(set(chars.tolist())):
        if char.isalnum():
            crops = [clean(image) for image in dataset.images[chars == char]]
            leans = [slant(c) for c in crops if c is not None]
            if leans:
                out[char] = float(np.mean(leans))
    return out


@functools.lru_cache(maxsize=1)
def average_slants() -> dict:
    """The shipped {char: slant} table of the average hand (SLANTS), that leans are measured from."""
    return json.loads(SLANTS.read_text())


SLANT_LIMIT = 0.25   # the largest lean given: about four times the spread of writers' slants
SLANT_MIN_OWN = 3    # letters and digits of the person's needed to tell their slant
LEAN_PRIOR = 7.0     # the average hand's lean, in glyphs, by Chars74K 0-44 (lean_prior); an
                     # option: write takes the median as it is (docs/experiments.md, 2026-12-04)


def glyph_leans(dataset, slants: dict) -> dict:
    """{writer: [lean of each glyph]} of `dataset`'s writers' letters and digits in `slants`,
    a glyph's lean being its slant less its character's average slant."""
    chars = np.array(list(dataset.chars()))
    out: dict = {}
    for image, char, writer in zip(dataset.images, chars, dataset.writers):
        crop = clean(image) if char in slants else None
        if crop is not None:
            out.setdefault(int(writer), []).append(slant(crop) - slants[char])
    return out


def lean_prior(dataset, slants: dict) -> float:
    """How many of a person's glyphs the average hand's lean is worth, from the spread of
    `dataset`'s writers (with writer ids) about `slants`.

    A person's lean is told from the median of n glyph leans, each off by a glyph's own wobble
    (spread s, robustly measured within each writer); the median's error then has a variance of
    about (pi / 2) s^2 / n. Writers' true leans spread by t about the average hand's. Weighing
    the median by n / (n + k), with k = (pi / 2) s^2 / t^2, gives the least expected error
    (shrinkage towards the average, as in empirical Bayes): few glyphs lean the drawn ones
    little, many nearly as the median says."""
    leans = [np.asarray(v) for v in glyph_leans(dataset, slants).values() if len(v) >= SLANT_MIN_OWN]
    if len(leans) < 3:
        raise ValueError("lean_prior: needs at least 3 writers with glyphs to tell their spread")
    n = float(np.mean([len(v) for v in leans]))
    medians = np.array([np.median(v) for v in leans])
    wobble2 = np.median([1.4826 * np.median(np.abs(v - np.median(v))) for v in leans]) ** 2
    noise2 = np.pi / 2 * wobble2
    spread2 = medians.var(ddof=1) - noise2 / n
    if spread2 <= 0:
        return float("inf")   # writers' leans differ no more than their glyphs' wobble
    return float(noise2 / spread2)


def slant_correction(hand: Hand | None, drawn: list, slants: dict | None,
                     prior: float = 0.0) -> float:
    """How much further right the drawn glyphs must lean to lean as the person's do.

    A character has its own slant (A's legs, the bowl of d), so each glyph is measured from
    the average hand's slant of its character (`slants`, {char: slant}; see `char_slants`).
    The person's lean is the median of that difference over their n glyphs of the characters
    in `slants`, weighed by n / (n + prior) (the average hand's lean, 0, counts as `prior`
    glyphs: see `lean_prior`; 0 takes the median as it is). The drawn glyphs' (`drawn`: (char,
    crop or None) pairs) lean is the median over theirs, and the correction the gap, within
    +-SLANT_LIMIT. It is 0 without `slants`, without SLANT_MIN_OWN measured glyphs of the
    person's, or without a drawn one. The style model carries a hand's forms better than its
    lean (docs/judge.md, "The hand's lean")."""
    if slants is None or hand is None:
        return 0.0
    own = [(c, g) for c, crops in hand.glyphs.items() if c in slants for g in crops]
    drawn = [(c, g) for c, g in drawn if c in slants and g is not None]
    if len(own) < SLANT_MIN_OWN or not drawn:
        return 0.0
    lean = lambda pairs: float(np.median([slant(g) - slants[c] for c, g in pairs]))  # noqa: E731
    weight = len(own) / (len(own) + prior)
    return float(np.clip(weight * lean(own) - lean(drawn), -SLANT_LIMIT, SLANT_LIMIT))


# ----- the person's hand --------------------------------------------------------------------

@dataclass
class Hand:
    """A person's own glyphs, cleaned, and what their sheet shows of their writing."""
    glyphs: dict                  # char -> list of float32 [h, w] crops, ink in [0, 1]
    boxes: dict                   # char -> list of (top, bottom, widest) per glyph, or None
    metrics: Metrics = field(default_factory=Metrics)
    stroke: float | None = None   # median stroke width of their letters, in x-heights
    tone: np.ndarray | None = None  # their ink's grey levels (ink_tone), given to drawn glyphs
    dataset: object = None        # the GlyphDataset they came from (to fit a style to)
    measured: bool = False        # whether the sheet showed where the glyphs sat


def _median(values, default: float, low: float, high: float) -> float:
    values = list(values)
    return float(np.clip(np.median(values), low, high)) if values else default


def measure(chars: str, bbox: np.ndarray):
    """(Metrics, per-glyph (top, bottom, widest) boxes) from where glyphs sat in their cells:
    bbox [N, 4] (x0, y0, x1, y1) as fractions of the cell, y down. The baseline is where the
    letters that sit on it end (their median bottom), the x-height the median height of the
    x-height letters. None when the sheet has too few of them to tell."""
    bb = np.asarray(bbox, np.float64)
    sitting = [i for i, c in enumerate(chars) if c.isalnum() and c not in DESCENDERS | {"Q", "j"}]
    small = [i for i, c in enumerate(chars) if c in XHEIGHT_LETTERS]
    tall = [i for i, c in enumerate(chars) if c.isupper() or c.isdigit()]
    if len(sitting) < 2 or len(small) + len(tall) < 2:
        return None
    base = float(np.median(bb[sitting, 3]))
    height = bb[:, 3] - bb[:, 1]
    xh = (float(np.median(height[small])) if len(small) >= 2
          else float(np.median(height[tall])) / Metrics.cap)
    if xh <= 0:
        return None
    top, bottom = (base - bb[:, 1]) / xh, (base - bb[:, 3]) / xh
    metrics = Metrics(
        cap=_median(top[tall], Metrics.cap, 1.1, 2.5),
        ascender=_median((top[i] for i, c in enumerate(chars) if c in "bdhkl"),
                         Metrics.ascender, 1.1, 2.8),
        descender=_median((bottom[i] for i, c in enumerate(chars) if c in "gpqy"),
                          Metrics.descender, -1.5, -0.15))
    return metrics, list(zip(top, bottom, (bb[:, 2] - bb[:, 0]) / xh))


def load_hand(source: str | None, log=print) -> Hand | None:
    """The person's own glyphs from --style, or None when it is a fitted style (or absent).
    A source holding several writers is not one hand: None, with a note."""
    if source is None:
        return None
    path = Path(source)
    if path.suffix == ".npz" and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if "ws" in z.files:
                return None
    from .data import load_spec

    ds = load_spec(source)
    if ds.writers is not None and len(np.unique(ds.writers)) > 1:
        log(f"note: {source} holds {len(np.unique(ds.writers))} writers, not one person's "
            f"glyphs; every character is drawn by the style model")
        return None
    return hand_from_dataset(ds, f"--style {source}")


def hand_from_dataset(ds, name: str = "the glyphs") -> Hand:
    """One person's glyphs (a GlyphDataset; where they sat in their cells, if it says) as a
    Hand: cleaned crops per character, the sheet's metrics and the stroke width."""
    chars = ds.chars()
    measured = measure(chars, ds.extra["bbox"]) if "bbox" in ds.extra else None
    metrics, boxes = measured if measured else (Metrics(), [None] * len(chars))
    glyphs, glyph_boxes, strokes = {}, {}, []
    for image, char, b in zip(ds.images, chars, boxes):
        crop = clean(image)
        if crop is None:
            continue
        glyphs.setdefault(char, []).append(crop)
        glyph_boxes.setdefault(char, []).append(b)
        if char.isalnum():
            top, bottom, widest = b if b is not None else box(char, metrics)
            strokes.append(stroke_width(crop) * _scale(crop, top - bottom, widest))
    if not glyphs:
        raise UserError(f"{name}: every glyph in it is empty; check the extraction preview")
    tone = ink_tone([c for char, crops in glyphs.items() if char.isalnum() for c in crops])
    return Hand(glyphs, glyph_boxes, metrics, float(np.median(strokes)) if strokes else None,
                tone, ds, measured is not None)


def _scale(crop: np.ndarray, height: float, widest: float) -> float:
    """x-heights per pixel that fit the crop into a box `height` tall and `widest` wide."""
    h, w = crop.shape
    return min(max(height, 0.02) / h, widest / w)


# ----- choosing every glyph of a text -------------------------------------------------------

@dataclass
class Written:
    """One non-space character of the text, ready to place."""
    char: str
    image: np.ndarray                # float32 [h, w] crop, ink in [0, 1]
    box: tuple                       # (top, bottom, widest) in x-heights
    own: bool                        # from the person's glyphs (else from the style model)
    version: int = -1                # which of their glyphs of this character (own only)


def drawn_as(char: str, own) -> str | None:
    """What the style model draws for `char`, given the characters the person wrote (`own`):
    nothing when they wrote it; for an accented letter they did not write, its base letter
    (unless they wrote that), which gets its mark from minigan.diacritics; else the character."""
    if char in own:
        return None
    parts = decompose(char)
    if parts:
        return None if parts[0] in own else parts[0]
    return char


def model_chars(text: str, own) -> str:
    """The characters the style model must draw to write `text`, one per occurrence, in order."""
    return "".join(d for d in (drawn_as(c, own) for c in text if not c.isspace()) if d)


def unwritable(text: str, hand: Hand | None, charset: str | None) -> str:
    """The characters of `text` that neither the hand has nor the model draws (nor, for an
    accented letter, can be built on a base letter one of them gives), sorted."""
    own = set(hand.glyphs) if hand else set()
    model = set(charset or "")
    needs = {c: drawn_as(c, own) for c in text if not c.isspace()}
    return "".join(sorted(c for c, need in needs.items() if need is not None and need not in model))


POOL = 4   # a character's glyphs cycle through at least this many versions


def compose(text: str, hand: Hand | None, generate=None, seed: int = 0,
            lean: bool = True, slants: dict | None = None,
            lean_prior: float = 0.0) -> list[Written]:
    """Every non-space character of `text` as a glyph: the hand's own where it has them, the
    rest from generate(chars) (glyphs [n, 1, res, res] in [-1, 1], one per occurrence), but
    for accented letters: those are built on the base letter, theirs or the model's (drawn_as).

    Repeats of an own character cycle through its versions in a seeded order; where the
    person wrote fewer than POOL, gently perturbed copies of them fill the cycle, so
    neighbouring repeats always differ and a long letter reuses (and traces) few images.

    The drawn glyphs take the hand's ink tone and stroke width and, unless `lean` is off, its
    lean (`slant_correction`, measured from `slants`, by default `average_slants()`, with the
    average hand's lean counting as `lean_prior` glyphs)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        raise UserError("text: there is nothing to write (it is empty or only spaces); give "
                        "the words to write")
    rng = np.random.default_rng(seed)
    own = hand.glyphs if hand else {}
    missing = model_chars(text, own)
    drawn = []
    if missing:
        if generate is None:
            raise UserError(f"text: {''.join(sorted(set(missing)))!r} needs the style model")
        drawn = [clean(g) for g in clean_background(to_uint8(generate(missing)))]
    lean_by = slant_correction(hand, list(zip(missing, drawn)),
                               (average_slants() if slants is None else slants) if lean else None,
                               prior=lean_prior)
    metrics = hand.metrics if hand else Metrics()
    pools: dict[str, list] = {}     # char -> [(image, version)], the cycle of its glyphs
    seen: dict[str, int] = {}

    def own_glyph(char: str):
        """(image, version, box) of the person's next glyph of `char`."""
        versions = own[char]
        if char not in pools:
            order = [int(i) for i in rng.permutation(len(versions))]
            pools[char] = [(versions[i], i) for i in order]
            pools[char] += [(perturb(versions[order[k % len(order)]], rng), order[k % len(order)])
                            for k in range(len(order), POOL)]
        k = seen.get(char, 0)
        seen[char] = k + 1
        image, i = pools[char][k % len(pools[char])]
        return image, i, tuple(hand.boxes[char][i] or box(char, metrics))

    def drawn_glyph(char: str):
        image = drawn.pop(0)
        if image is None:
            return np.zeros((1, 1), np.float32), box(char, metrics)
        return shear(image, lean_by), box(char, metrics)

    out = []
    for char in chars:
        if char in own:
            image, i, b = own_glyph(char)
            out.append(Written(char, image, b, True, i))
        elif decompose(char):
            # An accented letter they did not write: their base letter (or the model's), with
            # the mark drawn in their pen (minigan.diacritics).
            base = decompose(char)[0]
            if base in own:
                image, _, b = own_glyph(base)
            else:
                image, b = drawn_glyph(base)
            if image.size > 1:
                pen = (hand.stroke if hand is not None and hand.stroke
                       else stroke_width(image) * _scale(image, b[0] - b[1], b[2]))
                image, above, below = accent(image, char, b[0] - b[1], pen=pen, rng=rng)
                b = (b[0] + above, b[1] - below, b[2])
            out.append(Written(char, image, b, False))
        else:
            image, b = drawn_glyph(char)
            out.append(Written(char, image, b, False))
    if hand is not None and hand.tone is not None:
        for w in out:   # drawn glyphs take the grey levels of the person's ink
            if not w.own and w.image.size > 1:
                w.image = match_tone(w.image, hand.tone)
    if hand is not None and hand.stroke:
        matched: dict = {}           # the same image is matched once, and stays one image
        for w in out:
            if w.char.isalnum() and w.image.size > 1:
                key = id(w.image)
                if key not in matched:
                    target = hand.stroke / _scale(w.image, w.box[0] - w.box[1], w.box[2])
                    matched[key] = (w.image, match_stroke(w.image, target))
                w.image = matched[key][1]
    return out


def arrange(written: list[Written], text: str, line_width: float, jitter: float = 0.04,
            seed: int = 0) -> tuple[list[Piece], int]:
    """Place the glyphs of `text` on lines `line_width` x-heights long, wrapping at spaces:
    (pieces, number of lines). Each glyph is fitted into its box and centred in it
    vertically, with a little seeded jitter in size and height."""
    rng = np.random.default_rng(seed)
    sized = []                 # (written, scale, top) per glyph
    for w in written:
        top, bottom, widest = w.box
        scale = _scale(w.image, top - bottom, widest) * (1 + jitter * rng.standard_normal())
        centre = (top + bottom) / 2 + jitter * rng.standard_normal()
        sized.append((w, scale, centre + w.image.shape[0] * scale / 2))
    widths = [w.image.shape[1] * s for w, s, _ in sized]
    pieces, line, k = [], 0, 0
    for p, paragraph in enumerate(text.split("\n")):
        if p:
            line += 1
        x = 0.0
        for word in paragraph.split():
            n = len(word)
            span = sum(widths[k:k + n]) + GAP * (n - 1)
            if x > 0 and x + SPACE + span > line_width:
                line, x = line + 1, 0.0
            elif x > 0:
                x += SPACE
            for i in range(k, k + n):
                w, scale, top = sized[i]
                pieces.append(Piece(w.char, w.image, x, top, scale, line))
                x += widths[i] + GAP
            x -= GAP
            k += n
    return pieces, line + 1


@dataclass
class Placed:
    char: str
    left: int        # pixel column of the glyph's left edge
    baseline: int    # pixel row the glyph's box ends on (its line's baseline, plus jitter)
    line: int
    top: int = 0     # pixel row of the glyph's top edge
    width: int = 0
    height: int = 0


def placements(pieces: list[Piece], x_height: float, written: list[Written] | None = None
               ) -> list[Placed]:
    """Where render_png put each piece, in pixels at this x-height (96 dpi)."""
    margin, first, _ = pages.block_size(0, x_height, 0)
    out = []
    for i, p in enumerate(pieces):
        line_base = first + p.line * pages.LINE_PITCH * x_height
        top = int(round(line_base - p.top * x_height))
        bottom = written[i].box[1] if written else p.top - p.height
        out.append(Placed(p.char, int(round(margin + p.x * x_height)),
                          int(round(line_base - bottom * x_height)), p.line, top,
                          max(1, int(round(p.width * x_height))),
                          max(1, int(round(p.height * x_height)))))
    return out


def layout(glyphs: np.ndarray, text: str, x_height: int = 24, width: int = 1200,
           jitter: float = 0.04, seed: int = 0) -> tuple[np.ndarray, list[Placed]]:
    """Place uint8 glyphs [n, H, W] (white ink on black; one per non-space character of
    `text`, in order) on a page with the default metrics. Returns (page uint8 [h, width],
    black ink on white; placements)."""
    chars = [c for c in text if not c.isspace()]
    if len(chars) != len(glyphs):
        raise ValueError(f"{len(glyphs)} glyphs for {len(chars)} characters")
    written = []
    for char, g in zip(chars, glyphs):
        crop = ink_crop(g)
        written.append(Written(char, crop if crop is not None else np.zeros((1, 1), np.float32),
                               box(char), False))
    pieces, lines = arrange(written, text, (width - 2 * x_height) / x_height, jitter, seed)
    image = pages.render_png(pieces, lines, x_height, width)
    return np.asarray(image), placements(pieces, x_height, written)


# ----- the style model ----------------------------------------------------------------------

def load_style(source: str | None, G, cfg, steps: int, seed: int, log=print,
               tune_steps: int = 0, tune_lr: float = TUNE_LR, pull: float | None = None,
               hand: Hand | None = None) -> Style:
    """A Style from a saved style .npz, from a person's glyphs (fitted now), or at random.

    `pull` (see minigan.style.PULL) replaces a saved style's own; None keeps it, and a style
    fitted now then gets the default. Only the glyphs of characters the model knows are
    fitted to (a person's commas tell it nothing)."""
    if pull is not None:
        check_pull(pull)
    if source is None:
        return random_style(G, cfg, seed=seed)
    path = Path(source)
    if path.suffix == ".npz" and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            saved = "ws" in z.files
        if saved:
            style = Style.load(path)
            if pull is None:
                return style
            w_avg = style.w_avg if style.w_avg is not None else w_statistics(G, cfg)[0]
            return replace(style, w_avg=w_avg.astype(np.float32), pull=pull)
    from .data import load_spec

    ds = hand.dataset if hand is not None and hand.dataset is not None else load_spec(source)
    known = np.array([ds.charset[i] in cfg.charset for i in ds.labels], bool)
    if not known.any():
        raise UserError(f"--style {source}: none of its characters is one the model draws "
                        f"({cfg.charset}), so no style can be fitted; add letters or digits")
    ds = ds.subset(known)
    chars = ds.chars()
    log(f"fitting a style to {len(chars)} glyphs of {len(set(chars))} characters ...")
    return fit_style(G, cfg, ds.as_float(cfg.res) * 2.0 - 1.0, chars, steps=steps,
                     tune_steps=tune_steps, tune_lr=tune_lr,
                     pull=PULL if pull is None else pull, seed=seed)


def clean_background(glyphs: np.ndarray, margin: int = 24) -> np.ndarray:
    """Generated glyphs carry a faint grey haze; set each one's background (its median, most
    pixels being paper) plus a margin to zero and stretch the ink back to full range."""
    g = glyphs.astype(np.float32)
    floor = np.median(g.reshape(len(g), -1), axis=1)[:, None, None] + margin
    top = np.maximum(g.reshape(len(g), -1).max(axis=1)[:, None, None], floor + 1)
    return (np.clip((g - floor) / (top - floor), 0, 1) * 255).astype(np.uint8)


def write_text(G, cfg, style: Style, text: str, x_height: int = 24, width: int = 1200,
               variation: float = 0.15, seed: int = 0, hand: Hand | None = None,
               lean: bool = True, slants: dict | None = None, lean_prior: float = 0.0):
    """(page uint8, placements, glyphs uint8 [n, 28, 28] MNIST-style, chars) for `text`, in
    the hand's own glyphs where it has them and the style's elsewhere (drawn leaning as the
    hand does, unless `lean` is off; see compose for `slants` and `lean_prior`)."""
    check_style_model(cfg)
    chars = "".join(c for c in text if not c.isspace())
    if not chars:
        raise UserError("text: there is nothing to write (it is empty or only spaces); give "
                        "the words to write")
    own = set(hand.glyphs) if hand else set()
    char_labels(cfg, sorted(set(model_chars(chars, own))))  # raises, naming what it cannot draw
    written = compose(text, hand, lambda cs: draw(G, cfg, style, cs, variation=variation,
                                                    seed=seed), seed=seed, lean=lean,
                      slants=slants, lean_prior=lean_prior)
    pieces, lines = arrange(written, text, (width - 2 * x_height) / x_height, seed=seed)
    page = np.asarray(pages.render_png(pieces, lines, x_height, width))
    glyphs28 = np.stack([normalize_glyph(w.image * 255, size=28) for w in written])
    return page, placements(pieces, x_height, written), glyphs28, chars


# ----- command line -------------------------------------------------------------------------

PDF_X_HEIGHT = 13     # CSS pixels: 3.4 mm, the x-height of a pen on paper


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m minigan.write", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("text", help="what to write; \\n starts a new line")
    p.add_argument("--style", default=None, type=input_source,
                   help="the person's glyphs (.npz from minigan.data extract, dataset, folder) "
                        "or a fitted style .npz; default: a random style")
    p.add_argument("--out", required=True, type=output_file,
                   help="the page: .png (a picture), .svg (vector outlines) or .pdf (A4 or "
                        "Letter pages; needs pip install minigan[export])")
    p.add_argument("--generated-only", action="store_true",
                   help="draw every character with the style model, even those the person "
                        "wrote (to compare with their own glyphs)")
    p.add_argument("--ckpt", default=None, help="content-conditioned style model (default: the shipped one)")
    p.add_argument("--glyphs-out", default=None, type=output_file, help="also save each glyph as 28x28 uint8 (images, chars)")
    p.add_argument("--save-style", default=None, type=output_file, help="save the fitted style here to reuse it")
    p.add_argument("--x-height", type=float_in(4, 400), default=None,
                   help=f"height of an x in CSS pixels (96 to the inch) (default: 24 for PNG "
                        f"and SVG, {PDF_X_HEIGHT} (3.4 mm) for PDF)")
    p.add_argument("--width", type=int_in(100, 20000), default=1200,
                   help="PNG/SVG width in CSS pixels (lines wrap)")
    p.add_argument("--dpi", type=float_in(30, 1200), default=96,
                   help="PNG resolution: 96 draws one pixel per CSS pixel, 300 a print-ready "
                        "picture of the same size")
    p.add_argument("--paper", choices=("plain", "ruled"), default="plain",
                   help="ruled draws a light blue line under every line of writing")
    p.add_argument("--paper-size", choices=tuple(pages.PAPERS), default="a4", help="PDF page size")
    p.add_argument("--margin", type=float_in(5, 60), default=20,
                   help="PDF page margins in millimetres")
    p.add_argument("--ink", default="black", help="ink colour: a name (navy) or #rrggbb")
    p.add_argument("--variation", type=float_in(0, 2), default=0.15,
                   help="per-glyph variation of generated glyphs (0 = none)")
    p.add_argument("--steps", type=int_in(0, 100000), default=50,
                   help="optimisation steps when fitting the style code; the tuning steps then "
                        "adapt the model (on unseen hands, 50 then 30 tuning steps beat 100 "
                        "then 30: see the README)")
    p.add_argument("--tune-steps", type=int_in(0, 100000), default=30,
                   help="after fitting, fine-tune the model's synthesis layers this many steps "
                        "towards the person's glyphs (kept in the style, see --save-style); "
                        "0 fits the style code only")
    p.add_argument("--tune-lr", type=float_in(0, 1, above=True), default=TUNE_LR,
                   help="Adam's rate for those tuning steps")
    p.add_argument("--pull", type=float_in(0, 1), default=None,
                   help=f"how far to draw a fitted style back towards the model's average "
                        f"hand, from 0 (as fitted) to 1; more legible unseen characters, the "
                        f"same writer identification (see the README) (default: {PULL} for a "
                        f"style fitted now, a saved style's own)")
    p.add_argument("--seed", type=int_in(0), default=0,
                   help="seeds the fitting, the choice of glyphs and their variation (the "
                        "same seed writes the same page)")
    return p


def load_model(ckpt):
    """(G, cfg) of the style model: --ckpt, or the shipped one."""
    from .generate import load_generator

    if ckpt is None and not DEFAULT_MODEL.is_file():
        raise UserError("--ckpt: none given and this install has no shipped default model; "
                        "give a content-conditioned style model")
    G, cfg = load_generator(ckpt or DEFAULT_MODEL)
    check_style_model(cfg)
    return G, cfg


def cannot_write(missing: str, hand: Hand | None, charset: str, source,
                 what: str = "text") -> UserError:
    if hand is None:
        return UserError(f"{what}: the model cannot draw {missing!r}; it knows {charset!r}")
    return UserError(f"{what}: cannot write {missing!r}: {source} has no glyphs of them and the "
                     f"model cannot draw them (it knows {charset!r}); write them on a sheet "
                     f"and extract it again, or leave them out")


def prepare(text: str, style_source, *, ckpt=None, generated_only=False, save_style=None,
            steps=50, tune_steps=30, tune_lr=TUNE_LR, pull=None, variation=0.15, seed=0,
            log=print, what="text"):
    """(hand, generate) for writing `text`: the person's glyphs (None with generated_only),
    and a function drawing the other characters, or None when there are none. The model is
    loaded and a style fitted only when some character needs them (or save_style asks).
    `what` names the request in errors ("text" for write's argument)."""
    hand = None if generated_only else load_hand(style_source, log)
    chars = {c for c in text if not c.isspace()}
    if not chars:
        raise UserError("text: there is nothing to write (it is empty or only spaces); give "
                        "the words to write")
    needed = set(model_chars("".join(chars), hand.glyphs if hand else ()))
    if not needed and not save_style:
        return hand, None
    G, cfg = load_model(ckpt)
    missing = unwritable("".join(needed), None, cfg.charset)
    if missing:
        raise cannot_write(missing, hand, cfg.charset, style_source, what)
    style = load_style(style_source, G, cfg, steps, seed, log=log, tune_steps=tune_steps,
                       tune_lr=tune_lr, pull=pull, hand=hand)
    if save_style:
        style.save(save_style)
    return hand, lambda cs: draw(G, cfg, style, cs, variation=variation, seed=seed)


@job
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    text = args.text.replace("\\n", "\n")
    pages.check_writable(args.out)
    kind = pages.check_format(args.out)
    ink = pages.parse_ink(args.ink)
    x_height = args.x_height or (PDF_X_HEIGHT if kind == ".pdf" else 24)
    if kind == ".pdf":
        paper_width = pages.PAPERS[args.paper_size][0]
        line_width = (paper_width - 2 * args.margin) / (x_height * 25.4 / pages.CSS_DPI)
    else:
        line_width = (args.width - 2 * x_height) / x_height
    if line_width < 4:
        raise UserError(f"--x-height {x_height:g}: too big for the page; fewer than four "
                        f"x-heights fit on a line")
    hand, generate = prepare(text, args.style, ckpt=args.ckpt,
                             generated_only=args.generated_only, save_style=args.save_style,
                             steps=args.steps, tune_steps=args.tune_steps,
                             tune_lr=args.tune_lr, pull=args.pull,
                             variation=args.variation, seed=args.seed)
    written = compose(text, hand, generate, seed=args.seed)
    pieces, lines = arrange(written, text, line_width, seed=args.seed)
    if args.glyphs_out:     # written first, and taken back if the page cannot be
        glyphs = np.stack([normalize_glyph(w.image * 255, size=28) for w in written])
        write_atomic(args.glyphs_out, lambda f: np.savez(
            f, images=glyphs, chars=np.array([w.char for w in written])))
    try:
        pages.save(args.out, pieces, lines, x_height=x_height, width=args.width, dpi=args.dpi,
                   ink=ink, ruled=args.paper == "ruled", paper=args.paper_size,
                   margin_mm=args.margin)
    except BaseException:
        if args.glyphs_out:
            Path(args.glyphs_out).unlink(missing_ok=True)
        raise
    own = sum(w.own for w in written)
    print(f"wrote {args.out} ({len(written)} glyphs: {own} the person's own, "
          f"{len(written) - own} from the style model; {lines} line(s))")
    return 0

if __name__ == "__main__":
    sys.exit(main())

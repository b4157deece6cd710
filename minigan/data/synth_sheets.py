"""Hand-filled grid sheets, generated with known ground truth, for testing `extract`.

Real glyphs are redrawn from Chars74K pen trajectories (any size, any pen) into grids of many
kinds, on pages with titles, margins and name fields, then scanned or photographed in software:
rotation, perspective, uneven light, colour casts, noise, blur, JPEG. Every sheet comes with its
truth: which character each cell holds (or that it is empty, maybe with a speck), and each glyph's
true image normalised like the training data, whole, even where it runs into a neighbour cell.

    strokes = load_strokes(path_to_chars74k_hnd_npz)
    sheet = make_sheet(strokes, SheetSpec(chars="ABC...", rows=4, cols=8, pen="marker"), seed=1)
    sheet.image.save("sheet.jpg", quality=75)
    ds = extract_sheets(["sheet.jpg"], sheet.spec.chars)
    print(score_extraction(ds, sheet))
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .dataset import CHARSET_62
from .preview import font
from .sheets import INK_SHARE, make_template
from .transforms import normalize_glyph

ASCENDERS = set("bdfhklt")
DESCENDERS = set("gjpqy")
X_HEIGHT = 0.55  # lower case body as a share of capital height
DESCENT = 0.4  # descender below the baseline, as a share of capital height


# ---------------------------------------------------------------- glyph strokes


@dataclass
class Strokes:
    """Chars74K trajectories: points [M,2] (x, y down), grouped into strokes and samples."""

    points: np.ndarray
    stroke_offsets: np.ndarray
    sample_offsets: np.ndarray
    labels: np.ndarray
    writers: np.ndarray

    def glyph(self, ch: str, writer: int) -> list[np.ndarray]:
        """The strokes of `writer`'s `ch`, each float [K,2], with the glyph's box at (0,0)-(w,h)."""
        hits = np.flatnonzero((self.labels == CHARSET_62.index(ch)) & (self.writers == writer % 55))
        i = int(hits[0])
        so = self.stroke_offsets
        strokes = [
            self.points[so[j] : so[j + 1]].astype(np.float64)
            for j in range(self.sample_offsets[i], self.sample_offsets[i + 1])
        ]
        lo = np.min([s.min(axis=0) for s in strokes], axis=0)
        return [s - lo for s in strokes]


def load_strokes(path) -> Strokes:
    with np.load(path, allow_pickle=False) as z:
        return Strokes(
            z["stroke_points"], z["stroke_offsets"], z["sample_stroke_offsets"], z["labels"], z["writers"]
        )


# ---------------------------------------------------------------- pens


@dataclass(frozen=True)
class Pen:
    colour: tuple[int, int, int]  # ink colour at full strength (RGB)
    width_mm: float  # stroke width; 0 means "a sixth of the glyph's height" (a thick marker)
    strength: float = 1.0  # how much light full ink absorbs
    grain: float = 0.0  # pencil: share of the stroke's pixels that the paper's tooth leaves light


PENS = {
    "ballpoint": Pen((20, 20, 30), 0.45, 0.92),
    "blue": Pen((30, 50, 160), 0.45, 0.9),
    "gel": Pen((10, 10, 15), 0.7, 1.0),
    "marker": Pen((15, 15, 20), 0.0, 1.0),
    "pencil": Pen((90, 90, 95), 0.55, 0.55, grain=0.45),
}


def draw_strokes(strokes: list[np.ndarray], scale: float, width: float, ss: int = 3) -> tuple[np.ndarray, float]:
    """Coverage [h,w] in 0..1 of the strokes scaled by `scale` and drawn `width` pixels wide,
    and the padding (pixels) around the glyph's box. Drawn at `ss` times the size and shrunk."""
    pad = width / 2 + 2
    size = np.max([s.max(axis=0) for s in strokes], axis=0) * scale + 2 * pad
    w, h = int(np.ceil(size[0])), int(np.ceil(size[1]))
    img = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(img)
    lw = max(1, round(width * ss))
    for s in strokes:
        pts = [(float(x), float(y)) for x, y in (s * scale + pad) * ss]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=lw, joint="curve")
        r = lw / 2
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    small = img.resize((w, h), Image.BOX)
    return np.asarray(small, np.float32) / 255.0, pad


def true_glyph(coverage: np.ndarray, size: int = 28) -> np.ndarray:
    """A glyph's truth, normalised as the extractor normalises what it cuts (uint8 [size,size])."""
    return normalize_glyph(coverage * 255.0, size, round(size * 20 / 28), threshold=INK_SHARE)


# ---------------------------------------------------------------- sheets


@dataclass
class SheetSpec:
    """Everything that makes one sheet: layout, page, pen, writer habits and capture."""

    chars: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rows: int = 4
    cols: int = 7
    dpi: int = 200
    cell_mm: tuple[float, float] = (12.0, 12.0)  # (width, height)
    layout: str = "plain"  # "plain": our own grid; "template": minigan's template
    line_colour: tuple[int, int, int] = (40, 40, 40)
    line_mm: float = 0.25
    border_mm: float = 0.25  # outer border (thicker on printed forms)
    paper: tuple[int, int, int] = (250, 250, 248)
    title: bool = False  # a title and printed instructions above the grid
    guides: bool = False  # printed column letters above and row numbers left of the grid
    name_field: bool = False  # "Name" and "Date" fields filled in by hand
    margins_mm: tuple[float, float] = (20.0, 25.0)  # (left, top) of the grid on the page
    page_mm: tuple[float, float] = (210.0, 297.0)  # page size; smaller pages keep tests fast
    pen: str = "ballpoint"
    writer: int = 0
    glyph_scale: float = 0.7  # capital height as a share of the cell height
    jitter: float = 0.05  # random offset of each glyph, as a share of the cell
    big: float = 0.0  # share of glyphs written too big (1.1-1.3 x the cell)
    cross: float = 0.0  # share of glyphs pushed across a cell border into the neighbour
    baseline: bool = False  # lower case at its real size on a baseline, with descenders
    empty: int = 0  # cells left empty
    specks: int = 0  # of those, how many hold a dot or a speck
    capture: str = "scan"  # "scan" or "photo"
    colour: bool = True  # False: a grey scan
    angle: float = 0.0  # rotation in degrees (counter-clockwise)
    keystone: float = 0.0  # photo: how much narrower the page's far edge looks (share of width)
    light: float = 0.0  # light falling off across the page (share of brightness lost)
    vignette: float = 0.0  # corners darker by this share
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # colour cast, per channel
    noise: float = 0.0  # sensor noise (grey levels)
    blur: float = 0.0  # defocus (Gaussian radius, pixels)
    surround: bool = False  # desk or scanner lid visible around the page
    jpeg: int = 0  # JPEG quality (0: lossless)
    turn: int = 0  # quarter turns of the whole capture (1: 90 degrees), to test the refusal


@dataclass
class Sheet:
    """A generated sheet and its truth."""

    image: Image.Image
    spec: SheetSpec
    labels: dict = field(default_factory=dict)  # (row, col) -> character written there
    truth: dict = field(default_factory=dict)  # (row, col) -> uint8 [28,28] true glyph
    empty: set = field(default_factory=set)  # (row, col) of cells left without a character
    specks: set = field(default_factory=set)  # empty cells that hold a dot or a speck

    def save(self, path) -> None:
        """PNG (uncompressed, as noisy pages compress badly) or JPEG at the spec's quality."""
        if str(path).lower().endswith((".jpg", ".jpeg")):
            self.image.save(path, quality=self.spec.jpeg or 95)
        else:
            self.image.save(path, compress_level=1)


def _grid_layout(spec: SheetSpec):
    """Page image (RGB) with everything printed on it, and the cell grid's origin and pitch (px)."""
    mm = spec.dpi / 25.4
    if spec.layout == "template":
        tpl = make_template(spec.chars, spec.rows, spec.cols, spec.dpi)
        page = tpl.image.convert("RGB")
        tint = np.asarray(page, np.float32) * (np.array(spec.paper, np.float32) / 255)
        return Image.fromarray(tint.astype(np.uint8)), tpl.x0, tpl.y0, float(tpl.cell), float(tpl.cell)
    W, H = round(spec.page_mm[0] * mm), round(spec.page_mm[1] * mm)
    cw, ch = spec.cell_mm[0] * mm, spec.cell_mm[1] * mm
    x0, y0 = spec.margins_mm[0] * mm, spec.margins_mm[1] * mm
    page = Image.new("RGB", (W, H), spec.paper)
    draw = ImageDraw.Draw(page)
    lw = max(1, round(spec.line_mm * mm))
    bw = max(1, round(spec.border_mm * mm))
    for i in range(spec.rows + 1):
        y = y0 + i * ch
        w = bw if i in (0, spec.rows) else lw
        draw.rectangle([x0 - bw / 2, y - w / 2, x0 + spec.cols * cw + bw / 2, y + w / 2 - 1], fill=spec.line_colour)
    for j in range(spec.cols + 1):
        x = x0 + j * cw
        w = bw if j in (0, spec.cols) else lw
        draw.rectangle([x - w / 2, y0 - bw / 2, x + w / 2 - 1, y0 + spec.rows * ch + bw / 2], fill=spec.line_colour)
    if spec.title:
        draw.text((12 * mm, 8 * mm), "Handwriting practice - Form B", fill=(0, 0, 0), font=font(round(6 * mm)))
        draw.text(
            (12 * mm, 16 * mm),
            "Write one letter in each box. Use a dark pen. Do not write outside the grid.",
            fill=(30, 30, 30),
            font=font(round(3 * mm)),
        )
    if spec.guides:
        g = font(round(min(cw, ch) * 0.3))
        for j in range(spec.cols):
            draw.text((x0 + (j + 0.4) * cw, y0 - 0.45 * ch), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[j % 26], fill=(60, 60, 60), font=g)
        for i in range(spec.rows):
            draw.text((x0 - 0.5 * cw, y0 + (i + 0.35) * ch), str(i + 1), fill=(60, 60, 60), font=g)
    return page, x0, y0, cw, ch


def _place(canvas: np.ndarray, cover: np.ndarray, x: float, y: float, union: bool = True) -> None:
    """Add coverage [h,w] to canvas [H,W] at integer (x, y) top-left, clipped, as ink union
    (or, with union=False, copy it there)."""
    H, W = canvas.shape
    h, w = cover.shape
    xi, yi = int(round(x)), int(round(y))
    xa, ya, xb, yb = max(0, xi), max(0, yi), min(W, xi + w), min(H, yi + h)
    if xa < xb and ya < yb:
        dst = canvas[ya:yb, xa:xb]
        src = cover[ya - yi : yb - yi, xa - xi : xb - xi]
        canvas[ya:yb, xa:xb] = 1 - (1 - dst) * (1 - src) if union else src


def _glyph_height(ch: str, cap: float, baseline: bool) -> float:
    """How tall `ch` is written: capitals and digits `cap`; lower case at its real size if on a baseline."""
    if not baseline or not ch.islower():
        return cap
    if ch in DESCENDERS:
        return cap * (X_HEIGHT + DESCENT)
    if ch in ASCENDERS:
        return cap
    if ch in "ij":
        return cap * 0.8
    return cap * X_HEIGHT


def make_sheet(strokes: Strokes, spec: SheetSpec, seed: int = 0) -> Sheet:
    """Write `spec.writer`'s glyphs into a generated sheet, then capture it as `spec` says."""
    rng = np.random.default_rng(seed)
    mm = spec.dpi / 25.4
    page, x0, y0, cw, ch = _grid_layout(spec)
    H, W = page.height, page.width
    pen = PENS[spec.pen]
    ink = np.zeros((H, W), np.float32)  # coverage of the handwriting, 0..1
    sheet = Sheet(page, spec)
    cells = [(r, c) for r in range(spec.rows) for c in range(spec.cols)]
    n_empty = min(spec.empty, len(cells) - 1)
    empty_idx = rng.choice(len(cells), n_empty, replace=False) if n_empty else []
    sheet.empty = {cells[i] for i in empty_idx}
    sheet.specks = set(list(sorted(sheet.empty))[: spec.specks])
    cap = spec.glyph_scale * ch
    texture = np.ones((H, W), np.float32)
    if pen.grain:  # paper tooth: pencil leaves light pinholes in its strokes
        texture = np.where(rng.random((H, W)) < pen.grain, rng.uniform(0.2, 0.7, (H, W)), 1.0).astype(np.float32)
    for r, c in cells:
        cx, cy = x0 + (c + 0.5) * cw, y0 + (r + 0.5) * ch
        if (r, c) in sheet.empty:
            if (r, c) in sheet.specks:
                d = rng.uniform(0.015, 0.05) * min(cw, ch)
                sx, sy = cx + rng.uniform(-0.3, 0.3) * cw, cy + rng.uniform(-0.3, 0.3) * ch
                dot = Image.new("L", (int(d) + 4, int(d) + 4), 0)
                ImageDraw.Draw(dot).ellipse([2, 2, 2 + d, 2 + rng.uniform(0.5, 1.0) * d], fill=255)
                _place(ink, np.asarray(dot, np.float32) / 255, sx, sy)
            continue
        label = spec.chars[(r * spec.cols + c) % len(spec.chars)]
        glyph = strokes.glyph(label, spec.writer + 7 * (r * spec.cols + c) // max(1, len(spec.chars)))
        gw, gh = np.max([s.max(axis=0) for s in glyph], axis=0) + 1e-6
        height = _glyph_height(label, cap, spec.baseline)
        big = rng.random() < spec.big
        if big:
            height = rng.uniform(1.05, 1.2) * ch
        scale = height / gh
        scale = min(scale, (1.15 if big else 0.9) * cw / gw)  # a wide W or M is squeezed like a writer would
        width = pen.width_mm * mm if pen.width_mm else scale * gh / 6
        cover, pad = draw_strokes(glyph, scale, width)
        gx, gy = gw * scale, gh * scale
        jx, jy = rng.uniform(-spec.jitter, spec.jitter, 2) * (cw, ch)
        if not big and rng.random() < spec.cross:  # push it over one border so it reaches into the neighbour
            side = rng.integers(4)
            reach = rng.uniform(0.1, 0.25)  # how far past the border, as a share of the cell
            jx += (-1, 1, 0, 0)[side] * max(0.0, reach * cw + (gx - cw) / 2)
            jy += (0, 0, -1, 1)[side] * max(0.0, reach * ch + (gy - ch) / 2)
        left = cx - gx / 2 + jx
        if spec.baseline and label.islower():
            base = y0 + (r + 0.72) * ch + jy
            top = base - (cap * X_HEIGHT if label in DESCENDERS else height)
        else:
            top = cy - gy / 2 + jy
        _place(ink, cover, left - pad, top - pad)
        sheet.labels[(r, c)] = label
        grain = np.ones_like(cover)  # the truth is the ink as it lies on the paper, grain and all
        _place(grain, texture, -round(left - pad), -round(top - pad), union=False)
        sheet.truth[(r, c)] = true_glyph(cover * grain)
    if spec.name_field:
        _name_field(page, ink, strokes, spec, x0, y0, ch)
    a = np.asarray(page, np.float32) / 255
    darken = (1 - np.array(pen.colour, np.float32) / 255) * pen.strength
    a = a * (1 - (ink * texture)[..., None] * darken)
    sheet.image = _capture(a, spec, rng)
    return sheet


def _name_field(page, ink, strokes, spec, x0, y0, ch) -> None:
    """Print "Name:" and "Date:" above the grid and write in them by hand."""
    mm = spec.dpi / 25.4
    draw = ImageDraw.Draw(page)
    f = font(round(3.5 * mm))
    y = y0 - (0.9 * ch if spec.guides else 0.2 * ch) - 10 * mm
    for k, (word, text) in enumerate((("Name:", "Ana"), ("Date:", "12 5 24"))):
        x = x0 + k * 70 * mm
        draw.text((x, y), word, fill=(0, 0, 0), font=f)
        draw.line([(x + 14 * mm, y + 5 * mm), (x + 60 * mm, y + 5 * mm)], fill=(0, 0, 0), width=max(1, round(0.2 * mm)))
        gx = x + 16 * mm
        for letter in text:
            if letter == " ":
                gx += 3 * mm
                continue
            glyph = strokes.glyph(letter, spec.writer)
            gh = np.max([s[:, 1].max() for s in glyph]) + 1e-6
            scale = 5 * mm / gh
            cover, pad = draw_strokes(glyph, scale, 0.45 * mm)
            _place(ink, cover, gx - pad, y - pad)
            gx += cover.shape[1] - 2 * pad + 1.5 * mm


def _capture(a: np.ndarray, spec: SheetSpec, rng) -> Image.Image:
    """Scan or photograph the page (float RGB [H,W,3] in 0..1)."""
    img = Image.fromarray(np.clip(a * 255, 0, 255).astype(np.uint8))
    W, H = img.size
    back = (60, 48, 36) if spec.capture == "photo" else (200, 200, 196)  # desk, scanner lid
    if spec.capture == "photo":
        m = 0.08 if spec.surround else 0.0
        cw, chh = int(W * (1 + 2 * m)), int(H * (1 + 2 * m))
        canvas = Image.new("RGB", (cw, chh), back)
        canvas.paste(img, ((cw - W) // 2, (chh - H) // 2))
        # The far (top) edge looks narrower: where each output corner comes from in the canvas.
        k = spec.keystone * cw
        src = np.array([(0, 0), (cw, 0), (cw, chh), (0, chh)], float)
        dst = src + np.array([(k, 0), (-k, 0), (0, 0), (0, 0)]) + rng.uniform(-0.01, 0.01, (4, 2)) * cw
        coeffs = _perspective_coeffs(dst, src)
        img = canvas.transform((cw, chh), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=back)
    elif spec.surround:
        m = round(0.04 * W)
        canvas = Image.new("RGB", (W + 2 * m, H + 2 * m), back)
        canvas.paste(img, (m + round(0.3 * m), m - round(0.4 * m)))
        img = canvas
    if spec.angle:
        img = img.rotate(spec.angle, Image.BICUBIC, expand=True, fillcolor=back if spec.surround else spec.paper)
    if spec.blur:
        img = img.filter(ImageFilter.GaussianBlur(spec.blur))
    x = np.asarray(img, np.float32)
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if spec.light:
        x = x * (1 - spec.light * (0.7 * xx / w + 0.3 * yy / h))[..., None]
    if spec.vignette:
        rr = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) / 0.5
        x = x * (1 - spec.vignette * rr)[..., None]
    x = x * np.array(spec.cast, np.float32)
    if spec.noise:
        x = x + rng.normal(0, spec.noise, x.shape).astype(np.float32)
    img = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    if not spec.colour:
        img = img.convert("L")
    if spec.turn:
        img = img.rotate(90 * spec.turn, expand=True)
    if spec.jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=spec.jpeg)
        buf.seek(0)
        img = Image.open(buf)
        img.load()
    return img


def _perspective_coeffs(dst: np.ndarray, src: np.ndarray) -> tuple:
    """PIL's 8 perspective coefficients mapping output points `dst` to input points `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    return tuple(np.linalg.solve(np.array(rows), src.ravel()))


# ---------------------------------------------------------------- scoring


def best_shift_corr(a: np.ndarray, b: np.ndarray, reach: int = 1) -> float:
    """Highest Pearson correlation of a with b moved by up to `reach` pixels each way."""
    a = np.asarray(a, np.float64)
    b = np.pad(np.asarray(b, np.float64), reach)
    h, w = a.shape
    best = -1.0
    for dy in range(2 * reach + 1):
        for dx in range(2 * reach + 1):
            s = b[dy : dy + h, dx : dx + w]
            if a.std() > 0 and s.std() > 0:
                best = max(best, float(np.corrcoef(a.ravel(), s.ravel())[0, 1]))
    return best


def score_extraction(ds, sheet: Sheet, sheet_index: int = 0) -> dict:
    """How well `extract` read one sheet: labels right, empty cells found, specks reported as
    glyphs, and each glyph's fidelity (best correlation with its truth within 1 px).

    A glyph counts as rightly labelled when it came from a written cell, carries that cell's
    character, and matches its own truth better than any neighbour's (so a shifted grid fails).
    """
    mine = np.flatnonzero(ds.extra["sheet"] == sheet_index)
    got = {(int(ds.extra["row"][j]), int(ds.extra["col"][j])): j for j in mine}
    right, fid = 0, []
    for (r, c), truth in sheet.truth.items():
        j = got.get((r, c))
        if j is None:
            fid.append(0.0)
            continue
        g = ds.images[j]
        corr = {
            k: best_shift_corr(g, t) for k, t in sheet.truth.items() if abs(k[0] - r) <= 1 and abs(k[1] - c) <= 1
        }
        fid.append(corr[(r, c)])
        right += ds.charset[ds.labels[j]] == sheet.labels[(r, c)] and max(corr, key=corr.get) == (r, c)
    empty = ds.meta["empty_cells"]
    found_empty = {(int(r), int(c)) for s, r, c in empty if s == sheet_index}
    stray = [k for k in got if k not in sheet.truth]  # glyphs reported where none was written
    return {
        "cells": len(sheet.truth) + len(sheet.empty),
        "glyphs": len(sheet.truth),
        "label_accuracy": right / max(1, len(sheet.truth)),
        "empty_found": len(found_empty & sheet.empty) / len(sheet.empty) if sheet.empty else 1.0,
        "false_empty": len(found_empty - sheet.empty),
        "specks_as_glyphs": sum(k in sheet.specks for k in stray),
        "stray_glyphs": len(stray),
        "fidelity_mean": float(np.mean(fid)) if fid else 0.0,
        "fidelity_min": float(np.min(fid)) if fid else 0.0,
    }


def with_(spec: SheetSpec, **changes) -> SheetSpec:
    """A copy of `spec` with some fields changed."""
    return replace(spec, **changes)

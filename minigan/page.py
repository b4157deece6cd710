"""Laid-out handwriting -> a picture or a page: PNG, SVG or PDF, chosen by the file's extension.

The layout (minigan.write) hands over `Piece`s: each glyph's ink image and where it goes, in
x-heights on numbered lines. This module only draws them. PNG and SVG are one block of text
of a given width in CSS pixels (96 to the inch; a PNG at a higher --dpi is finer, not larger);
a PDF is A4 or Letter paper with margins, the lines flowing on to further pages. SVG and PDF
draw every glyph as its traced, smoothed outline (minigan.trace), so they print sharp at any
size. PDF needs the `export` extra (fpdf2).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor

from ._files import write_atomic
from .errors import UserError
from .trace import quad_segments, trace

FORMATS = (".png", ".svg", ".pdf")
PAPERS = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}   # width, height in mm
CSS_DPI = 96.0
LINE_PITCH = 2.8       # baseline to baseline, in x-heights
FIRST_BASELINE = 1.6   # first baseline below the top margin, in x-heights
RULE_COLOUR = (150, 190, 225)


@dataclass
class Piece:
    """One glyph on the page."""
    char: str
    image: np.ndarray    # float32 [h, w], ink in [0, 1], cropped to the ink
    x: float             # left edge, x-heights right of the line's start
    top: float           # top edge, x-heights above the line's baseline
    scale: float         # x-heights per image pixel
    line: int            # line number, 0 first

    @property
    def width(self) -> float:
        return self.image.shape[1] * self.scale

    @property
    def height(self) -> float:
        return self.image.shape[0] * self.scale


def check_format(path) -> str:
    """The output type of `path` ('.png', '.svg' or '.pdf'), or a UserError naming it."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"--out {path}: unknown output type {suffix or '(none)'!r}; "
                        f"end the name with .png, .svg or .pdf")
    return suffix


def check_writable(path) -> None:
    """A UserError before any work when `path` cannot be written (a folder, or a file in one
    that cannot be created or written to)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--out {path}: is a folder; give a file name")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--out {path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {path}: cannot write in {parent}; choose another folder")


def parse_ink(colour: str) -> tuple[int, int, int]:
    """An ink colour by name ('navy') or hex ('#1a2b3c') as (r, g, b)."""
    try:
        rgb = ImageColor.getrgb(colour)
    except (ValueError, AttributeError):
        raise UserError(f"--ink {colour!r}: not a colour; give a name such as navy or a hex "
                        f"value such as #1a2b6d") from None
    return tuple(int(v) for v in rgb[:3])


def block_size(lines: int, x_height: float, width: float) -> tuple[float, float, float]:
    """(margin, first baseline, height) of a PNG/SVG text block in the units of x_height."""
    margin = x_height
    return margin, margin + FIRST_BASELINE * x_height, 2 * margin + LINE_PITCH * x_height * lines


def _glyph_pixels(piece: Piece, x_height: float) -> np.ndarray:
    """The piece's ink resized to its size on a page with this x-height (pixels)."""
    w = max(1, int(round(piece.width * x_height)))
    h = max(1, int(round(piece.height * x_height)))
    img = Image.fromarray(np.clip(piece.image * 255, 0, 255).astype(np.uint8))
    return np.asarray(img.resize((w, h), Image.LANCZOS), np.float32) / 255.0


def render_png(pieces: list[Piece], lines: int, x_height: float = 24, width: int = 1200,
               dpi: float = CSS_DPI, ink=(0, 0, 0), ruled: bool = False) -> Image.Image:
    """The text block as a picture: greyscale for black ink, RGB otherwise. Sizes are CSS
    pixels; `dpi` above 96 draws them with more pixels each."""
    k = dpi / CSS_DPI
    xh, W = x_height * k, int(round(width * k))
    margin, first, height = block_size(lines, xh, W)
    H = int(round(height))
    alpha = np.zeros((H, W), np.float32)                                # [H, W] ink cover
    for p in pieces:
        g = _glyph_pixels(p, xh)
        top = int(round(first + p.line * LINE_PITCH * xh - p.top * xh))
        left = int(round(margin + p.x * xh))
        h, w = g.shape
        t0, l0, t1, l1 = max(top, 0), max(left, 0), min(top + h, H), min(left + w, W)
        if t1 > t0 and l1 > l0:
            region = alpha[t0:t1, l0:l1]
            np.maximum(region, g[t0 - top:t1 - top, l0 - left:l1 - left], out=region)
    paper = np.ones((H, W, 3), np.float32)
    if ruled:
        for row in range(lines):
            y = int(round(first + row * LINE_PITCH * xh))
            paper[y:y + max(1, int(k)), :] = np.array(RULE_COLOUR) / 255.0
    colour = np.array(ink, np.float32) / 255.0
    rgb = paper * (1 - alpha[..., None]) + colour * alpha[..., None]
    out = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    if tuple(ink) == (0, 0, 0) and not ruled:
        return Image.fromarray(out[..., 0])
    return Image.fromarray(out)


def outline_path(piece: Piece, left: float, top: float, unit: float, cache: dict | None = None):
    """The piece's traced outlines as lists of quadratic curves (start, control, end) in page
    coordinates: its top-left corner at (left, top), `unit` page units per x-height. `cache`
    keeps each image's trace, as a text reuses its glyphs."""
    if cache is None:
        cache = {}
    key = id(piece.image)
    if key not in cache:
        cache[key] = (piece.image, trace(piece.image))     # the image is kept: its id stays its own
    s = piece.scale * unit
    out = []
    for poly in cache[key][1]:
        # Outlines are in pixel-centre coordinates: pixel (0, 0)'s corner is at -0.5.
        pts = np.column_stack([left + (poly[:, 0] + 0.5) * s, top + (poly[:, 1] + 0.5) * s])
        out.append(list(quad_segments(pts)))
    return out


def render_svg(pieces: list[Piece], lines: int, x_height: float = 24, width: int = 1200,
               ink=(0, 0, 0), ruled: bool = False) -> str:
    """The text block as SVG: one filled path per glyph, its outlines traced and smoothed."""
    margin, first, height = block_size(lines, x_height, width)
    colour = "#%02x%02x%02x" % tuple(ink)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
           f'viewBox="0 0 {width} {height:.2f}">',
           f'<rect width="100%" height="100%" fill="white"/>']
    if ruled:
        rule = "#%02x%02x%02x" % RULE_COLOUR
        for row in range(lines):
            y = first + row * LINE_PITCH * x_height
            out.append(f'<line x1="0" y1="{y:.2f}" x2="{width}" y2="{y:.2f}" stroke="{rule}" '
                       f'stroke-width="1"/>')
    out.append(f'<g fill="{colour}" fill-rule="nonzero">')
    cache: dict = {}
    for p in pieces:
        top = first + p.line * LINE_PITCH * x_height - p.top * x_height
        d = []
        for curves in outline_path(p, margin + p.x * x_height, top, x_height, cache):
            d.append("M%.2f %.2f" % tuple(curves[0][0]))
            d.extend("Q%.2f %.2f %.2f %.2f" % (*c, *e) for _, c, e in curves)
            d.append("Z")
        if d:
            char = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}.get(p.char, p.char)
            out.append(f'<path data-char="{char}" d="{"".join(d)}"/>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def pdf_lines_per_page(paper: str, margin_mm: float, x_height_mm: float) -> int:
    _, h = PAPERS[paper]
    usable = h - 2 * margin_mm - FIRST_BASELINE * x_height_mm
    return max(1, int(usable // (LINE_PITCH * x_height_mm)) + 1)


def render_pdf(pieces: list[Piece], lines: int, paper: str = "a4", margin_mm: float = 20.0,
               x_height_mm: float = 3.5, ink=(0, 0, 0), ruled: bool = False) -> bytes:
    """The text on pages of `paper` with margins, as many pages as its lines need; each glyph
    a filled vector outline. Needs fpdf2 (the export extra)."""
    try:
        from fpdf import FPDF
        from fpdf.drawing import PaintedPath
        from fpdf.enums import PathPaintRule
    except ImportError:
        raise UserError("--out *.pdf needs fpdf2; install it with pip install minigan[export]") from None
    width, height = PAPERS[paper]
    per_page = pdf_lines_per_page(paper, margin_mm, x_height_mm)
    pages = max(1, -(-lines // per_page))
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_auto_page_break(False)
    pdf.set_creator("minigan")
    first = margin_mm + FIRST_BASELINE * x_height_mm
    by_page = [[] for _ in range(pages)]
    for p in pieces:
        by_page[p.line // per_page].append(p)
    colour, cache = "#%02x%02x%02x" % tuple(ink), {}
    for page in by_page:
        pdf.add_page()
        if ruled:
            pdf.set_draw_color(*RULE_COLOUR)
            pdf.set_line_width(0.2)
            for row in range(per_page):
                y = first + row * LINE_PITCH * x_height_mm
                pdf.line(margin_mm * 0.5, y, width - margin_mm * 0.5, y)
        # One drawing context per page, its paths handed over without copies: fpdf2 would
        # otherwise deep-copy every glyph's path.
        with pdf.drawing_context() as context:
            for p in page:
                top = first + (p.line % per_page) * LINE_PITCH * x_height_mm - p.top * x_height_mm
                outlines = outline_path(p, margin_mm + p.x * x_height_mm, top, x_height_mm, cache)
                if not outlines:
                    continue
                path = PaintedPath()
                path.style.paint_rule = PathPaintRule.FILL_NONZERO
                path.style.fill_color = colour
                path.style.stroke_color = None
                for curves in outlines:
                    path.move_to(*curves[0][0])
                    for _, c, e in curves:
                        path.quadratic_curve_to(*c, *e)
                    path.close()
                context.add_item(path, False)          # no copy (keyword differs by version)
    return bytes(pdf.output())


def save(path, pieces: list[Piece], lines: int, *, x_height: float = 24, width: int = 1200,
         dpi: float = CSS_DPI, ink=(0, 0, 0), ruled: bool = False, paper: str = "a4",
         margin_mm: float = 20.0) -> Path:
    """Write the laid-out text to `path`, its type from its extension, atomically. For a PDF,
    x_height (CSS pixels) is turned into millimetres at 96 to the inch."""
    kind = check_format(path)
    if kind == ".png":
        image = render_png(pieces, lines, x_height, width, dpi, ink, ruled)
        buf = io.BytesIO()
        image.save(buf, format="PNG", dpi=(dpi, dpi))
        data = buf.getvalue()
    elif kind == ".svg":
        data = render_svg(pieces, lines, x_height, width, ink, ruled).encode()
    else:
        data = render_pdf(pieces, lines, paper, margin_mm, x_height * 25.4 / CSS_DPI, ink, ruled)
    return write_atomic(path, lambda f: f.write(data))

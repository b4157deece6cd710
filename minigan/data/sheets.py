"""Handwriting sheets: a printable template, and the extractor that turns scans of filled grids into glyphs.

The extractor does not trust the page to be straight, evenly lit or flat. It works on "darkness"
(1 - pixel / local paper brightness), so lighting gradients and coloured or pencil ink all look
alike; finds the grid as thin straight lines (after undoing the page's rotation), fits every
line on its own so mild perspective is fine, samples each cell through its four corners, and
keeps only ink that is clearly darker than the light-grey guides the template prints.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .dataset import GlyphDataset
from .preview import font
from .transforms import connected_components, normalize_glyph, resize_to

GUIDE_GREY = 220  # template guides print this light; the extractor's ink threshold sits well below it
INK_SHARE = 0.3  # a glyph's bounding box is where it is at least this share of full ink darkness
SPECK_SHARE = 0.03  # blobs with less than this share of a cell's ink are specks (an i's dot has ~15%)


# ---------------------------------------------------------------- template


@dataclass
class Template:
    """A rendered sheet and where its cells are (pixels): cell (r, c) spans
    x0 + c*cell .. x0 + (c+1)*cell and y0 + r*cell .. y0 + (r+1)*cell, line centres included."""

    image: Image.Image
    x0: int
    y0: int
    cell: int
    rows: int
    cols: int
    line: int  # inner line width in pixels

    def cell_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        x, y = self.x0 + col * self.cell, self.y0 + row * self.cell
        return x, y, x + self.cell, y + self.cell


def make_template(
    chars: str, rows: int, cols: int = 8, dpi: int = 300, title: str = "minigan handwriting sheet"
) -> Template:
    """A4 page: header, a rows x cols grid of square cells, light-grey guide letters and baselines.

    Cells are labelled row-major over `chars`, repeating, which is exactly how `extract` reads
    them back. The guides are light enough that the extractor ignores them.
    """
    if not chars:
        raise ValueError("--chars is empty: give the characters to write, e.g. ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be positive, got {rows} x {cols}")
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    margin, header = round(0.5 * dpi), round(1.1 * dpi)
    cell = min((width - 2 * margin) // cols, (height - header - 2 * margin) // rows)
    if cell < 0.25 * dpi:
        raise ValueError(f"{rows} x {cols} cells do not fit on A4 at a usable size; use fewer rows")
    line = max(2, round(dpi / 75))
    x0 = (width - cols * cell) // 2
    y0 = header + margin
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    draw.text((margin, margin * 0.6), title, fill=0, font=font(round(0.22 * dpi)))
    shown = chars if len(chars) <= 64 else chars[:61] + "..."
    small = font(round(0.09 * dpi))
    draw.text(
        (margin, margin * 0.6 + 0.35 * dpi),
        "Write one character per box, large and centred, in dark pen or pencil; the grey letter says which.",
        fill=0,
        font=small,
    )
    draw.text(
        (margin, margin * 0.6 + 0.5 * dpi), f"{rows} rows x {cols} columns, row by row: {shown}", fill=0, font=small
    )
    guide_font = font(round(cell * 0.16))
    dash = max(4, cell // 20)
    for r in range(rows):
        for c in range(cols):
            x, y = x0 + c * cell, y0 + r * cell
            ch = chars[(r * cols + c) % len(chars)]
            draw.text((x + cell * 0.07, y + cell * 0.05), ch, fill=GUIDE_GREY, font=guide_font)
            base = y + round(cell * 0.75)
            for xs in range(x + cell // 10, x + cell - cell // 10, 2 * dash):
                draw.line([(xs, base), (xs + dash, base)], fill=GUIDE_GREY, width=max(1, line // 2))
    for i in range(rows + 1):
        w = 2 * line if i in (0, rows) else line
        y = y0 + i * cell
        draw.rectangle([x0 - line, y - w // 2, x0 + cols * cell + line, y - w // 2 + w - 1], fill=0)
    for j in range(cols + 1):
        w = 2 * line if j in (0, cols) else line
        x = x0 + j * cell
        draw.rectangle([x - w // 2, y0 - line, x - w // 2 + w - 1, y0 + rows * cell + line], fill=0)
    return Template(img, x0, y0, cell, rows, cols, line)


# ---------------------------------------------------------------- image helpers


def read_sheet(path) -> np.ndarray:
    """A scan or photo as float32 grey [H,W] 0..255 (luminance, so blue ink reads dark)."""
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("L"), np.float32)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read as an image ({e})") from None


def _paper(grey: np.ndarray, block: int) -> np.ndarray:
    """Local paper brightness [H,W]: the brightest of each block (ink is thin, paper is everywhere),
    spread to neighbouring blocks so blocks full of ink borrow paper from around them, then smoothed."""
    h, w = grey.shape
    f = 4  # average 4x4 first: noise would otherwise push the block maxima up
    b = max(2, block // f)
    big = f * b
    padded = np.pad(grey, ((0, -h % big), (0, -w % big)), mode="edge")
    gh, gw = padded.shape[0] // big, padded.shape[1] // big
    small = padded.reshape(gh * b, f, gw * b, f).mean(axis=(1, 3))
    peak = small.reshape(gh, b, gw, b).max(axis=(1, 3))
    p = np.pad(peak, 1, mode="edge")
    grown = np.max([p[dy : dy + gh, dx : dx + gw] for dy in range(3) for dx in range(3)], axis=0)
    p = np.pad(grown, 1, mode="edge")
    smooth = np.mean([p[dy : dy + gh, dx : dx + gw] for dy in range(3) for dx in range(3)], axis=0)
    return np.maximum(resize_to(smooth, gh * big, gw * big)[:h, :w], 1.0)


def _shift(a: np.ndarray, d: int, axis: int) -> np.ndarray:
    """a moved by d along axis, False/0 filling in (no wrap-around)."""
    out = np.zeros_like(a)
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    if d >= 0:
        src[axis], dst[axis] = slice(0, a.shape[axis] - d), slice(d, None)
    else:
        src[axis], dst[axis] = slice(-d, None), slice(0, a.shape[axis] + d)
    out[tuple(dst)] = a[tuple(src)]
    return out


def _thin(dark: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Dark pixels with paper k pixels away on both sides across `axis`: thin lines, not blobs."""
    return dark & ~_shift(dark, k, axis) & ~_shift(dark, -k, axis)


def _long_runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Pixels inside runs of at least `length` consecutive True along `axis`."""
    m = np.moveaxis(mask, axis, -1)
    c = np.concatenate([np.zeros(m.shape[:-1] + (1,), np.int32), np.cumsum(m, axis=-1, dtype=np.int32)], axis=-1)
    full = (c[..., length:] - c[..., :-length]) == length  # window starting at j is all True
    f = np.concatenate([np.zeros(m.shape[:-1] + (1,), np.int32), np.cumsum(full, axis=-1, dtype=np.int32)], axis=-1)
    n = m.shape[-1]
    j = np.arange(n)
    lo = np.clip(j - length + 1, 0, full.shape[-1])
    hi = np.clip(j + 1, 0, full.shape[-1])
    covered = (f[..., hi] - f[..., lo]) > 0
    return np.moveaxis(covered, -1, axis)


def _skew(h_pts: np.ndarray, v_pts: np.ndarray, max_deg: float = 10.0) -> float:
    """Page rotation in degrees: the angle that makes the thin-line pixels' projections sharpest."""

    def score(deg: float) -> float:
        t = np.radians(deg)
        c, s = np.cos(t), np.sin(t)
        total = 0.0
        for pts, (a, b) in ((h_pts, (c, -s)), (v_pts, (c, s))):
            if len(pts):  # h: y*cos - x*sin; v: x*cos + y*sin
                proj = pts[:, 0] * a + pts[:, 1] * b
                hist = np.bincount(np.floor((proj - proj.min()) / 2).astype(np.int64))
                total += float(hist.astype(np.float64) @ hist)
        return total

    best = max(np.arange(-max_deg, max_deg + 1e-9, 0.25), key=score)
    return float(max(np.arange(best - 0.25, best + 0.25 + 1e-9, 0.025), key=score))


def _peaks(profile: np.ndarray, width: int) -> list[tuple[float, float]]:
    """(centre, strength) of the bumps of a line-pixel profile above 30% of the strongest."""
    k = np.ones(2 * width + 1) / (2 * width + 1)
    p = np.convolve(profile, k, mode="same")
    if p.max() <= 0:
        return []
    above = p > 0.3 * p.max()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    out = []
    for a, b in zip(edges[::2], edges[1::2]):
        w = p[a:b]
        out.append((float((np.arange(a, b) * w).sum() / w.sum()), float(w.sum())))
    return out


def _regular(peaks: list[tuple[float, float]]) -> list[float]:
    """The longest run of evenly spaced line positions: a grid, not stray lines around it."""
    pos = [c for c, _ in peaks]
    if len(pos) < 2:
        return pos
    best: list[float] = []
    for i in range(len(pos)):
        for j in range(i + 1, len(pos)):
            chain = [pos[i], pos[j]]
            while True:  # follow the last spacing, so spacing that drifts with perspective is fine
                step = chain[-1] - chain[-2]
                nxt = [p for p in pos if abs(p - (chain[-1] + step)) < 0.15 * step]
                if not nxt:
                    break
                chain.append(min(nxt, key=lambda p: abs(p - chain[-1] - step)))
            if len(chain) > len(best) or (len(chain) == len(best) and chain[1] - chain[0] > best[1] - best[0]):
                best = chain
    return best


def _fit_lines(line_px: np.ndarray, centres: list[float], band: float, span: tuple[float, float], axis: int):
    """Fit u = a + b*v to the line pixels near each centre (u across the line, v along it).

    Returns [n,2] (a, b) and the mean line thickness in pixels.
    """
    us, vs = np.nonzero(line_px) if axis == 0 else np.nonzero(line_px.T)
    keep = (vs >= span[0]) & (vs <= span[1])
    us, vs = us[keep].astype(np.float64), vs[keep].astype(np.float64)
    fits, thick = [], []
    for c in centres:
        sel = np.abs(us - c) < band
        u, v = us[sel], vs[sel]
        if len(u) < 10:
            fits.append((c, 0.0))
            continue
        a, b = c, 0.0
        for _ in range(3):  # refit without the pixels far from the line (ink, crossings)
            A = np.stack([np.ones_like(v), v], axis=1)
            a, b = np.linalg.lstsq(A, u, rcond=None)[0]
            r = np.abs(u - a - b * v)
            ok = r < max(3.0, 2.5 * np.median(r) + 1)
            u, v = u[ok], v[ok]
            if len(u) < 10:
                break
        fits.append((a, b))
        thick.append(len(u) / max(1.0, np.ptp(v) + 1))
    return np.array(fits), float(np.median(thick)) if thick else 1.0


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """img sampled at float pixel coordinates (x right, y down; pixel centres at integers)."""
    h, w = img.shape
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


# ---------------------------------------------------------------- grid finding


@dataclass
class Grid:
    corners: np.ndarray  # float [rows+1, cols+1, 2] (x, y) in the deskewed image
    thickness: float  # line thickness in pixels
    angle: float  # degrees the page's lines were turned from horizontal (clockwise on screen)

    @property
    def shape(self) -> tuple[int, int]:
        return self.corners.shape[0] - 1, self.corners.shape[1] - 1


def _rotate(img: np.ndarray, theta: float) -> np.ndarray:
    """Resample img so that lines running in direction (cos theta, sin theta) become horizontal.

    Output pixel p samples input c + R(theta) (p - c), c the image centre; `find_grid` maps
    corners back with the same formula.
    """
    h, w = img.shape
    c, s = np.cos(theta), np.sin(theta)
    cx, cy = w / 2, h / 2  # PIL's continuous coordinates: pixel i spans [i, i+1)
    affine = (c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy)
    out = Image.fromarray(img.astype(np.float32)).transform((w, h), Image.AFFINE, affine, Image.BILINEAR)
    return np.asarray(out, np.float32)


def find_grid(dark: np.ndarray, name: str = "sheet") -> Grid:
    """Locate the ruled grid in a darkness image [H,W] (0 paper .. 1 black); corners in its pixels."""
    h, w = dark.shape
    side = max(h, w)
    k = max(3, round(side / 250))  # thickest line we accept, about 1.2 mm on A4
    black = dark > 0.3
    if black.mean() < 1e-4:
        raise ValueError(f"{name}: the page is blank (no dark marks at all)")
    step = max(1, int(np.sqrt(black.sum() / 2e5)))  # a sample of points is plenty for the angle
    h_pts = np.argwhere(_thin(black, k, 0))[::step][:, ::-1].astype(np.float64)  # (x, y)
    v_pts = np.argwhere(_thin(black, k, 1))[::step][:, ::-1].astype(np.float64)
    angle = _skew(h_pts, v_pts)
    theta = np.radians(angle)
    if abs(angle) > 0.05:
        black = _rotate(dark, theta) > 0.3
    run = max(20, round(side / 40))
    gap_closed = lambda m, ax: m | _shift(m, 1, ax) | _shift(m, -1, ax)  # noqa: E731 - JPEG breaks thin lines
    h_lines = _long_runs(gap_closed(_thin(black, k, 0), 1), run, 1)
    v_lines = _long_runs(gap_closed(_thin(black, k, 1), 0), run, 0)
    rows = _regular(_peaks(h_lines.sum(axis=1).astype(np.float64), k))
    cols = _regular(_peaks(v_lines.sum(axis=0).astype(np.float64), k))
    if len(rows) < 2 or len(cols) < 2:
        raise ValueError(
            f"{name}: no grid found ({max(0, len(rows) - 1)} rows x {max(0, len(cols) - 1)} columns of cells); "
            "the sheet needs a printed grid of ruled boxes"
        )
    band_r, band_c = 0.3 * (rows[1] - rows[0]), 0.3 * (cols[1] - cols[0])
    h_fit, t_h = _fit_lines(h_lines, rows, band_r, (cols[0] - band_c, cols[-1] + band_c), 0)
    v_fit, t_v = _fit_lines(v_lines, cols, band_c, (rows[0] - band_r, rows[-1] + band_r), 1)
    # Intersections in the deskewed copy: y = a + b x (horizontal lines), x = c + d y (vertical).
    a, b = h_fit[:, 0][:, None], h_fit[:, 1][:, None]
    c, d = v_fit[:, 0][None, :], v_fit[:, 1][None, :]
    y = (a + b * c) / (1 - b * d)
    x = c + d * y
    # Back to the page: undo the deskew.
    cy, cx = (h - 1) / 2, (w - 1) / 2
    co, si = np.cos(theta), np.sin(theta)
    corners = np.stack([cx + co * (x - cx) - si * (y - cy), cy + si * (x - cx) + co * (y - cy)], axis=-1)
    return Grid(corners, (t_h + t_v) / 2, angle)


# ---------------------------------------------------------------- extraction


@dataclass
class SheetResult:
    """What one sheet gave: glyphs [G,28,28] at their cells, and the cells left empty."""

    glyphs: np.ndarray  # uint8 [G,size,size]
    cells: np.ndarray  # int [G,2] (row, col)
    bboxes: np.ndarray  # float32 [G,4] ink box (x0,y0,x1,y1) as fractions of the cell
    empty: np.ndarray  # int [E,2] (row, col)
    grid: Grid


def extract_sheet(grey: np.ndarray, size: int = 28, name: str = "sheet", min_ink: float = 0.0015) -> SheetResult:
    """Cut every cell of one sheet (float grey [H,W], dark ink on light paper) into a glyph."""
    f = max(1, round(max(grey.shape) / 1800))  # work at about 150 dpi: plenty for 28-pixel glyphs
    h, w = grey.shape[0] // f, grey.shape[1] // f
    grey = grey[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3))
    dark = np.clip(1.0 - grey / _paper(grey, max(16, max(h, w) // 64)), 0.0, 1.0).astype(np.float32)
    grid = find_grid(dark, name)
    rows, cols = grid.shape
    corners = grid.corners
    n = int(round(np.mean(np.linalg.norm(np.diff(corners, axis=1), axis=-1))))  # cell side in pixels
    _check_upright(dark, corners, n, name)
    inset = min(0.2, (grid.thickness / 2 + 2) / n)
    t = inset + (1 - 2 * inset) * (np.arange(n) + 0.5) / n  # [n] positions inside the cell, 0..1
    u, v = t[None, :], t[:, None]  # u across (x), v down (y)
    cells = np.empty((rows, cols, n, n), np.float32)
    for r in range(rows):
        for c in range(cols):
            p00, p01, p10, p11 = corners[r, c], corners[r, c + 1], corners[r + 1, c], corners[r + 1, c + 1]
            pts = (
                ((1 - u) * (1 - v))[..., None] * p00
                + (u * (1 - v))[..., None] * p01
                + ((1 - u) * v)[..., None] * p10
                + (u * v)[..., None] * p11
            )
            cells[r, c] = _bilinear(dark, pts[..., 0], pts[..., 1])
    edge = int(np.ceil(grid.thickness)) + 3
    _clear_line_residue(cells, edge)
    ink = cells[cells > 0.2]
    level = float(np.percentile(ink, 95)) if ink.size > 50 else 1.0
    thresh = max(0.2, 0.35 * level)
    glyphs, where, boxes, empty = [], [], [], []
    for r in range(rows):
        for c in range(cols):
            mask = _clean_mask(cells[r, c] > thresh, min_area=max(3, (0.008 * n) ** 2))
            ys, xs = np.nonzero(mask)
            if len(ys) < min_ink * n * n:
                empty.append((r, c))
                continue
            grown = mask | _shift(mask, 1, 0) | _shift(mask, -1, 0) | _shift(mask, 1, 1) | _shift(mask, -1, 1)
            glyph = np.clip(cells[r, c] / level, 0, 1) * grown
            glyphs.append(normalize_glyph(glyph * 255, size, round(size * 20 / 28), threshold=INK_SHARE))
            where.append((r, c))
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64) / n
            boxes.append(inset + (1 - 2 * inset) * box)
    return SheetResult(
        np.array(glyphs, np.uint8).reshape(-1, size, size),
        np.array(where, np.int64).reshape(-1, 2),
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(empty, np.int64).reshape(-1, 2),
        grid,
    )


def _check_upright(dark: np.ndarray, corners: np.ndarray, cell: int, name: str) -> None:
    """Warn when the writing outside the grid is all below it: a template's header upside down.

    Cells are labelled by position, so a page turned 180 degrees would be silently mislabelled.
    """
    x0, x1 = int(max(0, corners[..., 0].min())), int(corners[..., 0].max())
    top, bottom = int(corners[..., 1].min() - cell // 4), int(corners[..., 1].max() + cell // 4)
    above = (dark[: max(0, top), x0:x1] > 0.3).sum()
    below = (dark[max(0, bottom) :, x0:x1] > 0.3).sum()
    if below > 4 * above + 0.05 * cell * cell:
        warnings.warn(
            f"{name}: there is writing below the grid and little above it; if the page is upside down, "
            "rotate it and extract again (cells are labelled by position)",
            stacklevel=3,
        )


def _clear_line_residue(cells: np.ndarray, edge: int) -> None:
    """Blank rows/columns near each cell edge that are mostly dark: what is left of a grid line."""
    for r_idx in range(edge):
        for sl, ax in (((r_idx,), 0), ((-1 - r_idx,), 0), ((r_idx,), 1), ((-1 - r_idx,), 1)):
            view = cells[..., sl[0], :] if ax == 0 else cells[..., :, sl[0]]
            line_like = (view > 0.3).mean(axis=-1) > 0.5  # [rows, cols]
            view[line_like] = 0.0


def _clean_mask(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Drop specks (see `despeckle`), and small fragments at the cell edge from a neighbour's glyph."""
    labels, count = connected_components(mask)
    if count == 0:
        return mask
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    keep = areas >= max(min_area, SPECK_SHARE * areas[1:].sum())
    n = mask.shape[0]
    for lab in np.flatnonzero(keep & (areas < 0.1 * areas.max())):
        ys, xs = np.nonzero(labels == lab)
        y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
        if (
            (y0 == 0 and y1 < 0.25 * n)
            or (y1 == n - 1 and y0 > 0.75 * n)
            or (x0 == 0 and x1 < 0.25 * n)
            or (x1 == n - 1 and x0 > 0.75 * n)
        ):
            keep[lab] = False
    keep[0] = False
    return keep[labels]


def extract_sheets(paths, chars: str, writer: str | None = None, size: int = 28) -> GlyphDataset:
    """Glyphs from one or more scanned sheets, labelled row-major over `chars` (repeating).

    The dataset's `extra` holds sheet, row, col and bbox for every glyph; `meta["empty_cells"]`
    holds (sheet, row, col) of each empty cell and `meta["sheet_names"]` the file names.
    Empty cells are warned about, never filled with invented glyphs.
    """
    if not chars:
        raise ValueError("--chars is empty: give the characters written on the sheet, row by row")
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise ValueError("no sheets given")
    charset = "".join(dict.fromkeys(chars))
    images, labels, sheet_ids, cells, boxes, empties = [], [], [], [], [], []
    for s, path in enumerate(paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        res = extract_sheet(read_sheet(path), size, str(path))
        rows, cols = res.grid.shape
        n_cells = rows * cols
        if len(chars) > n_cells:
            raise ValueError(
                f"{path}: --chars has {len(chars)} characters but the sheet's grid has only "
                f"{rows} x {cols} = {n_cells} cells; wrong --chars or wrong sheet?"
            )
        if n_cells % len(chars):
            warnings.warn(
                f"{path}: {rows} x {cols} = {n_cells} cells is not a multiple of the {len(chars)} "
                f"--chars; labels repeat row-major and the last row stops part-way through them",
                stacklevel=2,
            )
        if len(res.glyphs) == 0:
            raise ValueError(f"{path}: found a {rows} x {cols} grid but every cell is empty")
        if len(res.empty):
            listed = ", ".join(f"({r},{c})" for r, c in res.empty[:20])
            warnings.warn(f"{path}: {len(res.empty)} empty cell(s) skipped at (row,col) {listed}", stacklevel=2)
        index = res.cells[:, 0] * cols + res.cells[:, 1]
        images.append(res.glyphs)
        labels.append([charset.index(chars[i % len(chars)]) for i in index])
        sheet_ids.append(np.full(len(index), s))
        cells.append(res.cells)
        boxes.append(res.bboxes)
        empties.append(np.concatenate([np.full((len(res.empty), 1), s), res.empty], axis=1))
    cells_all = np.concatenate(cells)
    ds = GlyphDataset(
        np.concatenate(images),
        np.concatenate(labels),
        charset,
        None,
        ", ".join(p.name for p in paths),
        extra={
            "sheet": np.concatenate(sheet_ids).astype(np.int64),
            "row": cells_all[:, 0],
            "col": cells_all[:, 1],
            "bbox": np.concatenate(boxes),
        },
        meta={
            "empty_cells": np.concatenate(empties).astype(np.int64).reshape(-1, 3),
            "sheet_names": np.array([p.name for p in paths]),
        },
    )
    if writer is not None:
        ds.writers = np.zeros(len(ds), np.int64)
        ds.meta["writer_names"] = np.array([writer])
    return ds

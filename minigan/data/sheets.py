"""Handwriting sheets: a printable template, and the extractor that turns scans of filled grids into glyphs.

The extractor reads any ruled grid, not only the template, and does not trust the page to be
straight, evenly lit or flat. It works on "darkness" (1 - pixel / local paper brightness, per
colour channel), so lighting, paper colour and pale or coloured grid lines all look alike. It
finds the grid as thin, long, straight lines after undoing the page's tilt, fits every line
robustly on its own (perspective is fine), straightens the grid into equal cells, erases the
lines while bridging the strokes that cross them, and gives each connected stroke to the cell
that holds most of it, so a glyph keeps what crosses into a neighbour. See docs/sheets.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import UserError
from .dataset import GlyphDataset
from .preview import font
from .transforms import connected_components, normalize_glyph, resize_to

GUIDE_GREY = 220  # template guides print this light; the extractor's ink threshold sits well below it
INK_SHARE = 0.3  # a glyph's bounding box is where it is at least this share of full ink darkness


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
        raise UserError("--chars is empty: give the characters to write, e.g. ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if rows < 1 or cols < 1:
        raise UserError(f"--rows and --cols must be positive, got {rows} x {cols}; give at least one of each")
    if len(chars) > rows * cols:
        raise UserError(f"--chars: {len(chars)} characters do not fit in {rows} x {cols} boxes, and "
                        f"the last {len(chars) - rows * cols} would never be asked for; give "
                        f"--rows {-(-len(chars) // cols)}")
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    margin, header = round(0.5 * dpi), round(1.1 * dpi)
    cell = min((width - 2 * margin) // cols, (height - header - 2 * margin) // rows)
    if cell < 0.25 * dpi:
        raise UserError(f"{rows} x {cols} cells do not fit on A4 at a usable size; use fewer rows")
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
    """A scan or photo as float32 [H,W] (grey) or [H,W,3] (colour), 0..255.

    16-bit and float images are scaled by their own range: converting them the usual way clips
    them to white and loses the ink."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
                a = np.asarray(im, np.float32)
                top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
                return np.clip(a * (255.0 / top), 0, 255)
            if im.mode in ("L", "1", "LA"):
                return np.asarray(im.convert("L"), np.float32)
            return np.asarray(im.convert("RGB"), np.float32)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read as an image ({e})") from None


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


def _close_gaps(mask: np.ndarray, gap: int, axis: int) -> np.ndarray:
    """mask with runs of up to `gap` False between two True along `axis` set True."""
    m = np.moveaxis(mask, axis, -1)
    n = m.shape[-1]
    idx = np.broadcast_to(np.arange(n), m.shape)
    prev = np.maximum.accumulate(np.where(m, idx, -n - gap), axis=-1)  # last True at or before
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(m, idx, 2 * n + gap), -1), axis=-1), -1)
    return np.moveaxis(m | (nxt - prev <= gap + 1), -1, axis)


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


def _even(chain: list[float], strength: dict) -> float:
    """How unlike each other the chain's lines are in length (spread over mean), then wider first."""
    v = np.array([strength[p] for p in chain])
    return float(v.std() / max(v.mean(), 1e-9)) - 1e-6 * (chain[1] - chain[0])


def _regular(peaks: list[tuple[float, float]]) -> list[float]:
    """The longest run of evenly spaced line positions: a grid, not stray lines around it.
    Of two runs as long, the one whose lines are most alike in length (a grid's are)."""
    pos = [c for c, _ in peaks]
    strength = dict(peaks)
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
            if len(chain) > len(best) or (len(chain) == len(best) and _even(chain, strength) < _even(best, strength)):
                best = chain
    # The outer lines of a grid in perspective are the most slanted, so their peaks wander most:
    # take them at the ends with a looser tolerance.
    for end in (0, -1):
        while len(best) >= 2:
            step = best[end] - best[end + 1] if end == 0 else best[-1] - best[-2]
            near = [p for p in pos if p not in best and abs(p - best[end] - step) < 0.25 * abs(step)]
            if not near:
                break
            p = min(near, key=lambda p: abs(p - best[end] - step))
            best = [p] + best if end == 0 else best + [p]
    return best


def _extent(line_px: np.ndarray, centres: list[float], band: float, axis: int) -> tuple[float, float]:
    """Where the lines near `centres` start and end along their length (median over the lines).
    axis 0: horizontal lines (rows at centres), extent in x; axis 1: vertical lines, extent in y."""
    us, vs = np.nonzero(line_px) if axis == 0 else np.nonzero(line_px.T)
    ends = []
    for c in centres:
        v = vs[np.abs(us - c) < band]
        if len(v) > 10:
            ends.append(np.percentile(v, [2, 98]))
    if not ends:
        return -np.inf, np.inf
    lo, hi = np.median(np.array(ends), axis=0)
    return float(lo), float(hi)


def _fit_lines(line_px: np.ndarray, centres: list[float], band: float, span: tuple[float, float], axis: int):
    """Fit u = a + b*v to the line pixels near each centre (u across the line, v along it).

    The line is cut into short pieces and each piece gives one point, where most of its pixels
    lie; a glyph's long stem beside the line spoils a piece or two, which the robust fit drops.
    Returns [n,2] (a, b) and [n] each line's thickness in pixels.
    """
    us, vs = np.nonzero(line_px) if axis == 0 else np.nonzero(line_px.T)
    keep = (vs >= span[0]) & (vs <= span[1])
    us, vs = us[keep].astype(np.float64), vs[keep].astype(np.float64)
    piece = max(8.0, band)
    fits, thick, points = [], [], []
    for c in centres:
        sel = np.abs(us - c) < band
        u, v = us[sel], vs[sel]
        pu, pv, pk, pk_start = [], [], [], []  # points, and the piece each came from
        for start in np.arange(span[0], span[1], piece):
            s = (v >= start) & (v < start + piece)
            if s.sum() < 4:
                continue
            base = u[s].min()
            counts = np.convolve(np.bincount(np.rint(u[s] - base).astype(np.int64)), np.ones(3), mode="same")
            padded = np.concatenate([[-1.0], counts, [-1.0]])
            peaks = np.flatnonzero((counts >= padded[:-2]) & (counts > padded[2:]) & (counts >= 0.3 * piece))
            for mode in base + peaks:  # every run through the piece: the line, or a stem beside it
                near = np.abs(u[s] - mode) <= 2
                pu.append(u[s][near].mean())
                pv.append(v[s][near].mean())
                pk.append(len(pk_start))
            pk_start.append(start)
        pu, pv, pk = np.array(pu), np.array(pv), np.array(pk)
        if len(pu) < 2:
            fits.append((c, 0.0))
            points.append((pu, pv, pk))
            continue
        # The line through two pieces that most other pieces agree with, refitted to those.
        i, j = np.triu_indices(len(pu), 1)
        keep = pv[j] - pv[i] > 0
        i, j = i[keep], j[keep]
        b = (pu[j] - pu[i]) / (pv[j] - pv[i])
        a = pu[i] - b * pv[i]
        r = np.abs(pu[None, :] - a[:, None] - b[:, None] * pv[None, :])  # [pairs, points]
        hit = np.zeros((len(a), len(pk_start)), bool)  # pieces the candidate line passes through
        rows_, cols_ = np.nonzero(r < 1.5)
        hit[rows_, pk[cols_]] = True
        best = np.argmax(hit.sum(axis=1) - 1e-3 * np.minimum(r, 1.5).sum(axis=1))
        ok = r[best] < 1.5
        A = np.stack([np.ones(ok.sum()), pv[ok]], axis=1)
        a, b = np.linalg.lstsq(A, pu[ok], rcond=None)[0]
        fits.append((a, b))
        points.append((pu, pv, pk))
    fits = np.array(fits)
    # Lines of one grid turn together: their slopes change evenly across the page (perspective).
    # A line whose slope strays was pulled by glyph stems beside it; it keeps the slope its
    # neighbours give it and takes the offset that most pieces agree with.
    if len(fits) >= 3:
        idx = np.arange(len(fits))
        trend = np.polyfit(idx, fits[:, 1], 1)
        for _ in range(2):
            ok = np.abs(fits[:, 1] - np.polyval(trend, idx)) < 0.004
            if ok.sum() >= 2:
                trend = np.polyfit(idx[ok], fits[ok, 1], 1)
        for i, (pu, pv, pk) in enumerate(points):
            b = np.polyval(trend, i)
            if abs(fits[i, 1] - b) < 0.004 or len(pu) == 0:
                continue
            a_cand = pu - b * pv
            support = [len(set(pk[np.abs(a_cand - a) < 1.5])) for a in a_cand]
            a = a_cand[np.abs(a_cand - a_cand[int(np.argmax(support))]) < 1.5].mean()
            fits[i] = (a, b)
    for (a, b), c in zip(fits, centres):
        sel = np.abs(us - c) < band
        u, v = us[sel], vs[sel]
        on = np.abs(u - a - b * v) < 4
        thick.append(on.sum() / max(1.0, np.ptp(v[on]) + 1) if on.any() else 1.0)
    return fits, np.array(thick)


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
    corners: np.ndarray  # float [rows+1, cols+1, 2] (x, y) in the image the grid was found in
    thickness: float  # line thickness in pixels (inner lines)
    angle: float  # degrees the page's lines were turned from horizontal (clockwise on screen)
    border: float = 0.0  # outer border thickness in pixels

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


LINE_LEVELS = (0.3, 0.15, 0.08)  # darkness thresholds tried for the grid lines, darkest first


def find_grid(dark: np.ndarray, name: str = "sheet", need: int = 1) -> Grid:
    """Locate the ruled grid in a darkness image [H,W] (0 paper .. 1 black); corners in its pixels.

    Dark lines are looked for first; when that finds no grid of at least `need` cells, lighter
    ones (a pale grey or coloured grid). The grid with the most cells wins.
    """
    if (dark > LINE_LEVELS[-1] + 0.04).mean() < 1e-4:
        raise UserError(f"{name}: the page is blank (no dark marks at all); is this the right file?")
    best, best_shape = None, (0, 0)
    for level in LINE_LEVELS:
        grid, shape = _grid_at(dark, dark > level)
        if grid is not None and shape[0] * shape[1] > best_shape[0] * best_shape[1]:
            best, best_shape = grid, shape
        if best is not None and best_shape[0] * best_shape[1] >= need:
            break
        best_shape = max(best_shape, shape, key=lambda s: s[0] * s[1]) if best is None else best_shape
    if best is None:
        raise UserError(
            f"{name}: no grid found ({best_shape[0]} rows x {best_shape[1]} columns of cells); "
            "the sheet needs a printed grid of ruled boxes"
        )
    return best


def _grid_at(dark: np.ndarray, black: np.ndarray):
    """The grid whose lines are the thin long runs of `black`: (Grid or None, (rows, cols))."""
    h, w = dark.shape
    side = max(h, w)
    k = max(4, round(side / 250))  # thickest line we accept, about 1.2 mm on A4
    step = max(1, int(np.sqrt(black.sum() / 2e5)))  # a sample of points is plenty for the angle
    h_pts = np.argwhere(_thin(black, k, 0))[::step][:, ::-1].astype(np.float64)  # (x, y)
    v_pts = np.argwhere(_thin(black, k, 1))[::step][:, ::-1].astype(np.float64)
    if len(h_pts) < 10 or len(v_pts) < 10:
        return None, (0, 0)
    angle = _skew(h_pts, v_pts)
    theta = np.radians(angle)
    if abs(angle) > 0.05:
        black = _rotate(black.astype(np.float32), theta) > 0.5
    run = max(20, round(side / 40))
    # Bridge short gaps along each line: JPEG breaks thin lines, and where a thick stroke
    # touches a line the line is not thin there.
    h_lines = _long_runs(_close_gaps(_thin(black, k, 0), 2 * k, 1), run, 1)
    v_lines = _long_runs(_close_gaps(_thin(black, k, 1), 2 * k, 0), run, 0)
    # Count each line once per column however thick it is, so a heavy border does not hide the rest.
    h_top = h_lines & ~_shift(h_lines, 1, 0)
    v_left = v_lines & ~_shift(v_lines, 1, 1)
    rows = _regular(_peaks(h_top.sum(axis=1).astype(np.float64), k))
    cols = _regular(_peaks(v_left.sum(axis=0).astype(np.float64), k))
    if len(rows) < 2 or len(cols) < 2:
        return None, (max(0, len(rows) - 1), max(0, len(cols) - 1))
    # A grid's rows lie between the ends of its columns and the other way round: a line of
    # printed text just above the grid, spaced like a row, is not a row.
    for _ in range(2):
        band_r, band_c = 0.3 * (rows[1] - rows[0]), 0.3 * (cols[1] - cols[0])
        top, bottom = _extent(v_lines, cols, band_c, 1)
        left, right = _extent(h_lines, rows, band_r, 0)
        rows = [y for y in rows if top - 1.6 * band_r <= y <= bottom + 1.6 * band_r]
        cols = [x for x in cols if left - 1.6 * band_c <= x <= right + 1.6 * band_c]
        if len(rows) < 2 or len(cols) < 2:
            return None, (max(0, len(rows) - 1), max(0, len(cols) - 1))
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
    inner = np.concatenate([t_h[1:-1], t_v[1:-1]])
    outer = np.concatenate([t_h[[0, -1]], t_v[[0, -1]]])
    thickness = float(np.median(inner)) if len(inner) else float(np.median(outer))
    grid = Grid(corners, thickness, angle, float(np.max(outer)))
    return grid, grid.shape


# ---------------------------------------------------------------- extraction


@dataclass
class SheetResult:
    """What one sheet gave: glyphs [G,28,28] at their cells, and the cells left empty."""

    glyphs: np.ndarray  # uint8 [G,size,size]
    cells: np.ndarray  # int [G,2] (row, col)
    bboxes: np.ndarray  # float32 [G,4] ink box (x0,y0,x1,y1) as fractions of the cell (beyond 0..1 if it crosses)
    empty: np.ndarray  # int [E,2] (row, col)
    grid: Grid


def _shrink(image: np.ndarray, f: int) -> np.ndarray:
    """[H,W(,3)] averaged over f x f blocks."""
    h, w = image.shape[0] // f, image.shape[1] // f
    return image[: h * f, : w * f].reshape(h, f, w, f, *image.shape[2:]).mean(axis=(1, 3))


def _darkness(image: np.ndarray, block: int) -> np.ndarray:
    """How much light each pixel absorbs, 0 (paper) .. 1 (black), float32 [H,W].

    Each colour channel is divided by its own local paper brightness (so uneven light and a
    colour cast cancel) and the darkest channel counts, so a pale blue grid still shows."""
    chans = image[..., None] if image.ndim == 2 else image
    h, w = chans.shape[:2]
    out = np.zeros((h, w), np.float32)
    for i in range(chans.shape[2]):
        out = np.maximum(out, 1.0 - chans[..., i] / _paper(chans[..., i], block))
    return np.clip(out, 0.0, 1.0)


def _extend(corners: np.ndarray) -> np.ndarray:
    """Corners [R+1,C+1,2] grown by one ring of cells outward (straight-line extrapolation)."""
    c = np.concatenate([2 * corners[:1] - corners[1:2], corners, 2 * corners[-1:] - corners[-2:-1]], axis=0)
    return np.concatenate([2 * c[:, :1] - c[:, 1:2], c, 2 * c[:, -1:] - c[:, -2:-1]], axis=1)


def _mosaic(dark: np.ndarray, corners: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """The grid straightened: cell (r, c) of `corners` [R+1,C+1,2] becomes the ny x nx block at
    (r*ny, c*nx) of the result [R*ny, C*nx], sampled through its four corners (bilinear map)."""
    R, C = corners.shape[0] - 1, corners.shape[1] - 1
    Y, X = np.mgrid[0 : R * ny, 0 : C * nx]
    r, c = Y // ny, X // nx
    v = ((Y % ny + 0.5) / ny)[..., None]
    u = ((X % nx + 0.5) / nx)[..., None]
    pts = (
        (1 - u) * (1 - v) * corners[r, c]
        + u * (1 - v) * corners[r, c + 1]
        + (1 - u) * v * corners[r + 1, c]
        + u * v * corners[r + 1, c + 1]
    )
    return _bilinear(dark, pts[..., 0], pts[..., 1])


def _erase_lines(m: np.ndarray, nx: int, ny: int, half: float, half_outer: float, level: float) -> None:
    """Remove the grid lines from the mosaic in place without breaking the ink that crosses them.

    Each line's band is blanked, except where ink comes up to it from both sides: a stroke
    crossing the line, whose missing piece is filled in from its two ends."""
    R, C = m.shape[0] // ny - 2, m.shape[1] // nx - 2
    for axis, n, count in ((0, ny, R), (1, nx, C)):
        a = m if axis == 0 else m.T
        for k in range(1, count + 2):
            hw = half_outer if k in (1, count + 1) else half
            lo, hi = int(np.floor(k * n - hw)), int(np.ceil(k * n + hw))
            lo, hi = max(1, lo), min(a.shape[0] - 2, hi)
            before = a[max(0, lo - 4) : lo].max(axis=0)  # [L] ink just outside the band, each side
            after = a[hi : hi + 4].max(axis=0)
            crossing = (_near(before, 3) > level) & (_near(after, 3) > level)  # a slanted stroke too
            # A stroke running along the line makes it look wider than it is: keep the band there.
            along = (a[max(0, lo - 3) : hi + 3] > level).sum(axis=0) >= (hi - lo) + 2
            along = along & (_near(along.astype(np.float32), 2) > 0)
            fill = np.where(crossing, np.minimum(before, after), 0.0)[None, :]
            a[lo:hi] = np.where(along[None, :] & ~crossing[None, :], a[lo:hi], fill)


def _near(x: np.ndarray, d: int) -> np.ndarray:
    """[L] the largest value within d places (a running maximum)."""
    p = np.pad(x, d)
    return np.max([p[i : i + len(x)] for i in range(2 * d + 1)], axis=0)


def _box_blur3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    return sum(p[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0


def _grow(mask: np.ndarray) -> np.ndarray:
    """8-neighbour dilation by one pixel."""
    out = mask | _shift(mask, 1, 0) | _shift(mask, -1, 0)
    return out | _shift(out, 1, 1) | _shift(out, -1, 1)


def extract_sheet(
    image: np.ndarray, size: int = 28, name: str = "sheet", chars: str = "", need: int = 1
) -> SheetResult:
    """Cut every cell of one sheet (float [H,W] or [H,W,3], dark ink on light paper) into a glyph.

    The grid is straightened into a mosaic of equal cells (one ring of cells beyond it kept, for
    ink that crosses the border), its lines are erased, and the ink is split into connected
    strokes. A stroke belongs to the cell that holds most of it, wherever else it reaches, so a
    glyph keeps what crosses into a neighbour and takes nothing of the neighbour's. Small marks
    that belong to no glyph (dots, specks) are dropped; a cell with none is empty. `chars`, when
    given, lets cells meant for punctuation keep small marks.
    """
    f = max(1, round(max(image.shape[:2]) / 1800))  # find the grid at about 150 dpi
    block = max(16, max(image.shape[:2]) // f // 64)  # paper brightness is judged over blocks this big
    dark = _darkness(_shrink(image, f), block)
    grid = find_grid(dark, name, need)
    rows, cols = grid.shape
    corners = grid.corners
    nx = np.mean(np.linalg.norm(np.diff(corners, axis=1), axis=-1))  # cell width in pixels
    ny = np.mean(np.linalg.norm(np.diff(corners, axis=0), axis=-1))
    _check_upright(dark, corners, int(ny), name)
    ext = _extend(corners)
    thick, border = grid.thickness, grid.border
    fine = max(1, min(f, int(f * min(nx, ny) / 80)))
    if fine < f:  # small cells (a photo of a whole desk): cut glyphs from a sharper copy of the grid
        s = f / fine
        ext = (ext + 0.5) * s - 0.5
        lo = np.maximum(0, np.floor(ext.reshape(-1, 2).min(axis=0)) - 8).astype(int)  # (x, y)
        hi = np.ceil(ext.reshape(-1, 2).max(axis=0)).astype(int) + 8
        crop = image[lo[1] * fine : hi[1] * fine, lo[0] * fine : hi[0] * fine]
        dark = _darkness(_shrink(crop, fine), round(block * s))
        ext = ext - lo
        nx, ny, thick, border = nx * s, ny * s, thick * s, border * s
    nx, ny = int(round(nx)), int(round(ny))
    m = _mosaic(dark, ext, nx, ny)  # [(rows+2)*ny, (cols+2)*nx]
    _erase_lines(m, nx, ny, thick / 2 + 1.5, border / 2 + 1.5, 0.12)
    inside = m[ny:-ny, nx:-nx]
    ink = inside[inside > 0.15]
    level = float(np.percentile(ink, 95)) if ink.size > 50 else 1.0  # full ink, lines gone
    thresh = max(0.16, 0.3 * level)  # above the template's light-grey guides (about 0.12)
    mask = _box_blur3(m) > thresh  # grain and noise averaged out: pencil strokes hold together
    labels, count = connected_components(_grow(mask))
    labels = labels * mask  # grown only to join broken strokes; the ink is what was dark
    glyphs, where, boxes, empty = [], [], [], []
    home, small, count = _assign(labels, count, nx, ny, rows, cols, thick / 2 + 1.5)
    for r in range(rows):
        for c in range(cols):
            ch = chars[(r * cols + c) % len(chars)] if chars else ""
            parts = [lab for lab in range(1, count + 1) if home[lab] == (r, c)]
            if ch in PUNCTUATION:
                parts += [lab for lab in range(1, count + 1) if small[lab] == (r, c)]
            if not parts:
                empty.append((r, c))
                continue
            mine = np.isin(labels, parts)
            ys, xs = np.nonzero(mine)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            crop = np.clip(m[y0:y1, x0:x1] / level, 0, 1) * _grow(mine[y0:y1, x0:x1])
            glyphs.append(normalize_glyph(crop * 255, size, round(size * 20 / 28), threshold=INK_SHARE))
            where.append((r, c))
            boxes.append([(x0 - (c + 1) * nx) / nx, (y0 - (r + 1) * ny) / ny, (x1 - (c + 1) * nx) / nx, (y1 - (r + 1) * ny) / ny])
    return SheetResult(
        np.array(glyphs, np.uint8).reshape(-1, size, size),
        np.array(where, np.int64).reshape(-1, 2),
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(empty, np.int64).reshape(-1, 2),
        grid,
    )


PUNCTUATION = set(".,:;'`\"-_~!?")  # characters small enough to look like a speck
MIN_GLYPH = 0.15  # a stroke shorter than this share of the cell, in both directions, is a mark, not a glyph


def _assign(labels: np.ndarray, count: int, nx: int, ny: int, rows: int, cols: int, half: float):
    """Give each connected stroke a cell.

    Returns home (label -> (row, col) for strokes that make or join a glyph, else None), small
    (label -> the cell a small mark lies in, for punctuation cells) and the new label count
    (`labels` is changed in place where touching glyphs are split).
    """
    C = cols + 2
    cell_of = (np.arange(labels.shape[0]) // ny)[:, None] * C + (np.arange(labels.shape[1]) // nx)[None, :]
    n_cells = (rows + 2) * C
    counts = np.bincount((labels * n_cells + cell_of).ravel(), minlength=(count + 1) * n_cells)
    counts = counts.reshape(count + 1, n_cells)  # [label, cell] pixels
    counts[0] = 0
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    box = np.zeros((count + 1, 4))
    box[:, 0] = box[:, 1] = np.inf
    box[:, 2] = box[:, 3] = -np.inf
    np.minimum.at(box[:, 0], lab, xs)
    np.minimum.at(box[:, 1], lab, ys)
    np.maximum.at(box[:, 2], lab, xs + 1)
    np.maximum.at(box[:, 3], lab, ys + 1)
    home: list = [None] * (count + 1)
    small: list = [None] * (count + 1)
    big = ((box[:, 2] - box[:, 0]) >= MIN_GLYPH * nx) | ((box[:, 3] - box[:, 1]) >= MIN_GLYPH * ny)
    for lab_ in range(1, count + 1):
        cell = int(np.argmax(counts[lab_]))
        r, c = cell // C - 1, cell % C - 1
        if not (0 <= r < rows and 0 <= c < cols):
            continue  # mostly outside the grid: margin text, a neighbour page's edge
        if big[lab_]:
            home[lab_] = (r, c)
        else:
            small[lab_] = (r, c)
    # Two glyphs that touch make one stroke: a cell left with nothing takes back the part of a
    # neighbour's stroke that lies in it, when that part is glyph-sized (not a tail crossing over).
    for cell in range(n_cells):
        r, c = cell // C - 1, cell % C - 1
        if not (0 <= r < rows and 0 <= c < cols) or (r, c) in home:
            continue
        share = counts[:, cell] / np.maximum(1, counts.sum(axis=1))
        for lab_ in np.flatnonzero((share > 0.2) & big[: len(share)]):
            if home[lab_] is None:
                continue
            part = (labels == lab_) & (cell_of == cell)
            ys, xs = np.nonzero(part)
            hr, hc = home[lab_]
            # How far the part reaches into this cell from the border it shares with the stroke's home.
            depth = max(
                (ys.max() + 1 - (r + 1) * ny) / ny if r > hr else ((r + 2) * ny - ys.min()) / ny if r < hr else 0,
                (xs.max() + 1 - (c + 1) * nx) / nx if c > hc else ((c + 2) * nx - xs.min()) / nx if c < hc else 0,
            )
            if depth >= 0.45 and max(np.ptp(xs) + 1, np.ptp(ys) + 1) >= 0.35 * min(nx, ny):
                count += 1
                labels[part] = count
                home.append((r, c))
                small.append(None)
                box = np.concatenate([box, [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]])
                big = np.append(big, True)
                break
    # A piece cut off by a grid line (a descender's tail, a stroke crossing at a shallow angle,
    # the top of a G written along the line) goes back to the glyph whose ink comes nearest it
    # across the line, on either side: the stroke it was cut from ends there. A glyph's body is
    # preferred to another cut piece; a piece that meets no body takes the owner of a piece that
    # did (a tail cut in two by the line and by its own turn).
    windows = {lab_: _line_windows(box[lab_], labels.shape, nx, ny, half)
               for lab_ in range(1, count + 1) if np.isfinite(box[lab_]).all()}
    owned = {lab_ for lab_, w in windows.items() if not w and home[lab_] is not None}
    pieces = [lab_ for lab_, w in windows.items() if w]
    while pieces:
        left = []
        for lab_ in pieces:
            nearest = _nearest(labels, lab_, windows[lab_], owned)
            if nearest is None:
                left.append(lab_)
            else:
                home[lab_] = home[nearest]
                small[lab_] = None
        if len(left) == len(pieces):
            break  # the rest meet no glyph: they stay where most of their ink is
        owned |= set(pieces) - set(left)
        pieces = left
    # Small marks join a glyph of their own cell when they sit over, under or just beside it (an
    # i's dot, the pen's touch at a stroke's end); a speck far from the glyph is left out.
    for lab_ in range(1, count + 1):
        if small[lab_] is None or home[lab_] is not None:
            continue
        x0, y0, x1, y1 = box[lab_]
        for other in range(1, count + 1):
            if home[other] != small[lab_]:
                continue
            bx0, by0, bx1, by1 = box[other]
            if x1 > bx0 - 0.25 * nx and x0 < bx1 + 0.25 * nx and y1 > by0 - 0.3 * ny and y0 < by1 + 0.3 * ny:
                home[lab_] = small[lab_]
                break
    return home, small, count


def _line_windows(box, shape, nx: int, ny: int, half: float) -> list:
    """Where to look for the stroke a piece with box (x0, y0, x1, y1) was cut from: a window
    around each grid line the piece lies along, beside or on it. Only a sliver (under 0.3 of a
    cell across the line) has any."""
    x0, y0, x1, y1 = (int(v) for v in box)
    gap = int(np.ceil(half)) + 4
    mx, my = max(4, int(0.15 * nx)), max(4, int(0.15 * ny))  # the stroke may have run along the line
    windows = []  # (y slice, x slice)
    if y1 - y0 < 0.3 * ny:
        for k in range(1, shape[0] // ny):
            if y0 - gap <= k * ny <= y1 + gap:
                windows.append((slice(max(0, k * ny - gap - 4), k * ny + gap + 4), slice(max(0, x0 - mx), x1 + mx)))
    if x1 - x0 < 0.3 * nx:
        for k in range(1, shape[1] // nx):
            if x0 - gap <= k * nx <= x1 + gap:
                windows.append((slice(max(0, y0 - my), y1 + my), slice(max(0, k * nx - gap - 4), k * nx + gap + 4)))
    return windows


def _nearest(labels: np.ndarray, lab: int, windows: list, candidates: set):
    """The candidate label whose ink comes closest to label `lab` within the windows, or None.

    Closest, not most ink nearby: a glyph's own top running beside the line would always win
    by ink, while the stroke the piece was cut from ends right where the piece begins."""
    best, best_d = None, np.inf
    for wy, wx in windows:
        win = labels[wy, wx]
        py, px = np.nonzero(win == lab)
        if py.size == 0:
            continue
        for other in np.unique(win):
            if other == lab or int(other) not in candidates:
                continue
            qy, qx = np.nonzero(win == other)
            d = np.min((py[:, None] - qy[None, :]) ** 2 + (px[:, None] - qx[None, :]) ** 2)
            if d < best_d:
                best, best_d = int(other), d
    return best


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


TURNS = {1: "90 degrees clockwise", 2: "upside down (180 degrees)", 3: "90 degrees counter-clockwise"}


def page_turn(res: SheetResult, chars: str, margin: float = 0.25) -> str | None:
    """How the page seems turned, or None when it reads best as it is.

    Cells are labelled by position, so a page scanned sideways or upside down is mislabelled
    without a word. The shipped character classifier reads the glyphs as they are and with the
    whole page turned back each way (the grid turns too, so each cell's label changes); a turn
    that reads clearly better than the page as it is means the page is turned. Sheets with too
    few characters the classifier knows are not judged.
    """
    from ..metrics.features import fold_case, load_net  # the data layer needs it only here

    rows, cols = res.grid.shape
    try:
        net = load_net("chars")
    except (FileNotFoundError, OSError):
        return None
    known = {c: i for i, c in enumerate(net.charset)}
    grid = np.zeros((rows, cols, *res.glyphs.shape[1:]), np.uint8)
    filled = np.zeros((rows, cols), bool)
    grid[res.cells[:, 0], res.cells[:, 1]] = res.glyphs
    filled[res.cells[:, 0], res.cells[:, 1]] = True
    scores = {}
    for k in range(4):
        g = np.rot90(np.rot90(grid, k, axes=(0, 1)), k, axes=(2, 3))  # the page turned k quarters back
        f = np.rot90(filled, k)
        r_, c_ = np.nonzero(f)
        want = [chars[(r * f.shape[1] + c) % len(chars)] for r, c in zip(r_, c_)]
        use = [i for i, ch in enumerate(want) if ch in known]
        if len(use) < 6 or (k % 2 and f.shape[0] * f.shape[1] < len(chars)):
            scores[k] = 0.0
            continue
        pred = net.predict(np.ascontiguousarray(g[r_, c_][use]))
        truth = np.array([known[want[i]] for i in use])
        scores[k] = float(np.mean(fold_case(pred, net.charset) == fold_case(truth, net.charset)))
    best = max(scores, key=scores.get)
    if best and scores[best] >= 0.5 and scores[best] >= scores[0] + margin:
        return TURNS[best]
    return None


def extract_sheets(paths, chars: str, writer: str | None = None, size: int = 28) -> GlyphDataset:
    """Glyphs from one or more scanned sheets, labelled row-major over `chars` (repeating).

    The dataset's `extra` holds sheet, row, col and bbox for every glyph; `meta["empty_cells"]`
    holds (sheet, row, col) of each empty cell and `meta["sheet_names"]` the file names.
    Empty cells are warned about, never filled with invented glyphs.
    """
    if not chars:
        raise UserError("--chars is empty: give the characters written on the sheet, row by row")
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise UserError("no sheets given: name one or more scans or photos")
    charset = "".join(dict.fromkeys(chars))
    images, labels, sheet_ids, cells, boxes, empties = [], [], [], [], [], []
    for s, path in enumerate(paths):
        if not path.is_file():
            raise UserError(f"{path}: no such file; check the path")
        res = extract_sheet(read_sheet(path), size, str(path), chars, len(chars))
        rows, cols = res.grid.shape
        n_cells = rows * cols
        if len(chars) > n_cells:
            raise UserError(
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
            raise UserError(f"{path}: found a {rows} x {cols} grid but every cell is empty; is the ink too faint?")
        turned = page_turn(res, chars)
        if turned:
            raise UserError(
                f"{path}: the page seems turned {turned} (its glyphs read as --chars only when turned back); "
                "turn the image upright and extract again"
            )
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

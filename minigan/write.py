"""Write any text in a person's handwriting.

    python -m minigan.write "Dear Ann,\\nsee you soon" --style mine.npz --out letter.png

--style is either glyphs of the person (the .npz from `python -m minigan.data extract`, a
dataset name, or a folder of images), which are fitted to one style code first, or a style
already fitted and saved with --save-style. Without --style a random style is used.

Glyphs come out of the generator normalised (every character fills the same box), so the
layout puts size back: each character is scaled to its class's height (x-height letters,
ascenders, descenders, capitals and digits), sat on a common baseline, spaced, given a slight
per-glyph variation so repeated letters differ, and wrapped into lines.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ._cli import (ArgumentParser, HelpFormatter, float_in, input_source, int_in, job,
                   output_file)
from .checkpoint import CheckpointError
from .data import normalize_glyph
from .images import save_atomic, to_uint8
from .invert import w_statistics
from .style import (PULL, TUNE_LR, Style, char_labels, check_pull, check_style_model, draw,
                    fit_style, random_style)

DEFAULT_MODEL = Path(__file__).resolve().parent / "weights" / "writer_default.npz"

ASCENDERS, DESCENDERS = set("bdfhklt"), set("gjpqy")


def extent(char: str) -> tuple[float, float]:
    """(top, bottom) of a character relative to the baseline, in x-heights."""
    if char.isdigit() or char.isupper():
        return 1.45, 0.0
    if char == "t":
        return 1.3, 0.0
    if char == "i":
        return 1.35, 0.0
    if char == "j":
        return 1.35, -0.5
    if char in ASCENDERS:
        return 1.55, 0.0
    if char in DESCENDERS:
        return 1.0, -0.5
    return 1.0, 0.0


@dataclass
class Placed:
    char: str
    left: int        # pixel column of the glyph's left edge
    baseline: int    # pixel row the glyph sits on (its line's baseline, plus jitter)
    line: int


def _ink_box(glyph: np.ndarray, threshold: float = 0.15):
    """Bounding box (top, bottom, left, right) of the ink, or None for an empty glyph."""
    ink = glyph > threshold * max(int(glyph.max()), 1)
    if not ink.any():
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def layout(glyphs: np.ndarray, text: str, x_height: int = 24, width: int = 1200,
           jitter: float = 0.04, seed: int = 0) -> tuple[np.ndarray, list[Placed]]:
    """Place uint8 glyphs [n, H, W] (white ink on black; one per non-space character of
    `text`, in order) on a page. Returns (page uint8 [h, width], black ink on white; placements).
    """
    chars = [c for c in text if not c.isspace()]
    if len(chars) != len(glyphs):
        raise ValueError(f"{len(glyphs)} glyphs for {len(chars)} characters")
    rng = np.random.default_rng(seed)
    gap, space = 0.14 * x_height, 0.6 * x_height
    margin, line_height = x_height, int(round(2.8 * x_height))

    pieces = []   # per character: scaled ink image and its bottom offset below the baseline
    for char, glyph in zip(chars, glyphs):
        box = _ink_box(glyph)
        top, bottom = extent(char)
        if box is None:
            pieces.append((np.zeros((1, int(space)), dtype=np.uint8), 0))
            continue
        crop = glyph[box[0]:box[1], box[2]:box[3]]
        height = (top - bottom) * x_height * (1 + jitter * rng.standard_normal())
        scale = max(height, 2.0) / crop.shape[0]
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        scaled = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS))
        pieces.append((scaled, -bottom * x_height))

    widths = [p[0].shape[1] for p in pieces]
    k = 0
    # Measure words in order, since each occurrence of a word has its own glyphs.
    words_per_line: list[list[tuple[int, int]]] = []   # (first glyph index, length)
    for paragraph in text.split("\n"):
        line, used = [], 0.0
        for word in paragraph.split():
            w = sum(widths[k:k + len(word)]) + gap * (len(word) - 1)
            if line and used + space + w > width - 2 * margin:
                words_per_line.append(line)
                line, used = [], 0.0
            used += (space if line else 0.0) + w
            line.append((k, len(word)))
            k += len(word)
        words_per_line.append(line)

    page_height = 2 * margin + line_height * len(words_per_line)
    ink = np.zeros((page_height, width), dtype=np.uint8)
    placed = []
    for row, line in enumerate(words_per_line):
        baseline = margin + int(1.6 * x_height) + row * line_height
        x = float(margin)
        for first, length in line:
            for i in range(first, first + length):
                piece, below = pieces[i]
                sit = baseline + int(round(below + jitter * x_height * rng.standard_normal()))
                top = sit - piece.shape[0]
                left = int(round(x))
                h, w = piece.shape
                t0, l0 = max(top, 0), max(left, 0)
                t1, l1 = min(top + h, page_height), min(left + w, width)
                if t1 > t0 and l1 > l0:
                    region = ink[t0:t1, l0:l1]
                    np.maximum(region, piece[t0 - top:t1 - top, l0 - left:l1 - left], out=region)
                placed.append(Placed(chars[i], left, sit, row))
                x += w + gap
            x += space - gap
    return 255 - ink, placed


def load_style(source: str | None, G, cfg, steps: int, seed: int, log=print,
               tune_steps: int = 0, tune_lr: float = TUNE_LR, pull: float | None = None) -> Style:
    """A Style from a saved style .npz, from a person's glyphs (fitted now), or at random.

    `pull` (see minigan.style.PULL) replaces a saved style's own; None keeps it, and a style
    fitted now then gets the default."""
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
    from .invert import load_targets

    targets, labels, chars = load_targets(source, cfg, limit=None)
    log(f"fitting a style to {len(chars)} glyphs of {len(set(chars))} characters ...")
    return fit_style(G, cfg, targets, chars, steps=steps, tune_steps=tune_steps,
                     tune_lr=tune_lr, pull=PULL if pull is None else pull, seed=seed)


def clean_background(glyphs: np.ndarray, margin: int = 24) -> np.ndarray:
    """Generated glyphs carry a faint grey haze; set each one's background (its median, most
    pixels being paper) plus a margin to zero and stretch the ink back to full range."""
    g = glyphs.astype(np.float32)
    floor = np.median(g.reshape(len(g), -1), axis=1)[:, None, None] + margin
    top = np.maximum(g.reshape(len(g), -1).max(axis=1)[:, None, None], floor + 1)
    return (np.clip((g - floor) / (top - floor), 0, 1) * 255).astype(np.uint8)


def write_text(G, cfg, style: Style, text: str, x_height: int = 24, width: int = 1200,
               variation: float = 0.15, seed: int = 0):
    """(page uint8, placements, glyphs uint8 [n, 28, 28] MNIST-style, chars) for `text`."""
    check_style_model(cfg)
    chars = "".join(c for c in text if not c.isspace())
    if not chars:
        raise ValueError("the text has no characters to write")
    char_labels(cfg, chars)  # raises, listing every character the model cannot draw
    drawn = clean_background(to_uint8(draw(G, cfg, style, chars, variation=variation,
                                           seed=seed)))                           # [n, res, res]
    glyphs28 = np.stack([normalize_glyph(g, size=28) for g in drawn])
    page, placed = layout(glyphs28, text, x_height=x_height, width=width, seed=seed)
    return page, placed, glyphs28, chars


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m minigan.write", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("text", help="what to write; \\n starts a new line")
    p.add_argument("--style", default=None, type=input_source,
                   help="the person's glyphs (.npz from minigan.data extract, dataset, folder) "
                        "or a fitted style .npz; default: a random style")
    p.add_argument("--out", required=True, type=output_file, help="PNG of the written text")
    p.add_argument("--ckpt", default=None, help="content-conditioned style model (default: the shipped one)")
    p.add_argument("--glyphs-out", default=None, type=output_file, help="also save each glyph as 28x28 uint8 (images, chars)")
    p.add_argument("--save-style", default=None, type=output_file, help="save the fitted style here to reuse it")
    p.add_argument("--x-height", type=int_in(4, 1000), default=24, help="height of an x, in pixels")
    p.add_argument("--width", type=int_in(1, 40000), default=1200, help="page width in pixels (lines wrap)")
    p.add_argument("--variation", type=float_in(0, 10), default=0.15, help="per-glyph variation (0 = none)")
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
                   help="seeds the fitting and the per-glyph variation (the same seed writes the "
                        "same page)")
    return p


@job
def main(argv=None) -> int:
    from .generate import load_generator

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.width < 6 * args.x_height:   # two margins of one x-height, and a glyph or two
        parser.error(f"argument --width: {args.width} px is too narrow for --x-height "
                     f"{args.x_height}; give at least {6 * args.x_height}")
    text = args.text.replace("\\n", "\n")
    try:
        ckpt = args.ckpt or DEFAULT_MODEL
        if args.ckpt is None and not DEFAULT_MODEL.is_file():
            raise ValueError("no --ckpt given and this install has no shipped default model")
        G, cfg = load_generator(ckpt)
        check_style_model(cfg)
        char_labels(cfg, "".join(c for c in text if not c.isspace()))
        style = load_style(args.style, G, cfg, args.steps, args.seed,
                           tune_steps=args.tune_steps, tune_lr=args.tune_lr, pull=args.pull)
        if args.save_style:
            style.save(args.save_style)
        page, _, glyphs, chars = write_text(G, cfg, style, text, args.x_height, args.width,
                                            args.variation, args.seed)
    except (CheckpointError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    save_atomic(Image.fromarray(page), args.out)
    if args.glyphs_out:
        Path(args.glyphs_out).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.glyphs_out, images=glyphs, chars=np.array(list(chars)))
    print(f"wrote {args.out} ({len(chars)} glyphs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

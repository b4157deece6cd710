"""Turn a person's handwriting into a TrueType font they can type with.

    python -m minigan.font --style mine.npz --out me.ttf --name "Ann's Hand"

Every printable ASCII character gets a glyph: the person's own where they wrote it (the .npz
from `python -m minigan.data extract`), drawn by the style model fitted to their glyphs
where they did not. So do the Latin-1 letters: the accented ones built on the person's base
letters, as `minigan.write` builds them, and Æ, ß, Ø and the like where they wrote them or
the model draws them. Each glyph's outline is traced from its bitmap and smoothed
(minigan.trace); sizes, heights and advance widths follow their writing as `minigan.write`
places it (their x-height, capital height, ascenders and descenders when their sheet shows
them). Letters and digits come in several versions, and the font's contextual alternates
(`calt`, on by default in Word, LibreOffice and browsers) cycle through them along a word, so
"butter" has two different t's. Needs `pip install minigan[export]` (fontTools).
"""
from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

import numpy as np

from ._cli import ArgumentParser, HelpFormatter, float_in, input_source, int_in, job
from ._files import write_atomic
from .errors import UserError
from .page import check_writable
from .style import PULL, TUNE_LR
from .write import GAP, SPACE, Hand, Metrics, _scale, compose, prepare
from .trace import trace

PRINTABLE = "".join(chr(c) for c in range(33, 127))   # printable ASCII less the space
LATIN1_LETTERS = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
UNITS = 1000            # font units per em
TOP = 760               # the tallest box a hand's metrics may reach, in font units


def glyph_name(char: str, alternate: int = 0) -> str:
    name = "space" if char == " " else f"uni{ord(char):04X}"
    return f"{name}.alt{alternate}" if alternate else name


def outline(image: np.ndarray, scale: float, top: float, left: float, xh: float):
    """TrueType contours of a glyph crop: lists of (x, y) off-curve points in font units,
    clockwise with y up. `scale` x-heights per pixel, the crop's top edge `top` x-heights
    above the baseline, its left edge at `left` units, `xh` units per x-height."""
    contours = []
    for poly in trace(image):
        x = left + (poly[:, 0] + 0.5) * scale * xh
        y = (top - (poly[:, 1] + 0.5) * scale) * xh
        pts = np.rint(np.column_stack([x, y])[::-1]).astype(int)   # y flipped: reverse
        keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)
        pts = pts[keep]
        if len(pts) >= 3:
            contours.append([tuple(map(int, p)) for p in pts])
    return contours


def calt_feature(chars: str, alternates: int) -> str:
    """OpenType feature code cycling the alternates of `chars` along a run of them: a letter
    after a default letter takes .alt1, after an .alt1 .alt2, and so on, then the default
    again. HarfBuzz and the other shapers match the backtrack against glyphs already
    substituted, so the cycle carries through the word."""
    classes = [f"@calt{k} = [{' '.join(glyph_name(c, k) for c in chars)}];"
               for k in range(alternates)]
    rules = [f"    sub @calt{k - 1} @calt0' by @calt{k};" for k in range(alternates - 1, 0, -1)]
    return "\n".join(classes + ["lookup cycle {", *rules, "} cycle;",
                                "feature calt {", "    lookup cycle;", "} calt;", ""])


def build_font(written, chars: str, alternates: int, metrics: Metrics, name: str) -> bytes:
    """The TrueType font's bytes: written[i * alternates + k] is version k of chars[i]."""
    try:
        from fontTools.feaLib.builder import addOpenTypeFeaturesFromString
        from fontTools.fontBuilder import FontBuilder
        from fontTools.pens.ttGlyphPen import TTGlyphPen
    except ImportError:
        raise UserError("minigan.font needs fontTools; install it with pip install "
                        "minigan[export]") from None
    tallest = max(metrics.cap, metrics.ascender, 1.5)
    xh = TOP / tallest                                       # font units per x-height
    glyphs, advances = {}, {}

    def add(gname, contours, advance):
        pen = TTGlyphPen(None)
        for contour in contours:
            pen.qCurveTo(*contour, None)
            pen.closePath()
        glyphs[gname], advances[gname] = pen.glyph(), int(round(advance))

    notdef = [[(50, 0), (50, 700), (450, 700), (450, 0)]]
    pen = TTGlyphPen(None)
    for c in notdef:
        pen.moveTo(c[0])
        for p in c[1:]:
            pen.lineTo(p)
        pen.closePath()
    glyphs[".notdef"], advances[".notdef"] = pen.glyph(), 500
    add("space", [], SPACE * xh)
    lsb = GAP / 2 * xh
    for i, char in enumerate(chars):
        for k in range(alternates):
            w = written[i * alternates + k]
            top, bottom, widest = w.box
            scale = _scale(w.image, top - bottom, widest)
            upper = (top + bottom) / 2 + w.image.shape[0] * scale / 2
            add(glyph_name(char, k), outline(w.image, scale, upper, lsb, xh),
                w.image.shape[1] * scale * xh + GAP * xh)
    order = list(glyphs)
    fb = FontBuilder(UNITS, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({ord(" "): "space", **{ord(c): glyph_name(c) for c in chars}})
    fb.setupGlyf(glyphs)
    table = fb.font["glyf"]
    fb.setupHorizontalMetrics({g: (advances[g], getattr(table[g], "xMin", 0)) for g in order})
    y_max = max([getattr(table[g], "yMax", 0) for g in order] + [int(tallest * xh)])
    y_min = min([getattr(table[g], "yMin", 0) for g in order] + [int(metrics.descender * xh)])
    fb.setupHorizontalHeader(ascent=y_max, descent=y_min, lineGap=int(0.2 * UNITS))
    family = name.strip()
    ps_name = re.sub(r"[^A-Za-z0-9-]", "", family) or "minigan"
    fb.setupNameTable({"familyName": family, "styleName": "Regular",
                       "uniqueFontIdentifier": f"minigan:{ps_name}", "fullName": family,
                       "psName": f"{ps_name}-Regular", "version": "Version 1.000"})
    fb.setupOS2(sTypoAscender=y_max, sTypoDescender=y_min, sTypoLineGap=int(0.2 * UNITS),
                usWinAscent=y_max, usWinDescent=-y_min, sxHeight=int(round(xh)),
                sCapHeight=int(round(metrics.cap * xh)), achVendID="MNGN",
                fsType=0, usFirstCharIndex=32, usLastCharIndex=126)
    fb.setupPost()
    alternating = "".join(c for c in chars if c.isalnum())
    if alternates > 1 and alternating:
        addOpenTypeFeaturesFromString(fb.font, calt_feature(alternating, alternates))
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


def font_glyphs(hand: Hand | None, generate, chars: str, alternates: int, seed: int = 0):
    """Every version of every character, in order: the person's own versions (perturbed
    once they run out) and the model's (each drawn afresh) for the rest."""
    text = "".join(c * alternates for c in chars)
    return compose(text, hand, generate, seed=seed)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m minigan.font", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("--style", default=None, type=input_source,
                   help="the person's glyphs (.npz from minigan.data extract, or a folder), or "
                        "a fitted style .npz; default: a random style")
    p.add_argument("--out", required=True, help="the font file to write (.ttf)")
    p.add_argument("--name", default="My Hand", help="the font's family name, as menus show it")
    p.add_argument("--alternates", type=int_in(1, 6), default=3,
                   help="versions of every letter and digit, cycled by the calt feature")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out the characters neither the person wrote nor the model "
                        "draws (listed), instead of stopping")
    p.add_argument("--generated-only", action="store_true",
                   help="draw every character with the style model, even those the person wrote")
    p.add_argument("--ckpt", default=None, help="content-conditioned style model (default: the shipped one)")
    p.add_argument("--variation", type=float_in(0, 2), default=0.15,
                   help="how much the generated alternates differ (0 = all alike)")
    p.add_argument("--steps", type=int_in(0, 100000), default=50, help="steps fitting the style code")
    p.add_argument("--tune-steps", type=int_in(0, 100000), default=30,
                   help="steps fine-tuning the model towards the person's glyphs after that")
    p.add_argument("--tune-lr", type=float_in(0, 1, above=True), default=TUNE_LR, help="Adam's rate for tuning")
    p.add_argument("--pull", type=float_in(0, 1), default=None,
                   help=f"how far to draw the fitted style back towards the average hand, "
                        f"0 to 1 (default: {PULL})")
    p.add_argument("--seed", type=int_in(0), default=0, help="seeds the fitting and the variants")
    return p


@job
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if Path(args.out).suffix.lower() != ".ttf":
        raise UserError(f"--out {args.out}: a font is written as TrueType; end the name "
                        f"with .ttf")
    check_writable(args.out)
    if not args.name.strip() or not args.name.isprintable() or len(args.name) > 63:
        raise UserError(f"--name {args.name!r}: give a family name of 1 to 63 printable "
                        f"characters")
    chars = PRINTABLE + latin1_letters(args)
    try:
        hand, generate = prepare(chars, args.style, ckpt=args.ckpt,
                                 generated_only=args.generated_only, steps=args.steps,
                                 tune_steps=args.tune_steps, tune_lr=args.tune_lr,
                                 pull=args.pull, variation=args.variation, seed=args.seed,
                                 what="font")
    except UserError as e:
        if not args.skip_missing or "cannot" not in str(e):
            raise
        hand, generate, chars = _without_missing(args)
    written = font_glyphs(hand, generate, chars, args.alternates, seed=args.seed)
    data = build_font(written, chars, args.alternates,
                      hand.metrics if hand else Metrics(), args.name)
    write_atomic(args.out, lambda f: f.write(data))
    own = len({w.char for w in written if w.own})
    left_out = "".join(c for c in PRINTABLE if c not in chars)
    print(f"wrote {args.out}: {len(chars) + 1} characters ({own} in the person's own hand), "
          f"{args.alternates} version(s) of each letter and digit"
          + (f"; left out {left_out!r}" if left_out else ""))
    return 0


def latin1_letters(args) -> str:
    """The Latin-1 letters the font can have: accented ones built on the base letters (which
    the font needs anyway), and Æ, ß, Ø and the like where the person wrote them or the
    model draws them."""
    from .diacritics import decompose
    from .write import DEFAULT_MODEL, load_hand

    hand = None if args.generated_only else load_hand(args.style, log=lambda _: None)
    own = set(hand.glyphs) if hand else set()
    charset = ""
    if args.ckpt is not None or DEFAULT_MODEL.is_file():
        from .write import load_model
        charset = load_model(args.ckpt)[1].charset
    return "".join(c for c in LATIN1_LETTERS if decompose(c) or c in own or c in charset)


def _without_missing(args):
    """(hand, generate, chars) for --skip-missing: the printable characters the hand has or
    the model draws."""
    from .write import load_hand, load_model, unwritable

    hand = None if args.generated_only else load_hand(args.style)
    _, cfg = load_model(args.ckpt)
    chars = "".join(c for c in PRINTABLE if c in cfg.charset or (hand and c in hand.glyphs))
    chars += "".join(c for c in latin1_letters(args) if not unwritable(c, hand, cfg.charset + chars))
    if not chars:
        raise UserError("--skip-missing: nothing is left to put in the font")
    hand, generate = prepare(chars, args.style, ckpt=args.ckpt,
                             generated_only=args.generated_only, steps=args.steps,
                             tune_steps=args.tune_steps, tune_lr=args.tune_lr, pull=args.pull,
                             variation=args.variation, seed=args.seed)
    return hand, generate, chars


if __name__ == "__main__":
    sys.exit(main())

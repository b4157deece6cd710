"""The pictures of docs/letters.md, and the figures it quotes: a Chars74K writer's glyphs
written onto a handwriting sheet (punctuation drawn in), cut out by the sheet extractor, then
a letter and a font made from them.

    MINIGAN_DATA=... python examples/letter_pictures.py --work runs/letters --docs docs

Prints how closely the written characters match the person's own glyphs, and how long the
letter and the font took.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from handsheet import make_hand  # noqa: E402  (the test person's sheet maker)

from minigan.data import load, normalize_glyph  # noqa: E402
from minigan.page import render_png  # noqa: E402
from minigan import page as pages  # noqa: E402
from minigan.write import PDF_X_HEIGHT, arrange, compose, placements, prepare  # noqa: E402

# The person leaves out j, k, q, v, x, z: those come from the style model.
SHEET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghilmnoprstuwy0123456789" + ",.?!'-"
LETTER = ("Dear Ann,\nthank you for the lovely parcel - it came on Tuesday, just in time. "
          "I'm keeping the blue scarf for the winter, is that all right? We're fine here, "
          "though the garden is very wet. Write soon!\nLove, Mary")


def correlations(hand_file, written, pieces, x_height, page):
    ds = load(str(hand_file))
    chars = ds.chars()
    own, other = [], []
    for p, w in zip(placements(pieces, x_height, written), written):
        crop = 255 - page[p.top:p.top + p.height, p.left:p.left + p.width].astype(np.float32)
        drawn = normalize_glyph(crop).ravel().astype(float)
        theirs = [ds.images[i] for i, c in enumerate(chars) if c == w.char]
        if theirs:
            best = max(np.corrcoef(drawn, t.ravel().astype(float))[0, 1] for t in theirs)
            (own if w.own else other).append(best)
    return np.array(own), np.array(other)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="runs/letters")
    p.add_argument("--docs", default="docs")
    p.add_argument("--writer", type=int, default=45)
    args = p.parse_args()
    work, docs = Path(args.work), Path(args.docs)
    work.mkdir(parents=True, exist_ok=True)
    with np.load(Path(os.environ["MINIGAN_DATA"]) / "chars74k_hnd.npz") as z:
        glyphs64 = (z["images64"], z["labels"], z["writers"])
    hand_file, sheet = make_hand(SHEET, work, glyphs64=glyphs64, writer=args.writer,
                                 rows_per_char=1)
    style = work / "style.npz"

    t = time.perf_counter()
    hand, generate = prepare(LETTER, str(hand_file), save_style=str(style))
    fitted = time.perf_counter() - t
    written = compose(LETTER, hand, generate, seed=0)
    pieces, lines = arrange(written, LETTER, line_width=34.0, seed=0)
    page = np.asarray(render_png(pieces, lines, x_height=26, width=26 * 36))
    own, other = correlations(hand_file, written, pieces, 26, page)
    print(f"own glyphs: {len(own)}, correlation min {own.min():.3f} median {np.median(own):.3f}; "
          f"generated: {len(written) - len(own)} ({''.join(sorted({w.char for w in written if not w.own}))})")
    # The same letter with every letter and digit drawn by the style model (--generated-only,
    # the person's punctuation kept): how close those come to the person's own glyphs.
    marks = replace(hand, glyphs={c: v for c, v in hand.glyphs.items() if not c.isalnum()})
    gen = compose(LETTER, marks, generate, seed=0)
    gp, gl = arrange(gen, LETTER, line_width=34.0, seed=0)
    gpage = np.asarray(render_png(gp, gl, x_height=26, width=26 * 36))
    _, g_other = correlations(hand_file, gen, gp, 26, gpage)
    print(f"generated letters of characters the person wrote: {len(g_other)}, correlation with "
          f"their glyphs min {g_other.min():.3f} median {np.median(g_other):.3f}")

    letter = render_png(pieces, lines, x_height=26, width=26 * 36, ink=(20, 40, 120), ruled=True)
    sheet_img = Image.open(sheet).convert("L")
    w, h = sheet_img.size
    sheet_img = sheet_img.crop((int(w * 0.03), int(h * 0.03), int(w * 0.97), int(h * 0.55)))
    sheet_img = sheet_img.resize((int(sheet_img.width * letter.height / sheet_img.height), letter.height))
    both = Image.new("RGB", (sheet_img.width + letter.width + 20, letter.height), "white")
    both.paste(sheet_img.convert("RGB"), (0, 0))
    both.paste(letter.convert("RGB"), (sheet_img.width + 20, 0))
    both.quantize(colors=32).save(docs / "letter.png", optimize=True)

    # A one-page letter: the fitting above, then composing and drawing each kind of page.
    long_text = "\n".join([LETTER] * 3)
    for ext, x_height in (("png", 24), ("svg", 24), ("pdf", PDF_X_HEIGHT)):
        t = time.perf_counter()
        written = compose(long_text, hand, generate, seed=0)
        width = (1200 - 2 * x_height) / x_height if ext != "pdf" else (210 - 40) / (x_height * 25.4 / 96)
        pieces, lines = arrange(written, long_text, line_width=width, seed=0)
        pages.save(work / f"page.{ext}", pieces, lines, x_height=x_height, ruled=True)
        print(f"one letter of {len(written)} glyphs, {lines} lines, to {ext}: "
              f"{time.perf_counter() - t:.1f} s after the {fitted:.1f} s fitting")

    from minigan.font import main as font_main

    t = time.perf_counter()
    font_main(["--style", str(hand_file), "--out", str(work / "mary.ttf"), "--name", "Mary Hand",
               "--skip-missing"])
    print(f"font: {time.perf_counter() - t:.1f} s")
    font = ImageFont.truetype(str(work / "mary.ttf"), 56, layout_engine=ImageFont.Layout.RAQM)
    line = "Hello, Ann! Sweet little bookkeeper - 2024?"
    img = Image.new("L", (1340, 190), 255)
    d = ImageDraw.Draw(img)
    d.text((20, 10), line, font=font, fill=0)
    d.text((20, 100), line, font=font, fill=0, features=["-calt"])
    label = ImageFont.load_default(size=18)
    d.text((1230, 40), "calt on", font=label, fill=90)
    d.text((1230, 130), "calt off", font=label, fill=90)
    img.save(docs / "font-line.png")


if __name__ == "__main__":
    main()

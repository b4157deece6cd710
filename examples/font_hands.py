"""A contact sheet of font hands beside real ones, all at the training normalisation.

    MINIGAN_DATA=... python examples/font_hands.py --out docs/fonts-hands.png

Each block is one typeface: its first row the hand as designed, the next rows derived hands
(own slant, width and pen). Below them, real Chars74K writers with the same characters (they
wrote no punctuation, so those cells stay empty).
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from minigan.data import load_spec
from minigan.data.fonts import font_table, load_fonts
from minigan.images import save_atomic

CHARS = "AaBbDeGgHhKkMmRrSsyz0123?!.,'-&("


def rows_of(ds, writers, chars=CHARS) -> list[np.ndarray]:
    """One strip [28, 28 * len(chars)] per writer; blank where the writer lacks a character."""
    strips = []
    for w in writers:
        cells = []
        mine = {ds.charset[l]: im for l, im, wr in zip(ds.labels, ds.images, ds.writers) if wr == w}
        for c in chars:
            cells.append(mine.get(c, np.zeros((28, 28), np.uint8)))
        strips.append(np.concatenate(cells, axis=1))
    return strips


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fonts", default="caveat,aguafina-script,gaegu,patrick-hand-sc",
                   help="font ids from fonts.json, comma-separated")
    p.add_argument("--hands", type=int, default=4, help="hands per font, the designed one included")
    p.add_argument("--real", default="0-3", help="Chars74K writers FIRST-LAST shown below the fonts")
    p.add_argument("--scale", type=int, default=2, help="pixel zoom of the picture")
    p.add_argument("--out", default="fonts-hands.png")
    args = p.parse_args()
    ids = [r["id"] for r in font_table()]
    blank = np.zeros((6, 28 * len(CHARS)), np.uint8)
    strips = []
    for font_id in args.fonts.split(","):
        i = ids.index(font_id)
        ds = load_fonts(i, i, hands=args.hands, keep_small_caps=True)
        strips += rows_of(ds, range(i * args.hands, (i + 1) * args.hands)) + [blank]
    real = load_spec(f"chars74k@{args.real}")
    strips += [blank] + rows_of(real, sorted(set(real.writers)))
    sheet = np.concatenate(strips, axis=0)
    image = Image.fromarray(sheet).resize((sheet.shape[1] * args.scale, sheet.shape[0] * args.scale),
                                          Image.NEAREST)
    save_atomic(image, args.out)
    print(args.out)


if __name__ == "__main__":
    main()

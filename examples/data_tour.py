"""A tour of minigan.data: built-in handwriting, real sets, and your own handwriting from a sheet.

    python examples/data_tour.py OUT_DIR [SCAN ...]

Writes a contact sheet of the built-in writers and a printable template into OUT_DIR. Real sets
are shown when $MINIGAN_DATA points at them. Give scans of the filled template to extract them.
"""
import sys
from pathlib import Path

from minigan.data import builtin_glyphs, extract_sheets, load, make_template
from minigan.data.preview import contact_sheet, extraction_sheet

CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def main(out: Path, scans: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    glyphs, styles = builtin_glyphs(n_writers=8, per_char=4, return_styles=True)
    print(glyphs, "- writer 0 slants by", round(float(styles["slant"][0]), 2), "rad")
    contact_sheet(glyphs, per_class=16).save(out / "builtin.png")
    x = glyphs.as_float(32)  # float32 [N,1,32,32] in [0,1], ready for a network
    print("network input", x.shape, x.dtype)

    for name in ("mnist", "chars74k"):
        try:
            print(load(name))
        except FileNotFoundError as e:  # no MINIGAN_DATA: the built-in set still works
            print("skipped:", e)

    make_template(CHARS, rows=10).image.save(out / "template.png", dpi=(300, 300))
    print("print", out / "template.png", "and write one letter per box")
    if scans:
        mine = extract_sheets(scans, CHARS, writer="me")
        mine.save(out / "mine.npz")
        extraction_sheet(mine).save(out / "mine.png")
        print(mine, "- check", out / "mine.png")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), sys.argv[2:])

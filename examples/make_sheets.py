"""The hand-filled sheets that `extract` is measured on, generated from real Chars74K glyphs.

    python examples/make_sheets.py OUT_DIR [--data FOLDER]

Writes each sheet (PNG or JPEG, as captured) and a line per sheet with its --chars. The set
spans what people fill in: their own grids (light, coloured, heavy-bordered, square or not,
65-130 px cells), printed forms with titles, guide letters and name fields, minigan's template;
scans at 200-300 dpi and phone photos; ballpoint, gel, marker and pencil; glyphs that cross
their borders, glyphs too big, empty cells with specks, alternating cases and real-size lower
case. FOLDER (default $MINIGAN_DATA) holds chars74k_hnd.npz.
"""
import argparse
import os
from pathlib import Path

from minigan.data.synth_sheets import SheetSpec, load_strokes, make_sheet

CAPS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALL62 = "0123456789" + CAPS + CAPS.lower()
MIXED = "ABCDEFGHabcdefgh"  # two rows long: capitals and lower case rows alternate
PHOTO = dict(capture="photo", surround=True, jpeg=75, noise=5, blur=0.9, light=0.3, vignette=0.3)

SHEETS = {
    "school_light_grey_blue_cream": SheetSpec(
        CAPS, 6, 8, dpi=300, line_colour=(200, 200, 200), pen="blue", paper=(250, 244, 225),
        empty=3, specks=2, margins_mm=(30, 40), writer=3,
    ),
    "form_title_guides_names_marker": SheetSpec(
        CAPS, 5, 8, dpi=200, title=True, guides=True, name_field=True, border_mm=0.8, pen="marker",
        margins_mm=(38, 62), colour=False, angle=1.5, surround=True, jpeg=75, writer=8,
    ),
    "scan_rotated_uneven_jpeg_gel": SheetSpec(
        CAPS, 6, 8, dpi=200, pen="gel", angle=-3.0, light=0.45, noise=3, jpeg=75, writer=12,
    ),
    "phone_keystone_cast_ballpoint": SheetSpec(
        CAPS, 6, 8, dpi=200, pen="ballpoint", keystone=0.06, angle=2.0, cast=(1.0, 0.92, 0.78), writer=17,
        **PHOTO,
    ),
    "crossing_big_specks_gel": SheetSpec(
        CAPS, 6, 8, dpi=250, pen="gel", cross=0.3, big=0.15, empty=5, specks=4, writer=21,
    ),
    "pencil_under_dark_lines": SheetSpec(
        CAPS, 6, 8, dpi=300, pen="pencil", line_colour=(0, 0, 0), line_mm=0.45, border_mm=1.0,
        colour=False, angle=1.0, writer=25,
    ),
    "coloured_grid_alternate_case": SheetSpec(
        MIXED, 6, 8, dpi=200, line_colour=(140, 185, 235), pen="ballpoint", baseline=True, writer=30,
    ),
    "lower_case_baseline_tall_cells_photo": SheetSpec(
        MIXED, 6, 8, dpi=200, cell_mm=(11.0, 15.0), baseline=True, pen="blue", keystone=0.04, writer=34,
        **PHOTO,
    ),
    "big_cells_130px_digits": SheetSpec(
        "0123456789", 4, 5, dpi=200, cell_mm=(16.5, 16.5), pen="gel", empty=2, specks=1, writer=38,
    ),
    "small_cells_65px_all62_wide": SheetSpec(
        ALL62, 8, 8, dpi=200, cell_mm=(9.5, 8.3), pen="ballpoint", margins_mm=(45, 30), writer=41,
    ),
    "phone_pencil_alternate_case": SheetSpec(
        MIXED, 6, 8, dpi=200, pen="pencil", keystone=0.05, angle=-1.5, cast=(0.95, 0.95, 1.0), writer=46,
        **PHOTO,
    ),
    "template_300dpi_scan": SheetSpec(CAPS, 8, 8, dpi=300, layout="template", writer=50, empty=2, specks=1),
    "template_200dpi_photo_blue": SheetSpec(
        CAPS, 8, 8, dpi=200, layout="template", pen="blue", keystone=0.05, angle=1.0, writer=52, **PHOTO,
    ),
    "template_200dpi_mixed_case_marker": SheetSpec(
        MIXED, 6, 8, dpi=200, layout="template", pen="marker", angle=-2.0, jpeg=75, writer=54,
    ),
}


def make_all(strokes, seed: int = 0):
    """(name, Sheet) for every sheet of the set."""
    for i, (name, spec) in enumerate(SHEETS.items()):
        yield name, make_sheet(strokes, spec, seed=seed + i)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder for the sheets")
    p.add_argument("--data", default=os.environ.get("MINIGAN_DATA", ""), help="folder with chars74k_hnd.npz")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    strokes = load_strokes(Path(args.data) / "chars74k_hnd.npz")
    lines = []
    for name, sheet in make_all(strokes):
        path = args.out / (name + (".jpg" if sheet.spec.jpeg else ".png"))
        sheet.save(path)
        lines.append(f"{path.name}\t--chars {sheet.spec.chars}")
        print("wrote", path)
    (args.out / "chars.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

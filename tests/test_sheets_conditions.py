"""Hand-filled grids of every kind, each condition on a small generated sheet of real Chars74K
glyphs: every label right, every empty cell found, no speck reported as a glyph, and the glyphs
cut out close to the true ones (best correlation within 1 px, mean over the sheet)."""

import warnings

import pytest

from minigan.data import extract_sheets
from minigan.data.synth_sheets import SheetSpec, make_sheet, score_extraction

CAPS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
FIFTEEN = "AGKMQRSWXYBDEJZ"  # fills the 3 x 5 test grid; wide, round and many-stroke letters
MIXED = "ABCDEabcde"  # two rows of five: capitals and lower case alternate
SMALL = dict(rows=3, cols=5, dpi=150, page_mm=(100.0, 75.0), margins_mm=(15.0, 15.0))
PHOTO = dict(capture="photo", surround=True, jpeg=75, noise=5, blur=0.8, light=0.3, vignette=0.3)

CONDITIONS = {
    # grid lines
    "light grey lines": dict(line_colour=(205, 205, 205)),
    "coloured lines, cream paper": dict(line_colour=(140, 185, 235), paper=(250, 244, 225)),
    "dark lines over faint pencil": dict(line_colour=(0, 0, 0), line_mm=0.45, pen="pencil", dpi=200),
    "thick outer border": dict(border_mm=1.0),
    "non-square cells": dict(cell_mm=(11.0, 15.0), page_mm=(100.0, 85.0)),
    "65 px cells": dict(cell_mm=(8.3, 8.3), dpi=200),
    "130 px cells": dict(cell_mm=(16.5, 16.5), dpi=200, page_mm=(125.0, 90.0), rows=2, chars="0123456789"),
    # pages with more than the grid
    "title, instructions, guide letters, name fields": dict(
        title=True, guides=True, name_field=True, page_mm=(170.0, 120.0), margins_mm=(40.0, 62.0)
    ),
    "wide uneven margins": dict(page_mm=(150.0, 120.0), margins_mm=(70.0, 50.0)),
    # capture
    "grey scan at 300 dpi, rotated 3 degrees, JPEG 75": dict(dpi=300, colour=False, angle=3.0, jpeg=75),
    "scan rotated -3 degrees, uneven light, scanner lid": dict(angle=-3.0, light=0.45, surround=True),
    "phone photo: keystone, cast, vignette, noise, defocus, desk": dict(
        keystone=0.06, angle=1.5, cast=(1.0, 0.92, 0.8), dpi=200, **PHOTO
    ),
    # pens
    "blue ballpoint": dict(pen="blue"),
    "gel pen": dict(pen="gel"),
    "thick marker": dict(pen="marker"),
    "faint grainy pencil": dict(pen="pencil", dpi=200),
    # writers
    "glyphs crossing into the neighbour cell": dict(cross=0.5, pen="gel", dpi=200),
    "glyphs written too big": dict(big=0.5, dpi=200),
    "empty cells with dots and specks": dict(empty=4, specks=3),
    "rows alternating capitals and lower case": dict(chars=MIXED, baseline=True),
    "lower case at real size on a baseline": dict(chars="abdefghijklpqty", baseline=True, dpi=200),
}


KNOWN_FAILURES = {
    # Half the glyphs 1.05-1.2 x the cell: stems that lie on a grid line for their whole length
    # are erased with it, and big neighbours that touch are one stroke (labels 13/15 right).
    "glyphs written too big": "strokes lying along a grid line are erased with the line",
}


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[c], strict=True)) if c in KNOWN_FAILURES else c
        for c in CONDITIONS
    ],
)
def test_condition(condition, strokes, tmp_path):
    options = {"chars": FIFTEEN, **SMALL, **CONDITIONS[condition]}
    spec = SheetSpec(**options, writer=list(CONDITIONS).index(condition))
    sheet = make_sheet(strokes, spec, seed=1)
    path = tmp_path / ("sheet.jpg" if spec.jpeg else "sheet.png")
    sheet.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = extract_sheets([path], spec.chars)
    r = score_extraction(ds, sheet)
    print(condition, r)
    assert r["label_accuracy"] == 1.0
    assert r["empty_found"] == 1.0 and r["false_empty"] == 0
    assert r["specks_as_glyphs"] == 0 and r["stray_glyphs"] == 0
    assert r["fidelity_mean"] >= 0.9


@pytest.mark.parametrize(
    "pen, capture", [("blue", dict(dpi=100, keystone=0.04, angle=1.0, **PHOTO)), ("pencil", dict(dpi=150))]
)
def test_template_sheet(strokes, tmp_path, pen, capture):
    """minigan's own template, filled and photographed, still reads perfectly; its light-grey
    guide letters stay out of even faint pencil glyphs (scanned at 150 dpi: at 100 dpi a pencil
    line is 2 px wide)."""
    spec = SheetSpec(CAPS, 4, 7, layout="template", pen=pen, empty=2, specks=1, **capture)
    sheet = make_sheet(strokes, spec, seed=3)
    path = tmp_path / ("template.jpg" if spec.jpeg else "template.png")
    sheet.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = extract_sheets([path], CAPS)
    r = score_extraction(ds, sheet)
    assert r["label_accuracy"] == 1.0 and r["empty_found"] == 1.0 and r["specks_as_glyphs"] == 0
    assert r["fidelity_mean"] >= 0.9


def test_the_score_catches_a_wrong_reading(strokes, tmp_path):
    """The measure itself can fail: a sheet read with the wrong --chars scores no labels, and a
    glyph compared with another one correlates far less than with itself."""
    spec = SheetSpec(FIFTEEN, **SMALL)
    sheet = make_sheet(strokes, spec, seed=1)
    path = tmp_path / "sheet.png"
    sheet.save(path)
    ds = extract_sheets([path], FIFTEEN[1:] + FIFTEEN[0])
    r = score_extraction(ds, sheet)
    assert r["label_accuracy"] == 0.0
    from minigan.data.synth_sheets import best_shift_corr

    a, b = sheet.truth[(0, 0)], sheet.truth[(0, 1)]
    assert best_shift_corr(a, a) > 0.999 and best_shift_corr(a, b) < 0.8


@pytest.mark.parametrize("name", ["crossing_big_specks_gel", "lower_case_baseline_tall_cells_photo",
                                  "phone_pencil_alternate_case"])
def test_full_size_sheets_that_once_misread(strokes, tmp_path, name):
    """Three sheets of the generated set (examples/make_sheets.py), at full size: a G's top
    written along a grid line once became a glyph in the empty cell above, a g's tail run along
    the line into the G below went to the G, and a pen's touch beside an E was dropped."""
    import importlib.util
    from pathlib import Path

    spec_file = Path(__file__).parent.parent / "examples" / "make_sheets.py"
    loader = importlib.util.spec_from_file_location("make_sheets", spec_file)
    make_sheets = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(make_sheets)
    sheet = make_sheet(strokes, make_sheets.SHEETS[name], seed=list(make_sheets.SHEETS).index(name))
    path = tmp_path / ("sheet.jpg" if sheet.spec.jpeg else "sheet.png")
    sheet.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = extract_sheets([path], sheet.spec.chars)
    r = score_extraction(ds, sheet)
    assert r["label_accuracy"] == 1.0 and r["empty_found"] == 1.0 and r["false_empty"] == 0
    assert r["specks_as_glyphs"] == 0 and r["stray_glyphs"] == 0
    assert r["fidelity_mean"] >= 0.9

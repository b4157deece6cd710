"""`python -m minigan.data extract` on sheets a user may hand it: turned pages are refused with
one line and nothing written, 16-bit PNGs keep their ink, outputs are written whole or not at
all, and the message names the file really written."""
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from minigan.data import extract_sheets, load
from minigan.data.__main__ import main
from minigan.data.synth_sheets import SheetSpec, make_sheet

CHARS = "AGKMQRSWXYBDEJZ"
SMALL = dict(rows=3, cols=5, dpi=150, page_mm=(100.0, 75.0), margins_mm=(15.0, 15.0))


@pytest.mark.parametrize("turn, words", [(1, "90 degrees counter-clockwise"), (2, "upside down"),
                                         (3, "90 degrees clockwise")])
def test_turned_page_is_refused_and_nothing_written(strokes, tmp_path, capsys, turn, words):
    sheet = make_sheet(strokes, SheetSpec(CHARS, **SMALL, turn=turn), seed=turn)
    scan = tmp_path / "turned.png"
    sheet.save(scan)
    out, preview = tmp_path / "mine.npz", tmp_path / "mine.png"
    assert main(["extract", str(scan), "--chars", CHARS, "--out", str(out),
                 "--preview", str(preview)]) == 2
    message = capsys.readouterr().err
    assert message.startswith("error: ") and message.count("\n") == 1
    assert "turned.png" in message and words in message and "turn the image upright" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["turned.png"]


def test_upright_page_of_digits_and_mixed_case_is_accepted(strokes, tmp_path):
    """The turn check must not refuse upright sheets, whatever is written on them."""
    for k, chars in enumerate(("0123456789", "ABCDEabcde")):
        spec = SheetSpec(chars, rows=2, cols=5, dpi=150, page_mm=(100.0, 60.0), margins_mm=(15.0, 15.0),
                         baseline=not chars.isdigit())
        sheet = make_sheet(strokes, spec, seed=10 + k)
        path = tmp_path / f"up{k}.png"
        sheet.save(path)
        assert len(extract_sheets([path], chars)) == 10


def test_sixteen_bit_png_keeps_its_ink(strokes, tmp_path):
    sheet = make_sheet(strokes, SheetSpec(CHARS, **SMALL, colour=False), seed=4)
    grey = np.asarray(sheet.image.convert("L"), np.uint16) * 257  # full 16-bit range
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = extract_sheets([path], CHARS)
    assert len(ds) == 15 and len(ds.meta["empty_cells"]) == 0


def test_out_without_suffix_says_which_file_it_wrote(strokes, tmp_path, capsys, monkeypatch):
    sheet = make_sheet(strokes, SheetSpec(CHARS, **SMALL), seed=5)
    scan = tmp_path / "scan.png"
    sheet.save(scan)
    monkeypatch.chdir(tmp_path)
    main(["extract", "scan.png", "--chars", CHARS, "--out", "out", "--preview", "check.png"])
    text = capsys.readouterr().out
    assert "wrote out.npz: 15 glyphs" in text and "wrote check.png" in text
    assert (tmp_path / "out.npz").is_file() and not (tmp_path / "out").exists()
    assert len(load(str(tmp_path / "out.npz"))) == 15
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_failed_save_leaves_no_file(strokes, tmp_path, monkeypatch):
    """A write that dies half-way (a full disk) leaves neither a truncated npz nor a temporary file,
    and an older npz of the same name is kept as it was."""
    sheet = make_sheet(strokes, SheetSpec(CHARS, **SMALL), seed=6)
    scan = tmp_path / "scan.png"
    sheet.save(scan)
    out = tmp_path / "mine.npz"
    out.write_bytes(b"old")

    def dying_savez(file, **arrays):
        file.write(b"PK" + bytes(98))   # a hundred bytes on disk, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", dying_savez)
    assert main(["extract", str(scan), "--chars", CHARS, "--out", str(out)]) == 2
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.npz", "scan.png"]


def test_grid_too_small_for_chars_writes_nothing(strokes, tmp_path, capsys):
    sheet = make_sheet(strokes, SheetSpec(CHARS, **SMALL), seed=7)
    scan = tmp_path / "scan.png"
    sheet.save(scan)
    out = tmp_path / "mine.npz"
    assert main(["extract", str(scan), "--chars", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                 "--out", str(out)]) == 2
    assert re.match(r"error: .*scan.png: --chars has 26 characters but the sheet's grid has "
                    r"only 3 x 5 = 15 cells", capsys.readouterr().err)
    assert not out.exists()

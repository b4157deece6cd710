"""Scanned-sheet extraction, on sheets rendered here from real Chars74K glyphs and then degraded
the way scanners and phones degrade them. Fidelity is the Pearson correlation between each
extracted 28x28 glyph and its source glyph normalised the same way."""

import io
import re
import warnings
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image, ImageFilter

from minigan.data import CHARSET_62, despeckle, extract_sheets, make_template, normalize_glyph
from minigan.data.__main__ import main
from minigan.data.sheets import INK_SHARE
from minigan.data.transforms import resize_to

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECK_SHARE = 0.03  # the truth drops blobs under this share of a glyph's ink (dust, pen taps)


@lru_cache(maxsize=1)
def _chars74k(path):
    z = np.load(path)
    return z["images64"], z["labels"], z["writers"]


@pytest.fixture
def glyphs64(real_data):
    return _chars74k(str(real_data("chars74k_hnd.npz")))


def fill(tpl, glyphs64, chars, writer, empty=(), scale=0.8, ink=(0, 0, 0), strength=0.95, jitter=0.0, seed=0):
    """Write Chars74K `writer`'s glyphs into the cells: page float RGB [H,W,3] in 0..1, and for each
    filled cell the glyph's ink as it lies inside that cell (the truth to compare against)."""
    images, labels, writers = glyphs64
    rng = np.random.default_rng(seed)
    page = np.asarray(tpl.image.convert("RGB"), np.float32) / 255
    darken = (1 - np.array(ink) / 255) * strength
    truth = {}
    for r in range(tpl.rows):
        for c in range(tpl.cols):
            if (r, c) in empty:
                continue
            ch = chars[(r * tpl.cols + c) % len(chars)]
            i = np.flatnonzero((labels == CHARSET_62.index(ch)) & (writers == writer))[0]
            g = int(tpl.cell * scale)
            alpha = np.clip(resize_to(images[i] / 255.0, g, g), 0, 1)
            x0, y0, x1, y1 = tpl.cell_box(r, c)
            shift = rng.integers(-jitter * tpl.cell, jitter * tpl.cell + 1, 2) if jitter else (0, 0)
            ox, oy = x0 + (tpl.cell - g) // 2 + shift[0], y0 + (tpl.cell - g) // 2 + shift[1]
            page[oy : oy + g, ox : ox + g] *= 1 - alpha[..., None] * darken
            inside = alpha[max(0, y0 - oy) : y1 - oy, max(0, x0 - ox) : x1 - ox]  # the part within the cell
            truth[(r, c)] = inside
    return page, truth


def degrade(page, angle=0.0, light=0.0, noise=0.0, blur=0.0, jpeg=None, warp=0.0, seed=0):
    """Scanner and phone-camera damage: perspective on a dark table, rotation, a lighting gradient,
    blur, sensor noise and JPEG compression."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray(np.clip(page * 255, 0, 255).astype(np.uint8))
    if warp:  # corners of the photo land up to `warp` x width away from a rectangle
        w, h = img.size
        W, H = int(w * 1.12), int(h * 1.12)
        table = Image.new("RGB", (W, H), (70, 58, 45))
        table.paste(img, ((W - w) // 2, (H - h) // 2))
        src = np.array([(0, 0), (W, 0), (W, H), (0, H)], float)
        dst = src + rng.uniform(-warp * w, warp * w, (4, 2))
        rows = []
        for (x, y), (u, v) in zip(dst, src):
            rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        coeffs = np.linalg.solve(np.array(rows), src.ravel())
        img = table.transform((W, H), Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC, fillcolor=(40, 35, 30))
    if angle:
        img = img.rotate(angle, Image.BICUBIC, expand=True, fillcolor=(40, 35, 30) if warp else (255, 255, 255))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    a = np.asarray(img, np.float32)
    if light:
        h, w = a.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        a = a * (1 - light * (0.6 * xx / w + 0.4 * yy / h))[..., None]
    if noise:
        a = a + rng.normal(0, noise, a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=jpeg)
        img = Image.open(buf)
    return img


def save(img, path):
    """PNG without compression: noisy pages compress slowly and badly."""
    img.save(path, compress_level=0)


def score(ds, truth, chars, cols):
    """(label accuracy, mean correlation) over the filled cells.

    A cell counts as right when a glyph came out of it, carries the cell's label, and matches its
    own source better than the sources of the neighbouring cells (so a shifted grid fails).
    """
    ref = {
        k: normalize_glyph(despeckle(a, min_share=SPECK_SHARE), threshold=INK_SHARE).ravel() for k, a in truth.items()
    }
    got = {(int(r), int(c)): j for j, (r, c) in enumerate(zip(ds.extra["row"], ds.extra["col"]))}
    right, corrs = 0, []
    for r, c in ref:
        if (r, c) not in got:
            corrs.append(0.0)
            continue
        j = got[(r, c)]
        g = ds.images[j].ravel()
        corr = {k: np.corrcoef(g, ref[k])[0, 1] for k in ref if abs(k[0] - r) <= 1 and abs(k[1] - c) <= 1}
        corrs.append(corr[(r, c)])
        label_ok = ds.charset[ds.labels[j]] == chars[(r * cols + c) % len(chars)]
        right += label_ok and max(corr, key=corr.get) == (r, c)
    return right / len(ref), float(np.mean(corrs))


CONDITIONS = {
    # name: (dpi, fill options, degrade options, minimum label accuracy, minimum mean correlation)
    "clean scan": (300, {}, {}, 1.0, 0.9),
    "scan: rotated 4 deg, lighting gradient, noise, JPEG, blue ink": (
        200,
        {"ink": (25, 45, 150)},
        {"angle": 4, "light": 0.45, "noise": 6, "jpeg": 70},
        1.0,
        0.9,
    ),
    "phone photo: perspective, lighting, blur, noise, JPEG, pencil": (
        200,
        {"ink": (110, 110, 110), "strength": 0.8},
        {"warp": 0.03, "angle": -2, "light": 0.5, "blur": 1.0, "noise": 7, "jpeg": 60},
        0.98,
        0.8,
    ),
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_extraction_accuracy_and_fidelity(condition, glyphs64, tmp_path):
    dpi, fill_opts, damage, min_acc, min_corr = CONDITIONS[condition]
    tpl = make_template(LETTERS, rows=8, cols=8, dpi=dpi)
    empty = {(0, 0), (3, 5), (7, 7)}
    page, truth = fill(tpl, glyphs64, LETTERS, writer=5, empty=empty, **fill_opts)
    path = tmp_path / "sheet.png"
    save(degrade(page, **damage), path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = extract_sheets([path], LETTERS)
    assert any("3 empty cell(s) skipped" in str(w.message) for w in caught)  # reported, not invented
    acc, corr = score(ds, truth, LETTERS, tpl.cols)
    print(f"{condition}: label accuracy {acc:.3f}, mean correlation {corr:.3f}")
    assert acc >= min_acc and corr >= min_corr
    assert {tuple(e) for e in ds.meta["empty_cells"].tolist()} == {(0, r, c) for r, c in empty}
    assert len(ds) == 64 - 3 and ds.charset == LETTERS


def test_several_sheets_make_one_dataset_with_traceable_cells(glyphs64, tmp_path):
    paths = []
    for s, writer in enumerate((2, 9)):
        tpl = make_template(LETTERS, rows=4, cols=7, dpi=120)
        page, _ = fill(tpl, glyphs64, LETTERS, writer=writer, empty={(3, 6)} if s else ())
        paths.append(tmp_path / f"sheet{s}.png")
        save(degrade(page, noise=3), paths[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 28 cells for 26 chars: the repeat warning is expected
        ds = extract_sheets(paths, LETTERS, writer="ann")
    assert len(ds) == 28 + 27
    assert np.array_equal(np.bincount(ds.extra["sheet"]), [28, 27])
    assert ds.meta["empty_cells"].tolist() == [[1, 3, 6]]
    assert ds.chars()[:28] == (LETTERS * 2)[:28]  # row-major, repeating
    assert ds.writers is not None and set(ds.writers) == {0} and str(ds.meta["writer_names"][0]) == "ann"
    b = ds.extra["bbox"]
    assert b.shape == (55, 4) and np.all(b[:, 0] < b[:, 2]) and np.all(b[:, 1] < b[:, 3])
    assert np.all((b >= 0) & (b <= 1))
    out = tmp_path / "mine.npz"
    ds.save(out)
    z = np.load(out, allow_pickle=False)
    for key in ("images", "labels", "charset", "writers", "sheet", "row", "col", "bbox", "empty_cells"):
        assert key in z.files


def test_template_is_a4_and_its_guides_are_ignored(tmp_path):
    tpl = make_template(LETTERS, rows=10)
    assert tpl.image.size == (2481, 3507)  # A4 at 300 dpi
    path = tmp_path / "blank_template.png"
    save(tpl.image, path)
    with pytest.raises(ValueError, match="every cell is empty"):  # guide letters and baselines are not ink
        extract_sheets([path], LETTERS[:8])


def test_a_template_refuses_more_characters_than_it_has_boxes():
    """72 boxes ask for 72 characters; a 73rd would silently never be written."""
    chars = CHARSET_62 + ".,;:?'-()!"
    assert make_template(chars, rows=9).rows == 9                  # the README's sheet fits
    with pytest.raises(ValueError, match="73 characters do not fit in 9 x 8 boxes.*--rows 10"):
        make_template(chars + '"', rows=9)


def test_bad_inputs_give_clear_errors(tmp_path, glyphs64):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.random.default_rng(0).normal(245, 3, (1200, 850)).clip(0, 255).astype(np.uint8)).save(blank)
    with pytest.raises(ValueError, match="blank.png: the page is blank"):
        extract_sheets([blank], LETTERS)

    # Handwriting but no grid: glyphs written straight onto the page.
    page = np.ones((1169, 827), np.float32)
    images = glyphs64[0]
    for k in range(12):
        y, x = 150 + (k // 4) * 250, 100 + (k % 4) * 170
        page[y : y + 128, x : x + 128] *= 1 - resize_to(images[k * 55] / 255.0, 128, 128).clip(0, 1)
    nogrid = tmp_path / "nogrid.png"
    Image.fromarray((page * 255).astype(np.uint8)).save(nogrid)
    with pytest.raises(ValueError, match="nogrid.png: no grid found"):
        extract_sheets([nogrid], LETTERS)

    tpl = make_template(LETTERS[:15], rows=3, cols=5, dpi=150)
    sheet, _ = fill(tpl, glyphs64, LETTERS[:15], writer=0)
    path = tmp_path / "small.png"
    save(degrade(sheet), path)
    with pytest.raises(ValueError, match="26 characters but the sheet's grid has only 3 x 5 = 15 cells"):
        extract_sheets([path], LETTERS)
    with pytest.warns(UserWarning, match="not a multiple of the 4 --chars"):
        extract_sheets([path], "ABCD")
    with pytest.raises(ValueError, match="--chars is empty"):
        extract_sheets([path], "")
    flipped = tmp_path / "flipped.png"
    save(degrade(sheet, angle=180), flipped)  # labels by position would all be wrong: refuse
    with pytest.raises(ValueError, match="flipped.png: the page seems turned upside down"):
        extract_sheets([flipped], LETTERS[:15])

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    with pytest.raises(ValueError, match="junk.png: cannot read as an image"):
        extract_sheets([junk], LETTERS)
    with pytest.raises(ValueError, match="missing.png: no such file"):
        extract_sheets([tmp_path / "missing.png"], LETTERS)


def test_cli_template_extract_info_preview(tmp_path, glyphs64, capsys):
    sheet = tmp_path / "sheet.png"
    main(["template", "--chars", "ABCDEF", "--rows", "2", "--cols", "3", "--dpi", "150", "--out", str(sheet)])
    tpl = make_template("ABCDEF", rows=2, cols=3, dpi=150)
    page, _ = fill(tpl, glyphs64, "ABCDEF", writer=1, empty={(1, 2)})
    scan = tmp_path / "scan.jpg"
    degrade(page, angle=2, noise=3).save(scan, quality=85)
    out, preview = tmp_path / "mine.npz", tmp_path / "mine.png"
    main(["extract", str(scan), "--chars", "ABCDEF", "--out", str(out), "--preview", str(preview), "--writer", "me"])
    text = capsys.readouterr()
    assert "5 glyphs" in text.out and "1 empty cell" in text.out and "(1,2)" in text.err
    assert Image.open(preview).size[0] > 100
    main(["info", str(out)])
    assert "samples    5" in capsys.readouterr().out
    grid = tmp_path / "grid.png"
    main(["preview", str(out), "--out", str(grid), "--per-class", "1"])
    assert grid.exists()
    assert main(["extract", str(tmp_path / "nothing.png"), "--chars", "A", "--out", str(out)]) == 2
    assert re.search("error: .*nothing.png: no such file", capsys.readouterr().err)
    for command in ("template", "extract", "info", "preview", "download-mnist"):
        assert main([command, "--help"]) == 0
        assert len(capsys.readouterr().out) > 200


def test_preview_shows_the_punctuation_of_a_full_sheet_too(tmp_path, capsys):
    """A glyph file with the 62 letters and digits and ten punctuation marks: the contact
    sheet has a row for each of the 72 characters, not the first 62."""
    from minigan.data import GlyphDataset

    chars = CHARSET_62 + ".,;:?'-()!"
    images = np.zeros((len(chars), 28, 28), np.uint8)
    images[:, 10:18, 12:16] = 255
    path = tmp_path / "mine.npz"
    GlyphDataset(images, np.arange(len(chars)), chars).save(path)
    assert main(["preview", str(path), "--out", str(tmp_path / "p.png")]) == 0
    assert "72 classes" in capsys.readouterr().out

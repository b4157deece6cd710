"""Command line for minigan's data layer: python -m minigan.data <command> --help."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from .._cli import ArgumentParser, HelpFormatter, image_file, int_in, job
from ..errors import UserError
from ..images import save_atomic
from . import builtin_glyphs, load
from .preview import contact_sheet, extraction_sheet
from .readers import download_mnist
from .sheets import extract_sheets, make_template

EPILOG = """examples:
  python -m minigan.data template --chars ABCDEFGHIJKLMNOPQRSTUVWXYZ --rows 10 --out sheet.png
  python -m minigan.data extract scan1.jpg scan2.jpg --chars ABCDEFGHIJKLMNOPQRSTUVWXYZ \\
      --out mine.npz --preview mine.png
  python -m minigan.data info mnist
  python -m minigan.data preview chars74k --out grid.png

Named sets (mnist, chars74k, omniglot) are looked up in the folder given by $MINIGAN_DATA;
"builtin" needs no files. Anything else is a path: .npz, IDX(.gz), .csv or an image folder."""


def _template(args) -> None:
    tpl = make_template(args.chars, args.rows, args.cols, args.dpi)
    save_atomic(tpl.image, args.out, dpi=(args.dpi, args.dpi))
    print(f"wrote {args.out}: {args.rows} x {args.cols} cells of {tpl.cell} px at {args.dpi} dpi; print at 100% scale")


def _extract(args) -> None:
    out = Path(args.out)
    if out.suffix.lower() != ".npz":  # the dataset is an .npz; say so rather than rename silently
        out = out.with_name(out.name + ".npz")
    for target in (out, Path(args.preview) if args.preview else None):
        if target is not None and target.is_dir():
            raise UserError(f"{target}: is a folder; give a file name for the output")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = extract_sheets(args.sheets, args.chars, writer=args.writer, size=args.size)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    preview = extraction_sheet(ds) if args.preview else None
    ds.save(out)
    empties = len(ds.meta["empty_cells"])
    print(
        f"wrote {out}: {len(ds)} glyphs of {len(ds.charset)} characters "
        f"from {len(args.sheets)} sheet(s), {empties} empty cell(s)"
    )
    if preview is not None:
        save_atomic(preview, args.preview, format="PNG")
        print(f"wrote {args.preview}: check every glyph, its label and its (row,col) by eye")


def _info(args) -> None:
    ds = load(args.name, split=args.split)
    counts = np.bincount(ds.labels, minlength=ds.num_classes)
    printable = all(c.isprintable() and ord(c) < 0xE000 for c in ds.charset)
    print(f"source     {ds.source}")
    print(f"samples    {len(ds)}  images {ds.images.shape[1]}x{ds.images.shape[2]} uint8, white ink on black")
    print(f"classes    {ds.num_classes}" + (f"  {ds.charset}" if printable else " (no printable names)"))
    print(f"per class  min {counts.min()}  median {int(np.median(counts))}  max {counts.max()}")
    print(f"writers    {len(np.unique(ds.writers)) if ds.writers is not None else 'unknown'}")
    print(f"ink        mean {ds.images.mean() / 255:.4f}  std {(ds.images / 255).std():.4f}")
    for name, value in sorted(ds.extra.items()):
        print(f"extra      {name} {value.dtype} {value.shape}")
    if "empty_cells" in ds.meta:
        print(
            f"empty      {len(ds.meta['empty_cells'])} cell(s) (sheet,row,col): {ds.meta['empty_cells'].tolist()[:20]}"
        )


def _preview(args) -> None:
    ds = (
        builtin_glyphs(n_writers=args.writers, per_char=4)
        if args.name == "builtin"
        else load(args.name, split=args.split)
    )
    img = contact_sheet(
        ds, per_class=args.per_class, max_classes=args.max_classes, scale=args.scale, writer=args.writer
    )
    save_atomic(img, args.out)
    print(
        f"wrote {args.out}: {min(len(np.unique(ds.labels)), args.max_classes)} classes x {args.per_class} samples from {ds.source}"
    )


def _download(args) -> None:
    path = download_mnist(args.dest)
    print(f"wrote {path}")


@job
def main(argv=None) -> int:
    parser = ArgumentParser(
        prog="python -m minigan.data",
        description="Get handwriting into minigan: printable sheets, scan extraction, dataset info and previews.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser(
        "template",
        help="make a printable A4 sheet to write on",
        description="Render an A4 sheet: a grid of boxes with a light-grey guide letter and baseline "
        "in each. Print it, write one character per box, scan or photograph it, then run "
        "`extract` with the same --chars.",
    )
    p.add_argument("--chars", required=True, help="characters to write, filled into cells row by row, repeating")
    p.add_argument("--rows", type=int_in(1, 100), required=True, help="rows of boxes")
    p.add_argument("--cols", type=int_in(1, 100), default=8, help="boxes per row (default 8)")
    p.add_argument("--dpi", type=int_in(50, 1200), default=300, help="resolution of the PNG (default 300)")
    p.add_argument("--out", required=True, type=image_file, help="output PNG")
    p.set_defaults(run=_template)

    p = sub.add_parser(
        "extract",
        help="cut the glyphs out of scanned or photographed sheets",
        description="Find the ruled grid on each sheet (minigan's template or any other: school "
        "practice sheets, forms, squared paper; scans or phone photos, tilted, in perspective, "
        "unevenly lit), cut out each cell's glyph with all of its strokes, and save the "
        "handwriting as an .npz dataset. Cells are labelled row by row over --chars, repeating; "
        "empty cells (a dot or speck included) are reported, not filled. A grid too small for "
        "--chars, or a page that seems turned 90 or 180 degrees, is refused and nothing is written.",
    )
    p.add_argument("sheets", nargs="+", help="scans or photos (PNG, JPEG, ...), one dataset from all of them")
    p.add_argument("--chars", required=True, help="the characters written, row by row, exactly as on the template")
    p.add_argument(
        "--out",
        required=True,
        help="output .npz (images, labels, charset, sheet/row/col/bbox, empty_cells); "
        "'.npz' is added when the name lacks it",
    )
    p.add_argument("--preview", help="also write a labelled contact sheet PNG (each glyph, its label and cell) to check by eye")
    p.add_argument("--writer", help="name of the person who wrote the sheets (stored as writer 0)")
    p.add_argument("--size", type=int, default=28, help="glyph size in pixels (default 28)")
    p.set_defaults(run=_extract)

    p = sub.add_parser(
        "info", help="summarise a dataset", description="Print size, classes, writers and ink statistics."
    )
    p.add_argument("name", help="mnist, chars74k, omniglot, builtin, or a path")
    p.add_argument("--split", help="train/test (mnist), background/evaluation (omniglot)")
    p.set_defaults(run=_info)

    p = sub.add_parser(
        "preview",
        help="write a contact sheet of a dataset",
        description="One row per class, random samples of it, dark ink on white: check at a glance "
        "that the glyphs are handwriting, upright and correctly labelled.",
    )
    p.add_argument("name", help="mnist, chars74k, omniglot, builtin, or a path")
    p.add_argument("--out", required=True, type=image_file, help="output PNG")
    p.add_argument("--split", help="train/test (mnist), background/evaluation (omniglot)")
    p.add_argument("--per-class", type=int_in(1, 100), default=16, help="samples per class (default 16)")
    p.add_argument("--max-classes", type=int_in(1, 2000), default=160, help="at most this many classes (default 160: every character of the fonts)")
    p.add_argument("--scale", type=int_in(1, 16), default=2, help="pixel magnification (default 2)")
    p.add_argument("--writer", type=int_in(0), help="only this writer id")
    p.add_argument("--writers", type=int_in(1, 1000), default=20, help="writers to draw for builtin (default 20)")
    p.set_defaults(run=_preview)

    p = sub.add_parser(
        "download-mnist",
        help="fetch MNIST and write mnist.npz",
        description="Download the four official MNIST files, verify their md5 checksums and write "
        "mnist.npz. Offline, put the four .gz files in the folder yourself and rerun.",
    )
    p.add_argument("--dest", help="folder (default: $MINIGAN_DATA)")
    p.set_defaults(run=_download)

    args = parser.parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

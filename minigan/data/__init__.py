"""How handwriting gets into minigan: real-data readers, scanned-sheet extraction, built-in glyphs.

    from minigan.data import load, builtin_glyphs
    mnist = load("mnist", split="train")      # named sets resolve in $MINIGAN_DATA
    mine = load("mine.npz")                   # what `python -m minigan.data extract` wrote
    hands = load_spec("fonts@0-199*4")         # 200 typefaces, 4 hands each
    synth, styles = builtin_glyphs(return_styles=True)

Every image is uint8 white ink on black (MNIST convention). See `python -m minigan.data --help`.
"""

from .builtin import builtin_glyphs
from .fonts import FONT_CHARSET, load_fonts
from .dataset import CHARSET_62, GlyphDataset
from .readers import download_mnist, load, load_csv, load_folder, load_idx, load_npz, read_idx, write_csv, write_idx
from .sheets import extract_sheets, make_template
from .spec import MixedBatches, load_spec
from .transforms import despeckle, normalize_batch
from .transforms import (
    adaptive_binarize,
    has_dark_ink,
    normalize_glyph,
    otsu_binarize,
    otsu_threshold,
    resize,
    thicken,
    thin,
    to_white_on_black,
)

__all__ = [
    "CHARSET_62",
    "FONT_CHARSET",
    "GlyphDataset",
    "MixedBatches",
    "adaptive_binarize",
    "despeckle",
    "builtin_glyphs",
    "download_mnist",
    "extract_sheets",
    "has_dark_ink",
    "load",
    "load_csv",
    "load_folder",
    "load_fonts",
    "load_idx",
    "load_npz",
    "load_spec",
    "make_template",
    "normalize_batch",
    "normalize_glyph",
    "otsu_binarize",
    "otsu_threshold",
    "read_idx",
    "resize",
    "thicken",
    "thin",
    "to_white_on_black",
    "write_csv",
    "write_idx",
]

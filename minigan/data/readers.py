"""Readers for the handwriting files people have: IDX (MNIST/EMNIST), Kaggle CSV, .npz, image folders.

`load(name_or_path)` dispatches on what it is given; named sets resolve in $MINIGAN_DATA.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from .dataset import CHARSET_62, GlyphDataset, placeholder_charset
from .transforms import has_dark_ink, normalize_batch, normalize_glyph

DATA_ENV = "MINIGAN_DATA"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# EMNIST's "balanced" and "bymerge" splits merge the lowercase letters that look like their capitals.
EMNIST_MERGED = DIGITS + LETTERS + "abdefghnqrt"

# Files of each named set, inside $MINIGAN_DATA.
NAMED_SETS = {"mnist": "mnist.npz", "chars74k": "chars74k_hnd.npz", "omniglot": "omniglot_28.npz"}

MNIST_FILES = {  # official file name -> md5 of the gzipped file
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---------------------------------------------------------------- IDX


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not), checked against its header."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header says {dims} ({expected} bytes of data) but the file holds {len(raw) - header}; "
            "truncated or corrupt"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> None:
    """Write an array as an IDX file; gzipped when the name ends in .gz."""
    a = np.asarray(array)
    code = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}.get(a.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"{path}: IDX cannot store dtype {a.dtype}")
    data = bytes([0, 0, code, a.ndim]) + np.array(a.shape, ">u4").tobytes()
    data += a.astype(np.dtype(_IDX_TYPES[code])).tobytes()
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)


def _emnist_charset(name: str, labels: np.ndarray) -> tuple[str, np.ndarray]:
    """EMNIST split from the file name -> (charset, 0-based labels)."""
    if "letters" in name:  # labels 1..26, upper and lower case merged
        return LETTERS, labels - 1
    if "byclass" in name:
        return CHARSET_62, labels
    if "balanced" in name or "bymerge" in name:
        return EMNIST_MERGED, labels
    return DIGITS, labels  # "digits" and "mnist" splits


def load_idx(images_path, labels_path=None, charset: str | None = None) -> GlyphDataset:
    """An IDX image file and its label file (found by name when not given).

    EMNIST files (name contains "emnist") are stored transposed; they are turned upright here,
    and the letters split's 1-based labels become 0-based.
    """
    images_path = Path(images_path)
    if labels_path is None:
        labels_path = _partner(images_path, "images-idx3", "labels-idx1")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{images_path} / {labels_path}: expected images [N,H,W] and labels [N], "
            f"got {images.shape} and {labels.shape}"
        )
    name = images_path.name.lower()
    labels = labels.astype(np.int64)
    if "emnist" in name:
        images = images.transpose(0, 2, 1)
        default, labels = _emnist_charset(name, labels)
    else:
        default = DIGITS
    charset = charset or default
    if labels.min() < 0 or labels.max() >= len(charset):
        raise ValueError(f"{labels_path}: labels span {labels.min()}..{labels.max()}, outside charset {charset!r}")
    return GlyphDataset(np.ascontiguousarray(images.astype(np.uint8)), labels, charset, None, str(images_path))


def _partner(path: Path, old: str, new: str) -> Path:
    if old not in path.name:
        raise ValueError(f"{path}: cannot tell the label file; pass labels_path")
    partner = path.with_name(path.name.replace(old, new))
    if not partner.exists():
        raise FileNotFoundError(f"{path}: label file {partner.name} not found next to it")
    return partner


def load_idx_folder(folder, split: str | None = None) -> GlyphDataset:
    """A folder of MNIST-layout IDX files: train-* and t10k-* (or *-test-*) pairs."""
    folder = Path(folder)
    found = sorted(p for p in folder.iterdir() if "images-idx3" in p.name)
    if not found:
        raise FileNotFoundError(f"{folder}: no *-images-idx3-ubyte[.gz] files")
    part = {p: "test" if ("t10k" in p.name or "test" in p.name) else "train" for p in found}
    parts = [load_idx(p) for p in sorted(found, key=lambda p: part[p] == "test") if split in (None, part[p])]
    if not parts:
        raise ValueError(f"{folder}: no IDX files for split {split!r}")
    return GlyphDataset.concat(parts, source=str(folder))


# ---------------------------------------------------------------- CSV


def load_csv(path, charset: str | None = None) -> GlyphDataset:
    """Rows of `label, 784 pixels` (Kaggle "A-Z handwritten alphabets", MNIST-in-CSV).

    Labels name letters A-Z unless the file name says mnist (digits) or `charset` is given.
    """
    path = Path(path)
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace").strip()
    try:
        [float(v) for v in first.split(",")]
        skip = 0
    except ValueError:
        skip = 1  # a header row
    try:
        rows = np.loadtxt(path, delimiter=",", dtype=np.int64, skiprows=skip, ndmin=2)
    except ValueError as e:
        raise ValueError(f"{path}: not a CSV of integers ({e})") from None
    side = int(round(np.sqrt(rows.shape[1] - 1)))
    if rows.shape[0] == 0 or side * side != rows.shape[1] - 1:
        raise ValueError(f"{path}: expected rows of a label then a square image's pixels, got {rows.shape[1]} columns")
    labels, pixels = rows[:, 0], rows[:, 1:]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    charset = charset or (DIGITS if "mnist" in path.name.lower() else LETTERS)
    if labels.min() < 0 or labels.max() >= len(charset):
        raise ValueError(f"{path}: labels span {labels.min()}..{labels.max()}, outside charset {charset!r}")
    images = pixels.astype(np.uint8).reshape(-1, side, side)
    return GlyphDataset(images, labels, charset, None, str(path))


def write_csv(path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write `label, pixels...` rows, the Kaggle A-Z layout."""
    rows = np.concatenate([np.asarray(labels).reshape(-1, 1), np.asarray(images).reshape(len(images), -1)], axis=1)
    np.savetxt(path, rows, fmt="%d", delimiter=",")


# ---------------------------------------------------------------- npz


def load_npz(path, split: str | None = None) -> GlyphDataset:
    """An .npz with `images` and `labels`, optional `writers`, `charset` (or `classes`), `split`.

    Dark-ink images are inverted to white on black, with a warning. Extra per-sample arrays saved
    by `GlyphDataset.save` (listed in `extra_keys`) come back in `extra`.
    """
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
        files = set(z.files)
    except Exception as e:  # noqa: BLE001 - numpy raises several types for bad archives
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    missing = {"images", "labels"} - files
    if missing:
        raise ValueError(f"{path}: missing array(s) {sorted(missing)}; has {sorted(files)}")
    images, labels = z["images"], z["labels"].astype(np.int64)
    if images.ndim != 3:
        raise ValueError(f"{path}: images must be [N,H,W], got {images.shape}")
    if images.dtype != np.uint8:
        if images.max() <= 1.0:
            images = images * 255.0
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    if "charset" in files:
        charset = str(z["charset"]) if z["charset"].ndim == 0 else "".join(z["charset"].tolist())
    elif "classes" in files:
        charset = "".join(z["classes"].tolist())
    else:
        charset = placeholder_charset(int(labels.max()) + 1 if len(labels) else 0)
    writers = z["writers"] if "writers" in files else None
    source = str(z["source"]) if "source" in files and str(z["source"]) else str(path)
    extra = {str(k): z[str(k)] for k in z["extra_keys"]} if "extra_keys" in files else {}
    meta = {str(k): z[str(k)] for k in z["meta_keys"]} if "meta_keys" in files else {}
    if len(images) and has_dark_ink(images[: min(len(images), 256)].reshape(-1, images.shape[2])):
        warnings.warn(f"{path}: images look like dark ink on light paper; inverting to white on black", stacklevel=2)
        images = 255 - images
    ds = GlyphDataset(images, labels, charset, writers, source, extra, meta)
    if split is not None:
        ds = ds.subset(_split_mask(z, files, split, path))
    return ds


def _split_mask(z, files, split: str, path: Path) -> np.ndarray:
    if "split" in files:
        codes = {"train": 0, "test": 1}
        if split not in codes:
            raise ValueError(f"{path}: split must be 'train' or 'test', not {split!r}")
        return z["split"] == codes[split]
    if "is_eval" in files:
        codes = {"background": 0, "train": 0, "evaluation": 1, "test": 1}
        if split not in codes:
            raise ValueError(f"{path}: split must be 'background' or 'evaluation', not {split!r}")
        return z["is_eval"] == codes[split]
    raise ValueError(f"{path}: this set has no splits, so split={split!r} cannot be applied")


# ---------------------------------------------------------------- image folders

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _folder_char(folder: Path) -> str:
    """A class folder's character: its one-letter name, or a code point written U+0041 / 0x41."""
    name = folder.name
    if len(name) == 1:
        return name
    for prefix in ("U+", "u+", "0x"):
        if name.startswith(prefix):
            try:
                return chr(int(name[len(prefix) :], 16))
            except ValueError:
                break
    raise ValueError(f"{folder}: a class folder must be named by its character (e.g. 'A', or U+0041), not {name!r}")


def load_folder(folder, size: int = 28) -> GlyphDataset:
    """Image folders: root/<char>/*.png, or root/<char>/<writer>/*.png.

    Each image is turned white on black if needed and normalised MNIST-style to size x size.
    """
    folder = Path(folder)
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir())
    if not class_dirs:
        raise FileNotFoundError(f"{folder}: no class subfolders (expected one folder per character)")
    chars = [_folder_char(d) for d in class_dirs]
    if len(set(chars)) != len(chars):
        raise ValueError(f"{folder}: two folders name the same character (case-insensitive file system?)")
    charset = "".join(sorted(chars))
    writer_names: list[str] = []
    images, labels, writers = [], [], []
    for d, ch in zip(class_dirs, chars):
        for f in sorted(d.rglob("*")):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            writer = f.parent.name if f.parent != d else ""
            if writer not in writer_names:
                writer_names.append(writer)
            try:
                with Image.open(f) as im:
                    a = np.asarray(im.convert("L"), np.float32)
            except OSError as e:
                raise ValueError(f"{f}: unreadable image ({e})") from None
            if has_dark_ink(a):
                a = 255 - a
            images.append(normalize_glyph(a - np.percentile(a, 5), size, round(size * 20 / 28)))
            labels.append(charset.index(ch))
            writers.append(writer_names.index(writer))
    if not images:
        raise FileNotFoundError(f"{folder}: class folders hold no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    has_writers = writer_names != [""]
    return GlyphDataset(
        np.stack(images),
        np.array(labels),
        charset,
        np.array(writers) if has_writers else None,
        str(folder),
        meta={"writer_names": np.array(writer_names)} if has_writers else {},
    )


# ---------------------------------------------------------------- named sets and dispatch


def data_dir() -> Path:
    value = os.environ.get(DATA_ENV)
    if not value:
        raise FileNotFoundError(
            f"{DATA_ENV} is not set: point it at the folder that holds the data files "
            f"({', '.join(NAMED_SETS.values())})"
        )
    return Path(value)


OMNIGLOT_LATIN = 21  # Omniglot's alphabet index of Latin: a-z, one glyph each by 20 drawers


def load_omniglot_latin() -> GlyphDataset:
    """Omniglot's Latin alphabet (a-z by 20 drawers, writers 0-19) from the 105 x 105 originals,
    normalised like Chars74K and MNIST (the 28 x 28 file is only shrunk, not fitted to a box)."""
    path = data_dir() / "omniglot_105.npz"
    if not path.is_file():
        raise FileNotFoundError(f"omniglot-latin: {path.name} is not in {DATA_ENV}={path.parent}")
    with np.load(path, allow_pickle=False) as z:
        keep = z["alphabet"] == OMNIGLOT_LATIN
        images, labels, drawers = z["images"][keep], z["labels"][keep], z["drawer"][keep]
    labels = labels - labels.min()
    if labels.max() != 25:
        raise ValueError(f"{path}: alphabet {OMNIGLOT_LATIN} has {labels.max() + 1} characters, not Latin's 26")
    return GlyphDataset(normalize_batch(images), labels, LETTERS.lower(), drawers.astype(np.int64) - 1,
                        f"omniglot-latin ({path})")


def load(name_or_path: str, split: str | None = None) -> GlyphDataset:
    """Load a named set ("mnist", "chars74k", "omniglot", "omniglot-latin", "fonts", "builtin")
    or a file or folder.

    Paths may be .npz, IDX(.gz), .csv, a folder of IDX files, or an image folder with one
    subfolder per character. `split` selects "train"/"test" of MNIST (or Omniglot's
    "background"/"evaluation"); None means all.
    """
    name = str(name_or_path)
    if name in ("fonts", "omniglot-latin"):
        if split is not None:
            raise ValueError(f"the {name} set has no splits")
        if name == "fonts":
            from .fonts import load_fonts

            return load_fonts()
        return load_omniglot_latin()
    if name == "builtin":
        from .builtin import builtin_glyphs

        if split is not None:
            raise ValueError("the builtin set has no splits")
        return builtin_glyphs()
    if name in NAMED_SETS:
        path = data_dir() / NAMED_SETS[name]
        if not path.is_file():
            hint = " (python -m minigan.data download-mnist fetches it)" if name == "mnist" else ""
            raise FileNotFoundError(f"{name}: {path.name} is not in {DATA_ENV}={path.parent}{hint}")
        ds = load_npz(path, split)
        if name == "omniglot":
            ds.source = f"omniglot ({path})"
        return ds
    path = Path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"{name}: no such file or folder, and not a named set "
            f"({', '.join([*NAMED_SETS, 'omniglot-latin', 'fonts', 'builtin'])})"
        )
    if path.is_dir():
        if any("images-idx3" in p.name for p in path.iterdir()):
            return load_idx_folder(path, split)
        ds = load_folder(path)
    else:
        suffixes = "".join(path.suffixes).lower()
        if suffixes.endswith(".npz"):
            return load_npz(path, split)
        if suffixes.endswith(".csv"):
            ds = load_csv(path)
        elif "idx3" in path.name or "ubyte" in path.name:
            ds = load_idx(path)
        else:
            raise ValueError(f"{path}: unknown format; expected .npz, .csv, IDX (*-idx3-ubyte[.gz]) or a folder")
    if split is not None:
        raise ValueError(f"{path}: this source has no splits, so split={split!r} cannot be applied")
    return ds


# ---------------------------------------------------------------- MNIST download


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def download_mnist(dest=None, mirrors=MNIST_MIRRORS, timeout: float = 30.0) -> Path:
    """Fetch the four official MNIST files, verify their md5, and write dest/mnist.npz.

    Files already in dest with the right checksum are reused, so a user without a network can
    drop them there by hand. Returns the path of mnist.npz.
    """
    dest = Path(dest) if dest is not None else data_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for fname, md5 in MNIST_FILES.items():
        target = dest / fname
        if target.exists() and _md5(target) == md5:
            continue
        errors = []
        for base in mirrors:
            try:
                with urllib.request.urlopen(base + fname, timeout=timeout) as r:
                    data = r.read()
            except (urllib.error.URLError, OSError) as e:
                errors.append(f"{base}: {e}")
                continue
            if hashlib.md5(data).hexdigest() != md5:
                errors.append(f"{base}{fname}: checksum mismatch (expected md5 {md5})")
                continue
            target.write_bytes(data)
            break
        else:
            raise ConnectionError(
                f"could not fetch {fname} ({'; '.join(errors)}). Offline? Download the four files "
                f"{', '.join(MNIST_FILES)} by hand and put them in {dest}, then run this again."
            )
    train = load_idx(dest / "train-images-idx3-ubyte.gz")
    test = load_idx(dest / "t10k-images-idx3-ubyte.gz")
    out = dest / "mnist.npz"
    np.savez_compressed(
        out,
        images=np.concatenate([train.images, test.images]),
        labels=np.concatenate([train.labels, test.labels]).astype(np.uint8),
        split=np.repeat(np.array([0, 1], np.uint8), [len(train), len(test)]),
    )
    return out

"""The one dataset type every reader, the sheet extractor and the built-in generator return."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._files import write_atomic

from .transforms import resize

CHARSET_62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def placeholder_charset(n: int) -> str:
    """A charset for n classes that have no printable names (e.g. Omniglot's 1623 symbols).

    Digits when n <= 10, otherwise one Unicode private-use character per class, so that
    `charset[label]` still works and round-trips through .npz files as a plain string.
    """
    if n <= 10:
        return "0123456789"[:n]
    return "".join(chr(0xE000 + i) for i in range(n))


@dataclass(repr=False)
class GlyphDataset:
    """Glyph images with their character labels, the charset and (optionally) writer ids.

    `extra` holds further per-sample arrays (first axis N) that follow `subset`, such as the
    sheet/row/col/bbox of glyphs cut from a scanned sheet. `meta` holds dataset-level arrays
    (e.g. the empty cells of a sheet). Both are saved with `save`.
    """

    images: np.ndarray  # uint8 [N,H,W], white ink on black
    labels: np.ndarray  # int64 [N], index into charset
    charset: str
    writers: np.ndarray | None = None  # int64 [N] or None
    source: str = ""
    extra: dict = field(default_factory=dict)  # name -> array [N, ...]
    meta: dict = field(default_factory=dict)  # name -> array

    def __post_init__(self):
        self.images = np.asarray(self.images)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise ValueError(
                f"{self.source or 'GlyphDataset'}: images must be uint8 [N,H,W], "
                f"got {self.images.dtype} {self.images.shape}"
            )
        n = len(self.images)
        self.labels = np.asarray(self.labels).astype(np.int64).reshape(-1)
        if len(self.labels) != n:
            raise ValueError(f"{self.source}: {n} images but {len(self.labels)} labels")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.charset)):
            raise ValueError(
                f"{self.source}: labels span {self.labels.min()}..{self.labels.max()} "
                f"but the charset has {len(self.charset)} characters"
            )
        if self.writers is not None:
            self.writers = np.asarray(self.writers).astype(np.int64).reshape(-1)
            if len(self.writers) != n:
                raise ValueError(f"{self.source}: {n} images but {len(self.writers)} writer ids")
        for name, value in self.extra.items():
            if len(value) != n:
                raise ValueError(f"{self.source}: extra[{name!r}] has {len(value)} rows, not {n}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        writers = f", {self.num_writers} writers" if self.writers is not None else ""
        return (
            f"GlyphDataset({len(self)} x {self.images.shape[1]}x{self.images.shape[2]}, "
            f"{self.num_classes} classes{writers}, source={self.source!r})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.charset)

    @property
    def num_writers(self) -> int:
        """Size of a writer-id table: max id + 1 (1 when writers are unknown)."""
        if self.writers is None or len(self.writers) == 0:
            return 1
        return int(self.writers.max()) + 1

    def chars(self) -> str:
        """The character of every sample, as one string of length N."""
        return "".join(self.charset[i] for i in self.labels)

    def subset(self, index_or_mask) -> GlyphDataset:
        index = index_or_mask if isinstance(index_or_mask, slice) else np.asarray(index_or_mask)
        return GlyphDataset(
            self.images[index],
            self.labels[index],
            self.charset,
            None if self.writers is None else self.writers[index],
            self.source,
            {k: v[index] for k, v in self.extra.items()},
            dict(self.meta),
        )

    def resized(self, size: int) -> GlyphDataset:
        """The same glyphs resized to size x size (area average down, bilinear up)."""
        out = self.subset(slice(None))
        out.images = resize(self.images, size)
        return out

    def as_float(self, size: int | None = None) -> np.ndarray:
        """float32 [N,1,S,S] in [0,1], ready for a network."""
        images = self.images if size is None else resize(self.images, size)
        return (images.astype(np.float32) / 255.0)[:, None]

    def save(self, path) -> None:
        """Write an .npz that `load` reads back, with no pickled objects, atomically (a crash
        or a full disk leaves the old file or the new one, never half of one)."""
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "charset": np.array(self.charset),
            "source": np.array(self.source),
            "extra_keys": np.array(sorted(self.extra), dtype="U64"),
            "meta_keys": np.array(sorted(self.meta), dtype="U64"),
            **self.extra,
            **self.meta,
        }
        if self.writers is not None:
            arrays["writers"] = self.writers
        write_atomic(path, lambda f: np.savez_compressed(f, **arrays))

    @staticmethod
    def concat(parts: list[GlyphDataset], source: str | None = None) -> GlyphDataset:
        """Join datasets of one image size. Their charsets are merged: the first part's, then
        each character of a later part that is new, in that part's order (`mnist+chars74k`
        gives 0-9 then A-Z and a-z); every label is renumbered into the merged charset."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for p in parts[1:]:
            if p.images.shape[1:] != first.images.shape[1:]:
                raise ValueError(f"cannot join {p.source!r} to {first.source!r}: images are "
                                 f"{p.images.shape[1:]} and {first.images.shape[1:]}")
        charset = first.charset + "".join(dict.fromkeys(
            c for p in parts[1:] for c in p.charset if c not in first.charset))
        index = {c: i for i, c in enumerate(charset)}
        labels = [np.array([index[c] for c in p.charset], dtype=np.int64)[p.labels]
                  for p in parts]
        has_writers = all(p.writers is not None for p in parts)
        keys = set.intersection(*(set(p.extra) for p in parts))
        return GlyphDataset(
            np.concatenate([p.images for p in parts]),
            np.concatenate(labels),
            charset,
            np.concatenate([p.writers for p in parts]) if has_writers else None,
            source if source is not None else " + ".join(p.source for p in parts),
            {k: np.concatenate([p.extra[k] for p in parts]) for k in sorted(keys)},
        )

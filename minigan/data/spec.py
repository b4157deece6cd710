"""Several sources as one training set: `chars74k@0-44+builtin`, `mnist:train`.

A spec is parts joined by '+'; each part is `NAME_OR_PATH[:SPLIT][@FIRST-LAST][*REPEAT]`, where
@FIRST-LAST keeps only those writer ids (inclusive) and *REPEAT lists the part's glyphs that many
times, so a small set is not drowned by a large one (`chars74k@0-44*8+builtin` is about half and
half). Writer ids are renumbered so that every part's writers stay distinct people in the joined
set, and the parts' characters are merged into one charset (`mnist+chars74k`: 0-9, then the
letters), each glyph keeping its own.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .dataset import GlyphDataset
from .readers import NAMED_SETS, load

_PART = re.compile(r"^(?P<name>.+?)(?::(?P<split>[a-z]+))?(?:@(?P<lo>\d+)-(?P<hi>\d+))?(?:\*(?P<rep>\d+))?$")


def _load_part(part: str) -> GlyphDataset:
    m = _PART.match(part)
    if m is None:
        raise ValueError(f"cannot read the data spec part {part!r}")
    ds = load(m["name"], m["split"])
    if m["lo"] is not None:
        if ds.writers is None:
            raise ValueError(f"{part}: {m['name']} has no writer ids to select from")
        lo, hi = int(m["lo"]), int(m["hi"])
        ds = ds.subset((ds.writers >= lo) & (ds.writers <= hi))
        if len(ds) == 0:
            raise ValueError(f"{part}: no glyphs by writers {lo}-{hi}")
    if m["rep"] is not None:
        repeat = int(m["rep"])
        if repeat < 1:
            raise ValueError(f"{part}: the repeat count must be at least 1")
        ds = ds.subset(np.tile(np.arange(len(ds)), repeat))
    return ds


def load_spec(spec: str) -> GlyphDataset:
    """One GlyphDataset from a spec (see the module doc); a plain name or path works too."""
    parts = [p for p in spec.split("+") if p]
    if not parts:
        raise ValueError("empty data spec")
    if len(parts) == 1:
        return _load_part(parts[0])
    loaded, offset = [], 0
    for part in parts:
        ds = _load_part(part)
        writers = ds.writers if ds.writers is not None else np.zeros(len(ds), dtype=np.int64)
        _, dense = np.unique(writers, return_inverse=True)
        ds.writers = dense.astype(np.int64) + offset
        offset = int(ds.writers.max()) + 1
        loaded.append(ds)
    return GlyphDataset.concat(loaded, source=spec)


def absolute_spec(spec: str) -> str:
    """The spec with each part that names a file or folder made absolute, so that a run which
    stores it can be resumed from any working folder. Named sets stay names."""
    parts = []
    for part in spec.split("+"):
        m = _PART.match(part)
        if m and m["name"] not in (*NAMED_SETS, "builtin") and Path(m["name"]).exists():
            part = str(Path(m["name"]).resolve()) + part[len(m["name"]):]
        parts.append(part)
    return "+".join(parts)

"""Several sources as one training set: `chars74k@0-44+builtin`, `mnist:train`, `fonts@0-199*4`.

A spec is parts joined by '+'; each part is `NAME_OR_PATH[:SPLIT][@FIRST-LAST][*REPEAT][%SHARE]`,
where @FIRST-LAST keeps only those writer ids (inclusive) and *REPEAT lists the part's glyphs that
many times, so a small set is not drowned by a large one (`chars74k@0-44*8+builtin` is about half
and half). Writer ids are renumbered so that every part's writers stay distinct people in the
joined set, and the parts' characters are merged into one charset (`mnist+chars74k`: 0-9, then
the letters), each glyph keeping its own.

For `fonts` the range picks fonts by their index in fonts.json (`fonts@0-199`), and *K gives each
font K hands instead of K copies: the typeface as designed and K-1 derived hands with their own
slant, width and pen (minigan.data.hands), each its own writer.

%SHARE (a percentage) asks that the part fill that share of every training batch, whatever its
size: `fonts*4+chars74k@0-44%25+builtin%10` draws a quarter of each batch from Chars74K and a
tenth from the built-in writers, the rest from the fonts. `MixedBatches` draws such batches; the
join records each glyph's part in `extra["part"]`, the shares in `meta["part_share"]`, and in
`meta["part_writers"]` whether each part had writer ids of its own (a part without them, such as
mnist, becomes one writer id, which is no person).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import UserError
from .dataset import GlyphDataset
from .readers import NAMED_SETS, load

_PART = re.compile(r"^(?P<name>.+?)(?::(?P<split>[a-z]+))?(?:@(?P<lo>\d+)-(?P<hi>\d+))?"
                   r"(?:\*(?P<rep>\d+))?(?:%(?P<share>\d+(?:\.\d*)?))?$")


def _load_part(part: str) -> tuple[GlyphDataset, float]:
    """One part's glyphs and its batch share in percent (NaN when it asks for none)."""
    m = _PART.match(part)
    if m is None:
        raise ValueError(f"cannot read the data spec part {part!r}")
    repeat = 1 if m["rep"] is None else int(m["rep"])
    if repeat < 1:
        raise ValueError(f"{part}: the repeat count must be at least 1")
    share = float("nan") if m["share"] is None else float(m["share"])
    if not np.isnan(share) and not 0 < share <= 100:
        raise UserError(f"{part}: a batch share is a percentage above 0 and at most 100")
    if m["name"] == "fonts":
        from .fonts import load_fonts

        if m["split"] is not None:
            raise ValueError(f"{part}: the fonts have no splits")
        lo = None if m["lo"] is None else int(m["lo"])
        hi = None if m["hi"] is None else int(m["hi"])
        return load_fonts(lo, hi, hands=repeat), share
    ds = load(m["name"], m["split"])
    if m["lo"] is not None:
        if ds.writers is None:
            raise ValueError(f"{part}: {m['name']} has no writer ids to select from")
        lo, hi = int(m["lo"]), int(m["hi"])
        ds = ds.subset((ds.writers >= lo) & (ds.writers <= hi))
        if len(ds) == 0:
            raise ValueError(f"{part}: no glyphs by writers {lo}-{hi}")
    if repeat > 1:
        ds = ds.subset(np.tile(np.arange(len(ds)), repeat))
    return ds, share


def load_spec(spec: str) -> GlyphDataset:
    """One GlyphDataset from a spec (see the module doc); a plain name or path works too."""
    parts = [p for p in spec.split("+") if p]
    if not parts:
        raise ValueError("empty data spec")
    if len(parts) == 1:
        ds, share = _load_part(parts[0])
        if not np.isnan(share):
            raise UserError(f"{spec}: a batch share (%) only means something beside other parts; "
                            "join another source with +, or drop the share")
        return ds
    loaded, shares, named, offset = [], [], [], 0
    for index, part in enumerate(parts):
        ds, share = _load_part(part)
        named.append(ds.writers is not None)
        writers = ds.writers if ds.writers is not None else np.zeros(len(ds), dtype=np.int64)
        _, dense = np.unique(writers, return_inverse=True)
        ds.writers = dense.astype(np.int64) + offset
        ds.extra = {**ds.extra, "part": np.full(len(ds), index, np.int64)}
        offset = int(ds.writers.max()) + 1
        loaded.append(ds)
        shares.append(share)
    if np.nansum(shares) > 100:
        raise UserError(f"{spec}: the batch shares add up to {np.nansum(shares):g}%, more than a batch")
    joined = GlyphDataset.concat(loaded, source=spec)
    joined.meta = {"parts": np.array(parts), "part_share": np.array(shares, np.float64),
                   "part_writers": np.array(named)}
    return joined


class MixedBatches:
    """Batch indices into a joined dataset in which every part with a share (%SHARE) fills that
    share of every batch, so that, say, real handwriting is in each batch beside the fonts.

    Each shared part gives round(share x batch) glyphs (at least one), drawn uniformly from its
    glyphs with replacement; the rest of the batch comes uniformly from the parts without a
    share (from all glyphs when every part has one). A dataset without shares gives plain
    uniform batches, as drawing from the whole set does.
    """

    def __init__(self, ds: GlyphDataset, batch: int):
        self.batch = int(batch)
        self.size = len(ds)
        parts = ds.extra.get("part")
        shares = ds.meta.get("part_share")
        self.fixed: list[tuple[np.ndarray, int]] = []  # (glyph indices of a part, glyphs per batch)
        self.rest = np.arange(len(ds))
        if parts is None or shares is None or np.isnan(shares).all():
            return
        counts = [max(1, int(round(s / 100 * self.batch))) if not np.isnan(s) else 0 for s in shares]
        if sum(counts) > self.batch:
            raise UserError(f"{ds.source}: the shares ask for {sum(counts)} glyphs in a batch of "
                            f"{self.batch}; lower the shares or raise --batch")
        for p, count in enumerate(counts):
            if count:
                members = np.flatnonzero(parts == p)
                if len(members) == 0:
                    raise UserError(f"{ds.source}: part {p + 1} asks for {shares[p]:g}% of every "
                                    f"batch but has no glyphs left (see --chars)")
                self.fixed.append((members, count))
        unshared = np.isin(parts, [p for p, s in enumerate(shares) if np.isnan(s)])
        if unshared.any():
            self.rest = np.flatnonzero(unshared)

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        """int64 [batch] indices, in random order."""
        chosen = [members[rng.integers(0, len(members), count)] for members, count in self.fixed]
        left = self.batch - sum(count for _, count in self.fixed)
        chosen.append(self.rest[rng.integers(0, len(self.rest), left)])
        return rng.permutation(np.concatenate(chosen))


def absolute_spec(spec: str) -> str:
    """The spec with each part that names a file or folder made absolute, so that a run which
    stores it can be resumed from any working folder. Named sets stay names."""
    parts = []
    for part in spec.split("+"):
        m = _PART.match(part)
        if m and m["name"] not in (*NAMED_SETS, "builtin", "fonts", "omniglot-latin") and Path(m["name"]).exists():
            part = str(Path(m["name"]).resolve()) + part[len(m["name"]):]
        parts.append(part)
    return "+".join(parts)

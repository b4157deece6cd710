"""Writer identification and writer fidelity: does a glyph look like it came from this hand?

The writer network's features carry both style and character identity. A glyph's embedding is
its features minus the mean features of its character (measured on Chars74K writers 0-44 and
shipped with the weights), L2-normalised: what is left is how this hand differs from the
average hand on that character.

Identification is nearest-centroid, leave-one-character-out: a glyph of character c is compared
with each writer's centroid built from that writer's glyphs of every character except c, so
neither the glyph itself nor its character can be matched; only the style can.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..data import GlyphDataset
from .features import FeatureNet, classifier_accuracy, load_net


def char_means(features: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """[classes, D] mean feature of each class (zeros for a class with no sample)."""
    sums = np.zeros((classes, features.shape[1]), np.float64)
    np.add.at(sums, labels, features)
    counts = np.bincount(labels, minlength=classes)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def writer_embedding(net: FeatureNet, images: np.ndarray, chars: str) -> np.ndarray:
    """uint8 [N, 28, 28] glyphs of characters `chars` -> unit-length embeddings [N, D].

    Characters outside the network's charset (e.g. Omniglot symbols) keep their raw features.
    """
    if len(chars) != len(images):
        raise ValueError(f"{len(images)} images but {len(chars)} characters")
    f = net.features(images)                                                 # [N, D]
    if "char_mean" in net.arrays:
        index = np.array([net.charset.find(c) for c in chars], np.int64)
        known = index >= 0
        f[known] -= net.arrays["char_mean"][index[known]]
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def centroid_ranks(query: np.ndarray, query_chars: np.ndarray, query_writers: np.ndarray,
                   gallery: np.ndarray, gallery_chars: np.ndarray, gallery_writers: np.ndarray) -> np.ndarray:
    """Rank (0 = nearest) of each query's true writer among the gallery writers' centroids.

    Each query of character c is compared with centroids built without any glyph of c.
    query [Q, D], gallery [G, D]; *_chars and *_writers are int arrays of the same lengths.
    """
    ids = np.unique(gallery_writers)
    missing = sorted(set(np.unique(query_writers)) - set(ids))
    if missing:
        raise ValueError(f"query writers {missing[:5]} have no glyphs in the gallery")
    truth = np.searchsorted(ids, query_writers)                               # [Q]
    ranks = np.empty(len(query), np.int64)
    for c in np.unique(query_chars):
        keep = gallery_chars != c
        members = np.searchsorted(ids, gallery_writers[keep])
        counts = np.bincount(members, minlength=len(ids))
        if (counts == 0).any():
            raise ValueError(f"writer {ids[counts == 0][0]} has no glyph other than character {c}")
        centroids = np.zeros((len(ids), gallery.shape[1]))
        np.add.at(centroids, members, gallery[keep])
        centroids /= counts[:, None]                                          # [W, D]
        rows = np.flatnonzero(query_chars == c)
        d = ((query[rows, None, :] - centroids[None]) ** 2).sum(-1)           # [q, W]
        ranks[rows] = (d < d[np.arange(len(rows)), truth[rows]][:, None]).sum(1)
    return ranks


def _topk(ranks: np.ndarray) -> dict:
    return {"top1": float(np.mean(ranks < 1)), "top5": float(np.mean(ranks < 5)), "n": len(ranks)}


def writer_identification(net: FeatureNet, images: np.ndarray, labels: np.ndarray,
                          writers: np.ndarray, charset: str | None = None) -> dict:
    """Leave-one-character-out nearest-centroid writer ID within one set of glyphs.

    labels index `charset` (default: the network's). Returns {"top1", "top5", "n", "writers"}.
    """
    chars = "".join((charset or net.charset)[i] for i in labels)
    emb = writer_embedding(net, images, chars)
    out = _topk(centroid_ranks(emb, labels, writers, emb, labels, writers))
    out["writers"] = len(np.unique(writers))
    return out


def _char_scores(char_net: FeatureNet, images: np.ndarray, chars: str) -> dict:
    if set(chars) <= set(char_net.charset):
        acc = classifier_accuracy(char_net, images, chars)
        return {k: v for k, v in acc.items() if k != "n"}
    return {}


def writer_fidelity(make_glyph: Callable[[GlyphDataset, str], np.ndarray], dataset: GlyphDataset,
                    writers, k: int | None = None, chars: str | None = None, seed: int = 0,
                    writer_net: FeatureNet | None = None, char_net: FeatureNet | None = None) -> dict:
    """Score a few-shot handwriting imitator against real writers, with its ceiling and floor.

    For every writer in `writers` and every character c they wrote (or only those in `chars`),
    `make_glyph(others, c)` is called with `others`, a GlyphDataset holding k of that writer's
    real glyphs of characters other than c (all of them when k is None; chosen at random by
    seed otherwise). It must return one uint8 [28, 28] glyph, white ink on black, MNIST-style.

    Each result is scored by writer identification against the centroids of the real glyphs of
    `writers` (built without c, see `centroid_ranks`), top-1 and top-5, and by the character
    classifier (62-class and case-folded). Beside it: "ceiling", the writer's real glyph of c,
    and "floor", another of `writers`' real glyph of c (drawn at random). Returns
    {"generated": {...}, "ceiling": {...}, "floor": {...}, "n", "k", "writers"}.
    """
    writer_net = writer_net or load_net("writers")
    char_net = char_net or load_net("chars")
    if dataset.writers is None:
        raise ValueError(f"{dataset.source}: writer_fidelity needs a dataset with writer ids")
    writers = np.asarray(list(writers))
    if len(writers) < 2:
        raise ValueError("writer_fidelity needs at least two writers (the floor borrows another's glyph)")
    pool = dataset.subset(np.isin(dataset.writers, writers))
    absent = sorted(set(writers.tolist()) - set(pool.writers.tolist()))
    if absent:
        raise ValueError(f"{dataset.source}: writers {absent[:5]} have no glyphs")
    rng = np.random.default_rng(seed)
    wanted = None if chars is None else [dataset.charset.index(c) for c in chars]
    made, real, borrowed, q_labels, q_writers = [], [], [], [], []
    for w in writers:
        own = np.flatnonzero(pool.writers == w)
        for label in np.unique(pool.labels[own]):
            if wanted is not None and label not in wanted:
                continue
            others = own[pool.labels[own] != label]
            if k is not None:
                others = rng.choice(others, size=min(k, len(others)), replace=False)
            char = dataset.charset[label]
            glyph = np.asarray(make_glyph(pool.subset(others), char))
            if glyph.shape != (28, 28) or glyph.dtype != np.uint8:
                raise ValueError(f"make_glyph must return a uint8 [28, 28] glyph, got "
                                 f"{glyph.dtype} {glyph.shape} for writer {w}, {char!r}")
            same_char = np.flatnonzero(pool.labels == label)
            mine = same_char[pool.writers[same_char] == w]
            theirs = same_char[pool.writers[same_char] != w]
            if len(theirs) == 0:
                raise ValueError(f"no other writer wrote {char!r}, so there is no floor for it")
            made.append(glyph)
            real.append(pool.images[mine[0]])
            borrowed.append(pool.images[rng.choice(theirs)])
            q_labels.append(label)
            q_writers.append(w)
    if not made:
        raise ValueError("no (writer, character) pairs to score")
    q_labels, q_writers = np.array(q_labels), np.array(q_writers)
    q_chars = "".join(dataset.charset[i] for i in q_labels)
    gallery = writer_embedding(writer_net, pool.images, pool.chars())
    out = {"n": len(made), "k": k, "writers": len(writers)}
    for name, images in (("generated", made), ("ceiling", real), ("floor", borrowed)):
        images = np.stack(images)
        emb = writer_embedding(writer_net, images, q_chars)
        ranks = centroid_ranks(emb, q_labels, q_writers, gallery, pool.labels, pool.writers)
        scores = _topk(ranks)
        scores.pop("n")
        scores.update(_char_scores(char_net, images, q_chars))
        out[name] = scores
    return out

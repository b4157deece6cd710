"""How much a generator's drawings of one character vary, against how much real hands vary.

A conditional GAN can collapse in style: every z draws the same glyph for a character, while
FID, KID and conditional accuracy still look fine (each glyph is a plausible one, and it is
read right). For a style model that is fatal, since no style can be found in a space that
draws one hand. `class_spread` measures the variety within each character, in a feature
network's space: the root mean squared distance of a character's glyphs from their mean,
averaged over the characters. Real glyphs of many writers set the scale, so the figure to read
is generated / real: near 1 varies as real hands do, near 0 has collapsed.
"""
from __future__ import annotations

import numpy as np


def class_spread(features: np.ndarray, labels, min_count: int = 2) -> tuple[float, int]:
    """(spread, classes used): the mean over classes of the RMS distance of a class's feature
    rows from their mean. features [N, D]; labels [N] (any hashable values); classes with
    fewer than `min_count` rows are left out (one glyph has no spread to measure)."""
    features = np.asarray(features, np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features {features.shape} and labels {labels.shape} do not pair up")
    spreads = []
    for value in np.unique(labels):
        rows = features[labels == value]
        if len(rows) >= min_count:
            spreads.append(np.sqrt(np.mean(np.sum((rows - rows.mean(0)) ** 2, axis=1))))
    if not spreads:
        raise ValueError(f"no class has {min_count} or more samples")
    return float(np.mean(spreads)), len(spreads)

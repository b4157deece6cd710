"""The built-in procedural handwriting: determinism, speed, legibility, and style factors that can
be measured back from the images (what a style-capture test of a trained model relies on)."""

import time

import numpy as np
import pytest

from minigan.data import CHARSET_62, builtin_glyphs, load
from minigan.data.builtin import STYLE_RANGES, VARIANT_CHARS


def slant(images):
    """Per-image shear of the ink: -cov(x, y) / var(y), y downwards, so right-leaning is positive."""
    w = images.astype(np.float64)
    ys, xs = np.mgrid[0 : w.shape[1], 0 : w.shape[2]]
    m = w.sum((1, 2))
    cy, cx = (w * ys).sum((1, 2)) / m, (w * xs).sum((1, 2)) / m
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]
    return -(w * dx * dy).sum((1, 2)) / (w * dy**2).sum((1, 2))


def stroke_width(images):
    """Ink area over half its boundary length: the pen width, in pixels."""
    b = images > 127
    inner = np.roll(b, 1, 1) & np.roll(b, -1, 1) & np.roll(b, 1, 2) & np.roll(b, -1, 2)
    return 2 * b.sum((1, 2)) / np.maximum((b & ~inner).sum((1, 2)), 1)


def knn_predict(train, test, k=3):
    def features(ds):
        x = ds.as_float(14).reshape(len(ds), -1)
        x = x - x.mean(1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    sims = features(test) @ features(train).T
    nearest = np.argpartition(-sims, k, axis=1)[:, :k]
    return np.array([np.bincount(v, minlength=train.num_classes).argmax() for v in train.labels[nearest]])


def test_layout_order_and_determinism():
    ds, styles = builtin_glyphs(n_writers=3, per_char=2, seed=7, return_styles=True)
    assert ds.images.shape == (3 * 62 * 2, 28, 28) and ds.images.dtype == np.uint8
    assert ds.charset == CHARSET_62 and ds.num_writers == 3
    assert ds.chars()[:4] == "0011" and ds.writers.tolist()[:124] == [0] * 124  # writer, char, copy
    assert np.array_equal(ds.images, builtin_glyphs(n_writers=3, per_char=2, seed=7).images)
    assert not np.array_equal(ds.images, builtin_glyphs(n_writers=3, per_char=2, seed=8).images)
    assert ds.images.reshape(len(ds), -1).max(1).min() > 200  # every glyph has ink
    assert "seed=7" in ds.source
    for name, (lo, hi) in STYLE_RANGES.items():
        assert styles[name].shape == (3,) and np.all((lo <= styles[name]) & (styles[name] <= hi))
    assert styles["variants"].shape == (3, len(VARIANT_CHARS)) and len(VARIANT_CHARS) >= 8
    small = builtin_glyphs(n_writers=2, per_char=1, charset="abc", size=16, normalize=False)
    assert small.images.shape == (6, 16, 16) and small.charset == "abc"
    with pytest.raises(ValueError, match="no skeleton"):
        builtin_glyphs(charset="A€")


def test_builtin_is_the_default_named_set():
    ds = load("builtin")
    assert len(ds) == 20 * 62 * 20 and ds.num_writers == 20


def test_hundred_thousand_glyphs_fast():
    builtin_glyphs(n_writers=1, per_char=1)  # numba compile (or cache load) is not what we time
    t = time.perf_counter()
    ds = builtin_glyphs(n_writers=81, per_char=20)
    seconds = time.perf_counter() - t
    print(f"{len(ds)} glyphs in {seconds:.1f} s")
    assert len(ds) > 100_000 and seconds < 30


@pytest.mark.parametrize("normalize", [True, False])
def test_style_factors_can_be_measured_back(normalize):
    ds, styles = builtin_glyphs(n_writers=24, per_char=3, return_styles=True, normalize=normalize)
    per_writer = lambda v: np.array([v[ds.writers == w].mean() for w in range(24)])  # noqa: E731
    assert np.corrcoef(per_writer(slant(ds.images)), np.tan(styles["slant"]))[0, 1] > 0.95
    assert np.corrcoef(per_writer(stroke_width(ds.images)), styles["stroke"])[0, 1] > 0.9
    if not normalize:  # fixed em scale: size factors survive
        ink = ds.images > 60
        height = per_writer(ink.any(2).sum(1).astype(float))
        assert np.corrcoef(height, styles["height"])[0, 1] > 0.8
        wide = np.isin(ds.labels, [CHARSET_62.index(c) for c in "acemnouvwxz"])
        width = np.array([ink.any(1).sum(1)[(ds.writers == w) & wide].mean() for w in range(24)])
        assert np.corrcoef(width, styles["width"])[0, 1] > 0.7


def test_every_character_is_legible_to_new_writers():
    """A 3-nearest-neighbour reader trained on 20 writers reads 10 writers it has never seen."""
    for normalize, mean_min, class_min in ((False, 0.95, 0.7), (True, 0.85, 0.25)):
        ds = builtin_glyphs(n_writers=30, per_char=6, seed=1, normalize=normalize)
        train, test = ds.subset(ds.writers < 20), ds.subset(ds.writers >= 20)
        pred = knn_predict(train, test)
        per_class = np.array([(pred[test.labels == c] == c).mean() for c in range(62)])
        print(
            f"normalize={normalize}: mean {per_class.mean():.3f}, worst",
            [(CHARSET_62[c], round(per_class[c], 2)) for c in np.argsort(per_class)[:6]],
        )
        # Normalised glyphs lose size, so O/o, C/c, S/s, V/v, W/w, X/x, Z/z look alike, as in any
        # MNIST-style set; with the true size kept every character stands apart.
        assert per_class.mean() >= mean_min and per_class.min() >= class_min


def test_builtin_glyphs_read_like_real_handwriting(real_data, monkeypatch):
    """Trained only on built-in glyphs, the same reader recognises real Chars74K handwriting."""
    monkeypatch.setenv("MINIGAN_DATA", str(real_data("chars74k_hnd.npz").parent))
    real = load("chars74k")
    pred = knn_predict(builtin_glyphs(n_writers=30, per_char=10, seed=1), real, k=5)
    acc = (pred == real.labels).mean()
    print(f"builtin -> Chars74K accuracy {acc:.3f} (chance {1 / 62:.3f})")
    assert acc > 0.45

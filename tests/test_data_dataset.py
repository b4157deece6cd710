"""GlyphDataset and the image transforms: shapes, round trips, and the properties that make them useful."""

import numpy as np
import pytest

from minigan.data import (
    CHARSET_62,
    GlyphDataset,
    adaptive_binarize,
    despeckle,
    has_dark_ink,
    load,
    normalize_glyph,
    otsu_threshold,
    resize,
    thicken,
    thin,
    to_white_on_black,
)


def small_set(n=12, size=28, writers=True):
    rng = np.random.default_rng(0)
    images = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        y, x = rng.integers(4, size - 12, 2)
        images[i, y : y + 8, x : x + 3] = 255
    labels = np.arange(n) % 5
    return GlyphDataset(images, labels, "ABCDE", np.arange(n) % 3 if writers else None, "test")


def test_dataset_basics_and_subset():
    ds = small_set()
    assert len(ds) == 12 and ds.num_classes == 5 and ds.num_writers == 3
    assert ds.labels.dtype == np.int64 and ds.writers.dtype == np.int64
    assert ds.chars() == "ABCDEABCDEAB"
    sub = ds.subset(ds.labels == 1)
    assert len(sub) == 3 and set(sub.chars()) == {"B"} and sub.charset == ds.charset
    assert np.array_equal(sub.writers, ds.writers[ds.labels == 1])
    assert ds.subset([0, 5]).chars() == "AA"
    assert small_set(writers=False).num_writers == 1
    assert "12 x 28x28" in repr(ds)


def test_dataset_rejects_inconsistent_arrays():
    images = np.zeros((3, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="labels span"):
        GlyphDataset(images, [0, 1, 5], "AB", None, "x")
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        GlyphDataset(images, [0, 1], "AB", None, "x")
    with pytest.raises(ValueError, match="uint8"):
        GlyphDataset(images.astype(np.float32), [0, 1, 1], "AB", None, "x")
    with pytest.raises(ValueError, match="writer ids"):
        GlyphDataset(images, [0, 1, 1], "AB", [0], "x")


def test_resized_and_as_float():
    ds = small_set()
    for size in (16, 32, 28):
        r = ds.resized(size)
        assert r.images.shape == (12, size, size) and r.images.dtype == np.uint8
        # Area/bilinear resizing keeps the ink's share of the image.
        assert abs(r.images.mean() - ds.images.mean()) < 0.06 * ds.images.mean()
    x = ds.as_float(16)
    assert x.shape == (12, 1, 16, 16) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert ds.as_float().shape == (12, 1, 28, 28)


def test_save_load_round_trip_without_pickle(tmp_path):
    ds = small_set()
    ds.extra["row"] = np.arange(12)
    ds.meta["empty_cells"] = np.array([[0, 1, 2]])
    path = tmp_path / "set.npz"
    ds.save(path)
    z = np.load(path, allow_pickle=False)  # no object arrays in the file
    assert z["charset"].dtype.kind == "U"
    back = load(str(path))
    assert np.array_equal(back.images, ds.images) and np.array_equal(back.labels, ds.labels)
    assert back.charset == ds.charset and np.array_equal(back.writers, ds.writers)
    assert np.array_equal(back.extra["row"], ds.extra["row"])
    assert np.array_equal(back.meta["empty_cells"], [[0, 1, 2]])
    assert np.array_equal(back.subset([3]).extra["row"], [3])


def test_concat_joins_and_checks():
    a, b = small_set(), small_set(6)
    both = GlyphDataset.concat([a, b])
    assert len(both) == 18 and both.charset == "ABCDE"
    with pytest.raises(ValueError, match="images are"):
        GlyphDataset.concat([a, a.resized(16)])


def test_concat_merges_charsets_and_keeps_every_glyph_its_character():
    """Sets with different characters join into one charset (the first's order, then the new
    ones); each glyph is still labelled with the character it was."""
    a = small_set()                                                   # charset "ABCDE"
    b = GlyphDataset(a.images[:4], np.array([0, 1, 2, 1]), "xBy", None, "b")
    both = GlyphDataset.concat([a, b])
    assert both.charset == "ABCDExy"
    chars = [both.charset[i] for i in both.labels]
    assert chars[:len(a)] == [a.charset[i] for i in a.labels]
    assert chars[len(a):] == ["x", "B", "y", "B"]
    assert both.writers is None


def test_normalize_glyph_is_mnist_style():
    img = np.zeros((100, 60), np.uint8)
    img[10:90, 20:40] = 200  # tall bar somewhere off-centre
    out = normalize_glyph(img)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, _ = np.nonzero(out > 127)
    assert ys.max() - ys.min() + 1 == 20  # longer side fills the 20-pixel box
    assert abs(out.sum() / 255 - 20 * 5) < 3  # aspect ratio kept: 80x20 -> 20x5 pixels of ink
    w = out.astype(float)
    cy, cx = (np.arange(28) + 0.5) @ w.sum(1) / w.sum(), (np.arange(28) + 0.5) @ w.sum(0) / w.sum()
    assert abs(cy - 14) < 0.3 and abs(cx - 14) < 0.3  # centre of mass at the centre
    # A shifted copy normalises to the same image (sub-pixel placement).
    shifted = np.roll(img, (7, 3), axis=(0, 1))
    assert np.abs(normalize_glyph(shifted).astype(int) - out).max() <= 1
    assert normalize_glyph(np.zeros((10, 10))).sum() == 0


def test_polarity_detection_and_inversion():
    white_on_black = np.zeros((28, 28), np.uint8)
    white_on_black[5:20, 12:15] = 255
    assert not has_dark_ink(white_on_black)
    assert has_dark_ink(255 - white_on_black)
    batch = np.stack([white_on_black, 255 - white_on_black])
    fixed = to_white_on_black(batch)
    assert np.array_equal(fixed[0], white_on_black) and np.array_equal(fixed[1], white_on_black)


def test_otsu_and_adaptive_binarisation():
    rng = np.random.default_rng(1)
    img = rng.normal(40, 5, (64, 64))
    img[20:40, 20:40] = rng.normal(200, 5, (20, 20))
    t = otsu_threshold(img)
    square = np.zeros((64, 64), bool)
    square[20:40, 20:40] = True
    assert np.array_equal(img > t, square)
    # Adaptive thresholding follows a lighting ramp that defeats one global threshold.
    ramp = np.linspace(0, 150, 64)[None, :] + np.zeros((64, 64))
    lit = ramp.copy()
    lit[:, 10:12] += 60  # two thin strokes, one in the dark and one in the bright part
    lit[:, 50:52] += 60
    mask = adaptive_binarize(lit, radius=5, offset=20)
    assert mask[:, 10:12].all() and mask[:, 50:52].all() and mask.mean() < 0.1
    assert (lit > otsu_threshold(lit)).mean() > 0.3  # one global threshold takes the bright side as ink


def test_thicken_thin_and_despeckle():
    img = np.zeros((2, 20, 20), np.uint8)
    img[:, 5:15, 9:11] = 255
    thick = thicken(img, 2)
    assert thick[0, 10].sum() // 255 == 6 and thick.shape == img.shape
    assert np.array_equal(thin(thick, 2)[0, 10], img[0, 10])
    assert thin(img, 1)[0].sum() == 0  # a 2-pixel stroke vanishes under 1-pixel thinning from both sides
    speck = img[0].copy()
    speck[1, 1] = 255
    assert despeckle(speck, min_area=3)[1, 1] == 0 and despeckle(speck, min_area=3)[10, 10] == 255
    assert despeckle(speck, min_share=0.05)[1, 1] == 0


def test_charset_constant():
    assert CHARSET_62 == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    ds = small_set()
    assert resize(ds.images, 14).shape == (12, 14, 14)

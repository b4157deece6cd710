"""Data specs: joined sources keep writers apart; writer ranges and splits select correctly."""
import numpy as np
import pytest

from minigan.data import load_spec


def test_chars74k_writer_range_joined_with_builtin(real_data):
    real_data("chars74k_hnd.npz")
    ds = load_spec("chars74k@0-44+builtin")
    c74 = load_spec("chars74k@0-44")
    assert len(c74) == 45 * 62 and set(np.unique(c74.writers)) == set(range(45))
    assert len(np.unique(ds.writers)) == 45 + len(np.unique(load_spec("builtin").writers))
    assert np.array_equal(ds.images[:len(c74)], c74.images)


def test_mnist_split(real_data):
    real_data("mnist.npz")
    assert len(load_spec("mnist:test")) == 10000


def test_bad_specs_are_clear_errors(real_data):
    with pytest.raises(ValueError, match="no glyphs by writers"):
        real_data("chars74k_hnd.npz")
        load_spec("chars74k@90-99")
    with pytest.raises(ValueError, match="empty data spec"):
        load_spec("+")


def test_repeat_weights_a_part_without_inventing_writers():
    one = load_spec("builtin")
    ds = load_spec("builtin*3+builtin")
    assert len(ds) == 4 * len(one)
    n = len(one)
    assert np.array_equal(ds.images[n:2 * n], one.images)  # the copies are the same glyphs...
    assert np.array_equal(ds.writers[:n], ds.writers[2 * n:3 * n])  # ...by the same writers
    assert len(np.unique(ds.writers)) == 2 * len(np.unique(one.writers))
    with pytest.raises(ValueError, match="at least 1"):
        load_spec("builtin*0")


def test_sets_with_different_characters_join(real_data):
    """MNIST's digits and Chars74K's 62 characters join into one 62-character set in which
    every glyph keeps its character and both sets' writers stay apart."""
    real_data("mnist.npz")
    real_data("chars74k_hnd.npz")
    mnist, c74 = load_spec("mnist:test"), load_spec("chars74k")
    ds = load_spec("mnist:test+chars74k")
    assert ds.charset == mnist.charset + c74.charset[10:]
    assert len(ds) == len(mnist) + len(c74)
    joined = np.array(list(ds.charset))[ds.labels]
    assert np.array_equal(joined[:len(mnist)], np.array(list(mnist.charset))[mnist.labels])
    assert np.array_equal(joined[len(mnist):], np.array(list(c74.charset))[c74.labels])
    assert len(np.unique(ds.writers)) == 1 + 55

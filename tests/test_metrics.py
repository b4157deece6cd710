"""minigan.metrics: FID/KID maths, the shipped feature networks, writer ID and writer fidelity."""
import math

import numpy as np
import pytest

from minigan.checkpoint import save_checkpoint
from minigan.data import builtin_glyphs, load
from minigan.metrics import (at_resolution, centroid_ranks, conditional_accuracy, fid,
                             frechet_distance, kid, load_net, sqrtm_psd, to_glyphs,
                             writer_fidelity, writer_identification)
from minigan.metrics.fid import _mmd2_unbiased


def _blur(images: np.ndarray, radius: int) -> np.ndarray:
    """Box blur of uint8 glyphs [N, H, W] over a (2r+1)^2 window."""
    x = np.pad(images.astype(np.float32), ((0, 0), (radius, radius), (radius, radius)))
    h, w = images.shape[1:]
    k = 2 * radius + 1
    out = sum(x[:, i:i + h, j:j + w] for i in range(k) for j in range(k)) / k ** 2
    return np.rint(out).astype(np.uint8)


def _shift(images: np.ndarray, pixels: int) -> np.ndarray:
    out = np.zeros_like(images)
    out[:, :, pixels:] = images[:, :, :images.shape[2] - pixels]
    return out


# ---------------------------------------------------------------- FID and KID maths

def test_sqrtm_psd_squares_back():
    a = np.random.default_rng(0).standard_normal((6, 6))
    s = a @ a.T
    root = sqrtm_psd(s)
    np.testing.assert_allclose(root @ root, s, atol=1e-10)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    v1, v2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_kid_is_unbiased_on_two_samples_of_one_distribution():
    """The estimator averages to 0 over independent draws (and so goes negative at times)."""
    rng = np.random.default_rng(2)
    same = [_mmd2_unbiased(rng.standard_normal((100, 8)), rng.standard_normal((100, 8))) for _ in range(60)]
    apart = _mmd2_unbiased(rng.standard_normal((100, 8)), rng.standard_normal((100, 8)) + 0.5)
    standard_error = np.std(same) / math.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * standard_error
    assert min(same) < 0 < apart
    assert apart > 10 * np.std(same)


# ---------------------------------------------------------------- in the digit net's feature space

@pytest.fixture(scope="module")
def digits():
    return load_net("digits")


@pytest.fixture(scope="module")
def builtin_digits():
    """400 built-in digits (no files needed): 10 writers x 10 digits x 4 copies."""
    return builtin_glyphs(n_writers=10, per_char=4, charset="0123456789", seed=3).images


def test_fid_is_zero_for_a_set_with_itself_and_rises_with_blur_and_shift(digits, builtin_digits):
    f = digits.features(builtin_digits)
    assert fid(f, f) == pytest.approx(0.0, abs=1e-6 * np.trace(np.cov(f, rowvar=False)))
    blurred = [fid(f, digits.features(_blur(builtin_digits, r))) for r in (1, 2)]
    shifted = fid(f, digits.features(_shift(builtin_digits, 2)))
    assert 0 < blurred[0] < blurred[1]
    assert shifted > 0


def test_kid_is_near_zero_for_two_halves_of_real_mnist(digits, real_data):
    real_data("mnist.npz")
    test = load("mnist", split="test").images[:1000]
    f = digits.features(test)
    same, same_std = kid(f[:500], f[500:], subsets=50, subset_size=250)
    blurred, _ = kid(f[:500], digits.features(_blur(test[500:], 1)), subsets=50, subset_size=250)
    # The subsets overlap, so the mean is no better than one subset's estimate: compare with that.
    assert abs(same) < 2 * same_std
    assert blurred > 5 * same_std


# ---------------------------------------------------------------- the shipped networks

def _within(measured: float, stated: float, n: int, population: int) -> bool:
    """Is a subset accuracy consistent with the full-set figure? 4 sigma, finite population."""
    sigma = math.sqrt(stated * (1 - stated) / n * (1 - n / population))
    return abs(measured - stated) <= 4 * sigma + 1e-9


def test_digits_weights_reproduce_their_mnist_test_accuracy(digits, real_data):
    real_data("mnist.npz")
    test = load("mnist", split="test")
    stated = digits.meta["test_accuracy"]
    assert stated >= 0.99
    pick = np.random.default_rng(0).choice(len(test), 2000, replace=False)
    chars = test.chars()
    measured = conditional_accuracy(test.images[pick], "".join(chars[i] for i in pick), digits)
    assert _within(measured["accuracy"], stated, 2000, len(test)), (measured, stated)


@pytest.fixture
def chars74k_held_out(real_data):
    """Chars74K writers 45-54, whom no shipped network trained on."""
    real_data("chars74k_hnd.npz")
    c74 = load("chars74k")
    return c74.subset(c74.writers >= 45)


def test_chars_weights_reproduce_their_chars74k_accuracy(chars74k_held_out):
    net = load_net("chars")
    out = conditional_accuracy(chars74k_held_out.images, chars74k_held_out.chars(), net)
    assert out["n"] == net.meta["test_n"] == 620
    # The same 620 glyphs as when trained: only float rounding may flip a glyph or two.
    assert abs(out["accuracy"] - net.meta["test_accuracy"]) <= 2 / 620
    assert abs(out["accuracy_casefold"] - net.meta["test_accuracy_casefold"]) <= 2 / 620
    assert out["accuracy_casefold"] >= out["accuracy"]


def test_writer_weights_reproduce_their_writer_identification(chars74k_held_out):
    net = load_net("writers")
    ds = chars74k_held_out
    out = writer_identification(net, ds.images, ds.labels, ds.writers)
    assert out["writers"] == 10 and out["n"] == 620
    assert abs(out["top1"] - net.meta["writer_top1"]) <= 2 / 620
    assert abs(out["top5"] - net.meta["writer_top5"]) <= 2 / 620
    assert out["top1"] > 2 * net.meta["writer_chance_top1"]


# ---------------------------------------------------------------- writer identification and fidelity

def test_centroid_ranks_leave_the_query_character_out():
    """Writer 0's glyph of char 1 equals writer 1's centroid only through char 1 itself."""
    gallery = np.array([[0.0, 0], [0, 0], [10, 0], [9, 0]])   # writer 0: chars 0, 1; writer 1: chars 0, 1
    chars, writers = np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    query = np.array([[9.0, 0]])                               # like writer 1's char 1
    # Left out, char 1 cannot match itself: the centroids are writer 0 at 0 and writer 1 at 10.
    assert centroid_ranks(query, np.array([1]), np.array([1]), gallery, chars, writers)[0] == 0
    assert centroid_ranks(query, np.array([1]), np.array([0]), gallery, chars, writers)[0] == 1


def test_writer_fidelity_ceiling_beats_floor_on_chars74k(chars74k_held_out):
    ds = chars74k_held_out
    seen = []

    def other_char_of_same_writer(others, char):
        seen.append((len(others), set(others.writers.tolist()), char in others.chars()))
        return others.images[0]

    out = writer_fidelity(other_char_of_same_writer, ds, range(45, 55), k=5)
    assert out["n"] == 620 and len(seen) == 620
    assert all(n == 5 and len(w) == 1 and not leaked for n, w, leaked in seen)
    ceiling, floor = out["ceiling"], out["floor"]
    # Standard errors at n = 620 are under 0.02: these margins are more than 7 of them.
    assert ceiling["top1"] > floor["top1"] + 0.15
    assert ceiling["top5"] > floor["top5"] + 0.25
    # Another character of the right writer fools writer ID but not the character classifier.
    assert out["generated"]["accuracy"] < 0.1
    assert ceiling["accuracy"] > 0.7 and floor["accuracy"] > 0.7   # both are real glyphs of the char


# ---------------------------------------------------------------- generator glue and the CLI

def test_case_folding_joins_letter_pairs_and_keeps_latin1_letters_without_a_capital():
    from minigan.metrics.features import fold_case

    charset = "AaBb0ßÿÄä,"
    folded = fold_case(np.arange(len(charset)), charset)
    same = lambda a, b: folded[charset.index(a)] == folded[charset.index(b)]  # noqa: E731
    assert same("a", "A") and same("ä", "Ä") and same("b", "B")
    # ß's capital is "SS" and ÿ's is not Latin-1: each stays its own class.
    assert len(set(folded.tolist())) == 7
    assert not same("ß", "ÿ") and not same("0", ",")


def test_to_glyphs_inverts_the_training_pixel_scale():
    glyphs = builtin_glyphs(n_writers=1, per_char=1, charset="0123", seed=0).images
    as_trained = glyphs.astype(np.float32)[:, None] / 255 * 2 - 1           # [N, 1, 28, 28]
    np.testing.assert_array_equal(to_glyphs(as_trained), glyphs)
    small = to_glyphs(as_trained[:, :, ::2, ::2])                           # a 14x14 "model"
    assert small.shape == (4, 28, 28) and small.dtype == np.uint8
    assert at_resolution(glyphs, 28) is glyphs


def test_evaluate_runs_a_checkpoint_end_to_end(tmp_path):
    from minigan.evaluate import evaluate, format_table
    from minigan.models import build_models, preset

    mc = preset("sg2-16-small").replace(num_classes=10, charset="0123456789")
    G, D = build_models(mc)
    config = {"model": mc.to_dict(), "train": {"data": "builtin", "chars": "0123456789"}}
    save_checkpoint(tmp_path / "checkpoint.npz", 0, config, modules={"G_ema": G})
    report = evaluate(tmp_path, metrics=["fid", "kid", "acc", "spread"], n=200)
    assert report["n_generated"] == 200 and report["fid"]["counts"][0] == 200
    assert report["fid"]["value"] > report["fid"]["floor"]       # an untrained G is far from real
    assert report["acc"]["floor"]["accuracy"] > 0.8
    assert 0 <= report["acc"]["value"]["accuracy"] <= 1
    spread = report["spread"]
    assert spread["classes"] == 10 and spread["floor_classes"] == 10 and spread["floor"] > 0
    assert spread["ratio"] == pytest.approx(spread["value"] / spread["floor"])
    table = format_table(report)
    assert "FID" in table and "style spread" in table


def test_class_spread_is_zero_for_a_collapsed_set_and_grows_with_variety():
    from minigan.metrics import class_spread

    rng = np.random.default_rng(0)
    means = rng.normal(0, 5, (6, 16))                        # six characters, far apart
    labels = np.repeat(np.arange(6), 40)
    collapsed = means[labels]                                # every sample of a class alike
    spread, classes = class_spread(collapsed, labels)
    assert classes == 6 and spread < 1e-9                    # zero, to float rounding
    # Spread within a class is what counts, not the distance between classes: unit noise in
    # 16 dimensions puts each sample sqrt(16) = 4 from its class mean.
    varied, _ = class_spread(collapsed + rng.normal(0, 1, collapsed.shape), labels)
    assert varied == pytest.approx(4.0, rel=0.05)
    wider, _ = class_spread(collapsed + rng.normal(0, 2, collapsed.shape), labels)
    assert wider == pytest.approx(2 * varied, rel=0.05)
    # A class with one sample has no spread to measure and is left out.
    assert class_spread(np.vstack([collapsed, np.ones((1, 16))]), np.append(labels, 9))[1] == 6
    with pytest.raises(ValueError, match="no class"):
        class_spread(np.ones((3, 4)), [0, 1, 2])


def test_a_collapsed_generator_has_almost_no_style_spread(tmp_path):
    """The planted case: real glyphs handed out as samples vary as real hands do; the same
    glyph handed out for every request of a character does not."""
    from minigan.metrics import class_spread, load_net

    ds = builtin_glyphs(n_writers=20, per_char=1, seed=3)
    net = load_net("chars")
    labels = ds.labels
    real, _ = class_spread(net.features(ds.images), labels)
    first = {c: np.flatnonzero(labels == c)[0] for c in np.unique(labels)}
    collapsed, _ = class_spread(net.features(ds.images[[first[c] for c in labels]]), labels)
    assert real > 1.0 and collapsed < 1e-3 * real


def test_sample_glyphs_truncation_draws_every_z_towards_the_average_style():
    """truncation 1 is the model's own spread of styles; 0 puts every z on the average w, so
    the glyphs of one character come out alike (constant noise); 0.5 lies between."""
    from minigan.autograd import Tensor
    from minigan.evaluate import sample_glyphs
    from minigan.models import build_models, preset

    mc = preset("sg2-16-small").replace(num_classes=10, charset="0123456789")
    G, _ = build_models(mc)
    z = Tensor(np.random.default_rng(1).standard_normal((500, mc.z_dim)).astype(np.float32))
    G.mapping.w_avg.data = G.mapping(z).numpy().mean(0)
    labels = np.zeros(40, np.int64)
    spread = {t: sample_glyphs(G, mc, labels, truncation=t).astype(np.float64).std(0).mean()
              for t in (1.0, 0.5, 0.0)}
    assert spread[0.0] < 1e-9 < spread[0.5] < spread[1.0]


def test_evaluate_at_truncation_zero_draws_one_hand_with_no_style_spread(tmp_path):
    from minigan.evaluate import evaluate
    from minigan.models import build_models, preset

    mc = preset("sg2-16-small").replace(num_classes=10, charset="0123456789")
    G, _ = build_models(mc)
    save_checkpoint(tmp_path / "checkpoint.npz", 0,
                    {"model": mc.to_dict(), "train": {"data": "builtin", "chars": "0123456789"}},
                    modules={"G_ema": G})
    full = evaluate(tmp_path, metrics=["spread"], n=100)
    none = evaluate(tmp_path, metrics=["spread"], n=100, truncation=0.0)
    assert none["truncation"] == 0.0 and full["truncation"] == 1.0
    assert none["spread"]["value"] < 1e-3 * full["spread"]["value"]

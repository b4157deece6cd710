"""Inversion: it lowers the loss, recovers a known latent in W, and a shared code fits a set."""
import numpy as np
import pytest

import minigan as mg
from minigan.autograd import no_grad
from minigan.invert import invert, w_statistics
from minigan.models import ModelConfig, build_models

CFG = ModelConfig(model="stylegan2", res=16, z_dim=16, w_dim=16, mapping_layers=2,
                  conditioning="content", num_classes=3,
                  g_channels={4: 16, 8: 12, 16: 8}, d_channels={16: 8, 8: 12, 4: 16})


@pytest.fixture(scope="module")
def generator():
    G, _ = build_models(CFG, seed=3)
    G.eval().requires_grad_(False)
    return G


@pytest.fixture(scope="module")
def adain_generator():
    G, _ = build_models(CFG.replace(model="stylegan"), seed=3)
    G.eval().requires_grad_(False)
    return G


@no_grad()
def _draw(G, w, labels):
    return G.synthesis(G.ws_from_w(mg.tensor(w)), labels, noise_mode="none").numpy()


def test_inversion_in_w_recovers_a_generated_glyphs_latent(adain_generator):
    """StyleGAN's AdaIN styles are affine in w, so w is identifiable from the image. (Under
    StyleGAN2's demodulation a style's scale cancels, so there only the image is.) The
    latents are typical ones (truncation 0.5); far-out ones can stall in a local minimum."""
    generator = adain_generator
    w_avg, w_std = w_statistics(generator, CFG)
    rng = np.random.default_rng(0)
    z = mg.tensor(rng.standard_normal((2, CFG.z_dim)).astype(np.float32))
    with no_grad():
        generator.mapping.w_avg.data = w_avg
        w_true = generator.mapping(z, truncation=0.5).numpy()
    labels = np.array([0, 2])
    target = _draw(generator, w_true, labels)
    result = invert(generator, CFG, target, labels, space="w", steps=150, lr=0.1,
                    optimize_noise=False)
    assert result.losses[-1] < 0.05 * result.losses[0]
    w_found = result.ws[:, 0]
    start_error = np.linalg.norm(w_avg - w_true, axis=1)
    assert (np.linalg.norm(w_found - w_true, axis=1) < 0.25 * start_error).all()


def test_w_plus_with_noise_reconstructs_at_least_as_well_as_w(generator):
    rng = np.random.default_rng(1)
    target = np.tanh(rng.standard_normal((3, 1, 16, 16)) * 2).astype(np.float32)
    labels = np.array([0, 1, 2])
    w = invert(generator, CFG, target, labels, space="w", steps=60, optimize_noise=False)
    wp = invert(generator, CFG, target, labels, space="w+", steps=60)
    assert wp.ws.shape == (3, CFG.num_ws, CFG.w_dim)
    assert wp.mse.mean() <= w.mse.mean()
    assert all(layer.override is None for layer in
               [m for _, m in generator.synthesis.named_modules() if hasattr(m, "override")])


def test_shared_code_explains_a_set_drawn_from_one_style(generator):
    """Glyphs of three characters drawn with one w: one shared code must fit all of them."""
    rng = np.random.default_rng(2)
    with no_grad():
        w_true = generator.mapping(mg.tensor(rng.standard_normal((1, CFG.z_dim)).astype(np.float32))).numpy()
    labels = np.array([0, 1, 2])
    target = _draw(generator, np.repeat(w_true, 3, axis=0), labels)
    result = invert(generator, CFG, target, labels, space="w", shared=True, steps=100, lr=0.05,
                    optimize_noise=False)
    assert result.ws.shape == (1, CFG.num_ws, CFG.w_dim)
    assert result.losses[-1] < 0.05 * result.losses[0]


def test_bad_targets_are_clear_errors(generator):
    with pytest.raises(ValueError, match="targets must be"):
        invert(generator, CFG, np.zeros((2, 1, 8, 8)), np.array([0, 1]))
    with pytest.raises(ValueError, match="one label per target"):
        invert(generator, CFG, np.zeros((2, 1, 16, 16)))
    with pytest.raises(ValueError, match="NaN"):
        invert(generator, CFG, np.full((1, 1, 16, 16), np.nan), np.array([0]))

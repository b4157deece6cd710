"""modulated_conv2d: gradient checks of the reference, the reference against a per-sample
spec, numba and CUDA against the reference, the fast path's refusal of double backward, errors."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, grad
from minigan.ops import last_path
from minigan.ops.conv2d import conv2d, conv_transpose2d
from minigan.ops.modulated_conv2d import modulated_conv2d
from minigan.ops.upfirdn2d import upfirdn2d
from minigan.testing import gradcheck

needs_gpu = pytest.mark.skipif(not minigan.cuda_available(), reason="needs CuPy and a CUDA GPU")

# (N, C, H, W, O, k): batch and channels of 1, odd and non-square planes, 1x1 kernels.
SHAPES = [(1, 1, 5, 3, 2, 3), (2, 3, 4, 5, 4, 1), (3, 2, 3, 3, 3, 3), (1, 4, 2, 5, 1, 1)]
BIG_SHAPES = [(3, 16, 9, 11, 24, 3), (4, 32, 8, 8, 16, 3)]
MODES = [(True, 1), (False, 1), (True, 2), (False, 2)]                     # (demodulate, up)
MODE_IDS = ["demod-up1", "plain-up1", "demod-up2", "plain-up2"]


def _inputs(shape, dtype, seed=0):
    n, c, h, w, o, k = shape
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, w)).astype(dtype),               # x [N, C, H, W]
            rng.standard_normal((o, c, k, k)).astype(dtype),               # w [O, C, k, k]
            (rng.standard_normal((n, c)) + 1.5).astype(dtype))             # s [N, C]


@pytest.mark.parametrize("demodulate,up", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_reference_gradcheck(shape, demodulate, up):
    gradcheck(lambda x, w, s: modulated_conv2d(x, w, s, demodulate, up, impl="reference"),
              [Tensor(a) for a in _inputs(shape, np.float64)])
    assert last_path("modulated_conv2d") == "reference"


@pytest.mark.parametrize("demodulate,up", MODES, ids=MODE_IDS)
def test_reference_matches_per_sample_spec(demodulate, up):
    """The grouped reference against the definition: build each sample's weights in NumPy and
    convolve that sample alone (up=2: StyleGAN2's transposed conv with stride 2, [1, O, 2H+2,
    2W+1] for k=3, then the [1,3,3,1] blur with gain 4 and one pixel of padding: 2H x 2W)."""
    n, c, h, w, o, k = 2, 3, 5, 4, 4, 3
    x, weight, s = _inputs((n, c, h, w, o, k), np.float64, seed=2)
    got = modulated_conv2d(Tensor(x), Tensor(weight), Tensor(s), demodulate, up,
                           impl="reference").numpy()
    assert got.shape == (n, o, up * h, up * w)
    for i in range(n):
        wi = weight * s[i][None, :, None, None]                             # [O, C, k, k]
        if demodulate:
            wi = wi / np.sqrt((wi ** 2).sum(axis=(1, 2, 3), keepdims=True) + 1e-8)
        xi = Tensor(x[i:i + 1])
        if up == 1:
            yi = conv2d(xi, Tensor(wi), padding=k // 2, impl="reference")
        else:
            yi = conv_transpose2d(xi, Tensor(wi.transpose(1, 0, 2, 3)), stride=2,
                                  impl="reference")                         # [1, O, 2H+1, 2W+1]
            yi = upfirdn2d(yi, [1, 3, 3, 1], padding=1, gain=4 / 64, impl="reference")
        np.testing.assert_allclose(got[i], yi.numpy()[0], rtol=1e-10, atol=1e-12)


def _forward_and_grads(arrays, demodulate, up, impl, device="cpu"):
    leaves = [Tensor(a, requires_grad=True).to(device) for a in arrays]
    y = modulated_conv2d(*leaves, demodulate=demodulate, up=up, impl=impl)
    path = last_path("modulated_conv2d")
    u = np.random.default_rng(7).standard_normal(y.shape).astype(arrays[0].dtype)
    grads = grad(y, leaves, grad_outputs=[Tensor(u).to(device)])
    return [y.numpy()] + [g.numpy() for g in grads], path


def _compare_with_reference(shape, demodulate, up, device, expected_path):
    arrays = _inputs(shape, np.float32, seed=1)
    expected, _ = _forward_and_grads(arrays, demodulate, up, "reference")
    got, path = _forward_and_grads(arrays, demodulate, up, "fast", device)
    assert path == expected_path
    for name, g, e in zip(["y", "dx", "dweight", "dstyles"], got, expected):
        assert g.shape == e.shape and g.dtype == np.float32, name
        # float32 sums over C*k*k products (and the demodulation's sums): ~1e-6 of the scale,
        # which is at least 1 for these O(1) inputs (with C=1 demodulation makes dstyles 0
        # up to rounding, so its own maximum is no scale).
        scale = max(np.abs(e).max(), 1.0)
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("demodulate,up", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("shape", SHAPES + BIG_SHAPES)
def test_numba_matches_reference_float32(shape, demodulate, up):
    _compare_with_reference(shape, demodulate, up, "cpu", "numba")


@pytest.mark.parametrize("up", [1, 2])
def test_numba_is_deterministic(up):
    arrays = _inputs(BIG_SHAPES[0], np.float32, seed=3)
    first, _ = _forward_and_grads(arrays, True, up, "fast")
    for _ in range(3):
        again, _ = _forward_and_grads(arrays, True, up, "fast")
        for a, b in zip(first, again):
            assert np.array_equal(a, b)


def test_numba_gradcheck_float64():
    for demodulate, up in MODES:
        gradcheck(lambda x, w, s: modulated_conv2d(x, w, s, demodulate, up, impl="fast"),
                  [Tensor(a) for a in _inputs(SHAPES[2], np.float64)])
        assert last_path("modulated_conv2d") == "numba"


def test_demodulation_cancels_the_scale_of_styles():
    x, w, s = (Tensor(a) for a in _inputs(BIG_SHAPES[0], np.float32))
    for impl in ("reference", "fast"):
        y = modulated_conv2d(x, w, s, impl=impl).numpy()
        y3 = modulated_conv2d(x, w, s * 3.0, impl=impl).numpy()
        np.testing.assert_allclose(y3, y, rtol=1e-4, atol=1e-5 * np.abs(y).max())


def test_fast_path_refuses_double_backward():
    x, w, s = (Tensor(a, requires_grad=True) for a in _inputs(SHAPES[1], np.float32))
    y = modulated_conv2d(x, w, s, impl="fast")
    with pytest.raises(RuntimeError, match="does not support double backward"):
        grad((y * y).sum(), [x], create_graph=True)


def test_errors():
    x, w, s = (Tensor(a) for a in _inputs((2, 3, 4, 4, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"styles must be \[N, C\] = \[2, 3\]"):
        modulated_conv2d(x, w, s.reshape(3, 2))
    with pytest.raises(ValueError, match=r"styles must be \[N, C\]"):
        modulated_conv2d(x, w, s[:1])
    with pytest.raises(ValueError, match="x has 3 channels but weight"):
        modulated_conv2d(x, Tensor(np.zeros((5, 4, 3, 3), np.float32)), s)
    with pytest.raises(ValueError, match="square kernel"):
        modulated_conv2d(x, Tensor(np.zeros((5, 3, 3, 1), np.float32)), s)
    with pytest.raises(ValueError, match="up must be 1 or 2"):
        modulated_conv2d(x, w, s, up=4)
    with pytest.raises(ValueError, match="impl must be one of"):
        modulated_conv2d(x, w, s, impl="cuda")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("demodulate,up", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("shape", SHAPES + BIG_SHAPES)
def test_cuda_matches_reference(shape, demodulate, up):
    _compare_with_reference(shape, demodulate, up, "cuda", "cuda")

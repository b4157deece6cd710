"""modulated_conv2d: gradient checks of the reference, the reference against a per-sample
spec, numba and CUDA against the reference, the fast path's refusal of double backward, errors."""
import importlib

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


# ----- the fused up=2 CPU kernels (ops/_up2_numba.py) against their composed spec ------------

from minigan.ops import _conv_numba, _up2_numba                               # noqa: E402
from minigan.ops.upfirdn2d import upfirdn2d_forward_reference                # noqa: E402

# (m, O, H, W, k, conv_pad, fir_pad): fir_pad 0..5 takes the adjoint's border from 3 down to
# -2 (g's edges cut); k = 1..5, conv_pad > 0, one-pixel planes.
FUSED_CASES = [(2, 3, 4, 5, 3, 0, 1), (1, 2, 3, 3, 1, 0, 2), (3, 1, 5, 2, 5, 1, 0),
               (2, 2, 1, 1, 3, 0, 3), (1, 3, 4, 4, 2, 0, 4), (2, 1, 3, 6, 4, 2, 5),
               (17, 5, 3, 4, 3, 0, 1)]


def _composed_col2im_blur(cols, d, f, conv_pad, fir_pad, out_shape):
    """The spec: col2im at stride 2, scale each plane by d, then the 2-D filter f f^T
    (correlation, as upfirdn2d's kernels take it)."""
    o, kh, kw, m, h, w = cols.shape
    hu, wu = 2 * (h - 1) + kh - 2 * conv_pad, 2 * (w - 1) + kw - 2 * conv_pad
    u = _conv_numba.col2im(cols, np.empty((m, o, hu, wu)), 2, conv_pad)
    y = upfirdn2d_forward_reference(u * d[:, :, None, None], np.outer(f, f), 1, 1, (fir_pad,) * 4)
    assert y.shape == out_shape
    return y


@pytest.mark.parametrize("case", FUSED_CASES)
def test_fused_up2_kernels_match_their_composition(case):
    """col2im_blur equals col2im + scaling + blur; blur_im2col is its adjoint
    (<col2im_blur(c), g> = <c, blur_im2col(g)>) and its dots are <g, y> per plane. The taps
    are random, not the symmetric [1,3,3,1], so a filter applied unflipped would show."""
    m, o, h, w, k, conv_pad, fir_pad = case
    rng = np.random.default_rng(sum(case))
    cols = rng.standard_normal((o, k, k, m, h, w))
    d = rng.uniform(0.5, 2.0, (m, o))
    f = rng.uniform(0.1, 1.0, 4)
    ho = _up2_numba._out_size(h, k, conv_pad, fir_pad, len(f))
    wo = _up2_numba._out_size(w, k, conv_pad, fir_pad, len(f))
    y = np.empty((m, o, ho, wo))
    _up2_numba._col2im_blur_jit(cols, d, 0, f, conv_pad, fir_pad, y)
    np.testing.assert_allclose(y, _composed_col2im_blur(cols, d, f, conv_pad, fir_pad, y.shape),
                               rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    back, dots = np.empty_like(cols), np.empty((m, o))
    _up2_numba._blur_im2col_jit(g, y, d, 0, f, conv_pad, fir_pad, back, dots)
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(cols, back), rtol=1e-12)
    np.testing.assert_allclose(dots, (g * y).sum(axis=(2, 3)), rtol=1e-12)
    for _ in range(2):                                                       # race check
        again = np.empty_like(cols)
        _up2_numba._blur_im2col_jit(g, y, d, 0, f, conv_pad, fir_pad, again, dots)
        assert np.array_equal(again, back)


def test_fused_up2_row_layout_kernels():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 2, 5)).astype(np.float32)
    s = rng.standard_normal((3, 4)).astype(np.float32)
    rows = _up2_numba.scale_to_rows(x, s)                                     # [C, N*H*W]
    expected = (x * s[:, :, None, None]).transpose(1, 0, 2, 3).reshape(4, 30)
    np.testing.assert_array_equal(rows, expected)
    gx, gs = np.empty_like(x), np.empty((3, 4), np.float32)
    _up2_numba._rows_scale_dot_jit(rows[:, 10:30], s, x.reshape(3, 4, 10), 1,
                                   gx.reshape(3, 4, 10), gs)                  # samples 1, 2
    np.testing.assert_allclose(gx[1:], x[1:] * s[1:, :, None, None] ** 2, rtol=1e-6)
    np.testing.assert_allclose(gs[1:], (x[1:] ** 2).sum(axis=(2, 3)) * s[1:], rtol=1e-5)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("k,padding", [(3, 0), (3, 2), (3, 4), (1, 0), (5, 2), (5, 5)])
def test_numba_with_any_padding_matches_reference(k, padding, up):
    """The CPU paths at paddings other than the default: at up=2 the blur's border from 0 to
    6; at up=1 the gradient's convolution padding k - 1 - padding from 2 down to -2."""
    arrays = _inputs((2, 3, 4, 3, 5, k), np.float32, seed=k + padding)
    for demodulate in (True, False):
        expected, _ = _forward_and_grads_padded(arrays, demodulate, padding, "reference", up)
        got, path = _forward_and_grads_padded(arrays, demodulate, padding, "fast", up)
        assert path == "numba"
        for name, g, e in zip(["y", "dx", "dweight", "dstyles"], got, expected):
            scale = max(np.abs(e).max(), 1.0)
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


def _forward_and_grads_padded(arrays, demodulate, padding, impl, up):
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    y = modulated_conv2d(*leaves, demodulate=demodulate, up=up, padding=padding, impl=impl)
    path = last_path("modulated_conv2d")
    u = np.random.default_rng(7).standard_normal(y.shape).astype(arrays[0].dtype)
    return [y.numpy()] + [g.numpy() for g in grad(y, leaves, grad_outputs=[Tensor(u)])], path


# ----- the up=1 CPU kernels (ops/_up1_numba.py) against NumPy -------------------------------

from minigan.ops import _up1_numba                                              # noqa: E402


@pytest.mark.parametrize("pixels", [16, 37, 5])      # whole tiles, a partial last tile, only one
def test_up1_layout_changes(pixels):
    rng = np.random.default_rng(pixels)
    a = rng.standard_normal((3, 6, 1, pixels)).astype(np.float32)                # [N, C, H, W]
    other = rng.standard_normal(a.shape).astype(np.float32)
    s = rng.standard_normal((3, 6)).astype(np.float32)
    scaled = a * s[:, :, None, None]
    out, dots = _up1_numba.to_pixels(a, s)
    np.testing.assert_array_equal(out, scaled.transpose(0, 2, 3, 1))
    assert dots is None
    out, dots = _up1_numba.to_pixels(a, s, other)
    np.testing.assert_array_equal(out, scaled.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(dots, (a.astype(np.float64) * other).sum(axis=(2, 3)),
                               rtol=1e-6, atol=1e-6)
    back, dots = _up1_numba.from_pixels(out, 1 / s, other)
    np.testing.assert_allclose(back, a, rtol=1e-6)
    np.testing.assert_allclose(dots, (scaled.astype(np.float64) * other).sum(axis=(2, 3)),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k,padding", [(3, 1), (3, 0), (1, 1), (5, 3), (3, -1)])
def test_up1_windows_are_the_pixel_major_im2col(k, padding):
    """Every row of the columns is one output pixel's k x k window of channel vectors, zero
    outside the image; a negative padding crops. Repeated runs agree bit for bit (no races)."""
    rng = np.random.default_rng(k)
    x = rng.standard_normal((2, 5, 7, 3)).astype(np.float32)                     # [m, H, W, C]
    big = max(padding, 0)
    padded = np.pad(x, ((0, 0), (big, big), (big, big), (0, 0)))
    start = big - padding
    ho, wo = 5 + 2 * padding - k + 1, 7 + 2 * padding - k + 1
    expected = np.empty((2, ho, wo, k, k, 3), np.float32)
    for a in range(k):
        for b in range(k):
            expected[:, :, :, a, b] = padded[:, start + a:start + a + ho, start + b:start + b + wo]
    buf = np.full(expected.size, np.nan, np.float32)
    cols = _up1_numba._windows(x, padding, k, k, buf)
    np.testing.assert_array_equal(cols, expected.reshape(2 * ho * wo, k * k * 3))
    for _ in range(3):
        np.testing.assert_array_equal(_up1_numba._windows(x, padding, k, k, buf.copy()), cols)


@pytest.mark.parametrize("demodulate,up", MODES, ids=MODE_IDS)
def test_composed_gpu_path_with_numpy_kernels(monkeypatch, demodulate, up):
    """The GPU path's orchestration (scale, convolve, scale; the blur after), run here with
    NumPy stand-ins for its three CUDA kernels and the CPU convolution driver, against the
    reference. The CUDA kernels themselves are compared on a GPU (test_cuda_matches_reference)."""
    mc = importlib.import_module("minigan.ops.modulated_conv2d")   # the module, not the op

    monkeypatch.setattr(mc, "_conv_cuda", _conv_numba)
    monkeypatch.setattr(mc._Cuda, "scale_planes",
                        staticmethod(lambda a, scale: a * scale[:, :, None, None]))
    monkeypatch.setattr(mc._Cuda, "plane_dot",
                        staticmethod(lambda a, b: np.einsum("nchw,nchw->nc", a, b)))
    monkeypatch.setattr(mc._Cuda, "demodulation", staticmethod(mc._Numba.demodulation))
    arrays = _inputs(BIG_SHAPES[0], np.float32, seed=5)
    expected, _ = _forward_and_grads(arrays, demodulate, up, "reference")
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    k = arrays[1].shape[2]
    conv_pad, fir_pad = mc._up2_pads(k // 2, k) if up == 2 else (k // 2, 0)
    y = mc.ModulatedConv2d.apply(*leaves, demodulate, up, conv_pad, fir_pad, "cuda")
    if up == 2:
        y = upfirdn2d(y, mc.setup_filter(), padding=fir_pad, gain=4, impl="reference")
    u = np.random.default_rng(7).standard_normal(y.shape).astype(np.float32)
    got = [y.numpy()] + [g.numpy() for g in grad(y, leaves, grad_outputs=[Tensor(u)])]
    for name, g, e in zip(["y", "dx", "dweight", "dstyles"], got, expected):
        scale = max(np.abs(e).max(), 1.0)
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5 * scale, err_msg=name)

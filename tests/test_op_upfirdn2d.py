"""upfirdn2d: the reference against an independent composition of pad + depthwise conv2d,
gradient checks (first and second order), numba and CUDA against the reference."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, grad
from minigan.ops import conv2d, last_path, pad, reshape
from minigan.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d, upsample2d
from minigan.testing import gradcheck

needs_gpu = pytest.mark.skipif(not minigan.cuda_available(), reason="needs CuPy and a CUDA GPU")


def _output_size(size, up, pad0, pad1, taps, down):
    return (size * up + pad0 + pad1 - taps) // down + 1


def random_cases(count, seed, max_hw=7):
    """Random (shape, filter, up, down, padding, gain, flip) with a non-empty output: batch
    and channels of 1, odd sizes, 1-D and 2-D filters (1x1 included), negative pads."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)),
                 int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_hw + 1)))
        if rng.random() < 0.5:
            f = rng.standard_normal(int(rng.integers(1, 5)))
        else:
            f = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(1, 5))))
        up, down = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        pads = tuple(int(p) for p in rng.integers(-2, 4, size=4))
        fh, fw = (f.size, f.size) if f.ndim == 1 else f.shape
        if (_output_size(shape[2], up, pads[2], pads[3], fh, down) < 1
                or _output_size(shape[3], up, pads[0], pads[1], fw, down) < 1):
            continue
        cases.append((shape, f, up, down, pads, float(rng.uniform(0.5, 2)), bool(rng.integers(2))))
    return cases


def case_id(case):
    shape, f, up, down, pads, _, flip = case
    return f"{shape}-up{up}-down{down}-pad{pads}-f{np.shape(f)}-flip{flip}"


CASES = random_cases(12, seed=1)
IDS = [case_id(c) for c in CASES]


def composed(x, f, up, down, pads, gain, flip):
    """The definition written with other minigan ops: zero insertion by reshape + pad, pad or
    crop, a depthwise conv2d (a correlation, hence the flip), then a strided slice."""
    n, c, h, w = x.shape
    f = np.asarray(f, dtype=np.float64)
    f = (np.outer(f, f) if f.ndim == 1 else f) * gain
    f = f if flip else f[::-1, ::-1]
    x = reshape(x, (n, c, h, 1, w, 1))
    x = pad(x, ((0, 0), (0, 0), (0, 0), (0, up - 1), (0, 0), (0, up - 1)))
    x = reshape(x, (n, c, h * up, w * up))
    px0, px1, py0, py1 = pads
    x = pad(x, ((0, 0), (0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
    x = x[:, :, max(-py0, 0):x.shape[2] - max(-py1, 0), max(-px0, 0):x.shape[3] - max(-px1, 0)]
    weight = Tensor(np.tile(f[None, None], (c, 1, 1, 1)).astype(x.dtype))  # [C, 1, fh, fw]
    return conv2d(x, weight, groups=c)[:, :, ::down, ::down]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reference_matches_composition_of_pad_and_conv2d(case):
    shape, f, up, down, pads, gain, flip = case
    x = Tensor(np.random.default_rng(2).standard_normal(shape))
    y = upfirdn2d(x, f, up, down, pads, gain, flip, impl="reference")
    assert last_path("upfirdn2d") == "reference"
    np.testing.assert_allclose(y.numpy(), composed(x, f, up, down, pads, gain, flip).numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", ["reference", "fast"])
def test_upsample2d_and_downsample2d_keep_a_constant_image(impl):
    x = Tensor(np.full((1, 2, 8, 6), 3.0))
    up, down = upsample2d(x, impl=impl), downsample2d(x, impl=impl)
    assert up.shape == (1, 2, 16, 12) and down.shape == (1, 2, 4, 3)
    # Away from the zero-padded border the image keeps its value.
    np.testing.assert_allclose(up.numpy()[:, :, 2:-2, 2:-2], 3.0)
    np.testing.assert_allclose(down.numpy()[:, :, 1:-1, 1:-1], 3.0)


def test_setup_filter_is_the_normalised_outer_product():
    f = setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4) and f.dtype == np.float32
    np.testing.assert_allclose(f, np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0)


@pytest.mark.parametrize("impl", ["reference", "fast"])
@pytest.mark.parametrize("case", CASES[:8], ids=IDS[:8])
def test_gradcheck_first_and_second_order(case, impl):
    shape, f, up, down, pads, gain, flip = case
    x = Tensor(np.random.default_rng(3).standard_normal(shape))
    gradcheck(lambda x: upfirdn2d(x, f, up, down, pads, gain, flip, impl=impl), [x], order=2)
    assert last_path("upfirdn2d") == ("reference" if impl == "reference" else "numba")


def _forward_and_grad(x_np, cotangent, case, impl, device="cpu"):
    _, f, up, down, pads, gain, flip = case
    x = Tensor(x_np, requires_grad=True).to(device)
    y = upfirdn2d(x, f, up, down, pads, gain, flip, impl=impl)
    path = last_path("upfirdn2d")
    (gx,) = grad(y, [x], grad_outputs=[Tensor(cotangent.astype(x_np.dtype)).to(device)])
    return y.numpy(), gx.numpy(), path


def _compare_with_reference(case, dtype, device, expected_path, rtol, atol):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(case[0]).astype(dtype)
    cotangent = rng.standard_normal(upfirdn2d(Tensor(x), *case[1:], impl="reference").shape)
    y_ref, gx_ref, _ = _forward_and_grad(x, cotangent, case, "reference")
    y, gx, path = _forward_and_grad(x, cotangent, case, "fast", device)
    assert path == expected_path
    assert y.dtype == dtype and gx.dtype == dtype
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=atol)
    np.testing.assert_allclose(gx, gx_ref, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES + random_cases(6, seed=5, max_hw=19), ids=case_id)
def test_numba_matches_reference_float32(case):
    _compare_with_reference(case, np.float32, "cpu", "numba", rtol=1e-4, atol=1e-5)


def test_numba_polyphase_covers_every_phase_arrangement():
    """The numba kernel splits input and output into phases of `down` and `up`: sweep factors
    up to 3 (including up == down, where a tap serves several output phases, and outputs with
    fewer columns than phases), crops and pads, against the reference in float64."""
    from minigan.ops.upfirdn2d import (_out_size, upfirdn2d_forward_numba,
                                       upfirdn2d_forward_reference)
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 200:
        up, down = (int(v) for v in rng.integers(1, 4, size=2))
        fh, fw, h, w = (int(v) for v in rng.integers(1, 7, size=4))
        pads = tuple(int(v) for v in rng.integers(-3, 5, size=4))
        if (_out_size(h, up, pads[2], pads[3], fh, down) < 1
                or _out_size(w, up, pads[0], pads[1], fw, down) < 1):
            continue
        x = rng.standard_normal((2, 3, h, w))
        taps = rng.standard_normal((fh, fw))
        np.testing.assert_allclose(upfirdn2d_forward_numba(x, taps, up, down, pads),
                                   upfirdn2d_forward_reference(x, taps, up, down, pads),
                                   rtol=1e-12, atol=1e-12)
        checked += 1


def test_numba_is_deterministic_across_runs():
    """Many planes over both threads: any race between prange iterations would show."""
    x = Tensor(np.random.default_rng(6).standard_normal((4, 16, 13, 11)).astype(np.float32))
    for up, down in ((2, 1), (1, 2)):
        first = upfirdn2d(x, setup_filter(), up, down, 1, impl="fast").numpy()
        for _ in range(5):
            assert np.array_equal(upfirdn2d(x, setup_filter(), up, down, 1, impl="fast").numpy(),
                                  first)


def test_errors_are_clear():
    x = Tensor(np.zeros((1, 1, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="impl must be one of"):
        upfirdn2d(x, [1, 1], impl="cuda")
    with pytest.raises(ValueError, match=r"needs x \[N,C,H,W\]"):
        upfirdn2d(Tensor(np.zeros((4, 4))), [1, 1])
    with pytest.raises(ValueError, match="output would be"):
        upfirdn2d(x, [1, 1], padding=-3)
    with pytest.raises(ValueError, match="padding must be"):
        upfirdn2d(x, [1, 1], padding=(1, 2, 3))
    with pytest.raises(ValueError, match="up and down must be >= 1"):
        upfirdn2d(x, [1, 1], up=0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        upfirdn2d(x, np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        upfirdn2d(Tensor(np.zeros((1, 1, 4, 4), dtype=np.float16)), [1, 1], impl="fast")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES + random_cases(4, seed=7, max_hw=40), ids=case_id)
def test_cuda_matches_reference(case, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    _compare_with_reference(case, dtype, "cuda", "cuda", **tol)

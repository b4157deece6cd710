"""conv2d / conv_transpose2d: second-order gradient checks of the reference and the fast path,
numba and CUDA against the reference, the im2col/col2im kernels, chunking, errors."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, grad
from minigan.ops import _conv_numba, last_path
from minigan.ops._im2col import im2col
from minigan.ops.conv2d import conv2d, conv_transpose2d
from minigan.testing import gradcheck

needs_gpu = pytest.mark.skipif(not minigan.cuda_available(), reason="needs CuPy and a CUDA GPU")

# (N, C, H, W, O, k, stride, padding, groups): batch and channels of 1, odd sizes, 1x1
# kernels, stride 2 with and without padding, padding wider than k // 2, groups, depthwise,
# and the one-channel 1x1 convolutions at a model's image ends (matmuls of inner size 1).
CASES = [
    (1, 1, 5, 7, 2, 3, 1, 1, 1),
    (2, 3, 6, 5, 4, 1, 1, 0, 1),
    (2, 4, 7, 7, 6, 3, 2, 1, 2),
    (1, 2, 5, 4, 3, 3, 2, 0, 1),
    (3, 6, 4, 5, 6, 3, 1, 2, 3),
    (2, 3, 5, 5, 3, 3, 1, 1, 3),
    (2, 1, 6, 5, 4, 1, 1, 0, 1),
    (2, 4, 5, 6, 1, 1, 1, 0, 1),
]
# Larger shapes: planes that do not divide evenly between threads, stride 2 with an odd size.
BIG_CASES = [(4, 8, 13, 11, 16, 3, 1, 1, 1), (3, 16, 17, 9, 8, 3, 2, 1, 2)]
IDS = [f"N{c[0]}C{c[1]}H{c[2]}W{c[3]}O{c[4]}k{c[5]}s{c[6]}p{c[7]}g{c[8]}" for c in CASES + BIG_CASES]


def _conv_inputs(case, dtype, seed=0):
    n, c, h, w, o, k, _, _, g = case
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, w)).astype(dtype),               # x [N, C, H, W]
            rng.standard_normal((o, c // g, k, k)).astype(dtype))          # w [O, C/G, k, k]


def _transpose_inputs(case, dtype, seed=0):
    """conv_transpose2d maps the case's O channels back to C: x [N, O, h, w], w [O, C/G, k, k]."""
    n, c, _, _, o, k, _, _, g = case
    rng = np.random.default_rng(seed)
    h, w = case[2] // 2 + 1, case[3] // 2 + 2
    return (rng.standard_normal((n, o, h, w)).astype(dtype),
            rng.standard_normal((o, c // g, k, k)).astype(dtype))


def _conv(case, impl):
    stride, padding, groups = case[6:]
    return lambda x, w: conv2d(x, w, stride=stride, padding=padding, groups=groups, impl=impl)


def _conv_t(case, impl):
    stride, padding, groups = case[6:]
    return lambda x, w: conv_transpose2d(x, w, stride=stride, padding=padding, groups=groups,
                                         output_padding=stride - 1, impl=impl)


@pytest.mark.parametrize("impl,path", [("reference", "reference"), ("fast", "numba")])
@pytest.mark.parametrize("case", CASES, ids=IDS[:len(CASES)])
def test_conv2d_gradcheck_second_order(case, impl, path):
    gradcheck(_conv(case, impl), [Tensor(a) for a in _conv_inputs(case, np.float64)], order=2)
    assert last_path("conv2d") == path


@pytest.mark.parametrize("impl,path", [("reference", "reference"), ("fast", "numba")])
@pytest.mark.parametrize("case", CASES, ids=IDS[:len(CASES)])
def test_conv_transpose2d_gradcheck_second_order(case, impl, path):
    gradcheck(_conv_t(case, impl), [Tensor(a) for a in _transpose_inputs(case, np.float64)],
              order=2)
    assert last_path("conv_transpose2d") == path


def _forward_and_grads(fn, arrays, impl, device="cpu"):
    """y, dL/dx, dL/dw and dL/dx's gradient in w (the R1 path) for L = <y, u>, u fixed."""
    leaves = [Tensor(a, requires_grad=True).to(device) for a in arrays]
    y = fn(impl)(*leaves)
    u = np.random.default_rng(7).standard_normal(y.shape).astype(arrays[0].dtype)
    gx, gw = grad(y, leaves, grad_outputs=[Tensor(u).to(device)], create_graph=True)
    (ggw,) = grad((gx * gx).sum(), [leaves[1]])
    return [t.numpy() for t in (y, gx, gw, ggw)]


def _assert_close(got, expected, names):
    for name, g, e in zip(names, got, expected):
        assert g.dtype == e.dtype, name
        # float32 sums of up to a few hundred products: relative error ~1e-6 of the scale.
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5 * np.abs(e).max(), err_msg=name)


@pytest.mark.parametrize("case", CASES + BIG_CASES, ids=IDS)
def test_numba_matches_reference_float32(case):
    for fn, inputs, op in [(_conv, _conv_inputs, "conv2d"),
                           (_conv_t, _transpose_inputs, "conv_transpose2d")]:
        arrays = inputs(case, np.float32, seed=1)
        expected = _forward_and_grads(lambda impl: fn(case, impl), arrays, "reference")
        got = _forward_and_grads(lambda impl: fn(case, impl), arrays, "fast")
        assert last_path(op) == "numba"
        _assert_close(got, expected, [f"{op} y", "dx", "dw", "d|dx|^2/dw"])


def test_chunked_columns_match_one_chunk(monkeypatch):
    """Samples are processed in chunks under a column budget; a budget of just over two
    samples' columns gives three chunks (1, 2 and 2 samples), and the same results."""
    case = (5, 4, 9, 7, 6, 3, 2, 1, 2)
    arrays = _conv_inputs(case, np.float32, seed=3)
    whole = _forward_and_grads(lambda impl: _conv(case, impl), arrays, "fast")
    per_sample = 4 * 3 * 3 * 5 * 4                                         # C*k*k*Ho*Wo
    monkeypatch.setattr(_conv_numba, "COLUMN_BUDGET", 2 * per_sample + 1)
    chunked = _forward_and_grads(lambda impl: _conv(case, impl), arrays, "fast")
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(a).max())


@pytest.mark.parametrize("n,most", [(32, 7), (32, 28), (5, 2), (7, 7), (1, 3), (9, 1)])
def test_column_chunks_are_balanced_and_within_budget(n, most):
    from minigan.ops._conv_fast import _column_chunks

    class Kernels:
        COLUMN_BUDGET = most * 10                                         # `most` samples
    like = np.zeros(1, dtype=np.float32)
    chunks = [(n0, n1, buf.size) for n0, n1, buf in _column_chunks(n, 2, 5, like, Kernels)]
    assert [c[0] for c in chunks] == [0] + [c[1] for c in chunks[:-1]] and chunks[-1][1] == n
    sizes = [n1 - n0 for n0, n1, _ in chunks]
    assert max(sizes) <= most and max(sizes) - min(sizes) <= 1
    assert len(chunks) == -(-n // most)
    assert all(size == 10 * (n1 - n0) for n0, n1, size in chunks)


def test_fast_path_is_deterministic():
    """Every prange iteration owns its outputs: repeated runs give bit-identical results."""
    case = (4, 16, 20, 19, 16, 3, 1, 1, 1)
    arrays = _conv_inputs(case, np.float32, seed=4)
    first = _forward_and_grads(lambda impl: _conv(case, impl), arrays, "fast")
    for _ in range(3):
        again = _forward_and_grads(lambda impl: _conv(case, impl), arrays, "fast")
        for a, b in zip(first, again):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("h,w,stride,padding", [
    (11, 8, 1, 0), (11, 8, 1, 1), (11, 8, 2, 1), (11, 8, 2, 3), (11, 8, 3, 2),
    (2, 1, 1, 1), (1, 4, 1, 1), (1, 2, 1, 2), (3, 1, 2, 1)])
def test_col2im_is_the_adjoint_of_im2col(h, w, stride, padding):
    """im2col equals the reference's columns, <im2col(x), c> = <x, col2im(c)> in float64, and
    both kernels are deterministic. Tiny planes put most taps in the padding. 21 planes make
    one task of PLANES_PER_TASK = 16 and one of 5, so a task reuses its scratch plane."""
    rng = np.random.default_rng(5)
    n, c, k = 3, 7, 3
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    x = rng.standard_normal((n, c, h, w))
    cols_in = rng.standard_normal((c, k, k, n, ho, wo))
    cols = _conv_numba.im2col(x, np.empty_like(cols_in), stride, padding)
    back = _conv_numba.col2im(cols_in, np.empty_like(x), stride, padding)
    reference = im2col(x, k, k, stride, padding)                           # [N, C, k, k, Ho, Wo]
    assert np.array_equal(cols, reference.transpose(1, 2, 3, 0, 4, 5))
    np.testing.assert_allclose((cols * cols_in).sum(), (x * back).sum(), rtol=1e-12)
    assert np.array_equal(cols, _conv_numba.im2col(x, np.empty_like(cols_in), stride, padding))
    assert np.array_equal(back, _conv_numba.col2im(cols_in, np.empty_like(x), stride, padding))


def test_errors():
    x = Tensor(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="input has 4 channels"):
        conv2d(x, Tensor(np.zeros((3, 3, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="impl must be one of"):
        conv2d(x, Tensor(np.zeros((3, 4, 3, 3), np.float32)), impl="numba")
    with pytest.raises(ValueError, match="stride >= 1"):
        conv2d(x, Tensor(np.zeros((3, 4, 3, 3), np.float32)), stride=0)
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(x, Tensor(np.zeros((3, 4, 7, 7), np.float32)), impl="fast")
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d(x, Tensor(np.zeros((4, 2, 3, 3), np.float32)), output_padding=1)
    with pytest.raises(TypeError, match="float32 and float64"):
        conv2d(Tensor(np.zeros((1, 1, 3, 3), np.float16)),
               Tensor(np.zeros((1, 1, 3, 3), np.float16)), impl="fast")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("case", CASES + BIG_CASES, ids=IDS)
def test_cuda_matches_reference(case):
    """Forward, both gradients and a second-order gradient (create_graph through the trio)."""
    for fn, inputs, op in [(_conv, _conv_inputs, "conv2d"),
                           (_conv_t, _transpose_inputs, "conv_transpose2d")]:
        arrays = inputs(case, np.float32, seed=1)
        expected = _forward_and_grads(lambda impl: fn(case, impl), arrays, "reference")
        got = _forward_and_grads(lambda impl: fn(case, impl), arrays, "fast", "cuda")
        assert last_path(op) == "cuda"
        _assert_close(got, expected, [f"{op} y", "dx", "dw", "d|dx|^2/dw"])

"""adain: gradient checks, numba and CUDA against the reference, the fast path's refusal of
double backward, errors."""
import numpy as np
import pytest

import minigan
from minigan import Tensor, grad
from minigan.ops import last_path
from minigan.ops.adain import adain
from minigan.testing import gradcheck

needs_gpu = pytest.mark.skipif(not minigan.cuda_available(), reason="needs CuPy and a CUDA GPU")

# Batch and channels of 1, odd planes, a plane of one row; then planes larger than one CUDA
# block (256 threads) and the benchmark's 8x8 planes.
SHAPES = [(1, 1, 3, 5), (2, 3, 4, 4), (3, 2, 1, 7), (1, 4, 5, 3)]
BIG_SHAPES = [(2, 5, 17, 19), (4, 64, 8, 8)]


def _inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    n, c = shape[:2]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)                 # [N, C, H, W]
    return x, rng.standard_normal((n, c)).astype(dtype), rng.standard_normal((n, c)).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES)
def test_reference_gradcheck_first_and_second_order(shape):
    gradcheck(lambda x, s, b: adain(x, s, b, impl="reference"),
              [Tensor(a) for a in _inputs(shape, np.float64)], order=2)
    assert last_path("adain") == "reference"


@pytest.mark.parametrize("shape", SHAPES)
def test_numba_gradcheck_float64(shape):
    gradcheck(lambda x, s, b: adain(x, s, b, impl="fast"),
              [Tensor(a) for a in _inputs(shape, np.float64)])
    assert last_path("adain") == "numba"


def _forward_and_grads(arrays, cotangent, impl, device="cpu"):
    leaves = [Tensor(a, requires_grad=True).to(device) for a in arrays]
    y = adain(*leaves, impl=impl)
    path = last_path("adain")
    grads = grad(y, leaves, grad_outputs=[Tensor(cotangent.astype(arrays[0].dtype)).to(device)])
    return [y.numpy()] + [g.numpy() for g in grads], path


def _compare_with_reference(shape, dtype, device, expected_path, rtol, atol):
    arrays = _inputs(shape, dtype, seed=1)
    cotangent = np.random.default_rng(2).standard_normal(shape)
    expected, _ = _forward_and_grads(arrays, cotangent, "reference")
    got, path = _forward_and_grads(arrays, cotangent, "fast", device)
    assert path == expected_path
    for name, g, e in zip(["y", "dx", "dscale", "dbias"], got, expected):
        assert g.dtype == dtype, name
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES + BIG_SHAPES)
def test_numba_matches_reference_float32(shape):
    _compare_with_reference(shape, np.float32, "cpu", "numba", rtol=1e-4, atol=1e-5)


def test_numba_is_deterministic_across_runs():
    arrays = _inputs((8, 33, 7, 9), np.float32, seed=3)
    cotangent = np.random.default_rng(4).standard_normal(arrays[0].shape)
    first, _ = _forward_and_grads(arrays, cotangent, "fast")
    for _ in range(5):
        again, _ = _forward_and_grads(arrays, cotangent, "fast")
        assert all(np.array_equal(a, f) for a, f in zip(again, first))


def test_fast_path_refuses_double_backward_reference_allows_it():
    x, s, b = (Tensor(a, requires_grad=True) for a in _inputs((1, 2, 3, 3), np.float64))
    with pytest.raises(RuntimeError, match="does not support double backward"):
        grad((adain(x, s, b, impl="fast") ** 2).sum(), [x], create_graph=True)
    (gx,) = grad((adain(x, s, b, impl="reference") ** 2).sum(), [x], create_graph=True)
    assert gx.requires_grad


def test_errors_are_clear():
    x, s, b = (Tensor(a) for a in _inputs((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="impl must be one of"):
        adain(x, s, b, impl="cuda")
    with pytest.raises(ValueError, match=r"scale must be \[N, C\] = \[2, 3\]"):
        adain(x, Tensor(np.zeros((2, 3, 1, 1), np.float32)), b)
    with pytest.raises(ValueError, match=r"bias must be \[N, C\]"):
        adain(x, s, Tensor(np.zeros((3, 2), np.float32)))
    with pytest.raises(ValueError, match=r"needs x \[N,C,H,W\]"):
        adain(Tensor(np.zeros((2, 3, 4), np.float32)), s, b)
    with pytest.raises(TypeError, match="all float32 or all float64"):
        adain(x, Tensor(s.numpy().astype(np.float64)), b, impl="fast")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES + BIG_SHAPES + [(2, 3, 40, 33)])
def test_cuda_matches_reference(shape, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    _compare_with_reference(shape, dtype, "cuda", "cuda", **tol)

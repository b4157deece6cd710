"""bias_act: gradient checks (first and second order, R1 goes through it), numba and CUDA
against the reference, errors."""
import math

import numpy as np
import pytest

import minigan
from minigan import Tensor, grad
from minigan.ops import last_path
from minigan.ops.bias_act import bias_act
from minigan.testing import gradcheck

needs_gpu = pytest.mark.skipif(not minigan.cuda_available(), reason="needs CuPy and a CUDA GPU")

# (shape, dim, act, clamp, with bias): [N, C] after a linear layer, [N, C, H, W] after a conv
# (odd sizes, batch 1), the channel axis last, no bias.
CASES = [
    ((3, 5), 1, "lrelu", None, True),
    ((1, 4, 3, 5), 1, "lrelu", 0.8, True),
    ((2, 1, 7, 3), 1, "relu", None, True),
    ((2, 3, 5), -1, "linear", 0.5, True),
    ((2, 3, 4, 3), 1, "relu", 1.0, False),
    ((5, 2, 3), 0, "linear", None, True),
]
IDS = [f"{s}-dim{d}-{a}-clamp{c}-bias{b}" for s, d, a, c, b in CASES]


def _inputs(case, dtype, seed=0):
    shape, dim, _, _, with_bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[dim]).astype(dtype) if with_bias else None
    return x, b


def _op(case, impl):
    _, dim, act, clamp, _ = case
    return lambda x, b=None: bias_act(x, b, act=act, clamp=clamp, dim=dim, impl=impl)


@pytest.mark.parametrize("impl", ["reference", "fast"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_first_and_second_order(case, impl):
    x, b = _inputs(case, np.float64)
    inputs = [Tensor(x)] + ([Tensor(b)] if b is not None else [])
    gradcheck(_op(case, impl), inputs, order=2)
    assert last_path("bias_act") == ("reference" if impl == "reference" else "numba")


def _forward_and_grads(x, b, cotangent, case, impl, device="cpu"):
    leaves = [Tensor(a, requires_grad=True).to(device) for a in (x, b) if a is not None]
    y = _op(case, impl)(*leaves)
    path = last_path("bias_act")
    grads = grad(y, leaves, grad_outputs=[Tensor(cotangent.astype(x.dtype)).to(device)])
    return [y.numpy()] + [g.numpy() for g in grads], path


def _compare_with_reference(case, dtype, device, expected_path, rtol, atol):
    x, b = _inputs(case, dtype, seed=1)
    cotangent = np.random.default_rng(2).standard_normal(x.shape)
    expected, _ = _forward_and_grads(x, b, cotangent, case, "reference")
    got, path = _forward_and_grads(x, b, cotangent, case, "fast", device)
    assert path == expected_path
    for name, g, e in zip(["y", "dx", "db"], got, expected):
        assert g.dtype == dtype, name
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=name)


BIG = ((4, 37, 9, 11), 1, "lrelu", 0.9, True)


@pytest.mark.parametrize("case", CASES + [BIG], ids=IDS + ["big"])
def test_numba_matches_reference_float32(case):
    _compare_with_reference(case, np.float32, "cpu", "numba", rtol=1e-4, atol=1e-5)


def test_default_gain_and_slope():
    x = Tensor(np.array([[-1.0, 2.0]]))
    for impl in ("reference", "fast"):
        np.testing.assert_allclose(bias_act(x, impl=impl).numpy(),
                                   [[-0.2 * math.sqrt(2), 2 * math.sqrt(2)]])
        np.testing.assert_allclose(bias_act(x, act="relu", impl=impl).numpy(),
                                   [[0.0, 2 * math.sqrt(2)]])
        np.testing.assert_allclose(bias_act(x, act="linear", impl=impl).numpy(), [[-1.0, 2.0]])


def test_numba_is_deterministic_across_runs():
    x = Tensor(np.random.default_rng(3).standard_normal((8, 33, 17, 5)).astype(np.float32),
               requires_grad=True)
    b = Tensor(np.random.default_rng(4).standard_normal(33).astype(np.float32), requires_grad=True)
    cotangent = Tensor(np.random.default_rng(5).standard_normal(x.shape).astype(np.float32))

    def run():
        y = bias_act(x, b, clamp=1.5, impl="fast")
        return [y.numpy()] + [g.numpy() for g in grad(y, [x, b], grad_outputs=[cotangent])]

    first = run()
    for _ in range(5):
        assert all(np.array_equal(a, f) for a, f in zip(run(), first))


def test_errors_are_clear():
    x = Tensor(np.zeros((2, 3, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="impl must be one of"):
        bias_act(x, impl="numba")
    with pytest.raises(ValueError, match="act must be one of"):
        bias_act(x, act="gelu")
    with pytest.raises(ValueError, match=r"b must be \[3\]"):
        bias_act(x, Tensor(np.zeros(4, dtype=np.float32)))
    with pytest.raises(ValueError, match="dim 4 is out of range"):
        bias_act(x, dim=4)
    with pytest.raises(ValueError, match="clamp must be >= 0"):
        bias_act(x, clamp=-1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        bias_act(Tensor(np.zeros((2, 3), dtype=np.float16)), impl="fast")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cuda_matches_reference(case, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    _compare_with_reference(case, dtype, "cuda", "cuda", **tol)


@pytest.mark.gpu
@needs_gpu
def test_cuda_second_order_matches_reference():
    case = CASES[1]
    x, b = _inputs(case, np.float64)

    def second(impl, device):
        xt = Tensor(x, requires_grad=True).to(device)
        y = _op(case, impl)(xt, Tensor(b).to(device))
        (gx,) = grad((y * y).sum(), [xt], create_graph=True)
        (ggx,) = grad((gx * gx).sum(), [xt])
        return ggx.numpy()

    np.testing.assert_allclose(second("fast", "cuda"), second("reference", "cpu"), rtol=1e-10)

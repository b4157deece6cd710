"""The engine's contract: grad(), backward(), no_grad, detach, dtypes, devices and errors."""
import numpy as np
import pytest

import minigan as mg
from minigan import ops
from minigan.autograd import Function


def test_backward_accumulates_into_leaves():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3.0)


def test_grad_reuses_a_tensor_in_several_paths():
    x = mg.tensor(2.0, requires_grad=True)
    y = x * x * x + x
    (g,) = mg.grad(y, [x])
    assert g.item() == pytest.approx(3 * 4 + 1)


def test_grad_does_not_touch_dot_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    mg.grad((x * x).sum(), [x])
    assert x.grad is None


def test_create_graph_gives_a_differentiable_gradient():
    x = mg.tensor([0.5, -1.5], requires_grad=True, dtype=np.float64)
    (g,) = mg.grad((x ** 3).sum(), [x], create_graph=True)
    assert g.requires_grad
    (h,) = mg.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_without_create_graph_the_gradient_is_constant():
    x = mg.tensor([1.0], requires_grad=True)
    (g,) = mg.grad((x * x).sum(), [x])
    assert not g.requires_grad


def test_r1_penalty_only_computes_what_is_needed():
    """grad(D(x), x) must not run the weight-gradient branch of conv2d."""
    calls = []
    w = mg.nn.Parameter(np.ones((2, 1, 3, 3)))
    x = mg.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    y = ops.conv2d(x, w, padding=1).sum()
    node_fn = y._node  # reach the conv node through the graph
    while node_fn is not None and node_fn.fn.__name__ != "Conv2d":
        node_fn = node_fn.args[0]._node
    original = node_fn.fn.backward

    def spy(ctx, grad):
        calls.append(ctx.needs_input_grad[:2])
        return original(ctx, grad)

    node_fn.fn.backward = staticmethod(spy)
    try:
        mg.grad(y, [x])
    finally:
        node_fn.fn.backward = staticmethod(original)
    assert calls == [(True, False)]


def test_no_grad_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf

    @mg.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = mg.tensor([1.0], requires_grad=True)
    assert not (x * 2.0).detach().requires_grad


def test_unused_input_is_an_error_unless_allowed():
    x = mg.tensor([1.0], requires_grad=True)
    z = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        mg.grad((x * 2.0).sum(), [x, z])
    gx, gz = mg.grad((x * 2.0).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_non_scalar_output_needs_grad_outputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad_outputs"):
        mg.grad(x * 2.0, [x])
    (g,) = mg.grad(x * 2.0, [x], grad_outputs=[np.array([1.0, -1.0], dtype=np.float32)])
    np.testing.assert_allclose(g.numpy(), [2.0, -2.0])


def test_op_without_double_backward_names_itself():
    class Square(Function):
        double_backward = False

        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, grad):
            return (mg.Tensor(grad.data * 2 * ctx.args[0].data),)

    x = mg.tensor([3.0], requires_grad=True)
    (g,) = mg.grad(Square.apply(x).sum(), [x])
    assert g.item() == 6.0
    with pytest.raises(RuntimeError, match="Square does not support double backward"):
        mg.grad(Square.apply(x).sum(), [x], create_graph=True)


def test_float32_stays_float32_with_python_scalars():
    x = mg.tensor([1.0, 2.0])
    assert x.dtype == np.float32
    assert (x * 2.5 + 1).dtype == np.float32
    assert (2.0 / x).dtype == np.float32
    assert ops.exp(x).dtype == np.float32


def test_cuda_request_without_gpu_is_a_clear_error():
    if mg.cuda_available():
        pytest.skip("a GPU is present; this checks the message shown without one")
    with pytest.raises(RuntimeError, match="cuda.*not available"):
        mg.tensor([1.0]).to("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        mg.tensor([1.0]).to("tpu")


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="do not align"):
        ops.matmul(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((4, 2))))
    with pytest.raises(ValueError, match="channels"):
        ops.conv2d(mg.tensor(np.ones((1, 3, 5, 5))), mg.tensor(np.ones((2, 4, 3, 3))))
    with pytest.raises(ValueError, match="labels"):
        ops.cross_entropy(mg.tensor(np.ones((3, 4))), np.array([0, 1]))


def test_conv2d_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    y = ops.conv2d(mg.tensor(x, dtype=np.float64), mg.tensor(w, dtype=np.float64),
                   stride=2, padding=1).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros_like(y)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            expected[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same stride and padding."""
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((2, 3, 7, 7)), dtype=np.float64)
    w = mg.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=np.float64)
    y = mg.tensor(rng.standard_normal((2, 4, 4, 4)), dtype=np.float64)
    lhs = (ops.conv2d(x, w, stride=2, padding=1) * y).sum().item()
    rhs = (x * ops.conv_transpose2d(y, w, stride=2, padding=1)).sum().item()
    assert lhs == pytest.approx(rhs, rel=1e-12)

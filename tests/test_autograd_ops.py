"""Float64 gradient checks of every foundation op, first order, and second order for the ops
a discriminator uses (what the R1 penalty differentiates through)."""
import numpy as np
import pytest

import minigan as mg
from minigan import ops
from minigan.testing import gradcheck

rng = np.random.default_rng(1234)


def T(*shape, low=None):
    """A float64 tensor; with `low`, values are drawn away from zero-ish kinks (|x| >= low)."""
    a = rng.standard_normal(shape)
    if low is not None:
        a = np.sign(a) * (np.abs(a) + low)
    return mg.tensor(a, dtype=np.float64)


def P(*shape):
    """Positive float64 values in [0.5, 2] (for log, sqrt, division)."""
    return mg.tensor(rng.uniform(0.5, 2.0, shape), dtype=np.float64)


C62, C423, C324 = T(6, 2), T(4, 2, 3), T(3, 2, 4)  # fixed factors, drawn once

FIRST_ORDER = {
    "add_broadcast": (lambda a, b: a + b, lambda: [T(3, 4), T(4)]),
    "add_scalar": (lambda a: 2.5 + a, lambda: [T(2, 3)]),
    "sub_broadcast": (lambda a, b: a - b, lambda: [T(2, 1, 4), T(3, 1)]),
    "rsub_scalar": (lambda a: 1.0 - a, lambda: [T(5)]),
    "mul_broadcast": (lambda a, b: a * b, lambda: [T(2, 3, 4), T(1, 3, 1)]),
    "div_broadcast": (lambda a, b: a / b, lambda: [T(3, 4), P(3, 1)]),
    "rdiv_scalar": (lambda a: 2.0 / a, lambda: [P(4)]),
    "neg": (lambda a: -a, lambda: [T(3, 3)]),
    "pow": (lambda a: a ** 3, lambda: [T(2, 3)]),
    "pow_fractional": (lambda a: a ** 1.5, lambda: [P(2, 3)]),
    "exp": (ops.exp, lambda: [T(3, 4)]),
    "log": (ops.log, lambda: [P(3, 4)]),
    "sqrt": (ops.sqrt, lambda: [P(3, 4)]),
    "rsqrt": (ops.rsqrt, lambda: [P(3, 4)]),
    "abs": (ops.abs, lambda: [T(3, 4, low=0.1)]),
    "clamp": (lambda a: ops.clamp(a, -0.5, 0.7), lambda: [T(4, 5, low=0.05)]),
    "where": (lambda a, b: ops.where(a.data > 0, a, b), lambda: [T(3, 4, low=0.05), T(4)]),
    "sum_axis": (lambda a: a.sum(axis=1), lambda: [T(2, 3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), lambda: [T(2, 3, 4)]),
    "mean": (lambda a: a.mean(axis=-1), lambda: [T(3, 5)]),
    "var": (lambda a: a.var(axis=(1, 2)), lambda: [T(2, 3, 4)]),
    "std": (lambda a: a.std(axis=0, ddof=1), lambda: [T(4, 3)]),
    "max": (lambda a: a.max(axis=1), lambda: [T(3, 6)]),
    "max_all": (lambda a: a.max(), lambda: [T(3, 6)]),
    "matmul": (ops.matmul, lambda: [T(3, 4), T(4, 5)]),
    "matmul_batched_broadcast": (ops.matmul, lambda: [T(2, 3, 4), T(4, 2)]),
    "matmul_vector": (ops.matmul, lambda: [T(4), T(4, 3)]),
    "reshape": (lambda a: a.reshape(6, 2) * C62, lambda: [T(3, 4)]),
    "transpose": (lambda a: a.transpose(2, 0, 1) * C423, lambda: [T(2, 3, 4)]),
    "broadcast_to": (lambda a: a.expand(3, 2, 4) * C324, lambda: [T(2, 1)]),
    "getitem_slice": (lambda a: a[1:, ::2] * 2.0, lambda: [T(4, 5)]),
    "getitem_int_array": (lambda a: a[np.array([0, 2, 0])], lambda: [T(3, 4)]),
    "getitem_bool": (lambda a: a[np.array([True, False, True])], lambda: [T(3, 2)]),
    "concat": (lambda a, b: ops.concat([a, b], axis=1), lambda: [T(2, 3), T(2, 2)]),
    "stack": (lambda a, b: ops.stack([a, b], axis=0), lambda: [T(2, 3), T(2, 3)]),
    "pad": (lambda a: ops.pad(a, (1, 2, 0, 1)), lambda: [T(2, 3, 4)]),
    "relu": (ops.relu, lambda: [T(3, 4, low=0.05)]),
    "leaky_relu": (lambda a: ops.leaky_relu(a, 0.2), lambda: [T(3, 4, low=0.05)]),
    "sigmoid": (ops.sigmoid, lambda: [T(3, 4)]),
    "tanh": (ops.tanh, lambda: [T(3, 4)]),
    "softplus": (ops.softplus, lambda: [T(3, 4)]),
    "log_softmax": (lambda a: ops.log_softmax(a, axis=1), lambda: [T(3, 5)]),
    "cross_entropy": (lambda a: ops.cross_entropy(a, np.array([0, 4, 2])), lambda: [T(3, 5)]),
    "conv2d": (lambda x, w, b: ops.conv2d(x, w, b, padding=1), lambda: [T(2, 3, 5, 5), T(4, 3, 3, 3), T(4)]),
    "conv2d_stride_groups": (lambda x, w: ops.conv2d(x, w, stride=2, groups=2),
                             lambda: [T(1, 4, 7, 6), T(6, 2, 3, 3)]),
    "conv_transpose2d": (lambda x, w: ops.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
                         lambda: [T(2, 3, 4, 3), T(3, 2, 3, 3)]),
    "avg_pool2d": (lambda x: ops.avg_pool2d(x, 2), lambda: [T(2, 3, 6, 4)]),
}


@pytest.mark.parametrize("name", sorted(FIRST_ORDER))
def test_first_order(name):
    fn, make = FIRST_ORDER[name]
    assert gradcheck(fn, make())


SECOND_ORDER = {
    "matmul": (ops.matmul, lambda: [T(3, 4), T(4, 2)]),
    "linear_chain": (lambda x, w: ops.leaky_relu(ops.matmul(x, w), 0.2) ** 2,
                     lambda: [T(3, 4, low=0.05), T(4, 3)]),
    "mul_div": (lambda a, b: a * b / (b * b + 1.0), lambda: [T(3, 4), T(4)]),
    "sub_neg": (lambda a, b: (a - b) * (-a), lambda: [T(3), T(3)]),
    "sum_mean": (lambda a: a.sum(axis=1) * a.mean(axis=0).sum(), lambda: [T(3, 4)]),
    "var_std": (lambda a: a.var(axis=1) + a.std(axis=(0, 1)), lambda: [T(3, 4)]),
    "reshape_concat": (lambda a, b: ops.concat([a.reshape(2, 6), b], axis=0) ** 2,
                       lambda: [T(3, 4), T(1, 6)]),
    "softplus": (ops.softplus, lambda: [T(3, 4)]),
    "leaky_relu": (lambda a: ops.leaky_relu(a, 0.2) * a, lambda: [T(3, 4, low=0.05)]),
    "conv2d": (lambda x, w: ops.conv2d(x, w, padding=1) ** 2, lambda: [T(2, 2, 5, 4), T(3, 2, 3, 3)]),
    "conv2d_strided": (lambda x, w: ops.conv2d(x, w, stride=2) ** 2,
                       lambda: [T(1, 2, 7, 7), T(2, 2, 3, 3)]),
    "conv_transpose2d": (lambda x, w: ops.conv_transpose2d(x, w, stride=2, padding=1) ** 2,
                         lambda: [T(2, 3, 3, 4), T(3, 2, 3, 3)]),
    "avg_pool2d": (lambda x: ops.avg_pool2d(x, 2) ** 2, lambda: [T(2, 2, 4, 6)]),
    "exp_log_sqrt": (lambda a: ops.exp(a) * ops.log(a) + ops.sqrt(a) + ops.rsqrt(a), lambda: [P(5)]),
    "sigmoid_tanh": (lambda a: ops.sigmoid(a) * ops.tanh(a), lambda: [T(5)]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order(name):
    fn, make = SECOND_ORDER[name]
    assert gradcheck(fn, make(), order=2)


def test_small_discriminator_r1_second_order():
    """The R1 path end to end: conv, lrelu, pool, dense, softplus, gradient norm."""
    def d_softplus(x, w1, w2):
        h = ops.leaky_relu(ops.conv2d(x, w1, padding=1), 0.2)
        h = ops.avg_pool2d(h, 2).reshape(x.shape[0], -1)
        return ops.softplus(ops.matmul(h, w2))

    assert gradcheck(d_softplus, [T(2, 1, 4, 4), T(3, 1, 3, 3), T(12, 1)], order=2)


def test_gradcheck_catches_a_wrong_gradient():
    with pytest.raises(AssertionError):
        # The product's second factor is cut from the graph: the gradient is half the truth.
        gradcheck(lambda x: x * x.detach(), [T(5)])

"""Forward + backward of each kernel op at the study's shapes, fast path against reference.

Each benchmark first checks the fast path against the reference once, warms up JIT outside
the timed region, then times forward+backward. extra_info holds GFLOP/s (convolutions) or
GB/s (memory-bound ops) and the fraction of this machine's float32 matmul or copy rate: for
the convolutions both against the session's best matmul and, paired round by round, against
the matmul timed just before each round (see conftest.record).
Run: python -m pytest benchmarks/bench_kernels.py --benchmark-only
"""
import numpy as np
import pytest

import minigan as mg
from minigan import ops
from minigan.ops.modulated_conv2d import modulated_conv2d

from conftest import probe, record

rng = np.random.default_rng(0)


def _t(*shape, scale=1.0):
    return mg.tensor((rng.standard_normal(shape) * scale).astype(np.float32), requires_grad=True)


def _fwd_bwd(fn, inputs):
    """A closure running forward and backward of fn on inputs (grads reset each call).

    The backward starts from a fixed random cotangent dL/dy, handed to backward directly, so
    nothing but the op itself is timed (no loss multiply or sum around it)."""
    seed = np.random.default_rng(1)
    cotangent = None

    def run():
        nonlocal cotangent
        for t in inputs:
            t.grad = None
        y = fn(*inputs)
        if cotangent is None:
            cotangent = mg.tensor(seed.standard_normal(y.shape).astype(np.float32))
        y.backward(cotangent)
        return y

    return run


def _check_against_reference(fn, inputs, rtol=2e-3, atol=2e-3):
    fast = _fwd_bwd(lambda *a: fn(*a, impl="fast"), inputs)
    y_fast = fast().numpy()
    g_fast = [t.grad.numpy() for t in inputs]
    ref = _fwd_bwd(lambda *a: fn(*a, impl="reference"), inputs)
    y_ref = ref().numpy()
    np.testing.assert_allclose(y_fast, y_ref, rtol=rtol, atol=atol)
    for t, g in zip(inputs, g_fast):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=rtol, atol=atol * 10)


def _conv_flops(n, o, ho, wo, c, k):
    return 3 * 2 * n * o * ho * wo * c * k * k   # forward, grad input, grad weight


CASES = {
    "modulated_conv2d": (
        lambda x, w, s, impl: modulated_conv2d(x, w, s, impl=impl),
        lambda: [_t(32, 128, 16, 16), _t(128, 128, 3, 3), _t(32, 128, scale=0.5)],
        _conv_flops(32, 128, 16, 16, 128, 3), 0),
    "modulated_conv2d_up2": (
        lambda x, w, s, impl: modulated_conv2d(x, w, s, up=2, impl=impl),
        lambda: [_t(32, 256, 8, 8), _t(128, 256, 3, 3), _t(32, 256, scale=0.5)],
        _conv_flops(32, 128, 8, 8, 256, 3), 0),  # transposed conv: k*k taps per 8x8 input pixel
    "conv2d": (
        lambda x, w, impl: ops.conv2d(x, w, padding=1, impl=impl),
        lambda: [_t(32, 64, 32, 32), _t(128, 64, 3, 3, scale=0.05)],
        _conv_flops(32, 128, 32, 32, 64, 3), 0),
    "adain": (
        lambda x, s, b, impl: ops.adain(x, s, b, impl=impl),
        lambda: [_t(32, 256, 8, 8), _t(32, 256), _t(32, 256)],
        0, 4 * 4 * 32 * 256 * 8 * 8),        # x, y forward; x, dy, dx backward (+ re-read)
    "upsample2d": (
        lambda x, impl: ops.upsample2d(x, impl=impl),
        lambda: [_t(32, 128, 16, 16)],
        0, 4 * (32 * 128 * 16 * 16 + 32 * 128 * 32 * 32) * 2),
    "bias_act": (
        lambda x, b, impl: ops.bias_act(x, b, impl=impl),
        lambda: [_t(32, 128, 32, 32), _t(128)],
        0, 4 * 32 * 128 * 32 * 32 * 5),      # x in, y out; dy, y in, dx out
}


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel(benchmark, machine, name, impl):
    fn, make, flops, bytes_moved = CASES[name]
    inputs = make()
    if impl == "fast":
        _check_against_reference(fn, inputs)
    run = _fwd_bwd(lambda *a: fn(*a, impl=impl), inputs)
    run()  # JIT warm-up outside the timed region
    benchmark.pedantic(run, setup=probe(machine), rounds=15 if impl == "fast" else 3, iterations=1)
    record(benchmark, machine, flops=flops, bytes_moved=bytes_moved, op=name, impl=impl)


def test_matmul_rate_is_measured(machine):
    assert machine["matmul_gflops"] > 0 and machine["copy_gbs"] > 0

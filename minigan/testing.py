"""Gradient checks in float64 against central differences, first and second order.

    gradcheck(lambda x, w: conv2d(x, w), [x, w], order=2)

For tiny inputs the whole Jacobian is compared entry by entry; for larger ones the check is
directional: for random unit vectors v, the analytic <grad L, v> must match the slope of L
along v, where L = <u, f(x)> for a random cotangent u. Second order applies the same check to
x -> dL/dx computed with create_graph=True.
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, grad
from .ops import concat

FULL_JACOBIAN_MAX = 64  # inputs with at most this many elements (in all) get the full check


class GradcheckError(AssertionError):
    pass


def _leaves(inputs):
    out = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradcheck input {i} is not a Tensor")
        if x.dtype != np.float64:
            raise TypeError(f"gradcheck input {i} is {x.dtype}; use float64 for a meaningful check")
        out.append(Tensor(x.data.copy(), requires_grad=True))
    return out


def _scalarize(fn, cotangent_seed):
    """L(xs) = <u, fn(xs)> with a fixed random u, so one backward gives the whole gradient."""
    state = {}

    def loss(*xs):
        y = fn(*xs)
        if not isinstance(y, Tensor):
            raise TypeError("gradcheck: fn must return a Tensor")
        if "u" not in state:
            rng = np.random.default_rng(cotangent_seed)
            state["u"] = y.xp.asarray(rng.standard_normal(y.shape))
        return (y * Tensor(state["u"])).sum()

    return loss


def _first_order(loss, xs, eps, atol, rtol, n_directions, rng, label):
    out = loss(*xs)
    # A derivative that does not depend on the inputs at all (a linear op's second
    # derivative) has no graph: its gradient is zero, and the numeric side must agree.
    analytic = grad(out, xs, allow_unused=True) if out.requires_grad else [None] * len(xs)
    analytic = [np.zeros(x.shape) if g is None else g.numpy() for x, g in zip(xs, analytic)]

    def value(arrays):
        # Leaves that require grad: a second-order loss differentiates inside itself.
        return float(loss(*[Tensor(a, requires_grad=True) for a in arrays]).item())

    base = [x.data for x in xs]
    total = sum(x.size for x in xs)
    if total <= FULL_JACOBIAN_MAX:
        for i, x in enumerate(base):
            for j in range(x.size):
                plus = [a.copy() for a in base]
                minus = [a.copy() for a in base]
                plus[i].reshape(-1)[j] += eps
                minus[i].reshape(-1)[j] -= eps
                numeric = (value(plus) - value(minus)) / (2 * eps)
                exact = analytic[i].reshape(-1)[j]
                if abs(numeric - exact) > atol + rtol * abs(numeric):
                    raise GradcheckError(
                        f"{label}: d/d input{i}[{np.unravel_index(j, x.shape)}] analytic {exact:.8g}"
                        f" vs numeric {numeric:.8g}")
        return
    for _ in range(n_directions):
        direction = [rng.standard_normal(x.shape) for x in base]
        norm = np.sqrt(sum(float((d * d).sum()) for d in direction))
        direction = [d / norm for d in direction]
        plus = [a + eps * d for a, d in zip(base, direction)]
        minus = [a - eps * d for a, d in zip(base, direction)]
        numeric = (value(plus) - value(minus)) / (2 * eps)
        exact = sum(float((g * d).sum()) for g, d in zip(analytic, direction))
        if abs(numeric - exact) > atol + rtol * abs(numeric):
            raise GradcheckError(f"{label}: directional derivative analytic {exact:.8g} vs "
                                 f"numeric {numeric:.8g} (difference {abs(exact - numeric):.3g})")


def gradcheck(fn, inputs, order: int = 1, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, n_directions: int = 3, seed: int = 0) -> bool:
    """Check fn's gradients (order 1) and also the gradients of its gradients (order 2).

    `inputs` are float64 Tensors; `fn(*inputs)` returns a Tensor. Raises GradcheckError with
    the offending entry or direction; returns True when every check passes.
    """
    if order not in (1, 2):
        raise ValueError("order must be 1 or 2")
    rng = np.random.default_rng(seed)
    xs = _leaves(inputs)
    loss = _scalarize(fn, seed + 1)
    _first_order(loss, xs, eps, atol, rtol, n_directions, rng, "first order")
    if order == 2:
        def first_derivative(*ys):
            gs = grad(loss(*ys), list(ys), create_graph=True, allow_unused=True)
            parts = [(g if g is not None else y * 0.0).reshape(-1) for g, y in zip(gs, ys)]
            return concat(parts)

        loss2 = _scalarize(first_derivative, seed + 2)
        _first_order(loss2, xs, eps, atol, rtol, n_directions, rng, "second order")
    return True

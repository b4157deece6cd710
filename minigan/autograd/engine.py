"""Reverse-mode differentiation over the graph of `Node`s: `grad()` and `Tensor.backward()`."""
from __future__ import annotations

from collections.abc import Sequence

from .mode import enable_grad, no_grad
from .tensor import Tensor


def _post_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and is reachable from `roots`, each after its parents."""
    order, seen = [], set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            stack.extend((p, False) for p in t._node.parents if id(p) not in seen)
    return order


def _propagate(outputs, grad_outputs, is_target, create_graph):
    """Run every needed backward once, children before parents.

    Returns {id(tensor): gradient} for the tensors with is_target(t) true. Only nodes that lie
    on a path to a target run, and each learns through ctx.needs_input_grad which of its
    inputs lead to one, so R1's grad(D(x), x) does not also compute the weights' gradients.
    """
    order = _post_order(outputs)
    leads = {}
    for t in order:
        leads[id(t)] = is_target(t) or (
            t._node is not None and any(leads[id(p)] for p in t._node.parents)
        )
    pending: dict[int, Tensor] = {}
    for out, g in zip(outputs, grad_outputs):
        if out.requires_grad:
            pending[id(out)] = g if id(out) not in pending else pending[id(out)] + g
    found = {}
    mode = enable_grad if create_graph else no_grad
    for t in reversed(order):
        g = pending.pop(id(t), None)
        if g is None or not leads[id(t)]:
            continue
        if is_target(t):
            found[id(t)] = g
        node = t._node
        if node is None:
            continue
        fn_name = node.fn.__name__
        if create_graph and not node.fn.double_backward:
            raise RuntimeError(
                f"{fn_name} does not support double backward (create_graph=True); "
                "use impl='reference' for this op where second derivatives are needed"
            )
        node.ctx.needs_input_grad = tuple(
            isinstance(a, Tensor) and a.requires_grad and leads[id(a)] for a in node.args
        )
        with mode():
            input_grads = node.fn.backward(node.ctx, g)
        if len(input_grads) != len(node.args):
            raise RuntimeError(f"{fn_name}.backward returned {len(input_grads)} gradients "
                               f"for {len(node.args)} arguments")
        for arg, gi, needed in zip(node.args, input_grads, node.ctx.needs_input_grad):
            if not needed or gi is None:
                continue
            if gi.shape != arg.shape:
                raise RuntimeError(f"{fn_name}.backward gave a gradient of shape {gi.shape} "
                                   f"for an input of shape {arg.shape}")
            prev = pending.get(id(arg))
            with mode():
                pending[id(arg)] = gi if prev is None else prev + gi
    return found


def _default_grad_outputs(outputs, grad_outputs):
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    result = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out.size != 1:
                raise ValueError(
                    f"grad_outputs must be given for a non-scalar output of shape {out.shape}"
                )
            g = Tensor(out.xp.ones_like(out.data))
        elif not isinstance(g, Tensor):
            g = Tensor(g)
        if g.shape != out.shape:
            raise ValueError(f"grad_output of shape {g.shape} for an output of shape {out.shape}")
        result.append(g)
    return result


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` (weighted by `grad_outputs`) with respect to each of `inputs`.

    With create_graph=True the returned gradients carry a graph and can be differentiated
    again (the R1 penalty differentiates ||dD(x)/dx||^2 with respect to D's weights).
    """
    single = isinstance(inputs, Tensor)
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if not any(o.requires_grad for o in outputs):
        raise RuntimeError("none of the outputs requires grad: nothing to differentiate")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"input {i} (shape {x.shape}) does not require grad")
    target_ids = {id(x) for x in inputs}
    found = _propagate(outputs, _default_grad_outputs(outputs, grad_outputs),
                       lambda t: id(t) in target_ids, create_graph)
    results = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"input {i} (shape {x.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        results.append(g)
    return results[0] if single else results


def backward(output: Tensor, grad_output=None, create_graph=False):
    """Accumulate d(output)/d(leaf) into `leaf.grad` for every leaf that requires grad."""
    found = _propagate([output], _default_grad_outputs([output], [grad_output]),
                       lambda t: t._node is None, create_graph)
    for leaf in _post_order([output]):
        g = found.get(id(leaf))
        if g is None:
            continue
        if not create_graph:
            g = g.detach()
        leaf.grad = g if leaf.grad is None else leaf.grad + g

"""`Function`: one differentiable operation, written as forward on arrays and backward on Tensors.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):            # x is a raw numpy/cupy array
            return xp.exp(x)
        @staticmethod
        def backward(ctx, grad):        # grad is a Tensor; ctx.inputs are the input Tensors
            return (grad * ctx.output,)

`forward` sees arrays, so it can call any kernel. `backward` is written with differentiable
Tensor ops, so when the engine runs it with recording on (create_graph=True) the gradient has a
graph of its own and can be differentiated again. An op whose backward is not built from
differentiable ops sets `double_backward = False`; the engine then refuses create_graph=True
through it with an error that names the op, instead of returning a silently wrong result.
"""
from __future__ import annotations

import weakref

from .. import backend
from .mode import is_grad_enabled
from .tensor import Tensor


class Context:
    """Per-call scratch space shared between forward and backward."""

    def __init__(self, args):
        self.args = args  # the positional arguments as given (Tensors and plain values)
        self.needs_input_grad: tuple[bool, ...] = ()
        self._output_ref = None

    @property
    def inputs(self) -> tuple:
        """The Tensor positional arguments, in order (plain values are left out)."""
        return tuple(a for a in self.args if isinstance(a, Tensor))

    @property
    def output(self) -> Tensor:
        """The op's output Tensor (held weakly, so the graph has no reference cycle)."""
        out = self._output_ref() if self._output_ref is not None else None
        if out is None:
            raise RuntimeError("the output of this op is gone; keep it alive to differentiate it")
        return out


class Node:
    """The record of one op in the graph: which Function made a Tensor, and from what."""

    __slots__ = ("fn", "ctx", "args")

    def __init__(self, fn, ctx, args):
        self.fn = fn
        self.ctx = ctx
        self.args = args

    @property
    def parents(self):
        return [a for a in self.args if isinstance(a, Tensor) and a.requires_grad]


class Function:
    double_backward = True

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        """Return one gradient (Tensor or None) per positional argument of forward."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        tensors = [a for a in args if isinstance(a, Tensor)]
        if not tensors:
            raise TypeError(f"{cls.__name__}: needs at least one Tensor argument")
        device = tensors[0].device
        for t in tensors[1:]:
            if t.device != device:
                raise ValueError(
                    f"{cls.__name__}: inputs are on different devices ({device} and {t.device}); "
                    "move them with .to(device) first"
                )
        ctx = Context(args)
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        out_data = cls.forward(ctx, *raw, **kwargs)
        requires_grad = is_grad_enabled() and any(t.requires_grad for t in tensors)
        out = Tensor(out_data, requires_grad=requires_grad)
        if requires_grad:
            out._node = Node(cls, ctx, args)
            ctx._output_ref = weakref.ref(out)
        return out


def xp_of(*arrays):
    """The array module (numpy or cupy) of the first array argument."""
    return backend.get_array_module(arrays[0])

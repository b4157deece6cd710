"""The autograd-lite: `Tensor`, `Function`, `grad`, `no_grad`.

Layering: this package knows arrays and graphs; the operations themselves live in
`minigan.ops`, one Function per op, each with forward on arrays and backward on Tensors.
"""
from .engine import backward, grad
from .function import Context, Function
from .mode import enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = ["Tensor", "Function", "Context", "grad", "backward", "no_grad", "enable_grad",
           "is_grad_enabled"]

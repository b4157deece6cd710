"""minigan: learn a person's handwriting from samples and write any text in it.

The library underneath is a small autograd over NumPy (CPU) or CuPy (GPU):

    import minigan as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    (gx,) = mg.grad(y, [x])
"""
from . import _threads

_threads.apply_env_defaults()  # before numpy and numba are imported below

from . import backend, ops  # noqa: E402
from .autograd import (Function, Tensor, backward, enable_grad, grad,  # noqa: E402
                       is_grad_enabled, no_grad)
from .backend import cuda_available  # noqa: E402

_threads.apply_runtime()  # for programs that imported numpy before minigan

__version__ = "0.1.0"


def tensor(data, requires_grad: bool = False, dtype=None, device: str = "cpu") -> Tensor:
    """A new leaf Tensor on `device` from a number, list or array."""
    return Tensor(data, requires_grad=False, dtype=dtype).to(device).requires_grad_(requires_grad)


__all__ = ["Tensor", "Function", "grad", "backward", "no_grad", "enable_grad", "is_grad_enabled",
           "tensor", "cuda_available", "backend", "ops"]

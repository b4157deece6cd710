"""`Tensor`: an array (numpy or cupy) plus what reverse-mode differentiation needs."""
from __future__ import annotations

import numpy as np

from .. import backend


def _ops():
    """minigan.ops, imported on first use (it builds on this module)."""
    from .. import ops

    return ops


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    if dtype is None and not hasattr(data, "dtype"):
        # Python numbers and lists become float32 unless they are bool or int.
        arr = np.asarray(data)
        dtype = backend.DEFAULT_DTYPE if arr.dtype.kind == "f" else None
        return xp.asarray(arr, dtype=dtype)
    return xp.asarray(data, dtype=dtype)


class Tensor:
    """An n-dimensional array on a device that remembers how it was computed.

    `data` is a numpy or cupy array; `grad` (a Tensor) is filled by `backward()` on leaves that
    have `requires_grad=True`. Operators broadcast like NumPy and are differentiable.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")
    __array_priority__ = 1000  # numpy_array + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        if self.requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, not {self.data.dtype}")

    # ----- what it is ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array module of this tensor (numpy or cupy)."""
        return backend.get_array_module(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = "" if self.device == "cpu" else f", device={self.device!r}"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{dev}{grad})"

    # ----- moving and converting ------------------------------------------------------------
    def to(self, device: str) -> Tensor:
        """A copy on `device` ("cpu" or "cuda"); a leaf keeps its requires_grad."""
        if device == self.device:
            return self
        return Tensor(backend.to_device(self.data, device), requires_grad=self.requires_grad)

    def numpy(self) -> np.ndarray:
        """A host NumPy array of the values (a copy when the tensor is on the GPU)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return self.numpy().reshape(()).item()

    def detach(self) -> Tensor:
        """The same values, cut off from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("requires_grad can be set only on leaf tensors")
        self.requires_grad = bool(flag)
        return self

    def astype(self, dtype) -> Tensor:
        return _ops().astype(self, dtype)

    def backward(self, grad=None, create_graph: bool = False) -> None:
        from .engine import backward

        backward(self, grad, create_graph=create_graph)

    # ----- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __pow__(self, exponent):
        return _ops().pow(self, exponent)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    # Comparisons give plain boolean tensors: they have no gradient.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    __hash__ = object.__hash__

    # ----- methods that mirror minigan.ops -------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _ops().var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _ops().std(self, axis, keepdims, ddof)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis, keepdims)

    def reshape(self, *shape):
        return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)

    def flatten(self, start_dim: int = 0):
        return _ops().reshape(self, self.shape[:start_dim] + (-1,))

    def transpose(self, *axes):
        return _ops().transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    permute = transpose

    @property
    def T(self):
        return _ops().transpose(self)

    def expand(self, *shape):
        return _ops().broadcast_to(self, shape[0] if len(shape) == 1 else shape)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def sqrt(self):
        return _ops().sqrt(self)

    def rsqrt(self):
        return _ops().rsqrt(self)

    def abs(self):
        return _ops().abs(self)

    def clamp(self, min=None, max=None):
        return _ops().clamp(self, min, max)

    def relu(self):
        return _ops().relu(self)

    def leaky_relu(self, alpha=0.2):
        return _ops().leaky_relu(self, alpha)

    def sigmoid(self):
        return _ops().sigmoid(self)

    def tanh(self):
        return _ops().tanh(self)

    def softplus(self):
        return _ops().softplus(self)

"""`Module` and `Parameter`: named trainable state, submodules, and state_dict round trips."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import backend
from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module trains (requires_grad is on)."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of every layer and model.

    Assigning a Parameter, a Module or (through `register_buffer`) a plain array to an attribute
    registers it, so `named_parameters()`, `state_dict()` and `to()` find it.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: Tensor) -> None:
        """State that is saved and moved with the module but not trained (e.g. a running mean)."""
        value = value if isinstance(value, Tensor) else Tensor(value)
        setattr(self, name, value)
        self._buffers[name] = value

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- walking the tree ------------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{name}.")

    def children(self):
        return list(self._modules.values())

    def named_parameters(self):
        for prefix, mod in self.named_modules():
            for name, p in mod._parameters.items():
                yield prefix + name, p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, mod in self.named_modules():
            for name, b in mod._buffers.items():
                yield prefix + name, b

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ----- modes and devices ------------------------------------------------------------------
    def train(self, mode: bool = True):
        for _, mod in self.named_modules():
            object.__setattr__(mod, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, flag: bool = True):
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, device: str):
        """Move every parameter and buffer to `device`, in place; returns self."""
        for _, mod in self.named_modules():
            for table in (mod._parameters, mod._buffers):
                for name, t in table.items():
                    t.data = backend.to_device(t.data, device)
                    t.grad = None
        return self

    # ----- saving and loading ------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Host copies of every parameter and buffer, by dotted name."""
        state = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.numpy().copy()
        for name, b in self.named_buffers():
            state[name] = b.numpy().copy()
        return state

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy values in by name. Shapes must match; with strict, the names must match too.

        Nothing is changed unless every entry checks out, so a bad file cannot leave a
        half-loaded model behind.
        """
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing {missing[:8]}"
                           f"{'...' if len(missing) > 8 else ''}, unexpected {unexpected[:8]}"
                           f"{'...' if len(unexpected) > 8 else ''}")
        for name, t in own.items():
            if name in state and tuple(np.shape(state[name])) != t.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has shape "
                                 f"{tuple(np.shape(state[name]))} in the state but {t.shape} here")
        for name, t in own.items():
            if name in state:
                value = np.asarray(state[name], dtype=t.dtype)
                t.data = backend.to_device(value.copy(), t.device)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            lines.append("  (" + name + "): " + repr(child).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines) if self._modules else f"{type(self).__name__}()"

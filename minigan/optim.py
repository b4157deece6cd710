"""Optimizers (Adam, SGD) and an exponential moving average of a module's weights.

Updates run on raw arrays under no graph; optimizer state lives on the parameters' device.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import no_grad
from .nn.module import Module, Parameter


def _param_groups(params, defaults: dict) -> list[dict]:
    """A list of groups {"params": [...], "lr": ..., ...}; plain parameter lists become one."""
    params = list(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    groups = params if isinstance(params[0], dict) else [{"params": params}]
    out = []
    for g in groups:
        group = dict(defaults)
        group.update(g)
        group["params"] = list(group["params"])
        for p in group["params"]:
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizers take Parameters, got {type(p).__name__}")
        out.append(group)
    return out


class Optimizer:
    def __init__(self, params, defaults: dict):
        self.param_groups = _param_groups(params, defaults)
        self.state: list[dict] = [{} for _ in self._all_params()]
        self.steps = 0

    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def _with_grads(self):
        """(group, parameter, its state slots) for every parameter that has a gradient."""
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                slots = self.state[i]
                i += 1
                if p.grad is not None:
                    yield group, p, slots

    def zero_grad(self) -> None:
        for p in self._all_params():
            p.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat {name: array} with the step count, per-group learning rates and slot arrays."""
        out = {"steps": np.array(self.steps), "lr": np.array([g["lr"] for g in self.param_groups])}
        for i, slots in enumerate(self.state):
            for key, value in slots.items():
                out[f"{i}.{key}"] = backend.to_numpy(value)
        return out

    def load_state_dict(self, state: dict) -> None:
        params = self._all_params()
        slots: list[dict] = [{} for _ in params]
        for key, value in state.items():
            if key in ("steps", "lr"):
                continue
            index, name = key.split(".", 1)
            i = int(index)
            if i >= len(params) or np.shape(value) != params[i].shape:
                raise ValueError(f"optimizer state {key} of shape {np.shape(value)} does not fit "
                                 f"this optimizer's parameters")
            slots[i][name] = backend.to_device(np.array(value, dtype=params[i].dtype),
                                               params[i].device)
        lrs = np.asarray(state["lr"]).reshape(-1)
        if len(lrs) != len(self.param_groups):
            raise ValueError(f"optimizer state has {len(lrs)} groups, this one {len(self.param_groups)}")
        for g, lr in zip(self.param_groups, lrs):
            g["lr"] = float(lr)
        self.state = slots
        self.steps = int(state["steps"])


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba). StyleGAN uses betas (0, 0.99)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @no_grad()
    def step(self) -> None:
        self.steps += 1
        for g, p, slots in self._with_grads():
            b1, b2 = g["betas"]
            c1, c2 = 1 - b1 ** self.steps, 1 - b2 ** self.steps
            grad = p.grad.data
            xp = backend.get_array_module(grad)
            if "m" not in slots:
                slots["m"] = xp.zeros_like(p.data)
                slots["v"] = xp.zeros_like(p.data)
            m, v = slots["m"], slots["v"]
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            p.data -= (g["lr"] / c1) * m / (xp.sqrt(v / c2) + g["eps"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum."""

    def __init__(self, params, lr: float = 1e-2, momentum: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @no_grad()
    def step(self) -> None:
        self.steps += 1
        for g, p, slots in self._with_grads():
            update = p.grad.data
            if g["momentum"]:
                if "velocity" not in slots:
                    slots["velocity"] = backend.get_array_module(update).zeros_like(p.data)
                velocity = slots["velocity"]
                velocity *= g["momentum"]
                velocity += update
                update = velocity
            p.data -= g["lr"] * update


@no_grad()
def ema_update(target: Module, source: Module, decay: float) -> None:
    """target <- decay * target + (1 - decay) * source, parameter by parameter.

    Buffers (e.g. a tracked average latent) and frozen parameters (requires_grad off in
    source) are copied as they are: averaging a weight with itself would move it by rounding.
    """
    src = dict(source.named_parameters())
    for name, p in target.named_parameters():
        s = src[name].data
        p.data = p.data * decay + s * (1.0 - decay) if src[name].requires_grad else s.copy()
    src_buffers = dict(source.named_buffers())
    for name, b in target.named_buffers():
        b.data = src_buffers[name].data.copy()

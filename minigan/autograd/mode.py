"""Whether operations record a graph for differentiation."""
from __future__ import annotations

import functools

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    return _state["enabled"]


class _GradMode:
    """Context manager and decorator that sets grad recording on or off, then restores it."""

    enabled: bool

    def __enter__(self):
        self._previous = _state["enabled"]
        _state["enabled"] = self.enabled
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Run without recording a graph (inference, optimizer steps, EMA updates)."""

    enabled = False


class enable_grad(_GradMode):
    """Record a graph even inside `no_grad` (used by create_graph=True)."""

    enabled = True

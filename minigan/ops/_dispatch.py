"""Choosing an implementation for a hot op, and recording which one ran.

Each hot op takes `impl="auto" | "reference" | "fast"`. "auto" and "fast" pick the compiled
path for the array's device (numba on the CPU, a CUDA kernel on the GPU); "reference" forces
the plain array-module spec. There is no silent fallback: if the fast path cannot run it
raises. Tests read `last_path(op)` to assert which path actually ran.
"""
from __future__ import annotations

IMPLS = ("auto", "reference", "fast")
_last: dict[str, str] = {}


def choose(op: str, impl: str, device: str) -> str:
    """'reference', 'numba' or 'cuda' for this call of `op`, recorded for last_path()."""
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS}, got {impl!r}")
    path = "reference" if impl == "reference" else ("cuda" if device == "cuda" else "numba")
    _last[op] = path
    return path


def last_path(op: str) -> str | None:
    """The implementation that the most recent call of `op` used."""
    return _last.get(op)

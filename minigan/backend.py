"""Which array module a tensor lives on, device moves, and the dtype policy.

minigan runs on NumPy (device "cpu") or CuPy (device "cuda"). CuPy is imported only when a
CUDA array is asked for, so `import minigan` never needs it.
"""
from __future__ import annotations

import functools

import numpy as np

from .errors import UserError

DEFAULT_DTYPE = np.float32
DEVICES = ("cpu", "cuda")


@functools.lru_cache(maxsize=1)
def _cupy():
    """CuPy if it imports and sees at least one GPU, else None."""
    try:
        import cupy
    except Exception:  # ImportError, or a CUDA runtime that fails to load
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    return cupy


def cuda_available() -> bool:
    """True when CuPy is installed and a CUDA GPU is visible."""
    return _cupy() is not None


class DeviceUnavailable(UserError, RuntimeError):
    """The GPU was asked for on a machine or install without one."""


def cupy_or_raise():
    """The CuPy module, or a clear error saying why the GPU cannot be used."""
    cp = _cupy()
    if cp is None:
        raise DeviceUnavailable(
            "device 'cuda' was requested but is not available: install the GPU extra "
            "(pip install 'minigan[gpu]') on a machine with an NVIDIA GPU and driver"
        )
    return cp


def get_array_module(array):
    """numpy or cupy, whichever owns `array` (numpy for anything that is not a CuPy array)."""
    if type(array).__module__.startswith("cupy"):
        return cupy_or_raise()
    return np


def device_of(array) -> str:
    return "cuda" if get_array_module(array) is not np else "cpu"


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    return device


def array_module_for(device: str):
    """The array module that holds arrays on `device`."""
    return cupy_or_raise() if check_device(device) == "cuda" else np


def to_device(array, device: str):
    """Copy `array` to `device` (no copy when it is already there)."""
    if device_of(array) == check_device(device):
        return array
    if device == "cuda":
        return cupy_or_raise().asarray(array)
    return array.get()


def to_numpy(array) -> np.ndarray:
    """A host NumPy array of `array`, wherever it lives."""
    return to_device(array, "cpu")

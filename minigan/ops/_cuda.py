"""Finding, compiling and launching the CUDA C kernels in the top-level kernels/ folder.

The .cu files are written for NVRTC (no host headers) and compiled on first use through
cupy.RawModule, once per file. In a source checkout they are read from kernels/; in an
installed wheel they ship as the data package minigan/_kernels.
"""
from __future__ import annotations

import functools
from pathlib import Path

from .. import backend

_PACKAGE = Path(__file__).resolve().parent.parent  # minigan/


def kernels_dir() -> Path:
    """The folder holding the .cu sources (wheel layout first, then the source checkout)."""
    for candidate in (_PACKAGE / "_kernels", _PACKAGE.parent / "kernels"):
        if candidate.is_dir() and any(candidate.glob("*.cu")):
            return candidate
    raise FileNotFoundError(
        f"CUDA kernel sources not found in {_PACKAGE / '_kernels'} or {_PACKAGE.parent / 'kernels'}; "
        "reinstall minigan")


def source_path(name: str) -> Path:
    """Path of kernels/<name>.cu."""
    path = kernels_dir() / f"{name}.cu"
    if not path.is_file():
        raise FileNotFoundError(f"CUDA kernel source {path} is missing")
    return path


@functools.lru_cache(maxsize=None)
def module(name: str):
    """The compiled cupy.RawModule of kernels/<name>.cu (compiled once, then cached)."""
    cp = backend.cupy_or_raise()
    code = source_path(name).read_text()
    return cp.RawModule(code=code, options=("--std=c++17",))


def kernel(name: str, function: str):
    """One __global__ function (declared extern "C") from kernels/<name>.cu."""
    return module(name).get_function(function)


def launch_1d(fn, n: int, args, block: int = 256):
    """Launch `fn` with one thread per item for n items."""
    grid = ((n + block - 1) // block,)
    fn(grid, (block,), args)

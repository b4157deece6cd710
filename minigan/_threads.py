"""Thread policy for NumPy's BLAS and numba, applied when minigan is imported.

minigan's work is many medium-sized matmuls and kernels; on a small machine the cost of
synchronising threads for each of them outweighs the gain, and two libraries that each start
a pool per core fight over the cores. Measured on a 2-core machine: a StyleGAN2 training step
took 0.24 s single-threaded and 2.8 s with both libraries at two threads while other work
shared the cores. So minigan runs single-threaded unless told otherwise:

- MINIGAN_THREADS=N sets the count for both libraries;
- a library's own variable (OPENBLAS_NUM_THREADS, NUMBA_NUM_THREADS) set by the user wins.

Environment variables only act before a library loads, so the counts are also set at run time
(numba's API, and OpenBLAS's own setter through ctypes) for programs that imported NumPy first.
OpenMP workers are told to wait passively, so numba's pool does not spin on the cores that the
next matmul needs (a 5x slowdown measured with two threads on 2 cores).
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_state: dict = {}


def apply_env_defaults() -> None:
    """Before numpy/numba load: default every library's thread count to MINIGAN_THREADS or 1."""
    _state["user_set"] = {v for v in _VARIABLES if v in os.environ}
    _state["explicit"] = "MINIGAN_THREADS" in os.environ
    _state["threads"] = max(1, int(os.environ.get("MINIGAN_THREADS", "1")))
    for name in _VARIABLES:
        os.environ.setdefault(name, str(_state["threads"]))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _loaded_openblas() -> list[str]:
    """Paths of OpenBLAS libraries mapped into this process (Linux), else NumPy's bundled one."""
    maps = Path("/proc/self/maps")
    if maps.exists():
        paths = {line.split()[-1] for line in maps.read_text().splitlines()
                 if "openblas" in line.lower() and line.split()[-1].startswith("/")}
        if paths:
            return sorted(paths)
    import numpy

    libs = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    return [str(p) for p in libs.glob("*openblas*")] if libs.is_dir() else []


def apply_runtime() -> None:
    """After numpy/numba load: set their thread counts, unless the user chose them."""
    threads = _state.get("threads", 1)
    user_set, explicit = _state.get("user_set", set()), _state.get("explicit", False)
    if explicit or "OPENBLAS_NUM_THREADS" not in user_set:
        for path in _loaded_openblas():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in _SETTERS:
                setter = getattr(lib, symbol, None)
                if setter is not None:
                    setter(ctypes.c_int(threads))
                    break
    if explicit or "NUMBA_NUM_THREADS" not in user_set:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))

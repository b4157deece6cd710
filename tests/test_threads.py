"""The thread policy: single-threaded by default even when NumPy was imported first;
MINIGAN_THREADS and the libraries' own variables are honoured."""
import os
import subprocess
import sys

import pytest

PROBE = """
import numpy, ctypes
from pathlib import Path
import minigan, numba
from minigan._threads import _loaded_openblas, _SETTERS
paths = _loaded_openblas()
getter = None
for p in paths:
    lib = ctypes.CDLL(p)
    for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
        if hasattr(lib, name):
            getter = getattr(lib, name)
            break
print(getter() if getter else -1, numba.get_num_threads())
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MINIGAN_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                        "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    blas, numba_threads = map(int, out.stdout.split())
    if blas == -1:
        pytest.skip("this NumPy is not linked to OpenBLAS; its thread count cannot be read")
    return blas, numba_threads


def test_default_is_one_thread_even_after_numpy_was_imported():
    assert _run({}) == (1, 1)


def test_minigan_threads_sets_both():
    if os.cpu_count() < 2:
        pytest.skip("needs at least 2 CPUs to ask for 2 threads")
    assert _run({"MINIGAN_THREADS": "2"}) == (2, 2)


def test_a_libraries_own_variable_wins():
    if os.cpu_count() < 2:
        pytest.skip("needs at least 2 CPUs to ask for 2 threads")
    assert _run({"OPENBLAS_NUM_THREADS": "2"})[0] == 2

"""Thread policy, applied before NumPy's BLAS and numba start their thread pools.

minigan's operations are many medium-sized matmuls and kernels; on a small machine the cost
of synchronising threads for each of them outweighs the gain. Measured on a 2-core machine: a
StyleGAN2 training step took 0.24 s single-threaded and 2.8 s with two threads per library
while other work shared the cores. So minigan runs each library single-threaded unless told
otherwise: set MINIGAN_THREADS=N (or the libraries' own variables, which win) before the
first import of numpy or minigan.
"""
import os

_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def apply_default() -> None:
    threads = os.environ.get("MINIGAN_THREADS", "1")
    for name in _VARIABLES:
        os.environ.setdefault(name, threads)

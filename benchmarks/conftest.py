"""The machine's own rates, measured once per benchmark session, so every benchmark can report
its speed as a fraction of what this machine does at its best, not in drifting absolute times.
"""
import time

import numpy as np
import pytest


def _best_seconds(fn, repeats: int = 5) -> float:
    fn()  # warm up (allocations, BLAS thread pool)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _matmul_gflops(repeats: int = 5) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    return 2 * 2048 ** 3 / _best_seconds(lambda: a @ b, repeats) / 1e9


@pytest.fixture(scope="session")
def machine():
    """{"matmul_gflops": float32 2048x2048 np.matmul rate, "copy_gbs": memory copy rate}.

    On a shared machine one measurement can land in a slow spell and make every fraction
    look better than it is, so `record` measures the matmul rate again beside each benchmark
    and the session keeps the highest rate seen: fractions are, if anything, understated."""
    src = np.ones(64 * 2 ** 20 // 4, dtype=np.float32)   # 64 MiB, larger than any cache
    dst = np.empty_like(src)
    copy = 2 * src.nbytes / _best_seconds(lambda: np.copyto(dst, src)) / 1e9
    return {"matmul_gflops": _matmul_gflops(), "copy_gbs": copy}


def record(benchmark, machine, flops: float = 0.0, bytes_moved: float = 0.0, **info):
    """Put achieved rates and their fraction of the machine's rates into extra_info."""
    extra = benchmark.extra_info
    extra.update(info)
    stats = getattr(benchmark, "stats", None)
    seconds = stats.stats.min if stats is not None and stats.stats.data else None
    if seconds:
        machine["matmul_gflops"] = max(machine["matmul_gflops"], _matmul_gflops(3))
    extra["machine_matmul_gflops"] = round(machine["matmul_gflops"], 1)
    extra["machine_copy_gbs"] = round(machine["copy_gbs"], 2)
    if seconds:
        extra["seconds"] = seconds
        if flops:
            extra["gflops"] = round(flops / seconds / 1e9, 2)
            extra["fraction_of_matmul"] = round(flops / seconds / 1e9 / machine["matmul_gflops"], 3)
        if bytes_moved:
            extra["gbs"] = round(bytes_moved / seconds / 1e9, 2)
            extra["fraction_of_copy"] = round(bytes_moved / seconds / 1e9 / machine["copy_gbs"], 3)

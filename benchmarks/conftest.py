"""The machine's own rates, measured at the start of a benchmark session and again between
the rounds of every benchmark, so each one can report its speed as a fraction of what this
machine does at its best, not in drifting absolute times.
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


_A = _B = None


def _matmul_gflops(repeats: int = 5) -> float:
    global _A, _B
    if _A is None:
        rng = np.random.default_rng(0)
        _A = rng.standard_normal((2048, 2048), dtype=np.float32)
        _B = rng.standard_normal((2048, 2048), dtype=np.float32)
    return 2 * 2048 ** 3 / _best_seconds(lambda: _A @ _B, repeats) / 1e9


@pytest.fixture(scope="session")
def machine():
    """{"matmul_gflops": float32 2048x2048 np.matmul rate, "copy_gbs": memory copy rate}.

    This shared machine has slow spells, and a rate measured in one would make every
    fraction look better than it is. So the matmul rate is also measured between the rounds
    of every benchmark (`probe`), and the highest rate seen in the session is the one every
    fraction is taken against: if anything, fractions are understated."""
    src = np.ones(64 * 2 ** 20 // 4, dtype=np.float32)   # 64 MiB, larger than any cache
    dst = np.empty_like(src)
    copy = 2 * src.nbytes / _best_seconds(lambda: np.copyto(dst, src)) / 1e9
    # Thirty runs (about three seconds) so that a slow spell rarely covers all of them.
    return {"matmul_gflops": _matmul_gflops(30), "copy_gbs": copy}


def probe(machine):
    """A pedantic `setup` that times one 2048x2048 matmul before each round (untimed by the
    benchmark) and keeps the session's best rate in machine["matmul_gflops"]."""
    def setup():
        start = time.perf_counter()
        _A @ _B
        rate = 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9
        machine["matmul_gflops"] = max(machine["matmul_gflops"], rate)
    return setup


def record(benchmark, machine, flops: float = 0.0, bytes_moved: float = 0.0, **info):
    """Put achieved rates and their fraction of the machine's rates into extra_info."""
    extra = benchmark.extra_info
    extra.update(info)
    stats = getattr(benchmark, "stats", None)
    seconds = stats.stats.min if stats is not None and stats.stats.data else None
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

"""The machine's own rates, measured at the start of a benchmark session and again before
every round of every benchmark, so each one can report its speed as a fraction of what this
machine does, not in drifting absolute times: against the session's best rate (a bound that
holds while the machine stays at its best) and round by round against the rate timed just
before (which follows the machine's slow spells).
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
    fraction look better than it is. So the matmul rate is also measured before the rounds
    of every benchmark (`probe`), and the highest rate seen in the session is the one
    "fraction_of_matmul" is taken against: if anything, it is understated. `record` also
    pairs each round with the rate timed just before it ("fraction_of_matmul_paired")."""
    src = np.ones(64 * 2 ** 20 // 4, dtype=np.float32)   # 64 MiB, larger than any cache
    dst = np.empty_like(src)
    copy = 2 * src.nbytes / _best_seconds(lambda: np.copyto(dst, src)) / 1e9
    # Thirty runs (about three seconds) so that a slow spell rarely covers all of them.
    return {"matmul_gflops": _matmul_gflops(30), "copy_gbs": copy}


def probe(machine):
    """A pedantic `setup` that times one 2048x2048 matmul before each round (untimed by the
    benchmark), keeps the session's best rate in machine["matmul_gflops"] and this
    benchmark's rate before each of its rounds in machine["round_rates"]."""
    rates = machine["round_rates"] = []

    def setup():
        start = time.perf_counter()
        _A @ _B
        rate = 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9
        rates.append(rate)
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
            rounds, rates = stats.stats.data, machine.pop("round_rates", [])
            if len(rates) == len(rounds):
                # Each round against the matmul timed just before it: a slow spell of the
                # machine slows both, where the session's best rate would not move. The median
                # over the rounds, so that no one lucky pair decides it.
                paired = [flops / t / 1e9 / r for t, r in zip(rounds, rates)]
                extra["fraction_of_matmul_paired"] = round(float(np.median(paired)), 3)
        if bytes_moved:
            extra["gbs"] = round(bytes_moved / seconds / 1e9, 2)
            extra["fraction_of_copy"] = round(bytes_moved / seconds / 1e9 / machine["copy_gbs"], 3)

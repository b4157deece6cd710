"""The data-parallel report: the sg2-32-bench training step (global batch 32) on 1 worker, on 2
MPI workers and in PyTorch CPU on 2 threads, in one run; the scaling efficiency, the allreduce's
measured cost at the real gradient sizes, peak memory per worker, and the projected step at 8,
64 and 512 workers.

    python benchmarks/dp_report.py [--rounds 3] [--workers 2]

Needs minigan[mpi]; the PyTorch row needs torch (skipped without it). Each configuration runs
in its own processes, one after the other; run it on an otherwise quiet machine.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
# Networks for the projection beyond one machine: (name, bytes/s per link, latency per message).
NETWORKS = [("10 Gb/s Ethernet", 1.1e9, 30e-6), ("100 Gb/s InfiniBand", 11e9, 3e-6)]
PER_WORKER_BATCH = 4          # the smallest share that keeps whole minibatch-std groups


def _run(command) -> dict:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else "mpiexec"


def allreduce_model(floats: int, workers: int, bandwidth: float, latency: float) -> float:
    """Seconds of one allreduce of `floats` float32 numbers: reduce-scatter then allgather
    (each moves (N-1)/N of the buffer through every link), log2(N) message rounds each."""
    if workers == 1:
        return 0.0
    return 2 * (workers - 1) / workers * 4 * floats / bandwidth + 2 * math.log2(workers) * latency


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="timed steps per configuration")
    p.add_argument("--workers", type=int, default=2, help="MPI workers of the parallel row")
    p.add_argument("--preset", default="sg2-32-bench")
    args = p.parse_args()
    worker = [sys.executable, str(HERE / "dp_worker.py"), "--preset", args.preset,
              "--rounds", str(args.rounds)]
    load = os.getloadavg()[0]
    one = _run(worker + ["--batch", "32"])
    many = _run([_mpiexec(), "-n", str(args.workers)] + worker + ["--batch", "32"])
    small = _run(worker + ["--batch", str(PER_WORKER_BATCH)])
    peer = None             # the peer has sg2-32-bench's shapes only
    if args.preset == "sg2-32-bench" and importlib.util.find_spec("torch"):
        peer = _run([sys.executable, str(HERE / "torch_peer.py"), "--threads", str(args.workers),
                     "--rounds", str(args.rounds)])

    def median(r):
        s = sorted(r["seconds"])
        return s[len(s) // 2]

    n = args.workers
    print(f"{args.preset} training step, global batch 32, {args.rounds} timed steps each "
          f"(median / min); {os.cpu_count()} cores, load average {load:.1f} at the start")
    rows = [("minigan, 1 worker", one, one["peak_rss_mib"]),
            (f"minigan, {n} MPI workers", many, many["peak_rss_mib"])]
    if peer:
        rows.append((f"PyTorch CPU, {n} threads", peer, [peer["peak_rss_mib"]]))
    print(f"  {'':28s} {'median s':>9s} {'min s':>8s}  peak MiB per worker")
    for name, r, mib in rows:
        print(f"  {name:28s} {median(r):9.3f} {min(r['seconds']):8.3f}  "
              f"{', '.join(f'{m:.0f}' for m in mib)}")
    t1, tn = median(one), median(many)
    print(f"  scaling efficiency t1 / ({n} t{n}): {t1 / (n * tn):.3f}   (target >= 0.85)")
    if peer:
        print(f"  {n} workers / PyTorch {n} threads: {tn / median(peer):.3f}   "
              f"(target <= 0.8, goal 0.6)")

    sizes, ar = many["gradient_floats"], many["allreduce_seconds"]
    floats = sizes["D"] + sizes["G"]
    print(f"allreduce over {n} workers on this machine (median of 10): "
          f"D {sizes['D']:,} floats {ar['D'] * 1e3:.2f} ms, G {sizes['G']:,} floats "
          f"{ar['G'] * 1e3:.2f} ms, 4 floats {ar['one'] * 1e6:.0f} us; "
          f"{(ar['D'] + ar['G']) / tn * 100:.1f}% of the {n}-worker step")
    draw = one["draw_seconds_per_step"] / 32
    print(f"random numbers drawn per step: {one['draw_seconds_per_step'] * 1e3:.1f} ms at batch 32 "
          f"({draw * 1e6:.0f} us per sample; every worker draws the whole global batch's)")

    b = PER_WORKER_BATCH
    compute = median(small)
    print(f"\nprojection, {b} images per worker (global batch {b} x N); one worker's step at "
          f"batch {b}: {compute:.3f} s measured;")
    print("  step(N) = that + draws for the global batch + 2 allreduces (D, G) of "
          f"{floats * 4 / 1e6:.1f} MB in all")
    print(f"  {'workers':>7s} {'network':22s} {'draws s':>8s} {'allreduce s':>11s} {'step s':>7s} "
          f"{'efficiency':>10s}")
    for workers in (8, 64, 512):
        for net, bandwidth, latency in NETWORKS:
            t_ar = allreduce_model(sizes["D"], workers, bandwidth, latency) + \
                allreduce_model(sizes["G"], workers, bandwidth, latency)
            t_draw = draw * b * workers
            step = compute + t_draw + t_ar
            print(f"  {workers:7d} {net:22s} {t_draw:8.3f} {t_ar:11.3f} {step:7.3f} "
                  f"{compute / step:10.2f}")
    for net, bandwidth, latency in NETWORKS:
        t_ar = allreduce_model(sizes["D"], 512, bandwidth, latency) + \
            allreduce_model(sizes["G"], 512, bandwidth, latency)
        print(f"  on {net} the allreduce ({t_ar * 1e3:.0f} ms, nearly constant in N) outweighs "
              f"the compute once a worker's step takes less than that: below "
              f"{t_ar / (compute / b):.2f} images per worker at this speed, or on a device "
              f"{compute / t_ar:.0f}x faster per image")
    print(f"  the redundant draws equal the compute at N = {compute / b / draw:.0f} workers "
          f"(per-image compute / per-image draw)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

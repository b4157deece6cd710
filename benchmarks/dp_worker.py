"""One worker of the data-parallel training-step benchmark (not a test module).

    mpiexec -n N python benchmarks/dp_worker.py --preset sg2-32-bench --batch 32 --rounds 3
        one warm-up step, then each timed step as wall time (all workers start together, the
        step ends when the slowest does), the allreduce at the real gradient sizes, the
        random-number draws of one step and each worker's peak memory: one JSON line.
    mpiexec -n N python benchmarks/dp_worker.py --serve ...
        after the warm-up, steps on request: each line "step" on stdin (read by rank 0 and
        passed on) makes every worker take one step, then rank 0 answers "done", so a caller
        times the step from outside (bench_train_step.py); "quit" ends.

Without mpiexec it is one worker. --batch is the global batch, split over the workers.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

from minigan import distributed
from minigan.models import preset
from minigan.train import TrainConfig, Trainer


def synthetic_data(res, n=256, classes=62):
    """The benchmark's data (as bench_train_step.py): random glyph-like images and labels."""
    rng = np.random.default_rng(0)
    images = np.tanh(rng.standard_normal((n, 1, res, res))).astype(np.float32)
    return (images, rng.integers(0, classes, n), rng.integers(0, 8, n),
            "".join(map(chr, range(33, 33 + classes))))


class RecordedDraws:
    """Passes draws on to a generator and records them, to be replayed and timed alone
    (`seconds`: the best of a few replays, so that a busy machine's pauses do not count)."""

    def __init__(self, rng):
        self.rng, self.calls = rng, []

    def __getattr__(self, name):
        method = getattr(self.rng, name)

        def recorded(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return method(*args, **kwargs)
        return recorded

    def seconds(self, repeats: int = 5) -> float:
        best = float("inf")
        for _ in range(repeats):
            rng = np.random.default_rng(1)
            start = time.perf_counter()
            for name, args, kwargs in self.calls:
                getattr(rng, name)(*args, **kwargs)
            best = min(best, time.perf_counter() - start)
        return best


def _mpi(comm):
    return getattr(comm, "comm", None)


def wall(comm, fn) -> float:
    """Seconds from a common start until the slowest worker has finished fn()."""
    mpi = _mpi(comm)
    if mpi is not None:
        mpi.Barrier()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return mpi.allreduce(seconds, op=comm._MPI.MAX) if mpi is not None else seconds


def gather(comm, value) -> list:
    mpi = _mpi(comm)
    return mpi.allgather(value) if mpi is not None else [value]


def allreduce_seconds(comm, length: int, repeats: int = 10) -> float:
    """Median wall time of one in-place float32 sum over the workers of `length` numbers."""
    mpi = _mpi(comm)
    flat = np.ones(length, dtype=np.float32)
    times = [wall(comm, lambda: comm._sum_in_place(flat)) for _ in range(repeats + 2)][2:]
    return float(np.median(times)) if mpi is not None else 0.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="sg2-32-bench")
    p.add_argument("--batch", type=int, default=32, help="global batch")
    p.add_argument("--rounds", type=int, default=3, help="timed steps")
    p.add_argument("--serve", action="store_true", help="take steps on request from stdin")
    args = p.parse_args()
    cfg = preset(args.preset)
    data = synthetic_data(cfg.res)
    if cfg.conditioning != "none":
        cfg = cfg.replace(num_classes=len(data[3]), charset=data[3])
    trainer = Trainer(cfg, TrainConfig(batch=args.batch, r1_gamma=0.0), data)
    comm = trainer.comm
    trainer.step()                                   # warm-up: JIT compilation, buffers
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731
    if args.serve:
        mpi = _mpi(comm)
        if comm.is_root:
            print(json.dumps({"workers": comm.size, "peak_rss_mib": gather(comm, rss())}), flush=True)
        else:
            gather(comm, rss())
        while True:
            line = sys.stdin.readline().strip() if comm.is_root else None
            if mpi is not None:
                line = mpi.bcast(line, root=0)
            if line != "step":
                return 0
            trainer.step()
            if comm.is_root:
                print("done", flush=True)
    seconds = [wall(comm, trainer.step) for _ in range(args.rounds)]
    draws = RecordedDraws(trainer.rng)        # the draws of one step, of the global batch
    if comm.size == 1:
        trainer.draw = draws
    else:
        trainer.draw._rng = draws
    trainer.step()
    sizes = {"D": sum(q.size for q in trainer.D.parameters()),
             "G": sum(q.size for q in trainer.G.parameters()) + trainer.mc.w_dim}
    result = {"workers": comm.size, "batch": args.batch, "preset": args.preset,
              "seconds": seconds, "draw_seconds_per_step": draws.seconds(),
              "gradient_floats": sizes, "peak_rss_mib": gather(comm, rss())}
    if comm.size > 1:
        result["allreduce_seconds"] = {name: allreduce_seconds(comm, n + 4)
                                       for name, n in {**sizes, "one": 0}.items()}
    if comm.is_root:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

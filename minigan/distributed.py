"""Data-parallel training: N workers, each with an equal share of the global batch, whose
gradients are averaged by one allreduce per optimizer step.

`mpiexec -n N python -m minigan.train ...` starts N copies of the job; each finds its place from
the launcher's environment (`world()`). The transport is an existing engine, never our own:
MPI through mpi4py for CPU workers on one machine or many (`pip install minigan[mpi]`), NCCL
through CuPy for one GPU per worker (bootstrapped over MPI). A job started without a launcher,
or with one worker, gets `Single`, which touches nothing: that run is today's, bit for bit.

Why N does not change the result (beyond float rounding):
- Every worker draws the random numbers of the *whole* global batch from one shared stream
  (same seed, same order of draws as a single worker), and keeps its own samples' share
  (`Partition`). So data indices, z, style-mixing latents, noise maps and augmentation
  parameters are those the single worker would draw, and no two workers see the same sample.
  (Streams seeded apart per worker would make every run depend on N.) The price is that each
  worker generates the global batch's random numbers; docs/distributed.md measures it.
- A worker's share is whole groups of the discriminator's minibatch-standard-deviation layer,
  which mixes samples within a group: the global batch [B] is viewed as [G, B/G] (the layer's
  own grouping, sample k*B/G + m in group m) and a worker takes a range of columns m.
- Losses are batch means and the R1 penalty is sum / batch, so the mean over equal shares of
  the workers' gradients is the global batch's gradient.
- The running mean of w (`w_avg`) is updated with the batch mean of w by a linear rule, so the
  mean of the workers' updated buffers is the buffer the whole batch would give; it travels in
  the same allreduce (`BATCH_STATISTIC_BUFFERS`). EMA then follows identical weights.
- Logged losses and the stop flag (Ctrl-C on any worker) travel in it too: every worker sees
  the same numbers and stops after the same step, so none waits forever on another.
"""
from __future__ import annotations

import os
import sys
import zlib

import numpy as np

from . import backend
from .errors import UserError

# Buffers a forward pass updates from batch statistics by a linear rule (a running mean): the
# mean of the workers' updates is the whole batch's update. tests/test_distributed.py checks
# that a training step changes no other buffer.
BATCH_STATISTIC_BUFFERS = ("w_avg",)

# (environment variable of the world size, of this process's rank), as MPI launchers set them:
# MPICH / Intel MPI (hydra, also under Slurm's PMI), Open MPI, MVAPICH.
_LAUNCHER_VARIABLES = (("PMI_SIZE", "PMI_RANK"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
                       ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"))


def mbstd_group(n: int, group_size: int) -> int:
    """The group that `nn.style.minibatch_std` uses for a batch of n: the largest divisor of n
    not above group_size."""
    return max(k for k in range(1, min(group_size, n) + 1) if n % k == 0)


class Partition:
    """Which samples of the global batch are this worker's, and the random numbers that go
    with them.

    The global batch [B] is laid out as [G, B/G] (G: the discriminator's minibatch-std group),
    the worker of rank r takes columns [r*b/G, (r+1)*b/G) (b = B/N), so each of its groups is a
    group of the global batch, in the same order."""

    def __init__(self, batch: int, workers: int, rank: int, group_size: int):
        if batch % workers:
            raise UserError(f"--batch: {batch} does not split into {workers} equal shares; "
                            f"choose a multiple of {workers} workers")
        self.batch, self.workers, self.rank = batch, workers, rank
        self.local = batch // workers
        self.group = mbstd_group(batch, group_size)
        if workers > 1 and (self.local % self.group or mbstd_group(self.local, group_size) != self.group):
            raise UserError(f"--batch: {batch} over {workers} workers gives {self.local} per "
                            f"worker, not whole minibatch-std groups of {self.group}; use a "
                            f"--batch of at least {workers * self.group} that is a multiple of it")
        columns = self.local // self.group
        self._columns = slice(rank * columns, (rank + 1) * columns)

    def take(self, array):
        """This worker's samples of a global-batch array [B, ...] -> [b, ...]."""
        if self.workers == 1:
            return array
        if array.shape[0] != self.batch:
            raise ValueError(f"expected a global batch of {self.batch}, got shape {array.shape}")
        view = array.reshape(self.group, self.batch // self.group, *array.shape[1:])
        return view[:, self._columns].reshape(self.local, *array.shape[1:])

    def rng(self, rng: np.random.Generator):
        """The generator to draw this worker's per-sample numbers from: the shared one itself
        for a single worker, else a `SliceRNG` over it."""
        return rng if self.workers == 1 else SliceRNG(rng, self)


class SliceRNG:
    """Draws what a single worker would draw for the global batch and keeps this worker's share.

    A draw with a size must be per sample (its first dimension this worker's batch); a draw
    without one (a style-mixing coin, a crossover layer) is shared and made as it is. Only the
    methods below exist, so an unforeseen draw fails loudly instead of splitting wrongly."""

    def __init__(self, rng: np.random.Generator, part: Partition):
        self._rng, self._part = rng, part

    def _global(self, size):
        shape = (size,) if np.isscalar(size) else tuple(size)
        if not shape or shape[0] != self._part.local:
            raise ValueError(f"a per-sample draw must lead with the worker's batch of "
                             f"{self._part.local}, got size {size}")
        return (self._part.batch, *shape[1:])

    def standard_normal(self, size=None, dtype=np.float64):
        if size is None:
            return self._rng.standard_normal(dtype=dtype)
        return self._part.take(self._rng.standard_normal(self._global(size), dtype=dtype))

    def random(self, size=None, dtype=np.float64):
        if size is None:
            return self._rng.random(dtype=dtype)
        return self._part.take(self._rng.random(self._global(size), dtype=dtype))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if size is None:
            return self._rng.integers(low, high, dtype=dtype, endpoint=endpoint)
        return self._part.take(self._rng.integers(low, high, self._global(size), dtype=dtype,
                                                  endpoint=endpoint))

    def uniform(self, low=0.0, high=1.0, size=None):
        if size is None:
            return self._rng.uniform(low, high)
        return self._part.take(self._rng.uniform(low, high, self._global(size)))


class Single:
    """One worker: nothing to exchange."""

    size, rank = 1, 0

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def partition(self, batch: int, group_size: int) -> Partition:
        return Partition(batch, self.size, self.rank, group_size)

    def average(self, optimizer, values, buffers=()) -> list:
        """Average the gradients of `optimizer`'s parameters and the `buffers` over the
        workers, and return the workers' mean of each scalar tensor in `values` (None stays
        None)."""
        return [None if v is None else v.item() for v in values]

    def agree_stop(self, stop: bool) -> bool:
        """Whether to stop after this step: the local request (Ctrl-C) here; with workers,
        any worker's request as exchanged in the last allreduce."""
        return stop

    def check_same(self, arrays) -> None:
        """Raise if the workers do not hold the same `arrays` (no-op for one worker)."""

    def abort(self, code: int) -> None:
        """End every worker with `code` (one worker: nothing to do; the caller returns it)."""


class Collective(Single):
    """Workers that average over one flat buffer per optimizer step; subclasses provide the
    transport (`_sum_in_place`, `_gather`, `abort`)."""

    def __init__(self, size: int, rank: int):
        self.size, self.rank = size, rank
        self._buffers: dict = {}
        self._stop_local = False
        self._stop_agreed = False

    def _sum_in_place(self, flat) -> None:
        raise NotImplementedError

    def _gather(self, value: int) -> list[int]:
        raise NotImplementedError

    def _flat(self, xp, dtype, length: int):
        """A buffer reused from step to step (one per layout)."""
        key = (xp.__name__, np.dtype(dtype).name, length)
        if key not in self._buffers:
            self._buffers[key] = xp.empty(length, dtype=dtype)
        return self._buffers[key]

    def average(self, optimizer, values, buffers=()) -> list:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        holders = grads + list(buffers)                 # Tensors whose .data is averaged
        arrays = [t.data for t in holders]
        xp = backend.get_array_module(arrays[0]) if arrays else np
        dtype = arrays[0].dtype if arrays else np.float32
        # [gradients and buffers..., values..., number of gradients, stop flag]
        body = sum(a.size for a in arrays)
        flat = self._flat(xp, dtype, body + len(values) + 2)
        offset = 0
        for a in arrays:
            flat[offset:offset + a.size] = a.reshape(-1)
            offset += a.size
        tail = [0.0 if v is None else v.item() for v in values] + [len(grads), self._stop_local]
        flat[body:] = xp.asarray(np.array(tail, dtype=dtype))
        self._sum_in_place(flat)
        summed = backend.to_numpy(flat[body:])
        if summed[-2] != len(grads) * self.size:
            raise RuntimeError(f"workers disagree on which parameters have gradients "
                               f"({summed[-2]:g} over {self.size} workers, {len(grads)} here)")
        self._stop_agreed = self._stop_agreed or bool(summed[-1] > 0)
        flat[:body] /= self.size
        offset = 0
        for t, a in zip(holders, arrays):      # fresh arrays: a gradient may be a read-only view
            t.data = flat[offset:offset + a.size].reshape(a.shape).copy()
            offset += a.size
        return [None if v is None else float(s) / self.size for v, s in zip(values, summed)]

    def agree_stop(self, stop: bool) -> bool:
        self._stop_local = self._stop_local or bool(stop)
        return self._stop_agreed

    def check_same(self, arrays) -> None:
        crc = 0
        for a in arrays:
            crc = zlib.crc32(np.ascontiguousarray(backend.to_numpy(a)).view(np.uint8), crc)
        crcs = self._gather(crc)
        if len(set(crcs)) > 1:
            raise UserError(f"workers start from different states (data, checkpoint or code "
                            f"differ between them: fingerprints {crcs}); give every worker the "
                            f"same files and the same minigan version")


class MPIWorld(Collective):
    """CPU workers over MPI (mpi4py): the gradients are summed by MPI_Allreduce in place."""

    def __init__(self, comm=None):
        MPI = _import_mpi()
        self._MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        super().__init__(self.comm.Get_size(), self.comm.Get_rank())
        if self.size > 1 and comm is None:
            # A crash on one worker would leave the others waiting in an allreduce forever.
            previous = sys.excepthook

            def abort_all(*exc_info):
                previous(*exc_info)
                sys.stderr.flush()
                self.comm.Abort(1)
            sys.excepthook = abort_all

    def _sum_in_place(self, flat) -> None:
        self.comm.Allreduce(self._MPI.IN_PLACE, flat, op=self._MPI.SUM)

    def _gather(self, value: int) -> list[int]:
        return self.comm.allgather(int(value))

    def abort(self, code: int) -> None:
        self.comm.Abort(code)


class NCCLWorld(MPIWorld):
    """One GPU per worker: gradients (CuPy arrays) are summed by NCCL, which MPI starts (rank 0
    makes NCCL's id and broadcasts it) and which picks each worker's GPU by its rank on its
    machine."""

    def __init__(self, comm=None, nccl=None, cuda=None):
        super().__init__(comm)
        if nccl is None or cuda is None:
            cupy = backend.cupy_or_raise()
            from cupy.cuda import nccl
            cuda = cupy.cuda
        self._nccl, self._cuda = nccl, cuda
        local = self.comm.Split_type(self._MPI.COMM_TYPE_SHARED).Get_rank()
        cuda.Device(local % cuda.runtime.getDeviceCount()).use()
        uid = self.comm.bcast(nccl.get_unique_id() if self.rank == 0 else None, root=0)
        self.nccl_comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    def _sum_in_place(self, flat) -> None:
        if isinstance(flat, np.ndarray):                  # a layout with nothing on the GPU
            return super()._sum_in_place(flat)
        kind = {"float32": self._nccl.NCCL_FLOAT32, "float64": self._nccl.NCCL_FLOAT64}
        self.nccl_comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, kind[flat.dtype.name],
                                 self._nccl.NCCL_SUM, self._cuda.get_current_stream().ptr)


def batch_statistics(module) -> list:
    """The buffers of `module` named in BATCH_STATISTIC_BUFFERS."""
    return [b for name, b in module.named_buffers()
            if name.rsplit(".", 1)[-1] in BATCH_STATISTIC_BUFFERS]


def check_replicas(trainer) -> None:
    """Raise unless every worker holds the same weights, optimizer state, RNG state, step and
    data (checked once, at the start: a machine with other files would train on silently)."""
    if trainer.comm.size > 1:
        trainer.comm.check_same(_replica_arrays(trainer))


def _replica_arrays(trainer) -> list:
    import json

    arrays = [np.array([trainer.step_index, trainer.tc.batch])]
    for module in (trainer.G, trainer.D, trainer.G_ema):
        arrays += list(module.state_dict().values())
    for opt in (trainer.opt_G, trainer.opt_D):
        arrays += list(opt.state_dict().values())
    state = json.dumps(trainer.rng.bit_generator.state, sort_keys=True)
    arrays.append(np.frombuffer(state.encode(), dtype=np.uint8))
    return arrays + [trainer.images, trainer.labels]


def abort(code: int) -> None:
    """End every worker with `code` when this process is one of several (one worker that
    returns an error while the others wait on it would hang them all); else return."""
    if "comm" in _world:
        _world["comm"].abort(code)
    elif launched_workers()[0] > 1:
        _import_mpi().COMM_WORLD.Abort(code)


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise UserError("mpiexec: this job was started with several workers, which needs mpi4py; "
                        "pip install minigan[mpi]") from None
    return MPI


def launched_workers() -> tuple[int, int]:
    """(world size, rank) from an MPI launcher's environment; (1, 0) without one."""
    for size_name, rank_name in _LAUNCHER_VARIABLES:
        if size_name in os.environ:
            return int(os.environ[size_name]), int(os.environ.get(rank_name, "0"))
    return 1, 0


_world: dict = {}


def world(device: str = "cpu"):
    """This process's communicator, made once: `Single` without a launcher or with one worker,
    else `MPIWorld` on the CPU and `NCCLWorld` on CUDA."""
    if "comm" in _world:
        if _world["device"] != device and _world["comm"].size > 1:
            raise ValueError(f"the workers already communicate for {_world['device']}, "
                             f"not {device}")
        return _world["comm"]
    size, _ = launched_workers()
    if size == 1:
        comm = Single()
    else:
        comm = NCCLWorld() if device == "cuda" else MPIWorld()
    _world.update(comm=comm, device=device)
    return comm


def is_root() -> bool:
    """Whether this process is the one that writes files and logs (rank 0, or the only one)."""
    return _world["comm"].is_root if "comm" in _world else launched_workers()[1] == 0

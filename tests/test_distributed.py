"""Data parallelism: workers split the global batch so that results do not depend on their
number. The in-process tests check the pieces (the split, the shared random numbers, the
fused average, the NCCL wiring with stand-ins); the MPI tests run `mpiexec -n 2` for real
(pip install minigan[mpi])."""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from minigan import distributed
from minigan.autograd import Tensor
from minigan.distributed import Collective, NCCLWorld, Partition, Single, SliceRNG
from minigan.errors import UserError
from minigan.models import preset
from minigan.nn.module import Parameter
from minigan.nn.style import minibatch_std
from minigan.optim import Adam
from minigan.train import TrainConfig, Trainer


@pytest.mark.parametrize("batch,workers,group", [(32, 2, 4), (32, 4, 4), (24, 3, 4), (12, 3, 4),
                                                 (6, 2, 4), (8, 8, 1)])
def test_partition_keeps_minibatch_std_groups(batch, workers, group):
    """Each worker's minibatch-std features equal the global batch's on its samples, and the
    workers' shares cover the batch once."""
    x = Tensor(np.random.default_rng(0).standard_normal((batch, 3, 2, 2)).astype(np.float32))
    whole = minibatch_std(x, group).data                                # [B, 4, 2, 2]
    ids = []
    for rank in range(workers):
        part = Partition(batch, workers, rank, group)
        mine = minibatch_std(Tensor(part.take(x.data)), group).data
        np.testing.assert_allclose(mine, part.take(whole), rtol=1e-6, atol=1e-7)
        ids += list(part.take(np.arange(batch)))
    assert sorted(ids) == list(range(batch))


@pytest.mark.parametrize("batch,workers,message", [(30, 4, "equal shares"),
                                                   (32, 16, "minibatch-std groups"),
                                                   (12, 2, "minibatch-std groups")])
def test_partition_rejects_batches_that_do_not_split(batch, workers, message):
    with pytest.raises(UserError, match=message):
        Partition(batch, workers, 0, 4)


def test_slice_rng_draws_what_one_worker_draws():
    """A worker's per-sample numbers are its share of the single worker's draws, shared draws
    are the single worker's, and the generator ends where the single worker's does."""
    def draws(rng, b):
        return [rng.standard_normal((b, 3), dtype=np.float32), rng.integers(0, 10, b),
                rng.uniform(-1, 1, b), rng.random(), rng.integers(1, 5), rng.random((b, 2))]

    single = np.random.default_rng(5)
    whole = draws(single, 8)
    for rank in range(2):
        part = Partition(8, 2, rank, 4)
        rng = np.random.default_rng(5)
        mine = draws(SliceRNG(rng, part), part.local)
        for got, want in zip(mine, whole):
            if np.ndim(want):
                want = part.take(want)
            np.testing.assert_array_equal(got, want)
        assert rng.bit_generator.state == single.bit_generator.state
    with pytest.raises(ValueError, match="lead with the worker's batch"):
        SliceRNG(np.random.default_rng(0), Partition(8, 2, 0, 4)).standard_normal((8, 3))


class SumWith(Collective):
    """Worker 0 of two, whose partner's flat buffer is given: the transport's sum, in-process."""

    def __init__(self, partner):
        super().__init__(size=2, rank=0)
        self.partner = partner

    def _sum_in_place(self, flat):
        flat += self.partner

    def _gather(self, value):
        return [value, value]


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = Parameter(np.zeros_like(g))
        p.grad = Tensor(np.broadcast_to(g, g.shape))          # read-only, as autograd may give
        params.append(p)
    return params


def test_collective_average_is_one_fused_mean():
    mine = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(2, np.float32)]
    theirs = [np.full((2, 3), 4, np.float32), np.full(2, 3, np.float32)]
    params = _params_with_grads(mine)
    params.append(Parameter(np.zeros(4)))                                 # no gradient: left out
    opt = Adam(params)
    buffer = Tensor(np.array([1.0, 2.0], np.float32))
    # [their gradients, their buffer, their loss, their r1 (None: 0), 2 gradients, stop flag]
    partner = np.concatenate([theirs[0].ravel(), theirs[1], [5.0, 7.0], [3.0, 0.0], [2, 1]])
    comm = SumWith(partner.astype(np.float32))
    loss, r1 = comm.average(opt, [Tensor(np.float32(1.0)), None], [buffer])
    np.testing.assert_array_equal(params[0].grad.data, (mine[0] + theirs[0]) / 2)
    np.testing.assert_array_equal(params[1].grad.data, (mine[1] + theirs[1]) / 2)
    assert params[2].grad is None
    np.testing.assert_array_equal(buffer.data, [3.0, 4.5])
    assert (loss, r1) == (2.0, None)
    assert comm.agree_stop(False)                      # the partner asked to stop
    partner[-2] = 1                                    # the partner has one gradient, not two
    with pytest.raises(RuntimeError, match="disagree on which parameters"):
        SumWith(partner.astype(np.float32)).average(opt, [None, None], [buffer])


def test_single_worker_touches_nothing():
    comm = Single()
    rng = np.random.default_rng(0)
    assert comm.partition(32, 4).rng(rng) is rng
    params = _params_with_grads([np.ones(3, np.float32)])
    before = params[0].grad.data
    assert comm.average(Adam(params), [Tensor(np.float32(2.5)), None]) == [2.5, None]
    assert params[0].grad.data is before and not comm.agree_stop(False) and comm.agree_stop(True)


def _data(res, n=64, classes=10):
    rng = np.random.default_rng(0)
    images = np.tanh(rng.standard_normal((n, 1, res, res))).astype(np.float32)
    return images, rng.integers(0, classes, n), None, "0123456789"


def test_a_step_changes_only_the_batch_statistic_buffers():
    """Buffers a step changes must be averaged over the workers; those are
    BATCH_STATISTIC_BUFFERS, and no other buffer may change unseen."""
    mc = preset("sg2-16-small").replace(num_classes=10, charset="0123456789")
    trainer = Trainer(mc, TrainConfig(batch=8, r1_interval=1), _data(16), comm=Single())
    modules = {"G": trainer.G, "D": trainer.D}
    before = {f"{m}.{k}": b.data.copy() for m, mod in modules.items()
              for k, b in mod.named_buffers()}
    trainer.step()
    after = {f"{m}.{k}": b.data for m, mod in modules.items() for k, b in mod.named_buffers()}
    changed = {k.rsplit(".", 1)[-1] for k in before if not np.array_equal(before[k], after[k])}
    assert changed == set(distributed.BATCH_STATISTIC_BUFFERS)
    assert [b for b in distributed.batch_statistics(trainer.G)] == [trainer.G.mapping.w_avg]


def test_nccl_world_wiring_with_stand_ins():
    """The NCCL communicator takes its GPU by its rank on its machine, gets NCCL's id from rank
    0 over MPI and sums device buffers in place on the current stream (no GPU here: stand-ins)."""
    calls = {}

    class Comm:
        def Get_size(self):
            return 4

        def Get_rank(self):
            return 3

        def Split_type(self, kind):
            return SimpleNamespace(Get_rank=lambda: 1)

        def bcast(self, value, root):
            calls["bcast"] = (value, root)
            return "id-from-rank-0"

    nccl = SimpleNamespace(
        NCCL_FLOAT32="f32", NCCL_FLOAT64="f64", NCCL_SUM="sum", get_unique_id=lambda: "mine",
        NcclCommunicator=lambda *args: SimpleNamespace(
            args=args, allReduce=lambda *a: calls.setdefault("allreduce", a)))
    cuda = SimpleNamespace(
        Device=lambda i: SimpleNamespace(use=lambda: calls.setdefault("device", i)),
        runtime=SimpleNamespace(getDeviceCount=lambda: 2),
        get_current_stream=lambda: SimpleNamespace(ptr=99))
    pytest.importorskip("mpi4py", reason="mpi4py not installed (pip install minigan[mpi])")
    world = NCCLWorld(Comm(), nccl=nccl, cuda=cuda)
    assert (world.size, world.rank, calls["device"], calls["bcast"]) == (4, 3, 1, (None, 0))
    assert world.nccl_comm.args == (4, "id-from-rank-0", 3)
    device_flat = SimpleNamespace(data=SimpleNamespace(ptr=1234), size=10,
                                  dtype=np.dtype(np.float32))
    world._sum_in_place(device_flat)
    assert calls["allreduce"] == (1234, 1234, 10, "f32", "sum", 99)


# ----- real workers under mpiexec ---------------------------------------------------------------

def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py or mpiexec not installed "
                                                       "(pip install minigan[mpi])")
ARGS = ["--preset", "sg2-16-small", "--batch", "8", "--tick-kimg", "0.016", "--r1-interval", "2",
        "--augment", "translation,cutout,scale", "--seed", "3"]


def _train(workers, out, kimg, *extra):
    """Train under mpiexec with `workers` processes (one: no mpiexec). A lone worker gives
    OpenBLAS two threads, as many as the two workers' processes: its matmuls then sum in
    the order the two workers do (measured: within 3e-5 of an array's scale after four
    steps). With one thread the rounding differs, and Adam, which steps by the gradient's
    sign, turns it within four steps into differences of half an array's scale in the
    parameters whose gradients are near zero (the noise strengths start at 0). Measured on
    2026-12-04 with numpy 2.3 and 2.4 alike; an earlier machine kept them within 2e-5."""
    command = [sys.executable, "-m", "minigan.train", *ARGS, "--kimg", str(kimg), "--out",
               str(out), *extra]
    if workers > 1:
        command = [MPIEXEC, "-n", str(workers), *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "MV2_"))}
    env.update(OPENBLAS_NUM_THREADS="1" if workers > 1 else "2", NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _assert_same_run(a, b):
    """Every weight, buffer and optimizer slot of two checkpoints agree to float32 rounding
    (1e-4 of each array's largest value; measured: under 2e-5 after four Adam steps, whose
    first step amplifies rounding in near-zero gradients). Optimizer slots are compared too:
    Adam's update ignores the gradients' scale, its second moment does not."""
    a, b = np.load(a), np.load(b)
    assert sorted(a.files) == sorted(b.files)
    for key in a.files:
        if a[key].dtype.kind != "f":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        elif a[key].size:
            scale = max(float(np.abs(a[key]).max()), 1e-30)
            assert float(np.abs(a[key] - b[key]).max()) <= 1e-4 * scale, key


@pytest.mark.slow
@needs_mpi
def test_two_workers_train_as_one_and_resume_with_any_number(tmp_path):
    """Four steps on 2 workers equal four on one worker with the same global batch; a run
    begun on one worker and resumed on two equals them too; rank 0 alone writes and logs."""
    one = tmp_path / "one"
    _train(1, one, 0.016)                                            # two steps
    shutil.copytree(one, tmp_path / "one_then_two")
    _train(1, one, 0.032, "--resume")                                # four steps, one worker
    log = _train(2, tmp_path / "two", 0.032)
    assert log.count("done. Pictures") == 1 and log.count("kimg ") == 2
    _train(2, tmp_path / "one_then_two", 0.032, "--resume")
    for run in ("two", "one_then_two"):
        _assert_same_run(one / "checkpoint.npz", tmp_path / run / "checkpoint.npz")
    assert len((tmp_path / "two" / "metrics.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in (tmp_path / "two" / "grids").iterdir()) == \
        sorted(p.name for p in (one / "grids").iterdir())


@needs_mpi
def test_an_error_on_the_workers_ends_them_all(tmp_path):
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "minigan.train", "--batch", "7",
               "--kimg", "0.01", "--out", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--batch: 7 does not split into 2 equal shares" in done.stderr

"""One training step (one D update + one G update, no R1) of the benchmark presets at batch 32.

extra_info records the step time, the model FLOPs per step counted from the layer shapes,
the achieved GFLOP/s and its fraction of this machine's float32 matmul rate measured in the
same session, and the peak resident memory of the process.

sg2-32-bench-dp2 is the same step on 2 MPI workers (16 images each), timed from outside as the
wall time of the step (pip install minigan[mpi]); sg2-32-bench-torch2 is its PyTorch peer on
two threads (benchmarks/torch_peer.py; skipped without torch). benchmarks/dp_report.py prints
all three as one table with the scaling efficiency and the allreduce's cost.
Run: python -m pytest benchmarks/bench_train_step.py --benchmark-only
"""
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigan.models import preset
from minigan.models.config import _resolutions
from minigan.train import TrainConfig, Trainer

from conftest import probe, record

BATCH = 32


def conv_flops(n, c_in, c_out, h_out, k):
    return 2 * n * c_in * c_out * h_out * h_out * k * k


def generator_flops(cfg, n):
    """Forward multiply-adds of the convolutions and dense layers (the bulk of the work)."""
    ch, res = cfg.g_channels, _resolutions(cfg.res)
    total = 2 * n * cfg.mapping_layers * cfg.w_dim * cfg.w_dim
    if cfg.model == "condgan":
        total += 2 * n * (3 * cfg.z_dim) * ch[4] * 16
        for r in res[1:]:
            total += conv_flops(n, ch[r // 2], ch[r], r, 3) + conv_flops(n, ch[r], ch[r], r, 3)
        return total + conv_flops(n, ch[cfg.res], 1, cfg.res, 1)
    total += conv_flops(n, ch[4], ch[4], 4, 3) + conv_flops(n, ch[4], 1, 4, 1)
    for r in res[1:]:
        total += conv_flops(n, ch[r // 2], ch[r], r // 2, 3)        # transposed conv at r/2
        total += conv_flops(n, ch[r], ch[r], r, 3) + conv_flops(n, ch[r], 1, r, 1)
    return total


def discriminator_flops(cfg, n):
    ch = cfg.d_channels
    total = conv_flops(n, 1, ch[cfg.res], cfg.res, 1)
    for r in _resolutions(cfg.res)[::-1][:-1]:
        total += conv_flops(n, ch[r], ch[r], r, 3) + conv_flops(n, ch[r], ch[r // 2], r // 2, 3)
        total += conv_flops(n, ch[r], ch[r // 2], r // 2, 1)
    total += conv_flops(n, ch[4] + 1, ch[4], 4, 3) + 2 * n * ch[4] * 16 * ch[4]
    return total


def step_flops(cfg, n):
    """D step: G forward, D forward+backward on real and fake. G step: G and D forward and
    backward (D's backward to its input only, about one forward's worth). Backward ~ 2x."""
    g, d = generator_flops(cfg, n), discriminator_flops(cfg, n)
    d_step = g + 2 * (3 * d)
    g_step = 3 * g + d + d
    return d_step + g_step


def _data(res, n=256, classes=62):
    rng = np.random.default_rng(0)
    images = np.tanh(rng.standard_normal((n, 1, res, res))).astype(np.float32)
    return images, rng.integers(0, classes, n), rng.integers(0, 8, n), "".join(map(chr, range(33, 33 + classes)))


@pytest.mark.parametrize("name", ["sg2-32-bench", "sg2-16-bench", "condgan-32"])
def test_train_step(benchmark, machine, name):
    cfg = preset(name)
    if cfg.model == "condgan":
        cfg = cfg.replace(num_classes=62, num_writers=8)
    trainer = Trainer(cfg, TrainConfig(batch=BATCH, r1_gamma=0.0), _data(cfg.res))
    stats = trainer.step()  # warm-up: JIT compilation outside the timed region
    assert all(np.isfinite(v) for v in stats.values())
    benchmark.pedantic(trainer.step, setup=probe(machine), rounds=3, iterations=1)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record(benchmark, machine, flops=step_flops(cfg, BATCH), preset=name, batch=BATCH,
           gflop_per_step=round(step_flops(cfg, BATCH) / 1e9, 2), peak_rss_mib=round(peak_mib))
    machine.setdefault("one_worker_seconds", {})[name] = benchmark.extra_info.get("seconds")


def mpiexec():
    """The mpiexec beside this Python (the mpich wheel's) or on PATH, if mpi4py is installed."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


@pytest.mark.skipif(mpiexec() is None, reason="mpi4py or mpiexec not installed "
                                              "(pip install minigan[mpi])")
@pytest.mark.parametrize("name", ["sg2-32-bench-dp2"])
def test_train_step_data_parallel(benchmark, machine, name):
    """The step on 2 workers, each a single-threaded process with half the batch; timed from
    here, through the worker's stdin and stdout, as the wall time until both are done."""
    preset_name, workers = name.rsplit("-dp", 1)
    worker = Path(__file__).with_name("dp_worker.py")
    proc = subprocess.Popen([mpiexec(), "-n", workers, sys.executable, str(worker), "--serve",
                             "--preset", preset_name, "--batch", str(BATCH)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())     # after the warm-up step
        assert ready["workers"] == int(workers)

        def step():
            proc.stdin.write("step\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "done"
        benchmark.pedantic(step, setup=probe(machine), rounds=3, iterations=1)
    finally:
        proc.stdin.write("quit\n")
        proc.stdin.close()
        proc.wait(timeout=60)
    cfg = preset(preset_name)
    record(benchmark, machine, flops=step_flops(cfg, BATCH), preset=preset_name, batch=BATCH,
           workers=int(workers), peak_rss_mib_per_worker=[round(m) for m in ready["peak_rss_mib"]])
    one = machine.get("one_worker_seconds", {}).get(preset_name)
    if one:             # when the 1-worker case ran first in this session
        benchmark.extra_info["scaling_efficiency"] = round(
            one / (int(workers) * benchmark.extra_info["seconds"]), 3)


@pytest.mark.parametrize("name", ["sg2-32-bench-torch2"])
def test_train_step_torch(benchmark, machine, name):
    """PyTorch CPU on two threads, the same networks and step (the reference anchor)."""
    torch = pytest.importorskip("torch", reason="torch not installed (a benchmark peer only)")
    sys.path.insert(0, str(Path(__file__).parent))
    from torch_peer import Step

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        step = Step(torch, batch=BATCH)
        assert all(np.isfinite(step()))
        benchmark.pedantic(step, setup=probe(machine), rounds=3, iterations=1)
    finally:
        torch.set_num_threads(threads)
    record(benchmark, machine, flops=step_flops(preset("sg2-32-bench"), BATCH), threads=2,
           batch=BATCH, peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

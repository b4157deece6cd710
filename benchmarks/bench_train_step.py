"""One training step (one D update + one G update, no R1) of the benchmark presets at batch 32.

extra_info records the step time, the model FLOPs per step counted from the layer shapes,
the achieved GFLOP/s and its fraction of this machine's float32 matmul rate measured in the
same session, and the peak resident memory of the process.
Run: python -m pytest benchmarks/bench_train_step.py --benchmark-only
"""
import resource

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

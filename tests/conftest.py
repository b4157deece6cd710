"""Shared fixtures: where the real data lives (and a skip when it is absent), and a tiny
untrained content-conditioned model to write with."""
import functools
import os
from pathlib import Path

import pytest


def data_dir() -> Path | None:
    """The folder named by MINIGAN_DATA, if it is set and exists."""
    value = os.environ.get("MINIGAN_DATA")
    if value and Path(value).is_dir():
        return Path(value)
    return None


@pytest.fixture
def real_data():
    """Path of a real data file by name; skips the test with a reason when it is absent."""

    def find(filename: str) -> Path:
        root = data_dir()
        if root is None:
            pytest.skip("real data absent: set MINIGAN_DATA to the folder holding the .npz files")
        path = root / filename
        if not path.is_file():
            pytest.skip(f"real data absent: {filename} is not in MINIGAN_DATA={root}")
        return path

    return find


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A run folder holding a tiny untrained content-conditioned StyleGAN2 over "abgdTh"."""
    from minigan.checkpoint import save_checkpoint
    from minigan.models import ModelConfig, build_models

    cfg = ModelConfig(model="stylegan2", res=16, z_dim=16, w_dim=16, mapping_layers=1,
                      conditioning="content", num_classes=6, charset="abgdTh",
                      g_channels={4: 16, 8: 12, 16: 8}, d_channels={16: 8, 8: 12, 4: 16})
    d = tmp_path_factory.mktemp("model")
    G, _ = build_models(cfg)
    save_checkpoint(d / "checkpoint.npz", 0, {"model": cfg.to_dict()}, modules={"G_ema": G})
    return d


@functools.lru_cache(maxsize=1)
def _load_strokes(path: str):
    from minigan.data.synth_sheets import load_strokes

    return load_strokes(path)


@pytest.fixture
def strokes(real_data):
    """Chars74K's pen trajectories, read once per session, for the generated sheets."""
    return _load_strokes(str(real_data("chars74k_hnd.npz")))

"""Draw glyphs from a trained generator: a sample grid, or the study's style-mixing grid.

    python -m minigan.generate --ckpt runs/default --n 64 --chars abc --out grid.png
    python -m minigan.generate --ckpt runs/default --mix --crossover 2 --out mix.png

--mix draws the study's style-mixing grid: the top row and the left column are the sources;
cell (i, j) takes the styles of row source i for the style inputs before the crossover layer
and those of column source j from it on.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from . import ops
from ._cli import ArgumentParser, HelpFormatter, float_in, image_file, int_in, job
from .autograd import Tensor, no_grad
from .checkpoint import CheckpointError, load_checkpoint
from .errors import UserError
from .images import image_grid, save_atomic
from .models import ModelConfig, build_models


def run_checkpoint(path) -> Path:
    """The checkpoint file of a run folder, or the path itself when it is a file."""
    path = Path(path)
    return path / "checkpoint.npz" if path.is_dir() else path


def generator_from_checkpoint(ckpt, ema: bool = True, device: str = "cpu"):
    """(generator in eval mode, its ModelConfig) from a loaded Checkpoint."""
    cfg = model_config(ckpt)
    G, _ = build_models(cfg)
    if ckpt.config.get("train", {}).get("finetune"):
        # A fine-tuning run added one writer row to its base model (see minigan.train).
        G.add_writer()
        cfg = cfg.replace(num_writers=cfg.num_writers + 1)
    name = "G_ema" if ema and "G_ema" in ckpt.modules else "G"
    ckpt.restore(modules={name: G})
    G.to(device).eval().requires_grad_(False)
    return G, cfg


def model_config(ckpt) -> ModelConfig:
    """The checkpoint's ModelConfig; a missing or damaged one raises CheckpointError."""
    where = ckpt.path or "the checkpoint"
    if not isinstance(ckpt.config.get("model"), dict):
        raise CheckpointError(f"{where} holds no model configuration")
    try:
        cfg = ModelConfig.from_dict(ckpt.config["model"])
        cfg.check_classes()
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{where}: damaged model configuration ({e})") from None
    return cfg


def load_generator(path, ema: bool = True, device: str = "cpu"):
    """(generator, config) from a checkpoint file or a run folder holding checkpoint.npz."""
    return generator_from_checkpoint(load_checkpoint(run_checkpoint(path)), ema, device)


def labels_for(cfg: ModelConfig, chars: str, n: int) -> np.ndarray | None:
    """Class indices for the characters `chars`, cycled to n (None for unconditional models)."""
    if not cfg.num_classes:
        if chars:
            raise UserError("--chars: this model is unconditional; it cannot be asked for "
                            "characters (leave --chars out)")
        return None
    charset = cfg.charset or "".join(map(chr, range(cfg.num_classes)))
    chars = chars or charset
    unknown = sorted(set(chars) - set(charset))
    if unknown:
        raise UserError(f"the model cannot draw {''.join(unknown)!r}; it knows {charset!r}")
    picks = [charset.index(c) for c in chars]
    return np.array([picks[i % len(picks)] for i in range(n)], dtype=np.int64)


@no_grad()
def sample(G, cfg: ModelConfig, n: int, chars: str = "", truncation: float = 1.0,
           seed: int = 0, writers=None) -> np.ndarray:
    """n glyphs [n, 1, res, res] in [-1, 1]."""
    rng = np.random.default_rng(seed)
    z = Tensor(rng.standard_normal((n, cfg.z_dim)).astype(np.float32))
    labels = labels_for(cfg, chars, n)
    if cfg.model == "condgan":
        if cfg.num_writers and writers is None:
            writers = rng.integers(0, cfg.num_writers, n)
        return G(z, labels, writers, truncation=truncation).numpy()
    return G(z, labels, truncation=truncation, noise_mode="const").numpy()


def mix_ws(ws_rows: Tensor, ws_cols: Tensor, crossover: int) -> Tensor:
    """Every (row, col) pair: styles [0, crossover) from the row, [crossover, num_ws) from the col.

    ws_rows [R, L, D], ws_cols [C, L, D] -> [R * C, L, D], row-major.
    """
    r, layers, d = ws_rows.shape
    c = ws_cols.shape[0]
    if not 0 <= crossover <= layers:
        raise UserError(f"--crossover must be in [0, {layers}] for this model, got {crossover}")
    rows = ops.broadcast_to(ws_rows.reshape(r, 1, layers, d), (r, c, layers, d))
    cols = ops.broadcast_to(ws_cols.reshape(1, c, layers, d), (r, c, layers, d))
    mixed = ops.concat([rows[:, :, :crossover], cols[:, :, crossover:]], axis=2)
    return mixed.reshape(r * c, layers, d)


@no_grad()
def mixing_grid(G, cfg: ModelConfig, rows: int = 5, cols: int = 5, crossover: int = 2,
                char: str = "", truncation: float = 0.7, seed: int = 0) -> Image.Image:
    """The study's grid: sources along the top and the left, their mixes inside."""
    if cfg.model == "condgan":
        raise UserError("--mix: style mixing needs a StyleGAN or StyleGAN2 checkpoint, not a "
                        "CondGAN")
    rng = np.random.default_rng(seed)
    label = labels_for(cfg, char[:1], 1)

    def ws(n):
        z = Tensor(rng.standard_normal((n, cfg.z_dim)).astype(np.float32))
        embed = np.repeat(label, n) if cfg.conditioning == "embed" else None
        return G.ws_from_w(G.mapping(z, embed, truncation=truncation))

    def draw(w):
        labels = np.repeat(label, w.shape[0]) if label is not None else None
        return G.synthesis(w, labels, noise_mode="const").numpy()

    ws_rows, ws_cols = ws(rows), ws(cols)
    blank = np.full((1, 1, cfg.res, cfg.res), -1.0, dtype=np.float32)
    top = np.concatenate([blank, draw(ws_cols)])
    body = draw(mix_ws(ws_rows, ws_cols, crossover)).reshape(rows, cols, 1, cfg.res, cfg.res)
    left = draw(ws_rows)
    cells = [top] + [np.concatenate([left[i:i + 1], body[i]]) for i in range(rows)]
    return image_grid(np.concatenate(cells), cols=cols + 1, scale=4)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m minigan.generate", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("--ckpt", required=True, help="run folder or checkpoint.npz from minigan.train")
    p.add_argument("--out", required=True, type=image_file, help="PNG to write")
    p.add_argument("--n", type=int_in(1, 10000), default=64, help="how many glyphs")
    p.add_argument("--chars", default="", help="characters to draw, cycled (default: all it knows)")
    p.add_argument("--truncation", type=float_in(-4, 4), default=1.0,
                   help="psi: 1 = no truncation, 0.7 = safer")
    p.add_argument("--seed", type=int_in(0), default=0, help="seeds the latents and the noise")
    p.add_argument("--cols", type=int_in(1, 1000), default=8, help="glyphs per row of the grid")
    p.add_argument("--mix", action="store_true", help="draw a style-mixing grid instead")
    p.add_argument("--crossover", type=int_in(0), default=2,
                   help="first style input taken from the column")
    p.add_argument("--rows", type=int_in(1, 100), default=5, help="--mix: row and column sources")
    p.add_argument("--writer", type=int, default=None,
                   help="CondGAN with writer rows: draw every glyph by this writer (-1: the "
                        "last row, e.g. the one a --finetune run added); default: at random")
    return p


@job
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    G, cfg = load_generator(args.ckpt)
    if args.mix:
        picture = mixing_grid(G, cfg, args.rows, args.rows, args.crossover, args.chars,
                              args.truncation, args.seed)
    else:
        writers = None
        if args.writer is not None:
            if cfg.model != "condgan" or not cfg.num_writers:
                raise UserError("--writer needs a CondGAN trained with --writers")
            if not -cfg.num_writers <= args.writer < cfg.num_writers:
                raise UserError(f"--writer {args.writer}: the model has {cfg.num_writers} "
                                f"writers (0..{cfg.num_writers - 1}, or -1 for the last)")
            writers = np.full(args.n, args.writer % cfg.num_writers)
        picture = image_grid(sample(G, cfg, args.n, args.chars, args.truncation, args.seed,
                                    writers=writers), cols=args.cols, scale=3)
    save_atomic(picture, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

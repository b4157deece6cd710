"""Project real glyphs into the W or W+ space of a trained StyleGAN or StyleGAN2.

Two uses:
- per glyph (the study's experiment): each glyph gets its own w (space "w") or its own w per
  style input (space "w+"), reconstructing it as closely as the generator can;
- one writer (`shared=True`): a single style code explains all of one person's glyphs at
  once, each drawn with its own known character. Under content conditioning that code holds
  style only, so it can then draw characters the person never wrote.

The optimisation follows StyleGAN2's projector: start at the average w, Adam with a learning
rate that ramps up and then down, Gaussian noise on the latent that fades over the first part
of the run, and per-glyph noise maps that are optimised but pulled towards white noise by an
autocorrelation penalty (so they cannot smuggle in the glyph's shape).
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ops
from ._cli import ArgumentParser, HelpFormatter, float_in, image_file, int_in, job, output_file
from ._files import write_atomic
from .autograd import Tensor, no_grad
from .errors import UserError
from .images import image_grid, save_atomic
from .models import ModelConfig
from .nn import Parameter
from .nn.style import NoiseInput
from .optim import Adam

SPACES = ("w", "w+")


@dataclass
class InversionResult:
    ws: np.ndarray           # [M, num_ws, w_dim]; M = 1 when shared, else one per glyph
    images: np.ndarray       # [N, 1, res, res] reconstructions in [-1, 1]
    mse: np.ndarray          # [N] per-glyph mean squared error with pixels scaled to [0, 1]
    losses: list[float]      # the objective at every step
    space: str


@no_grad()
def w_statistics(G, cfg: ModelConfig, n: int = 2048, seed: int = 0, labels=None):
    """Mean w [w_dim] and its spread (root mean squared distance to the mean) over n draws."""
    rng = np.random.default_rng(seed)
    z = Tensor(rng.standard_normal((n, cfg.z_dim)).astype(np.float32))
    if cfg.conditioning == "embed":
        labels = np.resize(np.arange(cfg.num_classes) if labels is None else labels, n)
    w = G.mapping(z, labels if cfg.conditioning == "embed" else None).numpy()
    mean = w.mean(axis=0)
    return mean, float(np.sqrt(((w - mean) ** 2).sum(axis=1).mean()))


def _noise_layers(G) -> list[NoiseInput]:
    return [m for _, m in G.synthesis.named_modules() if isinstance(m, NoiseInput)]


def _noise_penalty(noise: Tensor) -> Tensor:
    """Squared autocorrelation at one-pixel shifts, summed over a pyramid of scales: zero for
    white noise, large for noise maps that have grown structure."""
    total = None
    while True:
        h = noise.shape[2]
        for axis in (2, 3):
            shifted = ops.concat([noise[:, :, 1:] if axis == 2 else noise[:, :, :, 1:],
                                  noise[:, :, :1] if axis == 2 else noise[:, :, :, :1]], axis=axis)
            term = ops.mean(noise * shifted, axis=(1, 2, 3))
            term = ops.sum(term * term)
            total = term if total is None else total + term
        if h <= 8:
            return total
        noise = ops.avg_pool2d(noise, 2)


def _lr_at(t: float, lr: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    scale = min(1.0, (1.0 - t) / rampdown)
    scale = 0.5 - 0.5 * math.cos(scale * math.pi)
    return lr * scale * min(1.0, t / rampup)


def invert(G, cfg: ModelConfig, targets: np.ndarray, labels=None, space: str = "w+",
           shared: bool = False, steps: int = 300, lr: float = 0.1, initial_noise: float = 0.05,
           noise_ramp: float = 0.75, optimize_noise: bool = True, noise_weight: float = 1e3,
           feature_fn=None, feature_weight: float = 0.0, seed: int = 0,
           log=None) -> InversionResult:
    """Find latents that make G draw `targets` [N, 1, res, res] (floats in [-1, 1]).

    labels [N]: the characters' class indices (needed by conditioned models). feature_fn, if
    given, maps images to features; its squared distance is added with feature_weight.
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if cfg.model == "condgan":
        raise UserError("inversion needs a StyleGAN or StyleGAN2 model; a CondGAN has no "
                         "latent space to project into (its writers are one-hot rows)")
    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim != 4 or targets.shape[1:] != (1, cfg.res, cfg.res):
        raise ValueError(f"targets must be [N, 1, {cfg.res}, {cfg.res}], got {targets.shape}")
    if not np.isfinite(targets).all():
        raise ValueError("targets contain NaN or inf")
    n = targets.shape[0]
    if cfg.num_classes and (labels is None or len(labels) != n):
        raise ValueError("this model is conditioned: pass one label per target")
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)

    rng = np.random.default_rng(seed)
    w_avg, w_std = w_statistics(G, cfg, seed=seed, labels=labels)
    m = 1 if shared else n
    start = np.broadcast_to(w_avg, (m, cfg.num_ws if space == "w+" else 1, cfg.w_dim))
    latent = Parameter(start.copy())                                 # [M, L, D]
    params = [latent]
    layers = _noise_layers(G)
    noises = []
    if optimize_noise:
        for layer in layers:
            r = layer.noise_const.shape[-1]
            noise = Parameter(rng.standard_normal((n, 1, r, r)).astype(np.float32))
            layer.override = noise
            noises.append(noise)
        params += noises
    opt = Adam(params, lr=lr, betas=(0.9, 0.999))
    target = Tensor(targets)
    target_features = None
    if feature_fn is not None and feature_weight > 0:
        with no_grad():
            target_features = feature_fn(target).detach()
    losses = []
    try:
        for step in range(steps):
            t = step / max(steps - 1, 1)
            opt.param_groups[0]["lr"] = _lr_at(t, lr)
            spread = w_std * initial_noise * max(0.0, 1.0 - t / noise_ramp) ** 2
            jitter = Tensor(rng.standard_normal(latent.shape).astype(np.float32) * spread)
            ws = ops.broadcast_to(latent + jitter, (m, cfg.num_ws, cfg.w_dim))
            if shared:
                ws = ops.broadcast_to(ws, (n, cfg.num_ws, cfg.w_dim))
            image = G.synthesis(ws, labels, noise_mode="const" if optimize_noise else "none")
            diff = image - target
            loss = ops.mean(diff * diff)
            if target_features is not None:
                f = feature_fn(image) - target_features
                loss = loss + ops.mean(f * f) * feature_weight
            if noises:
                loss = loss + sum(_noise_penalty(nz) for nz in noises) * noise_weight
            opt.zero_grad()
            loss.backward()
            opt.step()
            with no_grad():
                for nz in noises:  # keep the maps white: zero mean, unit variance per glyph
                    d = nz.data
                    d -= d.mean(axis=(1, 2, 3), keepdims=True)
                    d /= np.sqrt((d * d).mean(axis=(1, 2, 3), keepdims=True)) + 1e-8
            losses.append(loss.item())
            if log is not None and (step % 50 == 0 or step == steps - 1):
                log(f"step {step + 1}/{steps}  loss {losses[-1]:.5f}")
        with no_grad():
            ws = ops.broadcast_to(latent, (m, cfg.num_ws, cfg.w_dim))
            full = ops.broadcast_to(ws, (n, cfg.num_ws, cfg.w_dim)) if shared else ws
            image = G.synthesis(full, labels,
                                noise_mode="const" if optimize_noise else "none").numpy()
    finally:
        for layer in layers:
            layer.override = None
    mse = (((image - targets) / 2.0) ** 2).mean(axis=(1, 2, 3))
    return InversionResult(ws=ws.numpy().copy(), images=image, mse=mse, losses=losses,
                           space=space)


def preview(targets: np.ndarray, images: np.ndarray, path, per_row: int = 8) -> Path:
    """PNG of target | result pairs, `per_row` pairs a row."""
    pairs = np.stack([targets, images], axis=1).reshape(-1, *targets.shape[1:])
    return save_atomic(image_grid(pairs, cols=2 * per_row, scale=3), path)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m minigan.invert", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("--ckpt", required=True, help="run folder or checkpoint.npz of a style model")
    p.add_argument("--glyphs", required=True,
                   help="glyphs to invert: .npz from minigan.data extract, a dataset name, or a folder")
    p.add_argument("--out", required=True, type=output_file,
                   help="where to write latents and reconstructions (.npz)")
    p.add_argument("--preview", default=None, type=image_file,
                   help="PNG of target | reconstruction pairs")
    p.add_argument("--space", choices=SPACES, default="w+",
                   help="w: one code per glyph; w+: one code per style input of each glyph")
    p.add_argument("--shared", action="store_true",
                   help="one style code for all glyphs (a writer's style) instead of one per glyph")
    p.add_argument("--writer", type=int, default=None, help="keep only this writer id's glyphs")
    p.add_argument("--limit", type=int_in(1, 100000), default=64, help="invert at most this many glyphs")
    p.add_argument("--steps", type=int_in(1, 100000), default=300, help="optimisation steps")
    p.add_argument("--lr", type=float_in(0, 10, above=True), default=0.1,
                   help="peak learning rate (ramped up, then annealed)")
    p.add_argument("--no-noise", action="store_true", help="do not optimise noise maps")
    p.add_argument("--seed", type=int_in(0), default=0, help="seeds the latent noise")
    return p


def load_targets(source: str, cfg: ModelConfig, writer=None, limit=None):
    """(targets [N,1,res,res] in [-1,1], labels [N] in the model's charset or None, chars)."""
    from .data import load_spec as load

    ds = load(source)
    if writer is not None:
        if ds.writers is None:
            raise UserError(f"--writer: {source} has no writer ids")
        ds = ds.subset(ds.writers == writer)
    if limit:
        ds = ds.subset(np.arange(min(limit, len(ds))))
    if len(ds) == 0:
        raise UserError(f"{source}: no glyphs to invert (check --writer)")
    chars = [ds.charset[i] for i in ds.labels]
    labels = None
    if cfg.num_classes:
        unknown = sorted(set(chars) - set(cfg.charset))
        if unknown:
            raise UserError(f"{source}: the model does not know the characters "
                            f"{''.join(unknown)!r}")
        labels = np.array([cfg.charset.index(c) for c in chars], dtype=np.int64)
    return ds.as_float(cfg.res) * 2.0 - 1.0, labels, "".join(chars)


@job
def main(argv=None) -> int:
    from .generate import load_generator

    args = build_parser().parse_args(argv)
    G, cfg = load_generator(args.ckpt)
    targets, labels, chars = load_targets(args.glyphs, cfg, args.writer, args.limit)
    result = invert(G, cfg, targets, labels, space=args.space, shared=args.shared,
                    steps=args.steps, lr=args.lr, optimize_noise=not args.no_noise,
                    seed=args.seed, log=print)
    if not (np.isfinite(result.ws).all() and np.isfinite(result.mse).all()):
        raise UserError(f"the inversion diverged (its loss became NaN or inf) with --lr "
                        f"{args.lr:g}; try a lower --lr")
    out = Path(args.out)
    write_atomic(out, lambda f: np.savez(f, ws=result.ws, images=result.images, mse=result.mse,
                                         chars=np.array(chars), space=np.array(result.space),
                                         shared=np.array(args.shared)))
    print(f"mean reconstruction MSE {result.mse.mean():.5f} (pixels in [0, 1]) over "
          f"{len(result.mse)} glyphs; latents in {out}")
    if args.preview:
        preview(targets, result.images, args.preview)
        print(f"preview (target | result) in {args.preview}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The study's experiment table, reproduced and extended.

    python examples/study_table.py --ckpts runs/st-16-w256 runs/st-16-w128 ... \
        --content runs/mnist-sg2-32 --n 64 --steps 200 --out study.json --pictures docs/

For every checkpoint, real MNIST test digits (never seen in training) are inverted, each on its
own, into W (one w) and into W+ (one w per style input), as the study did: MSE only, starting
at the average w, latent only (no noise maps), so the latent alone must carry the glyph. Two
numbers per row:

- **MSE**: mean squared reconstruction error, pixels scaled to [0, 1].
- **mix accuracy**: pairs of inverted digits (a content digit and a style digit, different
  classes) are mixed at every crossover layer: style inputs [0, c) from the content digit,
  [c, L) from the style digit. The share of mixes that the shipped digit classifier reads as
  the content digit, over all pairs and every crossover c = 1 .. L-1.

Checkpoints with conditioning none or embed (`--ckpts`) are the study's setting: there the latent
w encodes which digit it is as well as how it is written (under embed, the class goes into the
mapping network and so into w; synthesis never sees it), so a mix is a tug of war. Inversion
starts from the average w over all digits, so it is not told the class. Content-conditioned
checkpoints (`--content`) are minigan's method: the character is given to the generator and the
latent carries only style, so a mix draws the content digit, and crossover c = 0 (every style
input from the other digit) is included: the style digit's hand on the content digit.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from minigan.autograd import Tensor, no_grad
from minigan.data import load
from minigan.generate import load_generator, mix_ws
from minigan.images import image_grid, save_atomic
from minigan.invert import invert
from minigan.metrics import load_net, to_glyphs


def digits_for(cfg, n: int, seed: int):
    """n MNIST test digits as the model sees them, and their classes."""
    ds = load("mnist", "test")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(ds), n, replace=False)
    ds = ds.subset(pick)
    digits = np.array([int(ds.charset[i]) for i in ds.labels])
    return ds.as_float(cfg.res) * 2.0 - 1.0, digits


def model_labels(cfg, digits):
    """Class indices in the model's charset (None for an unconditional model)."""
    if not cfg.num_classes:
        return None
    return np.array([cfg.charset.index(str(d)) for d in digits], dtype=np.int64)


@no_grad()
def mix_accuracy(G, cfg, ws: np.ndarray, digits: np.ndarray, net, pairs: int, seed: int,
                 crossovers) -> tuple[float, dict]:
    """Share of mixes read as the content digit, overall and per crossover."""
    rng = np.random.default_rng(seed)
    n = len(digits)
    content, style = [], []
    while len(content) < pairs:
        i, j = rng.integers(0, n, 2)
        if digits[i] != digits[j]:
            content.append(i)
            style.append(j)
    content, style = np.array(content), np.array(style)
    labels = model_labels(cfg, digits[content])
    per = {}
    for c in crossovers:
        mixed = np.concatenate([ws[content, :c], ws[style, c:]], axis=1)
        images = G.synthesis(Tensor(mixed.astype(np.float32)), labels, noise_mode="const").numpy()
        per[c] = float((net.predict(to_glyphs(images)) == digits[content]).mean())
    return float(np.mean(list(per.values()))), per


@no_grad()
def mixing_picture(G, cfg, ws: np.ndarray, targets: np.ndarray, digits: np.ndarray,
                   crossover: int, path: Path, k: int = 5) -> Path:
    """The study's grid from inverted real digits: content sources down the left, style sources
    along the top, each cell the mix at `crossover` (drawn as the row's digit under content
    conditioning)."""
    order = []
    for d in range(10):  # one digit of each of the first 2k classes found, to vary the grid
        hit = np.flatnonzero(digits == d)
        if len(hit):
            order.append(hit[0])
    rows, cols = np.array(order[:k]), np.array(order[k:2 * k] if len(order) >= 2 * k else order[:k])
    blank = np.full((1, 1, cfg.res, cfg.res), -1.0, dtype=np.float32)
    mixed = mix_ws(Tensor(ws[rows]), Tensor(ws[cols]), crossover).numpy()
    labels = model_labels(cfg, np.repeat(digits[rows], len(cols)))
    body = G.synthesis(Tensor(mixed), labels, noise_mode="const").numpy()
    body = body.reshape(len(rows), len(cols), 1, cfg.res, cfg.res)
    cells = [np.concatenate([blank, targets[cols]])]
    cells += [np.concatenate([targets[rows[i]:rows[i] + 1], body[i]]) for i in range(len(rows))]
    save_atomic(image_grid(np.concatenate(cells), cols=len(cols) + 1, scale=4), path)
    return path


def run_one(path: str, content: bool, args, net, log) -> list[dict]:
    G, cfg = load_generator(path)
    if content and cfg.conditioning != "content":
        raise SystemExit(f"{path}: --content needs a content-conditioned checkpoint")
    if not content and cfg.conditioning == "content":
        raise SystemExit(f"{path}: --ckpts takes checkpoints whose latent also encodes the "
                         "digit (conditioning none or embed: the study's setting)")
    targets, digits = digits_for(cfg, args.n, args.seed)
    labels = model_labels(cfg, digits)
    first = 0 if content else 1
    crossovers = range(first, cfg.num_ws)
    rows = []
    for space in ("w", "w+"):
        t0 = time.time()
        result = invert(G, cfg, targets, labels, space=space, steps=args.steps, lr=args.lr,
                        optimize_noise=False, seed=args.seed)
        ws = np.broadcast_to(result.ws, (len(digits), cfg.num_ws, cfg.w_dim))
        acc, per = mix_accuracy(G, cfg, ws, digits, net, args.pairs, args.seed, crossovers)
        row = {"ckpt": path, "method": "content" if content else "study", "model": cfg.model,
               "res": cfg.res, "w_dim": cfg.w_dim, "space": space, "n": int(len(digits)),
               "mse": float(result.mse.mean()), "mix_accuracy": acc,
               "mix_accuracy_by_crossover": {str(c): v for c, v in per.items()},
               "seconds": round(time.time() - t0, 1)}
        rows.append(row)
        log(f"{path}  {space:2s}  res {cfg.res}  w {cfg.w_dim}  MSE {row['mse']:.5f}  "
            f"mix accuracy {acc:.1%}  ({row['seconds']} s)")
        if args.pictures and space == "w+":
            name = f"study_mix_{'content' if content else 'study'}_{cfg.res}_w{cfg.w_dim}.png"
            mixing_picture(G, cfg, ws, targets, digits, max(1, cfg.num_ws // 2),
                           Path(args.pictures) / name)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| method | model | res | W size | space | MSE | mix accuracy |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['model']} | {r['res']} | {r['w_dim']} | "
                     f"{r['space'].upper()} | {r['mse']:.5f} | {r['mix_accuracy']:.1%} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpts", nargs="*", default=[],
                   help="MNIST runs with conditioning none or embed (the study's setting)")
    p.add_argument("--content", nargs="*", default=[], help="content-conditioned MNIST runs")
    p.add_argument("--n", type=int, default=64, help="test digits inverted per model")
    p.add_argument("--pairs", type=int, default=200, help="mixed pairs per crossover")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON report")
    p.add_argument("--pictures", help="folder for one mixing grid per model (W+)")
    args = p.parse_args(argv)
    if not args.ckpts and not args.content:
        p.error("give --ckpts and/or --content")
    net = load_net("digits")
    rows = []
    for path in args.ckpts:
        rows += run_one(path, False, args, net, print)
    for path in args.content:
        rows += run_one(path, True, args, net, print)
    print(table(rows))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"rows": rows, "steps": args.steps, "n": args.n,
                                              "pairs": args.pairs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

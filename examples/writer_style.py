"""Does a fitted style carry a person's hand onto characters they never wrote? Measure it.

    python examples/writer_style.py --ckpt runs/c74-sg2-32 --k all --space w+ --out style.json
    python examples/writer_style.py --ckpt runs/c74-sg2-32 --picture writer.png --writer 45 \\
        --text "The quick brown fox"

Protocol (minigan.metrics.writer_fidelity on Chars74K writers 45-54, whom neither the model
nor the metric networks saw): for each writer, the 62 characters are split into --folds
groups; for each group one style code is fitted (minigan.style.fit_style) to that writer's
glyphs of the *other* groups (all of them, or K chosen at random), and the group's characters
are drawn with it. So no glyph is ever drawn from a style that saw that character. Each drawn
glyph is scored by writer identification and by the character classifier, beside the real
held-out glyph (ceiling) and another writer's real glyph of the same character (floor).

With a writer-conditioned CondGAN checkpoint, the style is instead a new writer row fitted to
the same glyphs (minigan.style.fit_writer_row), drawn at z = 0.

--picture instead fits one writer's style to all their glyphs and writes --text with it,
beside that writer's real glyphs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from PIL import Image

from minigan.data import GlyphDataset, load_spec
from minigan.generate import load_generator
from minigan.images import image_grid, save_atomic
from minigan.metrics import to_glyphs, writer_fidelity
from minigan.models import build_models
from minigan.style import PULL, TUNE_LR, draw, draw_writer, fit_style, fit_writer_row, tune_writer
from minigan.write import write_text

OMNIGLOT_LATIN = (420, 439)  # writer ids of Omniglot's Latin alphabet (alphabet 21 * 20 + drawer)


def style_method(G, cfg, args):
    """fit_draw for a content-conditioned style model: one style code (W or W+) fitted to
    the glyphs, optionally with the synthesis layers tuned around it."""
    def fit_draw(targets, train_chars, held_chars):
        style = fit_style(G, cfg, targets, train_chars, space=args.space, steps=args.steps,
                          lr=args.lr, tune_steps=args.tune_steps, tune_lr=args.tune_lr,
                          pull=args.pull, seed=args.seed)
        return draw(G, cfg, style, held_chars)
    return fit_draw


def condgan_row_method(G, cfg, args):
    """fit_draw for a writer-conditioned CondGAN: a new writer row fitted to the glyphs, on a
    fresh copy of G each time (so no fold sees another's row), then optionally G tuned around
    it (minigan.style.tune_writer)."""
    state = G.state_dict()

    def fit_draw(targets, train_chars, held_chars):
        g, _ = build_models(cfg)
        g.load_state_dict(state)
        g.eval().requires_grad_(False)
        writer = fit_writer_row(g, cfg, targets, train_chars, steps=args.steps, lr=args.lr)
        if args.tune_steps:
            tune_writer(g, cfg, writer, targets, train_chars, steps=args.tune_steps,
                        lr=args.tune_lr)
        return draw_writer(g, cfg, writer, held_chars)
    return fit_draw


def fold_glyphs(fit_draw, cfg, ds, writer, folds, k, seed, only=None):
    """{char: uint8 [28, 28]} for every character `writer` wrote, each drawn by
    fit_draw(targets, train_chars, held_chars) from glyphs of the other folds only (of the
    folds in `only`, when given)."""
    own = ds.subset(ds.writers == writer)
    chars = np.array([ds.charset[label] for label in own.labels])
    targets = own.as_float(cfg.res) * 2.0 - 1.0
    rng = np.random.default_rng(seed + writer)
    out = {}
    for f in range(folds) if only is None else only:
        held = np.array([cfg.charset.index(c) % folds == f for c in chars])
        train = np.flatnonzero(~held)
        if k is not None:
            train = rng.choice(train, size=min(k, len(train)), replace=False)
        drawn = to_glyphs(fit_draw(targets[train], "".join(chars[train]), "".join(chars[held])))
        out.update(zip(chars[held], drawn))
    return out


def load_writers_set(name: str) -> GlyphDataset:
    """Chars74K, or Omniglot's Latin alphabet (a-z by 20 drawers, writer ids 420-439) with its
    labels mapped to the letters: hands that neither the model nor the metric networks saw."""
    if name == "chars74k":
        return load_spec("chars74k")
    ds = load_spec(f"omniglot@{OMNIGLOT_LATIN[0]}-{OMNIGLOT_LATIN[1]}")
    return GlyphDataset(ds.images, ds.labels - ds.labels.min(), "abcdefghijklmnopqrstuvwxyz",
                        ds.writers, source="omniglot Latin")


def measure(args) -> dict:
    G, cfg = load_generator(args.ckpt)
    ds = load_writers_set(args.set)
    lo, hi = map(int, args.writers.split("-"))
    writers = list(range(lo, hi + 1))
    k = None if args.k == "all" else int(args.k)
    method = condgan_row_method if cfg.model == "condgan" else style_method
    fit_draw = method(G, cfg, args)
    start = time.perf_counter()
    drawn = {}
    only = None if args.only_folds is None else [int(f) for f in args.only_folds.split(",")]
    for w in writers:
        drawn[w] = fold_glyphs(fit_draw, cfg, ds, w, args.folds, k, args.seed, only)
        print(f"writer {w}: {len(drawn[w])} glyphs drawn, {time.perf_counter() - start:.0f}s",
              flush=True)
    def make_glyph(others, char):
        # `others` (the writer's other glyphs) says whose turn it is; the glyph was drawn above
        # from a style fitted without this character's fold.
        return drawn[int(others.writers[0])][char]

    chars = None if only is None else "".join(
        c for c in ds.charset if cfg.charset.index(c) % args.folds in only)
    report = writer_fidelity(make_glyph, ds, writers, k=None, chars=chars, seed=args.seed)
    report.update({"set": args.set, "writers_ids": args.writers, "k": args.k,
                   "method": method.__name__, "space": args.space,
                   "folds": args.folds, "only_folds": args.only_folds,
                   "steps": args.steps, "lr": args.lr,
                   "tune_steps": args.tune_steps, "tune_lr": args.tune_lr, "pull": args.pull,
                   "seconds": round(time.perf_counter() - start, 1), "ckpt": str(args.ckpt)})
    return report


def picture(args) -> None:
    G, cfg = load_generator(args.ckpt)
    ds = load_spec("chars74k")
    own = ds.subset(ds.writers == args.writer)
    chars = "".join(ds.charset[label] for label in own.labels)
    style = fit_style(G, cfg, own.as_float(cfg.res) * 2.0 - 1.0, chars, space=args.space,
                      steps=args.steps, lr=args.lr, tune_steps=args.tune_steps,
                      tune_lr=args.tune_lr, pull=args.pull, seed=args.seed)
    page, _, _, _ = write_text(G, cfg, style, args.text, x_height=28, width=900, seed=args.seed)
    real = image_grid(own.images, cols=31, scale=1, pad=2)
    canvas = Image.new("L", (max(real.width, page.shape[1]), real.height + page.shape[0] + 10), 255)
    canvas.paste(real, (0, 0))
    canvas.paste(Image.fromarray(page), (0, real.height + 10))
    save_atomic(canvas, args.picture)
    print(f"wrote {args.picture}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True)
    p.add_argument("--set", choices=["chars74k", "omniglot-latin"], default="chars74k",
                   help="whose hands: Chars74K, or Omniglot's Latin drawers (a-z only)")
    p.add_argument("--writers", default="45-54",
                   help="writer ids, FIRST-LAST (Omniglot's Latin drawers are 420-439)")
    p.add_argument("--k", default="all", help="'all' or how many of the writer's glyphs to fit to")
    p.add_argument("--space", choices=["w", "w+"], default="w+")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--only-folds", default=None,
                   help="draw only these folds' characters, e.g. 0,2 (a quicker, partial run)")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05,
                   help="fitting rate (style code, or a CondGAN's writer row)")
    p.add_argument("--tune-steps", type=int, default=0,
                   help="then fine-tune the model around the fitted style this many steps "
                        "(minigan.style.tune; for a CondGAN, minigan.style.tune_writer)")
    p.add_argument("--tune-lr", type=float, default=TUNE_LR)
    p.add_argument("--pull", type=float, default=PULL,
                   help="how far to draw a fitted code back towards the average hand "
                        "(minigan.style.PULL)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON report")
    p.add_argument("--picture", default=None, help="write --text in --writer's style instead")
    p.add_argument("--writer", type=int, default=45)
    p.add_argument("--text", default="The quick brown fox\njumps over the lazy dog 42")
    args = p.parse_args(argv)
    if args.picture:
        picture(args)
        return 0
    report = measure(args)
    print(json.dumps({key: report[key] for key in ("generated", "ceiling", "floor")}, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does a fitted style carry a person's hand onto characters they never wrote? Measure it.

    python examples/writer_style.py --k all --out style-all.json --picture dev.png
    python examples/writer_style.py --k 10 --out style-10.json
    python examples/writer_style.py --ckpt runs/c74-sg2-32 --steps 100 --tune-steps 0 --k all

The headline is the judge (minigan.metrics.judge, docs/judge.md) on the dev protocol: each
writer (default: the dev writers, Chars74K 35-44) holds back 10 characters; the method is
given the writer's glyphs of the other characters (--k all: the 52 of them, or K at random),
fits a style to them and draws the 10 held-back characters. The judge scores the 10 drawn
glyphs together, beside the writer's own real held-back glyphs (ceiling) and another writer's
real glyphs of the same characters (floor): gain = (p - floor) / (ceiling - floor), with
top-1, mean rank, the share of near-copies of the given glyphs and the characters read right.

The method is what `python -m minigan.write` does (its defaults: 50 fitting and 30 tuning
steps, the default pull, variation 0.15, the shipped model); the options change it. With a
writer-conditioned CondGAN checkpoint, the style is a new writer row fitted to the same
glyphs (minigan.style.fit_writer_row), drawn at z = 0.

A secondary, older figure rides along: nearest-centroid writer identification of each drawn
glyph among the evaluated writers (minigan.metrics.writer). It flatters (a few writers, one
glyph at a time, centroids from the very glyphs the style was fitted on); read the judge.

--picture writes, for the writers, each held-back character's real glyph beside the drawn
one (rows: writers). Writers 45-54 are the held-out hands: run on them once, at the end.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from minigan._files import write_atomic
from minigan.data import GlyphDataset, load, load_spec
from minigan.evaluate import style_fit_draw
from minigan.generate import load_generator
from minigan.images import save_atomic
from minigan.metrics import to_glyphs
from minigan.metrics.judge import format_judge, held_back, judge_protocol
from minigan.metrics.writer import centroid_ranks, writer_embedding
from minigan.metrics.features import load_net
from minigan.models import build_models
from minigan.style import TUNE_LR, draw_writer, fit_writer_row, tune_writer
from minigan.write import DEFAULT_MODEL, LEAN_PRIOR, char_slants


def condgan_row_method(G, cfg, args):
    """fit_draw for a writer-conditioned CondGAN: a new writer row fitted to the glyphs, on a
    fresh copy of G each time (so no writer sees another's row), then optionally G tuned
    around it (minigan.style.tune_writer). Drawn at z = 0, so every sample is the same."""
    state = G.state_dict()

    def fit_draw(glyphs, chars, held, samples):
        g, _ = build_models(cfg)
        g.load_state_dict(state)
        g.eval().requires_grad_(False)
        targets = GlyphDataset(glyphs, np.zeros(len(glyphs), np.int64), "?").as_float(cfg.res) * 2.0 - 1.0
        writer = fit_writer_row(g, cfg, targets, chars, steps=args.steps, lr=args.lr)
        if args.tune_steps:
            tune_writer(g, cfg, writer, targets, chars, steps=args.tune_steps, lr=args.tune_lr)
        return [to_glyphs(draw_writer(g, cfg, writer, held))] * samples
    return fit_draw


def draw_key(held: str, glyphs: np.ndarray) -> str:
    """The name a writer's draws are kept under: writers who hold back the same characters
    are given the same characters, so the key names the given glyphs themselves."""
    return f"{held}|{hashlib.sha1(np.ascontiguousarray(glyphs).tobytes()).hexdigest()[:20]}"


def cached(fit_draw, path: Path | None, settings: dict):
    """fit_draw that keeps every writer's draws in `path` (an .npz) and reuses them when the
    file was made with the same settings, so a picture or a re-score needs no refit."""
    if path is None:
        return fit_draw
    store = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["settings"])) == settings:
                store = {k: z[k] for k in z.files if k != "settings"}

    def wrapped(glyphs, chars, held, samples):
        key = draw_key(held, glyphs)
        if key not in store:
            store[key] = np.stack(fit_draw(glyphs, chars, held, samples))   # [S, 10, 28, 28]
            arrays = dict(store, settings=np.array(json.dumps(settings)))
            write_atomic(path, lambda f: np.savez_compressed(f, **arrays))
        return list(store[key])
    return wrapped


def old_metric(report: dict, ds, writers) -> dict:
    """The former headline: each drawn (and real) held-back glyph identified by the nearest
    writer centroid among `writers`, centroids built from their real glyphs without that
    character (leave-one-character-out), in the shipped writer embedding."""
    net = load_net("writers")
    pool = ds.subset(np.isin(ds.writers, writers))
    gallery = writer_embedding(net, pool.images, pool.chars())
    out = {}
    for name, pick in (("method", lambda real, drawn: drawn[0]), ("ceiling", lambda real, drawn: real)):
        images, labels, owners = [], [], []
        for w, (real, drawn) in report["glyphs"].items():
            images.append(pick(real, drawn))
            labels += [ds.charset.index(c) for c in held_back(w)]
            owners += [w] * len(held_back(w))
        labels, owners = np.array(labels), np.array(owners)
        emb = writer_embedding(net, np.concatenate(images), "".join(ds.charset[i] for i in labels))
        ranks = centroid_ranks(emb, labels, owners, gallery, pool.labels, pool.writers)
        out[name] = {"top1": float(np.mean(ranks == 0)), "top5": float(np.mean(ranks < 5)), "n": len(ranks)}
    out["chance_top1"] = 1 / len(writers)
    return out


def picture(report: dict, path, title: str, scale: int = 2) -> None:
    """Rows: writers; for each held-back character, the real glyph then the drawn one."""
    rows = {w: [real, drawn[0]] for w, (real, drawn) in report["glyphs"].items()}
    picture_rows(rows, path, title, "each pair: real held-back glyph | drawn", scale)


def picture_rows(rows: dict, path, title: str, legend: str, scale: int = 2) -> None:
    """rows {writer: [uint8 [10, 28, 28], ...]}: for each of the writer's held-back
    characters, its glyph from each set side by side (the real one first, say)."""
    size, gap, left, top = 28 * scale, 10, 90, 34
    sets = max(len(images) for images in rows.values())
    held = max(len(images[0]) for images in rows.values())
    width = left + held * (sets * size + gap) + gap
    row_h = size + 22
    canvas = Image.new("L", (width, top + len(rows) * row_h + 6), 255)
    pen = ImageDraw.Draw(canvas)
    pen.text((6, 6), title, fill=0)
    pen.text((6, 20), legend, fill=90)
    for r, (w, images) in enumerate(rows.items()):
        y = top + r * row_h
        pen.text((6, y + size // 2 - 6), f"writer {w}", fill=0)
        for i, c in enumerate(held_back(w)):
            x = left + i * (sets * size + gap)
            for j, glyphs in enumerate(images):
                tile = Image.fromarray(255 - glyphs[i]).resize((size, size), Image.NEAREST)
                canvas.paste(tile, (x + j * size, y))
            pen.rectangle([x, y, x + sets * size - 1, y + size - 1], outline=170)
            pen.text((x + sets * size // 2 - 3, y + size + 2), c, fill=0)
    save_atomic(canvas, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default=None, help="the model (default: the shipped one, as write uses)")
    p.add_argument("--writers", default="35-44",
                   help="Chars74K writer ids, FIRST-LAST (35-44: the dev writers; 45-54 only once, at the end)")
    p.add_argument("--k", default="all", help="'all' or how many of the writer's glyphs to fit to")
    p.add_argument("--samples", type=int, default=3,
                   help="draws of the held-back characters per fitted style (each one judged sample)")
    p.add_argument("--space", choices=["w", "w+"], default="w+")
    p.add_argument("--steps", type=int, default=50, help="fitting steps (write's default)")
    p.add_argument("--lr", type=float, default=0.05,
                   help="fitting rate (style code, or a CondGAN's writer row)")
    p.add_argument("--tune-steps", type=int, default=30,
                   help="then fine-tune the model around the fitted style this many steps "
                        "(write's default; for a CondGAN, minigan.style.tune_writer)")
    p.add_argument("--tune-lr", type=float, default=TUNE_LR)
    p.add_argument("--pull", type=float, default=None,
                   help="how far to draw a fitted code back towards the average hand "
                        "(default: minigan.style.PULL)")
    p.add_argument("--variation", type=float, default=0.15, help="per-glyph variation (write's default)")
    p.add_argument("--without-hand", action="store_true",
                   help="draw from the fitted style alone; by default the given glyphs are also "
                        "the person's hand, as with write --style, so drawn strokes are brought "
                        "towards their stroke width (the protocol before 2026-12-03 had no hand)")
    p.add_argument("--without-tone", action="store_true",
                   help="leave drawn glyphs' grey levels as the model gives them, instead of "
                        "the tone of the person's ink (write before 2026-12-03)")
    p.add_argument("--without-lean", action="store_true",
                   help="leave drawn glyphs' slant as the model gives it, instead of leaning "
                        "them as the person's glyphs lean (write before the evening of 2026-12-03)")
    p.add_argument("--lean-prior", type=float, default=0.0, metavar="GLYPHS",
                   help="how many glyphs the average hand's lean counts for when the person's is "
                        "told from theirs (default 0: the median of their glyphs as it is, as "
                        f"write does; Chars74K's writers say {LEAN_PRIOR:g})")
    p.add_argument("--slants-from", default=None, metavar="DATA",
                   help="the hands whose average slant leans are measured from (a data spec; "
                        "default: the shipped table, Chars74K 0-44). A screening generator gets "
                        "the writers it learned from, e.g. chars74k@0-34")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON report")
    p.add_argument("--draws", type=Path, default=None,
                   help=".npz keeping the drawn glyphs; rerun with the same settings to re-score "
                        "or to draw the picture without fitting again")
    p.add_argument("--picture", default=None,
                   help="PNG: each writer's real held-back glyphs beside the drawn ones")
    args = p.parse_args(argv)
    if not args.lean_prior >= 0:
        p.error(f"--lean-prior: {args.lean_prior:g} is not a count of glyphs; give 0 or more")
    lo, _, hi = args.writers.partition("-")
    writers = list(range(int(lo), int(hi or lo) + 1))
    k = None if args.k == "all" else int(args.k)
    ckpt = args.ckpt or DEFAULT_MODEL
    G, cfg = load_generator(ckpt)
    if cfg.model == "condgan":
        fit_draw, method = condgan_row_method(G, cfg, args), "condgan writer row"
    else:
        fit_draw = style_fit_draw(G, cfg, args.steps, args.tune_steps, args.seed, space=args.space,
                                  lr=args.lr, tune_lr=args.tune_lr, pull=args.pull,
                                  variation=args.variation, hand=not args.without_hand,
                                  tone=not args.without_tone, lean=not args.without_lean,
                                  slants=char_slants(load_spec(args.slants_from)) if args.slants_from else None,
                                  lean_prior=args.lean_prior)
        method = "style fitted and drawn as python -m minigan.write does" + (
            ", without the person's hand" if args.without_hand else
            "".join(f", without {what}" for what, off in (("the tone of their ink", args.without_tone),
                                                          ("their lean", args.without_lean)) if off))
    settings = {"ckpt": args.ckpt or "the shipped model, minigan/weights/writer_default.npz", "k": args.k, "samples": args.samples, "space": args.space,
                "steps": args.steps, "lr": args.lr, "tune_steps": args.tune_steps,
                "tune_lr": args.tune_lr, "pull": args.pull, "variation": args.variation,
                "seed": args.seed, "method": method, "hand": not args.without_hand,
                "tone": not (args.without_tone or args.without_hand),
                "lean": not (args.without_lean or args.without_hand), "lean_prior": args.lean_prior,
                "slants_from": args.slants_from or "the shipped table (chars74k@0-44)"}
    start = time.perf_counter()
    ds = load("chars74k")
    report = judge_protocol(cached(fit_draw, args.draws, settings), ds, writers, k=k,
                            samples=args.samples, seed=args.seed, keep_glyphs=True,
                            log=lambda m: print(f"{m} ({time.perf_counter() - start:.0f}s)", flush=True))
    print(format_judge(report))
    report["old_metric"] = old_metric(report, ds, writers)
    print(f"secondary (old) metric, nearest centroid among {len(writers)} writers, one glyph at a "
          f"time: top-1 {report['old_metric']['method']['top1'] * 100:.1f}% drawn, "
          f"{report['old_metric']['ceiling']['top1'] * 100:.1f}% real")
    if args.picture:
        picture(report, args.picture, f"writers {args.writers}, K = {args.k}: gain "
                f"{report['gain']:.2f}, model {Path(str(ckpt)).name}")
        print(f"wrote {args.picture}")
    report.pop("glyphs")
    report.update(settings=settings, seconds=round(time.perf_counter() - start, 1))
    if args.out:
        write_atomic(args.out, lambda f: f.write(json.dumps(report, indent=1).encode()))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

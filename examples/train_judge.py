"""Train the judge's two networks (minigan.metrics.judge), with minigan itself, on Chars74K.

    MINIGAN_DATA=/path/to/data NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        python examples/train_judge.py             # writes minigan/weights/judge_*.npz

Both networks train on the same honest split: every Chars74K writer (0-54) holds back one
group of 10 characters (minigan.metrics.judge.held_back, fixed by a seed), and no glyph a
writer holds back is trained on. So the judge's ceiling, a writer's real held-back glyphs,
is judged on characters it never saw from that writer.

    writers  55-class writer classifier on the 55 x 52 glyphs not held back (shifted by up to
             1.5 px, scaled by up to 5%, half of them taken down to 32 px and back as the
             32x32 models see them; no rotation or shear, since slant is the style)
    chars    0-9 A-Z a-z classifier on the same glyphs plus 60 built-in writers (small affine
             warps), as examples/train_feature_nets.py trains the shipped "chars" net

The figures each reached on the held-back glyphs of writers 0-44 go into the files' meta;
writers 45-54 are never looked at here. The shipped files come from the defaults (seed 0);
a rerun gives them bit for bit (445 s to 1400 s on a shared 2-core CPU). Also tried, and no
better: --extra-builtin 100 --widths 16 32 64 --writer-epochs 12 (100 built-in writers as
extra classes): ten-glyph top-1 6.7% against 4.4%, mean rank 14.4 against 14.0, p 0.042
against 0.054.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_feature_nets import fit, random_affine, shipped  # noqa: E402

from minigan.data import CHARSET_62, GlyphDataset, builtin_glyphs, load  # noqa: E402
from minigan.data.transforms import resize  # noqa: E402
from minigan.metrics.features import WEIGHTS_DIR, GlyphNet, classifier_accuracy  # noqa: E402
from minigan.metrics.judge import (FLOOR_WRITERS, NUM_WRITERS, SPLIT_SEED, Judge,  # noqa: E402
                                   held_back, held_back_mask, real_glyphs, summarise)


def split() -> tuple[GlyphDataset, GlyphDataset]:
    """(every glyph no writer holds back, the held-back glyphs) of Chars74K."""
    c74 = load("chars74k")
    if c74.charset != CHARSET_62 or len(np.unique(c74.writers)) != NUM_WRITERS:
        raise ValueError(f"chars74k: expected 0-9 A-Z a-z by {NUM_WRITERS} writers")
    held = held_back_mask(c74.writers, c74.labels)
    return c74.subset(~held), c74.subset(held)


def writer_augment(x: np.ndarray, rng) -> np.ndarray:
    x = random_affine(x, rng, shift=1.5, scale=0.05)
    coarse = rng.random(len(x)) < 0.5
    if coarse.any():
        x[coarse] = resize(resize(x[coarse], 32), 28)
    return x


def train(args, log=print):
    train_set, held = split()
    scored = held.subset(np.isin(held.writers, FLOOR_WRITERS))       # writers 0-44 only
    # Extra hands teach style that carries across characters: built-in writers as classes
    # 55, 56, ... (their logits are dropped when judging).
    extra = builtin_glyphs(n_writers=args.extra_builtin, per_char=1, seed=200) if args.extra_builtin else None
    images, owners = train_set.images, train_set.writers
    if extra is not None:
        images = np.concatenate([images, extra.images])
        owners = np.concatenate([owners, NUM_WRITERS + extra.writers - extra.writers.min()])
    writer_net = GlyphNet(NUM_WRITERS + args.extra_builtin, args.widths, 128, "lrelu", seed=args.seed)
    repeat = None if extra is None else np.concatenate([np.full(len(train_set), 2),
                                                        np.ones(len(extra), int)])
    seconds_w = fit(writer_net, images, owners, args.writer_epochs, args.lr, args.batch,
                    writer_augment, args.seed, repeat, log=log)
    if extra is not None:                                   # keep the 55 Chars74K writers' logits
        state = writer_net.state_dict()
        state.update({k: state[k][:NUM_WRITERS] for k in ("head.weight", "head.bias")})
        writer_net = GlyphNet(NUM_WRITERS, args.widths, 128, "lrelu", seed=args.seed)
        writer_net.load_state_dict(state)
    synth = builtin_glyphs(n_writers=60, per_char=2, seed=100)
    chars_data = GlyphDataset.concat([train_set, synth])
    repeat = np.concatenate([np.full(len(train_set), 3), np.ones(len(synth), int)])
    char_net = GlyphNet(62, args.char_widths, 128, "lrelu", seed=args.seed)
    seconds_c = fit(char_net, chars_data.images, chars_data.labels, args.char_epochs, args.lr,
                    args.batch, lambda x, rng: random_affine(x, rng, shift=2.0, rotate=10,
                                                             scale=0.1, shear=0.2),
                    args.seed, repeat, log=log)
    split_note = (f"Chars74K writers 0-54, each holding back 10 characters "
                  f"(minigan.metrics.judge.held_back, seed {SPLIT_SEED}): {len(train_set)} glyphs")
    w_meta = {"name": "judge_writers", "charset": CHARSET_62, "trained_on": split_note,
              "writers": NUM_WRITERS, "extra_builtin_writers": args.extra_builtin,
              "train_seconds": round(seconds_w, 1),
              "epochs": args.writer_epochs, "seed": args.seed}
    c_meta = {"name": "judge_chars", "charset": CHARSET_62,
              "trained_on": f"{split_note}, + built-in writers ({len(synth)})",
              "train_seconds": round(seconds_c, 1), "epochs": args.char_epochs, "seed": args.seed}
    w_out, c_out = shipped(writer_net, w_meta), shipped(char_net, c_meta)
    # Figures on the held-back glyphs of writers 0-44 (never trained on).
    one = float(np.mean(w_out.predict(scored.images) == scored.writers))
    acc = classifier_accuracy(c_out, scored.images, scored.chars())
    judge = Judge(w_out, c_out)
    ceiling = summarise(judge.verdicts([real_glyphs(scored, w, held_back(w)) for w in FLOOR_WRITERS],
                                       [held_back(w) for w in FLOOR_WRITERS], list(FLOOR_WRITERS)))
    eval_set = f"held-back glyphs of Chars74K writers 0-44 ({len(scored)})"
    w_meta.update(eval_set=eval_set, single_glyph_top1=one, ten_glyph_gated_top1=ceiling["top1"],
                  ten_glyph_mean_rank=ceiling["mean_rank"], ten_glyph_prob=ceiling["prob"])
    c_meta.update(eval_set=eval_set, test_accuracy=acc["accuracy"],
                  test_accuracy_casefold=acc["accuracy_casefold"], test_n=acc["n"])
    log(f"judge_writers: one glyph top-1 {one * 100:.1f}%; 10 glyphs gated top-1 "
        f"{ceiling['top1'] * 100:.1f}%, mean rank {ceiling['mean_rank']:.2f}, p {ceiling['prob']:.3f} "
        f"(chance 1/55); {seconds_w:.0f}s")
    log(f"judge_chars: {acc['accuracy'] * 100:.1f}% (62 classes), {acc['accuracy_casefold'] * 100:.1f}% "
        f"case-folded; {seconds_c:.0f}s")
    return w_out, c_out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writer-epochs", type=int, default=40, help="epochs of the writer classifier")
    p.add_argument("--extra-builtin", type=int, default=0,
                   help="also learn to tell apart this many built-in writers (extra classes, "
                        "dropped when judging)")
    p.add_argument("--char-epochs", type=int, default=12, help="epochs of the character classifier")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--widths", type=int, nargs=3, default=(32, 64, 64),
                   help="the writer classifier's conv channels")
    p.add_argument("--char-widths", type=int, nargs=3, default=(16, 32, 64),
                   help="the character classifier's conv channels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR,
                   help="where judge_writers.npz and judge_chars.npz go")
    args = p.parse_args(argv)
    start = time.perf_counter()
    try:
        writers, chars = train(args)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for net, name in ((writers, "judge_writers"), (chars, "judge_chars")):
        path = net.save(args.out_dir / f"{name}.npz")
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    print(f"{time.perf_counter() - start:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

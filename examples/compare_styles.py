"""Two methods on the same writers, compared pair by pair: does B carry the hand better than A?

    python examples/writer_style.py --k all --draws a.npz ...              # method A
    python examples/writer_style.py --k all --draws b.npz --without-tone   # method B
    python examples/compare_styles.py a.npz b.npz --k all

Each method's gain (docs/judge.md) swings with which ten writers are judged: one writer whose
hand the judge knows well moves it by a tenth. Both methods drew the same writers' held-back
characters from the same given glyphs, so the judge's probability of the true writer is
compared writer by writer, and the writers are resampled together (paired bootstrap): the
interval of the difference is far narrower than either method's own. Since the gain averages
probabilities, a writer the judge is sure of weighs most; the count of writers B lifts, its
sign test and the median writer's difference count each writer once.

Several dev folds, each drawn by its own screening generator, pool into one comparison:
give each method's draws comma-separated, in the order of --writers (one range per fold):

    python examples/compare_styles.py a1.npz,a2.npz b1.npz,b2.npz --writers 35-44,25-34

With --lean-from DATA, a second figure that needs no judge: how far the drawn glyphs' lean
is from that of the writer's real held-back glyphs, each measured from the average slant of
its character over the hands of DATA (those the generator learned from; see
minigan.write.slant_correction).

Reads the draws that `writer_style.py --draws` keeps; fits and draws nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from minigan.data import load, load_spec
from minigan.metrics.judge import (DEV_WRITERS, FLOOR_WRITERS, given_glyphs, held_back,
                                   load_judge, real_glyphs, writer_group)
from minigan.write import char_slants, clean, slant

sys.path.insert(0, str(Path(__file__).resolve().parent))
from writer_style import draw_key, picture_rows  # noqa: E402  (where writer_style.py keeps draws)


def settings_of(path) -> dict:
    """The settings writer_style.py kept beside its draws."""
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["settings"])) if "settings" in z.files else {}


def writer_draws(path, dataset, writers, k, seed) -> dict:
    """{writer: uint8 [samples, 10, 28, 28]}: each writer's kept draws of their held-back characters."""
    with np.load(path, allow_pickle=False) as z:
        store = {name: z[name] for name in z.files if name != "settings"}
    out = {}
    for w in writers:
        given, _ = given_glyphs(dataset, w, k, seed)
        key = draw_key(held_back(w), given)
        if key not in store:
            raise SystemExit(f"{path}: no draws for writer {w} (made with another --k or --seed?)")
        out[w] = store[key]
    return out


def writer_probs(draws: dict, judge) -> np.ndarray:
    """[W] the judge's mean probability of the true writer over each writer's drawn samples."""
    return np.array([np.mean([v.prob for v in judge.verdicts(list(samples), [held_back(w)] * len(samples),
                                                                [w] * len(samples))])
                     for w, samples in draws.items()])


def sign_test(up: int, down: int) -> float:
    """Two-sided exact sign test: the chance of a split at least as lopsided as `up` writers
    against `down` (ties left out) if B were no better than A for a writer. One writer the
    judge is sure of can carry the pooled gain; it counts once here."""
    n = up + down
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(up, down) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def lean_errors(draws: dict, dataset, slants: dict) -> np.ndarray:
    """[W] for each writer, |the drawn glyphs' lean - their real held-back glyphs' lean|, a
    lean being the median over the characters of (slant - `slants[char]`), averaged over the
    writer's samples."""
    def lean(glyphs, chars):
        return np.median([slant(clean(g)) - slants[c] for g, c in zip(glyphs, chars)])

    out = []
    for w, samples in draws.items():
        real = lean(real_glyphs(dataset, w, held_back(w)), held_back(w))
        out.append(np.mean([abs(lean(s, held_back(w)) - real) for s in samples]))
    return np.array(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="draws of method A (.npz from writer_style.py --draws; several "
                             "folds comma-separated)")
    p.add_argument("b", help="draws of method B (as many files as A)")
    p.add_argument("--k", default=None,
                   help="the K both were run with: 'all' or a number (default: as the draws were made)")
    p.add_argument("--writers", default=f"{DEV_WRITERS[0]}-{DEV_WRITERS[-1]}",
                   help="FIRST-LAST, one range per file of A and B, comma-separated")
    p.add_argument("--seed", type=int, default=0, help="the --seed both were run with")
    p.add_argument("--boot", type=int, default=10000, help="bootstrap resamples of the writers")
    p.add_argument("--json", default=None, help="write the figures here")
    p.add_argument("--lean-from", default=None, metavar="DATA",
                   help="also each method's lean error, leans measured from the average slants "
                        "of these hands (a data spec: the writers the generator learned from)")
    p.add_argument("--picture", default=None,
                   help="PNG: for each writer's held-back characters, the real glyph, A's and B's")
    p.add_argument("--picture-writers", default=None,
                   help="only these writers in the picture, comma-separated (default: all)")
    args = p.parse_args(argv)
    files_a, files_b, ranges = args.a.split(","), args.b.split(","), args.writers.split(",")
    if not len(files_a) == len(files_b) == len(ranges):
        raise SystemExit(f"{len(files_a)} files for A, {len(files_b)} for B and {len(ranges)} "
                         f"writer ranges: give one of each per fold")
    folds = [list(range(int(r.split("-")[0]), int(r.split("-")[-1]) + 1)) for r in ranges]
    writers = [w for fold in folds for w in fold]
    shown = [int(w) for w in args.picture_writers.split(",")] if args.picture_writers else writers
    if sorted(set(shown) - set(writers)):
        raise SystemExit(f"--picture-writers {sorted(set(shown) - set(writers))} are not among --writers")
    if args.k is None:
        made = {path: settings_of(path).get("k") for path in files_a + files_b}
        if len(set(made.values())) != 1 or None in made.values():
            raise SystemExit(f"the draws were made with different or unknown K ({made}); give --k")
        args.k = str(made[files_a[0]])
    k = None if args.k == "all" else int(args.k)
    dataset, judge = load("chars74k"), load_judge()
    draws_a, draws_b = ({w: d for f, fold in zip(files, folds)
                         for w, d in writer_draws(f, dataset, fold, k, args.seed).items()}
                        for files in (files_a, files_b))
    pa, pb = writer_probs(draws_a, judge), writer_probs(draws_b, judge)
    # The gain's scale: floor and ceiling over the same writers, as the protocol takes them.
    ceiling = np.mean([v.prob for v in judge.verdicts(
        [real_glyphs(dataset, w, held_back(w)) for w in writers],
        [held_back(w) for w in writers], writers)])
    floor_rows = [(real_glyphs(dataset, v, held_back(w)), held_back(w), w) for w in writers
                  for v in FLOOR_WRITERS if v != w and writer_group(v) == writer_group(w)]
    floor = np.mean([v.prob for v in judge.verdicts(*map(list, zip(*floor_rows)))])
    scale = ceiling - floor
    diff = (pb - pa) / scale
    rng = np.random.default_rng(0)
    boot = diff[rng.integers(0, len(diff), (args.boot, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boot, [5, 95])
    report = {"a": args.a, "b": args.b, "k": args.k, "writers": writers,
              "gain_a": float((pa.mean() - floor) / scale), "gain_b": float((pb.mean() - floor) / scale),
              "gain_b_minus_a": float(diff.mean()), "interval_5_95": [float(lo), float(hi)],
              "b_better_writers": int((pb > pa).sum()), "b_worse_writers": int((pb < pa).sum()),
              "median_b_minus_a": float(np.median(diff)),
              "sign_test_p": sign_test(int((pb > pa).sum()), int((pb < pa).sum())),
              "per_writer_gain_a": ((pa - floor) / scale).round(3).tolist(),
              "per_writer_gain_b": ((pb - floor) / scale).round(3).tolist()}
    print(f"gain A {report['gain_a']:.3f}, B {report['gain_b']:.3f}; B - A {diff.mean():+.3f} "
          f"(writers resampled in pairs, 5-95%: {lo:+.3f} to {hi:+.3f}); B above A for "
          f"{report['b_better_writers']} of {len(writers)} writers (sign test p = "
          f"{report['sign_test_p']:.2f}; median writer {report['median_b_minus_a']:+.3f})")
    if args.lean_from:
        slants = char_slants(load_spec(args.lean_from))
        ea, eb = lean_errors(draws_a, dataset, slants), lean_errors(draws_b, dataset, slants)
        report["lean_error"] = {"from": args.lean_from, "a": float(ea.mean()), "b": float(eb.mean()),
                                "b_closer_writers": int((eb < ea).sum())}
        print(f"lean error (drawn against real held-back glyphs): A {ea.mean():.4f}, B "
              f"{eb.mean():.4f}; B closer for {(eb < ea).sum()} of {len(writers)} writers")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.picture:
        picture_rows({w: [real_glyphs(dataset, w, held_back(w)), draws_a[w][0], draws_b[w][0]]
                      for w in shown}, args.picture,
                     f"K = {args.k}: A {Path(files_a[0]).stem}, B {Path(files_b[0]).stem}",
                     "each triple: real held-back glyph | A's drawing | B's (the first draw of each)")
        print(f"wrote {args.picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

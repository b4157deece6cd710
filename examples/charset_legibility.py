"""Does a model draw every character it claims to, punctuation and accented letters included?

    MINIGAN_DATA=/path/to/data python examples/charset_legibility.py --ckpt runs/ship-fonts \
        --out docs/results/charset_legibility.json --picture docs/charset-drawn.png

minigan's shipped character classifier reads 0-9, A-Z and a-z only, so it cannot say whether
a comma or an ä comes out right. This script trains a classifier for the whole font charset
(156 characters) on the fonts 0-199, measures it on the fonts 200-267 (the real rate), then
reads glyphs the model draws for every character from random styles (the drawn rate). Both
rates are given per group (digits, capitals, small letters, punctuation, Latin-1 letters):
some characters are hard to tell apart even in print (o O 0, l I 1 |, ' `), so the figure to
read is the drawn rate against the real one. The classifier is trained here, each time, and
never seen by any generator.

Random styles are not what a person gets. With --fitted 35-44 the script also fits a style to
each of those Chars74K writers' 62 glyphs, as `write --style` does (its defaults), and draws
in it every character the writer never wrote (punctuation and the Latin-1 letters), which a
letter in their hand will need; those are read the same way.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from minigan.data import load
from minigan.data.spec import load_spec
from minigan.evaluate import sample_glyphs
from minigan.metrics import to_glyphs
from minigan.style import draw, fit_style
from minigan.generate import load_generator
from minigan.images import image_grid, save_atomic
from minigan.metrics.features import GlyphNet, classifier_accuracy, load_net

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_feature_nets import fit, random_affine, shipped  # noqa: E402

GROUPS = {"digits": str.isdigit, "capitals": lambda c: c.isascii() and c.isupper(),
          "small letters": lambda c: c.isascii() and c.islower(),
          "punctuation": lambda c: c.isascii() and not c.isalnum(),
          "Latin-1 letters": lambda c: not c.isascii()}


def group_of(char: str) -> str:
    return next(name for name, member in GROUPS.items() if member(char))


def rates(net, images: np.ndarray, chars: list[str]) -> dict:
    """Read-as-asked rate, overall and per group, of glyphs `images` meant as `chars`."""
    out = {"all": classifier_accuracy(net, images, chars)["accuracy"]}
    groups = np.array([group_of(c) for c in chars])
    for name in GROUPS:
        pick = groups == name
        if pick.any():
            out[name] = classifier_accuracy(net, images[pick], [c for c, p in zip(chars, pick) if p])["accuracy"]
    return out


def fitted_rates(net, G, cfg, chars: str, writers: str, seed: int, tune_steps: int = 30) -> dict:
    """Read-as-asked rates of the characters each Chars74K writer in `writers` (FIRST-LAST) never
    wrote, drawn in a style fitted to all their glyphs (write's defaults: 50 fitting steps,
    then `tune_steps` of tuning the model). The glyphs are read
    as the model draws them, in its box, as the fonts' own are: write's page sizes each one
    again, which would blow a comma up to the size of a letter."""
    lo, hi = (int(v) for v in writers.split("-"))
    data = load("chars74k")
    images, asked = [], []
    for w in range(lo, hi + 1):
        own = np.flatnonzero(data.writers == w)
        if not len(own):
            raise SystemExit(f"Chars74K has no writer {w}")
        given = "".join(data.charset[i] for i in data.labels[own])
        missing = "".join(c for c in chars if c not in given)
        start = time.perf_counter()
        targets = data.subset(own).as_float(cfg.res) * 2.0 - 1.0
        style = fit_style(G, cfg, targets, given, steps=50, tune_steps=tune_steps, seed=seed)
        images.append(to_glyphs(draw(G, cfg, style, missing, variation=0.15, seed=seed)))
        asked += missing
        print(f"writer {w}: {len(missing)} characters drawn in a style fitted to {len(own)} glyphs "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return {"writers": writers, "n": len(asked), "rate": rates(net, np.concatenate(images), asked),
            "rows": images}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="run folder or checkpoint of a content-conditioned model")
    p.add_argument("--train-fonts", default="fonts@0-199", help="what the classifier learns from")
    p.add_argument("--test-fonts", default="fonts@200-267", help="the real glyphs it is measured on")
    p.add_argument("--per-char", type=int, default=40, help="drawn glyphs per character")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classifier", type=Path, default=None,
                   help=".npz: load the classifier from here if it exists, else train it and save it here")
    p.add_argument("--truncation", type=float, default=1.0,
                   help="random styles drawn this far from the average (write without --style: 0.7)")
    p.add_argument("--fitted", default=None, metavar="FIRST-LAST",
                   help="also fit a style to each of these Chars74K writers (write's defaults) and "
                        "read the characters they never wrote, drawn in it (35-44: the dev writers)")
    p.add_argument("--tune-steps", type=int, default=30,
                   help="with --fitted: steps of tuning the model around each fitted style (write's default)")
    p.add_argument("--out", type=Path, required=True, help="JSON report")
    p.add_argument("--picture", type=Path, default=None,
                   help="PNG: one drawn glyph of every character, a row per group")
    args = p.parse_args(argv)

    G, cfg = load_generator(args.ckpt)
    train, test = load_spec(args.train_fonts), load_spec(args.test_fonts)
    if train.charset != test.charset:
        raise SystemExit("the train and test fonts must share a charset")
    charset = train.charset
    unknown = sorted(set(cfg.charset) - set(charset))
    if unknown:
        print(f"not read (the fonts lack them): {''.join(unknown)!r}")
    chars = "".join(c for c in cfg.charset if c in charset)

    meta = {"name": "fontchars", "charset": charset, "trained_on": args.train_fonts, "epochs": args.epochs}
    if args.classifier and args.classifier.is_file():
        net = load_net(str(args.classifier))
        if net.meta.get("trained_on") != args.train_fonts or net.charset != charset:
            raise SystemExit(f"{args.classifier}: trained on {net.meta.get('trained_on')}, not {args.train_fonts}")
        meta = net.meta
    else:
        glyph_net = GlyphNet(len(charset), (16, 32, 64), 128, "lrelu", seed=args.seed)
        seconds = fit(glyph_net, train.images, train.labels, args.epochs, 2e-3, 128,
                      lambda x, rng: random_affine(x, rng, shift=2.0, rotate=8, scale=0.1, shear=0.15),
                      args.seed, log=lambda s: print(s, flush=True) if "step 100/" in s else None)
        meta["train_seconds"] = round(seconds, 1)
        net = shipped(glyph_net, meta)
        if args.classifier:
            net.save(args.classifier)
    keep = np.isin(test.labels, [charset.index(c) for c in chars])
    real = rates(net, test.images[keep], [test.charset[i] for i in test.labels[keep]])

    asked = [c for c in chars for _ in range(args.per_char)]
    start = time.perf_counter()
    drawn = sample_glyphs(G, cfg, np.array([cfg.charset.index(c) for c in asked]), seed=args.seed + 1,
                          truncation=args.truncation)
    drawn_rates = rates(net, drawn, asked)
    fitted = fitted_rates(net, G, cfg, chars, args.fitted, args.seed, args.tune_steps) if args.fitted else None
    fitted_rows = fitted.pop("rows") if fitted else []
    report = {"ckpt": str(args.ckpt), "classifier": {k: v for k, v in meta.items() if k != "charset"},
              "real": {"set": args.test_fonts, "n": int(keep.sum()), "rate": real},
              "drawn": {"per_char": args.per_char, "n": len(asked), "truncation": args.truncation,
                        "rate": drawn_rates, "sampling_seconds": round(time.perf_counter() - start, 1)},
              "drawn_over_real": {k: drawn_rates[k] / real[k] if real[k] else None for k in drawn_rates}}
    if fitted:
        report["fitted"] = dict(fitted, tune_steps=args.tune_steps)
        report["fitted_over_real"] = {k: v / real[k] if real[k] else None for k, v in fitted["rate"].items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    for k in drawn_rates:
        ratio = report["drawn_over_real"][k]
        print(f"{k:>16}: drawn {drawn_rates[k]:.3f}, real {real[k]:.3f}, ratio "
              f"{'-' if ratio is None else f'{ratio:.2f}'}")
    for k in (fitted or {}).get("rate", {}):
        print(f"{k:>16}: in a fitted style {fitted['rate'][k]:.3f}, real {real[k]:.3f}, ratio "
              f"{report['fitted_over_real'][k]:.2f}")
    if args.picture:
        rows = []
        for name in GROUPS:
            rows.append(drawn[[i for i, c in enumerate(asked) if group_of(c) == name and i % args.per_char == 0]])
        rows += fitted_rows[:4]   # then the first fitted writers' characters, a row each
        width = max(len(r) for r in rows)
        grid = np.zeros((len(rows) * width, 28, 28), np.uint8)
        for r, row in enumerate(rows):
            grid[r * width:r * width + len(row)] = row
        save_atomic(image_grid(grid, cols=width), args.picture)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

Both ways, the accented letters are read twice: as the model draws them, and built as `write`
builds them (minigan.diacritics: the base letter, the writer's own where they wrote it, with
the mark drawn in a pen of its stroke width).
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
from minigan.data.transforms import normalize_glyph
from minigan.diacritics import accent, decompose
from minigan.evaluate import sample_glyphs
from minigan.generate import load_generator
from minigan.images import image_grid, save_atomic
from minigan.metrics import to_glyphs
from minigan.metrics.features import GlyphNet, classifier_accuracy, load_net
from minigan.style import draw, fit_style
from minigan.write import box, clean, stroke_width

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_feature_nets import fit, random_affine, shipped  # noqa: E402

GROUPS = {"digits": str.isdigit, "capitals": lambda c: c.isascii() and c.isupper(),
          "small letters": lambda c: c.isascii() and c.islower(),
          "punctuation": lambda c: c.isascii() and not c.isalnum(),
          "Latin-1 letters": lambda c: not c.isascii()}


def group_of(char: str) -> str:
    return next(name for name, member in GROUPS.items() if member(char))


GROUPS_AND_ALL = ["all", *GROUPS]


def over(rate: dict, real: dict) -> dict:
    """Each rate of `rate` (and of its "casefold" part) over the real glyphs' rate."""
    out = {k: v / real[k] if real.get(k) else None for k, v in rate.items() if k != "casefold"}
    if "casefold" in rate:
        out["casefold"] = over(rate["casefold"], real["casefold"])
    return out


def rates(net, images: np.ndarray, chars: list[str]) -> dict:
    """Read-as-asked rate, overall and per group, of glyphs `images` meant as `chars`; under
    "casefold", the same with a letter's capital and small letter counted as one (a page sets
    them apart by their size, which the glyphs' normalisation takes away)."""
    out, folded = {}, {}
    groups = np.array([group_of(c) for c in chars])
    for name, pick in [("all", np.ones(len(chars), bool))] + [(g, groups == g) for g in GROUPS]:
        if pick.any():
            acc = classifier_accuracy(net, images[pick], [c for c, p in zip(chars, pick) if p])
            out[name], folded[name] = acc["accuracy"], acc["accuracy_casefold"]
    return dict(out, casefold=folded)


def composed(glyphs: np.ndarray, asked, base_glyph, seed: int = 0) -> np.ndarray:
    """The glyphs with every accented letter minigan.diacritics can build replaced by its
    build from base_glyph(i) (uint8 [28, 28], the base letter for glyph i), normalised as the
    fonts' letters are."""
    rng = np.random.default_rng(seed)
    out = glyphs.copy()
    for i, char in enumerate(asked):
        parts = decompose(char)
        base = base_glyph(i) if parts else None
        crop = clean(base / 255.0) if base is not None else None
        if crop is not None:
            top, bottom, _ = box(parts[0])
            pen = stroke_width(crop) * (top - bottom) / crop.shape[0]     # in x-heights
            out[i] = normalize_glyph(accent(crop, char, top - bottom, pen, rng=rng)[0] * 255.0)
    return out


def fitted_rates(net, G, cfg, chars: str, writers: str, seed: int, tune_steps: int = 30) -> dict:
    """Read-as-asked rates of the characters each Chars74K writer in `writers` (FIRST-LAST) never
    wrote, drawn in a style fitted to all their glyphs (write's defaults: 50 fitting steps,
    then `tune_steps` of tuning the model). The glyphs are read as the model draws them, in
    its box, as the fonts' own are: write's page sizes each one again, which would blow a
    comma up to the size of a letter."""
    lo, hi = (int(v) for v in writers.split("-"))
    data = load("chars74k")
    images, builds, asked = [], [], []
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
        own_glyph = {c: data.images[i] for c, i in zip(given, own)}
        builds.append(composed(images[-1], missing, lambda i: own_glyph.get(decompose(missing[i])[0]), seed))
        asked += missing
        print(f"writer {w}: {len(missing)} characters drawn in a style fitted to {len(own)} glyphs "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return {"writers": writers, "n": len(asked), "rate": rates(net, np.concatenate(images), asked),
            "composed_rate": rates(net, np.concatenate(builds), asked), "rows": images, "built_rows": builds}


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
    bases = [(decompose(c) or (c,))[0] for c in asked]   # the same z draws each accent's base letter
    base_drawn = sample_glyphs(G, cfg, np.array([cfg.charset.index(c) for c in bases]), seed=args.seed + 1,
                               truncation=args.truncation)
    built = composed(drawn, asked, lambda i: base_drawn[i], args.seed)
    built_rates = rates(net, built, asked)
    fitted = fitted_rates(net, G, cfg, chars, args.fitted, args.seed, args.tune_steps) if args.fitted else None
    fitted_rows = fitted.pop("rows") if fitted else []
    built_rows = fitted.pop("built_rows") if fitted else []
    report = {"ckpt": str(args.ckpt), "classifier": {k: v for k, v in meta.items() if k != "charset"},
              "real": {"set": args.test_fonts, "n": int(keep.sum()), "rate": real},
              "drawn": {"per_char": args.per_char, "n": len(asked), "truncation": args.truncation,
                        "rate": drawn_rates, "sampling_seconds": round(time.perf_counter() - start, 1),
                        "composed_rate": built_rates},
              "drawn_over_real": over(drawn_rates, real)}
    if fitted:
        report["fitted"] = dict(fitted, tune_steps=args.tune_steps)
        report["fitted_over_real"] = over(fitted["rate"], real)
        report["fitted_composed_over_real"] = over(fitted["composed_rate"], real)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    for k in GROUPS_AND_ALL:
        ratio = report["drawn_over_real"][k]
        print(f"{k:>16}: drawn {drawn_rates[k]:.3f}, real {real[k]:.3f}, ratio "
              f"{'-' if ratio is None else f'{ratio:.2f}'}")
    latin = "Latin-1 letters"
    print(f"{latin:>16}: built with their marks {built_rates[latin]:.3f}, ratio "
          f"{built_rates[latin] / real[latin]:.2f}; case-folded, drawn "
          f"{drawn_rates['casefold'][latin] / real['casefold'][latin]:.2f} and built "
          f"{built_rates['casefold'][latin] / real['casefold'][latin]:.2f} of the real rate")
    for k in [k for k in GROUPS_AND_ALL if fitted and k in fitted["rate"]]:
        print(f"{k:>16}: in a fitted style {fitted['rate'][k]:.3f}, real {real[k]:.3f}, ratio "
              f"{report['fitted_over_real'][k]:.2f}; with accents built {fitted['composed_rate'][k]:.3f}, "
              f"ratio {report['fitted_composed_over_real'][k]:.2f} (case-folded "
              f"{report['fitted_over_real']['casefold'][k]:.2f} and "
              f"{report['fitted_composed_over_real']['casefold'][k]:.2f})")
    if args.picture:
        rows = []
        for name in GROUPS:
            rows.append(drawn[[i for i, c in enumerate(asked) if group_of(c) == name and i % args.per_char == 0]])
        for drawn_row, built_row in list(zip(fitted_rows, built_rows))[:3]:
            rows += [drawn_row, built_row]   # then the first fitted writers', drawn, then built
        width = max(len(r) for r in rows)
        grid = np.zeros((len(rows) * width, 28, 28), np.uint8)
        for r, row in enumerate(rows):
            grid[r * width:r * width + len(row)] = row
        save_atomic(image_grid(grid, cols=width), args.picture)
    return 0


if __name__ == "__main__":
    sys.exit(main())

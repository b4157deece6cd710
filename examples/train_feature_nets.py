"""Train the feature networks that minigan.metrics ships, with minigan itself, on real data.

    MINIGAN_DATA=/path/to/data python examples/train_feature_nets.py digits    # MNIST classifier
    MINIGAN_DATA=/path/to/data python examples/train_feature_nets.py chars     # 0-9 A-Z a-z
    MINIGAN_DATA=/path/to/data python examples/train_feature_nets.py writers   # writer embedding

Each writes minigan/weights/<name>.npz (float16 weights and a JSON `meta` holding what the net
was trained on, the figures it reached on held-out data and the training wall time); the tests
check that the shipped file reproduces those figures. On a shared, busy CPU run them with
NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1: threads fighting over two cores cost 3x here.

    digits   MNIST train (60k, shifted by up to 2 px); accuracy on the 10k test set.
    chars    Chars74K writers 0-44 + built-in writers (small random affine warps); accuracy on
             Chars74K writers 45-54, 62-class and case-folded 36-class.
    writers  a 64-d writer embedding learnt from episodes of 16 writers x 8 shared characters
             (Chars74K writers 0-44, 200 built-in writers, the 1000 Omniglot writers within
             their alphabets; shifted by up to 1 px, no warps, since slant and proportions are
             the style): see `fit_episodes`. Scored by leave-one-character-out nearest-centroid
             writer identification on Chars74K writers 45-54, never seen.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import minigan as mg
from minigan.data import CHARSET_62, GlyphDataset, builtin_glyphs, load
from minigan.metrics.features import WEIGHTS_DIR, FeatureNet, GlyphNet, classifier_accuracy, standardize
from minigan.metrics.writer import char_means, writer_identification
from minigan.optim import Adam

HELD_OUT_WRITERS = range(45, 55)  # Chars74K writers no network trains on


def random_affine(images: np.ndarray, rng, shift: float, rotate: float = 0.0, scale: float = 0.0,
                  shear: float = 0.0) -> np.ndarray:
    """Warp uint8 glyphs [N, 28, 28] by a random affine map each (bilinear, about the centre).

    shift in pixels, rotate in degrees, scale and shear as fractions (0.1 = +-10%).
    """
    n, h, w = images.shape
    theta = np.radians(rng.uniform(-rotate, rotate, n))
    s = 1.0 + rng.uniform(-scale, scale, n)
    k = rng.uniform(-shear, shear, n)
    cos, sin = np.cos(theta), np.sin(theta)
    # Forward map A = s * R(theta) @ [[1, k], [0, 1]]; sample the source at A^-1 (dst - c - t) + c.
    a = np.stack([np.stack([cos, cos * k - sin], -1), np.stack([sin, sin * k + cos], -1)], -2) * s[:, None, None]
    inv = np.linalg.inv(a)                                                   # [N, 2, 2]
    t = rng.uniform(-shift, shift, (n, 2))
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    ys, xs = np.mgrid[0:h, 0:w]
    dst = np.stack([xs, ys], -1).reshape(-1, 2) - centre                     # [HW, 2] as (x, y)
    src = np.einsum("nij,nkj->nki", inv, dst[None] - t[:, None]) + centre    # [N, HW, 2]
    x0, y0 = np.floor(src[..., 0]).astype(int), np.floor(src[..., 1]).astype(int)
    fx, fy = src[..., 0] - x0, src[..., 1] - y0
    padded = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1)))    # zero ink outside
    rows = np.arange(n)[:, None]

    def at(yy, xx):
        return padded[rows, np.clip(yy + 1, 0, h + 1), np.clip(xx + 1, 0, w + 1)]

    out = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
           + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(n, h, w)


def fit(net: GlyphNet, images: np.ndarray, labels: np.ndarray, epochs: int, lr: float, batch: int,
        augment, seed: int, repeat: np.ndarray | None = None, log=print) -> float:
    """Adam with a cosine learning-rate decay; returns the wall time in seconds.

    `repeat` [N] (ints) shows sample i that many times per epoch (to balance small sources).
    """
    rng = np.random.default_rng(seed)
    pool = np.arange(len(images)) if repeat is None else np.repeat(np.arange(len(images)), repeat)
    opt = Adam(net.parameters(), lr=lr)
    steps = len(pool) // batch
    start = time.perf_counter()
    running = 0.0
    for epoch in range(epochs):
        order = rng.permutation(pool)
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            progress = (epoch * steps + step) / (epochs * steps)
            opt.param_groups[0]["lr"] = lr * 0.5 * (1 + np.cos(np.pi * progress))
            x = standardize(augment(images[idx], rng))
            loss = mg.ops.cross_entropy(net(mg.tensor(x)), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()
            if (epoch * steps + step + 1) % 100 == 0:
                log(f"epoch {epoch + 1}/{epochs} step {step + 1}/{steps} loss {running / 100:.4f} "
                    f"{time.perf_counter() - start:.0f}s")
                running = 0.0
    return time.perf_counter() - start


def shipped(net: GlyphNet, meta: dict, arrays: dict | None = None) -> FeatureNet:
    """The net as it will be shipped: weights rounded to float16, so figures match the file."""
    state = {k: v.astype(np.float16).astype(np.float32) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    return FeatureNet(net, meta, arrays)


def train_digits(args, log=print) -> FeatureNet:
    train, test = load("mnist", split="train"), load("mnist", split="test")
    net = GlyphNet(10, args.widths, 128, "lrelu", seed=args.seed)
    seconds = fit(net, train.images, train.labels, args.epochs or 3, args.lr, args.batch,
                  lambda x, rng: random_affine(x, rng, shift=2.0), args.seed, log=log)
    meta = {"name": "digits", "charset": "0123456789", "trained_on": "MNIST train, 60000 images",
            "train_seconds": round(seconds, 1), "epochs": args.epochs or 3}
    out = shipped(net, meta)
    acc = classifier_accuracy(out, test.images, test.chars())
    meta.update(eval_set="MNIST test, 10000 images", test_accuracy=acc["accuracy"], test_n=acc["n"])
    log(f"digits: MNIST test accuracy {acc['accuracy'] * 100:.2f}% (n={acc['n']}), {seconds:.0f}s training")
    return out


def chars74k_split():
    """(writers 0-44, writers 45-54) of Chars74K."""
    c74 = load("chars74k")
    if c74.charset != CHARSET_62:
        raise ValueError(f"chars74k charset {c74.charset!r} is not 0-9 A-Z a-z")
    held = np.isin(c74.writers, HELD_OUT_WRITERS)
    return c74.subset(~held), c74.subset(held)


def train_chars(args, log=print) -> FeatureNet:
    c74_train, c74_test = chars74k_split()
    synth = builtin_glyphs(n_writers=60, per_char=2, seed=100)
    data = GlyphDataset.concat([c74_train, synth])
    # Chars74K: 2790 glyphs against 7440 built-in ones; show the real ones 3 times per epoch.
    repeat = np.concatenate([np.full(len(c74_train), 3), np.ones(len(synth), int)])
    net = GlyphNet(62, args.widths, 128, "lrelu", seed=args.seed)
    epochs = args.epochs or 12
    seconds = fit(net, data.images, data.labels, epochs, args.lr, args.batch,
                  lambda x, rng: random_affine(x, rng, shift=2.0, rotate=10, scale=0.1, shear=0.2),
                  args.seed, repeat, log=log)
    meta = {"name": "chars", "charset": CHARSET_62,
            "trained_on": f"Chars74K writers 0-44 ({len(c74_train)}) + built-in writers ({len(synth)})",
            "train_seconds": round(seconds, 1), "epochs": epochs}
    out = shipped(net, meta)
    acc = classifier_accuracy(out, c74_test.images, c74_test.chars())
    meta.update(eval_set=f"Chars74K writers 45-54, {acc['n']} glyphs", test_accuracy=acc["accuracy"],
                test_accuracy_casefold=acc["accuracy_casefold"], test_n=acc["n"])
    log(f"chars: Chars74K writers 45-54: {acc['accuracy'] * 100:.2f}% (62 classes), "
        f"{acc['accuracy_casefold'] * 100:.2f}% (36, case-folded), n={acc['n']}, {seconds:.0f}s training")
    return out


def fit_episodes(net: GlyphNet, images: np.ndarray, sources: list[list[np.ndarray]], shares, steps: int,
                 lr: float, writers: int, chars: int, augment, seed: int, scale: float = 8.0,
                 log=print) -> float:
    """Train an embedding to tell writers apart by the style they share across characters.

    Each step draws a source (with probabilities `shares`), one of its grids (a set of writers
    who all wrote the same characters: rows are writers, columns characters, cells image
    indices), `writers` of the grid's rows and `chars` of its columns. The embeddings are
    centred per character over the drawn writers (so what a glyph shares with other writers'
    glyphs of that character cancels), L2-normalised, and each glyph is classified among the
    drawn writers by its distance to their centroids over the *other* characters: the
    leave-one-character-out nearest-centroid rule the metric uses, made soft.
    Returns the wall time in seconds.
    """
    rng = np.random.default_rng(seed)
    opt = Adam(net.parameters(), lr=lr)
    target = np.tile(np.arange(writers), chars)                              # [M * B], row m*B + b
    start = time.perf_counter()
    running = 0.0
    for step in range(steps):
        grids = sources[rng.choice(len(sources), p=shares)]
        grid = grids[rng.integers(len(grids))]
        rows = rng.choice(grid.shape[0], writers, replace=False)
        cols = rng.choice(grid.shape[1], chars, replace=False)
        idx = grid[np.ix_(rows, cols)]                                         # [B, M]
        opt.param_groups[0]["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        x = standardize(augment(images[idx.reshape(-1)], rng))
        e = net.features(mg.tensor(x)).reshape(writers, chars, -1)            # [B, M, D]
        e = e - e.mean(axis=0, keepdims=True)                                  # centred per character
        e = e * mg.ops.rsqrt((e * e).sum(axis=2, keepdims=True) + 1e-8)       # unit length
        others = (e.sum(axis=1, keepdims=True) - e) * (1.0 / (chars - 1))     # [B, M, D] centroid w/o char m
        e_m, c_m = e.permute(1, 0, 2), others.permute(1, 0, 2)                 # [M, B, D]
        # -|e - c|^2 = 2 e.c - |c|^2 - 1: logits over the B writers' centroids, per character.
        dots = mg.ops.matmul(e_m, c_m.permute(0, 2, 1))                        # [M, B, B']
        sq = (c_m * c_m).sum(axis=2).reshape(chars, 1, writers)               # [M, 1, B']
        logits = (dots * 2.0 - sq) * scale
        loss = mg.ops.cross_entropy(logits.reshape(chars * writers, writers), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {running / 100:.4f} {time.perf_counter() - start:.0f}s")
            running = 0.0
    return time.perf_counter() - start


def writer_grid(ds: GlyphDataset) -> np.ndarray:
    """[writers, characters] index of a writer's glyph of each character (the last of several)."""
    ids, chars = np.unique(ds.writers), np.unique(ds.labels)
    grid = np.full((len(ids), len(chars)), -1)
    rows, cols = np.searchsorted(ids, ds.writers), np.searchsorted(chars, ds.labels)
    grid[rows, cols] = np.arange(len(ds))
    if (grid < 0).any():
        raise ValueError(f"{ds.source}: not every writer wrote every character")
    return grid


def train_writers(args, log=print) -> FeatureNet:
    c74_train, c74_test = chars74k_split()
    synth = builtin_glyphs(n_writers=200, per_char=1, seed=200)
    omni = load("omniglot")
    alphabets = [omni.subset(omni.writers // 20 == a) for a in range(50)]  # writer = alphabet*20 + drawer
    parts = [c74_train, synth, *alphabets]
    offsets = np.cumsum([0] + [len(p) for p in parts])
    grids = [writer_grid(p) + o for p, o in zip(parts, offsets)]
    images = np.concatenate([p.images for p in parts])
    sources = [grids[:1], grids[1:2], grids[2:]]               # Chars74K, built-in, Omniglot alphabets
    c74 = args.c74_share
    shares = [c74, (1 - c74) / 2, (1 - c74) / 2]
    net = GlyphNet(0, args.widths, 64, "linear", seed=args.seed)
    steps = args.steps or 3000
    seconds = fit_episodes(net, images, sources, shares, steps, args.lr, 16, 8,
                           lambda x, rng: random_affine(x, rng, shift=1.0), args.seed, log=log)
    meta = {"name": "writers", "charset": CHARSET_62,
            "trained_on": (f"episodes of 16 writers x 8 characters from Chars74K writers 0-44 "
                           f"({len(c74_train)} glyphs), 200 built-in writers ({len(synth)}) and the "
                           f"1000 Omniglot writers ({len(omni)})"),
            "source_shares": {"chars74k": shares[0], "builtin": shares[1], "omniglot": shares[2]},
            "train_seconds": round(seconds, 1), "steps": steps,
            "embedding": "features minus the per-character mean (extra/char_mean, from Chars74K "
                         "writers 0-44), then L2-normalised"}
    out = shipped(net, meta)
    out.arrays["char_mean"] = char_means(out.features(c74_train.images), c74_train.labels, 62)
    ident = writer_identification(out, c74_test.images, c74_test.labels, c74_test.writers)
    meta.update(eval_set=f"Chars74K writers 45-54, {len(c74_test)} glyphs, leave-one-character-out "
                         f"nearest centroid", writer_top1=ident["top1"], writer_top5=ident["top5"],
                writer_chance_top1=1 / 10)
    log(f"writers: writer ID on Chars74K writers 45-54: top-1 {ident['top1'] * 100:.1f}%, "
        f"top-5 {ident['top5'] * 100:.1f}% (chance 10% / 50%), {seconds:.0f}s training")
    return out


TRAINERS = {"digits": train_digits, "chars": train_chars, "writers": train_writers}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("net", choices=sorted(TRAINERS), help="which network to train")
    parser.add_argument("--epochs", type=int, default=None, help="classifiers: default digits 3, chars 12")
    parser.add_argument("--steps", type=int, default=None, help="writers: episodes (default 3000)")
    parser.add_argument("--c74-share", type=float, default=0.6,
                        help="writers: share of episodes from Chars74K (the rest: built-in and Omniglot, evenly)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs=3, default=(16, 32, 64),
                        help="channels of the three conv stages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="weight file to write (default: minigan/weights/<net>.npz)")
    args = parser.parse_args(argv)
    try:
        net = TRAINERS[args.net](args)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    path = net.save(args.out or WEIGHTS_DIR / f"{args.net}.npz")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The judge: does a drawing carry a writer's hand onto characters the judge never saw from them?

A writer classifier over the 55 Chars74K hands scores K glyphs of one writer together: the
mean of their logits, softmaxed, gives the probability of each writer. Each glyph is first
read by a character classifier, and a glyph it misreads (case-folded) adds no evidence; a
sample with no readable glyph is a failure: probability 0, last rank. (A uniform score, 1/55,
would sit above the floor, where the judge is sure the glyphs are another writer's, and so
reward drawing nothing legible.) Both networks are trained by
examples/train_judge.py on the same honest split: every writer's HELD-BACK characters
(`held_back`) are left out of both, so a writer's real held-back glyphs (the ceiling) are
judged on characters the judge never saw from that writer, and so are another writer's real
glyphs of the same characters (the floor, from a writer who holds back the same characters).

    judge = load_judge()
    judge.score(images, chars, writer)          # one sample: K glyphs of one writer
    judge_protocol(fit_draw, dataset, writers=DEV_WRITERS, k=None)

The gain of a method is (p_method - p_floor) / (p_ceiling - p_floor), p the judge's mean
probability of the true writer over many samples. Near-copies (`copy_scores`) are drawn
glyphs that correlate above NEAR_COPY with one of the style glyphs given as input, after the
best shift: a method that hands back its inputs is not drawing new characters.

The judge is for measuring only: tune on the dev writers (DEV_WRITERS), never on the judge's
networks, and never use it as a training loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data import CHARSET_62, GlyphDataset
from .features import WEIGHTS_DIR, FeatureNet, fold_case, load_net

SPLIT_SEED = 18            # fixes which characters each writer holds back
GROUPS, HELD = 6, 10       # 6 disjoint groups of 10 characters; each writer holds back one
NUM_WRITERS = 55           # Chars74K EnglishHnd writers 0-54
DEV_WRITERS = tuple(range(35, 45))        # the hands to screen methods on
HELD_OUT_WRITERS = tuple(range(45, 55))   # run once, at the end; never for a choice
FLOOR_WRITERS = tuple(range(0, 45))       # whose real glyphs make the floor
# A drawn glyph counts as a near-copy of a style glyph above this correlation (after the best
# shift of up to COPY_SHIFT pixels). It sits above the 99th percentile (0.886) of two real,
# independent drawings of the SAME character by different Chars74K writers (0-44: 0.8% exceed it),
# so a drawing this close to a glyph of ANOTHER character was copied, not drawn; the real
# held-back glyphs of writers 0-34 exceed it against their own other glyphs 0.9% of the time
# (c/C, o/O, 0/O: docs/judge.md, "Near-copies").
NEAR_COPY = 0.9
COPY_SHIFT = 2


def character_groups(seed: int = SPLIT_SEED) -> list[str]:
    """The GROUPS disjoint sets of HELD characters that writers hold back (a fixed shuffle of
    0-9 A-Z a-z; the two characters left over are never held back)."""
    order = np.random.default_rng(seed).permutation(len(CHARSET_62))
    return ["".join(CHARSET_62[i] for i in sorted(order[g * HELD:(g + 1) * HELD]))
            for g in range(GROUPS)]


def writer_group(writer: int, seed: int = SPLIT_SEED) -> int:
    """Which character group Chars74K writer `writer` (0-54) holds back."""
    if not 0 <= writer < NUM_WRITERS:
        raise ValueError(f"the judge knows Chars74K writers 0-{NUM_WRITERS - 1}, not {writer}")
    order = np.random.default_rng(seed + 1).permutation(NUM_WRITERS)
    return int(order[writer] % GROUPS)


def held_back(writer: int, seed: int = SPLIT_SEED) -> str:
    """The HELD characters writer `writer` holds back: no judge network saw them from this
    writer, and a method under test is never given them."""
    return character_groups(seed)[writer_group(writer, seed)]


def held_back_mask(writers: np.ndarray, labels: np.ndarray, charset: str = CHARSET_62,
                   seed: int = SPLIT_SEED) -> np.ndarray:
    """bool [N]: which of these (writer, character) glyphs are held back from the judge."""
    groups = character_groups(seed)
    return np.array([charset[c] in groups[writer_group(int(w), seed)]
                     for w, c in zip(writers, labels)], bool)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Verdict:
    """The judge on one sample: K glyphs said to be by `writer`."""
    prob: float        # probability of the true writer (0 when no glyph was readable)
    rank: float        # 1 = the true writer scored highest; W (last) when no evidence
    readable: int      # how many of the K glyphs the character classifier read right
    k: int


class Judge:
    """A writer classifier over Chars74K's 55 hands, gated by a character classifier."""

    def __init__(self, writer_net: FeatureNet, char_net: FeatureNet):
        if writer_net.net.classes != NUM_WRITERS:
            raise ValueError(f"the judge's writer network has {writer_net.net.classes} classes, "
                             f"not the {NUM_WRITERS} Chars74K writers")
        self.writer_net, self.char_net = writer_net, char_net
        self.charset = char_net.charset

    def readable(self, images: np.ndarray, chars: str) -> np.ndarray:
        """bool [N]: glyphs uint8 [N, 28, 28] that the character classifier reads as `chars`
        (case-folded: Chars74K glyphs are normalised in size, so o and O can look alike)."""
        if len(chars) != len(images):
            raise ValueError(f"{len(images)} glyphs but {len(chars)} characters")
        unknown = sorted(set(chars) - set(self.charset))
        if unknown:
            raise ValueError(f"the judge cannot read {''.join(unknown)!r}; it knows {self.charset!r}")
        if len(images) == 0:
            return np.zeros(0, bool)
        truth = np.array([self.charset.index(c) for c in chars])
        pred = self.char_net.predict(images)
        return fold_case(pred, self.charset) == fold_case(truth, self.charset)

    def verdicts(self, samples: list[np.ndarray], chars: list[str], writers) -> list[Verdict]:
        """One Verdict per sample: samples[i] uint8 [K, 28, 28], the glyphs of chars[i], said
        to be by Chars74K writer writers[i]. Runs the networks once over all glyphs."""
        if not (len(samples) == len(chars) == len(writers)):
            raise ValueError("one list of characters and one writer per sample")
        if not samples:
            return []
        sizes = [len(s) for s in samples]
        images = np.concatenate([np.asarray(s) for s in samples])               # [sum K, 28, 28]
        ok = self.readable(images, "".join(chars))                              # [sum K]
        logits = self.writer_net.logits(images)                                 # [sum K, W]
        out, start = [], 0
        for size, writer in zip(sizes, writers):
            sl = slice(start, start + size)
            start += size
            keep = ok[sl]
            w = self.writer_net.net.classes
            if not keep.any():
                out.append(Verdict(0.0, float(w), 0, size))
                continue
            mean = logits[sl][keep].mean(axis=0)                                # [W]
            out.append(Verdict(float(softmax(mean)[writer]),
                               float(1 + (mean > mean[writer]).sum()), int(keep.sum()), size))
        return out

    def score(self, images: np.ndarray, chars: str, writer: int) -> Verdict:
        """The judge on one sample of K glyphs of `chars` said to be by `writer`."""
        return self.verdicts([np.asarray(images)], [chars], [writer])[0]


def load_judge(writer_path=None, char_path=None) -> Judge:
    """The shipped judge (minigan/weights/judge_writers.npz and judge_chars.npz), or files."""
    return Judge(load_net(str(writer_path or WEIGHTS_DIR / "judge_writers.npz")),
                 load_net(str(char_path or WEIGHTS_DIR / "judge_chars.npz")))


def summarise(verdicts: list[Verdict]) -> dict:
    """Mean probability of the true writer, top-1, mean rank, readable share, sample count."""
    if not verdicts:
        return {"n": 0}
    p = np.array([v.prob for v in verdicts])
    rank = np.array([v.rank for v in verdicts])
    return {"prob": float(p.mean()), "prob_se": float(p.std(ddof=1) / np.sqrt(len(p))) if len(p) > 1 else 0.0,
            "top1": float(np.mean(rank == 1)), "mean_rank": float(rank.mean()),
            "readable": float(sum(v.readable for v in verdicts) / sum(v.k for v in verdicts)),
            "no_evidence": float(np.mean([v.readable == 0 for v in verdicts])), "n": len(verdicts)}


def gain(p_method: float, p_floor: float, p_ceiling: float) -> float:
    """Where p_method sits from the floor (0) to the ceiling (1)."""
    if not p_ceiling > p_floor:
        raise ValueError(f"the ceiling ({p_ceiling:.4f}) is not above the floor ({p_floor:.4f}): "
                         "the judge cannot tell these writers apart")
    return (p_method - p_floor) / (p_ceiling - p_floor)


# ---------------------------------------------------------------- near-copies

def _standardised(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """[N, H, W] moved by (dy, dx) pixels, zero ink coming in."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def copy_scores(drawn: np.ndarray, style: np.ndarray, shift: int = COPY_SHIFT) -> np.ndarray:
    """float [N]: each drawn glyph's highest correlation with any style glyph [M, 28, 28]
    (Pearson over pixels), maximised over shifts of the style glyph by up to `shift` px."""
    drawn, style = np.asarray(drawn), np.asarray(style)
    if len(drawn) == 0 or len(style) == 0:
        return np.zeros(len(drawn))
    d = _standardised(drawn)                                                    # [N, HW]
    best = np.full(len(drawn), -1.0)
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            s = _standardised(_shifted(style, dy, dx))                          # [M, HW]
            best = np.maximum(best, (d @ s.T).max(axis=1))
    return best


def near_copy_share(drawn: np.ndarray, style: np.ndarray, threshold: float = NEAR_COPY) -> float:
    """Share of drawn glyphs that are near-copies of a style glyph."""
    return float(np.mean(copy_scores(drawn, style) > threshold)) if len(drawn) else float("nan")


# ---------------------------------------------------------------- the protocol

FitDraw = Callable[[np.ndarray, str, str, int], list]
"""fit_draw(style_glyphs uint8 [K, 28, 28], their chars, held_chars, samples) -> a list of
`samples` arrays uint8 [len(held_chars), 28, 28]: the held-back characters drawn in the style
fitted to the given glyphs (one fit, several draws)."""


def given_glyphs(dataset: GlyphDataset, writer: int, k: int | None, seed: int = 0):
    """(images uint8 [K, 28, 28], chars) a method may see of `writer`: glyphs of characters
    the writer does not hold back, all of them (k None) or k at random (fixed by seed)."""
    own = np.flatnonzero(dataset.writers == writer)
    hidden = set(held_back(writer))
    own = own[[dataset.charset[dataset.labels[i]] not in hidden for i in own]]
    if k is not None:
        own = np.sort(np.random.default_rng([seed, writer]).choice(own, min(k, len(own)), replace=False))
    return dataset.images[own], "".join(dataset.charset[dataset.labels[i]] for i in own)


def real_glyphs(dataset: GlyphDataset, writer: int, chars: str) -> np.ndarray:
    """uint8 [len(chars), 28, 28]: the writer's real glyphs of `chars`, in order."""
    out = []
    for c in chars:
        hit = np.flatnonzero((dataset.writers == writer) & (dataset.labels == dataset.charset.index(c)))
        if len(hit) == 0:
            raise ValueError(f"{dataset.source}: writer {writer} has no glyph of {c!r}")
        out.append(dataset.images[hit[0]])
    return np.stack(out)


def judge_protocol(fit_draw: FitDraw | None, dataset: GlyphDataset, writers=DEV_WRITERS,
                   k: int | None = None, samples: int = 1, seed: int = 0, judge: Judge | None = None,
                   floor_writers=FLOOR_WRITERS, keep_glyphs: bool = False, log=None) -> dict:
    """The dev protocol, scored by the judge: ceiling, floor and (with fit_draw) the method.

    For each writer: the method is given the writer's glyphs of every character they do not
    hold back (k None) or k of them, and draws the HELD held-back characters, `samples` times;
    each draw is one sample. Ceiling: the writer's real held-back glyphs (one sample per
    writer). Floor: the real glyphs of the same characters by every writer of floor_writers
    who holds back the same group (so the judge never saw those either), one sample each.
    Returns {"ceiling", "floor", "method" (summaries, see `summarise`), "gain", "near_copies",
    "char_accuracy", ...}; with keep_glyphs, "glyphs" {writer: (real, drawn list)} too.
    """
    if dataset.charset != CHARSET_62 or dataset.writers is None:
        raise ValueError(f"{dataset.source}: the judge's protocol runs on Chars74K (0-9 A-Z a-z "
                         "with writer ids)")
    judge = judge or load_judge()
    writers = [int(w) for w in writers]
    if not writers:
        raise ValueError("no writers to judge")
    rows = {name: ([], [], []) for name in ("ceiling", "floor", "method")}   # samples, chars, writers
    copies = {"ceiling": [], "method": []}
    kept = {}
    for w in writers:
        chars = held_back(w)
        real = real_glyphs(dataset, w, chars)
        given, given_chars = given_glyphs(dataset, w, k, seed)
        for name, sample in [("ceiling", real)] + [
                ("floor", real_glyphs(dataset, v, chars)) for v in floor_writers
                if v != w and writer_group(v) == writer_group(w)]:
            rows[name][0].append(sample), rows[name][1].append(chars), rows[name][2].append(w)
        copies["ceiling"].append(copy_scores(real, given))
        if fit_draw is not None:
            drawn = fit_draw(given, given_chars, chars, samples)
            if len(drawn) != samples:
                raise ValueError(f"fit_draw gave {len(drawn)} samples, {samples} were asked for")
            for sample in drawn:
                sample = np.asarray(sample)
                if sample.shape != (len(chars), 28, 28) or sample.dtype != np.uint8:
                    raise ValueError(f"fit_draw must give uint8 [{len(chars)}, 28, 28], got "
                                     f"{sample.dtype} {sample.shape}")
                rows["method"][0].append(sample), rows["method"][1].append(chars)
                rows["method"][2].append(w)
                copies["method"].append(copy_scores(sample, given))
            if keep_glyphs:
                kept[w] = (real, drawn)
        if log:
            log(f"writer {w}: holds back {chars!r}, given {len(given)} glyphs")
    out = {"writers": writers, "k": "all" if k is None else k, "samples": samples,
           "held_back": {w: held_back(w) for w in writers}, "near_copy_threshold": NEAR_COPY,
           "floor_writers": f"{min(floor_writers)}-{max(floor_writers)}, same held-back group"}
    verdicts = {}
    for name, (s, c, wr) in rows.items():
        if s:
            verdicts[name] = judge.verdicts(s, c, wr)
            out[name] = summarise(verdicts[name])
    for name, scores in copies.items():
        if scores:
            out[name]["near_copies"] = float(np.mean(np.concatenate(scores) > NEAR_COPY))
    if "method" in out:
        out["gain"] = gain(out["method"]["prob"], out["floor"]["prob"], out["ceiling"]["prob"])
        # What a judge that knows nothing (p = 1/W for every sample) would score: the floor sits
        # below chance, since the judge is sure another writer's glyphs are that writer's.
        out["gain_at_chance"] = gain(1.0 / judge.writer_net.net.classes, out["floor"]["prob"],
                                     out["ceiling"]["prob"])
        out["gain_by_writer_bootstrap"] = _bootstrap_gain(verdicts, writers, rows, seed)
        out["char_accuracy_vs_real"] = out["method"]["readable"] / max(out["ceiling"]["readable"], 1e-12)
    if keep_glyphs:
        out["glyphs"] = kept
    return out


def _bootstrap_gain(verdicts: dict, writers: list[int], rows: dict, seed: int, rounds: int = 1000) -> dict:
    """The gain's 5th-95th percentile when the writers are resampled (what 10 writers can say)."""
    by = {name: {w: [] for w in writers} for name in verdicts}
    for name, vs in verdicts.items():
        for v, w in zip(vs, rows[name][2]):
            by[name][w].append(v.prob)
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(rounds):
        pick = rng.choice(writers, len(writers))
        p = {name: np.mean([x for w in pick for x in by[name][w]] or [np.nan]) for name in by}
        if p["ceiling"] > p["floor"]:
            gains.append((p["method"] - p["floor"]) / (p["ceiling"] - p["floor"]))
    if not gains:
        return {}
    return {"p05": float(np.percentile(gains, 5)), "p95": float(np.percentile(gains, 95))}


def format_judge(report: dict) -> str:
    """The protocol's figures as a small table."""
    lines = [f"judge: writers {report['writers'][0]}-{report['writers'][-1]}, method given K = "
             f"{report['k']} glyphs, {len(next(iter(report['held_back'].values())))} held-back "
             f"characters judged together",
             f"{'':<10}{'p(true)':>9}{'top-1':>8}{'rank':>7}{'chars ok':>10}{'copies':>8}{'n':>5}"]
    for name in ("floor", "ceiling", "method"):
        if name in report:
            r = report[name]
            copies = f"{r['near_copies'] * 100:.1f}%" if "near_copies" in r else "-"
            lines.append(f"{name:<10}{r['prob']:>9.3f}{r['top1'] * 100:>7.1f}%{r['mean_rank']:>7.1f}"
                         f"{r['readable'] * 100:>9.1f}%{copies:>8}{r['n']:>5}")
    if "gain" in report:
        b = report.get("gain_by_writer_bootstrap", {})
        span = f" (writers resampled: {b['p05']:.2f} to {b['p95']:.2f})" if b else ""
        lines.append(f"gain {report['gain']:.3f}{span} (chance-level p would score "
                     f"{report['gain_at_chance']:.3f}); characters read right "
                     f"{report['char_accuracy_vs_real']:.2f} x the real glyphs' rate")
    return "\n".join(lines)

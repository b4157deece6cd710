"""Train a few-shot style encoder for a content-conditioned StyleGAN2.

    python -m minigan.style_train --data "chars74k@0-34+builtin" --dev "chars74k@35-44" --out runs/enc

The task it is trained on is the task it is used for: from K glyphs of a hand (K random from
--k-min to --k-max), predict the style code with which the generator draws the hand's *other*
characters. Two stages, in one run:

1. writer network (--writer-steps): an embedding of a set of glyphs that tells hands apart,
   trained contrastively on the training hands (minigan.models.writer_id). It is frozen after.
2. encoder (--steps): the encoder maps the K glyphs to a W+ code; the frozen generator draws
   --targets held-back characters with it. The losses:
   - adversarial: a discriminator that sees the character and the style set (its writer
     embedding, by projection) says whether a held-back glyph is real and of *this* hand; a real
     glyph shown with another hand's set counts as fake;
   - identity: the drawn held-back glyphs, as a set, must be recognised by the writer network
     as the style set's hand among the batch's hands;
   - reconstruction, as a helper only: L1 to the real held-back glyph and the distance of their
     per-glyph writer features (pixel error alone draws the blurred average glyph);
   - a small penalty on the code's offset from the average w, to keep it where G draws well.
   With --train-g the generator's synthesis layers train too (at --g-lr).

Every --tick steps it prints progress, checkpoints atomically (checkpoint.npz in --out) and
draws preview.png: for each dev hand, its style glyphs, then its real held-back characters,
then the same characters drawn from the encoded style. Ctrl-C checkpoints and stops after the
current step; --resume continues where the run stopped.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from . import ops
from ._cli import ArgumentParser, HelpFormatter, float_in, int_in, job
from .autograd import Tensor, grad, no_grad
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .errors import UserError
from .images import image_grid, save_atomic
from .models.encoder import EncoderConfig, StyleEncoder
from .models.writer_id import WriterNet, WriterNetConfig, contrastive_loss
from .nn import Linear, Module
from .nn.style import normalize_2nd_moment
from .optim import Adam


@dataclass
class StyleTrainConfig:
    data: str = "chars74k@0-34+builtin"
    dev: str = "chars74k@35-44"
    generator: str = ""                # checkpoint of the generator; "" = the shipped model
    hands: int = 8                     # hands per step
    targets: int = 6                   # held-back characters drawn per hand
    k_min: int = 5
    k_max: int = 50
    real_share: float = 0.5            # share of each batch's hands that are real, not fonts
    writer_steps: int = 1000
    steps: int = 3000                  # encoder steps
    lr: float = 1e-3                   # encoder
    d_lr: float = 2e-3
    writer_lr: float = 1e-3
    g_lr: float = 2e-4
    train_g: bool = False
    adv: float = 0.5
    identity: float = 1.0
    pixel: float = 1.0
    feature: float = 1.0
    offset_reg: float = 0.01
    mismatch: float = 0.5
    r1_gamma: float = 0.5
    r1_interval: int = 16
    tick: int = 25
    seed: int = 0
    device: str = "cpu"

    @classmethod
    def from_dict(cls, d: dict) -> "StyleTrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def check(self) -> None:
        if not 1 <= self.k_min <= self.k_max:
            raise UserError(f"--k-min/--k-max: need 1 <= k-min <= k-max, got {self.k_min} and "
                            f"{self.k_max}; give a range such as 5 and 50")
        if self.hands < 2:
            raise UserError("--hands: the contrastive losses need at least 2 hands a step; "
                            "give 2 or more")
        if self.targets < 1:
            raise UserError("--targets: at least one held-back character per hand is needed")
        if not 0.0 <= self.real_share <= 1.0:
            raise UserError(f"--real-share: a share from 0 to 1, got {self.real_share}")
        for name in ("writer_steps", "steps", "tick", "r1_interval"):
            if getattr(self, name) < (1 if name in ("tick", "r1_interval") else 0):
                raise UserError(f"--{name.replace('_', '-')}: got {getattr(self, name)}; "
                                "give a whole number (steps >= 0, the others >= 1)")


# ----- hands ------------------------------------------------------------------------------

@dataclass
class Hands:
    """Glyphs [N, 1, res, res] in [-1, 1] with labels in the generator's charset, grouped by hand:
    by_hand[h] maps a label to the indices of that hand's glyphs of it."""
    glyphs: np.ndarray
    labels: np.ndarray
    by_hand: list
    designed: np.ndarray               # bool [H]: a typeface's hand rather than a person's
    dropped: int = 0                   # hands with too few characters for one task

    def __len__(self) -> int:
        return len(self.by_hand)


def load_hands(spec: str, charset: str, res: int, min_chars: int) -> Hands:
    """Every writer of every '+' part of `spec` as a hand, keeping the glyphs of characters the
    generator knows and the hands with at least `min_chars` of them. Parts named fonts... are
    designed hands."""
    from .data import load_spec

    glyphs, labels, by_hand, designed, dropped, offset = [], [], [], [], 0, 0
    for part in [p for p in spec.split("+") if p]:
        ds = load_spec(part)
        if ds.writers is None:
            raise UserError(f"--data/--dev: {part} has no writer ids, so it has no hands; "
                            "use a source with writers (chars74k, builtin, fonts)")
        known = np.array([c in charset for c in ds.charset])
        ds = ds.subset(known[ds.labels])
        g = ds.as_float(res) * 2.0 - 1.0                                    # [n, 1, res, res]
        lab = np.array([charset.index(ds.charset[i]) for i in ds.labels], np.int64)
        for w in np.unique(ds.writers):
            idx = np.flatnonzero(ds.writers == w)
            chars = {int(c): offset + idx[lab[idx] == c] for c in np.unique(lab[idx])}
            if len(chars) < min_chars:
                dropped += 1
                continue
            by_hand.append(chars)
            designed.append(part.split("@")[0].split(":")[0].startswith("fonts"))
        glyphs.append(g.astype(np.float32))
        labels.append(lab)
        offset += len(lab)
    if not by_hand:
        raise UserError(f"--data/--dev: no hand in {spec!r} has {min_chars} characters the "
                        f"generator knows; lower --k-min or --targets")
    return Hands(np.concatenate(glyphs), np.concatenate(labels), by_hand,
                 np.array(designed, bool), dropped)


@dataclass
class Task:
    """B hands' style sets and held-back targets, flattened: style glyphs [M, 1, r, r] with
    labels [M] and hand index [M]; targets [B*T, 1, r, r] with labels and hand index [B*T]."""
    style: np.ndarray
    style_labels: np.ndarray
    style_hands: np.ndarray
    target: np.ndarray
    target_labels: np.ndarray
    target_hands: np.ndarray
    num_hands: int


def pick_hands(hands: Hands, n: int, real_share: float, rng) -> np.ndarray:
    """n distinct hands, about real_share of them real where both kinds are present."""
    real, designed = np.flatnonzero(~hands.designed), np.flatnonzero(hands.designed)
    n = min(n, len(hands))
    if len(real) and len(designed):
        n_real = min(len(real), max(1, int(round(n * real_share))), n)
        n_real = max(n_real, n - len(designed))
        return np.concatenate([rng.choice(real, n_real, replace=False),
                               rng.choice(designed, n - n_real, replace=False)])
    return rng.choice(len(hands), n, replace=False)


def make_task(hands: Hands, chosen, k_min: int, k_max: int, targets: int, rng) -> Task:
    """For each chosen hand: K style characters (K random in [k_min, k_max], at most what the
    hand has beside the targets) and `targets` other characters, one random glyph of each."""
    style, s_lab, s_hand, target, t_lab, t_hand = [], [], [], [], [], []
    for b, h in enumerate(chosen):
        chars = hands.by_hand[h]
        labels = rng.permutation(np.array(sorted(chars)))
        k = int(rng.integers(k_min, min(k_max, len(labels) - targets) + 1))
        for group, lab_out, hand_out, out in ((labels[:k], s_lab, s_hand, style),
                                              (labels[k:k + targets], t_lab, t_hand, target)):
            for c in group:
                out.append(rng.choice(chars[int(c)]))
                lab_out.append(c)
                hand_out.append(b)
    s, t = np.array(style), np.array(target)
    return Task(hands.glyphs[s], hands.labels[s], np.array(s_hand), hands.glyphs[t],
                hands.labels[t], np.array(t_hand), len(chosen))


# ----- the discriminator ------------------------------------------------------------------

class StyleSetDiscriminator(Module):
    """minigan's StyleGAN2 discriminator (with its character projection) plus a projection on
    the style set: score = D(x | character) + <P s, features(x)> / sqrt(C), where s is the writer
    network's embedding of the hand's style set. It can then call a well-drawn glyph fake
    because it is not in *that* hand."""

    def __init__(self, cfg, style_dim: int, seed: int = 1):
        super().__init__()
        from .models.stylegan2 import Discriminator

        self.base = Discriminator(cfg.replace(num_writers=0), seed=seed)
        self.style_proj = Linear(style_dim, cfg.d_channels[4], bias=False,
                                 rng=np.random.default_rng(seed + 1))

    def forward(self, img: Tensor, labels, style: Tensor) -> Tensor:
        return self.score(self.base.features(img), labels, style)

    def score(self, h: Tensor, labels, style: Tensor) -> Tensor:
        """Features h [N, C4] (from base.features) with the style sets' embeddings [N, D]."""
        proj = normalize_2nd_moment(self.style_proj(style))                  # [N, C4]
        return self.base.score(h, labels) + ops.sum(proj * h, axis=1) * (1.0 / math.sqrt(h.shape[1]))


# ----- training ---------------------------------------------------------------------------

def _tunable(G) -> list:
    """The synthesis parameters --train-g trains: all but the per-character constant input,
    which picks the character (as in minigan.style.tunable_parameters)."""
    return [(n, p) for n, p in G.named_parameters()
            if n.startswith("synthesis.") and not n.startswith("synthesis.input.")]


def default_generator() -> Path:
    from .write import DEFAULT_MODEL

    return DEFAULT_MODEL


class StyleTrainer:
    """Holds G (frozen unless --train-g), the encoder E, the writer network W, the
    discriminator D, their optimizers and the RNG; `step()` runs one step of the current stage."""

    def __init__(self, tc: StyleTrainConfig, G, cfg_g, hands: Hands, dev: Hands | None):
        self.tc, self.G, self.cfg_g, self.hands, self.dev = tc, G, cfg_g, hands, dev
        self.E = StyleEncoder.from_generator(G, cfg_g, seed=tc.seed)
        self.W = WriterNet(WriterNetConfig(res=cfg_g.res, num_classes=cfg_g.num_classes),
                           seed=tc.seed + 1)
        self.D = StyleSetDiscriminator(cfg_g, self.W.cfg.dim, seed=tc.seed + 2)
        for m in (self.E, self.W, self.D):
            m.to(tc.device)
        self.opt_E = Adam(self.E.parameters(), lr=tc.lr, betas=(0.9, 0.99))
        self.opt_W = Adam(self.W.parameters(), lr=tc.writer_lr, betas=(0.9, 0.99))
        ratio = tc.r1_interval / (tc.r1_interval + 1)
        self.opt_D = Adam(self.D.parameters(), lr=tc.d_lr * ratio, betas=(0.0, 0.99 ** ratio))
        G.requires_grad_(False)
        self.g_params = [p for _, p in _tunable(G)] if tc.train_g else []
        for p in self.g_params:
            p.requires_grad = True
        self.opt_G = Adam(self.g_params, lr=tc.g_lr, betas=(0.0, 0.99)) if tc.train_g else None
        self.rng = np.random.default_rng(tc.seed)
        self.step_index = 0
        self.preview_task = self._fixed_task(dev if dev is not None else hands, seed=tc.seed + 99)

    def _fixed_task(self, hands: Hands, seed: int, n: int = 8, k: int = 10, t: int = 10) -> Task:
        """The same task at every tick: n hands spread over the set (so every part of a joined
        spec shows), k style glyphs and t held-back characters each."""
        rng = np.random.default_rng(seed)
        chosen = np.unique(np.linspace(0, len(hands) - 1, min(n, len(hands))).round().astype(int))
        fewest = min(len(hands.by_hand[h]) for h in chosen)
        k = min(k, fewest - 1)
        return make_task(hands, chosen, k, k, min(t, fewest - k), rng)

    def _t(self, array) -> Tensor:
        return Tensor(np.asarray(array, np.float32)).to(self.tc.device)

    @property
    def stage(self) -> str:
        return "writer" if self.step_index < self.tc.writer_steps else "encoder"

    # ----- stage 1: the writer network ----------------------------------------------------
    def _writer_sets(self, hands: Hands, n: int, rng):
        """Two disjoint glyph sets per hand (5-25 characters each): (a, b) as Tasks' halves."""
        chosen = pick_hands(hands, n, self.tc.real_share, rng)
        sets = []
        for h in chosen:
            labels = rng.permutation(np.array(sorted(hands.by_hand[h])))
            half = len(labels) // 2
            ka, kb = (int(rng.integers(min(5, half), min(25, half) + 1)) for _ in range(2))
            sets.append((labels[:ka], labels[half:half + kb]))
        out = []
        for side in (0, 1):
            idx, lab, hand = [], [], []
            for b, (h, pair) in enumerate(zip(chosen, sets)):
                for c in pair[side]:
                    idx.append(rng.choice(hands.by_hand[h][int(c)]))
                    lab.append(c)
                    hand.append(b)
            idx = np.array(idx)
            out.append((hands.glyphs[idx], hands.labels[idx], np.array(hand)))
        return out, len(chosen)

    def writer_step(self) -> dict:
        (a, b), n = self._writer_sets(self.hands, max(self.tc.hands, 16), self.rng)
        ea = self.W.hand_embedding(self._t(a[0]), a[1], a[2], n)
        eb = self.W.hand_embedding(self._t(b[0]), b[1], b[2], n)
        tau = self.W.cfg.temperature
        loss = (contrastive_loss(ea, eb, tau) + contrastive_loss(eb, ea, tau)) * 0.5
        self.opt_W.zero_grad()
        loss.backward()
        self.opt_W.step()
        top1 = float(np.mean((ea.numpy() @ eb.numpy().T).argmax(axis=1) == np.arange(n)))
        return {"loss_writer": loss.item(), "writer_top1": top1}

    # ----- stage 2: the encoder -----------------------------------------------------------
    def draw(self, ws: Tensor, labels, hands) -> Tensor:
        """Held-back characters drawn with each hand's code: [len(labels), 1, res, res]."""
        return self.G.synthesis(ops.getitem(ws, np.asarray(hands)), labels, noise_mode="const")

    def encoder_step(self) -> dict:
        tc = self.tc
        task = make_task(self.hands, pick_hands(self.hands, tc.hands, tc.real_share, self.rng),
                         tc.k_min, tc.k_max, tc.targets, self.rng)
        B, yl, yh = task.num_hands, task.target_labels, task.target_hands
        real = self._t(task.target)
        with no_grad():
            style_id = self.W.hand_embedding(self._t(task.style), task.style_labels,
                                             task.style_hands, B)                 # [B, D]
        s_t = Tensor(style_id.data[yh])                                           # [B*T, D]
        s_other = Tensor(style_id.data[(yh + 1) % B])          # another hand's set
        ws = self.E(self._t(task.style), task.style_labels, task.style_hands, B)  # [B, L, Dw]
        fake = self.draw(ws, yl, yh)                                              # [B*T, 1, r, r]

        # Discriminator: real held-back glyphs with their hand's set are real; drawn ones, and
        # real ones shown with another hand's set, are fake. R1 on the real ones, lazily.
        do_r1 = tc.r1_gamma > 0 and self.step_index % tc.r1_interval == 0
        real_in = real.detach().requires_grad_(do_r1)
        h_real = self.D.base.features(real_in)                                    # [B*T, C4]
        d_real = self.D.score(h_real, yl, s_t)
        d_loss = (ops.softplus(-d_real).mean() + ops.softplus(self.D(fake.detach(), yl, s_t)).mean()
                  + ops.softplus(self.D.score(h_real, yl, s_other)).mean() * tc.mismatch)
        total = d_loss
        if do_r1:
            (g,) = grad(d_real.sum(), [real_in], create_graph=True)
            total = total + (g * g).sum() / real.shape[0] * (tc.r1_gamma / 2 * tc.r1_interval)
        self.opt_D.zero_grad()
        total.backward()
        self.opt_D.step()

        # Encoder (and G with --train-g): the four terms, D and W frozen.
        self.D.requires_grad_(False)
        self.W.requires_grad_(False)
        try:
            adv = ops.softplus(-self.D(fake, yl, s_t)).mean()
            e_fake = self.W(fake, yl)                                               # [B*T, D]
            drawn_id = self.W.pool(e_fake, yh, B)                                   # [B, D]
            identity = contrastive_loss(drawn_id, style_id, self.W.cfg.temperature)
            pixel = ops.mean(ops.abs(fake - real))
            f_fake = normalize_2nd_moment(e_fake)
            with no_grad():
                f_real = normalize_2nd_moment(self.W(real, yl))
            feature = ops.mean((f_fake - f_real) * (f_fake - f_real))
            offset = ws - self.E.w_avg
            reg = ops.mean(offset * offset)
            loss = (adv * tc.adv + identity * tc.identity + pixel * tc.pixel
                    + feature * tc.feature + reg * tc.offset_reg)
            self.opt_E.zero_grad()
            if self.opt_G is not None:
                self.opt_G.zero_grad()
            loss.backward()
            self.opt_E.step()
            if self.opt_G is not None:
                self.opt_G.step()
        finally:
            self.D.requires_grad_(True)
            self.W.requires_grad_(True)
        top1 = float(np.mean((drawn_id.numpy() @ style_id.numpy().T).argmax(axis=1) == np.arange(B)))
        return {"loss_d": d_loss.item(), "adv": adv.item(), "identity": identity.item(),
                "pixel": pixel.item(), "feature": feature.item(), "offset": reg.item(),
                "drawn_top1": top1}

    def step(self) -> dict:
        if self.stage == "writer":
            stats = self.writer_step()
        else:
            if self.step_index == self.tc.writer_steps:
                self.W.requires_grad_(False)
            stats = self.encoder_step()
        self.step_index += 1
        bad = [k for k, v in stats.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(f"step {self.step_index}: {', '.join(bad)} became "
                                     f"{[stats[k] for k in bad]}")
        return stats

    # ----- looking ------------------------------------------------------------------------
    @no_grad()
    def dev_stats(self) -> dict:
        """On the fixed dev task (10 style glyphs, held-back characters of each dev hand):
        L1 of the drawn held-back glyphs to the real ones, and the writer network's top-1 in
        matching each hand's drawn set to its style set, beside the real held-back set's
        top-1 (what the writer network itself can do) and the average hand's (w_avg for all)."""
        task = self.preview_task
        B = task.num_hands
        if B < 2:
            return {}
        style_id = self.W.hand_embedding(self._t(task.style), task.style_labels,
                                         task.style_hands, B).numpy()
        ws = self.E(self._t(task.style), task.style_labels, task.style_hands, B)
        drawn = self.draw(ws, task.target_labels, task.target_hands)

        def top1(images) -> float:
            e = self.W.hand_embedding(self._t(images), task.target_labels, task.target_hands,
                                      B).numpy()
            return float(np.mean((e @ style_id.T).argmax(axis=1) == np.arange(B)))

        return {"dev_l1": float(np.abs(drawn.numpy() - task.target).mean()),
                "dev_top1": top1(drawn.numpy()), "dev_top1_real": top1(task.target)}

    @no_grad()
    def preview(self, path) -> Path:
        """Per dev hand three rows: 10 style glyphs, the real held-back characters, the drawn
        ones (same order); an empty row between hands."""
        task = self.preview_task
        ws = self.E(self._t(task.style), task.style_labels, task.style_hands, task.num_hands)
        drawn = self.draw(ws, task.target_labels, task.target_hands).numpy()
        cols = max(np.bincount(task.style_hands).max(), np.bincount(task.target_hands).max())
        blank = -np.ones((1, 1) + task.style.shape[2:], np.float32)
        rows = []
        for b in range(task.num_hands):
            for images, hands in ((task.style, task.style_hands), (task.target, task.target_hands),
                                  (drawn, task.target_hands)):
                row = images[hands == b]
                rows.append(np.concatenate([row] + [blank] * (cols - len(row))))
            if b < task.num_hands - 1:
                rows.append(np.concatenate([blank] * cols))
        return save_atomic(image_grid(np.concatenate(rows), cols=cols, scale=3), path)

    # ----- saving -------------------------------------------------------------------------
    def modules(self) -> dict:
        mods = {"E": self.E, "W": self.W, "D": self.D}
        if self.tc.train_g:
            mods["G"] = self.G
        return mods

    def optimizers(self) -> dict:
        opts = {"E": self.opt_E, "W": self.opt_W, "D": self.opt_D}
        if self.opt_G is not None:
            opts["G"] = self.opt_G
        return opts

    def save(self, path) -> None:
        save_checkpoint(path, self.step_index,
                        {"style_train": asdict(self.tc), "encoder": self.E.cfg.to_dict(),
                         "writer_net": self.W.cfg.to_dict(), "model": self.cfg_g.to_dict()},
                        modules=self.modules(), optimizers=self.optimizers(), rng=self.rng)

    def restore(self, ckpt) -> None:
        ckpt.restore(modules=self.modules(), optimizers=self.optimizers(), rng=self.rng)
        for m in self.modules().values():
            m.to(self.tc.device)
        self.step_index = ckpt.step
        if self.stage == "encoder":
            self.W.requires_grad_(False)


def load_encoder(path, device: str = "cpu"):
    """(encoder, generator, generator config) from a style_train run folder or checkpoint: the
    generator it was trained for (with its tuned synthesis layers under --train-g)."""
    from .generate import load_generator, run_checkpoint

    ckpt = load_checkpoint(run_checkpoint(path))
    if "encoder" not in ckpt.config or "E" not in ckpt.modules:
        raise CheckpointError(f"{path} holds no style encoder (train one with "
                              "python -m minigan.style_train)")
    tc = StyleTrainConfig.from_dict(ckpt.config.get("style_train", {}))
    G, cfg_g = load_generator(tc.generator or default_generator(), device=device)
    if "G" in ckpt.modules:
        ckpt.restore(modules={"G": G})
    enc = StyleEncoder(EncoderConfig.from_dict(ckpt.config["encoder"]))
    ckpt.restore(modules={"E": enc})
    enc.to(device).eval().requires_grad_(False)
    G.to(device).eval().requires_grad_(False)
    return enc, G, cfg_g


def build_parser() -> argparse.ArgumentParser:
    d = StyleTrainConfig()
    p = ArgumentParser(prog="python -m minigan.style_train", description=__doc__,
                       formatter_class=HelpFormatter)
    p.add_argument("--data", default=d.data,
                   help="training hands, a data spec whose parts have writer ids (chars74k, "
                        "builtin, fonts); parts named fonts... count as designed hands")
    p.add_argument("--dev", default=d.dev,
                   help="hands for the preview and the dev figures, never trained on "
                        "('' = draw the preview from training hands)")
    p.add_argument("--generator", default="",
                   help="checkpoint or run folder of a content-conditioned StyleGAN2 (default: "
                        "the shipped model); it is frozen unless --train-g")
    p.add_argument("--hands", type=int_in(2, 4096), default=d.hands, help="hands per encoder step")
    p.add_argument("--targets", type=int_in(1, 1000), default=d.targets,
                   help="held-back characters drawn per hand")
    p.add_argument("--k-min", type=int_in(1, 1000), default=d.k_min, help="fewest style glyphs per hand")
    p.add_argument("--k-max", type=int_in(1, 1000), default=d.k_max, help="most style glyphs per hand")
    p.add_argument("--real-share", type=float_in(0, 1), default=d.real_share,
                   help="share of each batch's hands taken from real writers when fonts are "
                        "in --data too")
    p.add_argument("--writer-steps", type=int_in(0, 10**7), default=d.writer_steps,
                   help="steps of stage 1, the writer network")
    p.add_argument("--steps", type=int_in(0, 10**7), default=None,
                   help=f"steps of stage 2, the encoder (default {d.steps}; with --resume, a "
                        "larger value extends the run)")
    p.add_argument("--lr", type=float_in(0, 1, above=True), default=d.lr, help="the encoder's Adam rate")
    p.add_argument("--d-lr", type=float_in(0, 1, above=True), default=d.d_lr, help="the discriminator's Adam rate")
    p.add_argument("--writer-lr", type=float_in(0, 1, above=True), default=d.writer_lr,
                   help="the writer network's Adam rate")
    p.add_argument("--train-g", action="store_true",
                   help="train the generator's synthesis layers too (not the per-character input)")
    p.add_argument("--g-lr", type=float_in(0, 1, above=True), default=d.g_lr, help="the generator's rate with --train-g")
    p.add_argument("--adv", type=float_in(0, 1e4), default=d.adv, help="weight of the adversarial term")
    p.add_argument("--identity", type=float_in(0, 1e4), default=d.identity,
                   help="weight of the writer-identity term")
    p.add_argument("--pixel", type=float_in(0, 1e4), default=d.pixel,
                   help="weight of the L1 to the real held-back glyphs")
    p.add_argument("--feature", type=float_in(0, 1e4), default=d.feature,
                   help="weight of the writer-feature distance to the real held-back glyphs")
    p.add_argument("--offset-reg", type=float_in(0, 1e4), default=d.offset_reg,
                   help="weight of the penalty on the code's offset from the average w")
    p.add_argument("--mismatch", type=float_in(0, 1e4), default=d.mismatch,
                   help="weight, in D's loss, of real glyphs shown with another hand's set")
    p.add_argument("--r1-gamma", type=float_in(0, 1e4), default=d.r1_gamma,
                   help="weight of the R1 penalty on D's gradient at real glyphs (0: off)")
    p.add_argument("--r1-interval", type=int_in(1, 10000), default=d.r1_interval,
                   help="apply R1 every this many steps")
    p.add_argument("--tick", type=int_in(1, 10**7), default=d.tick,
                   help="progress line, preview and checkpoint every this many steps")
    p.add_argument("--out", default="runs/style-encoder", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--picture", default=None, metavar="PNG",
                   help="draw the preview of the run in --out to PNG, print the dev figures, "
                        "and exit without training")
    p.add_argument("--seed", type=int, default=d.seed, help="seeds the weights and the tasks")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda runs on the GPU through CuPy (pip install minigan[gpu])")
    return p


def _log(msg: str) -> None:
    print(msg, flush=True)


def _trainer(tc: StyleTrainConfig) -> StyleTrainer:
    from .generate import load_generator

    G, cfg_g = load_generator(tc.generator or default_generator(), device=tc.device)
    if cfg_g.model == "condgan" or cfg_g.conditioning != "content":
        raise UserError(f"--generator: {tc.generator or 'the shipped model'} is not a "
                        "content-conditioned StyleGAN2; train one with --conditioning content")
    min_chars = tc.k_min + tc.targets
    hands = load_hands(tc.data, cfg_g.charset, cfg_g.res, min_chars)
    dev = load_hands(tc.dev, cfg_g.charset, cfg_g.res, 2) if tc.dev else None
    if len(hands) < tc.hands:
        raise UserError(f"--hands: {tc.data} has {len(hands)} usable hands, fewer than "
                        f"--hands {tc.hands}; lower --hands or add hands")
    return StyleTrainer(tc, G, cfg_g, hands, dev)


def run(args) -> int:
    out = Path(args.out)
    ckpt_path = out / "checkpoint.npz"
    if args.resume or args.picture:
        try:
            ckpt = load_checkpoint(ckpt_path)
        except CheckpointError as e:
            raise UserError(f"--out: cannot read the run: {e}; start it without --resume") from None
        if "style_train" not in ckpt.config:
            raise UserError(f"--out: {ckpt_path} is not a style_train run")
        tc = StyleTrainConfig.from_dict(ckpt.config["style_train"])
        tc.steps = args.steps if args.resume and args.steps is not None else tc.steps
        trainer = _trainer(tc)
        trainer.restore(ckpt)
        if args.picture:
            trainer.preview(args.picture)
            _log(f"step {trainer.step_index}: preview in {args.picture}; dev "
                 + "  ".join(f"{k} {v:.4f}" for k, v in trainer.dev_stats().items()))
            return 0
        _log(f"resumed {ckpt_path} at step {trainer.step_index} ({trainer.stage} stage)")
    elif ckpt_path.exists():
        raise UserError(f"--out: {ckpt_path} exists; pass --resume to continue it or choose "
                        "another --out")
    else:
        d = StyleTrainConfig()
        given = {f.name: getattr(args, f.name, None) for f in fields(StyleTrainConfig)}
        tc = StyleTrainConfig(**{k: getattr(d, k) if v is None else v for k, v in given.items()})
        tc.check()
        trainer = _trainer(tc)
        hands = trainer.hands
        _log(f"style encoder for {tc.generator or 'the shipped model'}: {len(hands)} hands "
             f"({int(hands.designed.sum())} designed; {hands.dropped} with too few characters "
             f"left out), {len(trainer.dev) if trainer.dev else 0} dev hands; "
             f"E {trainer.E.num_parameters():,} / W {trainer.W.num_parameters():,} / "
             f"D {trainer.D.num_parameters():,} parameters")
    tc.check()
    out.mkdir(parents=True, exist_ok=True)
    total = tc.writer_steps + tc.steps
    stop = {"now": False}

    def interrupt(signum, frame):
        if stop["now"]:
            raise KeyboardInterrupt
        stop["now"] = True
        _log("interrupted: finishing this step, then checkpointing (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, interrupt)
    handled = [signal.SIGTERM] if hasattr(signal, "SIGTERM") else []
    saved_term = [signal.signal(s, interrupt) for s in handled]
    start, start_step, recent = time.perf_counter(), trainer.step_index, []
    try:
        while trainer.step_index < total and not stop["now"]:
            stage = trainer.stage
            try:
                recent.append(trainer.step())
            except FloatingPointError as e:
                _log(f"error: training diverged at {e}; the last checkpoint {ckpt_path} is kept")
                return 3
            done = trainer.step_index
            if (done % tc.tick == 0 or done == total or stop["now"]
                    or done == tc.writer_steps):
                elapsed = time.perf_counter() - start
                rate = (done - start_step) / max(elapsed, 1e-9)
                mean = {k: float(np.mean([s[k] for s in recent if k in s])) for k in recent[-1]}
                recent = []
                if stage == "encoder" or done == tc.writer_steps:
                    mean.update(trainer.dev_stats())
                    trainer.preview(out / "preview.png")
                record = {"step": done, "stage": stage, "seconds": round(elapsed, 1),
                          **{k: round(v, 5) for k, v in mean.items()}}
                with open(out / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                trainer.save(ckpt_path)
                _log(f"{stage} step {done}/{total}  {rate:.2f} it/s  ETA "
                     f"{(total - done) / max(rate, 1e-9) / 60:.1f} min  "
                     + "  ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    finally:
        signal.signal(signal.SIGINT, previous)
        for s, h in zip(handled, saved_term):
            signal.signal(s, h)
    if stop["now"]:
        _log(f"stopped at step {trainer.step_index}; resume with --resume --out {out}")
        return 130
    _log(f"done: {ckpt_path}, {out / 'preview.png'}")
    return 0


@job
def main(argv=None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

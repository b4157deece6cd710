"""Train a CondGAN, StyleGAN or StyleGAN2 on handwriting: `python -m minigan.train --help`.

With no arguments it trains a small content-conditioned StyleGAN2 on the built-in writers.
Every tick it prints progress, writes a sample grid from fixed latents (and a GIF of all grids
so far), appends to metrics.jsonl and checkpoints atomically; Ctrl-C checkpoints and stops
after the current step. --resume continues exactly where the run stopped.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from . import distributed, ops
from ._cli import (ArgumentParser, HelpFormatter, Interrupted, exit_code, float_in,
                   given_options, int_in, job, output_folder)
from ._files import remove_stale_temporaries, write_atomic
from .augment import augment, parse_policy
from .autograd import Tensor, grad, no_grad
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import MixedBatches, load_spec as load_dataset
from .data.spec import absolute_spec
from .errors import UserError
from .images import image_grid, save_atomic, save_gif
from .models import PRESETS, ModelConfig, add_writer, build_models, preset, preset_name
from .optim import Adam, ema_update


@dataclass
class TrainConfig:
    data: str = "builtin"
    batch: int = 32
    kimg: float = 20.0                 # thousands of real images shown to D
    tick_kimg: float = 2.0
    lr: float = 0.0025
    r1_gamma: float = 0.2
    r1_interval: int = 16
    ema_kimg: float = 2.0
    mix_prob: float = 0.9              # style-mixing regularisation (style models)
    mode_seeking: float = 0.0          # weight of the mode-seeking term (0: off)
    hand_pairs: float = 0.0            # weight of the hand discriminator's term (0: off)
    augment: str = ""                  # comma list of translation, cutout, scale
    seed: int = 0
    device: str = "cpu"
    grid_rows: int = 6
    chars: str = ""                    # train on these characters only ("" = all)
    metrics: str = ""                  # "fid,kid": measured on G_ema at every tick
    metrics_n: int = 1000              # samples per tick metric
    finetune: str = ""                 # CondGAN base run: learn one new writer from `data`
    finetune_g: str = "writer"         # when fine-tuning, G trains its "writer" row or "all"
    extend: str = ""                   # content-conditioned base run that learns new characters
    extend_keep: int = 0               # the base's characters (rows 0..n-1), drawn as they were

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# The small preset learns far faster at a high rate (digits legible after ~19 kimg at 0.01,
# still blobs at 0.0025); the larger presets keep StyleGAN2's usual 0.0025.
PRESET_LR = {"sg2-16-small": 0.01, "sg2-32-small": 0.01, "sg-16-small": 0.01}


FINETUNE_AUGMENT = "translation,cutout,scale"   # a person's few dozen glyphs need it
FINETUNE_KIMG = 2.0


class TrainingDiverged(RuntimeError):
    pass


class Pairs(NamedTuple):
    """The hand pairs of a batch whose first half are anchors and second half their partners."""
    ok: np.ndarray                       # bool [half]: a real pair (one person, two characters)
    writers: np.ndarray                  # int64 [half]: the anchors' writers


class TrainingData(NamedTuple):
    images: np.ndarray                   # float32 [N, 1, res, res] in [-1, 1]
    labels: np.ndarray                   # int64 [N]
    writers: np.ndarray | None           # int64 [N]
    charset: str
    batches: MixedBatches | None = None  # draws batches that keep each part's %SHARE
    named: np.ndarray | None = None      # bool [N]: the glyph's writer id is a person's


def prepare_data(tc: TrainConfig, res: int, base: ModelConfig | None = None,
                 known: str | None = None) -> TrainingData:
    """The training glyphs, their labels, writers and charset, and the batch sampler a data
    spec with shares (`fonts+chars74k@0-44%25`) needs.

    With a fine-tuning `base` model, labels index the base model's charset and every glyph
    belongs to the one new writer, whose id is the base model's writer count.

    With `known` (the charset of a model being extended, see --extend), glyphs of those
    characters are left out, and the charset is `known` followed by the new characters.
    """
    ds = load_dataset(tc.data)
    if tc.chars:
        missing = sorted(set(tc.chars) - set(ds.charset))
        if missing:
            raise ValueError(f"--chars asks for {''.join(missing)!r}, which {tc.data} does not have")
        keep = np.isin(ds.labels, [ds.charset.index(c) for c in tc.chars])
        ds = ds.subset(keep)
    charset, labels = ds.charset, ds.labels.astype(np.int64)
    if known is not None:
        ds = ds.subset(~np.isin(ds.labels, [i for i, c in enumerate(ds.charset) if c in known]))
        if len(ds) == 0:
            raise ValueError(f"--extend: {tc.data} has no character that the base model lacks "
                             f"(it knows {known!r})")
        present = set(np.unique(ds.labels).tolist())
        charset = known + "".join(c for i, c in enumerate(ds.charset) if i in present)
        labels = np.array([charset.index(ds.charset[c]) for c in ds.labels], dtype=np.int64)
    if len(ds) == 0:
        raise ValueError(f"dataset {tc.data} has no images")
    images = ds.as_float(res) * 2.0 - 1.0                            # [N, 1, res, res]
    if not np.isfinite(images).all():
        raise ValueError(f"dataset {tc.data} contains NaN or inf pixels")
    if base is not None:
        if not base.charset:
            raise ValueError("the base model records no charset, so its characters cannot be "
                             "matched to the new writer's glyphs")
        chars = [ds.charset[c] for c in ds.labels]
        unknown = sorted(set(chars) - set(base.charset))
        if unknown:
            raise ValueError(f"{tc.data} has characters the base model does not know: "
                             f"{''.join(unknown)!r} (it knows {base.charset!r})")
        labels = np.array([base.charset.index(c) for c in chars], dtype=np.int64)
        writers = np.full(len(labels), base.num_writers, dtype=np.int64)
        return TrainingData(images.astype(np.float32), labels, writers, base.charset)
    shared = not np.isnan(ds.meta.get("part_share", np.array([np.nan]))).all()
    named = None
    if ds.writers is not None:
        named = np.ones(len(ds), bool)
        if "part_writers" in ds.meta and "part" in ds.extra:
            named = ds.meta["part_writers"][ds.extra["part"]]
    return TrainingData(images.astype(np.float32), labels, ds.writers,
                        charset, MixedBatches(ds, tc.batch) if shared else None, named)


class Trainer:
    """Holds the models, optimizers and RNG; `step()` is one D update plus one G update."""

    def __init__(self, mc: ModelConfig, tc: TrainConfig, data, base=None, comm=None):
        """base: the loaded checkpoint of the run to fine-tune (tc.finetune) or extend
        (tc.extend) from, whose weights start the models; on --resume, None (restore follows).
        comm: the data-parallel workers (default: as launched, see minigan.distributed)."""
        self.mc, self.tc = mc, tc
        self.comm = comm if comm is not None else distributed.world(tc.device)
        self.images, self.labels, self.writers, self.charset = data[:4]
        self.batches = getattr(data, "batches", None)
        self.named = getattr(data, "named", None)
        self.conditioned = mc.num_classes > 0
        self.G, self.D = build_models(mc, seed=tc.seed)
        self.G_ema, _ = build_models(mc, seed=tc.seed)
        if base is not None and tc.extend:
            self._start_extension(base)
        elif base is not None:
            base.restore(modules={"G": self.G, "D": self.D, "G_ema": self.G_ema})
        else:
            self.G_ema.load_state_dict(self.G.state_dict())
        if tc.finetune:
            # One more writer row, started at the mean of the others (mc keeps the base's
            # count: the row is added the same way on every build, resume included).
            self.new_writer = add_writer(self.G, self.D)
            self.G_ema.add_writer()
        for m in (self.G, self.D, self.G_ema):
            m.to(tc.device)
        self.G_ema.requires_grad_(False)
        g_params = self.G.parameters()
        if tc.finetune and tc.finetune_g == "writer":
            # Only the new writer's row moves in G: the model's drawing of every character
            # stays as pretrained, and a few dozen glyphs only have to pin down one style.
            self.G.requires_grad_(False)
            self.G.writer_embed.weight.requires_grad = True
            g_params = [self.G.writer_embed.weight]
        if tc.extend:
            # Only the new characters' constant inputs move in G (the old rows get no gradient:
            # their glyphs are left out of the data): mapping and synthesis stay the base's, so
            # it draws every character it knew exactly as before, and a style fitted to a hand
            # reaches the new ones too.
            self.G.requires_grad_(False)
            self.G.synthesis.input.const.requires_grad = True
            g_params = [self.G.synthesis.input.const]
        # Lazy R1 regularisation: scale Adam so the effective betas match every-step R1.
        ratio = tc.r1_interval / (tc.r1_interval + 1)
        self.opt_G = Adam(g_params, lr=tc.lr, betas=(0.0, 0.99), eps=1e-8)
        self.opt_D = Adam(self.D.parameters(), lr=tc.lr * ratio, betas=(0.0, 0.99 ** ratio),
                          eps=1e-8)
        self.H = self.opt_H = None
        if tc.hand_pairs > 0:
            self._start_hand()
        self.rng = np.random.default_rng(tc.seed)
        # This worker's share of each global batch and of its per-sample random numbers.
        self.part = self.comm.partition(tc.batch, mc.mbstd_group)
        self.draw = self.part.rng(self.rng)
        self.policy = parse_policy(tc.augment)
        self.step_index = 0
        grid_rng = np.random.default_rng(tc.seed + 12345)     # fixed latents for every grid
        n = tc.grid_rows * 8
        self.grid_z = grid_rng.standard_normal((n, mc.z_dim)).astype(np.float32)
        classes = np.unique(self.labels)
        if tc.finetune:                 # every character the model knows, in the new hand
            classes = np.arange(mc.num_classes)
        self.grid_labels = classes[np.arange(n) % len(classes)] if self.conditioned else None
        self.grid_writers = (grid_rng.integers(0, mc.num_writers, n) if mc.num_writers else None)
        if tc.finetune:
            self.grid_writers = np.full(n, self.new_writer)

    def _start_hand(self) -> None:
        """The hand discriminator (--hand-pairs), its optimizer, and each person's glyphs."""
        from .models.stylegan2 import HandDiscriminator

        mc, tc = self.mc, self.tc
        if mc.model == "condgan" or mc.conditioning != "content":
            raise ValueError("--hand-pairs needs a content-conditioned style model (one w drawn "
                             "onto several characters)")
        if tc.mode_seeking > 0:
            raise ValueError("--hand-pairs and --mode-seeking both pair the batch's halves; "
                             "choose one")
        if tc.batch < 4:
            raise ValueError("--hand-pairs needs --batch 4 or more (half the batch are pairs)")
        if tc.finetune or tc.extend:
            raise ValueError("--hand-pairs trains a model's own hands, not --finetune or --extend")
        self.members = {}
        if self.writers is not None and self.named is not None:
            for writer in np.unique(self.writers[self.named]):
                glyphs = np.flatnonzero((self.writers == writer) & self.named)
                if len(np.unique(self.labels[glyphs])) > 1:
                    self.members[int(writer)] = glyphs
        if not self.members:
            raise ValueError(f"--hand-pairs: {tc.data} has no writer with two characters to pair "
                             f"(it needs writer ids: chars74k, builtin, fonts, omniglot-latin)")
        self.H = HandDiscriminator(mc, seed=tc.seed + 2)
        self.H.to(tc.device)
        ratio = tc.r1_interval / (tc.r1_interval + 1)
        self.opt_H = Adam(self.H.parameters(), lr=tc.lr * ratio, betas=(0.0, 0.99 ** ratio),
                          eps=1e-8)

    def _start_extension(self, base) -> None:
        """Start from `base`, whose model knows the first tc.extend_keep characters of ours:
        its weights, with its class rows copied into our larger class tables. A new accented
        letter starts from its base letter's row (É from E); other new rows keep their random
        start. D starts from the base's when the base kept one (an exported model does not)."""
        keep = self.tc.extend_keep
        saved = base.modules["G_ema" if "G_ema" in base.modules else "G"]
        const = grown_state(saved, self.G.state_dict(), {"synthesis.input.const": 0}, keep)
        rows = const["synthesis.input.const"]
        for i, char in enumerate(self.charset[keep:], keep):
            letter = unicodedata.normalize("NFD", char)[0]
            if letter != char and letter in self.charset[:keep]:
                rows[i] = rows[self.charset.index(letter)]
        for module in (self.G, self.G_ema):
            module.load_state_dict(const)
        if "D" in base.modules:
            self.D.load_state_dict(grown_state(base.modules["D"], self.D.state_dict(),
                                               {"class_embed.weight": 1}, keep))

    # ----- sampling ---------------------------------------------------------------------------
    def _tensor(self, array) -> Tensor:
        return Tensor(array).to(self.tc.device)

    def _generate(self, G, z, labels, writers, mix: bool, update_w_avg: bool,
                  pairs: Pairs | None = None) -> Tensor:
        if self.mc.model == "condgan":
            return G(z, labels, writers)
        embed = labels if self.mc.conditioning == "embed" else None
        ws = G.ws_from_w(G.mapping(z, embed, update_w_avg=update_w_avg))
        if mix and self.draw.random() < self.tc.mix_prob:
            cut = int(self.draw.integers(1, G.num_ws))
            z2 = self._tensor(self.draw.standard_normal(z.shape, dtype=np.float32))
            ws2 = G.ws_from_w(G.mapping(z2, embed))
            ws = ops.concat([ws[:, :cut], ws2[:, cut:]], axis=1)
        if pairs is not None:               # the partners are drawn in their anchors' styles
            half = len(pairs.ok)
            ws = ops.concat([ws[:half], ws[:half], ws[2 * half:]], axis=0)
        return G.synthesis(ws, labels, "random", self.draw)

    def _batch(self):
        b = self.part.local
        if self.batches is None:
            idx = self.draw.integers(0, len(self.images), b)
        else:                               # the global batch, as one worker would draw it
            idx = self.part.take(self.batches(self.rng))
        pairs = None
        if self.H is not None:
            half = b // 2
            partners, ok = self._partners(idx[:half])
            idx = np.concatenate([idx[:half], partners, idx[2 * half:]])
            pairs = Pairs(ok, self.writers[idx[:half]])
        real = self._tensor(self.images[idx])
        labels = self.labels[idx] if self.conditioned else None
        writers = self.writers[idx] if self.mc.num_writers else None
        z = self._tensor(self.draw.standard_normal((b, self.mc.z_dim), dtype=np.float32))
        # The fake batch asks for the same characters and writers as the real one.
        return real, labels, writers, z, pairs

    def _partners(self, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each anchor glyph, another glyph by its writer, of another character; where the
        anchor's writer is no person (or wrote one character), a random glyph and ok False."""
        partners = self.draw.integers(0, len(self.images), len(anchors))
        ok = np.zeros(len(anchors), bool)
        for i, anchor in enumerate(anchors):
            glyphs = self.members.get(int(self.writers[anchor])) if self.named[anchor] else None
            if glyphs is None:
                continue
            for j in glyphs[self.draw.integers(0, len(glyphs), 8)]:
                if self.labels[j] != self.labels[anchor]:
                    partners[i], ok[i] = j, True
                    break
        return partners, ok

    def _pair_scores(self, images: Tensor, labels, pairs: Pairs, a, b) -> Tensor:
        """The hand discriminator's logits for anchors a set beside partners b (indices into
        the batch's first and second halves)."""
        half = len(pairs.ok)
        return self.H(ops.getitem(images[:half], a), ops.getitem(images[half:2 * half], b),
                      labels[:half][a], labels[half:2 * half][b])

    @staticmethod
    def _mode_seeking(fake: Tensor, z: Tensor, half: int) -> Tensor:
        """Mode-seeking term (Mao et al., CVPR 2019): two z asked for the same character should
        draw two different glyphs, in proportion to how far apart the z are. Returns
        |z1 - z2| / |G(z1) - G(z2)| (means of absolute differences), which falls as the
        drawings part; a conditional GAN whose every z draws one glyph makes it large.

        The drawings are compared at a quarter of their size: the two halves also get different
        per-pixel noise, and at full size G could part them by that noise alone (it did, in a
        first try: grainy glyphs, still one shape per character)."""
        pool = max(1, fake.shape[-1] // 8)
        coarse = ops.avg_pool2d(fake, pool)
        apart = ops.abs(coarse[:half] - coarse[half:2 * half]).mean()
        z_apart = float(np.abs(z.numpy()[:half] - z.numpy()[half:2 * half]).mean())
        return z_apart / (apart + 1e-5)

    def _d(self, img, labels, writers):
        if self.policy:
            img = augment(img, self.policy, self.draw)
        return self.D(img, labels, writers)

    # ----- one step --------------------------------------------------------------------------
    def step(self) -> dict:
        tc = self.tc
        # Discriminator: push real up, fake down, and every r1_interval steps penalise its
        # gradient on real images (through double backward).
        real, labels, writers, z, pairs = self._batch()
        use_hand = pairs is not None and pairs.ok.any()
        with no_grad():
            fake = self._generate(self.G, z, labels, writers, mix=True, update_w_avg=False,
                                  pairs=pairs)
        do_r1 = tc.r1_gamma > 0 and self.step_index % tc.r1_interval == 0
        real = real.detach().requires_grad_(do_r1)
        real_score = self._d(real, labels, writers)
        fake_score = self._d(fake, labels, writers)
        d_loss = ops.softplus(fake_score).mean() + ops.softplus(-real_score).mean()
        total = d_loss
        r1 = None
        if do_r1:
            (g,) = grad(real_score.sum(), [real], create_graph=True)
            r1 = (g * g).sum() / real.shape[0]
            total = total + r1 * (tc.r1_gamma / 2 * tc.r1_interval)
        h_loss = r1_h = None
        if use_hand:
            # Real pairs up; drawn pairs and two writers' glyphs side by side down.
            keep = np.flatnonzero(pairs.ok)
            real_pair = self._pair_scores(real, labels, pairs, keep, keep)
            wrong = ops.softplus(self._pair_scores(fake, labels, pairs, keep, keep)).mean()
            other = np.roll(keep, 1)        # each anchor beside the previous pair's partner
            apart = pairs.writers[keep] != pairs.writers[other]
            if apart.any():
                mixed = self._pair_scores(real, labels, pairs, keep[apart], other[apart])
                wrong = (wrong + ops.softplus(mixed).mean()) * 0.5
            h_loss = wrong + ops.softplus(-real_pair).mean()
            total = total + h_loss
            if do_r1:
                (g,) = grad(real_pair.sum(), [real], create_graph=True)
                r1_h = (g * g).sum() / real_pair.shape[0]
                total = total + r1_h * (tc.r1_gamma / 2 * tc.r1_interval)
        self.opt_D.zero_grad()
        if self.H is not None:
            self.opt_H.zero_grad()
        total.backward()
        loss_d, r1_value = self.comm.average(self.opt_D, [d_loss, r1])
        self.opt_D.step()
        if self.H is not None:
            (loss_h,) = self.comm.average(self.opt_H, [h_loss])
            self.opt_H.step()

        # Generator: make D call its samples real (and, with --hand-pairs, H its pairs one hand).
        real, labels, writers, z, pairs = self._batch()
        half = z.shape[0] // 2
        if tc.mode_seeking > 0 and half:
            # The second half asks for the first half's characters (and writers) from other z.
            labels = None if labels is None else np.concatenate([labels[:half], labels[:half], labels[2 * half:]])
            writers = None if writers is None else np.concatenate([writers[:half], writers[:half], writers[2 * half:]])
        self.D.requires_grad_(False)
        if self.H is not None:
            self.H.requires_grad_(False)
        # An extended model keeps its base's average w, the centre of truncation.
        fake = self._generate(self.G, z, labels, writers, mix=True, update_w_avg=not tc.extend,
                              pairs=pairs)
        g_loss = ops.softplus(-self._d(fake, labels, writers)).mean()
        if tc.mode_seeking > 0 and half:
            g_loss = g_loss + self._mode_seeking(fake, z, half) * tc.mode_seeking
        if pairs is not None and pairs.ok.any():
            keep = np.flatnonzero(pairs.ok)
            hand = self._pair_scores(fake, labels, pairs, keep, keep)
            g_loss = g_loss + ops.softplus(-hand).mean() * tc.hand_pairs
        self.opt_G.zero_grad()
        g_loss.backward()
        (loss_g,) = self.comm.average(self.opt_G, [g_loss], distributed.batch_statistics(self.G))
        self.opt_G.step()
        self.D.requires_grad_(True)
        if self.H is not None:
            self.H.requires_grad_(True)

        decay = 0.5 ** (tc.batch / (tc.ema_kimg * 1000))
        ema_update(self.G_ema, self.G, decay)
        if tc.extend:        # exactly the base's rows, not their average with themselves
            keep = slice(0, tc.extend_keep)
            self.G_ema.synthesis.input.const.data[keep] = self.G.synthesis.input.const.data[keep]
        self.step_index += 1
        stats = {"loss_d": loss_d, "loss_g": loss_g}
        if r1 is not None:
            stats["r1"] = r1_value
        if h_loss is not None:
            stats["loss_h"] = loss_h
        bad = [k for k, v in stats.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"step {self.step_index}: {', '.join(bad)} became "
                                   f"{[stats[k] for k in bad]}")
        return stats

    @no_grad()
    def tick_metrics(self) -> dict:
        """FID / KID of G_ema against real training glyphs, in the feature space of the shipped
        classifier (digits for digit-only data, else characters), n samples each."""
        from .evaluate import sample_glyphs
        from .metrics import fid, kid, load_net, to_glyphs

        wanted = [m for m in self.tc.metrics.split(",") if m]
        if not wanted:
            return {}
        if not hasattr(self, "_real_features"):
            digits_only = set(self.charset[c] for c in np.unique(self.labels)) <= set("0123456789")
            self._net = load_net("digits" if digits_only else "chars")
            pick = np.random.default_rng(self.tc.seed + 7).choice(
                len(self.images), min(self.tc.metrics_n, len(self.images)), replace=False)
            # Real glyphs take the generated glyphs' exact path from [-1, 1] at res to 28x28.
            self._real_features = self._net.features(to_glyphs(self.images[pick]))
            self._metric_labels = self.labels[pick] if self.conditioned else None
            self._metric_writers = self.writers[pick] if self.mc.num_writers else None
        fake = sample_glyphs(self.G_ema, self.mc, self._metric_labels, self._metric_writers,
                             n=self.tc.metrics_n, seed=self.tc.seed + 8)
        features = self._net.features(fake)
        out = {}
        if "fid" in wanted:
            out["fid"] = fid(self._real_features, features)
        if "kid" in wanted:
            out["kid_x1000"] = kid(self._real_features, features, subsets=20,
                                   subset_size=min(500, len(features)))[0] * 1000
        return out

    @no_grad()
    def sample_grid(self) -> Image.Image:
        z = self._tensor(self.grid_z)
        if self.mc.model == "condgan":
            img = self.G_ema(z, self.grid_labels, self.grid_writers)
        else:
            img = self.G_ema(z, self.grid_labels, noise_mode="const")
        return image_grid(img.numpy(), cols=8, scale=3)

    # ----- saving and resuming --------------------------------------------------------------
    def _modules(self) -> tuple[dict, dict]:
        modules = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        optimizers = {"G": self.opt_G, "D": self.opt_D}
        if self.H is not None:
            modules["H"], optimizers["H"] = self.H, self.opt_H
        return modules, optimizers

    def save(self, path, extra: dict | None = None) -> None:
        modules, optimizers = self._modules()
        save_checkpoint(path, self.step_index,
                        {"model": self.mc.to_dict(), "train": asdict(self.tc)},
                        modules=modules, optimizers=optimizers, rng=self.rng, extra=extra)

    def restore(self, ckpt) -> None:
        """Load a checkpoint; a run resumed with --hand-pairs newly on starts H afresh."""
        modules, optimizers = self._modules()
        if "H" not in ckpt.modules:
            modules.pop("H", None)
            optimizers.pop("H", None)
        ckpt.restore(modules=modules, optimizers=optimizers, rng=self.rng)
        for m in modules.values():
            m.to(self.tc.device)
        self.step_index = ckpt.step


def grown_state(saved: dict, own: dict, axes: dict[str, int], keep: int) -> dict:
    """A module's saved state fitted to the same module with more classes: `own` is the larger
    module's state; each array named in `axes` has its classes along that axis, and takes its
    first `keep` entries from `saved` and the rest from `own`. Other arrays are `saved`'s."""
    out = dict(saved)
    for key, axis in axes.items():
        if key not in saved or saved[key].shape[axis] != keep:
            raise CheckpointError(f"--extend: the base's {key} does not hold {keep} classes")
        grown = own[key].copy()
        index = [slice(None)] * grown.ndim
        index[axis] = slice(0, keep)
        grown[tuple(index)] = saved[key]
        out[key] = grown
    return out


def model_config_from_args(args, num_classes: int, num_writers: int, charset: str) -> ModelConfig:
    mc = preset(args.preset)
    changes = {}
    if args.model:
        changes["model"] = args.model
    if args.res:
        changes["res"] = args.res
    if args.w_dim:
        changes["w_dim"] = changes["z_dim"] = args.w_dim
    mc = mc.replace(**changes)
    conditioning = args.conditioning or mc.conditioning
    writer_rows = num_writers if (mc.model == "condgan" and args.writers) else 0
    if mc.model == "condgan":
        classes = num_classes if conditioning != "none" or args.conditioning is None else 0
        return mc.replace(num_classes=classes, num_writers=writer_rows, conditioning="none",
                          charset=charset)
    classes = num_classes if conditioning != "none" else 0
    return mc.replace(conditioning=conditioning, num_classes=classes, charset=charset)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m minigan.train",
        description="Train a handwriting GAN. With no arguments: a small content-conditioned\n"
                    "StyleGAN2 on the built-in writers, a few minutes on a laptop CPU.",
        formatter_class=HelpFormatter)
    p.add_argument("--model", choices=["condgan", "stylegan", "stylegan2"], default=None,
                   help="model family (default: the preset's)")
    p.add_argument("--preset", default="sg2-16-small",
                   help="architecture preset: " + ", ".join(sorted(PRESETS)))
    p.add_argument("--data", default="builtin",
                   help="builtin, mnist, chars74k, omniglot (in $MINIGAN_DATA) or a path (.npz, IDX, CSV, folder); "
                        "join sources with +, pick a split with :train, writers with @0-44, "
                        "e.g. chars74k@0-44+builtin")
    p.add_argument("--chars", default="", help="train on these characters only, e.g. 0123456789")
    p.add_argument("--res", type=int, choices=[16, 32], default=None,
                   help="output resolution (default: the preset's)")
    p.add_argument("--w-dim", type=int, choices=[256, 128, 64], default=None,
                   help="size of W (and Z) (default: the preset's)")
    p.add_argument("--conditioning", choices=["none", "embed", "content"], default=None,
                   help="style models: how the character is given (default: the preset's)")
    p.add_argument("--writers", action="store_true", help="CondGAN: condition on writer ids too")
    p.add_argument("--batch", type=int_in(1, 4096), default=32,
                   help="images per step (under mpiexec: in all, split over the workers; "
                        "see docs/distributed.md)")
    p.add_argument("--kimg", type=float_in(0, 1e6, above=True), default=None,
                   help=f"train until this many thousand real images (default {TrainConfig.kimg:g}; "
                        "with --resume, a larger value extends the run)")
    p.add_argument("--tick-kimg", type=float_in(0, 1e6, above=True), default=2.0,
                   help="grid, log and checkpoint interval")
    p.add_argument("--lr", type=float_in(0, 1, above=True), default=None,
                   help="Adam learning rate (default: 0.01 for the -small presets, else 0.0025)")
    p.add_argument("--r1-gamma", type=float_in(0, 1e4), default=0.2,
                   help="weight of the R1 penalty on D's gradient at real images (0: off)")
    p.add_argument("--mode-seeking", type=float_in(0, 100), default=0.0,
                   help="weight of a mode-seeking term that asks two z for the same character to "
                        "draw different glyphs, against style collapse (0: off; 0.1 was tried)")
    p.add_argument("--hand-pairs", type=float_in(0, 100), default=0.0,
                   help="weight of a second discriminator that sees two glyphs of different "
                        "characters and learns whether one writer wrote both; drawn from one w, "
                        "they must pass as one hand, so a style carries onto every character "
                        "(0: off; needs writer ids; may be turned on with --resume)")
    p.add_argument("--r1-interval", type=int_in(1, 10000), default=16,
                   help="apply R1 every this many steps (lazy regularisation)")
    p.add_argument("--augment", default="", help="comma list of translation,cutout,scale")
    p.add_argument("--metrics", default="", help="fid,kid: measure G_ema at every tick "
                   "(shipped classifier features, --metrics-n samples against real training glyphs)")
    p.add_argument("--metrics-n", type=int_in(2, 100000), default=1000,
                   help="generated and real glyphs per --metrics measurement")
    p.add_argument("--out", type=output_folder, default="runs/default",
                   help="run folder (checkpoint, grids, logs)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out; it may change " + RESUMABLE_TEXT + ", and "
                        "refuses other options that differ from the run's")
    p.add_argument("--finetune", default=None, metavar="BASE_RUN",
                   help="pretrain-then-fine-tune: teach the writer-conditioned CondGAN in "
                        "BASE_RUN one new writer, whose glyphs are --data (e.g. the output of "
                        "minigan.data extract); the model and charset come from BASE_RUN, "
                        f"--kimg defaults to {FINETUNE_KIMG:g} and --augment to {FINETUNE_AUGMENT}")
    p.add_argument("--finetune-g", choices=["writer", "all"], default="writer",
                   help="when fine-tuning, what G trains: only the new writer's row, or all "
                        "its weights (D always trains)")
    p.add_argument("--extend", default=None, metavar="BASE_RUN",
                   help="teach the content-conditioned style model in BASE_RUN (a run or an "
                        "exported model) the characters of --data that it does not know: only "
                        "their constant inputs train in G, so every character it knew is drawn "
                        "exactly as before and styles fitted to a hand carry over; glyphs of "
                        "known characters are left out of --data")
    p.add_argument("--seed", type=int_in(0, 2 ** 32 - 1), default=0,
                   help="seeds the weights, the batches and the latents (same seed, same run)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda runs on the GPU through CuPy (pip install minigan[gpu])")
    return p


def _base_run(path: str, option: str):
    """(checkpoint, its ModelConfig, its TrainConfig) of the run that --finetune or --extend
    starts from; a missing or damaged one is a one-line error naming the option."""
    from .generate import model_config, run_checkpoint

    try:
        base = load_checkpoint(run_checkpoint(path))
        mc = model_config(base)
    except CheckpointError as e:
        raise UserError(f"{option}: {e}") from None
    return base, mc, TrainConfig.from_dict(base.config.get("train", {}))


def finetune_trainer(args) -> Trainer:
    """A Trainer that teaches a writer-conditioned CondGAN one new writer from args.data."""
    base, mc, base_tc = _base_run(args.finetune, "--finetune")
    if mc.model != "condgan" or not mc.num_writers:
        raise ValueError("--finetune needs a CondGAN trained with --writers (it learns a new "
                         "writer row); for a style model, fit a style with minigan.write instead")
    if base_tc.finetune:
        raise ValueError(f"{args.finetune} is itself a fine-tuning run; fine-tune from its "
                         f"base, {base_tc.finetune}")
    tc = TrainConfig(data=absolute_spec(args.data), batch=args.batch,
                     kimg=args.kimg if args.kimg is not None else FINETUNE_KIMG,
                     tick_kimg=args.tick_kimg,
                     lr=args.lr if args.lr is not None else base_tc.lr,
                     r1_gamma=args.r1_gamma, r1_interval=args.r1_interval,
                     mode_seeking=args.mode_seeking, hand_pairs=args.hand_pairs,
                     augment=args.augment if args.augment else FINETUNE_AUGMENT,
                     seed=args.seed, device=args.device,
                     finetune=str(Path(args.finetune).resolve()),
                     finetune_g=args.finetune_g)
    parse_policy(tc.augment)
    return Trainer(mc, tc, prepare_data(tc, mc.res, base=mc), base=base)


def extend_trainer(args) -> Trainer:
    """A Trainer that teaches the style model in args.extend the new characters of args.data."""
    base, mc, base_tc = _base_run(args.extend, "--extend")
    if mc.model == "condgan" or mc.conditioning != "content" or not mc.charset:
        raise ValueError("--extend needs a content-conditioned style model with a charset (it "
                         "learns one constant input per new character)")
    tc = TrainConfig(data=absolute_spec(args.data), batch=args.batch,
                     kimg=args.kimg if args.kimg is not None else TrainConfig.kimg,
                     tick_kimg=args.tick_kimg,
                     lr=args.lr if args.lr is not None else base_tc.lr,
                     r1_gamma=args.r1_gamma, r1_interval=args.r1_interval,
                     mode_seeking=args.mode_seeking, hand_pairs=args.hand_pairs,
                     augment=args.augment, seed=args.seed,
                     device=args.device, chars=args.chars, metrics=args.metrics,
                     metrics_n=args.metrics_n, extend=str(Path(args.extend).resolve()),
                     extend_keep=len(mc.charset))
    parse_policy(tc.augment)
    _check_metrics(tc.metrics)
    data = prepare_data(tc, mc.res, known=mc.charset)
    mc = mc.replace(num_classes=len(data.charset), charset=data.charset,
                    base_classes=mc.base_classes or len(mc.charset))
    return Trainer(mc, tc, data, base=base)


def _log(msg: str) -> None:
    if distributed.is_root() or msg.startswith("error"):
        print(msg, flush=True)


def _error(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)


# What --resume may change (TrainConfig field -> option); any other option given with --resume
# must match the run's own value.
RESUMABLE = {"kimg": "--kimg", "lr": "--lr", "tick_kimg": "--tick-kimg",
             "r1_gamma": "--r1-gamma", "mode_seeking": "--mode-seeking",
             "hand_pairs": "--hand-pairs",
             "metrics": "--metrics", "metrics_n": "--metrics-n",
             "device": "--device"}
RESUMABLE_TEXT = ", ".join(RESUMABLE.values())


def _check_metrics(metrics: str) -> None:
    unknown = sorted(set(m for m in metrics.split(",") if m) - {"fid", "kid"})
    if unknown:
        raise UserError(f"--metrics: unknown {unknown}; choose from fid, kid")


def _resumed_options(args, given: set, mc: ModelConfig, tc: TrainConfig) -> list[str]:
    """Apply the options --resume may change to tc; refuse any other that differs from the run."""
    kept = {
        "data": (absolute_spec(args.data), absolute_spec(tc.data)),
        "batch": (args.batch, tc.batch), "r1_interval": (args.r1_interval, tc.r1_interval),
        "augment": (args.augment, tc.augment),
        "seed": (args.seed, tc.seed), "chars": (args.chars, tc.chars),
        "finetune_g": (args.finetune_g, tc.finetune_g),
        "finetune": (args.finetune and str(Path(args.finetune).resolve()), tc.finetune or None),
        "extend": (args.extend and str(Path(args.extend).resolve()), tc.extend or None),
        "model": (args.model, mc.model), "res": (args.res, mc.res),
        "w_dim": (args.w_dim, mc.w_dim), "conditioning": (args.conditioning, mc.conditioning),
        "writers": (args.writers, mc.num_writers > 0),
    }
    if "preset" in given:        # what --model, --res and --w-dim do not override
        p = preset(args.preset)
        kept["preset"] = ((p.g_channels, p.d_channels, p.mapping_layers),
                          (mc.g_channels, mc.d_channels, mc.mapping_layers))
    for name in sorted(given & set(kept)):
        wanted, stored = kept[name]
        if wanted != stored:
            option = "--" + name.replace("_", "-")
            shown = stored if name != "preset" else "another architecture"
            raise UserError(f"{option}: a resumed run keeps its own value ({shown}); --resume may "
                            f"change only {RESUMABLE_TEXT}. Drop {option}, or train into a new "
                            f"--out")
    changed = []
    for field_name, option in RESUMABLE.items():
        value = getattr(args, field_name)
        if field_name in given and value != getattr(tc, field_name):
            setattr(tc, field_name, value)
            changed.append(f"{option} {value}")
    _check_metrics(tc.metrics)
    return changed


def _trim_outputs(out: Path, step: int) -> None:
    """Make the run folder agree with the checkpoint at `step` (0: a new run): log records and
    grids from later steps (written before a kill, or by an older run) and temporary files left
    by a killed write are removed, so nothing is repeated or mixed in."""
    log = out / "metrics.jsonl"
    if log.exists():
        kept = []
        for line in log.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line + "\n")
            except (ValueError, KeyError, TypeError):
                continue                    # a line cut short by a kill
        write_atomic(log, lambda f: f.write("".join(kept).encode()))
    for grid in (out / "grids").glob("grid_*.png"):
        if not grid.stem[5:].isdigit() or int(grid.stem[5:]) > step:
            grid.unlink()
    remove_stale_temporaries(out, ["checkpoint.npz", "metrics.jsonl", "samples.png",
                                   "progress.gif"])
    for tmp in (out / "grids").glob(".grid_*.png.*.tmp"):
        tmp.unlink(missing_ok=True)


def run(args, given: set | None = None) -> int:
    """given: the options the command line set (see minigan._cli.given_options), which --resume
    compares with the run's own; by default, those that differ from their defaults."""
    if given is None:
        given = {a.dest for a in build_parser()._actions
                 if getattr(args, a.dest, a.default) != a.default}
    out = Path(args.out)
    ckpt_path = out / "checkpoint.npz"
    if args.resume:
        try:
            ckpt = load_checkpoint(ckpt_path)
        except CheckpointError as e:
            raise UserError(f"cannot resume: {e}") from None
        from .generate import model_config

        mc = model_config(ckpt)
        if not isinstance(ckpt.config.get("train"), dict):
            raise UserError(f"cannot resume: {ckpt_path} holds no training configuration")
        tc = TrainConfig.from_dict(ckpt.config["train"])
        changed = _resumed_options(args, given, mc, tc)
        data = prepare_data(tc, mc.res, base=mc if tc.finetune else None,
                            known=mc.charset[:tc.extend_keep] if tc.extend else None)
        trainer = Trainer(mc, tc, data)
        trainer.restore(ckpt)
        if trainer.H is not None and "H" not in ckpt.modules:
            changed.append("the hand discriminator started afresh")
        ratio = tc.r1_interval / (tc.r1_interval + 1)
        for opt, lr in ((trainer.opt_G, tc.lr), (trainer.opt_D, tc.lr * ratio)):
            for group in opt.param_groups:   # a changed --lr replaces the saved one
                group["lr"] = lr
        _log(f"resumed {ckpt_path} at step {trainer.step_index}"
             + (f" with {', '.join(changed)}" if changed else ""))
    elif ckpt_path.exists():
        raise UserError(f"{ckpt_path} exists; pass --resume to continue it or choose another --out")
    elif args.finetune and args.extend:
        raise UserError("--finetune and --extend: choose one (a new writer, or new characters)")
    elif args.extend:
        trainer = extend_trainer(args)
        tc, mc = trainer.tc, trainer.mc
        _log(f"extending {args.extend} ({tc.extend_keep} characters, drawn as they were) with "
             f"{mc.num_classes - tc.extend_keep} new ones from {tc.data}: {len(trainer.images)} "
             f"glyphs; G trains their constant inputs only")
    elif args.finetune:
        trainer = finetune_trainer(args)
        tc, mc = trainer.tc, trainer.mc
        _log(f"fine-tuning {args.finetune} ({mc.num_writers} writers) on {tc.data}: "
             f"{len(trainer.images)} glyphs of {len(np.unique(trainer.labels))} characters as "
             f"new writer {trainer.new_writer}; G trains {tc.finetune_g!r}, augment "
             f"{tc.augment or 'none'}")
    else:
        tc = TrainConfig(data=absolute_spec(args.data), batch=args.batch,
                         kimg=args.kimg if args.kimg is not None else TrainConfig.kimg,
                         tick_kimg=args.tick_kimg,
                         lr=args.lr if args.lr is not None else PRESET_LR.get(preset_name(args.preset), 0.0025),
                         r1_gamma=args.r1_gamma, mode_seeking=args.mode_seeking,
                         hand_pairs=args.hand_pairs, r1_interval=args.r1_interval, augment=args.augment, seed=args.seed,
                         device=args.device, chars=args.chars, metrics=args.metrics,
                         metrics_n=args.metrics_n)
        parse_policy(tc.augment)
        _check_metrics(tc.metrics)
        mc0 = preset(args.preset)
        data = prepare_data(tc, args.res or mc0.res)
        images, labels, writers, charset = data[:4]
        classes = "".join(charset[c] for c in np.unique(labels))
        num_writers = int(writers.max()) + 1 if writers is not None else 0
        if args.writers and writers is None:
            raise ValueError(f"--writers: dataset {tc.data} has no writer ids")
        mc = model_config_from_args(args, len(charset), num_writers, charset)
        trainer = Trainer(mc, tc, data)
        _log(f"{mc.model} {mc.res}x{mc.res} w={mc.w_dim} conditioning={mc.conditioning} on "
             f"{tc.data}: {len(images)} glyphs of {len(classes)} characters; "
             f"G {trainer.G.num_parameters():,} / D {trainer.D.num_parameters():,} parameters"
             + (f" / hand D {trainer.H.num_parameters():,}" if trainer.H is not None else ""))
    distributed.check_replicas(trainer)
    root = trainer.comm.is_root               # rank 0 alone writes checkpoints, grids and logs
    saved_step = trainer.step_index if args.resume else None
    if root:
        out.mkdir(parents=True, exist_ok=True)
        (out / "grids").mkdir(exist_ok=True)
        _trim_outputs(out, trainer.step_index if args.resume else 0)
    total_steps = math.ceil(tc.kimg * 1000 / tc.batch)
    tick_steps = max(1, round(tc.tick_kimg * 1000 / tc.batch))
    if trainer.step_index >= total_steps:
        _log(f"nothing to do: the run is at step {trainer.step_index}, and --kimg {tc.kimg:g} "
             f"ends at step {total_steps}; pass a larger --kimg to train on")
        return 0

    stop = {"now": 0}   # the signal that asked to stop

    def interrupt(signum, frame):
        if stop["now"]:
            raise Interrupted(signum)
        stop["now"] = signum
        _log(f"{signal.Signals(signum).name}: finishing this step, then checkpointing "
             f"(Ctrl-C again to abort)")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    start, start_step = time.perf_counter(), trainer.step_index
    recent = []
    stopping = False
    try:
        while trainer.step_index < total_steps and not stopping:
            try:
                stats = trainer.step()
            except TrainingDiverged as e:
                kept = f"step {saved_step}" if saved_step is not None else "none yet"
                _error(f"training diverged at {e}; the last good checkpoint ({ckpt_path}, "
                       f"{kept}) is kept; resume it with a lower --lr")
                return 3
            recent.append(stats)
            done = trainer.step_index
            stopping = trainer.comm.agree_stop(stop["now"])
            if done % tick_steps == 0 or done == total_steps or stopping:
                if not root:
                    recent = []
                    continue
                elapsed = time.perf_counter() - start
                rate = (done - start_step) / max(elapsed, 1e-9)
                eta = (total_steps - done) / max(rate, 1e-9)
                mean = {k: float(np.mean([s[k] for s in recent if k in s]))
                        for k in recent[-1] if any(k in s for s in recent)}
                recent = []
                kimg = done * tc.batch / 1000
                mean.update(trainer.tick_metrics())
                record = {"step": done, "kimg": round(kimg, 3), "seconds": round(elapsed, 1),
                          "it_per_s": round(rate, 3), **{k: round(v, 5) for k, v in mean.items()}}
                with open(out / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                grid = trainer.sample_grid()
                save_atomic(grid, out / "grids" / f"grid_{done:07d}.png")
                save_atomic(grid, out / "samples.png")
                frames = [Image.open(p).convert("L") for p in sorted((out / "grids").glob("grid_*.png"))]
                save_gif(frames, out / "progress.gif")
                trainer.save(ckpt_path)
                saved_step = done
                losses = "  ".join(f"{k} {v:.4f}" for k, v in mean.items())
                _log(f"kimg {kimg:7.2f}/{tc.kimg:g}  step {done}/{total_steps}  {rate:.2f} it/s  "
                     f"ETA {eta / 60:.1f} min  {losses}")
    except KeyboardInterrupt as e:
        kept = f"{ckpt_path} keeps step {saved_step}" if saved_step is not None else \
            "no checkpoint was written yet"
        _error(f"aborted at step {trainer.step_index} without checkpointing; {kept}")
        return exit_code(e)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop["now"] or stopping:
        _log(f"stopped at step {trainer.step_index}; resume with --resume --out {out}")
        return 128 + (stop["now"] or signal.SIGINT)    # a worker stopped by another: as Ctrl-C
    _log(next_steps(out))
    return 0


def next_steps(out: Path) -> str:
    """The closing message: where the run's pictures are, and what to try next."""
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())          # as the user typed it: .venv/bin/python
    return (f"done. Pictures: {out / 'samples.png'} (the last sample grid) and "
            f"{out / 'progress.gif'} (one frame per tick); checkpoint {out / 'checkpoint.npz'}.\n"
            f"Next:\n"
            f"  {python} -m minigan.generate --ckpt {out} --out more.png   # more glyphs from this run\n"
            f"  {python} -m minigan.write \"Hello world\" --out hello.png   # a line in the shipped hand\n"
            f"Your own hand: README.md, \"Use your own handwriting\".")


@job
def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run(args, given_options(build_parser, argv))


def main(argv=None) -> int:
    code = _main(argv)
    if code == 2:
        distributed.abort(code)     # other workers may be waiting on this one
    return code


if __name__ == "__main__":
    sys.exit(main())

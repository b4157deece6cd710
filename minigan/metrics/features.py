"""The small feature networks that the metrics look through, and the weights shipped for them.

Three networks share one architecture (`GlyphNet`), each trained with minigan itself by
`examples/train_feature_nets.py`:

    digits   MNIST 0-9 classifier; its 128-d hidden layer is the feature space for MNIST FID/KID
    chars    0-9 A-Z a-z classifier (Chars74K writers 0-44 + built-in writers)
    writers  writer-embedding network (built-in, Chars74K 0-44 and Omniglot writers); its 64-d
             bottleneck tells writers apart

A weight file is an .npz of float16 arrays plus `meta`, a JSON string with the architecture,
the charset, what the network was trained on and the figures it reached. It loads with
allow_pickle=False.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
NETS = ("digits", "chars", "writers")
MEAN, STD = 0.1307, 0.3081  # MNIST's pixel statistics on [0, 1]; every net uses them


class GlyphNet(nn.Module):
    """28x28 glyph -> `dim` features -> `classes` logits: three conv stages and a dense layer.

    `act="lrelu"` makes the features a hidden layer (classifiers); `act="linear"` a linear
    bottleneck (the writer embedding, whose geometry the nearest-centroid rule uses).
    classes=0 leaves out the classifier head (an embedding trained by a metric loss).
    """

    def __init__(self, classes: int, widths=(32, 64, 64), dim: int = 128, act: str = "lrelu",
                 seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        c1, c2, c3 = widths
        self.widths, self.dim, self.classes, self.act = tuple(widths), dim, classes, act
        self.conv = nn.Sequential(                                                   # [N, 1, 28, 28]
            nn.Conv2d(1, c1, 3, rng=rng, equalized=False), nn.LeakyReLU(0.1), nn.AvgPool2d(2),   # [N, c1, 14, 14]
            nn.Conv2d(c1, c2, 3, rng=rng, equalized=False), nn.LeakyReLU(0.1), nn.AvgPool2d(2),  # [N, c2, 7, 7]
            nn.Conv2d(c2, c3, 3, rng=rng, equalized=False), nn.LeakyReLU(0.1), nn.AvgPool2d(2),  # [N, c3, 3, 3]
        )
        self.embed = nn.Linear(c3 * 9, dim, rng=rng, equalized=False)
        self.head = nn.Linear(dim, classes, rng=rng, equalized=False) if classes else None

    def features(self, x: Tensor) -> Tensor:
        """x [N, 1, 28, 28] standardised -> [N, dim]."""
        h = self.conv(x)
        return self.embed(h.reshape(h.shape[0], -1), act=self.act)

    def forward(self, x: Tensor) -> Tensor:
        """x [N, 1, 28, 28] standardised -> logits [N, classes]."""
        if self.head is None:
            raise ValueError("this network is an embedding with no classifier head; use features()")
        return self.head(self.features(x))

    def config(self) -> dict:
        return {"classes": self.classes, "widths": list(self.widths), "dim": self.dim, "act": self.act}


def standardize(images: np.ndarray) -> np.ndarray:
    """uint8 glyphs [N, 28, 28] (white on black) -> float32 [N, 1, 28, 28], MNIST-standardised."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"feature networks read glyphs [N, 28, 28], got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"feature networks read uint8 glyphs (0-255, white on black), got "
                         f"{images.dtype}; see minigan.metrics.to_glyphs for generator output")
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


class FeatureNet:
    """A trained GlyphNet with what it was trained for: read glyphs, give features or classes."""

    def __init__(self, net: GlyphNet, meta: dict, arrays: dict | None = None):
        self.net = net.eval()
        self.meta = meta
        self.arrays = arrays or {}  # extra shipped arrays, e.g. the writers net's char_mean
        self.charset: str = meta.get("charset", "")

    @no_grad()
    def _run(self, images: np.ndarray, what: str, batch: int) -> np.ndarray:
        x = standardize(images)
        out = []
        for i in range(0, len(x), batch):
            xb = Tensor(x[i:i + batch])
            out.append((self.net.features(xb) if what == "features" else self.net(xb)).numpy())
        if not out:
            return np.zeros((0, self.net.dim if what == "features" else self.net.classes), np.float32)
        return np.concatenate(out).astype(np.float32)

    def features(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """uint8 [N, 28, 28] -> float32 [N, dim]."""
        return self._run(images, "features", batch)

    def logits(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """uint8 [N, 28, 28] -> float32 [N, classes]."""
        return self._run(images, "logits", batch)

    def predict(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """uint8 [N, 28, 28] -> int64 [N] class indices into `charset`."""
        return self.logits(images, batch).argmax(axis=1)

    def save(self, path) -> Path:
        """float16 weights + extra arrays + JSON meta in one pickle-free .npz."""
        path = Path(path)
        arrays = {f"param/{k}": v.astype(np.float16) for k, v in self.net.state_dict().items()}
        arrays.update({f"extra/{k}": np.asarray(v, np.float32) for k, v in self.arrays.items()})
        meta = dict(self.meta, config=self.net.config())
        arrays["meta"] = np.array(json.dumps(meta))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)
        return path


def load_net(name_or_path: str) -> FeatureNet:
    """A shipped network by name ("digits", "chars", "writers") or a weight file by path."""
    path = Path(name_or_path)
    if name_or_path in NETS:
        path = WEIGHTS_DIR / f"{name_or_path}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"the {name_or_path!r} weights are not shipped at {path}; "
                                    f"train them with examples/train_feature_nets.py {name_or_path}")
    elif not path.is_file():
        raise FileNotFoundError(f"{name_or_path}: neither a shipped network {NETS} nor a file")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        state = {k[len("param/"):]: z[k].astype(np.float32) for k in z.files if k.startswith("param/")}
        arrays = {k[len("extra/"):]: z[k] for k in z.files if k.startswith("extra/")}
    cfg = meta["config"]
    net = GlyphNet(cfg["classes"], tuple(cfg["widths"]), cfg["dim"], cfg["act"])
    net.load_state_dict(state)
    return FeatureNet(net, meta, arrays)


def fold_case(labels: np.ndarray, charset: str) -> np.ndarray:
    """Class indices -> indices into the case-folded charset (a and A become one class).

    A letter whose capital is not one character of the charset (ß, whose capital is "SS";
    ÿ, whose Ÿ is not Latin-1) stays a class of its own."""
    known = set(charset)

    def fold(c: str) -> str:
        return c.upper() if c.upper() in known else c

    folded = list(dict.fromkeys(fold(c) for c in charset))
    lookup = np.array([folded.index(fold(c)) for c in charset])
    return lookup[np.asarray(labels)]


def classifier_accuracy(net: FeatureNet, images: np.ndarray, chars: str) -> dict:
    """Accuracy on glyphs whose true characters are `chars` (a string, one per image).

    Returns {"accuracy", "accuracy_casefold" (where the charset has letters), "n"}.
    """
    if len(chars) != len(images):
        raise ValueError(f"{len(images)} images but {len(chars)} characters")
    unknown = sorted(set(chars) - set(net.charset))
    if unknown:
        raise ValueError(f"the {net.meta.get('name', '')} classifier does not know {''.join(unknown)!r}")
    truth = np.array([net.charset.index(c) for c in chars], np.int64)
    pred = net.predict(images)
    out = {"accuracy": float(np.mean(pred == truth)) if len(truth) else float("nan"), "n": len(truth)}
    if net.charset.upper() != net.charset:
        out["accuracy_casefold"] = float(np.mean(fold_case(pred, net.charset) == fold_case(truth, net.charset)))
    return out

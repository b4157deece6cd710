"""Train a digit classifier on real MNIST with minigan's autograd, end to end.

    python examples/mnist_classifier.py                    # small CNN, full MNIST, ~99% test accuracy
    python examples/mnist_classifier.py --model mlp --train-subset 10000 --epochs 3 --lr 3e-3
    python examples/mnist_classifier.py --data builtin     # no files needed: 62 built-in characters

With --data mnist (the default) it reads $MINIGAN_DATA/mnist.npz (see `python -m minigan.data
--help` for where to get it) and reports accuracy on the 10,000 official test images. With
--data builtin it learns 0-9, A-Z, a-z from minigan's procedural writers and is tested on
writers it never saw.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import minigan as mg
from minigan import nn
from minigan.data import builtin_glyphs, load
from minigan.optim import Adam


def make_model(kind: str, seed: int, classes: int = 10) -> nn.Module:
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256, rng=rng, equalized=False), nn.LeakyReLU(0.1),
            nn.Linear(256, classes, rng=rng, equalized=False),
        )
    return nn.Sequential(                                       # [N, 1, 28, 28]
        nn.Conv2d(1, 32, 3, rng=rng, equalized=False), nn.LeakyReLU(0.1), nn.AvgPool2d(2),   # [N, 32, 14, 14]
        nn.Conv2d(32, 64, 3, rng=rng, equalized=False), nn.LeakyReLU(0.1), nn.AvgPool2d(2),  # [N, 64, 7, 7]
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128, rng=rng, equalized=False), nn.LeakyReLU(0.1),
        nn.Linear(128, classes, rng=rng, equalized=False),
    )


def standardize(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] with MNIST's mean and std."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - 0.1307) / 0.3081


@mg.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(mg.tensor(x[i:i + batch])).numpy()
        correct += int((logits.argmax(axis=1) == y[i:i + batch]).sum())
    model.train()
    return correct / len(x)


def datasets(name: str):
    """(train, test) GlyphDatasets: MNIST's official split, or built-in writers disjoint by seed."""
    if name == "builtin":
        return (builtin_glyphs(n_writers=20, per_char=8, seed=0),
                builtin_glyphs(n_writers=5, per_char=4, seed=1))
    return load(name, split="train"), load(name, split="test")


def train(model_kind="cnn", epochs=3, batch=64, lr=1e-3, train_subset=None, seed=0,
          data="mnist", log=print) -> dict:
    """Train and evaluate; returns {"test_accuracy", "seconds", "epochs", "train_size"}."""
    train_set, test_set = datasets(data)
    x_train, y_train = standardize(train_set.images), train_set.labels
    if train_subset:
        x_train, y_train = x_train[:train_subset], y_train[:train_subset]
    x_test, y_test = standardize(test_set.images), test_set.labels

    rng = np.random.default_rng(seed)
    model = make_model(model_kind, seed, classes=len(train_set.charset))
    opt = Adam(model.parameters(), lr=lr)
    steps_per_epoch = len(x_train) // batch
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        running = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * batch:(step + 1) * batch]
            # A cosine decay of the learning rate over the whole run.
            progress = (epoch * steps_per_epoch + step) / (epochs * steps_per_epoch)
            opt.param_groups[0]["lr"] = lr * 0.5 * (1 + np.cos(np.pi * progress))
            loss = mg.ops.cross_entropy(model(mg.tensor(x_train[idx])), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()
            if (step + 1) % 200 == 0:
                log(f"epoch {epoch + 1}/{epochs}  step {step + 1}/{steps_per_epoch}  "
                    f"loss {running / 200:.4f}  {time.perf_counter() - start:.0f}s")
                running = 0.0
    seconds = time.perf_counter() - start
    acc = accuracy(model, x_test, y_test)
    log(f"test accuracy {acc * 100:.2f}% on {len(x_test)} images after {epochs} epochs "
        f"on {len(x_train)} images, {seconds:.0f}s of training")
    return {"test_accuracy": acc, "seconds": seconds, "epochs": epochs, "train_size": len(x_train)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["mnist", "builtin"], default="mnist",
                        help="real MNIST from $MINIGAN_DATA, or the built-in glyph set")
    parser.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--train-subset", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        train(args.model, args.epochs, args.batch, args.lr, args.train_subset, args.seed, args.data)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

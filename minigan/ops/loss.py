"""log_softmax and cross-entropy, composed from differentiable ops."""
from __future__ import annotations

from ..autograd import Tensor
from .elementwise import exp, log
from .reduce import max, mean, sum
from .shape import getitem


def logsumexp(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    shift = max(x, axis, keepdims=True).detach()  # a constant: keeps exp() in range
    out = log(sum(exp(x - shift), axis, keepdims=True)) + shift
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(out.shape)
                                                  if i != axis % x.ndim))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return x - logsumexp(x, axis, keepdims=True)


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean negative log-likelihood of integer `labels` [N] under `logits` [N, K]."""
    labels = labels.data if isinstance(labels, Tensor) else labels
    xp = logits.xp
    labels = xp.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy needs logits [N, K] and labels [N], got "
                         f"{logits.shape} and {tuple(labels.shape)}")
    picked = getitem(log_softmax(logits, axis=1), (xp.arange(logits.shape[0]), labels))
    return -mean(picked)

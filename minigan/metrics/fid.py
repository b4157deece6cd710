"""Fréchet and kernel distances between two sets of features, in NumPy alone.

FID fits a Gaussian to each set and measures the Fréchet distance between the two:

    |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1^1/2 S2 S1^1/2)^1/2 )

The last trace is the sum of square roots of the eigenvalues of the symmetric PSD matrix
S1^1/2 S2 S1^1/2, so two symmetric eigendecompositions do (no scipy.linalg.sqrtm, no
complex parts to discard). FID is biased: it shrinks as the sample count grows, so only
compare figures at the same counts, and read each against the real-vs-real floor.

KID is the unbiased estimate of the squared MMD with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets; unbiased, so two samples of one
distribution give values scattered about 0 (negative ones included).
"""
from __future__ import annotations

import numpy as np


def _gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues -> 0)."""
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2)."""
    root1 = sqrtm_psd(cov1)
    middle = root1 @ cov2 @ root1                                             # symmetric PSD
    vals = np.linalg.eigvalsh((middle + middle.T) / 2)
    cross = np.sqrt(np.clip(vals, 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * cross, 0.0))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two feature sets [Na, D] and [Nb, D]."""
    if np.shape(features_a)[1:] != np.shape(features_b)[1:]:
        raise ValueError(f"feature sizes differ: {np.shape(features_a)} vs {np.shape(features_b)}")
    return frechet_distance(*_gaussian(features_a), *_gaussian(features_b))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of x [m, D] and y [n, D] under the cubic polynomial kernel."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of each set.

    subset_size is capped at the smaller set; the std is across subsets (the spread of one
    subset's estimate, not the error of the mean, which is smaller; 0 when the subsets are
    the whole sets).
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] with one D, got {a.shape} and {b.shape}")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if m == len(a) == len(b):
        subsets = 1                          # every "subset" would be the whole of both sets
    rng = np.random.default_rng(seed)
    values = [_mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))

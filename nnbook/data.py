r"""Data sets: small generated problems and scikit-learn's bundled digits.

Everything is generated from an explicit ``numpy.random.Generator`` (or read
from scikit-learn's package data): nothing is downloaded. Arrays are NumPy
float64 features and integer labels; move them with ``Backend.asarray``.

Label conventions: ``labels="01"`` gives {0, 1} (for logistic and softmax
losses), ``labels="pm1"`` gives {-1, +1} (for the perceptron).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import check_rng

__all__ = [
    "Split",
    "blobs",
    "digits",
    "moons",
    "separable",
    "spirals",
    "split",
    "xor",
]


def _labels(y01: np.ndarray, labels: str) -> np.ndarray:
    if labels == "01":
        return y01.astype(np.int64)
    if labels == "pm1":
        return (2.0 * y01 - 1.0)
    raise ValueError(f"labels must be '01' or 'pm1', got {labels!r}")


def _check_n(n, name="n"):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


def xor(n_per_corner: int = 1, noise: float = 0.0, *, rng=None, labels: str = "01"):
    r"""The XOR problem: corners of the square :math:`\{0,1\}^2`, class :math:`x_1 \oplus x_2`.

    ``n_per_corner=1, noise=0`` gives the four classic points; otherwise each
    corner gets a Gaussian cloud of standard deviation ``noise`` (needs ``rng``).

    Returns
    -------
    X : (4 n, 2) float64, y : (4 n,) labels
    """
    _check_n(n_per_corner, "n_per_corner")
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.repeat(corners, n_per_corner, axis=0)
    if noise:
        check_rng(rng)
        X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.array([0, 1, 1, 0]), n_per_corner)
    return X, _labels(y, labels)


def separable(n: int, margin: float, *, rng, dim: int = 2, radius: float = 1.0,
              labels: str = "pm1"):
    r"""Linearly separable points with a chosen margin.

    Points are drawn uniformly in the ball of radius ``radius`` around the
    origin; those closer than ``margin`` to the hyperplane :math:`w^{*\top} x = 0`
    are rejected, and the label is the side: :math:`y = \operatorname{sign}(w^{*\top} x)`.
    The direction :math:`w^*` is random.

    Returns
    -------
    X : (n, dim) float64, y : (n,) labels, w_star : (dim,) unit normal with
    margin :math:`\min_n y_n w^{*\top} x_n \ge` ``margin``.
    """
    _check_n(n)
    check_rng(rng)
    if not 0 <= margin < radius:
        raise ValueError(f"margin must lie in [0, radius={radius}), got {margin!r}")
    w_star = rng.standard_normal(dim)
    w_star /= np.linalg.norm(w_star)
    chunks, have = [], 0
    while have < n:
        m = 4 * (n - have) + 16
        d = rng.standard_normal((m, dim))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        r = radius * rng.uniform(size=(m, 1)) ** (1.0 / dim)   # uniform in the ball
        P = d * r
        keep = P[np.abs(P @ w_star) >= margin]
        chunks.append(keep)
        have += keep.shape[0]
    X = np.concatenate(chunks)[:n]
    y = (X @ w_star > 0).astype(np.int64)
    return X, _labels(y, labels), w_star


def blobs(n: int, *, rng, centers=((-1.0, -1.0), (1.0, 1.0)), std: float = 0.5,
          labels: str = "01"):
    """Gaussian clouds, one per center, ``n`` points in all (classes alternate)."""
    _check_n(n)
    check_rng(rng)
    centers = np.asarray(centers, dtype=float)
    y = np.arange(n) % centers.shape[0]
    X = centers[y] + std * rng.standard_normal((n, centers.shape[1]))
    if labels == "pm1" and centers.shape[0] != 2:
        raise ValueError("labels='pm1' needs exactly two centers")
    return X, (y.astype(np.int64) if labels == "01" else _labels(y, labels))


def moons(n: int, noise: float = 0.1, *, rng, labels: str = "01"):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), ``n`` points."""
    _check_n(n)
    check_rng(rng)
    n0 = n // 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n - n0)
    X = np.concatenate([np.c_[np.cos(t0), np.sin(t0)],
                        np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    X += noise * rng.standard_normal(X.shape)
    y = np.r_[np.zeros(n0), np.ones(n - n0)].astype(np.int64)
    return X, _labels(y, labels)


def spirals(n: int, n_classes: int = 2, noise: float = 0.2, *, rng, turns: float = 1.5):
    """Interleaved spiral arms, one per class (cs231n's classic), ``n`` points in all."""
    _check_n(n)
    check_rng(rng)
    y = np.arange(n) % n_classes
    r = rng.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (turns * r + y / n_classes) + noise * rng.standard_normal(n)
    X = np.c_[r * np.sin(theta), r * np.cos(theta)]
    return X, y.astype(np.int64)


@dataclass
class Split:
    """Train and test arrays (validation lives in the later chapters' splits)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def split(X, y, test_fraction: float = 0.2, *, rng) -> Split:
    """Random train/test split (a fresh permutation from ``rng``)."""
    check_rng(rng)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    perm = rng.permutation(len(X))
    n_test = round(test_fraction * len(X))
    te, tr = perm[:n_test], perm[n_test:]
    return Split(X[tr], y[tr], X[te], y[te])


def digits(*, rng, test_fraction: float = 0.2) -> Split:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes).

    Pixels are scaled from 0..16 to [0, 1]; images are flattened to 64 features.
    The file ships with scikit-learn: nothing is downloaded.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    return split(d.data / 16.0, d.target.astype(np.int64), test_fraction, rng=rng)

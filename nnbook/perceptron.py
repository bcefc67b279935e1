r"""Rosenblatt's perceptron and its learning rule.

The perceptron predicts :math:`\hat y = \operatorname{sign}(w^\top \phi(x))` with
labels :math:`y \in \{-1, +1\}`; a constant feature :math:`\phi_0(x) = 1` plays the
role of the bias. The learning rule visits the samples in turn and, on every
mistake (:math:`y\, w^\top\phi(x) \le 0`), adds the sample to the weights:

.. math::
    w \leftarrow w + \eta\, y\, \phi(x).

Novikoff (1962): if some unit vector :math:`w^*` separates the data with margin
:math:`\gamma = \min_n y_n {w^*}^\top \phi(x_n) > 0` and :math:`R = \max_n
\lVert\phi(x_n)\rVert`, the rule makes at most :math:`(R/\gamma)^2` mistakes,
whatever the order of the samples.

The implementation is exactly the sequential rule, but vectorised: between two
updates the weights do not change, so one matrix-vector product finds the next
misclassified sample in the visiting order. The Python loop runs over
*updates*, never over samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import check_array, check_rng, namespace, to_numpy

__all__ = [
    "PerceptronResult",
    "add_bias",
    "margin",
    "novikoff_bound",
    "perceptron_epoch",
    "perceptron_fit",
    "predict_sign",
]


def add_bias(X):
    r"""Prepend the constant feature: :math:`\phi(x) = (1, x_1, \dots, x_D)`.

    (N, D) -> (N, D + 1).
    """
    xp = check_array(X, "X", ndim=2)
    return xp.concat([xp.ones_like(X[:, :1]), X], axis=1)


def predict_sign(X, w):
    r""":math:`\operatorname{sign}(Xw)` with :math:`\operatorname{sign}(0) = +1`; (N, D), (D,) -> (N,)."""
    xp = namespace(X)
    return xp.where(X @ w >= 0, 1.0, -1.0)


def _check_pm1(y, n):
    xp = namespace(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must have shape ({n},), got {tuple(y.shape)}")
    if not bool(xp.all((y == 1) | (y == -1))):
        raise ValueError("y must contain only the labels -1 and +1")


@dataclass
class PerceptronResult:
    """What :func:`perceptron_fit` did.

    Attributes
    ----------
    w : (D,) array
        Final weights.
    weights : (U + 1, D) ndarray
        The weights before the first update and after each of the U updates.
    updated : (U,) ndarray of int
        Index of the sample behind each update, in order.
    mistakes_per_epoch : list of int
        Mistakes made during each pass over the data.
    converged : bool
        True if the last epoch made no mistake (the data are separated).
    """

    w: object
    weights: np.ndarray
    updated: np.ndarray
    mistakes_per_epoch: list
    converged: bool

    @property
    def n_updates(self) -> int:
        return int(self.updated.shape[0])

    @property
    def epochs(self) -> int:
        return len(self.mistakes_per_epoch)


def perceptron_fit(X, y, *, lr: float = 1.0, max_epochs: int = 100, rng=None,
                   w0=None) -> PerceptronResult:
    r"""Train a perceptron with Rosenblatt's rule until an epoch makes no mistake.

    Parameters
    ----------
    X : (N, D) float array
        Features :math:`\phi(x_n)`, the bias column included (see :func:`add_bias`).
    y : (N,) float array of -1 and +1
    lr : float
        Step :math:`\eta > 0` (with :math:`w_0 = 0` it only rescales :math:`w`).
    max_epochs : int
        Passes over the data before giving up (non-separable data never converge).
    rng : numpy.random.Generator, optional
        Visit the samples in a fresh random order every epoch; in index order if None.
    w0 : (D,) array, optional
        Initial weights (zeros by default).

    Returns
    -------
    PerceptronResult
    """
    xp = check_array(X, "X", ndim=2)
    N, D = X.shape
    check_array(y, "y", ndim=1)
    _check_pm1(y, N)
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs must be a positive int, got {max_epochs!r}")
    if rng is not None:
        check_rng(rng)
    if w0 is None:
        w = xp.zeros_like(X[0])
    else:
        check_array(w0, "w0", shape=(D,))
        w = w0 + 0.0  # a copy: never mutate the caller's array
    weights, updated, mistakes_per_epoch = [to_numpy(w).copy()], [], []
    converged = False
    for _ in range(max_epochs):
        order = np.arange(N) if rng is None else rng.permutation(N)
        w, hits, history = perceptron_epoch(X, y, w, lr, order)
        updated += hits
        weights += [to_numpy(v).copy() for v in history]
        mistakes_per_epoch.append(len(hits))
        if not hits:
            converged = True
            break
    return PerceptronResult(w, np.stack(weights), np.asarray(updated, dtype=np.int64),
                            mistakes_per_epoch, converged)


def perceptron_epoch(X, y, w, lr, order):
    r"""One pass of Rosenblatt's rule over the samples, visited in ``order``.

    Exactly the sequential rule: on every mistake :math:`y\,w^\top\phi(x) \le 0`,
    :math:`w \leftarrow w + \eta\, y\, \phi(x)`. Between two updates ``w`` is fixed,
    so one matrix-vector product finds the next mistake among all the samples
    left in this pass.

    Returns
    -------
    w : (D,) array, the weights after the pass
    updated : list of int, the samples that caused an update, in order
    history : list of (D,) arrays, the weights after each update
    """
    xp = namespace(X)
    Xo, yo = X[order], y[order]
    updated, history, pos = [], [], 0
    while pos < X.shape[0]:
        wrong = yo[pos:] * (Xo[pos:] @ w) <= 0    # mistakes among the rest, at once
        hits = xp.nonzero(wrong)[0]
        if hits.shape[0] == 0:
            break
        j = pos + int(hits[0])                    # the next mistake in visiting order
        w = w + lr * yo[j] * Xo[j]                # w <- w + eta y phi(x)
        updated.append(int(order[j]))
        history.append(w)
        pos = j + 1
    return w, updated, history


def margin(X, y, w) -> float:
    r"""Geometric margin :math:`\gamma = \min_n y_n w^\top x_n / \lVert w\rVert` (negative if w errs)."""
    xp = namespace(X)
    return float(xp.min(y * (X @ w)) / xp.linalg.vector_norm(w))


def novikoff_bound(X, y, w_star) -> float:
    r"""Novikoff's mistake bound :math:`(R/\gamma)^2` for a separating ``w_star``.

    :math:`R = \max_n \lVert x_n \rVert`, :math:`\gamma` the margin of ``w_star``.

    Raises
    ------
    ValueError
        If ``w_star`` does not separate the data (margin <= 0).
    """
    xp = check_array(X, "X", ndim=2)
    g = margin(X, y, w_star)
    if g <= 0:
        raise ValueError(f"w_star must separate the data (margin > 0), got margin {g:.3g}")
    R = float(xp.max(xp.linalg.vector_norm(X, axis=1)))
    return (R / g) ** 2

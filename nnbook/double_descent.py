r"""Double descent, on the smallest model that shows it: random-features regression.

A two-layer network whose first layer is random and fixed,
:math:`\phi(x) = \max(0, W x)` with :math:`W \in \mathbb{R}^{p \times d}` drawn
once, and whose second layer :math:`a \in \mathbb{R}^p` is fitted by least
squares on :math:`n` training points. Below :math:`p = n` the least-squares
problem has a unique solution; above it, infinitely many solutions interpolate
the training data, and we take the one of minimum norm,

.. math::
    \hat a = \Phi^{+} y, \qquad \Phi = \phi(X) \in \mathbb{R}^{n \times p},

(:math:`\Phi^+` the Moore-Penrose pseudo-inverse). The test error against
:math:`p` first follows the classical U, then peaks at the interpolation
threshold :math:`p \approx n`, where :math:`\Phi` is square and its smallest
singular values are tiny, and falls again beyond it (Belkin et al., 2019;
Nakkiran et al., 2020). A ridge penalty :math:`\lambda \lVert a\rVert^2`,
:math:`\hat a = (\Phi^\top\Phi + \lambda I)^{-1}\Phi^\top y`, damps the peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import check_array, check_int, check_real, check_rng, check_same_backend

__all__ = ["DoubleDescent", "fit_min_norm", "random_features", "random_features_sweep"]


def random_features(X, W):
    r"""ReLU random features :math:`\phi(x) = \max(0, W x)/\sqrt{p}` of every row of ``X``.

    Parameters
    ----------
    X : (N, d) float array
    W : (p, d) float array of the same library

    Returns
    -------
    (N, p) array
    """
    xp = check_array(X, "X", ndim=2)
    check_array(W, "W", ndim=2)
    check_same_backend(W, "W", X, "X")
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"W must have shape (p, {X.shape[1]}) to match X, got {tuple(W.shape)}")
    Z = X @ W.T
    return xp.maximum(Z, xp.zeros_like(Z)) / float(np.sqrt(W.shape[0]))


def fit_min_norm(Phi, y, ridge: float = 0.0):
    r"""Least squares :math:`\min_a \lVert \Phi a - y\rVert^2 + \lambda\lVert a\rVert^2`.

    With ``ridge`` :math:`\lambda = 0`: the minimum-norm least-squares solution
    :math:`\Phi^+ y` (unique below the threshold, the smallest interpolating
    one above it). With :math:`\lambda > 0`: the ridge solution, computed as
    :math:`\Phi^\top(\Phi\Phi^\top + \lambda I)^{-1} y` when :math:`p > n`.

    Parameters
    ----------
    Phi : (n, p) float array
    y : (n,) float array of the same library
    ridge : float >= 0

    Returns
    -------
    (p,) array
    """
    xp = check_array(Phi, "Phi", ndim=2)
    check_array(y, "y", ndim=1)
    check_same_backend(y, "y", Phi, "Phi")
    if y.shape[0] != Phi.shape[0]:
        raise ValueError(f"y must have shape ({Phi.shape[0]},) to match Phi, got {tuple(y.shape)}")
    ridge = check_real(ridge, "ridge", 0)
    if ridge == 0.0:
        return xp.linalg.pinv(Phi) @ y
    n, p = Phi.shape
    dev = getattr(Phi, "device", None)
    if p > n:
        K = Phi @ Phi.T + ridge * xp.eye(n, dtype=Phi.dtype, device=dev)
        return Phi.T @ xp.linalg.solve(K, y[:, None])[:, 0]
    G = Phi.T @ Phi + ridge * xp.eye(p, dtype=Phi.dtype, device=dev)
    return xp.linalg.solve(G, (Phi.T @ y)[:, None])[:, 0]


@dataclass
class DoubleDescent:
    """Errors of a random-features sweep; arrays of shape (len(ps),).

    ``test_mse`` and ``train_mse`` are medians over the repeats (the mean near the
    threshold is dominated by the rare draw with the smallest singular value).
    """

    ps: np.ndarray
    train_mse: np.ndarray
    test_mse: np.ndarray
    n_train: int

    @property
    def peak(self) -> int:
        """The number of features with the largest test error."""
        return int(self.ps[int(np.argmax(self.test_mse))])


def random_features_sweep(X_train, y_train, X_test, y_test, ps, *, rng, repeats: int = 5,
                          ridge: float = 0.0) -> DoubleDescent:
    """Fit random-features regression for every ``p`` in ``ps``; median errors over ``repeats`` draws.

    Each repeat draws :math:`W` with standard normal entries scaled by
    :math:`1/\\sqrt{d}` from ``rng``.

    Parameters
    ----------
    X_train : (n, d), y_train : (n,), X_test : (m, d), y_test : (m,) float arrays
    ps : sequence of int >= 1
    rng : numpy.random.Generator
    repeats : int >= 1
    ridge : float >= 0

    Returns
    -------
    DoubleDescent
    """
    xp = check_array(X_train, "X_train", ndim=2)
    check_array(X_test, "X_test", ndim=2)
    check_same_backend(X_test, "X_test", X_train, "X_train")
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test must have {X_train.shape[1]} columns like X_train, "
                         f"got shape {tuple(X_test.shape)}")
    for name, t, X in (("y_train", y_train, X_train), ("y_test", y_test, X_test)):
        check_array(t, name, ndim=1)
        if t.shape[0] != X.shape[0]:
            raise ValueError(f"{name} must have shape ({X.shape[0]},) to match its inputs, "
                             f"got {tuple(t.shape)}")
    check_rng(rng)
    repeats = check_int(repeats, "repeats", minimum=1)
    ps = [check_int(p, f"ps[{i}]", minimum=1) for i, p in enumerate(ps)]
    if not ps:
        raise ValueError("ps must list at least one number of features, got none")
    d = X_train.shape[1]
    dev = getattr(X_train, "device", None)
    train, test = [], []
    for p in ps:
        tr, te = [], []
        for _ in range(repeats):
            W = xp.asarray(rng.standard_normal((p, d)) / np.sqrt(d), dtype=X_train.dtype,
                           device=dev)
            Phi = random_features(X_train, W)
            a = fit_min_norm(Phi, y_train, ridge)
            tr.append(float(xp.mean((Phi @ a - y_train) ** 2)))
            te.append(float(xp.mean((random_features(X_test, W) @ a - y_test) ** 2)))
        train.append(np.median(tr))
        test.append(np.median(te))
    return DoubleDescent(ps=np.array(ps), train_mse=np.array(train), test_mse=np.array(test),
                         n_train=int(X_train.shape[0]))

"""Figures the chapters share, on matplotlib.

Every function draws on an ``ax`` (a new figure when none is given), gives it a
title and labelled axes, and returns the ``ax``. Inputs may be NumPy arrays or
torch tensors; they are converted with :func:`nnbook.backend.to_numpy`.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy

__all__ = ["decision_boundary", "separating_line", "training_curves", "weight_images",
           "pca_2d", "embedding", "CLASS_COLORS"]

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _ax(ax, figsize=(4.5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _scatter_classes(ax, X, y, size=18):
    X, y = to_numpy(X), to_numpy(y)
    classes = np.unique(y)
    for i, c in enumerate(classes):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, color=CLASS_COLORS[i % len(CLASS_COLORS)],
                   edgecolor="white", linewidth=0.5, label=f"class {c:g}", zorder=3)


def decision_boundary(predict, X, y, ax=None, *, title="Decision regions",
                      resolution: int = 200, padding: float = 0.5, xlabel="$x_1$",
                      ylabel="$x_2$", legend: bool = True):
    """Colour the plane by the predicted class and scatter the data on top.

    Parameters
    ----------
    predict : callable
        ``predict(P)`` for a (M, 2) NumPy float64 grid returns (M,) class labels
        (or scores whose sign is the class).
    X : (N, 2) array, y : (N,) labels
    """
    ax = _ax(ax)
    X = to_numpy(X)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[g0.ravel(), g1.ravel()]
    Z = to_numpy(predict(grid)).reshape(g0.shape)
    classes = np.unique(to_numpy(y))
    if set(np.unique(Z)) - set(classes):          # scores, not labels: threshold at 0
        Z = np.where(Z >= 0, classes[-1], classes[0])
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(len(classes))])
    idx = np.searchsorted(classes, Z)
    ax.contourf(g0, g1, idx, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap, alpha=0.25)
    _scatter_classes(ax, X, y)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
    if legend:
        ax.legend(loc="best", fontsize=8)
    return ax


def separating_line(w, ax, *, label=None, **kwargs):
    r"""Draw the line :math:`w_0 + w_1 x_1 + w_2 x_2 = 0` (bias first) across the axes."""
    w = to_numpy(w)
    if w.shape != (3,):
        raise ValueError(f"w must have shape (3,) (bias, w1, w2), got {w.shape}")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    if abs(w[2]) > abs(w[1]):
        xs = np.array([x0, x1])
        ys = -(w[0] + w[1] * xs) / w[2]
    else:
        ys = np.array([y0, y1])
        xs = -(w[0] + w[2] * ys) / w[1]
    ax.plot(xs, ys, label=label, **kwargs)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return ax


def training_curves(history, ax=None, *, title="Training curves", log: bool = False):
    """Training loss per epoch, and validation loss and accuracy if recorded."""
    ax = _ax(ax, figsize=(5, 3.5))
    ax.plot(history.epochs, history.loss, label="training loss", color=CLASS_COLORS[0])
    if history.val_loss:
        ax.plot(history.epochs, history.val_loss, label="validation loss",
                color=CLASS_COLORS[1])
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel="epoch", ylabel="loss")
    lines, labels = ax.get_legend_handles_labels()
    if history.val_acc:
        ax2 = ax.twinx()
        ax2.plot(history.epochs, history.val_acc, label="validation accuracy",
                 color=CLASS_COLORS[2], linestyle="--")
        ax2.set_ylabel("accuracy")
        ax2.set_ylim(0, 1.02)
        l2, lab2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lab2
    ax.legend(lines, labels, loc="center right", fontsize=8)
    return ax


def weight_images(W, shape, *, ncols: int = 8, n: int | None = None,
                  title="Weights of the first layer", fig=None):
    """Show the rows of a weight matrix (D_out, D_in) as images of ``shape``.

    Each image uses a symmetric colour scale around 0 (red positive, blue
    negative), so that a unit's preferred pattern reads at a glance.
    """
    import matplotlib.pyplot as plt

    W = to_numpy(W)
    if W.ndim != 2 or W.shape[1] != int(np.prod(shape)):
        raise ValueError(f"W must have shape (D_out, {int(np.prod(shape))}), got {W.shape}")
    n = W.shape[0] if n is None else min(n, W.shape[0])
    nrows = -(-n // ncols)
    if fig is None:
        fig = plt.figure(figsize=(1.1 * ncols, 1.1 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            img = W[i].reshape(shape)
            m = np.abs(img).max() or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-m, vmax=m)
            ax.set_title(f"unit {i}", fontsize=7)
    fig.suptitle(title)
    return fig


def pca_2d(H) -> np.ndarray:
    """Project the rows of H (N, D) on their first two principal components (N, 2)."""
    H = to_numpy(H)
    Hc = H - H.mean(axis=0)
    _, _, Vt = np.linalg.svd(Hc, full_matrices=False)
    P = Hc @ Vt[:2].T
    return P * np.where(P.sum(axis=0) >= 0, 1.0, -1.0)  # fix the sign: deterministic plots


def embedding(H, y, ax=None, *, title="Representation, first two principal components"):
    """Scatter a representation H (N, D) projected to 2-D by PCA, coloured by class."""
    ax = _ax(ax)
    P = pca_2d(H)
    _scatter_classes(ax, P, y, size=8)
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    ax.legend(loc="best", fontsize=6, markerscale=1.5, ncols=2)
    return ax

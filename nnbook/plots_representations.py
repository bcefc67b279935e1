"""Figures of what a hidden layer learns: weight changes and learned representations.

Every function draws on the figure or ``ax`` it is given (a new one when none
is) and returns it. Inputs may be NumPy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy
from .plots import _ax, scatter_classes, separating_line

__all__ = ["representation_plane", "weight_change_images"]


def weight_change_images(W_before, W_after, units, shape, *, firing=None, fig=None,
                         title="Incoming weights of hidden units"):
    r"""Rows of two weight matrices and their difference as images, on one colour scale.

    Three rows of tiles, one column per unit: the weights :math:`W_0` at
    initialisation, the trained weights :math:`W`, and the change
    :math:`\Delta W = W - W_0`. Every tile uses the *same* symmetric colour scale
    (red positive, blue negative, shown by one colour bar), so tiles can be
    compared: a faint tile is a small weight, not a rescaled one. Above each
    column: the unit, its relative change
    :math:`\lVert \Delta W_i\rVert / \lVert W_{0,i}\rVert` and, if given, its firing rate.

    Parameters
    ----------
    W_before, W_after : (D_out, D_in) arrays
    units : sequence of int
        The rows to show.
    shape : tuple
        Image shape, with ``prod(shape) == D_in``.
    firing : (D_out,) array, optional
        Fraction of inputs on which each unit is active (printed as a percentage).
    """
    import matplotlib.pyplot as plt

    W0, W1 = to_numpy(W_before), to_numpy(W_after)
    d_in = int(np.prod(shape))
    if W0.ndim != 2 or W0.shape != W1.shape or W0.shape[1] != d_in:
        raise ValueError(f"W_before and W_after must both have shape (D_out, {d_in}), "
                         f"got {W0.shape} and {W1.shape}")
    units = [int(u) for u in units]
    if not units or min(units) < 0 or max(units) >= W0.shape[0]:
        raise ValueError(f"units must be a non-empty list of rows in [0, {W0.shape[0]}), "
                         f"got {units}")
    dW = W1 - W0
    ratio = np.linalg.norm(dW, axis=1) / np.maximum(np.linalg.norm(W0, axis=1), 1e-300)
    rows = [("initial $W_0$", W0), ("trained $W$", W1), (r"change $\Delta W$", dW)]
    m = max(float(np.abs(W[units]).max()) for _, W in rows) or 1.0
    if fig is None:
        fig = plt.figure(figsize=(1.25 * len(units) + 1.4, 5.0), layout="constrained")
    axes = fig.subplots(3, len(units), squeeze=False)
    for r, (label, W) in enumerate(rows):
        for c, u in enumerate(units):
            ax = axes[r, c]
            im = ax.imshow(W[u].reshape(shape), cmap="RdBu_r", vmin=-m, vmax=m)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
            if r == 0:
                head = f"unit {u}\n" + r"$\|\Delta W\|/\|W_0\|$" + f" {ratio[u]:.2f}"
                if firing is not None:
                    head += f"\nfires on {100 * float(to_numpy(firing)[u]):.0f}%"
                ax.set_title(head, fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="weight (one scale for all tiles)")
    fig.suptitle(title)
    return fig


def representation_plane(H, y, ax=None, *, title="A 2-D representation", w=None,
                         xlabel="$h_1$", ylabel="$h_2$", padding: float = 0.15):
    r"""Scatter a two-dimensional representation H (N, 2), coloured by class.

    With ``w`` = :math:`(w_0, w_1, w_2)` (bias first), also draw the line
    :math:`w_0 + w_1 h_1 + w_2 h_2 = 0`: for a two-class softmax output layer,
    ``w`` is the difference of its two rows, the line where both logits are equal.
    """
    H = to_numpy(H)
    if H.ndim != 2 or H.shape[1] != 2:
        raise ValueError(f"H must have shape (N, 2), got {H.shape}")
    ax = _ax(ax)
    scatter_classes(ax, H, y, size=12)
    lo, hi = H.min(axis=0), H.max(axis=0)
    pad = padding * np.maximum(hi - lo, 1e-12)
    ax.set(xlim=(lo[0] - pad[0], hi[0] + pad[0]), ylim=(lo[1] - pad[1], hi[1] + pad[1]),
           title=title, xlabel=xlabel, ylabel=ylabel)
    if w is not None:
        separating_line(w, ax, color="black", linewidth=1.2, linestyle="--",
                        label="output layer: logits equal")
    ax.legend(loc="best", fontsize=7)
    return ax

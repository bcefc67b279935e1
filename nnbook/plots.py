"""Figures the chapters share, on matplotlib.

Every function draws on an ``ax`` (a new figure when none is given), gives it a
title and labelled axes, and returns the ``ax``. Inputs may be NumPy arrays or
torch tensors; they are converted with :func:`nnbook.backend.to_numpy`.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy

__all__ = [
    "CLASS_COLORS",
    "decision_boundary",
    "embedding",
    "network_graph",
    "neuron_diagram",
    "pca_2d",
    "perceptron_animation",
    "perceptron_step",
    "scatter_classes",
    "separating_line",
    "training_animation",
    "training_curves",
    "unrolled_rnn",
    "weight_images",
]

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _ax(ax, figsize=(4.5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def scatter_classes(ax, X, y, size=18):
    """Scatter 2-D points, one colour per class (``label`` "class c" for the legend)."""
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
    scatter_classes(ax, X, y)
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
    scatter_classes(ax, P, y, size=8)
    ax.set(title=title, xlabel="PC 1", ylabel="PC 2")
    ax.legend(loc="best", fontsize=6, markerscale=1.5, ncols=2)
    return ax


def perceptron_step(X, y, result, k: int, ax=None, *, title=None, legend: str | None = "best"):
    """The perceptron after its first ``k`` updates, on 2-D data with labels -1/+1.

    Draws the data, the decision line of the weights after ``k`` updates (bias
    first: ``w = (w_0, w_1, w_2)``), the line before the update (dashed) and the
    sample that caused it (circled). ``legend``: ``"best"`` inside the axes,
    ``"outside"`` to the right of them with every entry at every ``k`` (so the
    frames of an animation keep one layout), or None.
    """
    if legend not in ("best", "outside", None):
        raise ValueError(f"legend must be 'best', 'outside' or None, got {legend!r}")
    ax = _ax(ax)
    X, y = to_numpy(X), to_numpy(y)
    W = result.weights
    if not 0 <= k < W.shape[0]:
        raise ValueError(f"k must lie in [0, {W.shape[0] - 1}], got {k}")
    scatter_classes(ax, X, y)
    pad = 0.3 * (X.max() - X.min())
    ax.set_xlim(X[:, 0].min() - pad, X[:, 0].max() + pad)
    ax.set_ylim(X[:, 1].min() - pad, X[:, 1].max() + pad)
    if k > 0 and np.any(W[k - 1][1:]):
        separating_line(W[k - 1], ax, color="grey", linestyle="--", linewidth=1,
                        label="before the update")
    if np.any(W[k][1:]):
        separating_line(W[k], ax, color="black", linewidth=2, label="decision line")
    if k > 0:
        i = result.updated[k - 1]
        ax.scatter(*X[i], s=180, facecolor="none", edgecolor="black", linewidth=1.5,
                   label="misclassified sample", zorder=4)
    ax.set(title=title or f"after {k} update{'s' if k != 1 else ''}",
           xlabel="$x_1$", ylabel="$x_2$")
    if legend == "best":
        ax.legend(loc="best", fontsize=7)
    elif legend == "outside":
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], linestyle="", marker="o", markersize=4,
                          color=CLASS_COLORS[i], label=f"class {c:g}")
                   for i, c in enumerate(np.unique(y))]
        handles += [Line2D([], [], color="grey", linestyle="--", linewidth=1,
                           label="before the update"),
                    Line2D([], [], color="black", linewidth=2, label="decision line"),
                    Line2D([], [], linestyle="", marker="o", markersize=10,
                           markerfacecolor="none", markeredgecolor="black",
                           label="misclassified sample")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  fontsize=7)
    return ax


def perceptron_animation(X, y, result, *, interval: int = 700):
    """A matplotlib animation of :func:`perceptron_step`, one frame per update.

    ``perceptron_animation(...).to_jshtml()`` plays in a static web page, no
    kernel needed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")

    def frame(k):
        ax.clear()
        perceptron_step(X, y, result, k, ax, legend="outside")

    anim = FuncAnimation(fig, frame, frames=result.weights.shape[0], interval=interval)
    plt.close(fig)
    return anim


def network_graph(sizes, ax=None, *, labels=None, title="A feed-forward network",
                  skip=None, unit_text=None):
    """Draw a fully connected feed-forward network as a directed acyclic graph.

    Units are nodes (one column per layer), weights are edges. ``labels`` names
    the layers; ``skip=(i, j)`` adds an identity edge from layer i to layer j;
    ``unit_text[l][i]`` (a string) is written beside unit i of layer l.
    """
    from matplotlib.patches import Circle

    ax = _ax(ax, figsize=(6, 3.5))
    pos = []
    for k, n in enumerate(sizes):
        ys = np.linspace((n - 1) / 2, -(n - 1) / 2, n)          # unit 0 on top
        pos.append([(2.5 * k, float(y)) for y in ys])
    for k in range(len(sizes) - 1):
        for (x0, y0) in pos[k]:
            for (x1, y1) in pos[k + 1]:
                ax.annotate("", xy=(x1 - 0.15, y1), xytext=(x0 + 0.15, y0),
                            arrowprops=dict(arrowstyle="-|>", color="#999999", lw=0.6,
                                            shrinkA=0, shrinkB=0))
    if skip is not None:
        i, j = skip
        top = max(sizes) / 2 + 0.6
        ax.annotate("", xy=(2.5 * j, top - 0.4), xytext=(2.5 * i, top - 0.4),
                    arrowprops=dict(arrowstyle="-|>", color=CLASS_COLORS[1], lw=1.5,
                                    connectionstyle="arc3,rad=-0.25"))
        ax.text(2.5 * (i + j) / 2, top + 0.55, "identity (skip)", ha="center",
                color=CLASS_COLORS[1], fontsize=8)
    for k, layer in enumerate(pos):
        color = CLASS_COLORS[0] if 0 < k < len(sizes) - 1 else "#444444"
        for (x, y) in layer:
            ax.add_patch(Circle((x, y), 0.15, color=color, zorder=3))
    if unit_text is not None:
        for k, texts in enumerate(unit_text):
            for (x, y), text in zip(pos[k], texts, strict=True):
                ax.text(x, y + 0.22, text, ha="center", va="bottom", fontsize=8, zorder=4,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#cccccc", lw=0.5))
    names = labels or (["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"])
    for k, name in enumerate(names):
        ax.text(2.5 * k, -max(sizes) / 2 - 0.35, name, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.6, 2.5 * (len(sizes) - 1) + 0.6)
    ax.set_ylim(-max(sizes) / 2 - 0.9, max(sizes) / 2 + (1.4 if skip else 0.4))
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def unrolled_rnn(T: int = 4, ax=None, *, title="A recurrent network unrolled in time"):
    """Draw a recurrent cell unrolled over T steps: a feed-forward graph with shared weights."""
    from matplotlib.patches import FancyBboxPatch

    ax = _ax(ax, figsize=(7, 2.8))
    arrow = dict(arrowstyle="-|>", color="#555555", lw=1)
    for t in range(T):
        x = 1.6 * t
        ax.add_patch(FancyBboxPatch((x - 0.35, -0.3), 0.7, 0.6, boxstyle="round,pad=0.05",
                                    color=CLASS_COLORS[0], alpha=0.85))
        ax.text(x, 0, f"$h_{t + 1}$", ha="center", va="center", color="white", fontsize=11)
        ax.text(x, -1.25, f"$x_{t + 1}$", ha="center", va="center", fontsize=11)
        ax.text(x, 1.25, f"$\\hat y_{t + 1}$", ha="center", va="center", fontsize=11)
        ax.annotate("", xy=(x, -0.38), xytext=(x, -1.05), arrowprops=arrow)
        ax.annotate("", xy=(x, 1.05), xytext=(x, 0.38), arrowprops=arrow)
        ax.text(x + 0.08, -0.72, "$U$", fontsize=9)
        ax.text(x + 0.08, 0.62, "$V$", fontsize=9)
        if t < T - 1:
            ax.annotate("", xy=(x + 1.2, 0), xytext=(x + 0.43, 0), arrowprops=arrow)
            ax.text(x + 0.8, 0.12, "$W$", fontsize=9, ha="center")
    ax.annotate("", xy=(-0.43, 0), xytext=(-1.1, 0), arrowprops=arrow)
    ax.text(-1.2, 0, "$h_0$", ha="right", va="center", fontsize=11)
    ax.set_xlim(-1.8, 1.6 * (T - 1) + 0.8)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def training_animation(snapshots, X, y, *, interval: int = 400, resolution: int = 120):
    """Animate decision regions during training, one frame per snapshot.

    Parameters
    ----------
    snapshots : list of (epoch, loss, predict)
        ``predict(P)`` maps a (M, 2) grid to (M,) class labels, as for
        :func:`decision_boundary`; typically collected by a ``fit`` callback.
    X : (N, 2) array, y : (N,) labels

    Returns a matplotlib animation; ``.to_jshtml()`` plays without a kernel.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(4.6, 4), layout="constrained")

    def frame(i):
        ax.clear()
        epoch, loss, predict = snapshots[i]
        decision_boundary(predict, X, y, ax, resolution=resolution, legend=False,
                          title=f"epoch {epoch}: training loss {loss:.3f}")

    anim = FuncAnimation(fig, frame, frames=len(snapshots), interval=interval)
    plt.close(fig)
    return anim


def neuron_diagram(ax=None, *, title="An artificial neuron"):
    """Inputs, weights (synapses), a sum (soma) and a threshold (firing), as a diagram."""
    from matplotlib.patches import Circle, FancyBboxPatch

    ax = _ax(ax, figsize=(7, 3.2))
    arrow = dict(arrowstyle="-|>", color="#555555", lw=1.2)
    inputs = [("$1$", "$w_0 = b$"), ("$x_1$", "$w_1$"), ("$x_2$", "$w_2$"), ("$x_3$", "$w_3$")]
    ys = [1.5, 0.5, -0.5, -1.5]
    for (name, weight), y in zip(inputs, ys, strict=True):
        ax.add_patch(Circle((0, y), 0.22, color="#444444" if name != "$1$" else "#999999"))
        ax.text(0, y, name, color="white", ha="center", va="center", fontsize=11)
        ax.annotate("", xy=(2.62, 0.12 * y), xytext=(0.25, y), arrowprops=arrow)
        ax.text(1.3, 0.61 * y + 0.2, weight, ha="center", fontsize=10, color=CLASS_COLORS[1])
    ax.add_patch(Circle((3, 0), 0.4, color=CLASS_COLORS[0]))
    ax.text(3, 0, r"$\Sigma$", color="white", ha="center", va="center", fontsize=16)
    ax.annotate("", xy=(4.25, 0), xytext=(3.42, 0), arrowprops=arrow)
    ax.text(3.85, 0.15, "$z$", ha="center", fontsize=11)
    ax.add_patch(FancyBboxPatch((4.3, -0.45), 0.9, 0.9, boxstyle="round,pad=0.05",
                                color=CLASS_COLORS[0], alpha=0.9))
    ax.plot([4.42, 4.75, 4.75, 5.08], [-0.25, -0.25, 0.25, 0.25], color="white", lw=2)
    ax.annotate("", xy=(6.1, 0), xytext=(5.27, 0), arrowprops=arrow)
    ax.text(6.2, 0, r"$\hat y = \operatorname{sign}(z)$", va="center", fontsize=11)
    for x, text in [(1.2, "synapses:\nweighted inputs"), (3, "soma:\nsum"),
                    (4.75, "firing:\nthreshold")]:
        ax.text(x, -2.2, text, ha="center", va="top", fontsize=9, color="#444444")
    ax.text(3, 0.65, r"$z = \sum_i w_i x_i + b$", ha="center", fontsize=10)
    ax.set_xlim(-0.5, 8.2)
    ax.set_ylim(-2.9, 2.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return ax

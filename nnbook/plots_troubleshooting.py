"""Figures of the troubleshooting chapter: labelled images, broken and fixed loss curves,
the learning-rate range test, overfitting one batch, and double descent."""

from __future__ import annotations

import numpy as np

__all__ = ["bug_panels", "double_descent", "label_grid", "lr_range", "overfit_one_batch"]

BROKEN, FIXED = "tab:red", "tab:blue"


def label_grid(images, labels_a, labels_b, *, titles=("as loaded", "as trained on"), n: int = 8):
    """The first ``n`` images twice, captioned with two sets of labels (8 x 8 digits)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, n, figsize=(1.0 * n, 2.6))
    for row, (labels, title) in enumerate(zip((labels_a, labels_b), titles, strict=True)):
        for k in range(n):
            ax = axes[row, k]
            ax.imshow(np.asarray(images[k]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(str(int(labels[k])), fontsize=10)
        axes[row, 0].set_ylabel(title, fontsize=9)
    return fig


def bug_panels(runs: dict, *, ncols: int = 3, ylim=(1e-3, 1e2)):
    """One small panel per bug: the broken run (red) and the fixed one (blue).

    ``runs`` maps a panel title to ``(broken, fixed)``, two
    :class:`~nnbook.bugs.Curves`. Training loss solid, validation loss dashed,
    every panel on the same logarithmic loss axis; values beyond it (a run that
    diverged) are drawn at its top edge.
    """
    import matplotlib.pyplot as plt

    nrows = -(-len(runs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 2.35 * nrows),
                             sharey=True, squeeze=False)
    for ax, (title, (broken, fixed)) in zip(axes.flat, runs.items(), strict=False):
        for curves, color, name in ((broken, BROKEN, "broken"), (fixed, FIXED, "fixed")):
            ep = np.arange(len(curves.train_loss))
            tr = np.clip(np.asarray(curves.train_loss, float), *ylim)
            va = np.clip(np.asarray(curves.val_loss, float), *ylim)
            ax.plot(ep, tr, color=color, lw=1.6, label=f"{name}, training")
            ax.plot(ep, va, color=color, lw=1.2, ls="--", label=f"{name}, validation")
        ax.set(title=title, yscale="log", ylim=ylim)
        ax.title.set_fontsize(9.5)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("loss")
    for ax in list(axes.flat)[len(runs):]:
        ax.axis("off")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4)
    return fig


def lr_range(result, chosen: float, marks: dict | None = None, *, chance: float | None = None):
    """The range test: minibatch loss (grey) and its smoothed curve against the rate.

    ``chosen`` is drawn as a solid vertical line, ``marks`` (label -> rate) as
    dotted ones; ``chance`` (ln C) as a horizontal line.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    ax.plot(result.lrs, result.losses, color="0.75", lw=0.8, label="minibatch loss")
    ax.plot(result.lrs, result.smoothed, color="k", lw=1.6, label="smoothed")
    k = int(np.argmin(result.smoothed))
    ax.plot(result.lrs[k], result.smoothed[k], "o", color="k", ms=5, label="minimum")
    ax.axvline(chosen, color=FIXED, lw=1.5, label=f"chosen η = {chosen:.3g}")
    for (label, lr), color in zip((marks or {}).items(), (BROKEN, "tab:orange"), strict=False):
        ax.axvline(lr, color=color, lw=1.2, ls=":", label=f"{label} = {lr:.3g}")
    if chance is not None:
        ax.axhline(chance, color="gray", lw=0.8, ls="--", label="ln C")
    top = max(np.nanmax(result.smoothed[: k + 1]) * 1.6, 3.0)
    ax.set(xscale="log", xlabel="learning rate η", ylabel="loss", ylim=(0, top),
           title="Learning-rate range test")
    ax.legend(loc="lower left", fontsize=7.5)
    return fig


def overfit_one_batch(losses: dict, floors: dict | None = None):
    """Loss against step for several models on one small batch (log scale).

    ``losses`` maps a label to a (steps,) array; ``floors`` maps a label to a
    horizontal line (a loss the model cannot go below).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    colors = {0: FIXED, 1: BROKEN}
    for i, (label, values) in enumerate(losses.items()):
        ax.plot(np.arange(len(values)), np.maximum(values, 1e-6), color=colors.get(i),
                label=label)
    for label, v in (floors or {}).items():
        ax.axhline(v, color="gray", ls=":", lw=1.0)
        ax.text(len(next(iter(losses.values()))) * 0.98, v * 1.15, label, ha="right",
                fontsize=8, color="gray")
    ax.set(yscale="log", ylim=(1e-6, 10), xlabel="step (full batch)", ylabel="loss",
           title="Overfitting one batch")
    ax.legend(loc="lower left")
    return fig


def double_descent(sweeps: dict, n_train: int):
    """Test error (solid) and training error (dotted) against the number of features.

    ``sweeps`` maps a label to a :class:`~nnbook.double_descent.DoubleDescent`;
    the vertical line marks the interpolation threshold p = n.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    for (label, dd), color in zip(sweeps.items(), ("k", "tab:green", "tab:purple"),
                                  strict=False):
        ax.plot(dd.ps, dd.test_mse, color=color, marker="o", ms=3, label=f"test, {label}")
        ax.plot(dd.ps, np.maximum(dd.train_mse, 1e-4), color=color, ls=":",
                label=f"training, {label}")
    ax.axvline(n_train, color="gray", lw=0.8, ls="--")
    ax.text(n_train * 1.05, 0.9, f"p = n = {n_train}", color="gray", fontsize=8,
            transform=ax.get_xaxis_transform())
    ax.set(xscale="log", yscale="log", xlabel="number of random features p",
           ylabel="mean squared error", title="Double descent (random ReLU features)")
    ax.legend(loc="lower left", fontsize=8)
    return fig

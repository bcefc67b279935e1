"""Figures of the normalization chapter: which axes each normalization averages over,
learning-rate sweeps with and without batch norm, and power iteration converging."""

from __future__ import annotations

import numpy as np

__all__ = ["bn_explorer", "lr_sweep", "norm_axes", "power_iteration_errors", "training_curves_pair"]

PLAIN, BN = "tab:gray", "tab:blue"


def _cube_mask(kind: str, N: int, C: int, S: int, groups: int) -> np.ndarray:
    """Boolean (N, C, S) array: the values that share one mean and variance with x[0, 0, 0].

    Measured on nnbook's own layers, not written down: nudge the input x[0, 0, 0]
    and mark every output that moves (in a standardisation, exactly the values of
    the same group, since they share the group's mean and variance).
    """
    from .norm import BatchNorm, GroupNorm, LayerNorm

    layers = {"BatchNorm": lambda: BatchNorm(C, affine=False),
              "LayerNorm": lambda: LayerNorm((C, S), elementwise_affine=False),
              "InstanceNorm": lambda: GroupNorm(C, C, affine=False),
              "GroupNorm": lambda: GroupNorm(groups, C, affine=False)}
    if kind not in layers:
        raise ValueError(f"kind must be one of {sorted(layers)}, got {kind!r}")
    layer = layers[kind]()
    x = np.random.default_rng(0).normal(size=(N, C, S))
    nudged = x.copy()
    nudged[0, 0, 0] += 1e-3
    return np.abs(layer.forward(nudged) - layer.forward(x)) > 1e-12


def norm_axes(N: int = 4, C: int = 6, S: int = 5, groups: int = 3):
    """Four cubes N x C x (H·W): in blue, the values one mean and variance are taken over.

    The picture of Wu & He (2018, fig. 2), measured on nnbook's layers
    (:func:`_cube_mask`): batch norm shares a statistic across the batch for one channel, layer norm
    across all channels of one sample, instance norm one channel of one sample,
    group norm a group of channels of one sample.
    """
    import matplotlib.pyplot as plt

    kinds = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]
    fig = plt.figure(figsize=(10, 2.6))
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(1, 4, i + 1, projection="3d")
        mask = _cube_mask(kind, N, C, S, groups)
        colors = np.where(mask[..., None], np.array([0.12, 0.47, 0.71, 0.9]),
                          np.array([0.85, 0.85, 0.85, 0.25]))
        ax.voxels(np.ones((N, C, S), dtype=bool), facecolors=colors, edgecolor="k",
                  linewidth=0.2)
        ax.set_xlabel("N (batch)", labelpad=-10)
        ax.set_ylabel("C (channels)", labelpad=-10)
        ax.set_zlabel("H·W", labelpad=-12)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        ax.set_box_aspect((N, C, S))
        ax.view_init(elev=22, azim=-58)
        title = kind if kind != "GroupNorm" else f"GroupNorm ({groups} groups)"
        ax.set_title(title, pad=0)
    return fig


def lr_sweep(lrs, final_plain, final_bn, ax, *, ylabel="training loss after the last epoch",
             cap: float | None = None):
    """Final training loss against the learning rate, one marker per seed, mean as a line.

    ``final_plain``, ``final_bn``: (len(lrs), seeds) arrays; non-finite values (a
    diverged run) are drawn at ``cap`` with an x marker.
    """
    lrs = np.asarray(lrs, dtype=float)
    for values, color, label in [(final_plain, PLAIN, "without BatchNorm"),
                                 (final_bn, BN, "with BatchNorm")]:
        values = np.asarray(values, dtype=float)
        top = cap if cap is not None else np.nanmax(values[np.isfinite(values)])
        shown = np.where(np.isfinite(values), np.minimum(values, top), top)
        bad = ~np.isfinite(values) | (values > top)
        ax.plot(lrs, shown.mean(axis=1), color=color, label=label)
        for j in range(values.shape[1]):
            ok = ~bad[:, j]
            ax.scatter(lrs[ok], shown[ok, j], color=color, s=14)
            ax.scatter(lrs[~ok], shown[~ok, j], color=color, marker="x", s=30)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def training_curves_pair(hist_plain, hist_bn, ax, *, title: str = "", ymax: float = 2.5):
    """Training loss per epoch of two runs, without and with batch norm, on one axis range."""
    for hist, color, label in [(hist_plain, PLAIN, "without BatchNorm"),
                               (hist_bn, BN, "with BatchNorm")]:
        loss = np.asarray(hist.loss, dtype=float)
        loss = np.where(np.isfinite(loss), np.minimum(loss, ymax), ymax)
        ax.plot(np.arange(1, loss.size + 1), loss, color=color, marker="o", ms=3, label=label)
    ax.set_ylim(0, ymax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"training loss (clipped at {ymax:g})")
    ax.set_title(title)
    ax.legend()
    return ax


def power_iteration_errors(errors: dict, ax):
    """Relative error of the power-iteration estimate of sigma_1, per iteration, log scale.

    ``errors`` maps a label to a 1-D array of errors (iteration k at index k - 1).
    """
    for label, err in errors.items():
        err = np.maximum(np.asarray(err, dtype=float), 1e-16)
        ax.semilogy(np.arange(1, err.size + 1), err, marker="o", ms=3, label=label)
    ax.set_xlabel("power iterations")
    ax.set_ylabel(r"$|\hat\sigma - \sigma_1| / \sigma_1$")
    ax.legend()
    return ax


def bn_explorer(train, precomputed: dict, *, batch_size: int = 64):
    """Learning rate and batch size -> training curves with and without batch norm.

    Parameters
    ----------
    train : callable
        ``train(lr, batch_size, bn) -> History``: trains a fresh network.
    precomputed : dict
        ``{lr: (history_plain, history_bn)}`` at ``batch_size``: the frames of the
        kernel-free slider shown by the HTML book.

    Returns
    -------
    nnbook.widgets.Explorer
        Live in Jupyter and Colab (both sliders retrain); in the HTML book a slider
        over the precomputed learning rates.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, FloatLogSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    def figure(lr, bs, pair):
        fig, ax = plt.subplots(figsize=(6, 3.6))
        training_curves_pair(*pair, ax, title=f"learning rate {lr:g}, batch size {bs}")
        return fig

    def show(lr=0.3, batch_size=batch_size):
        figure(lr, batch_size, (train(lr, batch_size, False), train(lr, batch_size, True)))
        plt.show()

    live = interactive(show,
                       lr=FloatLogSlider(value=0.3, base=10, min=-2, max=0.5, step=0.25,
                                         description="learning rate"),
                       batch_size=Dropdown(options=[4, 16, 64, 256], value=batch_size,
                                           description="batch size"))
    lrs = sorted(precomputed)
    static = static_slider(lambda lr: figure(lr, batch_size, precomputed[lr]), lrs,
                           label="learning rate", name="bn-explorer", fmt="{:g}",
                           start=lrs.index(min(lrs, key=lambda v: abs(v - 0.3))),
                           alt="training loss per epoch with and without batch norm")
    return Explorer(live, static)

"""Figures of the dropout and regularization chapter: error curves, memorization,
dropout sweeps, the ensemble view, the optimism of choosing on the test set, and
an explorer of the drop probability."""

from __future__ import annotations

import numpy as np

__all__ = ["dropout_explorer", "dropout_sweep", "ensemble_convergence", "error_curves",
           "memorization", "selection_bias"]

TRAIN, VAL = "tab:blue", "tab:orange"


def error_curves(curves, ax, *, title: str = "", ylim=(0.0, 1.0), legend: bool = True):
    """Training and validation error per epoch from an :class:`~nnbook.regularization.ErrorCurves`."""
    epochs = np.arange(1, len(curves.train_error) + 1)
    ax.plot(epochs, curves.train_error, color=TRAIN, label="training error")
    ax.plot(epochs, curves.val_error, color=VAL, label="validation error")
    ax.set(title=title, xlabel="epoch", ylabel="error", ylim=ylim)
    if legend:
        ax.legend(loc="upper right")
    return ax


def memorization(true_curves, random_curves, *, chance: float = 0.9):
    """Two panels on one scale: the same network on true labels and on random labels."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    error_curves(true_curves, axes[0], title="true labels", legend=False)
    error_curves(random_curves, axes[1], title="random labels", legend=False)
    axes[0].legend(loc="center right")
    for ax in axes:
        ax.axhline(chance, color="gray", lw=0.8, ls=":")
    axes[0].text(0.98, chance + 0.02, "chance", color="gray", fontsize=8, ha="right",
                 transform=axes[0].get_yaxis_transform())
    return fig


def dropout_sweep(curves_by_p: dict, shown, summary: dict):
    """Error curves at a few drop probabilities (one scale) and the final numbers against p.

    ``summary`` maps a label to ``(ps, values)`` drawn in the last panel.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(shown) + 1, figsize=(3.2 * (len(shown) + 1), 3.2))
    top = max(max(c.val_error) for c in curves_by_p.values())
    for ax, p in zip(axes, shown, strict=False):
        error_curves(curves_by_p[p], ax, title=f"p = {p:g}", ylim=(0, min(1.0, 1.1 * top)),
                     legend=p == shown[0])
    ax = axes[-1]
    for (label, (ps, values)), marker in zip(summary.items(), "os^", strict=False):
        ax.plot(ps, values, marker=marker, label=label)
    ax.set(title="last 20 epochs (mean)", xlabel="drop probability p", ylabel="error",
           ylim=(0, min(1.0, 1.1 * top)))
    ax.legend()
    return fig


def ensemble_convergence(ks, gaps: dict, errors: dict, scaled_error: float):
    """Left: distance between the mask average and the scaled network; right: error vs masks."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for label, gap in gaps.items():
        a1.loglog(ks, gap, marker=".", label=label)
    a1.loglog(ks, gaps[next(iter(gaps))][0] / np.sqrt(np.asarray(ks)), color="gray", ls=":",
              lw=0.8, label=r"$\propto 1/\sqrt{K}$")
    a1.set(title="average of K masks vs scaled network", xlabel="number of masks K",
           ylabel="mean |difference| of logits")
    a1.legend()
    for label, err in errors.items():
        a2.semilogx(ks, err, marker=".", label=label)
    a2.axhline(scaled_error, color="k", lw=1, ls="--", label="scaled network (eval mode)")
    a2.set(title="validation error", xlabel="number of masks K", ylabel="error")
    a2.legend()
    return fig


def selection_bias(reported, fresh, honest_reported, honest_fresh, *, bins=30):
    """Histograms of (reported − fresh) accuracy when choosing on the test set vs on a validation set."""
    import matplotlib.pyplot as plt

    d_test = np.asarray(reported) - np.asarray(fresh)
    d_val = np.asarray(honest_reported) - np.asarray(honest_fresh)
    lo, hi = min(d_test.min(), d_val.min()), max(d_test.max(), d_val.max())
    edges = np.linspace(lo, hi, bins + 1)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(d_val, edges, alpha=0.6, label=f"chosen on validation (mean {d_val.mean():+.3f})")
    ax.hist(d_test, edges, alpha=0.6, label=f"chosen on test (mean {d_test.mean():+.3f})")
    ax.axvline(0, color="k", lw=0.8)
    ax.set(title="reported test accuracy minus accuracy on fresh data",
           xlabel="optimism of the reported accuracy", ylabel="repetitions")
    ax.legend()
    return fig


def dropout_explorer(train, precomputed: dict):
    """Drop probability -> training and validation error curves.

    Parameters
    ----------
    train : callable
        ``train(p) -> ErrorCurves``: trains a fresh network with drop probability p.
    precomputed : dict
        ``{p: ErrorCurves}``: the frames of the kernel-free slider in the HTML book.

    Returns
    -------
    nnbook.widgets.Explorer
    """
    import matplotlib.pyplot as plt
    from ipywidgets import FloatSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    top = min(1.0, 1.1 * max(max(c.val_error) for c in precomputed.values()))

    def figure(p, curves):
        fig, ax = plt.subplots(figsize=(6, 3.4))
        gap = curves.val_error[-1] - curves.train_error[-1]
        error_curves(curves, ax, ylim=(0, top),
                     title=f"p = {p:g}: final gap validation − training {gap:.3f}")
        return fig

    def show(p=0.5):
        figure(p, train(p))
        plt.show()

    live = interactive(show, p=FloatSlider(value=0.5, min=0.0, max=0.9, step=0.05,
                                           description="drop prob. p"))
    ps = sorted(precomputed)
    static = static_slider(lambda p: figure(p, precomputed[p]), ps, label="drop probability p",
                           name="dropout-explorer", fmt="{:g}",
                           start=ps.index(min(ps, key=lambda v: abs(v - 0.5))),
                           alt="training and validation error per epoch at the chosen "
                               "drop probability")
    return Explorer(live, static)

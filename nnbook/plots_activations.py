"""Figures of the chapter on activation functions, and its gradient-flow explorer.

Every drawing function takes an ``ax`` (a new figure when none is given), gives
it a title and labelled axes, and returns the ``ax``. The measurements behind
the figures live in :mod:`nnbook.activations`; this module only draws them (and,
for the explorer and its animation, builds the small networks it measures).
"""

from __future__ import annotations

import functools

import numpy as np

from .activations import layer_gradient_norms
from .backend import to_numpy
from .layers import ACTIVATIONS, mlp
from .losses import CrossEntropyLoss

__all__ = [
    "ACTIVATION_COLORS",
    "activation_curves",
    "dead_units_curves",
    "gradient_flow_explorer",
    "gradient_norms",
    "gradient_profile",
    "variant_comparison",
]

ACTIVATION_COLORS = {
    "sigmoid": "#9467bd", "tanh": "#ff7f0e", "relu": "#1f77b4", "leaky_relu": "#17becf",
    "prelu": "#2ca02c", "elu": "#d62728", "gelu": "#8c564b", "gelu_tanh": "#e377c2",
    "softplus": "#bcbd22", "maxout": "#7f7f7f", "identity": "#000000",
}


def _ax(ax, figsize=(5, 3.6)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def activation_curves(names, ax_f=None, ax_d=None, *, z=None):
    """Draw each activation ``g`` (on ``ax_f``) and its derivative ``g'`` (on ``ax_d``).

    The derivative is what the module's own ``backward`` returns for an upstream
    gradient of ones, so the figure shows the code, not a formula typed again.

    Parameters
    ----------
    names : list of str
        Keys of :data:`nnbook.layers.ACTIVATIONS`.
    ax_f, ax_d : matplotlib Axes, optional
    z : 1-D array, optional
        Where to evaluate (default 801 points on [-5, 5]).

    Returns
    -------
    (ax_f, ax_d)
    """
    z = np.linspace(-5, 5, 801) if z is None else np.asarray(z, dtype=float)
    ax_f, ax_d = _ax(ax_f), _ax(ax_d)
    Z = z[None, :]
    for name in names:
        layer = ACTIVATIONS[name]()
        g = to_numpy(layer.forward(Z))[0]
        dg = to_numpy(layer.backward(np.ones_like(Z)))[0]
        dg[1:][np.abs(np.diff(dg)) > 0.2] = np.nan     # no vertical line at a jump
        color = ACTIVATION_COLORS.get(name)
        ax_f.plot(z, g, color=color, label=name)
        ax_d.plot(z, dg, color=color, label=name)
    for ax, title, ylabel in ((ax_f, "Activations", "$g(z)$"),
                              (ax_d, "Derivatives", "$g'(z)$")):
        ax.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax.axvline(0, color="0.8", lw=0.8, zorder=0)
        ax.set(title=title, xlabel="pre-activation $z$", ylabel=ylabel)
        ax.legend(loc="upper left")
    return ax_f, ax_d


def gradient_norms(norms_by_name: dict, ax=None, *, title="Gradient norm per layer",
                   ylim=None, ylabel=r"$\Vert \partial L / \partial W_l \Vert$"):
    r"""Plot :math:`\lVert\partial L/\partial W_l\rVert` against the layer index, log scale.

    ``norms_by_name`` maps a label to the list of norms (first layer first), as
    :func:`nnbook.activations.layer_gradient_norms` returns them; ``ylabel``
    names the plotted quantity (the weight gradient by default).
    """
    ax = _ax(ax)
    for name, norms in norms_by_name.items():
        layers = np.arange(1, len(norms) + 1)
        ax.semilogy(layers, norms, "o-", ms=3.5, color=ACTIVATION_COLORS.get(name),
                    label=name)
    ax.set(title=title, xlabel="layer $l$ (1 = next to the input)",
           ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
    return ax


def dead_units_curves(counts_by_label: dict, total: int, ax=None, *,
                      title="Dead ReLU units during training"):
    """Plot the number of dead units after each epoch (epoch 0 is the initialisation)."""
    ax = _ax(ax)
    for label, counts in counts_by_label.items():
        ax.plot(np.arange(len(counts)), counts, "o-", ms=3.5, label=label)
    ax.axhline(total, color="0.6", ls="--", lw=1, label=f"all {total} units")
    ax.set(title=title, xlabel="epoch", ylabel="dead units (on the training set)",
           ylim=(0, total * 1.08))
    ax.legend()
    return ax


def variant_comparison(results: dict, axes=None, *, title="Activations compared",
                       chance=None):
    """Test accuracy and test loss of each activation: one dot per seed, a bar at the mean
    and a white diamond at the median.

    ``results`` maps a name to a dict with arrays ``"acc"`` and ``"loss"`` (one
    entry per seed). With ``chance`` (the accuracy of guessing, e.g. 1/3), a
    dashed line marks it, and the loss of the uniform guess, ``log(1/chance)``.
    Returns the two axes.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    names = list(results)
    y = np.arange(len(names))
    for ax, key, label in ((axes[0], "acc", "test accuracy"),
                           (axes[1], "loss", "test loss (cross-entropy)")):
        for i, name in enumerate(names):
            v = np.asarray(results[name][key], dtype=float)
            color = ACTIVATION_COLORS.get(name)
            ax.plot(v, np.full(v.shape, i), "o", ms=4, alpha=0.5, color=color)
            ax.plot([v.mean()], [i], "|", ms=16, mew=2.5, color=color)
            ax.plot([np.median(v)], [i], "d", ms=6, mfc="white", mew=1.5, color=color)
        if chance is not None:
            x0 = chance if key == "acc" else np.log(1 / chance)
            ax.axvline(x0, color="0.6", ls="--", lw=1)   # the caption names it
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set(xlabel=label, title=f"{title}: {label}")
        ax.grid(axis="x", color="0.9")
    return axes


# --------------------------------------------------------------------------
# The gradient-flow explorer: per-layer gradient norms of a deep MLP
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _digits_batch(n: int, seed: int):
    from . import data

    d = data.digits(rng=np.random.default_rng(seed))
    return d.X_train[:n], d.y_train[:n]


def gradient_profile(activation: str, depth: int, gain: float, *, width: int = 64,
                     n: int = 256, seed: int = 0) -> list:
    r"""Per-layer weight-gradient norms of a fresh deep MLP on a fixed batch of digits.

    The MLP is 64 - ``width`` x ``depth`` - 10 (``depth`` hidden layers, so every
    hidden layer has 64 inputs like the first), with weights drawn from
    :math:`\mathcal N(0, \text{gain}^2/\text{fan\_in})` (LeCun's variance times
    ``gain``), and softmax cross-entropy on ``n`` training images of
    :func:`nnbook.data.digits`. Returns ``depth + 1`` norms, first layer first.
    """
    from .init import lecun_normal

    X, y = _digits_batch(n, seed)
    init = functools.partial(lecun_normal, gain=gain)
    model = mlp([64] + [width] * depth + [10], activation,
                rng=np.random.default_rng(seed + 1), init=init)
    return layer_gradient_norms(model, CrossEntropyLoss(), X, y)


def _gradient_flow_figure(seed, activation, depth, gain):
    import matplotlib.pyplot as plt

    norms = gradient_profile(activation, depth, gain, seed=seed)
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    gradient_norms({activation: norms}, ax,
                   title=f"{activation}, {depth} hidden layers, weight scale {gain:.2f}")
    ax.set_ylim(1e-12, 1e4)
    return fig


def gradient_flow_explorer(seed: int = 0):
    """Choose the activation, the depth and the weight scale; see the gradient norm per layer.

    Returns a :class:`nnbook.widgets.Explorer` (display it as the last expression
    of a cell). Live, each change builds a fresh network and runs one forward and
    one backward pass (a few milliseconds); without a kernel, a slider steps through
    the activations at 10 hidden layers and weight scale 1.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, FloatLogSlider, IntSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    def show(activation="sigmoid", depth=10, gain=1.0):
        _gradient_flow_figure(seed, activation, depth, gain)
        plt.show()

    names = [a for a in ACTIVATIONS if a not in ("sign", "identity")]
    live = interactive(
        show,
        activation=Dropdown(options=names, value="sigmoid", description="activation"),
        depth=IntSlider(value=10, min=1, max=40, description="hidden layers"),
        gain=FloatLogSlider(value=1.0, base=10, min=-0.5, max=0.5, step=0.05,
                            description="weight scale"),
    )
    static = static_slider(lambda a: _gradient_flow_figure(seed, a, 10, 1.0), names,
                           label="activation", name=f"gradient-flow-{seed}",
                           start=names.index("sigmoid"),
                           alt="gradient norm per layer of a 10-layer network at initialisation")
    return Explorer(live, static)

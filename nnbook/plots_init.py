"""Figures of the chapter on initialisation: signals across depth, Jacobian spectra, weights.

Every function draws on the axes it is given (or new ones) and returns them;
:func:`gain_animation` returns a matplotlib animation and :func:`signal_explorer`
an ipywidgets demo whose default view is the static figure of the book.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import init as _init
from .signal import deep_mlp, signal_stats

__all__ = [
    "SCHEMES",
    "gain_animation",
    "gain_sweep",
    "signal_explorer",
    "signal_grid",
    "signal_panel",
    "singular_value_histograms",
    "weight_histograms",
]

# The five variances of the chapter: name -> (initialiser for tanh, for ReLU), style.
SCHEMES = {
    "too small: U(±1/√fan_in)": (_init.uniform_fan_in, _init.uniform_fan_in),
    "too large: N(0, 1)": (_init.normal(1.0), _init.normal(1.0)),
    "LeCun 1/fan_in": (_init.lecun_normal, _init.lecun_normal),
    "Xavier 2/(fan_in+fan_out)": (_init.xavier_normal, _init.xavier_normal),
    "He 2/fan_in": (_init.he_normal, _init.he_normal),
}
_STYLE = {
    "too small: U(±1/√fan_in)": dict(color="tab:blue", ls="-"),
    "too large: N(0, 1)": dict(color="tab:red", ls="-"),
    "LeCun 1/fan_in": dict(color="tab:green", ls="-", lw=2.5),
    "Xavier 2/(fan_in+fan_out)": dict(color="black", ls=(0, (3, 3)), lw=1.2),
    "He 2/fan_in": dict(color="tab:purple", ls="-"),
}


def _ax(ax, figsize=(5, 3.6)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _log_axis(ax, ylim):
    """Log scale with the limits ``ylim``; over a wide range, a tick every 10 decades."""
    ax.set_yscale("log")
    ax.set_ylim(*ylim)
    lo, hi = np.log10(ylim)
    if hi - lo > 30:
        ax.set_yticks(10.0 ** np.arange(np.ceil(lo / 10) * 10, hi + 1, 10))
        ax.minorticks_off()


def signal_panel(stats_by_name: dict, ax=None, *, which: str = "preact_std", title: str = "",
                 ylim=(1e-50, 1e50), styles: dict | None = None, legend: bool = False,
                 band: bool = True):
    r"""One panel: a per-layer statistic (``which``, a :class:`~nnbook.signal.SignalStats` field)
    against the layer index, on a log scale, one line per entry of ``stats_by_name``.

    With ``band``, a grey band from 0.1 to 10 marks "the signal keeps its size".
    """
    ax = _ax(ax)
    styles = styles or _STYLE
    for name, stats in stats_by_name.items():
        values = getattr(stats, which)
        layers = np.arange(1, len(values) + 1)
        ax.plot(layers, values, label=name, **styles.get(name, {}))
    if band:
        ax.axhspan(0.1, 10, color="0.9", zorder=0)
    _log_axis(ax, ylim)
    ax.set_xlabel("layer $l$")
    ax.set_title(title)
    if legend:
        ax.legend(loc="best")
    return ax


def signal_grid(results: dict, *, ylim=(1e-50, 1e50)):
    r"""A grid: one row per activation, forward :math:`\mathrm{std}(z_l)` left and
    backward :math:`\mathrm{std}(\delta_l)` right; every panel on the same log axis.

    ``results[activation][scheme] = SignalStats``. Returns the figure.
    """
    import matplotlib.pyplot as plt

    acts = list(results)
    fig, axes = plt.subplots(len(acts), 2, figsize=(10, 3.3 * len(acts)), sharex=True,
                             sharey=True, squeeze=False)
    for row, act in zip(axes, acts, strict=True):
        signal_panel(results[act], row[0], which="preact_std", ylim=ylim,
                     title=f"{act}: forward, std of $z_l$")
        signal_panel(results[act], row[1], which="grad_std", ylim=ylim,
                     title=rf"{act}: backward, std of $\delta_l = \partial L/\partial z_l$")
        row[0].set_ylabel("standard deviation")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return fig


def singular_value_histograms(spectra: dict, *, rtol: float = 1e-13, bins=None):
    r"""Histograms of :math:`\log_{10}` of Jacobian singular values, one panel per key.

    ``spectra[panel][label]`` is a ``(K, n)`` array of singular values, one row per
    Jacobian. Values below ``rtol`` times the largest of their row are not
    resolved by float64 (round-off, or the exact zeros of a rank-deficient
    Jacobian): they are counted in a separate bar at the left, in the grey
    "unresolved" strip. The bins have width 1/2 and one is centred on 0, so an
    exact isometry is one bar. All panels share the x range and the y scale
    (fraction of singular values per bin). Returns the figure.
    """
    import matplotlib.pyplot as plt

    bins = np.arange(-16.25, 2.3, 0.5) if bins is None else bins
    fig, axes = plt.subplots(1, len(spectra), figsize=(3.5 * len(spectra), 4.0),
                             sharex=True, sharey=True, squeeze=False)
    colors = ["tab:orange", "tab:blue", "tab:green"]
    for ax, (panel, by_label) in zip(axes[0], spectra.items(), strict=True):
        for color, (label, sv) in zip(colors, by_label.items(), strict=False):
            sv = np.atleast_2d(sv)
            floor = rtol * sv.max(axis=1, keepdims=True)
            logs = np.where(sv < floor, bins[0] + 0.25,
                            np.log10(np.maximum(sv, floor))).ravel()
            weights = np.full(logs.shape, 1.0 / logs.size)
            ax.hist(logs, bins=bins, weights=weights, histtype="stepfilled", alpha=0.45,
                    color=color, label=label)
        ax.axvspan(bins[0], bins[1], color="0.85", zorder=0)
        ax.axvline(0.0, color="0.3", lw=0.8, ls=":")
        ax.set_title(panel)
        ax.set_xlabel(r"$\log_{10}$ singular value of $J$")
        ax.legend(loc="upper center", fontsize=7)
    axes[0, 0].text(bins[0] + 0.6, 1.0, "unresolved by float64\n(exact 0 for ReLU)",
                    fontsize=7, va="top", rotation=90)
    axes[0, 0].set_ylabel("fraction of singular values")
    axes[0, 0].set_ylim(0, 1.15)
    return fig


def weight_histograms(samples: dict, ax=None, *, bins: int = 60):
    """Overlaid density histograms of weight samples (``label -> array``)."""
    ax = _ax(ax)
    for label, w in samples.items():
        ax.hist(np.ravel(w), bins=bins, density=True, histtype="step", lw=1.5, label=label)
    ax.set_xlabel("weight value")
    ax.set_ylabel("density")
    ax.legend(loc="upper right")
    return ax


def gain_sweep(gains, activations=("tanh", "relu"), *, width: int = 64, depth: int = 50,
               batch: int = 64, seed: int = 0) -> dict:
    r"""Signal statistics for :math:`\operatorname{Var}(w) = g^2/\text{fan\_in}`, one network per gain.

    Returns ``stats[activation][i]``, the :class:`~nnbook.signal.SignalStats` of a
    bias-free ``depth``-layer network with gain ``gains[i]``, on a standard normal
    batch drawn from ``seed``. Every gain uses the same random draws (the same
    ``rng`` seed), rescaled, so the frames differ only by the scale.
    """
    X = np.random.default_rng(seed).standard_normal((batch, width))
    out = {}
    for act in activations:
        out[act] = [signal_stats(deep_mlp(width, depth, act, partial(_init.lecun_normal, gain=g),
                                          rng=np.random.default_rng(seed + 1)),
                                 X, rng=np.random.default_rng(seed + 2)) for g in gains]
    return out


def gain_animation(gains=None, *, stats=None, activations=("tanh", "relu"), width: int = 64,
                   depth: int = 50, batch: int = 64, seed: int = 0, interval: int = 500,
                   ylim=(1e-25, 1e25)):
    r"""An animation over the weight scale :math:`\operatorname{Var}(w) = g^2/\text{fan\_in}`.

    One frame per gain :math:`g`: the forward std of :math:`z_l` and the backward
    std of :math:`\delta_l` across ``depth`` layers, for each activation. Every
    frame is computed in advance (or passed as ``stats``, the result of
    :func:`gain_sweep` for the same ``gains``), so ``anim.to_jshtml()`` plays
    without a kernel.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    gains = np.round(np.linspace(0.5, 2.5, 21), 2) if gains is None else np.asarray(gains)
    if stats is None:
        stats = gain_sweep(gains, activations, width=width, depth=depth, batch=batch,
                           seed=seed)
    depth = stats[activations[0]][0].depth
    fig, axes = plt.subplots(1, len(activations), figsize=(9.5, 3.6), sharey=True,
                             squeeze=False)
    layers = np.arange(1, depth + 1)
    lines = []
    for ax, act in zip(axes[0], activations, strict=True):
        f, = ax.plot(layers, stats[act][0].preact_std, color="tab:blue",
                     label=r"forward: std of $z_l$")
        b, = ax.plot(layers, stats[act][0].grad_std, color="tab:red",
                     label=r"backward: std of $\delta_l$")
        lines.append((f, b))
        ax.axhspan(0.1, 10, color="0.9", zorder=0)
        ax.set_yscale("log")
        ax.set_ylim(*ylim)
        ax.set_xlabel("layer $l$")
        ax.legend(loc="lower left")
    axes[0, 0].set_ylabel("standard deviation")

    def frame(i):
        for ax, act, (f, b) in zip(axes[0], activations, lines, strict=True):
            f.set_ydata(stats[act][i].preact_std)
            b.set_ydata(stats[act][i].grad_std)
            ax.set_title(rf"{act}, Var$(w) = {gains[i]:.2f}^2/$fan_in")
        return [ln for pair in lines for ln in pair]

    frame(0)
    anim = FuncAnimation(fig, frame, frames=len(gains), interval=interval, blit=False)
    plt.close(fig)
    return anim


def signal_explorer(width: int = 64, batch: int = 64, seed: int = 0):
    """Sliders for depth, activation and initialisation; draws the per-layer statistics.

    Returns a :class:`nnbook.widgets.Explorer` (display it as the last expression
    of a cell). Live, each change builds a fresh bias-free network and measures
    the standard deviation of the pre-activations (forward) and of the error
    signal (backward) at every layer; without a kernel, its slider steps through
    the initialisation schemes for a 50-layer tanh network.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, FloatLogSlider, IntSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    X = np.random.default_rng(seed).standard_normal((batch, width))
    options = {**{name: fns[0] for name, fns in SCHEMES.items()},
               "orthogonal": _init.orthogonal,
               "orthogonal, gain √2": partial(_init.orthogonal, gain=np.sqrt(2.0))}

    def figure(depth=50, activation="tanh", scheme="LeCun 1/fan_in", scale=1.0):
        base = options[scheme]

        def scaled(shape, fan_in, fan_out, rng):
            return scale * base(shape, fan_in, fan_out, rng)

        model = deep_mlp(width, depth, activation, scaled, rng=np.random.default_rng(seed + 1))
        stats = signal_stats(model, X, rng=np.random.default_rng(seed + 2))
        fig, ax = plt.subplots(figsize=(6, 3.6))
        styles = {"forward: std of $z_l$": dict(color="tab:blue"),
                  r"backward: std of $\delta_l$": dict(color="tab:red")}
        for label, values in ((r"forward: std of $z_l$", stats.preact_std),
                              (r"backward: std of $\delta_l$", stats.grad_std)):
            ax.plot(np.arange(1, depth + 1), values, label=label, **styles[label])
        ax.axhspan(0.1, 10, color="0.9", zorder=0)
        ax.set_yscale("log")
        ax.set_ylim(1e-25, 1e25)
        ax.set_xlabel("layer $l$")
        ax.set_ylabel("standard deviation")
        ax.set_title(f"{activation}, {scheme}, weights x {scale:.2f}")
        ax.legend(loc="lower left")
        return fig

    def show(depth=50, activation="tanh", scheme="LeCun 1/fan_in", scale=1.0):
        figure(depth, activation, scheme, scale)
        plt.show()

    live = interactive(
        show,
        depth=IntSlider(value=50, min=2, max=100, description="depth"),
        activation=Dropdown(options=["tanh", "relu", "identity", "sigmoid"], value="tanh",
                            description="activation"),
        scheme=Dropdown(options=list(options), value="LeCun 1/fan_in", description="init"),
        scale=FloatLogSlider(value=1.0, base=10, min=-0.5, max=0.5, step=0.05,
                             description="scale"),
    )
    names = list(options)
    static = static_slider(lambda name: figure(scheme=name), names, label="init",
                           name=f"signal-explorer-{seed}", start=names.index("LeCun 1/fan_in"),
                           alt="per-layer standard deviations of a 50-layer tanh network")
    return Explorer(live, static)

r"""Figures of optimisation: paths on 2-D landscapes, loss curves, schedules, and the two
interactive figures of the chapter on SGD and momentum.

* :func:`optimizer_path` runs any nnbook optimiser on a 2-D test function (its
  gradient from :mod:`nnbook.landscapes`) and returns the path;
* :func:`momentum_panels` draws the momentum explorer's view: a path on a quadratic
  of condition number :math:`\kappa` and its loss curve; :func:`momentum_explorer`
  is the live widget, :func:`momentum_animation` its kernel-free version (one frame
  per momentum :math:`\beta`, a slider in the static page via ``to_jshtml``);
* :func:`race_panels`, :func:`race_animation`, :func:`race_explorer`: several
  optimisers on one landscape, step by step.

Every function draws on given axes (new ones when none are given), titles and
labels them, and returns the axes (or the figure / animation / widget). Compared
panels share one scale.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy
from .landscapes import Objective, Quadratic
from .layers import Parameter
from .plots_landscape import objective_contour

__all__ = ["RACE_COLORS", "default_racers", "loss_curves", "momentum_animation", "momentum_explorer",
           "momentum_panels", "optimizer_path", "paths_on_contour", "race_animation",
           "race_explorer", "race_panels", "schedule_curves"]

RACE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _ax(ax, figsize=(5.0, 3.6)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def optimizer_path(f: Objective, make_optimizer, x0, steps: int) -> np.ndarray:
    """Run an optimiser on a test function from ``x0``; return the (steps + 1, d) path.

    Parameters
    ----------
    f : Objective
    make_optimizer : callable
        ``make_optimizer([param]) -> Optimizer``, e.g.
        ``lambda p: nnbook.SGD(p, lr=0.01, momentum=0.9)``.
    x0 : (d,) array-like
    steps : int

    Returns
    -------
    (steps + 1, d) NumPy array; once a step overflows the rest is NaN.
    """
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != (f.dim,):
        raise ValueError(f"x0 must have shape ({f.dim},), got {x0.shape}")
    p = Parameter(x0.copy(), "x")
    opt = make_optimizer([p])
    path = np.full((steps + 1, f.dim), np.nan)
    path[0] = x0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            p.grad = to_numpy(f.gradient(p.data))
            opt.step()
            if not np.all(np.isfinite(p.data)) or np.max(np.abs(p.data)) > 1e6:
                break
            path[k + 1] = p.data
    return path


def paths_on_contour(f: Objective, paths: dict, ax=None, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0),
                     levels=20, log: bool = False, title=None, colors=None, upto=None,
                     legend: bool = True):
    """Contours of ``f`` with one path per entry of ``paths`` (name -> (T, 2) array).

    ``upto`` draws only the first ``upto`` steps of each path (for animations).
    """
    ax = _ax(ax, figsize=(4.6, 4.0))
    objective_contour(f, ax, xlim=xlim, ylim=ylim, levels=levels, log=log, title=title,
                      legend=False)
    colors = colors or RACE_COLORS
    for (name, path), c in zip(paths.items(), colors, strict=False):
        p = np.asarray(path)[: None if upto is None else upto + 1]
        ax.plot(p[:, 0], p[:, 1], "-o", color=c, ms=2.5, lw=1.2, label=name)
        ax.plot(p[-1, 0], p[-1, 1], "o", color=c, ms=6, mec="black", mew=0.6)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    if legend:
        ax.legend(loc="lower right", frameon=True, framealpha=0.85)
    return ax


def loss_curves(curves: dict, ax=None, *, x=None, log: bool = True, xlabel="step",
                ylabel="loss", title="", ylim=None, colors=None, styles=None):
    """One line per entry of ``curves`` (name -> sequence), on a log axis by default."""
    ax = _ax(ax)
    colors = colors or RACE_COLORS
    for i, (name, y) in enumerate(curves.items()):
        y = np.asarray(y, dtype=float)
        xs = np.arange(len(y)) if x is None else (x[name] if isinstance(x, dict) else x)
        ax.plot(xs, y, color=colors[i % len(colors)], lw=1.5, label=name,
                ls=(styles or {}).get(name, "-"))
    if log:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=True, framealpha=0.85)
    return ax


def schedule_curves(schedules: dict, steps: int, ax=None, *, title="Learning-rate schedules"):
    """The rate of each schedule (name -> :class:`~nnbook.schedules.LRScheduler`) over ``steps``."""
    ax = _ax(ax, figsize=(6.0, 3.4))
    for i, (name, s) in enumerate(schedules.items()):
        ax.plot(np.arange(steps), s.rates(steps), color=RACE_COLORS[i % len(RACE_COLORS)],
                lw=1.5, label=name)
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"learning rate $\eta_t$")
    ax.set_title(title)
    ax.legend(frameon=True, framealpha=0.85, fontsize=7)
    return ax


# ---------------------------------------------------------------- momentum explorer

def _bowl(kappa):
    return Quadratic.with_condition_number(float(kappa), angle=np.pi / 6)


def _momentum_run(kappa, lr, momentum, steps, nesterov=False, x0=(-1.8, 1.2)):
    from .quadratic_rates import descend

    q = _bowl(kappa)
    path = descend(q.A, x0, lr, steps, momentum=momentum, nesterov=nesterov and momentum > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = 0.5 * np.einsum("ti,ij,tj->t", path, q.A, path)
    return q, path, loss


def momentum_panels(kappa: float = 30.0, lr: float | None = None, momentum: float = 0.9,
                    steps: int = 60, *, nesterov: bool = False, axes=None, loss_ylim=(1e-8, 1e3)):
    r"""The momentum explorer's view: the path on a 2-D quadratic and its loss per step.

    The quadratic has eigenvalues 1 and :math:`\kappa` (axes rotated by 30°).
    ``lr=None`` takes gradient descent's optimal step :math:`2/(1+\kappa)`.
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    if lr is None:
        lr = 2.0 / (1.0 + kappa)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), layout="constrained")
    fig = axes[0].figure
    q, path, loss = _momentum_run(kappa, lr, momentum, steps, nesterov)
    _, gd_path, gd_loss = _momentum_run(kappa, lr, 0.0, steps)
    kind = "Nesterov" if nesterov and momentum > 0 else "heavy ball"
    paths_on_contour(q, {"gradient descent": gd_path, f"{kind}, β = {momentum:.2f}": path},
                     axes[0], levels=np.geomspace(0.01, 30, 12), xlim=(-2.2, 2.2),
                     ylim=(-2.2, 2.2), title=f"κ = {kappa:g}, η = {lr:.3g}")
    loss_curves({"gradient descent": gd_loss, f"{kind}, β = {momentum:.2f}": loss}, axes[1],
                ylim=loss_ylim, title="loss $f(x_k)$")
    return fig


def momentum_animation(kappa: float = 30.0, lr: float | None = None, betas=None,
                       steps: int = 60, *, interval: int = 400, dpi: int = 72):
    r"""Animate :func:`momentum_panels` over the momentum ``betas`` (one frame each).

    ``.to_jshtml()`` gives a page with a slider and play buttons that needs no kernel;
    its frames are PNGs at ``dpi``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    betas = np.round(np.linspace(0.0, 0.95, 20), 2) if betas is None else np.asarray(betas)
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), layout="none", dpi=dpi)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.28)  # fixed: fast

    def frame(i):
        for ax in axes:
            ax.clear()
        momentum_panels(kappa, lr, float(betas[i]), steps, axes=axes)

    anim = FuncAnimation(fig, frame, frames=len(betas), interval=interval)
    plt.close(fig)
    return anim


def _fast_pair(figsize, dpi):
    """Two panels with a fixed layout (much faster to draw many times than constrained)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=figsize, layout="none", dpi=dpi)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.28)
    return fig, axes


def momentum_explorer(kappa: float = 30.0, steps: int = 60,
                      betas=(0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95), *, dpi: int = 72):
    """The momentum explorer: live sliders for κ, the step size, β and Nesterov.

    Returns a :class:`~nnbook.widgets.Explorer` (display it as the last expression of
    a cell): the live widget in Jupyter and Colab, and in the HTML book a slider over
    ``betas`` (at κ = ``kappa`` and gradient descent's optimal step) that moves
    through precomputed figures without a kernel.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Checkbox, FloatSlider, SelectionSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    def show(kappa=kappa, lr_factor=1.0, momentum=0.9, nesterov=False):
        momentum_panels(kappa, lr_factor * 2.0 / (1.0 + kappa), momentum, steps,
                        nesterov=nesterov)
        plt.show()

    live = interactive(
        show,
        kappa=SelectionSlider(options=sorted({1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0,
                                              float(kappa)}),
                              value=float(kappa), description="κ"),
        lr_factor=FloatSlider(value=1.0, min=0.1, max=1.2, step=0.05,
                              description="η / η_opt"),
        momentum=FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β"),
        nesterov=Checkbox(value=False, description="Nesterov"))

    def draw(beta):
        fig, axes = _fast_pair((8.6, 3.8), dpi)
        momentum_panels(kappa, None, float(beta), steps, axes=axes)
        return fig

    betas = [float(b) for b in betas]
    static = static_slider(draw, betas, label="β", name="momentum-explorer", fmt="{:.2f}",
                           start=len(betas) // 2,
                           alt=f"gradient descent and heavy ball on a quadratic with "
                               f"condition number {kappa:g}, and their loss per step")
    return Explorer(live, static)


# ---------------------------------------------------------------- optimiser race

def race_panels(f: Objective, paths: dict, *, upto=None, axes=None, xlim=(-2.0, 2.0),
                ylim=(-1.0, 3.0), loss_ylim=(1e-6, 1e3), log_levels=True):
    """Left: the paths on ``f``'s contours; right: :math:`f` along each path. Returns the figure."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.9), layout="constrained")
    fig = axes[0].figure
    paths_on_contour(f, paths, axes[0], xlim=xlim, ylim=ylim, log=log_levels, levels=18,
                     title=f.name if upto is None else f"{f.name}, step {upto}", upto=upto,
                     legend=False)
    n = max(len(p) for p in paths.values()) - 1
    losses = {}
    for name, p in paths.items():
        with np.errstate(over="ignore", invalid="ignore"):
            values = to_numpy(f.value(np.asarray(p)[: None if upto is None else upto + 1]))
        losses[name] = np.where(np.isfinite(values), values, np.nan)
    loss_curves(losses, axes[1], ylim=loss_ylim, title="$f$ along the path")
    axes[1].set_xlim(0, n)
    return fig


def race_animation(f: Objective, paths: dict, *, frames=None, interval: int = 200,
                   dpi: int = 72, **kw):
    """Animate :func:`race_panels` step by step (``frames``: the step counts shown; PNGs at ``dpi``)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    n = max(len(p) for p in paths.values()) - 1
    frames = list(range(0, n + 1, max(1, n // 40))) if frames is None else list(frames)
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.9), layout="none", dpi=dpi)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.28)  # fixed: fast

    def frame(i):
        for ax in axes:
            ax.clear()
        race_panels(f, paths, upto=frames[i], axes=axes, **kw)

    anim = FuncAnimation(fig, frame, frames=len(frames), interval=interval)
    plt.close(fig)
    return anim


def default_racers(lr_sgd=1e-3, lr_momentum=2e-4, beta=0.9, lr_adam=0.05, lr_rmsprop=0.01):
    """The race's five optimisers: name -> ``make_optimizer([param])``."""
    from . import adaptive
    from .optim import SGD

    return {
        f"SGD, η = {lr_sgd:.2g}": lambda p: SGD(p, lr=lr_sgd),
        f"heavy ball, η = {lr_momentum:.2g}, β = {beta:.2f}":
            lambda p: SGD(p, lr=lr_momentum, momentum=beta),
        f"Nesterov, η = {lr_momentum:.2g}, β = {beta:.2f}":
            lambda p: SGD(p, lr=lr_momentum, momentum=beta, nesterov=True),
        f"RMSProp, η = {lr_rmsprop:.2g}": lambda p: adaptive.RMSprop(p, lr=lr_rmsprop),
        f"Adam, η = {lr_adam:.2g}": lambda p: adaptive.Adam(p, lr=lr_adam),
    }


def race_explorer(f: Objective, x0=(-1.5, 2.0), steps: int = 500,
                  frames=(0, 10, 25, 50, 100, 250, 500), *, dpi: int = 72):
    """The optimiser race on ``f``: live log-sliders for each learning rate and β.

    Returns a :class:`~nnbook.widgets.Explorer`: the live widget in Jupyter and
    Colab, and in the HTML book a slider over the step count (``frames``) of the
    default race (:func:`default_racers`), precomputed, that needs no kernel.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import FloatLogSlider, FloatSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    def show(lr_sgd=1e-3, lr_momentum=2e-4, beta=0.9, lr_adam=0.05, lr_rmsprop=0.01):
        racers = default_racers(lr_sgd, lr_momentum, beta, lr_adam, lr_rmsprop)
        paths = {k: optimizer_path(f, m, x0, steps) for k, m in racers.items()}
        race_panels(f, paths)
        plt.show()

    def log_slider(value, description):
        return FloatLogSlider(value=value, base=10, min=-5, max=0, step=0.1,
                              description=description)

    live = interactive(show, lr_sgd=log_slider(1e-3, "η SGD"),
                       lr_momentum=log_slider(2e-4, "η momentum"),
                       beta=FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β"),
                       lr_adam=log_slider(0.05, "η Adam"), lr_rmsprop=log_slider(0.01, "η RMSprop"))
    paths = {k: optimizer_path(f, m, x0, steps) for k, m in default_racers().items()}

    def draw(k):
        fig, axes = _fast_pair((9.0, 3.9), dpi)
        race_panels(f, paths, upto=int(k), axes=axes)
        return fig

    frames = [int(k) for k in frames]
    static = static_slider(draw, frames, label="step", name="optimizer-race",
                           start=len(frames) - 1,
                           alt=f"paths of five optimisers on {f.name}'s function and the "
                               "function value along each path")
    return Explorer(live, static)

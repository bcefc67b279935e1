r"""Figures of the chapter on Newton's method and Quickprop.

* :func:`paths_panel`: optimisation paths on the contour lines of a 2-D function;
* :func:`end_points`, :func:`basin_panel`: where an iteration started from every point
  of a grid ends, coloured by the kind of critical point it reaches (minimum,
  saddle, maximum) — Newton's "basins";
* :func:`newton_explorer`: Newton, damped Newton and gradient descent from a chosen
  start, live in a kernel and as a kernel-free slider in the HTML book;
* :func:`cost_panel`: measured cost of forming and solving with the Hessian against
  the number of parameters, with the fitted power laws extrapolated;
* :func:`secant_panel`: Quickprop's parabola through two slopes, in one dimension;
* :func:`loss_curves`: training curves of several methods on one axis.

Every function draws on given axes (new ones when none are given), titles and
labels them, and returns the axes (or the widget). Compared panels share one scale.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy
from .plots_landscape import objective_contour
from .second_order import newton

__all__ = ["COLORS", "KIND_COLORS", "basin_panel", "cost_panel", "end_points", "loss_curves",
           "newton_explorer", "paths_panel", "secant_panel"]

COLORS = {"gradient descent": "#1f77b4", "momentum": "#9467bd", "Newton": "#d62728",
          "damped Newton": "#2ca02c", "saddle-free Newton": "#ff7f0e", "BFGS": "#8c564b",
          "L-BFGS": "#e377c2", "Quickprop": "#17becf", "Gauss–Newton": "#d62728",
          "Levenberg–Marquardt": "#2ca02c"}
KIND_COLORS = {"minimum": "#2ca02c", "saddle": "#ff7f0e", "maximum": "#d62728",
               "none": "#d9d9d9"}


def _ax(ax, figsize=(4.6, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def paths_panel(f, paths: dict, ax=None, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), levels=20,
                log=False, title=None, legend=True, n: int = 160):
    """Contour lines of ``f`` (on an ``n`` x ``n`` grid) and the paths ``{name: (k, 2) array}``."""
    ax = _ax(ax)
    objective_contour(f, ax, xlim=xlim, ylim=ylim, levels=levels, log=log, title=title,
                      legend=False, n=n)
    for name, path in paths.items():
        path = np.asarray(path, dtype=float)
        c = COLORS.get(name)
        ax.plot(path[:, 0], path[:, 1], ".-", color=c, lw=1.4, ms=4, label=name, zorder=5)
        ax.plot(path[0, 0], path[0, 1], "o", color="black", ms=5, zorder=6)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    if legend and paths:
        ax.legend(loc="lower left", framealpha=0.85, frameon=True)
    return ax


def end_points(f, update, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), n: int = 81,
               steps: int = 30, tol: float = 1e-3):
    """Run ``x <- update(x)`` from every point of an ``n`` x ``n`` grid; classify the ends.

    Parameters
    ----------
    f : Objective with ``critical_points()``
    update : callable
        ``update(x) -> x_new`` on a batch of points (..., 2), e.g. one Newton step
        ``lambda x: x + second_order.newton_step(f.gradient(x), f.hessian(x))``.
    xlim, ylim, n : the grid of starting points
    steps : int
        Number of updates.
    tol : float
        An end point within ``tol`` of a critical point counts as reaching it.

    Returns
    -------
    kinds : (n, n) array of str
        "minimum", "saddle", "maximum" or "none" (not within ``tol`` of any).
    fractions : dict
        The fraction of starting points that reach each kind.
    """
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    x = np.stack(np.meshgrid(xs, ys), axis=-1)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = update(x)
    kinds = np.full((n, n), "none", dtype=object)
    for point, kind in f.critical_points():
        near = np.linalg.norm(x - point, axis=-1) < tol
        kinds[near] = kind
    fractions = {k: float(np.mean(kinds == k)) for k in KIND_COLORS}
    return kinds, fractions


def basin_panel(kinds, ax=None, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), title="", f=None):
    """Colour each starting point by the kind of critical point its run reached."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ax = _ax(ax)
    order = list(KIND_COLORS)
    codes = np.vectorize(order.index)(kinds)
    ax.imshow(codes, origin="lower", extent=(*xlim, *ylim), cmap=ListedColormap(
        [KIND_COLORS[k] for k in order]), vmin=-0.5, vmax=len(order) - 0.5,
        interpolation="nearest")
    if f is not None:
        for point, kind in f.critical_points():
            ax.plot(*point, "o", color=KIND_COLORS[kind], mec="black", ms=7)
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$y_0$")
    ax.set_title(title)
    ax.legend(handles=[Patch(color=KIND_COLORS[k], label=k if k != "none" else "no critical point")
                       for k in order], loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=2, frameon=False)
    return ax


def _explorer_paths(f, x0, damping, steps, lr):
    x0 = np.asarray(x0, dtype=float)
    gd = [x0]
    for _ in range(steps):
        gd.append(gd[-1] - lr * to_numpy(f.gradient(gd[-1])))
    return {
        "gradient descent": np.array(gd),
        "Newton": newton(f, x0, steps).path,
        "damped Newton": newton(f, x0, steps, damping=damping).path,
        "saddle-free Newton": newton(f, x0, steps, saddle_free=True).path,
    }


def _explorer_figure(f, x0, damping, steps, lr, lims):
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 4.2), layout="constrained")
    paths = _explorer_paths(f, x0, damping, steps, lr)
    paths_panel(f, paths, a1, xlim=lims, ylim=lims, n=100, legend=False,
                title=f"start ({x0[0]:.2f}, {x0[1]:.2f}), damping λ = {damping:g}")
    for name, path in paths.items():
        values = to_numpy(f.value(path))
        a2.plot(values, ".-", color=COLORS[name], label=f"{name}: ends at f = {values[-1]:.3f}")
    a2.set_yscale("symlog", linthresh=0.01)
    a2.set_xlabel("step")
    a2.set_ylabel("$f$ (linear below 0.01, logarithmic above)")
    a2.set_title("value of $f$ along each path")
    a2.legend()
    return fig


def newton_explorer(f, *, y0: float = 0.35, damping: float = 1.0, steps: int = 12,
                    lr: float = 0.05, lims=(-1.6, 1.6)):
    """Newton, damped and saddle-free Newton and gradient descent from a chosen start.

    Live (Jupyter, Colab): sliders for the start ``(x0, y0)`` and the (fixed)
    damping :math:`\\lambda`. In the HTML book: a kernel-free slider over ``x0``
    (``y0`` and the damping fixed at their defaults).

    Returns
    -------
    nnbook.widgets.Explorer
    """
    import matplotlib.pyplot as plt
    from ipywidgets import FloatLogSlider, FloatSlider, interactive

    from .static_slider import static_slider
    from .widgets import Explorer

    def show(x0=0.25, y0=y0, damping=damping):
        _explorer_figure(f, (x0, y0), damping, steps, lr, lims)
        plt.show()

    live = interactive(show,
                       x0=FloatSlider(value=0.25, min=-1.5, max=1.5, step=0.05, description="x₀"),
                       y0=FloatSlider(value=y0, min=-1.5, max=1.5, step=0.05, description="y₀"),
                       damping=FloatLogSlider(value=damping, min=-2, max=2, description="λ"))
    xs = np.round(np.arange(-1.25, 1.26, 0.5), 2)
    static = static_slider(lambda v: _explorer_figure(f, (v, y0), damping, steps, lr, lims), xs,
                           label="start x₀", name="newton-explorer", fmt="{:.2f}",
                           start=int(np.argmin(np.abs(xs - 0.25))),
                           alt="paths of Newton, damped Newton and gradient descent")
    return Explorer(live, static)


def cost_panel(measured: dict, fits: dict, ax=None, *, extrapolate_to: float = 1e6,
               title="Cost of Newton's step against the number of parameters"):
    """Measured times (markers) and fitted power laws ``c * P**k`` (lines) on log-log axes.

    ``measured`` maps a label to ``(P, seconds)`` arrays; ``fits`` maps the same
    label to ``(c, k)``.
    """
    ax = _ax(ax, figsize=(6.0, 4.0))
    for (name, (P, t)), color in zip(measured.items(), ("#1f77b4", "#d62728", "#2ca02c"),
                                     strict=False):
        c, k = fits[name]
        grid = np.geomspace(min(P), extrapolate_to, 50)
        ax.loglog(P, t, "o", color=color, label=f"{name} (measured)")
        ax.loglog(grid, c * grid ** k, "--", color=color, lw=1,
                  label=f"fit {c:.2g} P^{k:g} s")
    ax.axvline(extrapolate_to, color="gray", lw=0.8)
    ax.set_xlabel("number of parameters $P$")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.legend()
    return ax


def secant_panel(fun, grad, w_prev: float, w: float, ax=None, *, lims=(-1.0, 3.0),
                 title="Quickprop's parabola from two slopes"):
    """The 1-D function, its slopes at two points and the secant parabola with its minimum."""
    ax = _ax(ax, figsize=(5.4, 3.8))
    ws = np.linspace(*lims, 200)
    g_prev, g = grad(w_prev), grad(w)
    curv = (g - g_prev) / (w - w_prev)                      # secant estimate of f''
    jump = -g / curv                                         # = g / (g_prev - g) * (w - w_prev)
    parab = fun(w) + g * (ws - w) + 0.5 * curv * (ws - w) ** 2
    ax.plot(ws, fun(ws), color="black", label="loss along one weight")
    ax.plot(ws, parab, "--", color=COLORS["Quickprop"], label="parabola with the two slopes")
    for x0, s, name in ((w_prev, g_prev, "previous"), (w, g, "current")):
        ax.plot(x0, fun(x0), "o", color="black")
        seg = np.array([x0 - 0.35, x0 + 0.35])
        ax.plot(seg, fun(x0) + s * (seg - x0), color="#ff7f0e", lw=2)
        ax.annotate(f"{name} $w$", (x0, fun(x0)), textcoords="offset points", xytext=(0, 10),
                    ha="center", fontsize=8)
    ax.plot(w + jump, fun(w) + 0.5 * g * jump, "*", ms=12, color=COLORS["Quickprop"],
            label="jump to its minimum")
    ax.set_xlim(lims)
    ax.set_xlabel("$w$")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def loss_curves(curves: dict, ax=None, *, xlabel="iteration", title="Training loss",
                target=None):
    """Loss curves ``{name: (x, loss)}`` on a log axis, with an optional target line."""
    ax = _ax(ax, figsize=(5.4, 3.8))
    for name, (x, loss) in curves.items():
        ax.semilogy(x, np.maximum(loss, 1e-16), color=COLORS.get(name), label=name)
    if target is not None:
        ax.axhline(target, color="gray", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return ax

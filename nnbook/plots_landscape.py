r"""Figures of loss landscapes: test functions, the Hessian at a point, spectra, slices.

Every function draws on an ``ax`` (a new figure when none is given), gives it a
title and labelled axes, and returns the ``ax`` (or the figure, for several
panels). Panels meant to be compared share one colour scale.
:func:`hessian_explorer` is the chapter's live widget; :func:`hessian_animation`
its kernel-free counterpart for the static book.
"""

from __future__ import annotations

import numpy as np

from .backend import to_numpy
from .landscapes import Objective, classify_critical_point

__all__ = [
    "KIND_MARKERS",
    "hessian_animation",
    "hessian_explorer",
    "hessian_panels",
    "interpolation",
    "objective_contour",
    "semicircle",
    "slice_contour",
    "spectrum",
]

KIND_MARKERS = {"minimum": ("o", "#2ca02c"), "maximum": ("^", "#d62728"),
                "saddle": ("X", "#ff7f0e"), "undecided": ("s", "#9467bd")}


def _ax(ax, figsize=(4.5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _grid(f: Objective, xlim, ylim, n):
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    XX, YY = np.meshgrid(xs, ys)
    return XX, YY, to_numpy(f.value(np.stack([XX, YY], axis=-1)))


def _levels(Z, levels, log):
    if not isinstance(levels, int):
        return np.asarray(levels)
    if log:
        lo = max(float(np.min(Z)), 1e-6 * float(np.max(Z)) if np.max(Z) > 0 else 1e-6)
        return np.geomspace(max(lo, 1e-6), float(np.max(Z)), levels)
    return np.linspace(float(np.min(Z)), float(np.max(Z)), levels)


def objective_contour(f: Objective, ax=None, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0),
                      levels=25, log: bool = False, n: int = 160, title=None,
                      mark_critical: bool = True, legend: bool = True):
    """Contour lines of a 2-D test function, its known critical points marked by kind.

    ``log=True`` spaces the levels geometrically (for valleys such as
    Rosenbrock's, whose values span orders of magnitude).
    """
    if f.dim != 2:
        raise ValueError(f"f must be a function of 2 variables, got dim = {f.dim}")
    ax = _ax(ax)
    XX, YY, Z = _grid(f, xlim, ylim, n)
    ax.contour(XX, YY, Z, levels=_levels(Z, levels, log), cmap="viridis", linewidths=0.8)
    if mark_critical:
        seen = set()
        for x, kind in f.critical_points():
            if xlim[0] <= x[0] <= xlim[1] and ylim[0] <= x[1] <= ylim[1]:
                m, c = KIND_MARKERS[kind]
                ax.plot(x[0], x[1], m, color=c, ms=9, mec="black", mew=0.6,
                        label=kind if kind not in seen else None, zorder=4)
                seen.add(kind)
        if legend and seen:
            ax.legend(loc="upper right", framealpha=0.8, frameon=True)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.set_title(title if title is not None else f.name)
    return ax


def _local_quadratic(f: Objective, x0, XX, YY):
    """The second-order Taylor model of f at x0 on the grid."""
    g, H = to_numpy(f.gradient(x0)), to_numpy(f.hessian(x0))
    D = np.stack([XX - x0[0], YY - x0[1]], axis=-1)
    return float(to_numpy(f.value(x0))) + D @ g + 0.5 * np.einsum("...i,ij,...j->...", D, H, D)


def hessian_panels(f: Objective, x0, axes=None, *, radius: float = 1.0, n: int = 101,
                   levels: int = 21):
    r"""The function near ``x0`` (left) and its second-order Taylor model (right).

    .. math::
        q(x_0 + h) = f(x_0) + \nabla f(x_0)^\top h + \tfrac12 h^\top H(x_0)\, h

    Both panels share the same contour levels. The arrows are the Hessian's
    eigenvectors, each labelled with its eigenvalue (solid for positive curvature,
    dashed for negative); the grey arrow is the negative gradient. The title
    reports the eigenvalues and, at a critical point, the Hessian test's verdict.

    Returns the figure.
    """
    import matplotlib.pyplot as plt

    x0 = np.asarray(x0, dtype=float)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.9), layout="constrained")
    else:
        fig = axes[0].figure
    xs = np.linspace(x0[0] - radius, x0[0] + radius, n)
    ys = np.linspace(x0[1] - radius, x0[1] + radius, n)
    XX, YY = np.meshgrid(xs, ys)
    Z = to_numpy(f.value(np.stack([XX, YY], axis=-1)))
    Q = _local_quadratic(f, x0, XX, YY)
    lv = np.linspace(float(np.min(Z)), float(np.max(Z)), levels)
    if lv[-1] <= lv[0]:
        lv = np.linspace(lv[0] - 1.0, lv[0] + 1.0, levels)
    g, H = to_numpy(f.gradient(x0)), to_numpy(f.hessian(x0))
    lam, V = np.linalg.eigh(H)
    gnorm = float(np.linalg.norm(g))
    if gnorm <= 1e-9:
        verdict = classify_critical_point(g, H, grad_tol=1e-9)
        status = f"critical point: {verdict}"
    else:
        status = f"not critical: |∇f| = {gnorm:.2f}"
    for ax, data, name in ((axes[0], Z, f"{f.name}"), (axes[1], Q, "quadratic model")):
        ax.contour(XX, YY, data, levels=lv, cmap="viridis", linewidths=0.8)
        ax.plot(*x0, "o", color="black", ms=6, zorder=5)
        for k in range(2):
            d = 0.6 * radius * V[:, k]
            ls = "-" if lam[k] > 0 else "--"
            ax.annotate("", xy=x0 + d, xytext=x0,
                        arrowprops=dict(arrowstyle="-|>", color="#d62728", lw=1.4, ls=ls))
            ax.text(*(x0 + 1.1 * d), f"λ={lam[k]:.2g}", color="#d62728", fontsize=8,
                    ha="center", va="center")
        if gnorm > 1e-9:
            d = -0.5 * radius * g / gnorm
            ax.annotate("", xy=x0 + d, xytext=x0,
                        arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.2))
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
        ax.set_aspect("equal")
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        ax.set_title(name)
    fig.suptitle(f"at ({x0[0]:.2f}, {x0[1]:.2f}): eigenvalues {lam[0]:.3g}, {lam[1]:.3g}; {status}",
                 fontsize=10)
    return fig


def hessian_animation(f: Objective, path, *, radius: float = 1.0, interval: int = 500):
    """Animate :func:`hessian_panels` along ``path`` ((T, 2) points); ``.to_jshtml()`` plays it."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    path = np.asarray(path, dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.9), layout="constrained")

    def frame(i):
        for ax in axes:
            ax.clear()
        hessian_panels(f, path[i], axes, radius=radius)

    anim = FuncAnimation(fig, frame, frames=len(path), interval=interval)
    plt.close(fig)
    return anim


def hessian_explorer(functions=None):
    """A live widget: pick a test function and a point; see the Hessian's eigenvalues and
    the local quadratic model next to the function (:func:`hessian_panels`).

    ``functions`` maps names to 2-D :class:`~nnbook.landscapes.Objective` s; the
    default offers the chapter's test functions. Returns a
    :class:`nnbook.widgets.Explorer` (display it as the last expression of a
    cell); without a kernel, its slider steps through the functions at the origin.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, FloatSlider, interactive

    from . import landscapes as ls
    from .static_slider import static_slider
    from .widgets import Explorer

    if functions is None:
        functions = {"double well": ls.DoubleWell(), "saddle": ls.Quadratic.saddle(),
                     "bowl, κ = 10": ls.Quadratic.with_condition_number(10.0, angle=0.5),
                     "monkey saddle": ls.MonkeySaddle(), "Rosenbrock": ls.Rosenbrock(),
                     "x³ + y²": ls.FlatDirection(3), "x⁴ + y²": ls.FlatDirection(4)}

    def show(function="double well", x=0.0, y=0.0, radius=1.0):
        hessian_panels(functions[function], (x, y), radius=radius)
        plt.show()

    slider = dict(min=-2.0, max=2.0, step=0.05)
    live = interactive(show, function=Dropdown(options=list(functions), value="double well",
                                               description="function"),
                       x=FloatSlider(value=0.0, description="x", **slider),
                       y=FloatSlider(value=0.0, description="y", **slider),
                       radius=FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1,
                                          description="window"))
    names = list(functions)
    static = static_slider(lambda name: hessian_panels(functions[name], (0.0, 0.0)), names,
                           label="function", name="hessian-explorer", start=0,
                           alt="a test function and its second-order model at the origin")
    return Explorer(live, static)


def spectrum(eigenvalues: dict, ax=None, *, title="Hessian eigenvalues, sorted",
             linthresh: float = 1e-4):
    """Sorted eigenvalues of one or more Hessians, on a symmetric-log axis.

    ``eigenvalues`` maps a label to a 1-D array. The symlog axis is linear in
    :math:`[-\\text{linthresh}, \\text{linthresh}]` and logarithmic outside, so
    small negative and large positive eigenvalues show on one plot.
    """
    ax = _ax(ax, figsize=(5.2, 3.6))
    for label, lam in eigenvalues.items():
        lam = np.sort(to_numpy(lam))
        ax.plot(np.arange(1, lam.size + 1), lam, "o-", ms=3, lw=1, label=label)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.set_xlabel("index (ascending)")
    ax.set_ylabel("eigenvalue (symlog)")
    ax.set_title(title)
    ax.legend()
    return ax


def interpolation(alphas, curves: dict, ax=None, *, title="Loss along a line in parameter space",
                  xlabel=r"$\alpha$", ylabel="loss", log: bool = False):
    """Loss curves along segments :math:`(1-\\alpha)\\theta_a + \\alpha\\theta_b`; the ends marked."""
    ax = _ax(ax, figsize=(5.2, 3.6))
    alphas = np.asarray(alphas, dtype=float)
    for label, L in curves.items():
        ax.plot(alphas, to_numpy(L), lw=1.6, label=label)
    for a in (0.0, 1.0):
        if alphas.min() <= a <= alphas.max():
            ax.axvline(a, color="grey", lw=0.6, ls=":")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax


def slice_contour(alphas, betas, losses, ax=None, *, levels=None, title="Loss on a 2-D slice",
                  colorbar: bool = True):
    """Filled contours of a 2-D loss slice (rows at ``betas``), the centre marked.

    Pass the same ``levels`` to panels that are compared (log-spaced levels suit
    losses; the default spans the data's range geometrically).
    """
    import matplotlib.colors as mcolors

    ax = _ax(ax)
    L = to_numpy(losses)
    if levels is None:
        levels = np.geomspace(max(float(L.min()), 1e-4), float(L.max()), 16)
    cs = ax.contourf(alphas, betas, L, levels=levels, cmap="viridis", extend="both",
                     norm=mcolors.LogNorm(vmin=levels[0], vmax=levels[-1]))
    ax.contour(alphas, betas, L, levels=levels, colors="white", linewidths=0.3)
    ax.plot(0.0, 0.0, "*", color="white", mec="black", ms=12)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\alpha$ (direction $d_1$)")
    ax.set_ylabel(r"$\beta$ (direction $d_2$)")
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(cs, ax=ax, label="loss", format="%.2g")
    return ax


def semicircle(eigenvalues, ax=None, *, bins: int = 40, title="Eigenvalues of a random symmetric matrix"):
    r"""Histogram of eigenvalues with Wigner's semicircle density :math:`\sqrt{4 - \lambda^2}/(2\pi)`."""
    ax = _ax(ax, figsize=(5.0, 3.4))
    lam = to_numpy(eigenvalues)
    ax.hist(lam, bins=bins, density=True, color="#9ecae1", edgecolor="white",
            label=f"{lam.size} eigenvalues")
    t = np.linspace(-2, 2, 200)
    ax.plot(t, np.sqrt(4 - t ** 2) / (2 * np.pi), color="#d62728", lw=1.5, label="semicircle law")
    ax.axvline(0.0, color="black", lw=0.6)
    ax.set_xlabel(r"eigenvalue $\lambda$")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(loc="lower center")
    return ax

"""Live demos for Jupyter and Colab (ipywidgets) that stay alive in the HTML book.

Each demo is an :class:`Explorer`: in Jupyter and Colab it displays as the live
``ipywidgets`` demo; it also carries a kernel-free version of its main slider (a
:func:`~nnbook.static_slider.static_slider` over precomputed figures), which the
HTML book shows instead, because the book prefers ``text/html`` to widget views
(``nb_mime_priority_overrides`` in ``_config.yml``).
"""

from __future__ import annotations

import numpy as np

from . import data, plots
from .layers import ACTIVATIONS, mlp
from .losses import CrossEntropyLoss
from .optim import SGD, accuracy, fit, predict
from .perceptron import add_bias, novikoff_bound, perceptron_fit

__all__ = ["Explorer", "mlp_explorer", "perceptron_explorer"]


class Explorer:
    """A live widget for a kernel, and a static slider for a page without one.

    Displays as ``widget`` in Jupyter and Colab (its widget view), and offers
    ``static`` as the ``text/html`` of the same output, which the HTML book renders.
    """

    def __init__(self, widget, static):
        self.widget = widget
        self.static = static

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = self.static.data
        return data


def _perceptron_figure(n, seed, margin, progress):
    import matplotlib.pyplot as plt

    shift = np.array([0.3, -0.2])                     # off the origin: the bias matters
    rng = np.random.default_rng(seed)
    X, y, w_star = data.separable(n, margin, rng=rng)
    X = X + shift
    Xb = add_bias(X)
    res = perceptron_fit(Xb, y, rng=rng)
    bound = novikoff_bound(Xb, y, np.r_[-w_star @ shift, w_star])
    k = round(progress / 100 * res.n_updates)
    fig, ax = plt.subplots(figsize=(6, 4))
    plots.perceptron_step(X, y, res, k, ax, legend="outside",
                          title=f"margin {margin:.2f}: update {k} of {res.n_updates} "
                                f"(bound {bound:.0f})")
    return fig


def perceptron_explorer(n: int = 40, seed: int = 0):
    """Sliders for the margin of the data and how far into training to look.

    Returns an :class:`Explorer` (display it as the last expression of a cell).
    Live, moving ``margin`` draws a new data set (with that margin) and re-trains;
    ``progress`` replays the updates, from none (0 %) to convergence (100 %). Without
    a kernel, the margin slider moves through precomputed converged runs.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import FloatSlider, IntSlider, interactive

    from .static_slider import static_slider

    def show(margin=0.15, progress=100):
        _perceptron_figure(n, seed, margin, progress)
        plt.show()

    live = interactive(show, margin=FloatSlider(value=0.15, min=0.02, max=0.4, step=0.01,
                                                description="margin"),
                       progress=IntSlider(value=100, min=0, max=100, step=5,
                                          description="progress %"))
    margins = np.round(np.arange(0.02, 0.401, 0.02), 2)
    static = static_slider(lambda m: _perceptron_figure(n, seed, m, 100), margins,
                           label="margin", name=f"perceptron-explorer-{seed}", fmt="{:.2f}",
                           start=int(np.argmin(np.abs(margins - 0.14))),
                           alt="the perceptron's final line on data of the chosen margin")
    return Explorer(live, static)


def _mlp_figure(X, y, seed, hidden, activation, epochs):
    import matplotlib.pyplot as plt

    n = X.shape[0]
    rng = np.random.default_rng(seed)
    model = mlp([2, hidden, 2], activation, rng=rng)
    hist = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5, momentum=0.9),
               X, y, epochs=epochs, batch_size=n, rng=rng)
    acc = accuracy(predict(model, X), y)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    plots.decision_boundary(lambda P: np.argmax(predict(model, P), axis=1), X, y, a1,
                            title=f"{hidden} {activation} units: accuracy {acc:.2f}")
    plots.training_curves(hist, a2, log=True)
    return fig


def mlp_explorer(n: int = 200, seed: int = 0):
    """Sliders for the width, activation and training length of an MLP on two moons.

    Each change trains a fresh 2-H-2 network (full-batch momentum SGD, well
    under a second) and draws its decision regions and loss curve. Returns an
    :class:`Explorer`; without a kernel, its width slider moves through
    precomputed tanh networks trained for 300 epochs.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, IntSlider, interactive

    from .static_slider import static_slider

    X, y = data.moons(n, 0.15, rng=np.random.default_rng(seed))

    def show(hidden=8, activation="tanh", epochs=300):
        _mlp_figure(X, y, seed, hidden, activation, epochs)
        plt.show()

    live = interactive(show, hidden=IntSlider(value=8, min=1, max=64, description="hidden units"),
                       activation=Dropdown(options=[a for a in ACTIVATIONS if a != "sign"],
                                           value="tanh", description="activation"),
                       epochs=IntSlider(value=300, min=10, max=1000, step=10, description="epochs"))
    widths = [1, 2, 3, 4, 6, 8, 12, 16, 32, 64]
    static = static_slider(lambda h: _mlp_figure(X, y, seed, h, "tanh", 300), widths,
                           label="hidden units", name=f"mlp-explorer-{seed}", start=widths.index(8),
                           alt="decision regions and loss curve of a 2-H-2 tanh network "
                               "on the two moons")
    return Explorer(live, static)

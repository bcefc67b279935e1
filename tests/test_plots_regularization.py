"""The chapter-9 figure helpers draw on shared scales and build their explorer."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from nnbook import plots_regularization as pr
from nnbook.regularization import ErrorCurves


def _curves(train, val):
    c = ErrorCurves(None, None, None, None)
    c.train_error, c.val_error = list(train), list(val)
    return c


def test_memorization_panels_share_one_scale():
    fig = pr.memorization(_curves([0.5, 0.0], [0.6, 0.1]), _curves([0.9, 0.0], [0.9, 0.9]))
    a, b = fig.axes
    assert a.get_ylim() == b.get_ylim() == (0.0, 1.0)
    assert [len(ax.lines) for ax in fig.axes] == [3, 3]
    plt.close(fig)


def test_dropout_sweep_shares_the_curves_scale_in_the_summary():
    sweep = {p: _curves([0.4, 0.1], [0.5, 0.2 + p / 10]) for p in (0.0, 0.5)}
    fig = pr.dropout_sweep(sweep, [0.0, 0.5], {"validation error": ([0.0, 0.5], [0.2, 0.25])})
    assert len(fig.axes) == 3
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim() == fig.axes[2].get_ylim()
    plt.close(fig)


def test_ensemble_and_selection_figures_draw():
    ks = np.array([1, 2, 4])
    fig = pr.ensemble_convergence(ks, {"a": np.array([1.0, 0.7, 0.5])},
                                  {"a": np.array([0.2, 0.15, 0.1])}, 0.1)
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes) == 2
    plt.close(fig)
    rng = np.random.default_rng(0)
    fig = pr.selection_bias(rng.random(50), rng.random(50), rng.random(50), rng.random(50))
    assert len(fig.axes[0].patches) == 60
    plt.close(fig)


def test_dropout_explorer_is_live_and_static():
    pre = {p: _curves([0.5, 0.1], [0.6, 0.2]) for p in (0.0, 0.5)}
    calls = []

    def train(p):
        calls.append(p)
        return pre[0.0]

    explorer = pr.dropout_explorer(train, pre)
    bundle = explorer._repr_mimebundle_()
    assert 'type="range"' in bundle["text/html"]
    assert bundle["text/html"].count("data:image/png;base64,") >= 2
    assert "application/vnd.jupyter.widget-view+json" in bundle
    explorer.widget.children[0].value = 0.3
    assert calls and calls[-1] == 0.3
    plt.close("all")

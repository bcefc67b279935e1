"""Figure helpers of the initialisation chapter: they draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnbook import init, plots_init
from nnbook.signal import deep_mlp, signal_stats


@pytest.fixture
def stats():
    X = np.random.default_rng(0).standard_normal((16, 8))
    out = {}
    for name, (fn, _) in list(plots_init.SCHEMES.items())[:2]:
        out[name] = signal_stats(deep_mlp(8, 5, "tanh", fn, rng=np.random.default_rng(1)), X,
                                 rng=np.random.default_rng(2))
    return out


def test_signal_panel_plots_each_scheme(stats):
    ax = plots_init.signal_panel(stats, which="grad_std", legend=True)
    lines = ax.get_lines()
    assert len(lines) == 2
    name = next(iter(stats))
    np.testing.assert_array_equal(lines[0].get_ydata(), stats[name].grad_std)
    assert ax.get_yscale() == "log"
    plt.close("all")


def test_signal_grid_shares_one_axis(stats):
    fig = plots_init.signal_grid({"tanh": stats, "relu": stats})
    axes = fig.axes
    assert len(axes) == 4
    assert len({ax.get_ylim() for ax in axes}) == 1
    assert axes[0].get_ylim() == pytest.approx((1e-50, 1e50))
    ticks = np.log10(axes[0].get_yticks())
    np.testing.assert_allclose(ticks, np.arange(-50, 51, 10))   # a tick every 10 decades
    plt.close(fig)


def test_singular_value_histograms_unresolved_bar():
    sv = np.array([1e-30, 1e-3, 1.0, 30.0])
    fig = plots_init.singular_value_histograms({"a": {"x": sv}, "b": {"y": sv}})
    assert len(fig.axes) == 2 and fig.axes[0].get_xlim() == fig.axes[1].get_xlim()
    xy = fig.axes[0].patches[0].get_xy()           # the outline of a step histogram
    assert xy[:, 1].max() == pytest.approx(0.25)    # 4 values, one per bin, weight 1/4 each
    # 1e-30 is below 1e-13 * 30: counted in the leftmost ("unresolved") bar
    assert np.any((xy[:, 0] == -16.25) & np.isclose(xy[:, 1], 0.25))
    plt.close(fig)


def test_singular_value_histograms_isometry_is_one_bar():
    sv = 1.0 + np.array([[-1e-16, 0.0, 1e-16, 2e-16]])
    fig = plots_init.singular_value_histograms({"a": {"x": sv}})
    xy = fig.axes[0].patches[0].get_xy()
    assert xy[:, 1].max() == pytest.approx(1.0)     # all four in the bin centred on 0
    plt.close(fig)


def test_weight_histograms():
    rng = np.random.default_rng(0)
    ax = plots_init.weight_histograms({"n": init.he_normal((20, 20), 20, 20, rng),
                                       "u": init.he_uniform((20, 20), 20, 20, rng)})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["n", "u"]
    plt.close("all")


def test_gain_animation_frames():
    anim = plots_init.gain_animation(gains=[0.5, 1.0, 2.0], width=8, depth=4, batch=8)
    anim._func(2)
    fig = anim._fig
    assert fig.axes[0].get_title() == r"tanh, Var$(w) = 2.00^2/$fan_in"
    assert len(fig.axes[1].get_lines()) == 2
    anim._draw_was_started = True                   # never rendered to a file: expected
    plt.close(fig)


def test_signal_explorer_default_view():
    explorer = plots_init.signal_explorer(width=8, batch=8)
    widget = explorer.widget
    schemes = widget.children[2].options
    assert explorer._repr_mimebundle_()["text/html"].count("iVBOR") == len(schemes) + 1
    assert widget.kwargs == {"depth": 50, "activation": "tanh", "scheme": "LeCun 1/fan_in",
                             "scale": 1.0}
    plt.close("all")


def test_gain_animation_from_a_precomputed_sweep():
    gains = np.array([0.5, 1.5])
    sweep = plots_init.gain_sweep(gains, width=8, depth=3, batch=8)
    assert [len(sweep[a]) for a in ("tanh", "relu")] == [2, 2]
    assert sweep["relu"][1].depth == 3
    anim = plots_init.gain_animation(gains, stats=sweep)
    anim._func(1)
    np.testing.assert_array_equal(anim._fig.axes[1].get_lines()[0].get_ydata(),
                                  sweep["relu"][1].preact_std)
    anim._draw_was_started = True
    plt.close(anim._fig)
